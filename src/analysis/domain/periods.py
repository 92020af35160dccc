"""Financial years and quarters as the Home Office writes them.

A financial year runs April to March and is written "2020/21"; quarter 1 is April-June.
"""

from __future__ import annotations

import re
from functools import lru_cache

_FY = re.compile(r"^\s*(?:fy\s*)?(\d{4})\s*[/\-_–]\s*(\d{2}|\d{4})\s*$", re.IGNORECASE)
_Q = re.compile(r"^\s*(?:q|quarter|qtr)?\s*([1-4])\s*$", re.IGNORECASE)


def fy_label(start_year: int) -> str:
    """'2020/21' for the financial year that starts in April `start_year`."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


@lru_cache(maxsize=1024)  # called per row by pandas .map over year columns
def fy_start(label: str) -> int:
    """The calendar year a financial year label starts in ('2020/21' -> 2020)."""
    return int(normalise_year(label)[:4])


def fy_slug(label: str) -> str:
    """'2020-21': a financial year usable in file names."""
    return normalise_year(label).replace("/", "-")


def normalise_year(value: object) -> str:
    """Normalise '2020/21', '2020-21', '2020/2021', '2020_21' to '2020/21'; ValueError if not a year."""
    m = _FY.match(str(value))
    if not m:
        raise ValueError(f"not a financial year: {value!r} (expected e.g. 2020/21)")
    start, end = int(m.group(1)), m.group(2)
    end_full = int(end) if len(end) == 4 else (start // 100) * 100 + int(end)
    if end_full < start:
        end_full += 100
    if end_full != start + 1:
        raise ValueError(f"not a financial year: {value!r} (the end year must follow the start year)")
    return fy_label(start)


def normalise_quarter(value: object) -> int:
    """Normalise 1, 1.0, 'Q1', 'Quarter 1' to 1; ValueError if not a quarter 1-4."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    m = _Q.match(str(value))
    if not m:
        raise ValueError(f"not a financial quarter: {value!r} (expected 1-4, Q1-Q4 or 'Quarter 1')")
    return int(m.group(1))


def year_ending_march(label: str) -> int:
    """The March a financial year ends in ('2020/21' -> 2021), as in the 'marYYYY' file names."""
    return fy_start(label) + 1


def check_year(value: str, available: list[str], what: str = "--year", where: str = "the data") -> str:
    """A requested year normalised and checked against the years available.

    Raises InputError naming the parameter and listing the available years.
    """
    from analysis.errors import InputError

    try:
        label = normalise_year(value)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}.") from None
    if label not in available:
        span = f"{available[0]} to {available[-1]}" if available else "none"
        raise InputError(f"{what} {label} is outside {where} (years available: {span}).")
    return label
