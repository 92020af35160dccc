"""The outcome taxonomy, the offence codes this project uses, and the counting-rule breaks.

One table for each, here and nowhere else. Group labels follow the Home Office; where a file
carries its own group label the reader keeps the file's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class OutcomeType:
    """One Home Office outcome type."""

    code: int
    description: str
    group: str
    first_year: str  # first financial year the type exists in the outcomes data


_G_NYA = "Not yet assigned an outcome"
_G_CHARGE = "Charged/Summonsed"
_G_OOC_F = "Out-of-court (formal)"
_G_OOC_I = "Out-of-court (informal)"
_G_TIC = "Taken into consideration"
_G_PREV = "Prosecution prevented or not in the public interest"
_G_ED_VNS = "Evidential difficulties (victim does not support action)"
_G_ED_SI = "Evidential difficulties (suspect identified; victim supports action)"
_G_NOSUS = "Investigation complete – no suspect identified"
_G_NFIB = "Action Fraud / NFIB filed"
_G_TRANS = "Responsibility for further investigation transferred to another body"
_G_NPI = "Further investigation to support formal action not in the public interest"
_G_DIV = "Diversionary, educational or intervention activity"

OUTCOME_TYPES: tuple[OutcomeType, ...] = (
    OutcomeType(0, "Not yet assigned an outcome", _G_NYA, "2014/15"),
    OutcomeType(1, "Charged/Summonsed", _G_CHARGE, "2014/15"),
    OutcomeType(2, "Caution - youths", _G_OOC_F, "2014/15"),
    OutcomeType(3, "Caution - adults", _G_OOC_F, "2014/15"),
    OutcomeType(4, "Taken into consideration", _G_TIC, "2014/15"),
    OutcomeType(5, "The offender has died", _G_PREV, "2014/15"),
    OutcomeType(6, "Penalty Notices for Disorder", _G_OOC_F, "2014/15"),
    OutcomeType(7, "Cannabis/Khat warning", _G_OOC_I, "2014/15"),
    OutcomeType(8, "Community Resolution", _G_OOC_I, "2014/15"),
    OutcomeType(9, "Prosecution not in the public interest (CPS)", _G_PREV, "2014/15"),
    OutcomeType(
        10, "Formal action against the offender is not in the public interest (Police)", _G_PREV, "2014/15"
    ),
    OutcomeType(11, "Prosecution prevented - suspect under age", _G_PREV, "2014/15"),
    OutcomeType(12, "Prosecution prevented - suspect too ill", _G_PREV, "2014/15"),
    OutcomeType(13, "Prosecution prevented - victim/key witness dead/too ill", _G_PREV, "2014/15"),
    OutcomeType(
        14,
        "Evidential difficulties: suspect not identified; victim does not support further action",
        _G_ED_VNS,
        "2014/15",
    ),
    OutcomeType(
        15, "Evidential difficulties: suspect identified; victim supports action", _G_ED_SI, "2014/15"
    ),
    OutcomeType(
        16,
        "Evidential difficulties: victim does not support (or has withdrawn support for) police action",
        _G_ED_VNS,
        "2014/15",
    ),
    OutcomeType(17, "Prosecution time limit expired", _G_PREV, "2014/15"),
    OutcomeType(18, "Investigation complete - no suspect identified", _G_NOSUS, "2014/15"),
    OutcomeType(19, "National Fraud Intelligence Bureau filed", _G_NFIB, "2014/15"),
    OutcomeType(
        20,
        "Further investigation to support formal action not in the public interest - responsibility transferred to another body",
        _G_TRANS,
        "2015/16",
    ),
    OutcomeType(
        21,
        "Further investigation to support formal action not in the public interest (police decision)",
        _G_NPI,
        "2015/16",
    ),
    OutcomeType(
        22,
        "Diversionary, educational or intervention activity, resulting from the crime report, has been undertaken and it is not in the public interest to take any further action",
        _G_DIV,
        "2016/17",
    ),
)

BY_CODE: dict[int, OutcomeType] = {o.code: o for o in OUTCOME_TYPES}

# Named sets used by every measure. Type 18 is not evidential difficulties.
NOT_YET_ASSIGNED = frozenset({0})
CHARGED = frozenset({1})
EVIDENTIAL_DIFFICULTIES = frozenset({14, 15, 16})
NO_SUSPECT = frozenset({18})
CLOSED = frozenset(range(1, 23))  # every assigned outcome: the closed-basis denominator

# Outcome types that belong to the separate "alternate offences" file (subsets of 1, 2 and 3).
ALTERNATE_TYPES = frozenset({"1a", "2a", "3a"})


@dataclass(frozen=True)
class Offence:
    """A Home Office offence code used by this project."""

    code: str
    description: str
    group: str
    subgroup: str


STALKING = "8Q"
HARASSMENT = "8L"

OFFENCES: tuple[Offence, ...] = (
    Offence("8Q", "Stalking", "Violence against the person", "Stalking and harassment"),
    Offence("8L", "Harassment", "Violence against the person", "Stalking and harassment"),
    Offence(
        "8M",
        "Racially or religiously aggravated harassment",
        "Violence against the person",
        "Stalking and harassment",
    ),
    Offence("8R", "Malicious Communications", "Violence against the person", "Stalking and harassment"),
    Offence(
        "8U", "Controlling or coercive behaviour", "Violence against the person", "Stalking and harassment"
    ),
    Offence("46", "Shoplifting", "Theft offences", "Shoplifting"),
    Offence("105A", "Assault without injury", "Violence against the person", "Violence without injury"),
    Offence("58C", "Criminal damage to a vehicle", "Criminal damage and arson", "Criminal damage"),
)
OFFENCE_BY_CODE: dict[str, Offence] = {o.code: o for o in OFFENCES}


@dataclass(frozen=True)
class ComparisonOffence:
    """An offence of the link models' comparison set, and why it is in it."""

    code: str
    reason: str


