"""The figures a local news story or a police and crime panel would quote, per force."""

from __future__ import annotations

import pandas as pd

from analysis import outputs
from analysis.domain import forces, rules
from analysis.stats.measures import NATIONAL


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


def _n(x) -> str:
    return "n/a" if pd.isna(x) else f"{int(x):,}"


def sentence(row: pd.Series, synthetic: bool) -> str:
    """'In 2020/21 Northamptonshire recorded N stalking offences; of the M investigations closed
    that year, X% ended for evidential difficulties and Y% in a charge or summons.' (counts
    instead of percentages below rules.SMALL_N closed investigations)."""
    noun = rules.offences(row["offence_code"])
    recorded = (
        row["offences_recorded"]
        if pd.notna(row.get("offences_recorded"))
        else row["offences_recorded_outcomes_file"]
    )
    closed = row["outcomes_closed"]
    if rules.small(closed):  # counts, not percentages
        evid, charged = _n(row["evidential_difficulties_closed"]), _n(row["charged_closed"])
    else:
        evid, charged = _pct(row["evidential_difficulties_rate_closed"]), _pct(row["charge_rate_closed"])
    text = (
        f"In {row['financial_year']} {row['force']} recorded {_n(recorded)} {noun}; "
        f"of the {_n(closed)} investigations closed that year, {evid} ended for evidential "
        f"difficulties and {charged} in a charge or summons."
    )
    if not row.get("complete_year", True):
        text += f" (Outcomes for only {int(row['quarters_with_outcomes'])} of 4 quarters were published.)"
    if synthetic:
        text = "[GENERATED DEMO DATA, not real figures] " + text
    return text


def headlines(
    panel: pd.DataFrame, national: pd.DataFrame, year: str, synthetic: bool = False
) -> pd.DataFrame:
    """One row per force (and England and Wales) for one year: the sentence and its numbers."""
    rows = pd.concat(
        [panel[panel["financial_year"] == year], national[national["financial_year"] == year]],
        ignore_index=True,
    )
    slugs = {f.name: f.slug for f in forces.registry()}
    slugs[NATIONAL] = "england-and-wales"
    # the headline table's columns, as the catalogue lists them; the slug and sentence are made here
    keep = [c for c in outputs.HEADLINES.columns if c not in ("slug", "sentence")]
    out = rows[keep].copy()
    out.insert(2, "slug", out["force"].map(slugs))
    out["sentence"] = [sentence(r, synthetic) for _, r in rows.iterrows()]
    return out.reset_index(drop=True)
