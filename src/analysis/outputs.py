"""The output catalogue: every table, figure, notebook, page and record the package writes into
an output folder (`outputs/<source>/`, or `run --out`), each with its path pattern, a
description for people, its columns with units (tables), and how to save and load it.

No other module spells an output's file name: the runner, the site, the manifest, the national
analysis, the notebooks' helpers and the tests all go through this catalogue, and a test fails
if a file appears in an output folder that the catalogue does not describe.

A path pattern is relative to the output folder and may hold fields in braces: `year`,
`year_from`, `year_to` (financial years, given as "2020/21" and written "2020-21"), `slug` (a
force's slug), `template` (a notebook template's name), `report` (a report's name,
"national/<template>" or "forces/<slug>"), `figure` (a figure's name) and `stem` (a failed
notebook's file stem).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.domain import periods

# What each field of a path or column pattern matches.
_FIELDS = {
    "year": r"\d{4}-\d{2}",
    "year_from": r"\d{4}-\d{2}",
    "year_to": r"\d{4}-\d{2}",
    "slug": r"[a-z0-9]+(?:-[a-z0-9]+)*",
    "template": r"[a-z][a-z_]*",
    "report": r"(?:national/[a-z][a-z_]*|forces/[a-z0-9]+(?:-[a-z0-9]+)*)",
    "figure": r"[a-z][a-z_]*",
    "stem": r"[a-z0-9][a-z0-9_-]*",
    # column patterns
    "level": r"\d+(?:\.\d+)?",
    "method": r"phi|tau2",
    "fy": r"\d{4}/\d{2}",
}
_YEAR_FIELDS = ("year", "year_from", "year_to")


@cache  # every file of a site is matched against every pattern
def _regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", pattern)
    rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>{_FIELDS[p]})" for i, p in enumerate(parts))
    return re.compile(rf"^{rx}$")


# --- columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a table: its name (a pattern where it holds a field), unit and meaning."""

    name: str
    unit: str
    description: str

    def matches(self, name: str) -> bool:
        return bool(_regex(self.name).match(name))


_C = Column
# The rates on each basis, with the count they share out and their denominator (the counts are
# described below); every rate has a 95% interval and names its denominator.
_RATES = {
    "charge_rate_closed": "Share of investigations closed in the year that ended in a charge or summons (type 1)",
    "evidential_difficulties_rate_closed": "Share of investigations closed in the year closed for evidential difficulties (types 14-16)",
    "no_suspect_rate_closed": "Share of investigations closed in the year closed with no suspect identified (type 18)",
    "charge_rate_recorded": "Share of the offences recorded in the year charged or summonsed by the time the file was published",
    "not_yet_assigned_rate_recorded": "Share of the offences recorded in the year with no outcome yet when the file was published (type 0)",
}
_RATE_COLUMNS = [
    c
    for name, words in _RATES.items()
    for c in (
        _C(name, "proportion (0-1)", words),
        _C(f"{name}_low", "proportion (0-1)", f"Lower end of the 95% interval of {name}"),
        _C(f"{name}_high", "proportion (0-1)", f"Upper end of the 95% interval of {name}"),
        _C(f"{name}_denominator", "column name", f"The column {name} is a share of"),
    )
]