# The link models' comparison set, fixed before any estimate on it was seen (issue 22, item 6):
# offences whose recording neither the April 2018 nor the April 2020 rule touches, investigated
# and charged by the same forces, prosecutors and courts, so that a force-wide shock to charging
# (resourcing, a court backlog, a change of charging practice) moves them as it moves stalking.
# The negative control and the triple difference pool their counts per force and year.
# Left out on purpose: the rest of the stalking and harassment subgroup (8L, 8M, 8R, 8U), whose
# recording the rules move or could move; offences whose codes changed inside the panel
# (residential burglary, re-coded in April 2017); offences the police find themselves (drugs,
# weapons possession), whose charging follows operations rather than investigations; sexual
# offences, investigated by specialist teams with their own delays.
COMPARISON_SET: tuple[ComparisonOffence, ...] = (
    ComparisonOffence(
        "46",
        "Shoplifting: high volume, a suspect usually known at once; charged by the police under "
        "the same force-wide resourcing and court listings as stalking; no victim relationship "
        "for a recording rule to touch",
    ),
    ComparisonOffence(
        "105A",
        "Assault without injury: violence against the person outside the stalking and harassment "
        "subgroup (a course of conduct is recorded in addition to it, never instead), often "
        "domestic, so charged through the same public-protection teams and CPS charging decisions",
    ),
    ComparisonOffence(
        "58C",
        "Criminal damage to a vehicle: a volume offence with a victim but rarely a known suspect; "
        "it shares the force's investigative capacity and nothing with the stalking rules",
    ),
)
COMPARISON_OFFENCES: tuple[str, ...] = tuple(c.code for c in COMPARISON_SET)

# Codes read by default: stalking, harassment for the reclassification robustness view, and the
# comparison set for the link models' negative control and triple difference.
DEFAULT_OFFENCES = ("8Q", "8L", *COMPARISON_OFFENCES)
SHOWN_SUBGROUP = "Stalking and harassment"


