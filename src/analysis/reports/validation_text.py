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

The method page shows the committed tables in docs/validation/ (`read_study`), each with its
replicates, its Monte Carlo errors and the command that made it; a coverage or rejection rate
from fewer than `MIN_RATE_REPS` replicates is blanked, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import outputs
from analysis.errors import InputError
from analysis.reports import plots, sections, site
from analysis.reports.display import Prose, Table, bullets, people_table
from analysis.stats import method_study
from analysis.stats.method_study import NOMINAL_COVERAGE, Z, targets

SETTLED = 0.02  # the coverage error a study must be able to see before a method "holds up"
MIN_REPS = 20  # below this the Monte Carlo SEs are themselves too rough to judge anything
# A coverage or rejection rate from fewer replicates is never shown: at 100 a 95% coverage is
# known to ±4.3 points (1.96 Monte Carlo SEs), and at the 2 or 20 of a quick run "100%
# coverage" says nothing. The rows keep their bias, which carries its own Monte Carlo error.
MIN_RATE_REPS = 100
RATE_COLUMNS = ("coverage", "coverage_mcse", "rejection_rate", "rejection_rate_mcse")
HOLDS, FAILS, UNSETTLED = "holds up", "fails", "not settled"
_OLD_GENERATOR = (
    "a record, not the methods as they now run: made by the generator before commit 0513991 "
    "(one route, no dose-driven 2020 jump, eight scenarios), with each year's recorded basis "
    "counted a quarter after its own end, and not rerun since"
)


def _twin(suffix: str) -> str:
    """The name of a table beside the catalogue's VALIDATION: 'validation{suffix}.csv'."""
    return outputs.VALIDATION.relpath().replace(".csv", f"{suffix}.csv")


# Committed tables kept as a record of an earlier generator or count, not of the methods as they
# now run: the page says so beside each, and judges and draws only the others.
SUPERSEDED = {
    _twin(""): f"{_OLD_GENERATOR}; {_twin('_republication')}, where present, is its rerun",
    _twin("_null"): _OLD_GENERATOR,
    _twin("_primary"): _OLD_GENERATOR,
    _twin("_primary_null"): _OLD_GENERATOR,
    _twin("_primary_5000"): _OLD_GENERATOR,
    _twin("_headline"): (
        "a record: the headline with each year's recorded basis counted a quarter after its own "
        "end and shoplifting alone as the negative control's comparison; the pages read "
        f"{sections.HEADLINE_STUDY[-1]}, made under a republication's count with the comparison set"
    ),
}
# the columns of the scenario x estimator table, each figure beside its Monte Carlo error: the
# page's columns (sections.VALIDATION_SHOWN) less what the summary leaves to the full table
TABLE_COLUMNS = [c for c in sections.VALIDATION_SHOWN if c not in ("parameter", "mean_estimate", "verdict")]


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


@dataclass(frozen=True)
class StudyTable:
    """One committed method-study table (`validate-methods` wrote it) with the command that made
    it, its coverage and rejection rates from fewer than MIN_RATE_REPS replicates blanked."""

    name: str  # the file's name (the catalogue's VALIDATION, or a twin of it)
    table: pd.DataFrame
    command: list[str]  # the lines of its *_command.txt: the command, then version and seeds
    thin_rows: int  # rows whose rates were blanked (fewer than MIN_RATE_REPS replicates)

    @property
    def superseded(self) -> str:
        """Why the table is kept as a record only ('' for a current table)."""
        return SUPERSEDED.get(self.name, "")

    @property
    def primary_battery(self) -> bool:
        """Whether it holds the primary link estimator alone (`--battery primary`)."""
        return set(self.table["estimator"]) == {"primary"}


NOT_HERE = (
    "The method study's committed tables are in docs/validation/ of the stalking-outcomes source "
    "repository, which is not installed with the package, and no docs/validation/ was found here. "
    "Run from the project folder, or set this notebook's `folder` parameter to a folder "
    "`stalking-outcomes validate-methods --out` wrote."
)


def study_folder(folder: str = "") -> Path | None:
    """The folder of method-study tables: `folder` if given (InputError if it is not a folder),
    else the project's docs/validation/, found as the methods page finds docs/methods.md (the
    current folder, else the source checkout): None for an installed package run elsewhere."""
    if not folder:
        return site.project_file("docs", "validation")
    if not Path(folder).is_dir():
        raise InputError(f"no method-study tables at {folder}: it is not a folder. {NOT_HERE}")
    return Path(folder)


def _order(path: Path) -> tuple[bool, int, str]:
    """Current tables before records (`SUPERSEDED`); within each, the full battery first (its
    rerun under a republication's count before it), then its null twin, then the others by name."""
    lead = [_twin("_republication"), _twin("_republication_null"), _twin(""), _twin("_null")]
    return (path.name in SUPERSEDED, lead.index(path.name) if path.name in lead else len(lead), path.name)


