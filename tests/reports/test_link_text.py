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
    # the set it pooled, named; "fixed before" only for the set written down in advance, "do not
    # touch" only for offences of that set, "pooled" only for several
    named = link_text.negative_control_sentence(models, "stalking", ["46", "105A", "58C"])
    assert (
        "do not touch, a set fixed before it was applied to real data (shoplifting (46), assault "
        "without injury (105A) and criminal damage to a vehicle (58C); counts pooled)" in named
    )
    other = link_text.negative_control_sentence(models, "stalking", ["8L"])
    assert "charges of the comparison offences given (harassment (8L))," in other
    assert "do not touch" not in other and "fixed before" not in other and "pooled" not in other
    part = link_text.negative_control_sentence(models, "stalking", ["105A", "58C"])
    assert "do not touch (assault without injury (105A) and criminal damage" in part
    assert "fixed before" not in part


def test_the_negative_control_warning_names_the_offences_it_pooled():
    h = _headline(fired=["negative_control"])
    h["checks"]["negative_control"] = dict(
        h["checks"]["negative_control"], fired=True, p_value=0.01, offences=["46", "58C"]
    )
    (warning, *_rest) = link_text.warning_sentences(h)
    assert warning.startswith(
        "Warning: charges for offences the stalking rules do not touch (shoplifting (46) and criminal "
        "damage to a vehicle (58C); counts pooled) moved with the stalking rise"
    )


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


def _headline(**over) -> dict:
    check = {"ran": True, "fired": False, "p_value": 0.5, "estimate": -0.1}
    h = {
        "estimate": -0.3,
        "ci_low": -0.5,
        "ci_high": -0.1,
        "level": 0.95,
        "n_forces": 43,
        "fired": [],
        "checks": {
            "pre_trend_linear": dict(check, estimate=-0.02, p_value=0.4),
            "exposure_check": dict(check),
            "maturity_check": dict(check),
            "negative_control": dict(check),
        },
        "parallel_trends": {"estimate": -0.4, "ci_low": -0.55, "ci_high": -0.25, "breakdown_trend": -0.06},
        "break_2018": {"estimate": 0.05, "ci_low": -0.2, "ci_high": 0.3, "n_forces": 43},
    }
    return h | over


def test_headline_sentence_claims_no_more_than_its_interval():
    fall = link_text.headline_sentence(_headline(), "stalking")
    assert fall.startswith(
        "Forces whose recorded stalking rose more across April 2020 saw their charge odds fall by more "
        "(or rise by less) than forces whose recorded stalking rose less"
    )
    # the odds for a twofold difference in growth, from the log-odds per unit of log growth
    assert f"x {2**-0.3:.2f} (95% CI x {2**-0.5:.2f} to x {2**-0.1:.2f})" in fall
    assert "a change in charging together with the change in which cases count as stalking" in fall
    unsure = link_text.headline_sentence(_headline(ci_high=0.1), "stalking")
    assert unsure.startswith("The data cannot tell whether") and "fall by more" in unsure
    rise = link_text.headline_sentence(_headline(estimate=0.3, ci_low=0.1, ci_high=0.5), "stalking")
    assert "fall by less (or rise by more) than forces whose recorded stalking rose less" in rise
    gone = link_text.headline_sentence(_headline(estimate=float("nan")), "stalking")
    assert gone.startswith("The headline link could not be estimated") and "x nan" not in gone


def test_bound_sentence_puts_the_breakdown_trend_in_words():
    text = link_text.bound_sentence(_headline())
    pct = f"{100 * (1 - 2**-0.06):.1f}%"
    assert f"already falling behind by more than {pct} a year per twofold difference in growth" in text
    assert f"falling behind by {100 * (1 - 2**-0.02):.1f}% a year" in text and "does not find" in text
    assert "less than the divergence that would overturn" in text and "cannot be relied on" not in text
    past = _headline()
    past["checks"]["pre_trend_linear"] = dict(past["checks"]["pre_trend_linear"], estimate=-0.07)
    assert "already more than the divergence that would overturn" in link_text.bound_sentence(past)
    assert "cannot be relied on" in link_text.bound_sentence(past)
    other_way = _headline()
    other_way["checks"]["pre_trend_linear"] = dict(other_way["checks"]["pre_trend_linear"], estimate=0.07)
    assert "runs the other way" in link_text.bound_sentence(other_way)
    no_bd = _headline(parallel_trends=_headline()["parallel_trends"] | {"breakdown_trend": float("nan")})
    assert "could not be estimated" in link_text.bound_sentence(
        no_bd
    ) and "nan" not in link_text.bound_sentence(no_bd)
    inside = _headline(parallel_trends=_headline()["parallel_trends"] | {"breakdown_trend": 0.0})
    assert "already includes no difference" in link_text.bound_sentence(inside)
    no_pre = _headline()
    no_pre["checks"]["pre_trend_linear"] = {"ran": False, "fired": False, "p_value": float("nan")}
    assert "Too few years before 2020" in link_text.bound_sentence(no_pre)


