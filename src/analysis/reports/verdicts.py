"""Verdicts in words: the sentences that open each report, built from computed numbers.

Every function takes numbers (or rows of the tables `analyse` wrote) and returns one sentence;
nothing here is typed in by hand. The small-number rule is analysis.domain.rules.SMALL_N; one
threshold of its own, documented in docs/methods.md:

- RANK_UNCERTAIN_SHARE: a rank interval covering more than this share of the forces is
  reported as "too uncertain to rank" rather than as a range.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.domain import rules
from analysis.domain.rules import SMALL_N
from analysis.stats import funnel

RANK_UNCERTAIN_SHARE = 0.5
METHOD_WORDS = {
    "tau2": "random-effects (τ²) limits, which allow for the real differences between forces",
    "phi": "overdispersion-inflated (φ) limits",
    "exact": "exact binomial limits, which allow for chance alone",
}


def pct(x: float) -> str:
    """A share in per cent, one decimal place."""
    return f"{100 * x:.1f}%"


def p_value(p: float) -> str:
    """'< 0.001' or '= 0.034'."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def ordinal(i: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st, ..."""
    suffix = "th" if 10 <= i % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th")
    return f"{i}{suffix}"


def _side(direction: str, level: float) -> str:
    word = "above" if direction == "high" else "below"
    return f"{word} the {100 * level:.3g}% limit"


def funnel_position(unit_row: pd.Series, levels: list[float], method: str = "tau2") -> str:
    """Where a force sits in the funnel, in words, naming the limits used, and saying when the
    exact binomial limits disagree."""
    d_col, l_col = funnel.flag_columns(method)
    direction, level = unit_row[d_col], unit_row[l_col]
    widest = max(levels)
    if direction == "within":
        text = (
            f"Funnel plot: within the {100 * min(levels):.3g}% {METHOD_WORDS[method]}: no different "
            "from the national rate by more than chance and the usual spread between forces would give."
        )
    else:
        word = "higher" if direction == "high" else "lower"
        strength = "" if level >= widest else f", though within the {100 * widest:.3g}% limit"
        text = (
            f"Funnel plot: {word} than the national rate by more than chance would explain, even with "
            f"the {METHOD_WORDS[method]}: {_side(direction, level)}{strength}."
        )
    if method != "exact":
        e_dir, e_level = unit_row["direction_exact"], unit_row["level_exact"]
        same = e_dir == direction and (e_dir == "within" or e_level == level)
        if not same:
            where = "within their limits" if e_dir == "within" else _side(e_dir, e_level)
            text += f" The exact binomial limits, which allow for chance alone, disagree: {where}."
    return text


def rank(rank_low: int, rank_high: int, n_units: int, level: float = 0.95) -> str:
    """'Rank: between 43rd and 44th of 44, where 1st is the highest charge rate', or too
    uncertain to rank when the interval covers more than RANK_UNCERTAIN_SHARE of the forces."""
    width = rank_high - rank_low + 1
    span = f"{ordinal(rank_low)} and {ordinal(rank_high)} of {n_units}"
    if width > RANK_UNCERTAIN_SHARE * n_units:
        return (
            f"Rank: too uncertain to rank (the {100 * level:.0f}% rank interval runs from "
            f"{ordinal(rank_low)} to {ordinal(rank_high)} of {n_units})."
        )
    if rank_low == rank_high:
        return f"Rank: {ordinal(rank_low)} of {n_units}, where 1st is the highest charge rate ({100 * level:.0f}% interval, after shrinkage)."
    return (
        f"Rank: between {span}, where 1st is the highest charge rate "
        f"({100 * level:.0f}% interval, after shrinkage)."
    )


def recording_change(before: float, after: float, year_before: str, year_after: str, noun: str) -> str:
    """'April 2020: recorded stalking rose ×3.1, from 673 in 2019/20 to 2,092 in 2020/21.'"""
    if any(pd.isna(v) for v in (before, after)) or before <= 0:
        return f"April 2020: {noun} recorded in {year_before} and {year_after} are not both published."
    ratio = after / before
    verb = "rose" if ratio > 1 else ("fell" if ratio < 1 else "stayed")
    size = f"×{ratio:.1f}" if ratio >= 1.05 or verb == "stayed" else f"by {100 * (1 - ratio):.0f}%"
    if verb == "stayed":
        size = "the same"
    return (
        f"April 2020: recorded {noun} {verb} {size}, from {round(before):,} in {year_before} "
        f"to {round(after):,} in {year_after}."
    )


def _odds(logodds: float) -> str:
    """A log-odds change as the multiple of the charge odds, 'x 0.82' (as the headline writes
    one; '×' is kept for rises in recording, which the figures to quote carry)."""
    return f"x {math.exp(logodds):.2f}"


