"""Each named scenario changes the generator as it says, against its truth; the baseline is the
generator's default (the published demo data do not change)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from analysis.demo import generator, scenarios
from analysis.errors import InputError


@pytest.fixture(scope="module")
def sims() -> dict[str, generator.SyntheticData]:
    return {name: generator.simulate(generator.load_config(scenario=name)) for name in scenarios.names()}


def _p(data: generator.SyntheticData) -> pd.DataFrame:
    """True stalking charge probabilities, forces x years."""
    return pd.DataFrame({f: t["charge_probability"] for f, t in data.truth["forces"].items()}).T


def test_the_scenarios_shipped(sims):
    assert scenarios.names() == [
        "baseline",
        "backlog",
        "correlated_jumps",
        "dose_error",
        "heterogeneous",
        "missing_years",
        "pretrend",
        "slow_charges",
    ]
    with pytest.raises(InputError, match="no such scenario"):
        generator.load_config(scenario="nope")


def test_baseline_is_the_default_generator(sims):
    default = generator.simulate(generator.load_config())
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


def test_heterogeneous_records_its_average_slope_as_the_truth(sims):
    truth = sims["heterogeneous"].truth
    extra = pd.Series({f: e["link_effect_beyond_slope"] for f, e in truth["scenario"]["forces"].items()})
    dose = _forces(sims["heterogeneous"], "dose_centred")
    effect = truth["link_slope"] * dose + extra
    assert truth["scenario"]["average_link_slope"] == pytest.approx(np.polyfit(dose, effect, 1)[0], abs=1e-5)
    assert np.std(effect - np.polyval(np.polyfit(dose, effect, 1), dose)) > 0.02  # not one line
    diff = logit(_p(sims["heterogeneous"])) - logit(_p(sims["baseline"]))
    assert np.allclose(diff["2021/22"], extra, atol=1e-4) and np.allclose(diff["2019/20"], 0, atol=1e-4)


def test_dose_error_adds_noise_the_dose_does_not_see_and_a_case_mix_route(sims):
    truth = sims["dose_error"].truth
    sc = truth["config"]["scenario"]
    extra = pd.Series({f: e["link_effect_beyond_slope"] for f, e in truth["scenario"]["forces"].items()})
    assert truth["scenario"]["average_link_slope"] is None  # the truth stays link_slope
    # the case-mix route: reclassified cases' own charge log-odds times each force's
    # reclassified share of its post-2020 stalking (its share of the rise, 1 - exp(-dose))
    f = truth["forces"]
    share = pd.Series(
        {n: v["reclassified_share"] * (1 - np.exp(-max(v["expected_dose"], 0))) for n, v in f.items()}
    )
    case_mix = sc["reclassified_charge_logodds"] * share
    assert sc["reclassified_charge_logodds"] < 0 and case_mix.std() > 0.01
    # what is left is link_slope x (true - measured change): sd about 0.4 x 0.15, unrelated to the share
    error = extra - case_mix
    assert 0.03 < error.std() < 0.09
    # reclassification rises with the dose, so the case-mix route leans the way the link does
    dose = pd.Series({n: v["dose"] for n, v in f.items()})
    assert np.corrcoef(dose, case_mix)[0, 1] < -0.3
    assert sims["baseline"].truth["scenario"]["average_link_slope"] is None
