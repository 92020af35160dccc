"""The figures a local news story or a police and crime panel would quote, per force."""

from __future__ import annotations

import pandas as pd

from analysis import outputs
from analysis.domain import forces
from analysis.reports.quote import year_sentence as sentence
from analysis.stats.measures import NATIONAL


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
