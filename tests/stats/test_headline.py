"""The headline the pages print: its estimate, interval and warnings, and how the method study
scores it (truths per estimator, warned and silent-miss rates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.demo import generator
from analysis.stats import headline, link, method_study
from analysis.stats.link_panel import link_panel

# the link study's data: counted per year, and so assumed by the panels (conftest)
pytestmark = pytest.mark.usefixtures("study_count")


def _data(name: str = "baseline", **overrides):
    cfg = generator.load_config(
        None, {"seed": 1003, "recorded_basis_as_at": method_study.LINK_AS_AT, **overrides}, name
    )
    data = generator.simulate(cfg, offences=method_study.STUDY_OFFENCES)
    return data, cfg


def _assess(data):
    d = link.usable(link_panel(data.outcomes, data.recorded))
    return headline.assess(data.outcomes, data.recorded, d)


@pytest.fixture(scope="module")
def baseline():
    data, cfg = _data()
    return data, cfg, *_assess(data)


def test_breakdown_trend_is_the_trend_that_takes_the_interval_to_zero():
    # estimate -0.4 (-0.6, -0.2); a trend delta moves it by delta x leverage (leverage 2)
    delta = headline.breakdown_trend(-0.4, -0.6, -0.2, 2.0)
    assert delta == pytest.approx(-0.1)
    assert -0.2 - delta * 2.0 == pytest.approx(0)  # the upper end, less the trend's pull, reaches 0
    assert headline.breakdown_trend(-0.1, -0.3, 0.1, 2.0) == 0  # already holds 0
    assert np.isnan(headline.breakdown_trend(-0.4, -0.6, -0.2, 0.0))


def test_a_fit_differs_from_itself_by_nothing():
    j = headline.Jackknifed(0.3, pd.Series([0.29, 0.31, 0.3, 0.32, 0.28], index=list("abcde")), 50)
    diff, se, _ = headline.difference(j, j)
    assert diff == 0 and se == 0


def test_exposure_is_harassment_per_stalking_offence_before_the_2018_change(baseline):
    data = baseline[0]
    r = data.recorded[data.recorded["financial_year"] == "2017/18"]
    kent = r[r["force"] == "Kent"].groupby("offence_code", observed=True)["offences"].sum()
    assert headline.exposure(data.recorded)["Kent"] == pytest.approx(np.log(kent["8L"] / kent["8Q"]))


def test_the_headline_row_and_summary_are_one_number(baseline):
    data, _, summary, rows = baseline
    models = {r.estimator: r for r in rows}
    assert models["headline"].estimate == summary["estimate"]
    assert models["headline"].ci_low == pytest.approx(summary["ci_low"])
    assert set(summary["fired"]) <= set(headline.WARNINGS)
    assert summary["warned"] == bool(summary["fired"])
    # the parallel-trends estimate beside it is the primary the link table prints
    prim = link.primary_only(data.outcomes, data.recorded).iloc[0]
    assert summary["parallel_trends"]["estimate"] == pytest.approx(prim["estimate"], abs=1e-6)
    assert summary["break_2018"] is not None and "break_2018" in models
    # the 2018 interval on the page is the 2018 row's, with its own t(G-1)
    assert summary["break_2018"]["ci_low"] == pytest.approx(models["break_2018"].ci_low)
    nc = summary["checks"]["negative_control"]
    assert nc["ran"] and models["negative_control_check"].estimate == nc["estimate"]


def test_the_headline_survives_a_dose_related_pre_trend_that_biases_the_primary():
    """Force trends of 0.08 log-odds a year, perfectly correlated with the dose: the parallel-
    trends primary is pulled far off; the headline, whose line comes from the earlier years,
    still covers the truth."""
    data, _ = _data("pretrend", scenario={"pretrend_sd": 0.08, "pretrend_dose_corr": 1.0})
    summary, _ = _assess(data)
    truth = data.truth["link"]["total"]
    par = summary["parallel_trends"]
    assert not par["ci_low"] <= truth <= par["ci_high"]
    assert summary["ci_low"] <= truth <= summary["ci_high"]
    assert summary["checks"]["pre_trend_linear"]["fired"]  # and the pre-trend is seen


def test_maturity_check_fires_when_post_2020_delays_grow_with_the_dose():
    data, _ = _data("dose_delays", scenario={"charge_delay_post_per_dose": 6.0})
    summary, _ = _assess(data)
    assert summary["checks"]["maturity_check"]["fired"] and summary["warned"]


def test_each_estimator_is_scored_against_the_part_it_measures():
    data, cfg = _data("dose_error")
    t = method_study.Truths.of(cfg, data.truth)
    assert t.of_estimator("headline")[0] == pytest.approx(data.truth["link"]["total"])
    assert np.isnan(t.of_estimator("exposure_check")[0])  # dose_error plants what it looks for
    assert t.of_estimator("maturity_check")[0] == 0
    assert t.of_estimator("negative_control_check") == t.of_estimator("negative_control")
    assert np.isnan(t.of_estimator("combined_8Q_8L")[0])  # a different estimand, not a check
    _, cfg_p = _data("pretrend")
    tp = method_study.Truths.of(cfg_p, data.truth)
    assert np.isnan(tp.of_estimator("placebo_2017/18")[0]) and np.isnan(
        tp.of_estimator("pre_trend_linear")[0]
    )
    _, cfg_s = _data("second_break")
    ts = method_study.Truths.of(cfg_s, {**data.truth, "link": {**data.truth["link"], "slope_2018": -0.4}})
    assert ts.of_estimator("break_2018")[0] == -0.4 and np.isnan(ts.of_estimator("placebo_2018/19")[0])


def test_silent_misses_count_misses_no_warning_flagged():
    # four replicates: covered; missed and warned; missed silently; covered and warned
    records = pd.DataFrame(
        {
            "rep": range(4),
            "estimator": "headline",
            "parameter": "link total",
            "truth": -0.4,
            "estimate": [-0.4, -0.1, -0.1, -0.4],
            "ci_low": [-0.5, -0.2, -0.2, -0.5],
            "ci_high": [-0.3, 0.0, 0.0, -0.3],
            "p_value": 0.01,
            "warned": [False, True, False, True],
        }
    )
    row = method_study.summarise(records).iloc[0]
    assert row["warned_rate"] == 0.5 and row["silent_miss_rate"] == 0.25 and row["coverage"] == 0.5
    assert row["silent_miss_rate_mcse"] == pytest.approx(np.sqrt(0.25 * 0.75 / 4))
    assert "silent misses not distinguishable from 5%" in row["verdict"]  # 4 replicates tell little
    many = pd.concat([records.assign(rep=records["rep"] + 4 * k) for k in range(100)])
    assert (
        "silent misses above 5% beyond Monte Carlo error" in method_study.summarise(many).iloc[0]["verdict"]
    )


def test_the_study_scores_the_intervals_mean_width_and_skips_one_not_computed():
    records = pd.DataFrame(
        {
            "rep": range(4),
            "estimator": "headline",
            "parameter": "link total",
            "truth": -0.4,
            "estimate": -0.4,
            "ci_low": [-0.5, -0.6, np.nan, -0.5],
            "ci_high": [-0.3, -0.2, np.nan, -0.2],
            "p_value": 0.01,
        }
    )
    row = method_study.summarise(records).iloc[0]
    widths = np.array([0.2, 0.4, 0.3])
    assert row["mean_width"] == pytest.approx(widths.mean())
    assert row["mean_width_mcse"] == pytest.approx(widths.std(ddof=1) / np.sqrt(3))
    no_interval = method_study.summarise(records.drop(columns=["ci_low", "ci_high"])).iloc[0]
    assert np.isnan(no_interval["mean_width"]) and np.isnan(no_interval["mean_width_mcse"])


def test_the_words_are_the_summary_s_numbers(baseline):
    from analysis.reports import link_text

    summary = baseline[2]
    words = link_text.headline_words(summary, "stalking")
    assert f"x {link_text.per_doubling(summary['estimate']):.2f}" in words["headline_sentence"]
    par = summary["parallel_trends"]
    assert f"x {link_text.per_doubling(par['estimate']):.2f}" in words["bound_sentence"]
    b18 = summary["break_2018"]
    assert f"x {link_text.per_doubling(b18['estimate']):.2f}" in words["break_2018_sentence"]
    assert len([w for w in words["warning_sentences"] if w.startswith("Warning")]) == len(summary["fired"])
