"""The rules every estimator and every page applies, each defined here once (docs/methods.md,
"Rules").

- **Comparable force-year.** A force's year enters a between-force comparison (the funnels,
  shrinkage and rank intervals, the change funnel, the link models) when it closed at least
  one investigation and its count of charges is published and lies between 0 and the number
  closed. Any other force-year is left out *and named* with the reason, never compared on
  numbers that cannot be a proportion and never dropped in silence.
- **Complete year.** All four quarters of the year are published.
- **Small numbers.** Below SMALL_N closed investigations a rate is given as a count ("1 of 13
  closed"), never as a percentage, and the force is not ranked or sorted among the others:
  one case more or less moves its rate by several points.
- **Forces outside the territorial model.** British Transport Police polices the railways: it
  has no police force area and no resident population, and the police force area tables do not
  count its offences. Its recorded offences are counted from the outcomes file; its charge
  rates among closed investigations are compared with the other forces' (funnels, shrinkage,
  rank intervals); it is left out of the link models, whose dose is a force area's rise in
  recording. Every page that shows it says so (OUTSIDE_TERRITORIAL_RULE).
- **The offence analysed.** Stalking (8Q) unless a command is given another code; its name is
  what titles and headings say.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.domain import taxonomy

QUARTERS = 4
SMALL_N = 30
DEFAULT_OFFENCE = taxonomy.STALKING

OUTSIDE_TERRITORIAL_RULE = (
    "British Transport Police polices the railways: it has no police force area and no resident "
    "population, and the police force area tables do not count its offences. Its recorded offences "
    "are counted from the outcomes file; its charge rates are compared with the other forces' among "
    "closed investigations; it is not in the link models, whose dose is a force area's rise in recording."
)
OUTSIDE_TERRITORIAL_NOTE = "British Transport Police has no police force area: its recorded offences are counted from the outcomes file"
OUTCOMES_FILE_COUNT_NOTE = (
    "no police force area count published: recorded offences counted from the outcomes file"
)

# the count and denominator every between-force comparison of charge rates uses (closed basis)
CHARGED, CLOSED = "charged_closed", "outcomes_closed"


def complete_year(quarters):
    """Whether a year with `quarters` published quarters (a number or a Series) is complete."""
    return quarters == QUARTERS


def small(n) -> bool:
    """Whether `n` closed investigations are too few for a percentage or a place in a sort."""
    return bool(pd.notna(n) and n < SMALL_N)


def _comparable(count: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The rule itself, on float arrays (NaN: not present)."""
    with np.errstate(invalid="ignore"):
        return ~np.isnan(count) & ~np.isnan(n) & (n > 0) & (count >= 0) & (count <= n)


def comparable(count: pd.Series, n: pd.Series) -> pd.Series:
    """Which rows' count of `n` can enter a comparison: n > 0, and 0 <= count <= n, both present."""
    c = pd.to_numeric(count, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    d = pd.to_numeric(n, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(_comparable(c, d), index=count.index, dtype=bool)


def comparable_one(count: object, n: object) -> bool:
    """`comparable` for one count and its `n` (a page's single figure): numbers are checked
    directly, anything else is parsed as `comparable` parses a column."""
    if not all(v is None or isinstance(v, (int, float, np.integer, np.floating)) for v in (count, n)):
        return bool(comparable(pd.Series([count]), pd.Series([n])).iloc[0])
    c, d = (np.nan if v is None else float(v) for v in (count, n))  # type: ignore[arg-type]
    return bool(_comparable(np.array([c]), np.array([d]))[0])


def why_left_out(count: float, n: float) -> str:
    """Why one force-year is not comparable, in words for a page."""
    if pd.isna(n) or n == 0:
        return "no investigations closed"
    if pd.isna(count):
        return "its count of charges is not published"
    if count < 0 or n < 0:
        return "a negative count"
    return "more charges than investigations closed"


@dataclass(frozen=True)
class Selection:
    """The force-years a comparison uses, and those it leaves out with the reason
    (columns force, financial_year, reason)."""

    rows: pd.DataFrame
    left_out: pd.DataFrame


def closed_in_years(
    panel: pd.DataFrame, years: tuple[str, ...], count: str = CHARGED, n: str = CLOSED
) -> Selection:
    """The rows of `years` for forces comparable in every one of them (a change between two
    years compares a force only when both years are comparable), and the force-years left out."""
    rows = panel[panel["financial_year"].isin(years)]
    ok = comparable(rows[count], rows[n])
    bad = rows[~ok]
    # a force left out in one year is left out of the others too: its change cannot be compared
    keep = rows[~rows["force"].isin(bad["force"])]
    if len(years) > 1:
        counts = keep.groupby("force")["financial_year"].nunique()
        keep = keep[keep["force"].map(counts) == len(years)]
    left = pd.DataFrame(
        {
            "force": bad["force"].astype(str),
            "financial_year": bad["financial_year"].astype(str),
            "reason": [why_left_out(c, m) for c, m in zip(bad[count], bad[n])],
        }
    )
    # forces that closed nothing in the year are not comparisons' business to list
    left = left[left["reason"] != "no investigations closed"].reset_index(drop=True)
    return Selection(keep, left)


def closed_in_year(panel: pd.DataFrame, year: str, count: str = CHARGED, n: str = CLOSED) -> Selection:
    """A year's comparable force-years (the units of its funnel, shrinkage and rank intervals),
    and those left out with the reason."""
    return closed_in_years(panel, (year,), count, n)


def offence_noun(code: str) -> str:
    """What titles call an offence: 'stalking', 'harassment', or 'offence <code>'."""
    known = taxonomy.OFFENCE_BY_CODE.get(taxonomy.normalise_offence_code(code))
    return known.description.lower() if known else f"offence {code}"


def offences(code: str) -> str:
    """What a count of an offence is called: 'stalking offences', or 'offences (code 99)'."""
    known = taxonomy.OFFENCE_BY_CODE.get(taxonomy.normalise_offence_code(code))
    return f"{known.description.lower()} offences" if known else f"offences (code {code})"


def offence_of(frame: pd.DataFrame) -> str:
    """The offence a table is about (its offence_code column), or the default offence."""
    if "offence_code" in frame and len(frame):
        return str(frame["offence_code"].iloc[0])
    return DEFAULT_OFFENCE


def offence_title(code: str) -> str:
    """An offence's noun with a capital: 'Stalking'."""
    noun = offence_noun(code)
    return noun[0].upper() + noun[1:]
