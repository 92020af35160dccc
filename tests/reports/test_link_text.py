"""The link's words: each sentence says what its numbers say."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.reports import link_text


def test_pre_trend_sentence_follows_the_p_value():
    test = {"years": ["2014/15", "2018/19"], "statistic": 3.1, "p_value": 0.012, "df1": 5, "df2": 42}
    assert "we reject parallel" in link_text.pre_trend_sentence(test)
    assert "do not reject" in link_text.pre_trend_sentence(test | {"p_value": 0.4})
    assert "F = 3.10 on 5 and 42" in link_text.pre_trend_sentence(test)
    assert "cannot be tested" in link_text.pre_trend_sentence(test | {"years": []})


def test_pre_trend_sentence_reads_the_wild_bootstrap_test_when_there_is_one():
    test = {"years": ["2014/15", "2018/19"], "statistic": 3.1, "p_value": 0.01, "df1": 5, "df2": 42}
    wild = test | {"wild_p_value": 0.31, "wild_reps": 999, "wild_statistic": 5.2}
    text = link_text.pre_trend_sentence(wild)
    assert "p = 0.31; at the 5% level we do not reject" in text and "999 sign flips" in text
    assert "F = 3.10 on 5 and 42" in text and "the bootstrap test is the one to read" in text
    assert "we reject parallel" in link_text.pre_trend_sentence(wild | {"wild_p_value": 0.002})


def test_influence_sentence_names_the_forces_and_the_largest_dose():
    inf = {
        "most_influential": [{"force": "Kent", "estimate_without": -0.5, "change": -0.1}],
        "largest_dose_force": "Greater Manchester",
        "estimate_without_largest_dose_force": -0.35,
        "range_without_one_force": [-0.5, -0.3],
    }
    text = link_text.influence_sentence(inf, "stalking")
    assert "Kent (-0.500)" in text and "Without Greater Manchester" in text and "-0.350" in text


def test_negative_control_sentence():
    models = pd.DataFrame(
        {
            "estimator": ["negative_control", "triple_difference"],
            "estimate": [0.2, -0.4],
            "ci_low": [0.05, -0.6],
            "ci_high": [0.35, -0.2],
            "note": ["", ""],
        }
    )
    text = link_text.negative_control_sentence(models, "stalking")
    assert "excludes 0" in text and "triple difference" in text and "-0.400" in text
    missing = pd.DataFrame(
        {
            "estimator": ["negative_control"],
            "estimate": [np.nan],
            "ci_low": [np.nan],
            "ci_high": [np.nan],
            "note": ["ingest with --offences 8Q,8L,46"],
        }
    )
    assert link_text.negative_control_sentence(missing, "stalking").startswith("No negative control: ingest")


def _sensitivity(**changes) -> dict:
    base = {
        "computed": True,
        "mbar": 1.0,
        "level": 0.95,
        "estimate": -0.43,
        "ci_low": -2.065,
        "ci_high": 1.24,
        "excludes_zero": False,
        "breakdown_mbar": 0.2265625,
        "breakdown_searched_up_to": 64.0,
        "largest_pre_change": 0.186,
        "largest_pre_change_years": ["2018/19", "2019/20"],
    }
    return base | changes


def test_pre_trend_sensitivity_sentence_says_how_far_a_violation_must_go():
    text = link_text.pre_trend_sensitivity_sentence(_sensitivity())
    assert "-2.065 to 1.240, which includes 0" in text and "0.186" in text and "2018/19 to 2019/20" in text
    assert "only up to Mbar = 0.23" in text and "more than 0.23 times the largest" in text
    assert "coefficient is below 0" in text
    robust = link_text.pre_trend_sensitivity_sentence(
        _sensitivity(ci_high=-0.1, excludes_zero=True, breakdown_mbar=None)
    )
    assert "which excludes 0" in robust and "every Mbar up to 64" in robust
    nothing = link_text.pre_trend_sensitivity_sentence(_sensitivity(estimate=0.1, breakdown_mbar=0.0))
    assert "exactly parallel" in nothing and "no conclusion" in nothing


def test_pre_trend_sensitivity_sentence_when_not_computed():
    reason = "the event study has no years before 2019/20 or none from 2020/21 on"
    assert reason in link_text.pre_trend_sensitivity_sentence({"computed": False, "reason": reason})
    assert "full set of estimators" in link_text.pre_trend_sensitivity_sentence(None)


def test_spline_sentence_quotes_the_outer_knots_and_the_test():
    at = {"log_odds": -0.08, "ci_low": -0.19, "ci_high": 0.04, "pp": -0.39, "pp_low": -0.92, "pp_high": 0.19}
    spline = {
        "knot_quantiles": [0.1, 0.5, 0.9],
        "knots": [float(np.log(g)) for g in (2.0, 2.98, 4.06)],
        "reference_dose": 1.04,
        "base_rate": 0.0559,
        "nonlinearity_test": {"statistic": 0.56, "p_value": 0.46, "df1": 1, "df2": 42},
        "at": {
            "lowest dose": at | {"growth": 1.43},
            "10% knot": at | {"growth": 2.0, "log_odds": 0.137},
            "50% knot": at | {"growth": 2.98},
            "90% knot": at | {"growth": 4.06},
        },
    }
    text = link_text.spline_sentence(spline)
    assert "10%, 50% and 90% quantiles" in text and "x2.00, x2.98 and x4.06" in text
    assert "90% knot (x4.06) -0.080 (95% CI -0.190 to +0.040), -0.39 points" in text
    assert "10% knot (x2.00) +0.137" in text and "5.6%" in text
    assert "F = 0.56 on 1 and 42" in text and "does not reject a straight line" in text
    bent = spline | {"nonlinearity_test": spline["nonlinearity_test"] | {"p_value": 0.01}}
    assert "it rejects a straight line" in link_text.spline_sentence(bent)
    assert "No dose-response spline" in link_text.spline_sentence(None)