# One meaning per column name, whichever table it is in.
COLUMNS: tuple[Column, ...] = (
    _C("financial_year", "financial year", "April to March, written 2020/21"),
    _C("force", "name", "Police force (Home Office spelling), or England and Wales"),
    _C("force_code", "ONS code", "ONS police force area code (empty for British Transport Police)"),
    _C("slug", "text", "The force's name as used in file names"),
    _C("offence_code", "Home Office code", "Offence code (8Q stalking, 8L harassment, ...)"),
    _C("outcomes_closed", "count", "Investigations closed in the year (outcome types 1-22, closed basis)"),
    _C("charged_closed", "count", "Closed in the year with a charge or summons (type 1, closed basis)"),
    _C(
        "evidential_difficulties_closed",
        "count",
        "Closed in the year for evidential difficulties (types 14-16, closed basis)",
    ),
    _C("no_suspect_closed", "count", "Closed in the year with no suspect identified (type 18, closed basis)"),
    _C(
        "offences_recorded_outcomes_file",
        "count",
        "Offences recorded in the year as the outcomes file counts them (recorded basis, types 0-22)",
    ),
    _C("not_yet_assigned_recorded", "count", "Offences recorded in the year with no outcome yet (type 0)"),
    _C(
        "charged_recorded",
        "count",
        "Offences recorded in the year charged or summonsed so far (recorded basis)",
    ),
    _C("quarters_with_outcomes", "quarters (0-4)", "Quarters of the year with outcomes published"),
    _C("quarters_with_recorded", "quarters (0-4)", "Quarters of the year with recorded offences published"),
    _C("negative_counts", "count", "Published cells with negative counts (corrections) in the year"),
    _C("offences_recorded", "count", "Offences recorded in the year (police force area tables)"),
    _C("forces_with_outcomes", "count", "Forces with outcomes published in the year"),
    _C("forces_complete_year", "count", "Forces with all four quarters of outcomes published"),
    *_RATE_COLUMNS,
    _C("interval", "text", "Interval method and level"),
    _C("complete_year", "true/false", "All four quarters of the year are published"),
    _C("data_source", "text", "Where the figures come from (Home Office data, or GENERATED DEMO DATA)"),
    _C("sentence", "text", "The sentence a local story would quote, computed from the row"),
    # funnels
    _C("n", "count", "Denominator: investigations closed in the year"),
    _C(
        "count", "count", "Numerator: closed with a charge or summons (figures to quote: the measure's count)"
    ),
    _C("rate", "proportion (0-1)", "count / n"),
    _C("ci_low", "as the estimate", "Lower end of the 95% interval"),
    _C("ci_high", "as the estimate", "Upper end of the 95% interval"),
    _C("z", "z-score", "Standardised difference from the target"),
    _C("z_winsorised", "z-score", "z with the 10% most extreme at each end pulled in (for overdispersion)"),
    _C("lower_{level}%", "proportion (0-1)", "Lower exact binomial funnel limit at that level"),
    _C("upper_{level}%", "proportion (0-1)", "Upper exact binomial funnel limit at that level"),
    _C(
        "lower_{level}%_{method}", "proportion (0-1)", "Lower limit allowing for overdispersion (phi or tau2)"
    ),
    _C(
        "upper_{level}%_{method}", "proportion (0-1)", "Upper limit allowing for overdispersion (phi or tau2)"
    ),
    _C("p_value", "probability", "Two-sided p-value"),
    _C("p_value_phi", "probability", "Two-sided p-value against the phi-inflated limits"),
    _C("p_value_tau2", "probability", "Two-sided p-value against the random-effects (tau2) limits"),
    _C("direction_exact", "high/low/-", "Side of the exact limits the force falls outside, if any"),
    _C("level_exact", "level", "The widest exact limit the force falls outside"),
    _C("direction_phi", "high/low/-", "Side of the phi limits the force falls outside, if any"),
    _C("level_phi", "level", "The widest phi limit the force falls outside"),
    _C("direction_tau2", "high/low/-", "Side of the random-effects limits the force falls outside, if any"),
    _C("level_tau2", "level", "The widest random-effects limit the force falls outside"),
    _C(
        "method",
        "text",
        "Method (limits: exact, phi, tau2; models: estimator and inference; nowcast: editions or one_edition)",
    ),
    _C("level", "level", "Limit level (0.95, 0.998)"),
    _C("precision", "1/SE", "Precision at which the limit is drawn"),
    _C("lower", "as the measure", "Lower limit"),
    _C("upper", "as the measure", "Upper limit"),
    _C("n_from", "count", "Investigations closed in the earlier year"),
    _C("n_to", "count", "Investigations closed in the later year"),
    _C("rate_from", "proportion (0-1)", "Charge rate in the earlier year"),
    _C("rate_to", "proportion (0-1)", "Charge rate in the later year"),
    _C("change", "as the estimate", "Difference (later minus earlier, or without minus with)"),
    _C("se", "as the measure", "Standard error"),
    _C("label", "text", "Which funnel (a year, or a change between years)"),
    _C("reason", "text", "Why the force-year cannot be compared (analysis.domain.rules)"),
    _C("source_file", "file name", "The published file the force-year's rows were read from"),
    _C("target", "proportion (0-1)", "The funnel's target rate"),
    _C("target_kind", "text", "How the target was chosen (pooled, or given)"),
    _C("units", "count", "Forces in the funnel"),
    _C("levels_label", "text", "The funnel's limit levels"),
    _C("adjust", "text", "Multiplicity adjustment of the levels, if any"),
    _C("winsor", "fraction", "Fraction winsorised at each end before estimating overdispersion"),
    _C("phi", "ratio", "Overdispersion factor phi (1: none)"),
    _C("phi_chi2", "chi-squared", "Test statistic for phi"),
    _C("phi_df", "degrees of freedom", "Degrees of freedom of the phi test"),
    _C("phi_p_value", "probability", "p-value of the phi test"),
    _C("tau2", "logit scale variance", "Between-force variance (DerSimonian-Laird)"),
    _C("scale", "text", "Scale the limits are computed on"),
    _C("total_count", "count", "Sum of the numerators"),
    _C("total_n", "count", "Sum of the denominators"),
    _C("excluded", "text", "Forces left out of the funnel, and why"),
    _C("sensitivity", "text", "How the flags change between methods, in words"),
    # shrinkage
    _C("raw_rate", "proportion (0-1)", "The force's own charge rate"),
    _C("raw_low", "proportion (0-1)", "Lower end of its 95% interval"),
    _C("raw_high", "proportion (0-1)", "Upper end of its 95% interval"),
    _C("shrinkage_factor", "fraction (0-1)", "How far the rate is pulled towards the overall rate"),
    _C("shrunk_rate", "proportion (0-1)", "Shrunken (hierarchical model) charge rate"),
    _C("shrunk_low", "proportion (0-1)", "Lower end of its 95% interval"),
    _C("shrunk_high", "proportion (0-1)", "Upper end of its 95% interval"),
    _C("rank_point", "rank (1 = highest)", "Rank of the shrunken rate"),
    _C("rank_median", "rank", "Median rank over simulations"),
    _C("rank_low", "rank", "Lower end of the 95% rank interval"),
    _C("rank_high", "rank", "Upper end of the 95% rank interval"),
    _C("prob_top_quarter", "probability", "Probability the force is in the top quarter"),
    _C("prob_bottom_quarter", "probability", "Probability the force is in the bottom quarter"),
    _C("summary_method", "text", "Shrinkage method"),
    _C("summary_tau2", "logit scale variance", "Between-force variance of the year"),
    _C("summary_tau", "logit scale SD", "Between-force standard deviation of the year"),
    _C("summary_rankability", "fraction (0-1)", "Share of the spread that is real, not chance"),
    _C("summary_pooled_rate", "proportion (0-1)", "The year's pooled charge rate"),
    # link models
    _C("estimator", "text", "Estimator"),
    _C("specification", "text", "What the model holds fixed and how the dose enters"),
    _C("estimate", "as the parameter", "The estimate"),
    _C("n_forces", "count", "Forces (clusters) in the fit"),
    _C("n_obs", "count", "Observations in the fit"),
    _C("note", "text", "What to bear in mind"),
    _C("reference", "true/false", "The reference year (fixed at 0)"),
    _C("post", "true/false", "From April 2020 on"),
    _C("charged", "count", "Charged or summonsed (closed basis)"),
    _C("closed", "count", "Investigations closed (closed basis)"),
    _C("assigned_recorded", "count", "Offences recorded in the year with an outcome so far"),
    _C("offences_recorded_basis", "count", "Offences recorded in the year (recorded basis, types 0-22)"),
    _C("quarters", "quarters (0-4)", "Quarters published"),
    _C("dose", "log ratio", "Log growth in recorded offences (of the offence analysed), 2019/20 to 2020/21"),
    _C(
        "change_logit",
        "log-odds",
        "Change in the pooled logit charge rate from the earlier to the later years",
    ),
    _C("weight", "1/log-odds²", "Inverse-variance weight of the change (the first-difference estimator's)"),
    _C("closed_post", "count", "Investigations closed in the later years"),
    _C("years_from", "financial years", "The earlier years, pooled (2018/19+2019/20)"),
    _C("years_to", "financial years", "The later years, pooled (2020/21+2021/22)"),
    _C("dose_c", "log ratio", "The dose centred on its mean"),
    _C("counting_rule_period", "text", "Counting-rule period the year falls in"),
    _C("not_yet_assigned_share", "proportion (0-1)", "Share of the year's offences with no outcome yet"),
    _C("charged_recorded_mature", "count", "Charges among offences recorded in mature quarters"),
    _C("assigned_recorded_mature", "count", "Outcomes among offences recorded in mature quarters"),
    _C("recorded_quarters_mature", "quarters (0-4)", "Quarters old enough to count as mature"),
    _C("recorded_basis_censored", "true/false", "Recent quarters still open on the recorded basis"),
    _C(
        "closed_from_{fy}",
        "count",
        "Investigations closed in the year whose offence was recorded in that year",
    ),
    _C("post_cohort_share", "proportion (0-1)", "Share of the year's closures recorded from April 2020 on"),
    _C(
        "cohort_follow_up",
        "quarters",
        "How long the year's last quarter of offences had been followed when the recorded basis was "
        "counted (a republication's count: 1 for the last year, 5 for the one before, ...)",
    ),
    _C("usable", "true/false", "The row enters the link models"),
    _C("observed_rate_post", "proportion (0-1)", "The force's charge rate since April 2020"),
    _C("fitted_rate_post", "proportion (0-1)", "The national model's prediction for the force"),
    _C("pearson_residual_post", "z-score", "Pearson residual of the force since April 2020"),
    _C("years_before", "count", "The force's years before April 2020 in the link model"),
    _C("years_after", "count", "The force's years from April 2020 in the link model"),
    _C("raw_gap", "log odds", "The force's own gap from the national link, before pooling"),
    _C(
        "raw_gap_var",
        "log odds squared",
        "The raw gap's sampling variance (chance, force-year spread, slope)",
    ),
    _C("line", "log odds", "The national link's change in charge log odds at the force's dose"),
    _C("gap", "log odds", "The force's gap from the national link, pooled (hierarchical model)"),
    _C("gap_low", "log odds", "Lower end of the gap's 95% interval"),
    _C("gap_high", "log odds", "Upper end of the gap's 95% interval"),
    _C("gap_shrinkage", "fraction (0-1)", "How far the force's gap is pulled towards the line"),
    _C(
        "own_change",
        "log odds",
        "The force's own change in charge log odds after April 2020, against all forces",
    ),
    _C("own_change_low", "log odds", "Lower end of the own change's 95% interval"),
    _C("own_change_high", "log odds", "Upper end of the own change's 95% interval"),
    _C("gap_tau", "log odds SD", "Spread of the forces' gaps at the average dose"),
    _C(
        "gap_tau_slope",
        "log odds SD per unit dose",
        "How the gaps' spread grows with distance from the average dose",
    ),
    _C("gap_sigma_year", "log odds SD", "Force-year spread in charging beyond chance"),
    _C("estimate_without", "log odds per unit dose", "The primary estimate with the force left out"),
    _C("point", "text", "Which point of the curve (extremes, quartiles)"),
    _C("growth", "ratio", "Growth in recording at that dose (exp(dose))"),
    _C("log_odds", "log odds", "Charge log odds against the mean dose"),
    _C("pp", "percentage points", "The same as a change in the charge rate"),
    _C("pp_low", "percentage points", "Lower end of its 95% interval"),
    _C("pp_high", "percentage points", "Upper end of its 95% interval"),
    _C("base_rate", "proportion (0-1)", "The national charge rate the points are measured from"),
    _C("reference_dose", "log ratio", "The dose the curve is measured from"),
    _C("third", "text", "Dose third (bottom, middle, top)"),
    _C("dose_low", "log ratio", "Smallest dose in the third"),
    _C("dose_median", "log ratio", "Median dose in the third"),
    _C("dose_high", "log ratio", "Largest dose in the third"),
    # decomposition
    _C("unit", "text", "What is decomposed (forces, or offences)"),
    _C("component", "text", "Between (mix), within (rates) or total"),
    _C("year_from", "financial year", "The earlier year"),
    _C("year_to", "financial year", "The later year"),
    _C("share_of_change", "fraction", "The component's share of the total change"),
    _C("annualised", "true/false", "Part-year figures scaled to a year"),
    _C("present", "text", "Years the force has outcomes in"),
    _C("quarters_from", "quarters (0-4)", "Quarters published in the earlier year"),
    _C("quarters_to", "quarters (0-4)", "Quarters published in the later year"),
    _C("share_from", "proportion (0-1)", "The force's share of national closures, earlier year"),
    _C("share_to", "proportion (0-1)", "The force's share of national closures, later year"),
    _C("between", "proportion (0-1)", "Change from the force's changing share (mix)"),
    _C("within", "proportion (0-1)", "Change from the force's own rate"),
    _C("total", "proportion (0-1)", "between + within"),
    # figures to quote (analysis.reports.quote)
    _C("year", "financial year", "April to March, written 2020/21"),
    _C("measure", "text", "recorded, closed, charged or evidential_difficulties"),
    _C("denominator", "count", "What the count is a share of (investigations closed in the year)"),
    _C("percent", "per cent", "count / denominator x 100, one decimal; empty below the small-number rule"),
    _C("england_and_wales_percent", "per cent", "The same share for England and Wales"),
    _C("recorded_from", "count", "Offences recorded in the earlier (complete) year"),
    _C("recorded_to", "count", "Offences recorded in the later (complete) year"),
    _C("rise", "ratio", "recorded_to / recorded_from"),
    # the per-force CSV
    _C("table", "file name", "The national table the row comes from"),
    # what changed between two data editions (analysis.stats.editions)
    _C("quarter", "quarter (1-4)", "Financial quarter (1 = April to June); empty for a whole year's figure"),
    _C(
        "figure",
        "column name",
        "The figure that moved, named as the force_year.csv column it is: offences_recorded, "
        "outcomes_closed, charged_closed, evidential_difficulties_closed or charged_recorded",
    ),
    _C(
        "change_kind",
        "text",
        "revised (a figure of a quarter both editions publish moved), matured (a recorded-basis "
        "count rose, as outcomes assigned since would make it), quarter_added or quarter_withdrawn",
    ),
    _C("old_value", "count", "The figure in the earlier edition (empty: not published in it)"),
    _C("new_value", "count", "The figure in the later edition (empty: not published in it)"),
    _C("difference", "count", "new_value - old_value (a quarter added or withdrawn: its whole value)"),
    _C(
        "small",
        "true/false",
        "A revision too small to matter: under 3 and under 1% of the old value (printed as one line)",
    ),
    _C("edition_from", "date (YYYY-MM-DD)", "The earlier data edition's publication date"),
    _C("edition_to", "date (YYYY-MM-DD)", "The later data edition's publication date"),
    # funnel positions and rank intervals from one edition to the next (analysis.stats.editions)
    _C(
        "funnel_from",
        "category",
        "Funnel position against the random-effects limits on the earlier edition: within, low "
        "(beyond 95%), high (beyond 99.8%), ... (empty: not compared on it)",
    ),
    _C("funnel_to", "category", "The same on the later edition"),
    _C(
        "rank_low_from",
        "rank",
        "Lower end of the 95% rank interval on the earlier edition (1 = highest rate)",
    ),
    _C("rank_high_from", "rank", "Upper end of the 95% rank interval on the earlier edition"),
    _C("forces_ranked_from", "count", "Forces ranked on the earlier edition"),
    _C("rank_low_to", "rank", "Lower end of the 95% rank interval on the later edition"),
    _C("rank_high_to", "rank", "Upper end of the 95% rank interval on the later edition"),
    _C("forces_ranked_to", "count", "Forces ranked on the later edition"),
    _C("funnel_moved", "true/false", "The funnel position differs between the two editions"),
    _C(
        "rank_moved",
        "true/false",
        "Either end of the rank interval differs (or it is ranked on one edition only)",
    ),
    # the nowcast (analysis.stats.nowcast)
    _C("charged_expected", "count", "Charges the year's offences are expected to end with (projection)"),
    _C("charged_expected_low", "count", "Lower end of its 95% interval (never below charged_recorded)"),
    _C("charged_expected_high", "count", "Upper end of its 95% interval"),
    _C(
        "charge_rate_expected",
        "proportion (0-1)",
        "Expected final charge rate on the recorded basis: charged_expected / offences_recorded_outcomes_file",
    ),
    _C("charge_rate_expected_low", "proportion (0-1)", "Lower end of its 95% interval"),
    _C("charge_rate_expected_high", "proportion (0-1)", "Upper end of its 95% interval"),
    _C("share_published", "proportion (0-1)", "charged_recorded / charged_expected: how much has matured"),
    _C(
        "force_multiplier",
        "ratio",
        "The force's pace of charging late against all forces', shrunk towards 1 (chain ladder only)",
    ),
    _C("editions_used", "count", "Editions the projection is made from (1: the one-edition method)"),
    _C("edition", "date (YYYY-MM-DD)", "The data edition the row describes (the latest held)"),
    # figure data: the numbers a chart draws, in the CSV beside its PNG
    _C("series", "text", "What the row draws: a legend entry, the forces' points, the limits or a line"),
    _C("flag", "text", "The legend entry a force's point is drawn under (outside which limits, if any)"),
    _C("x", "as the horizontal axis", "Where the row is drawn across (the file's description says how)"),
    _C("x_low", "as x", "Left end of the interval drawn around x"),
    _C("x_high", "as x", "Right end of the interval drawn around x"),
    _C("y", "as the vertical axis", "Where the row is drawn up (the file's description names the axis)"),
    _C("y_low", "as y", "Lower end of the interval drawn around y"),
    _C("y_high", "as y", "Upper end of the interval drawn around y"),
    _C("highlighted", "true/false", "The force the chart marks (the report's own force)"),
    _C("x_px", "pixels", "Where the point is in the PNG beside this file, from its left edge"),
    _C("y_px", "pixels", "Where the point is in the PNG beside this file, from its top edge"),
)


