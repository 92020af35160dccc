"""The statistical core against hand-worked values, invariants, and simulated data with known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit, logit

from analysis.demo import generator
from analysis.reports import link_text, plots
from analysis.stats import decompose, funnel, glm, link, method_study, shrinkage

# --- funnel limits ---------------------------------------------------------------------------


def test_exact_limit_hand_worked():
    # theta = 0.5, n = 4: P(X<=k) = 1/16, 5/16, 11/16, 15/16, 1
    # prob 0.9: r = 3, alpha = (15/16 - 0.9) / (15/16 - 11/16) = 0.15, limit (3 - 0.15)/4
    assert funnel.exact_limit(0.5, [4], 0.9)[0] == pytest.approx(0.7125)
    # prob 0.975: r = 4, alpha = (1 - 0.975) / (1 - 15/16) = 0.4, limit (4 - 0.4)/4
    assert funnel.exact_limit(0.5, [4], 0.975)[0] == pytest.approx(0.9)
    # prob 0.025: r = 0, alpha = 0.6, limit -0.15 -> clipped at 0
    assert funnel.exact_limit(0.5, [4], 0.025)[0] == 0.0
    assert np.isnan(funnel.exact_limit(0.5, [0], 0.975)[0])


def test_exact_limits_approach_the_normal_limits_for_large_n():
    n, theta = 1_000_000, 0.07
    z = stats.norm.ppf(0.999)
    hi = funnel.exact_limit(theta, [n], 0.999)[0]
    assert hi == pytest.approx(theta + z * np.sqrt(theta * (1 - theta) / n), abs=2e-5)


@settings(max_examples=50, deadline=None)
@given(theta=st.floats(0.02, 0.6), n=st.integers(5, 5000))
def test_limits_widen_as_n_falls(theta, n):
    for prob in (0.975, 0.999):
        assert funnel.exact_limit(theta, [n], prob)[0] >= funnel.exact_limit(theta, [4 * n], prob)[0] - 1e-12
        assert (
            funnel.exact_limit(theta, [n], 1 - prob)[0]
            <= funnel.exact_limit(theta, [4 * n], 1 - prob)[0] + 1e-12
        )


def test_winsorise_pulls_in_the_tails():
    z = np.arange(20, dtype=float)
    w = funnel.winsorise(z, 0.1)
    assert w.tolist() == [2, 2, *range(2, 18), 17, 17]
    assert funnel.winsorise(z, 0.0).tolist() == z.tolist()


def _units(p, n, seed=0, spread=0.0):
    rng = np.random.default_rng(seed)
    ps = expit(logit(p) + rng.normal(0, spread, len(n)))
    return pd.DataFrame(
        {
            "force": [f"F{i}" for i in range(len(n))],
            "charged_closed": rng.binomial(n, ps),
            "outcomes_closed": n,
        }
    )


def test_no_overdispersion_when_there_is_none():
    n = np.geomspace(50, 20000, 43).astype(int)
    phis = [funnel.funnel(_units(0.08, n, seed=s)).summary["phi"] for s in range(20)]
    assert 0.6 < np.mean(phis) < 1.3
    r = funnel.funnel(_units(0.08, n, seed=1))
    assert (r.units["direction_tau2"] != "within").sum() <= 4


def test_overdispersion_detected_and_limits_widen():
    n = np.geomspace(200, 20000, 43).astype(int)
    r = funnel.funnel(_units(0.08, n, seed=3, spread=0.4))
    s = r.summary
    assert s["phi"] > 3 and s["phi_p_value"] < 1e-6 and s["tau2"] > 0
    u = r.units
    assert (u["upper_99.8%_tau2"] >= u["upper_99.8%"] - 1e-12).all()
    assert (u["direction_exact"] != "within").sum() > (u["direction_tau2"] != "within").sum()
    assert "exact:" in r.sensitivity() and "tau2:" in r.sensitivity()


def test_flags_are_directional_and_two_tier():
    d = pd.DataFrame(
        {
            "force": list("ABCDEFGHIJ"),
            "charged_closed": [0, 50, 100, 100, 100, 100, 100, 100, 100, 300],
            "outcomes_closed": [1000] * 10,
        }
    )
    u = funnel.funnel(d).units.set_index("force")
    assert (u.loc["A", "direction_exact"], u.loc["A", "level_exact"]) == ("low", 0.998)
    assert (u.loc["J", "direction_exact"], u.loc["J", "level_exact"]) == ("high", 0.998)
    assert u.loc["D", "direction_exact"] == "within" and np.isnan(u.loc["D", "level_exact"])
    assert funnel.flag_label("high", 0.998) == "high (beyond 99.8%)"


def test_multiplicity_adjustments():
    n = np.geomspace(200, 20000, 43).astype(int)
    d = _units(0.08, n, seed=5, spread=0.3)
    plain, bonf, fdr = funnel.funnel(d), funnel.funnel(d, adjust="bonferroni"), funnel.funnel(d, adjust="fdr")
    assert (bonf.units["upper_95%"] >= plain.units["upper_95%"]).all()
    assert (bonf.units["direction_exact"] != "within").sum() <= (
        plain.units["direction_exact"] != "within"
    ).sum()
    assert (fdr.units["q_value"] >= fdr.units["p_value"] - 1e-12).all()
    # fdr flags: a unit is flagged at a level exactly when its q-value is below 1 - level, in the
    # direction of its z-score
    u = fdr.units
    for lv in (0.95, 0.998):
        flagged = (u["direction_exact"] != "within") & (u["level_exact"] >= lv)
        assert (flagged == (u["q_value"] < 1 - lv)).all()
    assert (u.loc[u["direction_exact"] == "high", "z"] > 0).all()
    assert (u.loc[u["direction_exact"] == "low", "z"] < 0).all()
    assert (u["direction_exact"] != "within").any()
    for mth in ("phi", "tau2"):  # each method's flags follow its own q-values
        flagged = (u[f"direction_{mth}"] != "within") & (u[f"level_{mth}"] >= 0.95)
        assert (flagged == (u[f"q_value_{mth}"] < 0.05)).all()
    with pytest.raises(funnel.FunnelInputError):
        funnel.funnel(d, adjust="holm")


def test_fdr_on_overdispersion_adjusted_scores_flags_few_ordinary_forces():
    """Forces that differ only as ordinary forces do (a random effect, no outlier): FDR on the
    binomial p-values flags many of them; on the random-effects scores, few; the outlier is
    still found."""
    n = np.geomspace(300, 20000, 43).astype(int)
    d = _units(0.08, n, seed=9, spread=0.35)
    d.loc[d.index[-1], "charged_closed"] = int(0.25 * n[-1])  # one real outlier, the largest force
    u = funnel.funnel(d, adjust="fdr").units.set_index("force")
    exact = (u["direction_exact"] != "within").sum()
    tau2 = (u["direction_tau2"] != "within").sum()
    assert exact >= 15 and tau2 <= 3 and u.loc[d["force"].iloc[-1], "direction_tau2"] == "high"


@pytest.mark.parametrize(
    "counts,ns,message",
    [
        ([5, 20, 3], [10, 10, 10], "count larger than its denominator for F1"),
        ([5, -1, 3], [10, 10, 10], "negative count"),
        ([5, None, 3], [10, 10, 10], "missing count"),
    ],
)
def test_invalid_funnel_input(counts, ns, message):
    d = pd.DataFrame({"force": ["F0", "F1", "F2"], "charged_closed": counts, "outcomes_closed": ns})
    with pytest.raises(funnel.FunnelInputError, match=message):
        funnel.funnel(d)


def test_zero_counts_and_tiny_denominators():
    d = pd.DataFrame(
        {"force": list("ABCDE"), "charged_closed": [0, 0, 5, 9, 0], "outcomes_closed": [0, 1, 50, 90, 40]}
    )
    r = funnel.funnel(d)
    assert r.summary["excluded"] == ["A"] and len(r.units) == 4
    assert np.isfinite(r.units["z"]).all()


def test_change_funnel_target_is_pooled_change():
    p = pd.DataFrame(
        {
            "force": list("ABCD") * 2,
            "financial_year": ["2019/20"] * 4 + ["2020/21"] * 4,
            "charged_closed": [10, 20, 30, 40, 5, 10, 20, 20],
            "outcomes_closed": [100, 200, 300, 400, 100, 200, 300, 400],
        }
    )
    r = funnel.change_funnel(p, "2019/20", "2020/21")
    assert r.summary["target"] == pytest.approx(55 / 1000 - 100 / 1000)
    assert r.units.set_index("force").loc["D", "change"] == pytest.approx(-0.05)


# --- shrinkage -------------------------------------------------------------------------------


def test_tau2_estimators_hand_worked():
    y, v = np.array([0.0, 2.0, 4.0]), np.ones(3)
    assert shrinkage.tau2_dl(y, v) == pytest.approx(3.0)
    assert shrinkage.tau2_pm(y, v) == pytest.approx(3.0)
    assert shrinkage.tau2_dl(np.array([0.0, 1.0]), np.ones(2)) == 0.0
    y, v = np.array([0.1, 1.5, -0.7, 2.2]), np.array([0.2, 0.5, 0.1, 1.0])
    t = shrinkage.tau2_pm(y, v)
    w = 1 / (v + t)
    mu = np.sum(w * y) / w.sum()
    assert np.sum(w * (y - mu) ** 2) == pytest.approx(len(y) - 1)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_shrunken_rates_lie_between_raw_and_pooled(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 3000, 20)
    d = pd.DataFrame(
        {"force": [f"F{i}" for i in range(20)], "charged_closed": rng.binomial(n, 0.1), "outcomes_closed": n}
    )
    for method in ("dl", "hb"):
        r = shrinkage.shrink(d, draws=200, method=method)
        u = r.units
        raw = logit((u["count"] + 0.5) / (u["n"] + 1))
        mu = r.summary["mu_logit"]
        sh = logit(u["shrunk_rate"])
        # plug-in: exactly between raw and mu; hierarchical: an average of such points over
        # tau, each with its own mu, so between raw and mu up to a sliver
        assert (((sh - raw) * (sh - mu)) <= (1e-9 if method == "dl" else 1e-3)).all()
        assert u["shrinkage_factor"].between(0, 1).all()
        assert (u["rank_low"] <= u["rank_median"]).all() and (u["rank_median"] <= u["rank_high"]).all()
        assert 0 <= r.summary["rankability"] <= 1


def test_shrinkage_beats_raw_on_mean_squared_error():
    rng = np.random.default_rng(11)
    n = np.geomspace(20, 5000, 43).astype(int)
    errs = []
    for _ in range(20):
        p = expit(logit(0.07) + rng.normal(0, 0.3, 43))
        d = pd.DataFrame(
            {
                "force": [f"F{i}" for i in range(43)],
                "charged_closed": rng.binomial(n, p),
                "outcomes_closed": n,
            }
        )
        u = shrinkage.shrink(d, draws=100).units.sort_values("force", key=lambda s: s.str[1:].astype(int))
        errs.append((np.mean((u["raw_rate"] - p) ** 2), np.mean((u["shrunk_rate"] - p) ** 2)))
    raw, shr = np.mean(errs, axis=0)
    assert shr < raw


def _binomial_forces(rng, k: int, tau: float = 0.3):
    n = np.geomspace(50, 2000, k).astype(int)
    p = expit(logit(0.1) + rng.normal(0, tau, k))
    d = pd.DataFrame(
        {"force": [f"F{i}" for i in range(k)], "charged_closed": rng.binomial(n, p), "outcomes_closed": n}
    )
    return d, p


def test_hierarchical_shrinkage_carries_tau_and_mu_uncertainty():
    """Ten forces whose rates look alike: the plug-in estimate of tau^2 is 0, so plug-in
    intervals pool completely and are as narrow as the overall mean's; tau^2 = 0 is only the
    most likely value, and the hierarchical intervals keep room for real differences."""
    d = pd.DataFrame(
        {
            "force": [f"F{i}" for i in range(10)],
            "charged_closed": [18, 22, 20, 19, 21, 20, 23, 17, 20, 20],
            "outcomes_closed": [200] * 10,
        }
    )
    hb, dl = shrinkage.shrink(d, method="hb", draws=4000), shrinkage.shrink(d, method="dl", draws=4000)
    assert dl.summary["tau2"] == 0 == dl.summary["tau2_low"] == dl.summary["tau2_high"]
    width = {m: (r.units["shrunk_high"] - r.units["shrunk_low"]).mean() for m, r in (("hb", hb), ("dl", dl))}
    assert width["hb"] > 1.3 * width["dl"]
    s = hb.summary
    assert s["method"] == "hb" and s["tau2_low"] < s["tau2"] < s["tau2_high"]
    # ranks: plug-in draws at tau^2 = 0 are the same for every force, so every rank interval is
    # the whole range; the hierarchical ones are too, but for a reason (no force stands out)
    assert (hb.units["rank_high"] - hb.units["rank_low"]).min() >= 7


def test_tau_posterior_concentrates_on_the_truth_with_many_units():
    rng = np.random.default_rng(8)
    v = np.full(400, 0.05)
    y = rng.normal(0, 0.5, 400) + rng.normal(0, np.sqrt(v))
    tau, p = shrinkage.tau_posterior(y, v)
    mean = float((tau * p).sum())
    assert mean == pytest.approx(0.5, abs=0.06) and p.sum() == pytest.approx(1)


@pytest.mark.slow
def test_hierarchical_intervals_cover_the_true_rates():
    """200 simulated sets of ten forces: the hierarchical 95% intervals cover the true rates
    about 95% of the time (measured 0.944, Monte Carlo SE 0.006); the plug-in ones fall short
    (0.909, SE 0.009) because they ignore the uncertainty in tau^2."""
    rng = np.random.default_rng(5)
    cover: dict[str, list[float]] = {"hb": [], "dl": []}
    for rep in range(200):
        d, p = _binomial_forces(rng, 10)
        for method, got in cover.items():
            u = (
                shrinkage.shrink(d, method=method, draws=1000, seed=rep)
                .units.set_index("force")
                .loc[d["force"]]
            )
            got.append(float(((u["shrunk_low"].to_numpy() <= p) & (p <= u["shrunk_high"].to_numpy())).mean()))
    hb, dl = np.mean(cover["hb"]), np.mean(cover["dl"])
    assert hb > 0.925 and hb - dl > 0.015


# --- decomposition ---------------------------------------------------------------------------


def test_decomposition_hand_worked_and_exactly_additive():
    p = pd.DataFrame(
        {
            "force": ["A", "B", "A", "B"],
            "financial_year": ["2019/20"] * 2 + ["2020/21"] * 2,
            "charged_closed": [20, 10, 30, 10],
            "outcomes_closed": [100, 100, 300, 100],
        }
    )
    d = decompose.decompose(p, "2019/20", "2020/21", reps=200)
    s = d.summary.set_index("component")["estimate"]
    assert s["total change"] == pytest.approx(-0.05)
    assert s["between (mix)"] == pytest.approx(0.0125)
    assert s["within (rate)"] == pytest.approx(-0.0625)
    assert s["between (mix)"] + s["within (rate)"] == pytest.approx(s["total change"], abs=1e-15)
    lo = d.summary.set_index("component")["ci_low"]
    hi = d.summary.set_index("component")["ci_high"]
    assert (lo <= s + 1e-12).all() and (s <= hi + 1e-12).all()


# --- the link models -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim():
    return generator.simulate(generator.load_config())


def test_link_panel_flags_and_dose(sim):
    p = link.link_panel(sim.outcomes, sim.recorded)
    assert p["force"].nunique() == 43  # BTP excluded
    assert set(p["counting_rule_period"]) == {
        "from 2014/15: 8Q introduced",
        "from 2018/19: Course of conduct recorded in addition",
        "from 2020/21: Ex-partner harassment recorded as stalking",
    }
    dose = p.groupby("force")["dose"].first()
    assert (dose > 0).all()
    true = {f: t["dose"] for f, t in sim.truth["forces"].items()}
    # the Greater Manchester gap is annualised, not read as a fall
    assert abs(dose["Greater Manchester"] - true["Greater Manchester"]) < 0.25
    assert np.corrcoef(dose, [true[f] for f in dose.index])[0, 1] > 0.95
    assert p.loc[p.financial_year == max(p.financial_year), "recorded_basis_censored"].all()


def test_irls_matches_statsmodels(sim):
    d = link.usable(link.link_panel(sim.outcomes, sim.recorded))
    term = {"dose_x_post": d["dose_c"].to_numpy() * d["post"].to_numpy()}
    fit = glm.fit_glm(d, term, "dose_x_post", jackknife=False)
    beta = glm.irls(fit.X, d["charged"].to_numpy(float), d["closed"].to_numpy(float))
    assert np.max(np.abs(beta - fit.result.params)) < 1e-8


def test_primary_estimate_on_the_default_demo(sim):
    r = link.run_link(sim.outcomes, sim.recorded, bootstrap_reps=199, permutation_reps=19)
    m = r.models.set_index("estimator")
    truth = sim.truth["link_slope"]
    assert m.loc["primary", "ci_low"] <= truth <= m.loc["primary", "ci_high"]
    assert m.loc["primary", "estimate"] < 0 and m.loc["primary", "p_value"] < 0.05
    assert 0 < m.loc["primary_wild_bootstrap", "p_value"] <= 1
    for name in (
        "event_study_mean_post",
        "first_difference",
        "placebo_2017",
        "permutation",
        "combined_8Q_8L",
        "closed_basis_all_years",
        "donut",
        "cohort_share",
        "cohort_mix",
        "recorded_mature",
    ):
        assert name in m.index
    assert r.primary["parameter"] == "link_slope"
    assert "recorded basis" in r.primary["specification"] and "CV3" in r.primary["inference"]
    assert "recorded_basis" not in m.index  # the primary is the recorded basis: not repeated
    assert (m["method"].str.contains("CV3|HC3|bootstrap|randomisation|Wald")).all()  # every row says which
    text = link_text.described(r, synthetic=True)
    assert r.influence["force"].iloc[0] in text["influence_sentence"]
    assert "No force has zero dose" in text["caveats"][0] and r.dose.idxmax() in text["caveats"][0]
    # each caveat only where it applies: the 8Q + 8L and closed-basis rows when they were fitted,
    # the wild bootstrap when it ran
    said = " ".join(text["caveats"])
    assert "The 8Q + 8L row" in said and "The closed basis" in said and "wild cluster bootstrap" in said
    without = r.models[~r.models["estimator"].isin(["combined_8Q_8L", "closed_basis_all_years", "donut"])]
    fewer = " ".join(
        link_text.caveats({**r.primary, "p_value_wild_bootstrap": float("nan")}, r.dose, without)
    )
    assert "8Q + 8L" not in fewer and "closed basis" not in fewer and "wild cluster bootstrap" not in fewer
    assert "43 clusters" in fewer or f"{r.primary['n_forces']} clusters" in fewer
    assert "GENERATED" in text["data_source"] and "headline_sentence" not in text  # no headline attached
    es = r.event_study.set_index("financial_year")
    assert es.loc["2019/20", "estimate"] == 0 and es.loc["2019/20", "reference"]
    sens = r.primary["pre_trend_sensitivity"]
    assert sens["estimate"] == pytest.approx(m.loc["event_study_mean_post", "estimate"])
    assert sens["ci_low"] < sens["estimate"] < sens["ci_high"] and sens["mbar"] == 1.0
    assert f"{sens['ci_low']:.3f} to {sens['ci_high']:.3f}" in text["pre_trend_sensitivity_sentence"]


def test_simulation_with_known_truth_small():
    """A small simulation study: the primary estimator is close to the truth on average,
    placebo breaks are near zero, shrinkage beats raw rates, and extreme forces are flagged."""
    from analysis.stats.method_study import validate_methods

    table, _records = validate_methods(4, seed=500, jobs=2)
    t = table.set_index(["estimator", "parameter"])
    prim = t.loc[("primary", method_study.TOTAL)]
    assert abs(prim["bias"]) < 0.1 and prim["reps"] == 4
    assert abs(t.loc[("placebo_2017", "zero (no effect before 2020)"), "mean_estimate"]) < 0.15
    assert t.loc[("shrinkage_hb", "MSE ratio shrunken / raw"), "mean_estimate"] < 1
    assert (
        t.loc[
            ("funnel_exact_95%", "recall of true extreme forces (different from the target)"), "mean_estimate"
        ]
        == 1.0
    )
    # the contract of validation.csv: every measure, its Monte Carlo error and the verdict
    wanted = {"estimator", "parameter", "truth", "bias", "rmse", "coverage", "rejection_rate", "reps"}
    assert wanted | {f"{m}_mcse" for m in ("bias", "rmse", "coverage", "rejection_rate")} <= set(
        table.columns
    )
    assert table["data_source"].str.contains("GENERATED DEMO DATA").all()


def test_primary_battery_gives_the_full_batterys_primary_records():
    """--battery primary fits the primary alone: its records are the full battery's primary
    records for the same replicates, and nothing else."""
    from analysis.stats import method_study

    for rep, scenario in ((3, "backlog"), (4, "missing_years")):
        task = (rep, {"seed": 2000 + rep, "link_slope": -0.4}, None, scenario)
        full = [r for r in method_study.one_replicate((*task, "full")) if r["estimator"] == "primary"]
        alone = method_study.one_replicate((*task, "primary"))
        assert alone == full and len(alone) == 1
    with pytest.raises(ValueError, match="battery"):
        method_study.validate_methods(1, battery="primary only")


@pytest.mark.slow
def test_simulation_coverage_and_size(tmp_path):
    """40 replicates under link_slope = 0: the primary test's size and coverage are near 5%/95%."""
    from analysis.stats.method_study import validate_methods

    table, _ = validate_methods(40, seed=7000, overrides={"link_slope": 0.0}, jobs=2)
    prim = table.set_index(["estimator", "parameter"]).loc[("primary", method_study.TOTAL)]
    assert prim["coverage"] >= 0.8 and prim["rejection_rate"] <= 0.2
    assert abs(prim["bias"]) < 0.05


