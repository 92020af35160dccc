"""The national models, fitted once per source and offence: for every year, the funnel of
charge rates and the shrunken rates with rank intervals; the funnel of the change across April
2020; the link models; the decomposition of the national change. Each comparison uses the
force-years the comparison rule admits (analysis.domain.rules) and lists those it left out.

This module fits; `analysis.reports.analyse` writes the tables and draws the figures."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.domain import rules, taxonomy
from analysis.stats import decompose, funnel, headline, link, shrinkage
from analysis.stats.measures import force_year, national_year, resolve_year

MIN_FORCES = 3  # a year whose comparison admits fewer force-years has no funnel or ranks


@dataclass
class YearComparison:
    """One year's comparison of forces: its funnel, its shrinkage, and the force-years left out."""

    year: str
    funnel: funnel.FunnelResult
    shrinkage: shrinkage.ShrinkageResult
    left_out: pd.DataFrame


@dataclass
class National:
    """Everything the national analysis fits for one offence."""

    offence: str
    panel: pd.DataFrame
    national: pd.DataFrame
    year: str  # the headline year: shrinkage and the funnel figure shown by default
    years: list[YearComparison]
    change: funnel.FunnelResult | None
    change_left_out: pd.DataFrame | None
    link: link.LinkResult
    pairs: list[tuple[str, str]]
    decompositions: list[decompose.Decomposition]
    mix: decompose.Decomposition | None

    def comparison(self, year: str) -> YearComparison:
        """The comparison of one year."""
        return next(c for c in self.years if c.year == year)


def source_files(outcomes: pd.DataFrame, offence: str) -> dict[tuple[str, str], str]:
    """The published files each force-year's rows of `offence` came from ('a.xlsx, b.xlsx')."""
    rows = outcomes.loc[outcomes["offence_code"] == offence, ["force", "financial_year", "source_file"]]
    rows = rows.dropna(subset=["source_file"]).astype(str).drop_duplicates()
    return {
        (force, year): ", ".join(sorted(g["source_file"]))
        for (force, year), g in rows.groupby(["force", "financial_year"], sort=False)
    }


def left_out(sel: rules.Selection, label: str, files: dict[tuple[str, str], str]) -> pd.DataFrame:
    """The force-years a comparison (`label`) left out, with the reason and the published file
    their rows came from (`source_files`), so a reader can find and check them
    (outputs.LEFT_OUT's columns)."""
    left = sel.left_out.copy()
    left.insert(0, "label", label)
    left["source_file"] = [files.get((r.force, r.financial_year), "") for r in left.itertuples()]
    return left


def compare_year(
    panel: pd.DataFrame, year: str, files: dict[tuple[str, str], str] | None = None
) -> YearComparison | None:
    """One year's comparison of forces (funnel, shrinkage and rank intervals) on the force-years
    the comparison rule admits; None when it admits fewer than MIN_FORCES."""
    sel = rules.closed_in_year(panel, year)
    if len(sel.rows) < MIN_FORCES:
        return None
    return YearComparison(
        year,
        funnel.funnel(sel.rows, label=year),
        shrinkage.shrink(sel.rows),
        left_out(sel, year, files or {}),
    )


def fit(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    offence: str = rules.DEFAULT_OFFENCE,
    year: str | None = None,
    bootstrap_reps: int = 999,
    permutation_reps: int = 199,
    comparison: tuple[str, ...] | None = None,
    synthetic: bool = False,
) -> National:
    """Fit every national model for `offence` (a code the store holds; `comparison`: the link
    models' comparison set, other codes)."""
    panel = force_year(outcomes, recorded, offence, synthetic=synthetic)
    nat = national_year(panel, synthetic=synthetic)
    years = sorted(panel["financial_year"].unique())
    files = source_files(outcomes, offence)
    comparisons = [c for c in (compare_year(panel, fy, files) for fy in years) if c is not None]
    brk = taxonomy.RECLASSIFICATION_BREAK.first_year
    change = change_left = None
    if link.PRE in years and brk in years:
        sel = rules.closed_in_years(panel, (link.PRE, brk))
        change = funnel.change_funnel(sel.rows, link.PRE, brk)
        change_left = left_out(sel, change.summary["label"], files)
    lk = link.run_link(
        outcomes,
        recorded,
        bootstrap_reps=bootstrap_reps,
        permutation_reps=permutation_reps,
        comparison=comparison,
        offence=offence,
    )
    headline.attach(lk, outcomes, recorded, comparison, offence)
    pairs = [(link.PRE, brk), (years[0], years[-1])] if change is not None else [(years[0], years[-1])]
    phi = decompose.quarterly_dispersion(outcomes, offence, tuple(y for pair in pairs for y in pair))
    decs = [decompose.decompose(panel, a, b, phi=phi) for a, b in pairs]
    # the mix of offences only means something for stalking, whose rise is partly harassment's
    mix = (
        decompose.by_offence(outcomes, recorded, *pairs[0], phi=phi) if offence == taxonomy.STALKING else None
    )
    return National(
        offence, panel, nat, resolve_year(panel, year), comparisons, change, change_left, lk, pairs, decs, mix
    )