@cache
def column(name: str) -> Column | None:
    """The vocabulary entry of a column name (exact names first, then patterns)."""
    for c in COLUMNS:
        if c.name == name:
            return c
    return next((c for c in COLUMNS if "{" in c.name and c.matches(name)), None)


# --- outputs ---------------------------------------------------------------------------------

KINDS = ("table", "figure", "report", "page", "record", "internal")


@dataclass(frozen=True)
class Output:
    """One kind of file (or, for `internal`, folder) written into an output folder."""

    key: str
    pattern: str
    kind: str
    description: str
    columns: tuple[str, ...] = ()  # a table's columns, by vocabulary name (any order in the file)
    national: bool = False  # fitted once per run by the national analysis (tables/, figures/)

    @property
    def regex(self) -> re.Pattern[str]:
        return _regex(self.pattern)

    def relpath(self, **fields: str) -> str:
        """The path under the output folder, fields filled in (years may be given as 2020/21)."""
        given = {k: periods.fy_slug(v) if k in _YEAR_FIELDS else v for k, v in fields.items()}
        rel = self.pattern.format(**given)
        if not self.regex.match(rel):
            raise ValueError(f"{self.key}: {fields} does not fit {self.pattern}")
        return rel

    def path(self, out: Path | str, **fields: str) -> Path:
        """The file's path in output folder `out`."""
        return Path(out) / self.relpath(**fields)

    def described(self, rel: str) -> str:
        """The description of one file of this kind, its fields filled in (a year as 2020/21)."""
        fields = self.match(rel) or {}
        return self.description.format(
            **{k: v.replace("-", "/") if k in _YEAR_FIELDS else v for k, v in fields.items()}
        )

    def match(self, rel: str) -> dict[str, str] | None:
        """The fields of a path under the output folder, if it is one of these files."""
        m = self.regex.match(rel)
        return m.groupdict() if m else None

    def save(self, out: Path | str, data: Any, **fields: str) -> Path:
        """Write `data` (a DataFrame for a CSV, a JSON-able object for JSON, text or bytes
        otherwise) atomically into output folder `out`; return the path."""
        return self._write(self.path(out, **fields), data)

    def save_into(self, folder: Path | str, data: Any, **fields: str) -> Path:
        """Write `data` straight into `folder`, under the file's own name (a table written where
        the user asked, `tables --out`); return the path."""
        return self._write(Path(folder) / self.relpath(**fields).rsplit("/", 1)[-1], data)

    def _write(self, path: Path, data: Any) -> Path:
        from analysis.files import atomic_write, write_csv, write_json

        if self.pattern.endswith(".csv"):
            write_csv(data, path)
        elif self.pattern.endswith(".json"):
            write_json(data, path)
        elif isinstance(data, bytes):
            atomic_write(path, lambda tmp: tmp.write_bytes(data))
        else:
            atomic_write(path, lambda tmp: tmp.write_text(str(data), encoding="utf-8"))
        return path

    def load(self, out: Path | str, **fields: str) -> Any:
        """Read the file back: a DataFrame for a CSV, the object for JSON, text otherwise."""
        path = self.path(out, **fields)
        if self.pattern.endswith(".csv"):
            return pd.read_csv(path)
        if self.pattern.endswith(".json"):
            return json.loads(path.read_text(encoding="utf-8"))
        if self.pattern.endswith(".png"):
            return path.read_bytes()
        return path.read_text(encoding="utf-8")