def own_change(row: pd.Series | dict, closed_per_year: float = float("inf"), noun: str = "stalking") -> str:
    """A force's own change in charge odds across April 2020 against all forces (the
    hierarchical link model's, `row` of the link force gaps table), beside what the national
    link gives a force whose recorded `noun` rose as much, and whether its interval leaves that
    line (not given when the force closed fewer than SMALL_N investigations a year since then)."""
    head = "Against the national link"
    if closed_per_year < SMALL_N:
        return (
            f"{head}: too few investigations closed since April 2020 (about {round(closed_per_year):,} "
            "a year) to set its charge rate against the line."
        )
    if row["gap_low"] > 0 or row["gap_high"] < 0:
        side = "above" if row["gap_low"] > 0 else "below"
        where = f"{side} the line beyond its interval (gap {_odds(row['gap'])}, {_odds(row['gap_low'])} to {_odds(row['gap_high'])})"
    else:
        where = f"within its interval of the line (gap {_odds(row['gap'])}, {_odds(row['gap_low'])} to {_odds(row['gap_high'])})"
    return (
        f"{head}: after April 2020 its charge odds moved {_odds(row['own_change'])} against the change in all "
        f"forces (95% interval {_odds(row['own_change_low'])} to {_odds(row['own_change_high'])}); the national "
        f"link under parallel trends (the primary model, not the trend-allowing headline) gives "
        f"{_odds(row['line'])} for a force whose recorded {noun} rose as much, so it sits {where}."
    )


def force_gaps_summary(gaps: pd.DataFrame) -> str:
    """The hierarchical link model in words: forces off the line beyond their interval (named),
    and the spreads it estimated, on the log-odds scale."""
    off = gaps[(gaps["gap_low"] > 0) | (gaps["gap_high"] < 0)].sort_values("force", kind="stable")
    names = f" ({', '.join(off['force'])})" if len(off) else ""
    first = gaps.iloc[0]
    return (
        f"{len(off)} of {len(gaps)} forces sit off the national link's line beyond their 95% interval"
        f"{names}. The model puts the spread of the forces' own gaps at {first['gap_tau']:.3f} on the "
        f"log-odds scale at the average dose, with force slopes of their own spread by "
        f"{first['gap_tau_slope']:.3f} per unit of dose (the gaps' spread d units of dose away is the "
        f"square root of {first['gap_tau']:.3f}² + ({first['gap_tau_slope']:.3f} d)²), and charging's "
        f"year-to-year spread within a force, beyond chance, at {first['gap_sigma_year']:.3f}."
    )


def alt_own_change(gaps: pd.DataFrame, highlight: str | None = None, noun: str = "stalking") -> str:
    """Alt text of the own-change chart."""
    off = int(((gaps["gap_low"] > 0) | (gaps["gap_high"] < 0)).sum())
    return (
        f"Chart of each of {len(gaps)} forces' change in the log-odds of charge after April 2020 "
        f"against its rise in recorded {noun}, with 95% intervals from the hierarchical link model "
        f"and the national link's line; {off} of them lie off the line beyond their interval"
        + (f"; {highlight} is circled." if highlight else ".")
    )


def maturing(rows: pd.DataFrame, force: str) -> str:
    """A force page's sentence on its recent years still maturing on the recorded basis: the
    latest year's charge rate as published and its projected final rate with its interval, from
    the nowcast table's rows for the force (analysis.stats.nowcast; oldest year first)."""
    if rows.empty:
        return (
            f"No year of {force}'s is still maturing on the recorded basis: its charge rates of "
            "offences recorded in each year are final, or as near as makes no difference."
        )
    r = rows.iloc[-1]
    years = list(rows["financial_year"])
    if pd.isna(r["charge_rate_expected"]):
        return (
            f"{r['financial_year']}'s charges on the recorded basis are still maturing, but it has too "
            f"few offences recorded (fewer than {SMALL_N}) for a rate."
        )
    text = (
        f"Projection: {r['financial_year']}'s charge rate on the recorded basis, {pct(r['charge_rate_recorded'])} "
        f"of the offences recorded as published, is expected to end at about "
        f"{pct(r['charge_rate_expected'])} (95% interval {pct(r['charge_rate_expected_low'])} to "
        f"{pct(r['charge_rate_expected_high'])}) once its investigations close; about "
        f"{pct(r['share_published'])} of its final charges are published so far."
    )
    if len(years) > 1:
        text += f" The table gives every year still maturing ({', '.join(years)})."
    if r["method"] == "one_edition":
        text += (
            " The store holds one edition of the data, so the projection assumes that the "
            "investigations still open end in a charge as often as those already closed; if charges "
            "take longer than other outcomes, as they often do, it is too low. Ingest each new "
            "edition into the same store and it is made from how the charges actually grew."
        )
    else:
        text += (
            f" It is made from how every force's charges grew across the {int(r['editions_used'])} "
            "editions held (a chain ladder), with this force's own pace where it differs."
        )
    return text