def comparison_names(codes: Iterable[str]) -> str:
    """A comparison set in words: 'shoplifting (46), assault without injury (105A) and ...'."""
    named = [
        f"{OFFENCE_BY_CODE[c].description.lower()} ({c})" if c in OFFENCE_BY_CODE else f"offence {c}"
        for c in codes
    ]
    if not named:
        return "no offence"
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def shown_offences(codes: Iterable[str]) -> list[str]:
    """The offences the reports chart among `codes` (sorted): those of the stalking and
    harassment subgroup. The comparison set is read for the negative control, not shown."""
    return sorted(
        c for c in set(codes) if c in OFFENCE_BY_CODE and OFFENCE_BY_CODE[c].subgroup == SHOWN_SUBGROUP
    )


def normalise_offence_codes(values: str | Iterable[object]) -> tuple[str, ...]:
    """Offence codes normalised (`normalise_offence_code`), blanks and repeats dropped, in order.
    Text is comma-separated codes ('46,105A'), never a sequence of characters."""
    if isinstance(values, str):
        values = values.split(",")
    return tuple(dict.fromkeys(c for c in map(normalise_offence_code, values) if c))


# the Home Office's codes: '8Q', '46', '105A', and composites such as homicide's '1/4.1/4.10/4.2'
CODE_SHAPE = re.compile(r"\d{1,3}[A-Z]{0,2}(?:[./]\d{1,3}[A-Z]{0,2})*")


def unlike_codes(codes: Iterable[str]) -> list[str]:
    """The normalised `codes` not shaped like a Home Office offence code (digits, then up to two
    letters, or several such joined by '.' or '/'), so a typo or a description is caught before
    any model runs."""
    return [c for c in codes if not CODE_SHAPE.fullmatch(c)]


def comparison_for(offence: str, codes: str | Iterable[object] | None = None) -> tuple[str, ...]:
    """The link models' comparison set for `offence`: `codes` normalised, or, when None, the set
    chosen in advance less `offence` itself (an offence of the set is not its own comparison)."""
    if codes is None:
        code = normalise_offence_code(offence)
        return tuple(c for c in COMPARISON_OFFENCES if c != code)
    return normalise_offence_codes(codes)


def normalise_offence_code(value: object) -> str:
    """Offence codes as text without spaces or a trailing '.0' ('8q ' -> '8Q', 46.0 -> '46')."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().upper()


@dataclass(frozen=True)
class CountingRuleBreak:
    """A change to the Home Office Counting Rules that makes years either side not comparable."""

    first_year: str  # the first financial year recorded under the new rule
    date: str
    label: str
    description: str


COUNTING_RULE_BREAKS: tuple[CountingRuleBreak, ...] = (
    CountingRuleBreak(
        "2014/15",
        "2014-04-01",
        "8Q introduced",
        "Stalking gets its own offence code (8Q); before, it was inside 8L harassment.",
    ),
    CountingRuleBreak(
        "2018/19",
        "2018-04-01",
        "Course of conduct recorded in addition",
        "A course of conduct amounting to stalking or harassment is recorded in addition "
        "to the most serious other offence against the same victim.",
    ),
    CountingRuleBreak(
        "2020/21",
        "2020-04-01",
        "Ex-partner harassment recorded as stalking",
        "A course of conduct between a victim and a former partner is recorded as "
        "stalking unless police are satisfied it is harassment only. Years from "
        "2020/21 are not comparable with earlier years.",
    ),
)

# The break the reporting-increase analysis is built around.
RECLASSIFICATION_BREAK = COUNTING_RULE_BREAKS[-1]


def outcome_table() -> pd.DataFrame:
    """The outcome taxonomy as a table (code, description, group, first_year, named sets)."""
    rows = []
    for o in OUTCOME_TYPES:
        rows.append(
            {
                "outcome_type": o.code,
                "description": o.description,
                "group": o.group,
                "first_year": o.first_year,
                "charged": o.code in CHARGED,
                "evidential_difficulties": o.code in EVIDENTIAL_DIFFICULTIES,
                "no_suspect": o.code in NO_SUSPECT,
                "closed": o.code in CLOSED,
            }
        )
    return pd.DataFrame(rows)