_O = Output
_FORCE_YEAR_COLUMNS = (
    "financial_year",
    "force",
    "force_code",
    "offence_code",
    "outcomes_closed",
    "charged_closed",
    "evidential_difficulties_closed",
    "no_suspect_closed",
    "offences_recorded_outcomes_file",
    "not_yet_assigned_recorded",
    "charged_recorded",
    "quarters_with_outcomes",
    "negative_counts",
    "offences_recorded",
    "quarters_with_recorded",
    *(c.name for c in _RATE_COLUMNS),
    "interval",
    "complete_year",
    "data_source",
)
_FUNNEL_LIMIT_COLUMNS = (
    "lower_{level}%",
    "upper_{level}%",
    "lower_{level}%_{method}",
    "upper_{level}%_{method}",
)
_FLAG_COLUMNS = (
    "direction_exact",
    "level_exact",
    "direction_phi",
    "level_phi",
    "direction_tau2",
    "level_tau2",
)

# tables/: written by `tables` (the first three) and by the national analysis
FORCE_YEAR = _O(
    "force_year",
    "tables/force_year.csv",
    "table",
    "Every force and year: offences recorded, outcomes, and rates on both bases with intervals.",
    _FORCE_YEAR_COLUMNS,
    national=True,
)
NATIONAL_YEAR = _O(
    "national_year",
    "tables/national_year.csv",
    "table",
    "England and Wales by year: the same counts and rates as force_year.csv.",
    (
        *(
            c
            for c in _FORCE_YEAR_COLUMNS
            if c not in ("force_code", "quarters_with_recorded", "complete_year")
        ),
        "forces_with_outcomes",
        "forces_complete_year",
    ),
    national=True,
)
HEADLINES = _O(
    "headlines",
    "tables/headlines.csv",
    "table",
    "The headline year: each force's sentence and the numbers in it.",
    (
        "financial_year",
        "force",
        "slug",
        "offence_code",
        "offences_recorded",
        "offences_recorded_outcomes_file",
        "outcomes_closed",
        "evidential_difficulties_closed",
        "evidential_difficulties_rate_closed",
        "evidential_difficulties_rate_closed_low",
        "evidential_difficulties_rate_closed_high",
        "charged_closed",
        "charge_rate_closed",
        "charge_rate_closed_low",
        "charge_rate_closed_high",
        "quarters_with_outcomes",
        "interval",
        "data_source",
        "sentence",
    ),
    national=True,
)
FUNNEL = _O(
    "funnel",
    "tables/funnel_{year}.csv",
    "table",
    "Per force in {year}: charge rate, funnel limits and flags for each method.",
    (
        "financial_year",
        "force",
        "n",
        "count",
        "rate",
        "ci_low",
        "ci_high",
        "z",
        "z_winsorised",
        *_FUNNEL_LIMIT_COLUMNS,
        "p_value",
        "p_value_phi",
        "p_value_tau2",
        *_FLAG_COLUMNS,
        "data_source",
    ),
    national=True,
)
FUNNEL_LIMITS = _O(
    "funnel_limits",
    "tables/funnel_limits_{year}.csv",
    "table",
    "The funnel's control limits in {year} for each method and level, to draw it.",
    ("method", "level", "n", "lower", "upper", "data_source"),
    national=True,
)
FUNNEL_CHANGE = _O(
    "funnel_change",
    "tables/funnel_change_{year_from}_{year_to}.csv",
    "table",
    "Per force: change in charge rate from {year_from} to {year_to} against the funnel limits.",
    (
        "force",
        "n_from",
        "n_to",
        "rate_from",
        "rate_to",
        "change",
        "se",
        "precision",
        "z",
        "z_winsorised",
        *_FUNNEL_LIMIT_COLUMNS,
        *_FLAG_COLUMNS,
        "data_source",
    ),
    national=True,
)
FUNNEL_CHANGE_LIMITS = _O(
    "funnel_change_limits",
    "tables/funnel_change_{year_from}_{year_to}_limits.csv",
    "table",
    "The change funnel's control limits, to draw it.",
    ("method", "level", "precision", "lower", "upper", "data_source"),
    national=True,
)
FUNNEL_SUMMARY = _O(
    "funnel_summary",
    "tables/funnel_summary.csv",
    "table",
    "One line per funnel: overdispersion (phi, tau²) and how many forces each method flags.",
    (
        "label",
        "target",
        "target_kind",
        "units",
        "levels_label",
        "adjust",
        "winsor",
        "phi",
        "phi_chi2",
        "phi_df",
        "phi_p_value",
        "tau2",
        "scale",
        "total_count",
        "total_n",
        "excluded",
        "sensitivity",
        "rate_from",
        "rate_to",
        "data_source",
    ),
    national=True,
)
FIGURES_TO_QUOTE = _O(
    "figures_to_quote",
    "tables/figures_to_quote.csv",
    "table",
    "The figures to quote: per force (and England and Wales), year and measure, the count, its "
    "denominator, the share (none below the small-number rule), England and Wales beside it, and a "
    "copy-ready sentence.",
    (
        "force",
        "year",
        "measure",
        "count",
        "denominator",
        "percent",
        "england_and_wales_percent",
        "complete_year",
        "note",
        "sentence",
        "data_source",
    ),
    national=True,
)
RECORDING_RISE = _O(
    "recording_rise",
    "tables/recording_rise.csv",
    "table",
    "The rise in recorded offences across April 2020 per force and for England and Wales, between "
    "the complete years either side, named.",
    (
        "force",
        "year_from",
        "year_to",
        "recorded_from",
        "recorded_to",
        "rise",
        "note",
        "sentence",
        "data_source",
    ),
    national=True,
)
LEFT_OUT = _O(
    "left_out",
    "tables/left_out.csv",
    "table",
    "Force-years left out of a comparison (funnel, shrinkage, change funnel), with why and the file.",
    ("label", "force", "financial_year", "reason", "source_file", "data_source"),
    national=True,
)
SHRINKAGE = _O(
    "shrinkage",
    "tables/shrinkage.csv",
    "table",
    "Every year: raw and shrunken (hierarchical model) charge rates with rank intervals per force.",
    (
        "financial_year",
        "force",
        "n",
        "count",
        "raw_rate",
        "raw_low",
        "raw_high",
        "shrinkage_factor",
        "shrunk_rate",
        "shrunk_low",
        "shrunk_high",
        "rank_point",
        "rank_median",
        "rank_low",
        "rank_high",
        "prob_top_quarter",
        "prob_bottom_quarter",
        "summary_method",
        "summary_tau2",
        "summary_tau",
        "summary_rankability",
        "summary_pooled_rate",
        "data_source",
    ),
    national=True,
)
LINK_MODELS = _O(
    "link_models",
    "tables/link_models.csv",
    "table",
    "Every estimator of the link between the rise in recording and charge rates.",
    (
        "estimator",
        "specification",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "method",
        "n_forces",
        "n_obs",
        "note",
        "data_source",
    ),
    national=True,
)
LINK_MODEL = _O(
    "link_model",
    "tables/link_model.json",
    "table",
    "The primary link estimate, its sentence and caveats.",
    national=True,
)
EVENT_STUDY = _O(
    "event_study",
    "tables/event_study.csv",
    "table",
    "Dose-by-year coefficients of the link model, relative to 2019/20.",
    (
        "financial_year",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "reference",
        "post",
        "method",
        "data_source",
    ),
    national=True,
)
LINK_PANEL = _O(
    "link_panel",
    "tables/link_panel.csv",
    "table",
    "The force-year panel the link models are fitted to (charged, closed, dose).",
    (
        "force",
        "financial_year",
        "charged",
        "closed",
        "charged_recorded",
        "assigned_recorded",
        "offences_recorded_basis",
        "quarters",
        "dose",
        "dose_c",
        "post",
        "counting_rule_period",
        "not_yet_assigned_share",
        "charged_recorded_mature",
        "assigned_recorded_mature",
        "recorded_quarters_mature",
        "recorded_basis_censored",
        "closed_from_{fy}",
        "post_cohort_share",
        "cohort_follow_up",
        "complete_year",
        "usable",
        "rate",
        "data_source",
    ),
    national=True,
)
LINK_FORCE_RESIDUALS = _O(
    "link_force_residuals",
    "tables/link_force_residuals.csv",
    "table",
    "Per force: dose, and observed against predicted charge rates since April 2020.",
    ("force", "dose", "observed_rate_post", "fitted_rate_post", "pearson_residual_post", "data_source"),
    national=True,
)
LINK_FORCE_GAPS = _O(
    "link_force_gaps",
    "tables/link_force_gaps.csv",
    "table",
    "Per force: its own change in charge log-odds across April 2020 from the hierarchical link "
    "model, the national line at its dose, and its gap from the line, with 95% intervals (the "
    "link estimate the force pages print).",
    (
        "force",
        "dose",
        "dose_c",
        "years_before",
        "years_after",
        "raw_gap",
        "raw_gap_var",
        "line",
        "gap",
        "gap_low",
        "gap_high",
        "gap_shrinkage",
        "own_change",
        "own_change_low",
        "own_change_high",
        "gap_tau",
        "gap_tau_slope",
        "gap_sigma_year",
        "data_source",
    ),
    national=True,
)
LINK_INFLUENCE = _O(
    "link_influence",
    "tables/link_influence.csv",
    "table",
    "The primary link estimate with each force left out, most influential first.",
    ("force", "estimate_without", "change", "dose", "data_source"),
    national=True,
)
LINK_DOSE_SPLINE = _O(
    "link_dose_spline",
    "tables/link_dose_spline.csv",
    "table",
    "The dose-response as a spline: charge log-odds and points against the mean dose.",
    (
        "point",
        "dose",
        "growth",
        "log_odds",
        "ci_low",
        "ci_high",
        "pp",
        "pp_low",
        "pp_high",
        "base_rate",
        "reference_dose",
        "data_source",
    ),
    national=True,
)
LINK_FIRST_DIFFERENCE = _O(
    "link_first_difference",
    "tables/link_first_difference.csv",
    "table",
    "The first-difference estimator's points: each force's dose and change in charge log-odds, with its weight.",
    ("force", "dose", "change_logit", "weight", "closed_post", "years_from", "years_to", "data_source"),
    national=True,
)
LINK_DOSE_THIRDS = _O(
    "link_dose_thirds",
    "tables/link_dose_thirds.csv",
    "table",
    "The dose thirds: each third's forces and doses, and its difference from the bottom third.",
    (
        "third",
        "n_forces",
        "dose_low",
        "dose_median",
        "dose_high",
        "log_odds",
        "ci_low",
        "ci_high",
        "data_source",
    ),
    national=True,
)
DECOMPOSITION = _O(
    "decomposition",
    "tables/decomposition.csv",
    "table",
    "The national change in charge rate split into mix of forces and rates within forces.",
    (
        "unit",
        "component",
        "year_from",
        "year_to",
        "estimate",
        "ci_low",
        "ci_high",
        "share_of_change",
        "rate_from",
        "rate_to",
        "phi",
        "annualised",
        "data_source",
    ),
    national=True,
)
DECOMPOSITION_FORCES = _O(
    "decomposition_forces",
    "tables/decomposition_forces.csv",
    "table",
    "Each force's contribution to the national change (within and between).",
    (
        "force",
        "present",
        "quarters_from",
        "quarters_to",
        "share_from",
        "share_to",
        "rate_from",
        "rate_to",
        "between",
        "within",
        "total",
        "year_from",
        "year_to",
        "data_source",
    ),
    national=True,
)

