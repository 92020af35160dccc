"""The words about which estimators hold up are computed from the table, by a stated rule."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.reports import plots, validation_text


def _row(scenario, estimator, reps, bias, bias_mcse, coverage, truth=-0.4):
    cover_se = np.sqrt(coverage * (1 - coverage) / reps)
    return {
        "scenario": scenario,
        "estimator": estimator,
        "parameter": "link_slope",
        "truth": truth,
        "mean_estimate": truth + bias,
        "bias": bias,
        "bias_mcse": bias_mcse,
        "coverage": coverage,
        "coverage_mcse": cover_se,
        "rejection_rate": 0.9,
        "rejection_rate_mcse": np.sqrt(0.09 / reps),
        "reps": reps,
    }


TABLE = pd.DataFrame(
    [
        _row("baseline", "primary", 500, 0.001, 0.004, 0.95),
        _row("baseline", "recorded_basis", 500, 0.05, 0.004, 0.94),  # biased
        _row("pretrend", "primary", 500, 0.002, 0.004, 0.90),  # undercovers
        _row("pretrend", "first_difference", 100, 0.002, 0.01, 0.95),  # too few to settle
        _row("slow_charges", "primary", 5, 0.3, 0.01, 0.2),  # too few to judge at all
        {**_row("baseline", "combined_8Q_8L", 500, np.nan, np.nan, np.nan), "truth": np.nan},
    ]
)


def test_each_estimator_is_judged_by_the_rule():
    judged = validation_text.judgements(TABLE).set_index(["scenario", "estimator"])["judgement"]
    assert judged[("baseline", "primary")] == "holds up"
    assert judged[("baseline", "recorded_basis")] == "fails"
    assert judged[("pretrend", "primary")] == "fails"
    assert judged[("pretrend", "first_difference")] == "not settled"
    assert judged[("slow_charges", "primary")] == "not settled"
    assert ("baseline", "combined_8Q_8L") not in judged.index  # no truth, no judgement


def test_the_words_name_each_scenario_and_give_failures_with_their_monte_carlo_errors():
    text = validation_text.summary(TABLE).markdown
    assert "**baseline** — holds up: primary; fails: recorded_basis (bias +0.050 ± 0.004" in text
    assert "**pretrend** — fails: primary (bias +0.002 ± 0.004, coverage 90.0% ± 1.3)" in text
    assert "not settled: first_difference" in text
    assert "below 20 replicates nothing is judged" in text  # the smallest study sets the caveat


def test_the_words_say_when_the_study_is_large_enough():
    text = validation_text.summary(TABLE[TABLE["reps"] == 500]).markdown
    assert "At 500 replicates a method with exactly 95% coverage lands within ±1.9 points of it." in text


def test_scenario_table_and_figure(tmp_path):
    shown = validation_text.scenario_table(TABLE)
    assert list(shown.frame.columns[:2]) == ["Scenario", "Estimator"] and "Holds up?" in shown.frame
    assert "Bias: Monte Carlo SE" in shown.frame and "Coverage: Monte Carlo SE" in shown.frame
    fig = plots.validation_plot(validation_text.judgements(TABLE))
    assert any(plots.DEMO_LABEL in t.get_text() for t in fig.texts)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["baseline", "pretrend", "slow_charges"]
    plt.close(fig)


def test_study_reads_a_full_run_when_given_one(tmp_path):
    path = tmp_path / "validation.csv"
    TABLE.to_csv(path, index=False)
    got = validation_text.study(str(path), reps=2, seed=1, link_slope=-0.4)
    pd.testing.assert_frame_equal(got, pd.read_csv(path))
    assert "under the baseline scenario" in validation_text.opening(got).markdown


def test_pretrend_power_is_reported_beside_the_false_alarm_rate():
    rows = []
    for scenario, rate in (("baseline", 0.05), ("pretrend", 0.62)):
        r = _row(scenario, "placebo_2018", 500, 0.0, 0.004, 0.95, truth=0.0)
        rows.append({**r, "rejection_rate": rate, "rejection_rate_mcse": np.sqrt(rate * (1 - rate) / 500)})
    text = validation_text.pretrend_power(pd.DataFrame(rows))
    assert "placebo_2018 62.0% ± 2.2 (baseline 5.0% ± 1.0)" in text
    assert validation_text.pretrend_power(pd.DataFrame(rows[:1])) == ""
    assert "Power of the pre-trend checks" in validation_text.summary(pd.DataFrame(rows)).markdown
