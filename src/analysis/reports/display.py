"""What a notebook shows a person: tables formatted one way everywhere, and prose as Markdown.

`people_table` is the one formatting helper every notebook uses (pandas Styler): per cent with
one decimal place, counts with thousands separators, p-values as "< 0.001", plain-English
headers, no row index, nothing truncated, one-row tables turned on their side. The raw tables,
every column, stay in `tables/*.csv`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

# column -> (header a person reads, kind); kinds are formatted by _FORMATS
COLUMNS: dict[str, tuple[str, str]] = {
    "force": ("Force", "text"),
    "financial_year": ("Year", "text"),
    "first year": ("First year", "text"),
    "offences_recorded": ("Offences recorded", "count"),
    "outcomes_closed": ("Investigations closed", "count"),
    "charged_closed": ("Charged or summonsed", "count"),
    "charge_rate_closed": ("Charged or summonsed", "pct"),
    "charge_rate_closed_low": ("Charged: 95% interval from", "pct"),
    "charge_rate_closed_high": ("Charged: 95% interval to", "pct"),
    "evidential_difficulties_rate_closed": ("Evidential difficulties", "pct"),
    "evidential_difficulties_rate_closed_low": ("Evidential difficulties: 95% interval from", "pct"),
    "evidential_difficulties_rate_closed_high": ("Evidential difficulties: 95% interval to", "pct"),
    "no_suspect_rate_closed": ("No suspect identified", "pct"),
    "charge_rate_recorded": ("Charged, share of offences recorded in the year", "pct"),
    "not_yet_assigned_rate_recorded": ("No outcome yet, share of offences recorded", "pct"),
    "charge_rate_expected": ("Expected final charge rate (projection)", "pct"),
    "charge_rate_expected_low": ("Projection: 95% interval from", "pct"),
    "charge_rate_expected_high": ("Projection: 95% interval to", "pct"),
    "share_published": ("Share of its final charges published so far (estimate)", "pct"),
    "quarters_with_outcomes": ("Quarters with outcomes published", "count"),
    "forces_complete_year": ("Forces with a complete year", "count"),
    "n": ("Investigations closed", "count"),
    "count": ("Charged or summonsed", "count"),
    "rate": ("Share charged or summonsed", "pct"),
    "ci_low": ("95% interval from", "pct"),
    "ci_high": ("95% interval to", "pct"),
    "z": ("z-score", "num2"),
    "p_value": ("p-value", "p"),
    "q_value": ("q-value (false discovery rate)", "p"),
    "position": ("Position in the funnel", "text"),
    "raw_rate": ("Charged (raw)", "pct"),
    "raw_low": ("Raw: 95% interval from", "pct"),
    "raw_high": ("Raw: 95% interval to", "pct"),
    "shrunk_rate": ("Charged (shrunken)", "pct"),
    "shrunk_low": ("Shrunken: 95% interval from", "pct"),
    "shrunk_high": ("Shrunken: 95% interval to", "pct"),
    "shrinkage_factor": ("Weight on the overall rate", "num2"),
    "rank_low": ("Rank: 95% interval from", "count"),
    "rank_median": ("Rank (median)", "count"),
    "rank_high": ("Rank: 95% interval to", "count"),
    "label": ("Comparison", "text"),
    "target": ("Overall rate or change", "pct"),
    "units": ("Forces", "count"),
    "phi": ("Overdispersion (phi)", "num2"),
    "phi_p_value": ("Overdispersion p-value", "p"),
    "tau2": ("Between-force variance (tau², arcsine scale)", "num4"),
    "sensitivity": ("Forces flagged by each method", "text"),
    "estimator": ("Estimator", "text"),
    "specification": ("Specification", "text"),
    "estimate": ("Estimate", "num3"),
    "method": ("Errors", "text"),
    "note": ("Note", "text"),
    "year_from": ("From", "text"),
    "year_to": ("To", "text"),
    "component": ("Component", "text"),
    "share_of_change": ("Share of the change", "pct"),
    "dose": ("Dose (log growth in recording)", "num3"),
    "estimate_without": ("Slope without this force", "num3"),
    # the link model's dose as a growth factor: its own quantity (part-years annualised), not the
    # rise a reader quotes (analysis.reports.quote, complete years only), so not written "×"
    "dose_growth": ("Dose as a growth factor (the link model's; part-years annualised)", "num2"),
    "observed_rate_post": ("Charged since April 2020 (mean of years)", "pct"),
    "fitted_rate_post": ("National model's prediction", "pct"),
    "gap_post": ("Observed minus predicted", "pp"),
    "pearson_residual_post": ("Mean Pearson residual", "num2"),
    "dose_rank": ("Dose in the link model: rank (1 = largest)", "count"),
    "odds_multiple_line": ("National link at its dose (primary model, parallel trends)", "odds"),
    "odds_multiple_own": ("Its own change: charge odds after April 2020, against all forces", "odds"),
    "odds_multiple_own_low": ("Its own change: 95% interval from", "odds"),
    "odds_multiple_own_high": ("Its own change: 95% interval to", "odds"),
    "odds_multiple_gap": ("Gap from the national link (1 = on the line)", "odds"),
    "odds_multiple_gap_low": ("Gap: 95% interval from", "odds"),
    "odds_multiple_gap_high": ("Gap: 95% interval to", "odds"),
    "point": ("Which dose", "text"),
    "log_odds": ("Change in charge log-odds", "num3"),
    "points": ("Change in the charge rate", "pp2"),
    "points_low": ("Change: 95% interval from", "pp2"),
    "points_high": ("Change: 95% interval to", "pp2"),
    "forces": ("Forces", "count"),
    "parameter": ("Quantity", "text"),
    "truth": ("True value", "num3"),
    "mean_estimate": ("Mean estimate", "num3"),
    "bias": ("Bias", "num3"),
    "rmse": ("RMSE", "num3"),
    "coverage": ("Interval coverage", "pct"),
    "rejection_rate": ("Rejected at 5%", "pct"),
    "reps": ("Replicates", "count"),
    "bias_mcse": ("Bias: Monte Carlo SE", "num3"),
    "rmse_mcse": ("RMSE: Monte Carlo SE", "num3"),
    "coverage_mcse": ("Coverage: Monte Carlo SE", "pct"),
    "rejection_rate_mcse": ("Rejected: Monte Carlo SE", "pct"),
    "warned_rate": ("Warning shown", "pct"),
    "warned_rate_mcse": ("Warning shown: Monte Carlo SE", "pct"),
    "silent_miss_rate": ("Missed the truth with no warning", "pct"),
    "silent_miss_rate_mcse": ("Missed with no warning: Monte Carlo SE", "pct"),
    "mean_width": ("Mean width of the 95% interval", "num3"),
    "mean_width_mcse": ("Width: Monte Carlo SE", "num3"),
    "verdict": ("Against the targets", "text"),
    "scenario": ("Scenario", "text"),
    "judgement": ("Holds up?", "text"),
    "date": ("Date", "text"),
    "change": ("Change", "text"),
    "what it means": ("What it means", "text"),
}


def _nan(f: Callable[[float], str]) -> Callable[[object], str]:
    def g(x: object) -> str:
        return "–" if x is None or pd.isna(x) else f(float(x))  # type: ignore[arg-type]

    return g


_FORMATS: dict[str, Callable[[object], str]] = {
    "pct": _nan(lambda x: f"{100 * x:.1f}%"),
    "pp": _nan(lambda x: f"{100 * x:+.1f} pp"),
    "pp2": _nan(lambda x: f"{100 * x:+.2f} pp"),  # effects of a fraction of a point
    "count": _nan(lambda x: f"{round(x):,}"),
    "p": _nan(lambda x: "< 0.001" if x < 0.001 else f"{x:.3f}"),
    "ratio": _nan(lambda x: f"×{x:.1f}"),
    "odds": _nan(lambda x: f"x {x:.2f}"),  # as the headline writes a multiple of the odds
    "num2": _nan(lambda x: f"{x:.2f}"),
    "num3": _nan(lambda x: f"{x:.3f}"),
    "num4": _nan(lambda x: f"{x:.4f}"),
    "text": lambda x: "–" if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x),
}


def header(column: str) -> str:
    """The plain-English header of a column (its own name, de-snaked, if not registered)."""
    return COLUMNS.get(column, (column.replace("_", " ").capitalize(), ""))[0]


def formatted(frame: pd.DataFrame, kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """Every cell as the text a person reads, under plain-English headers."""
    kinds = kinds or {}
    out = {}
    for col in frame.columns:
        kind = kinds.get(col) or COLUMNS.get(col, ("", ""))[1]
        if not kind:
            kind = "num3" if pd.api.types.is_float_dtype(frame[col]) else "text"
            if pd.api.types.is_integer_dtype(frame[col]):
                kind = "count"
        out[header(col)] = [_FORMATS[kind](v) for v in frame[col]]
    return pd.DataFrame(out)


@dataclass
class Table:
    """A formatted table: HTML through pandas Styler for notebooks and pages, aligned text for
    consoles (and for nbval, which compares both)."""

    frame: pd.DataFrame  # all text, headers included
    caption: str = ""

    def styler(self):
        st = self.frame.style.hide(axis="index").set_uuid("people")
        st = st.set_table_attributes('class="people"')
        return st.set_caption(html.escape(self.caption)) if self.caption else st

    def _repr_html_(self) -> str:
        # without Styler's per-cell ids and classes (no cell is styled on its own; the page's
        # CSS styles table.people): a long table's HTML is a third of the size
        return self.styler().to_html(exclude_styles=True).replace("<table>", '<table class="people">', 1)

    def __repr__(self) -> str:
        text = self.frame.to_string(index=False)
        return f"{self.caption}\n{text}" if self.caption else text


def people_table(
    frame: pd.DataFrame,
    kinds: dict[str, str] | None = None,
    caption: str = "",
    side_by_side: str | None = None,
) -> Table:
    """A table for people. One-row tables are turned on their side (a header column and a value
    column); `side_by_side` names a column whose values become the columns of a turned table
    (e.g. a force beside England and Wales)."""
    text = formatted(frame.reset_index(drop=True), kinds)
    if side_by_side is not None:
        key = header(side_by_side)
        text = text.set_index(key).T.reset_index().rename(columns={"index": ""})
        text.columns.name = None
    elif len(text) == 1:
        text = pd.DataFrame({"": list(text.columns), "Value": list(text.iloc[0])})
    return Table(text, caption)


@dataclass
class Prose:
    """Markdown for a notebook (text/markdown), with the same text as plain output."""

    markdown: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown


def bullets(lines: list[str]) -> str:
    """A Markdown list."""
    return "\n".join(f"- {line}" for line in lines)