# tables/changes.csv: what moved since the edition before the store's latest, written with the
# national tables by every run (empty when the store holds no earlier edition), and by `changes`
CHANGES = _O(
    "changes",
    "tables/changes.csv",
    "table",
    "What moved between two data editions, per force (and England and Wales) and year: offences "
    "recorded, investigations closed, charged and closed for evidential difficulties revised, "
    "recorded-basis charges matured, and whole quarters added, with old and new values; small "
    "revisions marked.",
    (
        "financial_year",
        "quarter",
        "force",
        "force_code",
        "offence_code",
        "figure",
        "change_kind",
        "old_value",
        "new_value",
        "difference",
        "small",
        "edition_from",
        "edition_to",
        "data_source",
    ),
    national=True,
)
# tables/changes_positions.csv: each force's funnel position and rank interval in the pages'
# year on the previous edition and on the latest (empty when the store holds no earlier edition)
POSITION_CHANGES = _O(
    "changes_positions",
    "tables/changes_positions.csv",
    "table",
    "Per force, in the year the pages show: its funnel position (against the random-effects "
    "limits) and its 95% rank interval after shrinkage on the previous data edition and on the "
    "latest, each fitted on that edition, and whether either moved.",
    (
        "financial_year",
        "force",
        "force_code",
        "offence_code",
        "funnel_from",
        "funnel_to",
        "rank_low_from",
        "rank_high_from",
        "forces_ranked_from",
        "rank_low_to",
        "rank_high_to",
        "forces_ranked_to",
        "funnel_moved",
        "rank_moved",
        "edition_from",
        "edition_to",
        "data_source",
    ),
    national=True,
)
NOWCAST = _O(
    "nowcast",
    "tables/nowcast.csv",
    "table",
    "Per force (and England and Wales) and recent year still maturing: the charge rate on the "
    "recorded basis as published, the expected final charge rate with its 95% interval (a "
    "projection), the share of the final charges already published and the method "
    "(analysis.stats.nowcast).",
    (
        "financial_year",
        "force",
        "force_code",
        "offence_code",
        "quarters",
        "offences_recorded_outcomes_file",
        "charged_recorded",
        "charge_rate_recorded",
        "charged_expected",
        "charged_expected_low",
        "charged_expected_high",
        "charge_rate_expected",
        "charge_rate_expected_low",
        "charge_rate_expected_high",
        "share_published",
        "force_multiplier",
        "interval",
        "method",
        "editions_used",
        "edition",
        "data_source",
    ),
    national=True,
)

