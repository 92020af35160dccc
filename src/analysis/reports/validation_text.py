"""Which estimators hold up under which scenario: words computed from the method study's table.

An interval estimator of a known truth (a link slope, or zero for a placebo) is judged in each
scenario from its bias and its 95% interval coverage, each against its Monte Carlo error (the
same tests as the table's `verdict` column, Morris, White and Crowther 2019):
- **fails**: its bias is distinguishable from 0, or its coverage is below 95% beyond Monte Carlo
  error;
- **holds up**: neither, and the study has enough replicates to say so: a method with exactly
  95% coverage would land within `SETTLED` (2 points) of it, 95 times in 100;
- **not settled**: neither, but too few replicates to tell a method that works from one that
  misses by a few points; and anything at fewer than `MIN_REPS` replicates, where the Monte
  Carlo errors are themselves too rough to test against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.demo import scenarios
from analysis.reports import sections
from analysis.reports.display import Prose, Table, bullets, people_table
from analysis.stats.method_study import NOMINAL_COVERAGE, Z, run_scenarios, targets

SETTLED = 0.02  # the coverage error a study must be able to see before a method "holds up"
MIN_REPS = 20  # below this the Monte Carlo SEs are themselves too rough to judge anything
HOLDS, FAILS, UNSETTLED = "holds up", "fails", "not settled"
# the columns of the scenario x estimator table, each figure beside its Monte Carlo error
TABLE_COLUMNS = [
    "scenario",
    "estimator",
    "truth",
    "bias",
    "bias_mcse",
    "coverage",
    "coverage_mcse",
    "rejection_rate",
    "rejection_rate_mcse",
    "reps",
]


def interval_rows(validation: pd.DataFrame) -> pd.DataFrame:
    """The rows of the method-study table for interval estimators of a known truth (coverage measured)."""
    keep = np.isfinite(validation["coverage"]) & np.isfinite(validation["truth"])
    return validation[keep].reset_index(drop=True)


def judge(row: pd.Series) -> str:
    """One estimator under one scenario: holds up, fails, or not settled (see the module); the
    tests against the targets are the study's own (method_study.targets)."""
    if row["reps"] < MIN_REPS:
        return UNSETTLED
    t = targets(row)
    if t.bias_distinguishable or t.coverage == "below":
        return FAILS
    target_se = np.sqrt(NOMINAL_COVERAGE * (1 - NOMINAL_COVERAGE) / row["reps"])
    return HOLDS if Z * target_se <= SETTLED else UNSETTLED


def judgements(validation: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and interval estimator: the judgement, with the numbers behind it."""
    rows = interval_rows(validation)
    out = rows[TABLE_COLUMNS].copy()
    out["judgement"] = [judge(r) for _, r in rows.iterrows()]
    return out


def _why(row: pd.Series) -> str:
    """The numbers behind a failure, each with its Monte Carlo error."""
    return (
        f"{row['estimator']} (bias {row['bias']:+.3f} ± {row['bias_mcse']:.3f}, "
        f"coverage {100 * row['coverage']:.1f}% ± {100 * row['coverage_mcse']:.1f})"
    )


def scenario_sentence(scenario: str, judged: pd.DataFrame) -> str:
    """One scenario in words: what holds up, what fails (with its numbers), what is not settled."""
    parts = []
    for verdict, show in ((HOLDS, str), (FAILS, None), (UNSETTLED, str)):
        hit = judged[judged["judgement"] == verdict]
        if len(hit):
            names = [_why(r) if show is None else r["estimator"] for _, r in hit.iterrows()]
            parts.append(f"{verdict}: {', '.join(names)}")
    return f"**{scenario}** — " + "; ".join(parts) + "."


def pretrend_power(validation: pd.DataFrame) -> str:
    """The placebo tests' rejection rate at 5% under `pretrend` (their power to see a pre-trend)
    beside the same under `baseline` (their false-alarm rate), each with its Monte Carlo SE;
    empty if either scenario is missing."""
    rows = validation[validation["estimator"].str.startswith("placebo")]
    rows = rows.set_index(["scenario", "estimator"])
    if not {"pretrend", "baseline"} <= set(rows.index.get_level_values(0)):
        return ""

    def rate(scenario: str, estimator: str) -> str:
        r = rows.loc[(scenario, estimator)]
        return f"{100 * r['rejection_rate']:.1f}% ± {100 * r['rejection_rate_mcse']:.1f}"

    names = list(dict.fromkeys(rows.loc["pretrend"].index))
    parts = [f"{n} {rate('pretrend', n)} (baseline {rate('baseline', n)})" for n in names]
    return (
        "Power of the pre-trend checks: the placebo breaks reject at 5% under pretrend (a "
        "dose-correlated trend) in " + "; ".join(parts) + " of replicates."
    )


def summary(validation: pd.DataFrame) -> Prose:
    """Which estimators hold up under which scenario, in words, with the rule that decided."""
    judged = judgements(validation)
    reps = int(judged["reps"].min()) if len(judged) else 0
    target_se = np.sqrt(NOMINAL_COVERAGE * (1 - NOMINAL_COVERAGE) / max(reps, 1))
    lines = [scenario_sentence(s, g) for s, g in judged.groupby("scenario", sort=False)]
    rule = (
        f"An estimator *fails* where its bias is distinguishable from 0 or its 95% interval "
        f"coverage is below 95% beyond Monte Carlo error (± is one Monte Carlo SE); it *holds up* "
        f"where neither is true and the study could see a {100 * SETTLED:.0f}-point coverage "
        f"shortfall. At {reps} replicates a method with exactly 95% coverage lands within "
        f"±{100 * Z * target_se:.1f} points of it"
    )
    if reps < MIN_REPS:
        rule += (
            f"; below {MIN_REPS} replicates nothing is judged, and these rows only show the table's shape."
        )
    elif Z * target_se > SETTLED:
        rule += ", too wide to settle anything that does not fail outright."
    else:
        rule += "."
    power = pretrend_power(validation)
    return Prose(f"{rule}\n\n{bullets(lines)}" + (f"\n\n{power}" if power else ""))


def scenario_table(validation: pd.DataFrame) -> Table:
    """Scenario x estimator for the interval estimators, each figure beside its Monte Carlo SE."""
    return people_table(
        judgements(validation),
        caption="Interval estimators by scenario (GENERATED DATA); ± columns are Monte Carlo SEs",
    )


def study(results: str, reps: int, seed: int, link_slope: float, names: str = "all") -> pd.DataFrame:
    """The validation table to show: a full run's method-study table if `results` names one, else a
    small study of the named scenarios ('all' or names separated by commas) run here."""
    if results:
        return pd.read_csv(results)
    chosen = scenarios.names() if names == "all" else [n.strip() for n in names.split(",")]
    return run_scenarios(chosen, reps, seed, {"link_slope": link_slope}, jobs=1)


def opening(validation: pd.DataFrame) -> Prose:
    """The banner and the primary estimator under the first scenario (the baseline, when run)."""
    first = validation[validation["scenario"] == validation["scenario"].iloc[0]]
    truth = float(first.loc[first["estimator"] == "primary", "truth"].iloc[0])
    return sections.validation_summary(first, int(first["reps"].iloc[0]), truth)