def without_thin_rates(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its coverage and rejection rates (and their Monte Carlo errors) blanked
    where they rest on fewer than MIN_RATE_REPS replicates."""
    out = table.copy()
    thin = out["reps"] < MIN_RATE_REPS
    out.loc[thin, list(RATE_COLUMNS)] = np.nan
    if "verdict" in out.columns and thin.any():
        # the verdict's words would restate the blanked rates: it is given for the bias alone
        out.loc[thin, "verdict"] = [method_study.verdict(r) for _, r in out[thin].iterrows()]
    return out


def thin_note(table: StudyTable) -> str:
    """What was blanked and why, with the Monte Carlo error that made it too rough ('' if nothing)."""
    if not table.thin_rows:
        return ""
    reps = int(table.table.loc[table.table["reps"] < MIN_RATE_REPS, "reps"].min())
    band = 100 * Z * np.sqrt(NOMINAL_COVERAGE * (1 - NOMINAL_COVERAGE) / reps)
    return (
        f"Coverage and rejection rates are not shown for {table.thin_rows} row(s) with fewer than "
        f"{MIN_RATE_REPS} replicates (as few as {reps}): there a method with exactly 95% coverage "
        f"would land within ±{band:.1f} points of it, 95 times in 100."
    )


def read_study(folder: str = "") -> list[StudyTable]:
    """Every method-study table in the folder (validation*.csv, not the replicates), each with
    its command; rates from too few replicates blanked (`without_thin_rates`). None at all (no
    docs/validation/ to be found, `study_folder`) when no folder was named and none is found."""
    where = study_folder(folder)
    if where is None:  # as the methods page without docs/: the page says where the tables are
        return []
    found = []
    for path in sorted(where.glob("validation*.csv"), key=_order):
        if path.name == outputs.VALIDATION_REPLICATES.relpath():  # every replicate, not a table of results
            continue
        table = pd.read_csv(path)
        command = path.with_name(f"{path.stem}_command.txt")
        lines = command.read_text(encoding="utf-8").splitlines() if command.exists() else []
        thin = int((table["reps"] < MIN_RATE_REPS).sum())
        found.append(StudyTable(path.name, without_thin_rates(table), [x for x in lines if x.strip()], thin))
    if not found:
        raise InputError(f"{where} holds no method-study table (validation*.csv).")
    return found


def _reps_text(table: pd.DataFrame) -> str:
    """'500 replicates', or '40 to 2,000 replicates' when the rows differ."""
    low, high = int(table["reps"].min()), int(table["reps"].max())
    return f"{low:,} replicates" if low == high else f"{low:,} to {high:,} replicates"


def opening(study: list[StudyTable]) -> Prose:
    """The banner and, from each current table (each table, if every one is a record), the
    primary estimator under the baseline scenario (or the table's first), with its replicates
    and Monte Carlo errors."""
    rows = []
    current = [t for t in study if not t.superseded] or study
    for t in current:
        primary = t.table[t.table["estimator"] == "primary"]
        if primary.empty:
            continue
        base = primary[primary["scenario"] == "baseline"] if "scenario" in primary else primary
        rows.append((base if len(base) else primary).iloc[[0]].assign(table=t.name))
    if not study:
        return Prose(NOT_HERE)
    chosen = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return sections.validation_summary(chosen, [t.name for t in study])


def holds_up(study: list[StudyTable]) -> Prose:
    """Which estimators hold up under which scenario (`summary`), for each table of the full
    battery (every estimator), headed by its file and the true value of its primary estimator."""
    parts = []
    records = [t.name for t in study if t.superseded and not t.primary_battery]
    for t in study:
        if t.primary_battery or t.superseded:
            continue
        scored = interval_rows(t.table)
        primary = scored.query("estimator == 'primary'")
        # the primary's parameter as the table names it (link_slope, or the link total)
        truth = f", true {primary['parameter'].iloc[0]} {primary['truth'].iloc[0]:g}" if len(primary) else ""
        note = thin_note(t)
        if scored.empty:  # every coverage blanked (or none measured): nothing to judge by
            parts.append(f"### {t.name} ({_reps_text(t.table)})\n\nNothing is judged here. {note}".rstrip())
            continue
        parts.append(
            f"### {t.name} ({_reps_text(t.table)}{truth})\n\n{summary(t.table).markdown}"
            + (f"\n\n{note}" if note else "")
        )
    if records:
        parts.append(
            f"Not judged here, being records of an earlier generator or count (each says which below): "
            f"{', '.join(records)}."
        )
    return Prose("\n\n".join(parts) or "No table of the full battery (every estimator) here.")


def study_figure(study: list[StudyTable]) -> plots.Shown | Prose:
    """Bias and coverage by scenario with their Monte Carlo error bars, for the first current
    table with interval estimators in the study's order (the full battery's rerun when present;
    a record, said so, only when there is no current one)."""
    full = [t for t in study if not t.primary_battery and not interval_rows(t.table).empty]
    if not full:
        return Prose("No table of the full battery (every estimator) here to draw.")
    chosen = min(full, key=lambda t: bool(t.superseded))  # the study's order within each kind
    record = " (a record of an earlier generator or count: see its table below)" if chosen.superseded else ""
    return plots.show(
        plots.validation_plot(judgements(chosen.table)),
        alt=f"Bias and 95% interval coverage of each interval estimator under each scenario in "
        f"{chosen.name}{record}, with Monte Carlo error bars (generated data)",
    )


def study_table(table: StudyTable) -> list[Prose | Table]:
    """One committed table as the page shows it: what it is and the command that made it, any
    blanked rates said, then every row with its replicates and Monte Carlo errors."""
    command = "\n".join(f"    {line}" for line in table.command) or "    (no command file beside it)"
    head = f"### {table.name}\n\n{len(table.table)} rows, {_reps_text(table.table)}; made by:\n\n{command}"
    if table.superseded:
        head = head.replace("\n\n", f"\n\n**Superseded**: {table.superseded}.\n\n", 1)
    note = thin_note(table)
    return [
        Prose(head + (f"\n\n{note}" if note else "")),
        sections.validation_table(table.table, caption=f"{table.name} (GENERATED DATA)"),
    ]


def study_tables(study: list[StudyTable]) -> list[Prose | Table]:
    """Every table of the study, in order (`study_table` each)."""
    return [shown for t in study for shown in study_table(t)]
