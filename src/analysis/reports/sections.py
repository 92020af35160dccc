"""What the notebooks show: each function returns the tables (and figures) for one section, so
the templates stay thin and every number they print is computed here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from analysis.domain import taxonomy
from analysis.errors import InputError
from analysis.paths import source_paths
from analysis.reports import plots
from analysis.reports.headlines import default_year, sentence
from analysis.sources.store import load_store
from analysis.stats import funnel, shrinkage
from analysis.stats.measures import data_source_label, force_year, national_year


@dataclass
class Context:
    """A source's store and the national tables `analyse` wrote for it."""

    source: str
    offence: str
    store_dir: Path
    outputs_dir: Path

    @cached_property
    def store(self):
        return load_store(self.store_dir)

    @property
    def synthetic(self) -> bool:
        return self.store.synthetic

    @cached_property
    def panel(self) -> pd.DataFrame:
        return force_year(self.store.outcomes, self.store.recorded, self.offence, synthetic=self.synthetic)

    @cached_property
    def national(self) -> pd.DataFrame:
        return national_year(self.panel, synthetic=self.synthetic)

    @property
    def years(self) -> list[str]:
        return sorted(self.panel["financial_year"].unique())

    def year(self, year: str) -> str:
        """The requested year, or the default; InputError if outside the data."""
        if not year:
            return default_year(self.panel)
        if year not in self.years:
            raise InputError(f"year {year} is outside the data ({self.years[0]} to {self.years[-1]}).")
        return year

    def table(self, name: str) -> pd.DataFrame:
        """A national table written by `stalking-outcomes analyse`."""
        path = self.outputs_dir / "tables" / name
        if not path.exists():
            raise InputError(
                f"{path} is missing: run 'stalking-outcomes analyse --source {self.source}' "
                "(or 'stalking-outcomes run') first."
            )
        return pd.read_csv(path)

    def link_primary(self) -> dict:
        path = self.outputs_dir / "tables" / "link_model.json"
        if not path.exists():
            raise InputError(
                f"{path} is missing: run 'stalking-outcomes analyse --source {self.source}' first."
            )
        return json.loads(path.read_text(encoding="utf-8"))

    def banner(self) -> str:
        """The line every notebook prints first: where the data come from."""
        return f"Data: {data_source_label(self.synthetic)}. Source '{self.source}', offence {self.offence}."


def context(source: str, offence: str = taxonomy.STALKING) -> Context:
    """The context for a source, with paths relative to the project folder."""
    store_dir, outputs_dir = source_paths(source)
    return Context(source, taxonomy.normalise_offence_code(offence), store_dir, outputs_dir)


# --- national ----------------------------------------------------------------------------------


def counting_rule_breaks() -> pd.DataFrame:
    """The counting-rule breaks, as a table."""
    return pd.DataFrame(
        [
            {"first year": b.first_year, "date": b.date, "change": b.label, "what it means": b.description}
            for b in taxonomy.COUNTING_RULE_BREAKS
        ]
    )


def national_table(ctx: Context) -> pd.DataFrame:
    """England and Wales by year: recorded, closed, and the outcome shares with intervals."""
    cols = [
        "financial_year",
        "offences_recorded",
        "outcomes_closed",
        "charge_rate_closed",
        "charge_rate_closed_low",
        "charge_rate_closed_high",
        "evidential_difficulties_rate_closed",
        "no_suspect_rate_closed",
        "not_yet_assigned_rate_recorded",
        "forces_complete_year",
    ]
    return ctx.national[cols].round(4)


def national_sentences(ctx: Context) -> list[str]:
    """The headline sentence for England and Wales in every year."""
    nat = ctx.national.copy()
    nat["complete_year"] = True
    return [sentence(r, ctx.synthetic) for _, r in nat.iterrows()]


def volumes_figure(ctx: Context):
    """Recorded offences per year for every offence in the store."""
    vols = {}
    for code in sorted(set(ctx.store.outcomes["offence_code"])):
        p = force_year(ctx.store.outcomes, ctx.store.recorded, code, synthetic=ctx.synthetic)
        vols[code] = national_year(p, synthetic=ctx.synthetic)
    return plots.volume_plot(vols, synthetic=ctx.synthetic)


def funnel_for(ctx: Context, year: str) -> funnel.FunnelResult:
    """The funnel comparison of charge rates (closed basis) in one year."""
    rows = ctx.panel[(ctx.panel["financial_year"] == year) & (ctx.panel["outcomes_closed"] > 0)]
    return funnel.funnel(rows, label=year)