# figures/: the national figures, drawn once by the national analysis
FUNNEL_FIGURE = _O(
    "funnel_figure",
    "figures/funnel_{year}.png",
    "figure",
    "Funnel plot of charge rates in {year}: every force against the limits.",
    national=True,
)
NATIONAL_FIGURES = {
    name: _O(f"figure_{name}", f"figures/{name}.png", "figure", words, national=True)
    for name, words in (
        ("national_trends", "Outcome shares in England and Wales by year, with the counting-rule changes."),
        ("national_volumes", "Offences recorded in England and Wales by year, for each offence read."),
        ("caterpillar", "Raw and shrunken charge rates of every force with their intervals."),
        ("funnel_change", "Funnel plot of the change in charge rate across April 2020."),
        ("dose_response", "Each force's change in charge rate against its rise in recording."),
        ("event_study", "The link model's dose-by-year coefficients, before and after April 2020."),
        ("link_influence", "The primary link estimate with each force left out."),
        ("link_dose_spline", "The dose-response as a spline, with the dose thirds."),
        ("decomposition", "The national change in charge rate split into mix and rates."),
    )
}
FIGURE_ALT = _O(
    "figure_alt",
    "figures/alt.json",
    "figure",
    "The alt text of every national figure, by file name.",
    national=True,
)