# --- figures ---------------------------------------------------------------------------------


def test_figures_are_labelled_and_mark_the_breaks():
    nat = pd.DataFrame({"financial_year": [f"{y}/{(y + 1) % 100:02d}" for y in range(2014, 2025)]})
    for m in ("charge_rate_closed", "evidential_difficulties_rate_closed", "no_suspect_rate_closed"):
        nat[m], nat[f"{m}_low"], nat[f"{m}_high"] = 0.2, 0.1, 0.3
    fig = plots.trend_plot(nat, synthetic=True)
    texts = [t.get_text() for t in fig.texts]
    assert plots.DEMO_LABEL in texts
    ax = fig.axes[0]
    assert len([ln for ln in ax.lines if ln.get_linestyle() == "--"]) == 3
    assert {t.get_text() for t in ax.texts} >= {"8Q introduced", "Ex-partner harassment recorded as stalking"}
    fig2 = plots.trend_plot(nat, synthetic=False)
    assert plots.DEMO_LABEL not in [t.get_text() for t in fig2.texts]


def test_validation_rows_carry_monte_carlo_errors_and_a_verdict():
    """Monte Carlo errors (Morris, White and Crowther 2019) and the verdict against targets."""
    from analysis.stats import method_study

    rng = np.random.default_rng(4)
    reps = 400
    est = rng.normal(0.0, 0.1, reps)
    rec = pd.DataFrame(
        {
            "estimator": "toy",
            "parameter": "link_slope",
            "truth": 0.0,
            "estimate": est,
            "ci_low": est - 0.196,
            "ci_high": est + 0.196,
            "p_value": np.where(np.arange(reps) < 20, 0.01, 0.5),  # exactly 5% rejections
        }
    )
    row = method_study.summarise(rec).iloc[0]
    assert row["bias_mcse"] == pytest.approx(np.std(est, ddof=1) / np.sqrt(reps))
    assert row["coverage_mcse"] == pytest.approx(np.sqrt(row["coverage"] * (1 - row["coverage"]) / reps))
    assert row["rejection_rate"] == 0.05 and row["rejection_rate_mcse"] == pytest.approx(
        np.sqrt(0.05 * 0.95 / reps)
    )
    assert row["rmse_mcse"] > 0
    assert "bias not distinguishable from 0" in row["verdict"] and "size consistent with 5%" in row["verdict"]
    rec["p_value"] = np.where(np.arange(reps) < 60, 0.01, 0.5)  # 15%: clearly too many
    rec["estimate"] = est + 0.05
    row = method_study.summarise(rec).iloc[0]
    assert "size above 5% beyond Monte Carlo error" in row["verdict"]
    assert "bias distinguishable from 0" in row["verdict"]
    assert "(MCSE)" in method_study.summary_text(method_study.summarise(rec))