def shrinkage_for(ctx: Context, year: str) -> shrinkage.ShrinkageResult:
    """Empirical-Bayes charge rates and rank intervals in one year."""
    rows = ctx.panel[(ctx.panel["financial_year"] == year) & (ctx.panel["outcomes_closed"] > 0)]
    return shrinkage.shrink(rows)


def flagged(result: funnel.FunnelResult) -> pd.DataFrame:
    """Forces flagged by any method, with their numbers."""
    u = result.units
    cols = ["force", "n", "count", "rate", "ci_low", "ci_high", "z", "flag", "flag_phi", "flag_tau2"]
    keep = (u["flag"] != "within") | (u["flag_phi"] != "within") | (u["flag_tau2"] != "within")
    return u.loc[keep, cols].sort_values("z").round(4).reset_index(drop=True)


# --- one force ---------------------------------------------------------------------------------


def force_rows(ctx: Context, force: str) -> pd.DataFrame:
    """A force's rows of the force-year panel."""
    return ctx.panel[ctx.panel["force"] == force]


def headline(ctx: Context, force: str, year: str, basis: str = "closed") -> str:
    """The sentence a local story would quote, computed from the panel."""
    row = ctx.panel[(ctx.panel["force"] == force) & (ctx.panel["financial_year"] == year)]
    if row.empty:
        return f"{force} has no {ctx.offence} outcomes published for {year}."
    r = row.iloc[0]
    if basis == "recorded":
        noun = "stalking offences" if ctx.offence == "8Q" else f"offences (code {ctx.offence})"
        text = (
            f"In {year} {force} recorded {int(r['offences_recorded_outcomes_file']):,} {noun}; by the time "
            f"the figures were published, {100 * r['charge_rate_recorded']:.1f}% of them had led to a "
            f"charge or summons and {100 * r['not_yet_assigned_rate_recorded']:.1f}% had no outcome yet."
        )
        return ("[GENERATED DEMO DATA, not real figures] " + text) if ctx.synthetic else text
    return sentence(r, ctx.synthetic)


def force_numbers(ctx: Context, force: str, year: str) -> pd.DataFrame:
    """The force beside England and Wales for one year, with intervals and denominators."""
    cols = [
        "force",
        "offences_recorded",
        "outcomes_closed",
        "charged_closed",
        "charge_rate_closed",
        "charge_rate_closed_low",
        "charge_rate_closed_high",
        "evidential_difficulties_rate_closed",
        "evidential_difficulties_rate_closed_low",
        "evidential_difficulties_rate_closed_high",
        "no_suspect_rate_closed",
        "charge_rate_recorded",
        "not_yet_assigned_rate_recorded",
    ]
    f = ctx.panel[(ctx.panel["force"] == force) & (ctx.panel["financial_year"] == year)]
    n = ctx.national[ctx.national["financial_year"] == year]
    return pd.concat([f[cols], n[cols]], ignore_index=True).round(4)


def force_trend_figure(ctx: Context, force: str):
    """The force's outcome shares by year against England and Wales."""
    return plots.trend_plot(
        ctx.national,
        force_rows(ctx, force),
        synthetic=ctx.synthetic,
        title=f"{force} against England and Wales (closed basis)",
    )


def force_funnel_position(ctx: Context, force: str, year: str) -> tuple[pd.DataFrame, object]:
    """The force's row of the year's funnel table, and the funnel with the force marked."""
    result = funnel_for(ctx, year)
    row = result.units[result.units["force"] == force]
    fig = plots.funnel_plot(
        result,
        synthetic=ctx.synthetic,
        highlight=force,
        title=f"Charge rates {year}: {force} among all forces",
    )
    return row.round(4), fig


def force_rank(ctx: Context, force: str, year: str) -> tuple[pd.DataFrame, dict, object]:
    """The force's raw and shrunken rate with its rank interval, the summary, and the caterpillar."""
    result = shrinkage_for(ctx, year)
    row = result.units[result.units["force"] == force]
    fig = plots.caterpillar_plot(result, synthetic=ctx.synthetic, highlight=force)
    return row.round(4), result.summary, fig


def force_link(ctx: Context, force: str) -> tuple[pd.DataFrame, object]:
    """The force's dose and post-2020 residual in the primary link model (read from analyse's
    tables, not refitted), and the dose-response figure with the force marked."""
    res = ctx.table("link_force_residuals.csv")
    panel = ctx.table("link_panel.csv")
    row = res[res["force"] == force]
    if len(row):
        row = row.assign(dose_rank=int((res["dose"] > row["dose"].iloc[0]).sum()) + 1, forces=len(res))
    fig = plots.dose_response_plot(panel, synthetic=ctx.synthetic, highlight=force)
    return row.round(4), fig