# Beside each figure, X.png, the numbers it draws, X.csv: one row per point, line vertex or
# interval, with the source. Not `national`: these repeat the national tables' numbers as drawn,
# and site.force_csvs gathers every national CSV with a force column into each force's CSV.
_LIMIT_PATTERNS = ("lower_{level}%", "upper_{level}%", "lower_{level}%_{method}", "upper_{level}%_{method}")
_FUNNEL_DATA_COLUMNS = ("series", "force", "flag", "x", "y", "count", "highlighted", *_LIMIT_PATTERNS)
_PIXELS = ("x_px", "y_px")
FUNNEL_FIGURE_DATA = _O(
    "funnel_figure_data",
    "figures/funnel_{year}.csv",
    "figure",
    "The numbers the funnel plot of {year} draws: each force's investigations closed (x), share "
    "charged (y) and count charged, its place in the picture in pixels; the limits at each x; the "
    "target (y).",
    (*_FUNNEL_DATA_COLUMNS, *_PIXELS, "data_source"),
)
NATIONAL_FIGURE_DATA = {
    name: _O(f"figure_{name}_data", f"figures/{name}.csv", "figure", words, (*columns, "data_source"))
    for name, words, columns in (
        (
            "national_trends",
            "The numbers the outcome-shares chart draws: each outcome's share of investigations closed "
            "(y, with its 95% interval) by year (x), England and Wales.",
            ("series", "force", "x", "y", "y_low", "y_high"),
        ),
        (
            "national_volumes",
            "The numbers the recorded-offences chart draws: offences recorded (y) by year (x), per offence.",
            ("series", "x", "y"),
        ),
        (
            "caterpillar",
            "The numbers the caterpillar chart draws: each force's raw and shrunken charge rate (x, with "
            "its 95% interval) and rank interval, top to bottom; the overall rate (x).",
            ("series", "force", "x", "x_low", "x_high", "rank_low", "rank_high", "highlighted"),
        ),
        (
            "funnel_change",
            "The numbers the change funnel draws: each force's precision (x) and change in share charged "
            "(y), its place in the picture in pixels; the limits at each x; the pooled change (y).",
            ("series", "force", "flag", "x", "y", *_LIMIT_PATTERNS[2:], *_PIXELS),
        ),
        (
            "dose_response",
            "The numbers the dose-response chart draws: each force's dose (x), change in charge log-odds "
            "(y) and investigations closed (marker size), its place in the picture in pixels; the ends of "
            "the estimate's line.",
            ("series", "force", "x", "y", "closed_post", "highlighted", *_PIXELS),
        ),
        (
            "event_study",
            "The numbers the event-study chart draws: each year's (x) dose-by-year coefficient (y, with "
            "its 95% interval).",
            ("series", "x", "y", "y_low", "y_high"),
        ),
        (
            "link_influence",
            "The numbers the leave-one-force-out chart draws: the estimate with each force left out (x), "
            "top to bottom; the estimate on every force (x).",
            ("series", "force", "x"),
        ),
        (
            "link_dose_spline",
            "The numbers the dose-spline chart draws: the curve's log-odds (y, with its interval) by dose "
            "(x), knots named; each dose third's median dose (x, from its lowest to highest) and level (y, "
            "with its 95% interval).",
            ("series", "point", "third", "x", "x_low", "x_high", "y", "y_low", "y_high"),
        ),
        (
            "decomposition",
            "The numbers the decomposition chart draws: each component's change (y, with its 95% "
            "interval); the largest forces' within and between contributions (x), top to bottom.",
            ("series", "component", "force", "x", "y", "y_low", "y_high"),
        ),
    )
}

# reports: executed notebooks and their pages (national/<template>, forces/<slug>)
REPORT_NOTEBOOK = _O(
    "report_notebook",
    "{report}.ipynb",
    "report",
    "The executed notebook, outputs included: for reviewers and for rerunning in JupyterLab.",
)
REPORT_PAGE = _O("report_page", "{report}.html", "report", "The report as a web page, with its code.")
REPORT_PAGE_NOCODE = _O(
    "report_page_nocode", "{report}.nocode.html", "report", "The report as a web page, without code."
)
REPORT_FIGURE = _O(
    "report_figure", "{report}/{figure}.png", "report", "A figure the report shows, as a file."
)
REPORT_FIGURE_DATA = _O(
    "report_figure_data",
    "{report}/{figure}.csv",
    "report",
    "The numbers a figure of the report draws, beside its PNG (as the national figures' CSVs).",
    (
        *_FUNNEL_DATA_COLUMNS,
        "x_low",
        "x_high",
        "y_low",
        "y_high",
        "rank_low",
        "rank_high",
        "closed_post",
        *_PIXELS,
        "data_source",
    ),
)
# Each figure's data file, by the figure's catalogue key.
FIGURE_DATA: dict[str, Output] = {
    FUNNEL_FIGURE.key: FUNNEL_FIGURE_DATA,
    **{NATIONAL_FIGURES[name].key: data for name, data in NATIONAL_FIGURE_DATA.items()},
    REPORT_FIGURE.key: REPORT_FIGURE_DATA,
}
REPORT_FIGURE_ALT = _O(
    "report_figure_alt", "{report}/alt.json", "report", "The alt text of the report's figures, by file name."
)
FORCE_CSV = _O(
    "force_csv",
    "forces/{slug}.csv",
    "table",
    "One force's rows from every national table, with a column naming the table.",
)
FAILED_NOTEBOOK = _O(
    "failed_notebook",
    "failed/{stem}.ipynb",
    "report",
    "A notebook that failed, as far as it ran, with its error: see the run summary.",
)

