"""The cohort-timed link estimators, the delay distribution and cohort shares behind them, and
the event study's CV3 joint pre-trend test: each checked on data built to have a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analysis.demo import generator
from analysis.domain import periods, taxonomy
from analysis.errors import InputError
from analysis.stats import link, method_study
from analysis.stats.link_panel import cohort_weights, delay_distribution, link_panel

# the link study's data: counted per year, and so assumed by the panels (conftest)
pytestmark = pytest.mark.usefixtures("study_count")

YEARS = [periods.fy_label(y) for y in range(2014, 2025)]
# the generator as the link study runs it: each year's recorded basis counted a quarter after its
# own end, the snapshot the cohort panel assumes (link_panel.SNAPSHOT_LAG)
STUDY = {"recorded_basis_as_at": method_study.LINK_AS_AT}


def _panel(
    slope: float, pre_trend: float = 0.0, n: float = 1e6, forces: int = 30, seed: int = 3
) -> pd.DataFrame:
    """A force-year panel with expected counts when n is large, binomial draws below 10^5 closed
    (so that the jackknife has sampling noise to measure): charge log-odds =
    force + year + slope x centred dose x post-2020 + pre_trend x centred dose x (years before 2019/20)."""
    rng = np.random.default_rng(seed)
    dose = rng.normal(1.0, 0.3, forces)
    dose_c = dose - dose.mean()
    alpha = rng.normal(-2, 0.3, forces)
    rows = []
    for i in range(forces):
        for j, y in enumerate(YEARS):
            post = int(periods.fy_start(y) >= 2020)
            eta = alpha[i] - 0.1 * j + slope * dose_c[i] * post + pre_trend * dose_c[i] * min(j - 5, 0)
            closed = n
            rows.append(
                {
                    "force": f"F{i:02d}",
                    "financial_year": y,
                    "closed": closed,
                    "charged": closed * expit(eta) if n >= 1e5 else float(rng.binomial(int(n), expit(eta))),
                    "dose": dose[i],
                    "dose_c": dose_c[i],
                    "post": post,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("slope", [0.0, -0.4])
def test_donut_recovers_a_known_slope(slope):
    est = link.donut(_panel(slope))
    assert est.estimate == pytest.approx(slope, abs=1e-6)
    assert est.method.startswith("cluster jackknife (CV3)")


def test_joint_pre_trend_test_rejects_a_planted_pre_trend_and_not_its_absence():
    planted = link.event_study(_panel(0.0, pre_trend=0.15, n=2000, seed=4))
    clean = link.event_study(_panel(0.0, pre_trend=0.0, n=2000, seed=4))
    assert planted.pre_test["p_value"] < 0.01
    assert clean.pre_test["p_value"] > planted.pre_test["p_value"]
    assert planted.pre_test["df1"] == 5 and planted.pre_test["df2"] == 29
    assert (planted.table["method"].str.contains("CV3")).all()


def test_pre_trend_sensitivity_breaks_down_sooner_with_a_planted_pre_trend():
    # a planted pre-trend moves the dose-by-year coefficient 0.15 a year up to 2019/20; continued
    # after it at that pace (Mbar = 1) it could explain the mean post-2020 coefficient (-0.4) away
    planted = link.pre_trend_sensitivity(link.event_study(_panel(-0.4, pre_trend=0.15, n=20000, seed=4)))
    clean = link.pre_trend_sensitivity(link.event_study(_panel(-0.4, n=20000, seed=4)))
    assert clean["computed"] and clean["n_pre"] == 5 and clean["n_post"] == 5
    assert clean["post_years"][0] == "2020/21" and clean["pre_years"][-1] == "2018/19"
    assert clean["excludes_zero"] and clean["ci_low"] < clean["estimate"] < clean["ci_high"] < 0
    assert not planted["excludes_zero"] and planted["breakdown_mbar"] < 1 < clean["breakdown_mbar"]
    assert planted["largest_pre_change"] == pytest.approx(0.15, abs=0.05)
    first, last = planted["largest_pre_change_years"]  # two consecutive years up to 2019/20
    assert periods.fy_start(last) == periods.fy_start(first) + 1 and last <= "2019/20"


def test_event_study_intervals_come_from_the_cv3_covariance():
    es = link.event_study(_panel(-0.4, n=500, seed=5))
    t = es.table[~es.table["reference"]].reset_index(drop=True)
    half = (t["ci_high"] - t["estimate"]).to_numpy()
    assert half / np.sqrt(np.diag(es.covariance)) == pytest.approx(np.full(len(t), 2.045), abs=0.01)  # t(29)


def test_delay_distribution_from_not_yet_assigned_shares():
    # a cohort followed for m quarters has F(m) assigned; quarter k of a year is followed 4 - k + 1
    true = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    cdf = np.cumsum(true)
    q = pd.DataFrame(
        {
            "financial_year": ["2024/25"] * 4,  # one year: either count follows it alike
            "quarter": [1, 2, 3, 4],
            "offences": [1000.0] * 4,
            "not_yet_assigned": [1000 * (1 - cdf[4 - k + 1]) for k in (1, 2, 3, 4)],
        }
    )
    g = delay_distribution(q, lag=1, horizon=12)
    assert g.sum() == pytest.approx(1.0)
    assert np.cumsum(g)[1:5] == pytest.approx(cdf[1:5])


def test_cohort_weights_of_steady_volumes():
    # equal volumes every quarter, everything closed 4 quarters after recording: each closing
    # year's closures all come from the year before
    vol = pd.DataFrame(
        [
            {"force": "A", "financial_year": y, "quarter": q, "offences": 100.0}
            for y in YEARS
            for q in (1, 2, 3, 4)
        ]
    )
    delays = np.zeros(8)
    delays[4] = 1.0
    w = cohort_weights(vol, delays, YEARS[1:]).set_index("financial_year")
    assert w.loc["2020/21", "2019/20"] == pytest.approx(1.0)
    assert w.loc["2020/21", "2020/21"] == pytest.approx(0.0)


def test_panel_carries_cohort_shares_and_mature_counts():
    sim = generator.simulate(generator.load_config(None, STUDY))
    p = link_panel(sim.outcomes, sim.recorded)
    by_year = p.groupby("financial_year")["post_cohort_share"].mean()
    assert by_year["2019/20"] == 0 and 0.6 < by_year["2020/21"] < 0.95 and by_year["2023/24"] > 0.98
    share_cols = [c for c in p.columns if c.startswith("closed_from_")]
    assert np.allclose(p[share_cols].sum(axis=1), 1)
    assert (p["charged_recorded_mature"] <= p["charged_recorded"]).all()
    assert (p["recorded_quarters_mature"] <= 4).all()


def test_leave_one_force_out_table_matches_a_refit_without_the_force():
    d = _panel(-0.4, n=800, seed=6)
    d = d.assign(
        complete_year=True,
        charged=np.round(d["charged"]),
        charged_recorded=np.round(d["charged"]),
        assigned_recorded=d["closed"],
    )
    dp = link.primary_sample(d)
    fit, influence = link._fit_primary(dp, 0.95)
    first = influence.iloc[0]
    rest = dp[dp["force"] != first["force"]]
    again = link._fit_primary(rest, 0.95)[0]
    assert first["estimate_without"] == pytest.approx(again.estimate, abs=1e-6)
    assert (influence["change"].abs().diff().dropna() <= 1e-12).all()  # most influential first
    summary = link.influence_summary(influence, fit.estimate)
    assert summary["most_influential"][0]["force"] == first["force"]
    assert summary["largest_dose_force"] == dp.loc[dp["dose"].idxmax(), "force"]


def _on_both_bases(p: pd.DataFrame) -> pd.DataFrame:
    return p.assign(
        charged_recorded=p["charged"], assigned_recorded=p["closed"], usable=True, complete_year=True
    )


def test_negative_control_sees_a_shared_shock_and_the_triple_difference_removes_it():
    # a force-wide charging shock proportional to the dose after 2020 hits both offences; stalking
    # has no link of its own: the primary-basis slope and the negative control both show the
    # shock, the triple difference does not
    shock = -0.3
    stalking = _on_both_bases(_panel(shock, seed=7))
    other = _on_both_bases(_panel(shock, seed=7))
    other["charged"] = other["closed"] * expit(
        np.log(other["charged"] / (other["closed"] - other["charged"])) + 0.5
    )
    other["charged_recorded"] = other["charged"]
    nc = link.negative_control(other, stalking, ("46",))
    ddd = link.triple_difference(other, stalking, ("46",))
    assert nc.estimate == pytest.approx(shock, abs=1e-4)
    assert ddd.estimate == pytest.approx(0.0, abs=1e-3)
    assert "CV3" in nc.method and "CV3" in ddd.method


def test_comparison_set_missing_from_the_store_says_so_and_a_partial_set_names_what_it_lacks():
    sim = generator.simulate(generator.load_config(None, STUDY))
    d = link.usable(link_panel(sim.outcomes, sim.recorded))
    none_held = sim.outcomes[~sim.outcomes["offence_code"].isin(link.COMPARISON)]
    (row,) = link.comparison_estimates(none_held, sim.recorded, d, link.COMPARISON)
    assert row.estimator == "negative_control" and np.isnan(row.estimate)
    assert "--offences 8Q,46,105A,58C" in row.note
    rows = link.comparison_estimates(sim.outcomes, sim.recorded, d, link.COMPARISON)
    assert [r.estimator for r in rows] == ["negative_control", "triple_difference"]
    assert (
        "offences 46, 105A and 58C pooled" in rows[0].specification and "not in the store" not in rows[0].note
    )
    # the generator's comparison set has no link: the control's interval is about 0
    assert rows[0].ci_low < 0 < rows[0].ci_high
    # a store without 58C pools the other two and says which is missing, on both rows
    partial = sim.outcomes[sim.outcomes["offence_code"] != "58C"]
    rows = link.comparison_estimates(partial, sim.recorded, d, link.COMPARISON)
    assert all("not in the store, so not pooled: 58C" in r.note for r in rows)
    assert "offences 46 and 105A pooled" in rows[0].specification
    assert rows[0].estimate != pytest.approx(
        link.comparison_estimates(sim.outcomes, sim.recorded, d, link.COMPARISON)[0].estimate
    )


def test_a_set_member_missing_from_some_quarters_is_left_out_there_not_pooled_silently():
    """A force-quarter lacking one offence of the set would change the pooled mix: it is left
    out, and both rows say how many were; text codes are read as codes, not characters."""
    sim = generator.simulate(generator.load_config(None, STUDY))
    d = link.usable(link_panel(sim.outcomes, sim.recorded))
    o = sim.outcomes
    gap = (o["offence_code"] == "105A") & (o["force"] == "Kent") & (o["financial_year"] == "2021/22")
    full = link_panel(o, sim.recorded, link.COMPARISON)
    holed = link_panel(o[~gap], sim.recorded, link.COMPARISON)
    # (the generator publishes a few blocks of 46 as 'data not provided': those quarters too)
    held_back = full.attrs["incomplete_cells"]
    assert holed.attrs["incomplete_cells"] == held_back + 4

    def kent(g: pd.DataFrame) -> pd.DataFrame:
        return g[(g["force"] == "Kent") & (g["financial_year"] == "2021/22")]

    # not 46 and 58C standing in for the set that year
    assert len(kent(full)) == 1 and kent(holed).empty
    rows = link.comparison_estimates(o[~gap], sim.recorded, d, "46, 105a,58C")
    assert "offences 46, 105A and 58C pooled" in rows[0].specification
    assert all(f"{held_back + 4} force-quarters lacking one of the set left out" in r.note for r in rows)
    assert all("not in the store" not in r.note and "left out of its own" not in r.note for r in rows)
    assert holed.attrs["incomplete_force_years"] == full.attrs["incomplete_force_years"] + 1
    # one basis missing for one offence is a different mix on that basis: left out too
    one_basis = o.copy()
    one_basis.loc[gap, "recorded_basis"] = pd.NA
    assert link_panel(one_basis, sim.recorded, link.COMPARISON).attrs["incomplete_cells"] == held_back + 4
    # an offence with no territorial rows is refused by the panel, and left out of the set held
    with pytest.raises(InputError, match="no outcomes for 99Z in the territorial forces"):
        link_panel(o, sim.recorded, (*link.COMPARISON, "99Z"))
    btp_only = o[(o["offence_code"] != "58C") | (o["force"] == "British Transport Police")]
    assert link.held_comparison(btp_only, link.COMPARISON) == ("46", "105A")
    assert link.held_comparison(o, "46,105A") == ("46", "105A")


def test_the_default_set_leaves_out_the_offence_analysed():
    assert taxonomy.comparison_for("8Q") == taxonomy.COMPARISON_OFFENCES
    assert taxonomy.comparison_for("105a") == ("46", "58C")
    assert taxonomy.comparison_for("8Q", "46,8l") == ("46", "8L")
    assert taxonomy.normalise_offence_codes("46") == ("46",)
    assert taxonomy.unlike_codes(("46", "105A", "SHOPLIFTING", "4 6", "1/4.1/4.10/4.2")) == [
        "SHOPLIFTING",
        "4 6",
    ]


def test_dose_thirds_recover_a_step_in_the_top_third():
    d = _on_both_bases(_panel(0.0, n=1e6, forces=30, seed=8))
    top = d.groupby("force")["dose"].first().rank(method="first") > 20
    step = d["force"].map(top).to_numpy() * d["post"].to_numpy() * -0.5
    eta = np.log(d["charged"] / (d["closed"] - d["charged"])) + step
    d["charged"] = d["charged_recorded"] = d["closed"] * expit(eta)
    d["complete_year"] = True
    middle, high = link.dose_terciles(d)
    assert middle.estimator == "dose_tercile_middle" and middle.estimate == pytest.approx(0, abs=1e-4)
    assert high.estimate == pytest.approx(-0.5, abs=1e-4) and "bottom third" in high.specification


def test_average_marginal_effect_is_the_slope_times_the_mean_derivative():
    sim = generator.simulate(generator.load_config(None, STUDY))
    r = link.run_link(
        sim.outcomes, sim.recorded, bootstrap_reps=19, permutation_reps=0, include_secondary=False
    )
    assert "pre_trend_sensitivity" not in r.primary  # the fast path skips it
    me = r.primary["marginal_effect"]
    rate = me["mean_charge_rate_post"]
    # mu(1 - mu) averaged is below rate(1 - rate): the derivative is concave
    assert 0 < me["per_unit_dose_pp"] / (100 * r.primary["estimate"]) <= rate * (1 - rate)
    assert me["per_doubling_pp"] == pytest.approx(np.log(2) * me["per_unit_dose_pp"])
    lo, hi = me["per_doubling_pp_ci"]
    assert lo < me["per_doubling_pp"] < hi


def test_panel_counts_equal_plain_groupings_with_gaps():
    # the panel's one-pass counts against one plain grouping per count, on demo data with the
    # Greater Manchester gap, extra missing quarters and a force-year with no charges at all
    sim = generator.simulate(generator.load_config(None, STUDY, "missing_years"))
    o = sim.outcomes[sim.outcomes["offence_code"] == "8Q"].copy()
    no_charges = (o["force"] == "Kent") & (o["financial_year"] == "2016/17") & (o["outcome_type"] == 1)
    o = o[~no_charges]
    p = link_panel(o, sim.recorded).set_index(["force", "financial_year"])
    key = ["force", "financial_year"]
    charged, closed = o["outcome_type"] == 1, o["outcome_type"].between(1, 22)
    plain = {
        "charged": o[charged].groupby(key)["closed_basis"].sum(min_count=1),
        "closed": o[closed].groupby(key)["closed_basis"].sum(min_count=1),
        "charged_recorded": o[charged].groupby(key)["recorded_basis"].sum(min_count=1),
        "assigned_recorded": o[closed].groupby(key)["recorded_basis"].sum(min_count=1),
        "offences_recorded_basis": o.groupby(key)["recorded_basis"].sum(min_count=1),
        "quarters": o.dropna(subset=["closed_basis"]).groupby(key)["quarter"].nunique(),
    }
    for col, expected in plain.items():
        got = p[col].astype("Float64")
        want = expected.reindex(p.index).astype("Float64")
        if col == "quarters":
            want = want.fillna(0)
        pd.testing.assert_series_equal(got, want, check_names=False)
    assert pd.isna(p.loc[("Kent", "2016/17"), "charged"])
    assert (p["quarters"] < 4).any()


def test_panel_dose_and_mature_counts_equal_plain_groupings():
    # the dose from the PFA table's annualised quarters, and the mature cohorts' recorded-basis
    # counts, against plain pandas groupings, with the Greater Manchester gap and missing years
    sim = generator.simulate(generator.load_config(None, STUDY, "missing_years"))
    o = sim.outcomes[sim.outcomes["offence_code"] == "8Q"]
    p = link_panel(o, sim.recorded).set_index(["force", "financial_year"])
    rec = sim.recorded[sim.recorded["offence_code"] == "8Q"].dropna(subset=["offences"])
    annual = rec.groupby(["force", "financial_year"])["offences"].agg(["sum", "count"])
    annual = annual["sum"] * 4 / annual["count"]
    for force in ("Greater Manchester", "Kent"):
        want = np.log(annual[(force, "2020/21")] / annual[(force, "2019/20")])
        assert p.loc[(force, "2020/21"), "dose"] == pytest.approx(want, rel=1e-12)
    early = o[o["quarter"] <= 2]  # quarters followed 3 or more quarters at the snapshot
    by_q = early.groupby(["force", "financial_year", "quarter"])
    offences = by_q["recorded_basis"].sum(min_count=1)
    charged = (
        early[early["outcome_type"] == 1]
        .groupby(["force", "financial_year", "quarter"])["recorded_basis"]
        .sum()
    )
    mature = charged[offences.reindex(charged.index) > 0].groupby(["force", "financial_year"]).sum()
    got = p["charged_recorded_mature"]
    pd.testing.assert_series_equal(
        got.astype(float), mature.reindex(p.index).fillna(0).astype(float), check_names=False
    )


def test_combined_panel_without_a_pfa_table_takes_each_offences_recorded_basis():
    # with no PFA table the dose comes from the outcomes files' recorded basis, each offence's
    # quarter counted only when both have one (this once found no force with a dose at all)
    sim = generator.simulate(generator.load_config(None, STUDY))
    p = link_panel(sim.outcomes, sim.recorded.iloc[:0], ("8Q", "8L"))
    assert p.attrs["dose_source"] == "recorded-basis totals in the outcomes files"
    assert p["force"].nunique() == 43 and np.isfinite(p["dose"]).all()
    late = sim.outcomes[sim.outcomes["financial_year"].isin(["2021/22", "2022/23"])]
    with pytest.raises(InputError, match="no force has offences recorded in both 2019/20 and 2020/21"):
        link_panel(late, sim.recorded.iloc[:0])


def _with_dose_effect(d: pd.DataFrame, effect) -> pd.DataFrame:
    """`d` with `effect(dose)` added to the charge log-odds from 2020 on (both bases, exact counts)."""
    d = d.copy()
    eta = np.log(d["charged"] / (d["closed"] - d["charged"])) + d["post"] * effect(d["dose"].to_numpy())
    if d["closed"].iloc[0] >= 1e5:  # expected counts: noiseless
        d["charged"] = d["closed"] * expit(eta)
    else:
        d["charged"] = np.random.default_rng(11).binomial(d["closed"].astype(int), expit(eta)).astype(float)
    d["charged_recorded"] = d["charged"]
    return d


def test_spline_basis_is_a_natural_cubic_spline():
    knots = np.array([0.2, 0.5, 1.1, 1.4])
    x = np.linspace(-1, 3, 4001)
    s = link.spline_basis(x, knots)
    assert s.shape == (len(x), 2)
    second = np.diff(s, 2, axis=0)
    outside = (x[1:-1] < knots[0]) | (x[1:-1] > knots[-1])
    assert np.abs(second[outside]).max() < 1e-9  # linear beyond the outer knots
    assert np.abs(second[~outside]).max() > 1e-7  # and not linear between them
    assert np.abs(np.diff(s, 3, axis=0)).max() < 1e-6  # no jumps in the second derivative
    assert np.all(s[x <= knots[0]] == 0)


def test_dose_spline_recovers_a_planted_curve_on_a_noiseless_panel():
    d = _on_both_bases(_panel(0.0, n=1e6, forces=30, seed=9))
    dose = d.groupby("force")["dose"].first()
    knots = np.quantile(dose, link.SPLINE_KNOTS)
    ref = dose.mean()

    def curve(x):  # a bent dose-response in the spline's own space: slope -0.3, then flatter
        return -0.3 * (x - ref) + 0.8 * (
            link.spline_basis(x, knots)[:, 0] - link.spline_basis([ref], knots)[0, 0]
        )

    fit = link.dose_spline(_with_dose_effect(d, curve))
    assert fit.curve["log_odds"].to_numpy() == pytest.approx(curve(fit.curve["dose"].to_numpy()), abs=1e-6)
    assert fit.curve.loc[fit.curve["point"] == "mean dose", "log_odds"].item() == pytest.approx(0, abs=1e-9)
    (row,) = fit.rows
    lo, mid, hi = knots
    bend = (curve(np.array([hi]))[0] - curve(np.array([mid]))[0]) / (hi - mid) - (
        curve(np.array([mid]))[0] - curve(np.array([lo]))[0]
    ) / (mid - lo)
    assert row.estimator == "dose_spline_nonlinearity" and row.estimate == pytest.approx(bend, abs=1e-6)
    # percentage points at the base rate, through the same logistic curve
    base = fit.summary["base_rate"]
    at = fit.summary["at"]["90% knot"]
    assert at["pp"] == pytest.approx(100 * (expit(np.log(base / (1 - base)) + at["log_odds"]) - base))
    assert at["pp_low"] <= at["pp"] <= at["pp_high"]


def test_spline_test_rejects_a_bent_dose_response_and_not_a_straight_one():
    d = _on_both_bases(_panel(0.0, n=2000, forces=40, seed=5))
    ref = d.groupby("force")["dose"].first().mean()
    straight = link.dose_spline(_with_dose_effect(d, lambda x: -0.4 * (x - ref)))
    bent = link.dose_spline(_with_dose_effect(d, lambda x: 3.0 * (x - ref) ** 2))
    assert straight.summary["nonlinearity_test"]["p_value"] > 0.05
    assert bent.summary["nonlinearity_test"]["p_value"] < 0.01
    assert bent.rows[0].estimate > 0  # bends upwards
    assert straight.rows[0].ci_low < 0 < straight.rows[0].ci_high
    assert "CV3" in bent.rows[0].method and "F(1, 39)" in bent.rows[0].method


def test_dose_spline_rows_tables_and_figure_from_run_link():
    sim = generator.simulate(generator.load_config(None, STUDY))
    r = link.run_link(sim.outcomes, sim.recorded, bootstrap_reps=19, permutation_reps=0)
    row = r.models.set_index("estimator").loc["dose_spline_nonlinearity"]
    assert 0 < row["p_value"] < 1 and row["ci_low"] < row["estimate"] < row["ci_high"]
    curve, thirds = r.dose_spline, r.dose_thirds
    assert {"10% knot", "50% knot", "90% knot", "mean dose"} <= set(curve["point"])
    assert (curve["ci_low"] <= curve["log_odds"]).all() and (curve["log_odds"] <= curve["ci_high"]).all()
    assert list(thirds["third"]) == ["bottom", "middle", "top"] and thirds["n_forces"].sum() == len(r.dose)
    assert thirds["log_odds"].iloc[2] == pytest.approx(
        r.models.set_index("estimator").loc["dose_tercile_top", "estimate"]
    )
    top = thirds.iloc[2]  # the same forces as the tercile row's
    spec = r.models.set_index("estimator").loc["dose_tercile_top", "specification"]
    assert f"dose {top['dose_low']:.2f} to {top['dose_high']:.2f}" in spec
    assert r.primary["dose_spline"]["nonlinearity_test"]["p_value"] == pytest.approx(row["p_value"])
    from analysis.reports import plots

    fig = plots.dose_spline_plot(curve, thirds, synthetic=True)
    assert plots.DEMO_LABEL in [t.get_text() for t in fig.texts]


def test_wild_bootstrap_pre_trend_test_rejects_a_planted_pre_trend_and_not_its_absence():
    planted = link.event_study(_panel(0.0, pre_trend=0.15, n=2000, seed=4), bootstrap_reps=199, seed=2)
    clean = link.event_study(_panel(0.0, pre_trend=0.0, n=2000, seed=4), bootstrap_reps=199, seed=2)
    assert planted.pre_test["wild_p_value"] <= 0.01  # 1/200 is the smallest p-value 199 flips give
    assert clean.pre_test["wild_p_value"] > 0.05
    assert planted.pre_test["wild_reps"] == 199
    # without bootstrap replicates the event study carries the CV3 test alone
    assert "wild_p_value" not in link.event_study(_panel(0.0, n=2000, seed=4)).pre_test


def test_wild_joint_score_test_of_one_coefficient_matches_the_single_coefficient_version():
    # with one tested coefficient, S' V^-1 S is the square of the single-coefficient score t
    d = _panel(-0.2, n=800, seed=7)
    terms = {"dose_x_post": d["dose_c"].to_numpy() * d["post"].to_numpy()}
    X, names = link.glm.design(d, terms)
    _, p_joint = link.glm.wild_score_joint(d, X, [names.index("dose_x_post")], reps=999, seed=3)
    p_single = link.glm.wild_score_bootstrap(d, terms, "dose_x_post", reps=999, seed=3)
    assert p_joint == pytest.approx(p_single, abs=1e-12)