def test_warnings_are_printed_when_and_only_when_a_check_fires():
    quiet = link_text.warning_sentences(_headline())
    assert len(quiet) == 1 and quiet[0].startswith("No warning from")
    h = _headline(fired=["maturity_check"])
    h["checks"]["maturity_check"] = {"ran": True, "fired": True, "p_value": 0.01, "estimate": -0.6}
    said = link_text.warning_sentences(h)
    assert said[0].startswith("Warning: offences followed longest") and "p = 0.01" in said[0]
    assert not any("Warning" in s for s in said[1:]) and "the offences followed longest" not in said[1]
    h["checks"]["exposure_check"] = {"ran": False, "fired": False, "p_value": float("nan")}
    assert said != link_text.warning_sentences(h)
    assert "Not run on these data: the rise measured" in link_text.warning_sentences(h)[-1]


def test_break_2018_sentence_sits_beside_or_says_why_not():
    assert "April 2018 rule change" in link_text.break_2018_sentence(_headline(), "stalking")
    assert link_text.break_2018_sentence(_headline(break_2018=None), "stalking").startswith("No replication")


def test_study_sentence_gives_each_checks_power_beside_its_false_alarms():
    """A check's power in the scenario that plants its problem, and its rejection rate where its
    true value is 0 (the range over those scenarios, the worst named); none without such rows."""
    table = pd.DataFrame(
        [
            _study_row("baseline"),
            _study_row("dose_delays", "maturity_check", truth=float("nan"), rejection_rate=0.144),
            _study_row("baseline", "maturity_check", truth=0.0, rejection_rate=0.07),
            _study_row(
                "pretrend", "maturity_check", truth=0.0, rejection_rate=0.25, rejection_rate_mcse=0.019
            ),
        ]
    )
    text = link_text.study_sentence(table, "t.csv")
    assert "The check on the offences followed longest fired in 14.4%" in text
    assert "and in 7.0% to 25.0% of replicates in the scenarios where nothing it looks for was wrong" in text
    assert "(most in pretrend, Monte Carlo SE 1.9 points)" in text
    only_power = link_text.study_sentence(table.iloc[:2], "t.csv")
    assert "fired in 14.4%" in only_power and "nothing it looks for" not in only_power
    # the negative control's row in the study is named for the table, its words for the page
    nc = pd.DataFrame(
        [
            _study_row("baseline"),
            _study_row("dose_backlog", "negative_control_check", truth=float("nan"), rejection_rate=0.388),
            _study_row("baseline", "negative_control_check", truth=0.0, rejection_rate=0.052),
        ]
    )
    text = link_text.study_sentence(nc, "t.csv")
    assert "The check on the comparison offences fired in 38.8%" in text and "(dose_backlog)" in text
    assert "and in 5.2% to 5.2% of replicates" in text


def test_the_maturity_warning_names_what_else_sets_it_off():
    h = _headline(fired=["maturity_check"])
    h["checks"]["maturity_check"].update(ran=True, fired=True, estimate=-0.5, p_value=0.01)
    said = link_text.warning_sentences(h)[0]
    assert said.startswith("Warning: offences followed longest give a different answer")
    assert "trends before 2020 already differed with the rise" in said and "shock that tracked" in said


def _study_row(scenario: str, estimator: str = "headline", **over) -> dict:
    row = {
        "scenario": scenario,
        "estimator": estimator,
        "truth": -0.4,
        "reps": 500,
        "bias": 0.0,
        "bias_mcse": 0.01,
        "coverage": 0.93,
        "coverage_mcse": 0.011,
        "rejection_rate": 0.6,
        "rejection_rate_mcse": 0.022,
        "warned_rate": 0.116,
        "warned_rate_mcse": 0.014,
        "silent_miss_rate": 0.06,
        "silent_miss_rate_mcse": 0.011,
    }
    return row | over


def test_study_sentence_quotes_the_committed_headline_rows():
    table = pd.DataFrame([_study_row("baseline"), _study_row("dose_error", silent_miss_rate=0.09)])
    text = link_text.study_sentence(table, "t.csv")
    assert "in 6.0% to 9.0% of replicates (most in dose_error: 9.0% (Monte Carlo SE 1.1 points))" in text
    assert "500 generated replicates in each of 2 scenarios" in text and "in 60.0%" in text
    # the missed scenario is named: 9% is beyond 5% by more than its Monte Carlo error
    assert "above the 5% target beyond Monte Carlo error in dose_error" in text
    assert "showed a warning although nothing was wrong in 11.6%" in text
    assert "pre-2020 trend test" not in text and "The check on" not in text
    within = pd.DataFrame([_study_row("baseline"), _study_row("dose_error", silent_miss_rate=0.06)])
    assert "above the 5% target" not in link_text.study_sentence(within, "t.csv")
    assert "is not with this installation" in link_text.study_sentence(None, "t.csv")


def test_study_sentence_quotes_each_warnings_power_and_the_trend_tests_size():
    table = pd.DataFrame(
        [
            _study_row("baseline"),
            _study_row("dose_error", "exposure_check", truth=float("nan"), rejection_rate=0.024),
            _study_row("baseline", "pre_trend_linear", truth=0.0, rejection_rate=0.086),
            _study_row("pretrend", "pre_trend_linear", truth=float("nan"), rejection_rate=0.318),
        ]
    )
    text = link_text.study_sentence(table, "t.csv")
    assert "The check on the rise measured from pre-2020 harassment recording fired in 2.4%" in text
    assert "(dose_error)" in text and "offences followed longest" not in text
    assert "rejected with no trend (baseline) in 8.6%" in text and "planted trend" in text and "31.8%" in text