# pages and records of the run
INDEX = _O("index", "index.html", "page", "The report site: every force, the national reports, downloads.")
METHODS = _O("methods", "methods.html", "page", "Methods, and what these data cannot tell you.")
CHANGES_PAGE = _O(
    "changes_page",
    "changes.html",
    "page",
    "What changed since the previous data edition, for England and Wales and each force, and "
    "recent years' projected final charge rates (from changes.csv and nowcast.csv).",
)
STYLESHEET = _O(
    "stylesheet",
    "assets/notebook.css",
    "page",
    "The report pages' shared stylesheet (JupyterLab's, with its code highlighting).",
)
MANIFEST = _O(
    "manifest",
    "manifest.json",
    "record",
    "The run's record: code, lock file, inputs and packages, and every published file's sha256.",
)
RUN_SUMMARY = _O("run_summary", "run-summary.txt", "record", "The run in a few lines, failures named.")

# internal: the lock and the staging folder (not published)
LOCK = _O("lock", ".run.lock", "internal", "The lock one writer holds on the output folder.")
STAGING = _O("staging", ".staging", "internal", "Where a run builds its files before installing them.")

# the method study's own folder (validate-methods --out)
VALIDATION = _O(
    "validation",
    "validation.csv",
    "table",
    "The method study: per scenario and estimator, truth, bias, RMSE, coverage and rejection rate "
    "with their Monte Carlo errors.",
)
VALIDATION_REPLICATES = _O(
    "validation_replicates", "validation_replicates.csv", "table", "Every replicate of the method study."
)
VALIDATION_COMMAND = _O(
    "validation_command",
    "validation_command.txt",
    "record",
    "The command that made the method study's tables.",
)

OUTPUTS: tuple[Output, ...] = (
    FORCE_YEAR,
    NATIONAL_YEAR,
    HEADLINES,
    FIGURES_TO_QUOTE,
    RECORDING_RISE,
    FUNNEL,
    FUNNEL_LIMITS,
    FUNNEL_CHANGE,
    FUNNEL_CHANGE_LIMITS,
    FUNNEL_SUMMARY,
    LEFT_OUT,
    SHRINKAGE,
    LINK_MODELS,
    LINK_MODEL,
    EVENT_STUDY,
    LINK_PANEL,
    LINK_FORCE_RESIDUALS,
    LINK_FORCE_GAPS,
    LINK_INFLUENCE,
    LINK_DOSE_SPLINE,
    LINK_DOSE_THIRDS,
    LINK_FIRST_DIFFERENCE,
    DECOMPOSITION,
    DECOMPOSITION_FORCES,
    CHANGES,
    POSITION_CHANGES,
    NOWCAST,
    FUNNEL_FIGURE,
    *NATIONAL_FIGURES.values(),
    FIGURE_ALT,
    FUNNEL_FIGURE_DATA,
    *NATIONAL_FIGURE_DATA.values(),
    REPORT_NOTEBOOK,
    REPORT_PAGE,
    REPORT_PAGE_NOCODE,
    REPORT_FIGURE,
    REPORT_FIGURE_DATA,
    REPORT_FIGURE_ALT,
    FORCE_CSV,
    FAILED_NOTEBOOK,
    INDEX,
    METHODS,
    CHANGES_PAGE,
    STYLESHEET,
    MANIFEST,
    RUN_SUMMARY,
    LOCK,
    STAGING,
)
STUDY_OUTPUTS: tuple[Output, ...] = (VALIDATION, VALIDATION_REPLICATES, VALIDATION_COMMAND)
NATIONAL_FOLDERS = ("tables", "figures")  # what the national analysis writes into, and only it
REPORT_FILES = (REPORT_NOTEBOOK, REPORT_PAGE, REPORT_PAGE_NOCODE)  # one of each per report


def describe(rel: str) -> Output | None:
    """The catalogue entry of a path under an output folder (posix, relative), or None."""
    return next((o for o in OUTPUTS if o.match(rel) is not None), None)


def found(out: Path | str, folders: tuple[str, ...] = ()) -> list[tuple[Path, Output]]:
    """The files in output folder `out` (only under `folders`, if given) that the catalogue
    describes, with their entries, in path order."""
    out = Path(out)
    roots = [out / f for f in folders] if folders else [out]
    hits = []
    for root in roots:
        for p in sorted(root.rglob("*")) if root.is_dir() else []:
            entry = describe(p.relative_to(out).as_posix()) if p.is_file() else None
            if entry is not None:
                hits.append((p, entry))
    return hits


def by_key(key: str) -> Output:
    """An output by its key; KeyError naming the valid keys."""
    for o in OUTPUTS + STUDY_OUTPUTS:
        if o.key == key:
            return o
    raise KeyError(f"no output {key!r}; the catalogue has {', '.join(o.key for o in OUTPUTS)}")


def national_report(template: str) -> str:
    """The report name of a national notebook: 'national/<template>'."""
    return f"national/{template}"


def is_national(report: str) -> bool:
    """Whether a report name is a national notebook's (`national_report`)."""
    return report.startswith("national/")


def force_report(slug: str) -> str:
    """The report name of a force's notebook: 'forces/<slug>'."""
    return f"forces/{slug}"


def report_files(report: str) -> dict[Output, str]:
    """A report's three files (notebook, page with code, page without): their paths under the
    output folder, by catalogue entry."""
    return {o: o.relpath(report=report) for o in REPORT_FILES}


def undocumented_columns(output: Output, frame_columns: list[str]) -> list[str]:
    """The columns of a written table that its catalogue entry does not list (or the vocabulary
    does not describe): what a test fails on."""
    listed = [column(c) for c in output.columns]
    return [c for c in frame_columns if column(c) is None or column(c) not in listed]