def flagged_count(units: pd.DataFrame, levels: list[float], method: str = "tau2") -> str:
    """'3 of 44 forces lie beyond the 99.8% random-effects limits (1 above, 2 below); the exact
    limits flag 19.'"""
    widest = max(levels)

    def beyond(m: str) -> pd.DataFrame:
        d_col, l_col = funnel.flag_columns(m)
        return units[(units[d_col] != "within") & (units[l_col] >= widest)]

    hit = beyond(method)
    d_col = funnel.flag_columns(method)[0]
    high, low = int((hit[d_col] == "high").sum()), int((hit[d_col] == "low").sum())
    verb = "lies" if len(hit) == 1 else "lie"
    return (
        f"{len(hit)} of {len(units)} forces {verb} beyond the {100 * widest:.3g}% "
        f"{METHOD_WORDS[method].split(',')[0]} ({high} above, {low} below); the exact binomial "
        f"limits, which allow for chance alone, put {len(beyond('exact'))} beyond theirs."
    )


# --- alt text for figures (the same words in notebooks, saved files and the site) ---------------


def alt_trend(national: pd.DataFrame, force: str | None = None) -> str:
    """Alt text of the outcome-shares trend chart (the offence is the table's)."""
    noun = rules.offence_noun(rules.offence_of(national))
    first, last = national.iloc[0], national.iloc[-1]
    who = (
        f"{force} (points with 95% intervals) and England and Wales (lines)" if force else "England and Wales"
    )
    return (
        f"Line chart of the share of closed {noun} investigations charged, ended for evidential "
        f"difficulties and with no suspect identified, in {who}, {first['financial_year']} to "
        f"{last['financial_year']}; in England and Wales the share charged went from "
        f"{pct(first['charge_rate_closed'])} to {pct(last['charge_rate_closed'])}."
    )


def alt_volumes(codes: list[str], years: list[str]) -> str:
    """Alt text of the recorded-offences chart."""
    return (
        f"Line chart of offences recorded in England and Wales each year from {years[0]} to "
        f"{years[-1]}, for offence codes {', '.join(codes)}, with the counting-rule changes marked."
    )


def alt_funnel(units: pd.DataFrame, levels: list[float], label: str, change: bool = False) -> str:
    """Alt text of a funnel plot."""
    what = (
        f"each force's change in charge rate, {label}, against its precision"
        if change
        else f"charge rates in {label} for {len(units)} forces against the investigations each closed"
    )
    return f"Funnel plot of {what}. {flagged_count(units, levels)}"


def alt_caterpillar(units: pd.DataFrame, year: str, rankability: float) -> str:
    """Alt text of the raw-and-shrunken-rates chart."""
    return (
        f"Chart of raw and shrunken charge rates in {year} for {len(units)} forces with 95% intervals "
        f"and rank intervals, ordered by shrunken rate; rankability {rankability:.2f}."
    )


def alt_dose_response(slope: float, highlight: str | None = None, noun: str = "stalking") -> str:
    """Alt text of the dose-response scatter (`noun`: the offence whose recording rose)."""
    return (
        "Scatter plot of each force's change in the log-odds of charge against its rise in recorded "
        f"{noun} across April 2020, with the first-difference estimate's line (slope {slope:.3f})"
        + (f"; {highlight} is circled." if highlight else ".")
    )


def alt_dose_spline(curve: pd.DataFrame, summary: dict, noun: str = "stalking") -> str:
    """Alt text of the dose-response spline chart."""
    lo, hi = summary["at"]["lowest dose"], summary["at"]["highest dose"]
    test = summary["nonlinearity_test"]
    return (
        "Chart of the change in the log-odds of charge after April 2020 against a force at the mean "
        f"dose, as a natural cubic spline in the dose over {len(curve)} doses with its 95% interval, "
        f"the knots and the dose thirds marked: at the lowest dose (recorded {noun} "
        f"x{lo['growth']:.2f}) {lo['log_odds']:+.3f}, at the highest (x{hi['growth']:.2f}) "
        f"{hi['log_odds']:+.3f}; the test that the shape is a straight line gives p = {test['p_value']:.3g}."
    )


def alt_event_study(es: pd.DataFrame, reference: str) -> str:
    """Alt text of the event-study chart."""
    return (
        f"Chart of the dose-by-year coefficients on the log-odds of charge, {es['financial_year'].iloc[0]} "
        f"to {es['financial_year'].iloc[-1]}, relative to {reference}, with 95% intervals."
    )


def alt_decomposition(summary: pd.DataFrame) -> str:
    """Alt text of the decomposition chart."""
    total = summary[summary["component"] == "total change"]
    change = (
        f", a total change of {100 * total['estimate'].iloc[0]:+.1f} percentage points" if len(total) else ""
    )
    return (
        f"Bar charts splitting the change in the national charge rate from {summary['year_from'].iloc[0]} to "
        f"{summary['year_to'].iloc[0]} into mix of forces and rates within forces{change}, and the "
        "forces contributing most."
    )


def alt_influence(influence: pd.DataFrame, estimate: float, top: int = 15) -> str:
    """Alt text of the leave-one-force-out figure."""
    first = influence.iloc[0]
    return (
        f"Chart of the primary link slope with each of the {min(top, len(influence))} most influential forces "
        f"left out, against {estimate:.3f} on every force; leaving out {first['force']} moves it most, "
        f"to {first['estimate_without']:.3f}."
    )
