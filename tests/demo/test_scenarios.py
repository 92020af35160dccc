"""Each named scenario changes the generator as it says, against its truth; the baseline is the
generator's default (the published demo data do not change)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from analysis.demo import generator, scenarios
from analysis.errors import InputError
from analysis.stats import method_study


@pytest.fixture(scope="module")
def sims() -> dict[str, generator.SyntheticData]:
    """Each scenario as the method study simulates it (its pins: uncalibrated force sizes)."""
    pins = method_study.STUDY_PINS
    return {name: generator.simulate(generator.load_config(None, pins, name)) for name in scenarios.names()}


def _p(data: generator.SyntheticData) -> pd.DataFrame:
    """True stalking charge probabilities, forces x years."""
    return pd.DataFrame({f: t["charge_probability"] for f, t in data.truth["forces"].items()}).T


def test_the_scenarios_shipped(sims):
    assert scenarios.names() == [
        "baseline",
        "backlog",
        "correlated_jumps",
        "dose_backlog",
        "dose_delays",
        "dose_error",
        "heterogeneous",
        "missing_years",
        "pretrend",
        "reclassification",
        "second_break",
        "shared_shocks",
        "slow_charges",
    ]
    with pytest.raises(InputError, match="no such scenario"):
        generator.load_config(scenario="nope")


def test_baseline_is_the_default_generator(sims):
    default = generator.simulate(generator.load_config(None, method_study.STUDY_PINS))
    pd.testing.assert_frame_equal(sims["baseline"].outcomes, default.outcomes)
    pd.testing.assert_frame_equal(sims["baseline"].recorded, default.recorded)


def test_slow_charges_delays_charges_most_where_recording_grew_most(sims):
    effects = pd.DataFrame(sims["slow_charges"].truth["scenario"]["forces"]).T
    dose = pd.Series({f: t["dose_centred"] for f, t in sims["slow_charges"].truth["forces"].items()})
    assert (effects["charge_delay_quarters"] >= 2).all()
    assert np.corrcoef(effects["charge_delay_quarters"], dose)[0, 1] > 0.5

    def recorded_charge_share(data, year):
        o = data.outcomes[(data.outcomes["offence_code"] == "8Q") & (data.outcomes["financial_year"] == year)]
        return o.loc[o["outcome_type"] == 1, "recorded_basis"].sum() / o["recorded_basis"].sum()

    # the latest year's offences have had least time: far fewer charges assigned yet
    last = sims["baseline"].outcomes["financial_year"].max()
    assert recorded_charge_share(sims["slow_charges"], last) < 0.7 * recorded_charge_share(
        sims["baseline"], last
    )
    # the true charge probabilities are the baseline's: only the timing changed
    pd.testing.assert_frame_equal(_p(sims["slow_charges"]), _p(sims["baseline"]))


def test_pretrend_adds_force_trends_correlated_with_the_dose(sims):
    trend = pd.Series(
        {f: e["charge_trend_per_year"] for f, e in sims["pretrend"].truth["scenario"]["forces"].items()}
    )
    dose = pd.Series({f: t["dose_centred"] for f, t in sims["pretrend"].truth["forces"].items()})
    assert np.corrcoef(trend, dose)[0, 1] > 0.4
    diff = logit(_p(sims["pretrend"])) - logit(_p(sims["baseline"]))
    for year in diff.columns:
        expected = trend * (int(year[:4]) - 2019)
        assert np.allclose(diff[year], expected, atol=1e-4), year  # truth is rounded to 6 places


def test_backlog_is_a_2020_shock_scaled_by_courts(sims):
    shock = pd.Series(
        {f: e["backlog_2020_shock"] for f, e in sims["backlog"].truth["scenario"]["forces"].items()}
    )
    assert shock.mean() == pytest.approx(-0.3) and shock.std() > 0.05 and (shock < 0).all()
    diff = logit(_p(sims["backlog"])) - logit(_p(sims["baseline"]))
    assert np.allclose(diff["2020/21"], shock, atol=1e-4)
    assert np.allclose(diff.drop(columns="2020/21"), 0, atol=1e-4)


def test_shared_shocks_move_every_offence_alike_and_nothing_else(sims):
    """The truth's stalking charge log-odds move by the recorded force-year shocks, and the
    comparison set's charge rates move with them (the shocks a negative control shares); the
    link's truth and the published volumes are the baseline's."""
    data, base = sims["shared_shocks"], sims["baseline"]
    shocks = pd.DataFrame(data.truth["scenario"]["shared_shocks"])  # forces x years
    assert "shared_shocks" not in base.truth["scenario"]
    assert 0.1 < shocks.to_numpy().std() < 0.2
    both = pd.DataFrame({"shock": shocks.mean(axis=1), "dose": _forces(data, "dose_centred")}).dropna()
    assert len(both) >= 43 and abs(np.corrcoef(both["shock"], both["dose"])[0, 1]) < 0.35
    diff = logit(_p(data)) - logit(_p(base))
    years = diff.columns
    assert np.allclose(diff, shocks[years].loc[diff.index], atol=1e-4)
    assert data.truth["link"]["total"] == base.truth["link"]["total"]
    pd.testing.assert_frame_equal(data.recorded, base.recorded)

    def rates(d: generator.SyntheticData, code: str) -> pd.Series:
        o = d.outcomes[(d.outcomes["offence_code"] == code) & (d.outcomes["financial_year"] == "2019/20")]
        o = o[o["force"].isin(shocks.index)]
        charged = o[o["outcome_type"] == 1].groupby("force")["recorded_basis"].sum()
        return logit(charged / o.groupby("force")["recorded_basis"].sum())

    # the set's rates move with the shocks, force by force (58C, charged ~3%, the noisier)
    for code in ("105A", "58C"):
        moved = (rates(data, code) - rates(base, code)).replace([np.inf, -np.inf], np.nan).dropna()
        assert len(moved) >= 40 and np.corrcoef(moved, shocks.loc[moved.index, "2019/20"])[0, 1] > 0.6, code


def test_missing_years_publishes_whole_force_years_as_not_provided(sims):
    missing = sims["missing_years"].truth["scenario"]["missing_force_years"]
    assert len(missing) == 6
    o = sims["missing_years"].outcomes
    for force, year in missing:
        rows = o[(o["force"] == force) & (o["financial_year"] == year)]
        assert len(rows) and rows["closed_basis"].isna().all() and rows["not_provided"].all()
    others = o[
        ~pd.Series(list(zip(o["force"], o["financial_year"]))).isin({tuple(m) for m in missing}).to_numpy()
    ]
    base = sims["baseline"].outcomes
    assert others["not_provided"].sum() == base["not_provided"].sum()  # nothing else went missing


def _forces(data: generator.SyntheticData, key: str) -> pd.Series:
    return pd.Series({f: t[key] for f, t in data.truth["forces"].items()})


def test_correlated_jumps(sims):
    base = np.corrcoef(_forces(sims["baseline"], "growth_2018"), _forces(sims["baseline"], "growth_2020"))[
        0, 1
    ]
    corr = np.corrcoef(
        _forces(sims["correlated_jumps"], "growth_2018"), _forces(sims["correlated_jumps"], "growth_2020")
    )[0, 1]
    assert abs(base) < 0.35 and corr > 0.5


def _weighted_slope(data: generator.SyntheticData, effect: pd.Series) -> float:
    """The slope the truth is defined as: least squares on the true dose, weighted by the forces'
    information n_pre n_post / (n_pre + n_post), recomputed here from the published counts."""
    r = data.recorded[data.recorded["offence_code"] == "8Q"]
    years = sorted(data.outcomes["financial_year"].unique())
    n = r[r["financial_year"].isin(years)].pivot_table(
        index="force", columns="financial_year", values="offences", aggfunc="sum"
    )
    post = [y for y in n.columns if int(y[:4]) >= 2020]
    n_pre, n_post = n.drop(columns=post).sum(axis=1), n[post].sum(axis=1)
    w = (n_pre * n_post / (n_pre + n_post)).reindex(effect.index)
    dose = _forces(data, "true_dose").reindex(effect.index)
    return float(np.polyfit(dose - dose.mean(), effect, 1, w=np.sqrt(w))[0])


def test_heterogeneous_truth_is_the_weighted_slope_the_primary_estimates(sims):
    """The heterogeneous truth weights forces as the primary does (by information), not equally."""
    data = sims["heterogeneous"]
    truth = data.truth
    extra = pd.Series({f: e["link_effect_beyond_slope"] for f, e in truth["scenario"]["forces"].items()})
    dose = _forces(data, "dose_centred")
    effect = truth["link_slope"] * dose + extra
    # published counts stand in for expected ones: close, not equal
    assert truth["link"]["behaviour"] == pytest.approx(_weighted_slope(data, effect), abs=0.02)
    assert truth["link"]["composition"] == 0 and truth["link"]["total"] == truth["link"]["behaviour"]
    assert np.std(effect - np.polyval(np.polyfit(dose, effect, 1), dose)) > 0.02  # not one line
    diff = logit(_p(data)) - logit(_p(sims["baseline"]))
    assert np.allclose(diff["2021/22"], extra, atol=1e-4) and np.allclose(diff["2019/20"], 0, atol=1e-4)


def test_baseline_truth_is_behaviour_alone(sims):
    link = sims["baseline"].truth["link"]
    assert link["behaviour"] == pytest.approx(-0.4) and link["composition"] == 0 and link["slope_2018"] == 0


def test_dose_error_is_classical_error_in_the_published_dose_and_a_case_mix_route(sims):
    data = sims["dose_error"]
    truth = data.truth
    f = truth["forces"]
    practice = pd.Series({n: v["dose"] - v["true_dose"] for n, v in f.items()})
    assert 0.08 < practice.std() < 0.25  # dose_error_sd 0.15: recording practice, not charging
    # charging follows the true dose: the baseline's behaviour, with no extra per-force effect
    extra = pd.Series({n: e["link_effect_beyond_slope"] for n, e in truth["scenario"]["forces"].items()})
    assert (extra == 0).all()
    case_mix = pd.Series({n: e["case_mix_effect"] for n, e in truth["scenario"]["forces"].items()})
    sc = truth["config"]["scenario"]
    share = pd.Series(
        {n: v["reclassified_share"] * (1 - np.exp(-max(v["expected_dose"], 0))) for n, v in f.items()}
    )
    assert np.allclose(case_mix, sc["reclassified_charge_logodds"] * share, atol=1e-5)
    # reclassification rises with the dose, so the case-mix route leans the way the link does
    assert np.corrcoef(_forces(data, "true_dose"), case_mix)[0, 1] < -0.3
    assert truth["link"]["composition"] < -0.02
    assert truth["link"]["total"] == pytest.approx(
        truth["link"]["behaviour"] + truth["link"]["composition"], abs=1e-6
    )
    assert _weighted_slope(data, case_mix) == pytest.approx(truth["link"]["composition"], abs=0.01)


def test_reclassification_has_no_behaviour_and_a_case_mix_link(sims):
    link = sims["reclassification"].truth["link"]
    assert link["behaviour"] == 0 and link["composition"] < -0.05 and link["total"] == link["composition"]


def test_dose_delays_delay_post_2020_charges_more_where_the_dose_is_larger(sims):
    effects = pd.DataFrame(sims["dose_delays"].truth["scenario"]["forces"]).T
    dose = _forces(sims["dose_delays"], "dose_centred")
    extra = effects["charge_delay_post_2020_extra"].astype(float)
    assert (extra[dose <= 0] == 0).all() and (extra[dose > 0] > 0).all()
    assert np.corrcoef(extra, dose)[0, 1] > 0.5
    assert (effects["charge_delay_quarters"] == 0).all()  # before 2020 nothing changes
    pd.testing.assert_frame_equal(_p(sims["dose_delays"]), _p(sims["baseline"]))  # timing only


def test_dose_backlog_shock_tracks_the_dose(sims):
    shock = pd.Series(
        {f: e["backlog_2020_shock"] for f, e in sims["dose_backlog"].truth["scenario"]["forces"].items()}
    )
    dose = _forces(sims["dose_backlog"], "dose_centred")
    assert np.corrcoef(shock, dose)[0, 1] < -0.3  # larger (more negative) where the dose is larger
    base = pd.Series(
        {f: e["backlog_2020_shock"] for f, e in sims["backlog"].truth["scenario"]["forces"].items()}
    )
    assert abs(np.corrcoef(base, _forces(sims["backlog"], "dose_centred"))[0, 1]) < 0.35


def test_second_break_plants_a_2018_link_on_the_2018_dose(sims):
    data = sims["second_break"]
    assert data.truth["link"]["slope_2018"] == pytest.approx(-0.4)
    d18 = _forces(data, "dose_2018")
    diff = logit(_p(data)) - logit(_p(sims["baseline"]))
    assert np.allclose(diff["2017/18"], 0, atol=1e-4)
    slope = np.polyfit(d18, diff["2018/19"], 1)[0]
    assert slope == pytest.approx(-0.4, abs=1e-3)
    assert data.truth["link"]["total"] == pytest.approx(sims["baseline"].truth["link"]["total"], abs=1e-6)


def test_the_random_streams_do_not_overlap():
    """Each stream's keys are its own: two streams sharing a key would draw the same numbers
    (shared_shocks once drew dose_error's recording-practice shifts, rescaled)."""
    keys = [k + i for k, size in generator.STREAMS.values() for i in range(size)]
    assert len(keys) == len(set(keys))
    assert len(generator.COMPARISON_SERIES) <= generator.STREAMS["comparison"][1]
    cfg = generator.load_config(None, {"seed": 5})
    draws = {name: generator.stream(cfg, name).normal(size=50) for name in generator.STREAMS}
    for a in draws:
        for b in draws:
            if a < b:
                assert abs(np.corrcoef(draws[a], draws[b])[0, 1]) < 0.6, (a, b)
    with pytest.raises(ValueError, match="no member 1"):
        generator.stream(cfg, "shared_shocks", 1)