def test_each_replicate_is_scored_against_its_own_truth():
    from analysis.stats import method_study

    # under `heterogeneous` the true average slope is drawn afresh in each replicate: an
    # estimator that tracks it exactly has no bias and full coverage, although the truths spread
    truth = np.random.default_rng(5).normal(0.0, 0.13, 200)
    rec = pd.DataFrame(
        {
            "estimator": "toy",
            "parameter": "link_slope",
            "truth": truth,
            "estimate": truth + 0.001,
            "ci_low": truth - 0.01,
            "ci_high": truth + 0.01,
        }
    )
    row = method_study.summarise(rec).iloc[0]
    assert row["truth"] == pytest.approx(truth.mean())
    assert row["bias"] == pytest.approx(0.001) and row["bias_mcse"] == pytest.approx(0.0, abs=1e-12)
    assert row["rmse"] == pytest.approx(0.001)
    assert row["coverage"] == 1.0


@pytest.mark.slow
def test_method_study_on_a_dask_local_cluster_matches_the_process_pool():
    from analysis.stats.method_study import validate_methods

    local, _ = validate_methods(2, seed=900, jobs=2, scenario="slow_charges")
    dask, _ = validate_methods(2, seed=900, jobs=2, scenario="slow_charges", executor="dask")
    pd.testing.assert_frame_equal(local, dask)
    assert (dask["scenario"] == "slow_charges").all()
