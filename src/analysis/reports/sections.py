"""What the notebooks show: each function returns the prose, tables and figures for one section,
so the templates stay thin and every number they print is computed here. The national models
are read from the tables `analyse` wrote (funnels with their limits, shrinkage, link models),
never refitted here."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import outputs
from analysis.domain import forces, periods, rules, taxonomy
from analysis.errors import InputError
from analysis.paths import source_paths
from analysis.reports import link_text, plots, quote, site, verdicts
from analysis.reports.display import Prose, Table, bullets, people_table
from analysis.sources.store import load_store
from analysis.stats import editions, funnel, shrinkage
from analysis.stats.measures import NATIONAL as NATIONAL_NAME
from analysis.stats.measures import data_source_label, force_year, national_year, resolve_year


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
        """The requested year, or the default; InputError naming the parameter if outside the data."""
        return resolve_year(self.panel, year, what="year")

    def table(self, output: outputs.Output, **fields: str) -> Any:
        """A national table written by `stalking-outcomes analyse` (a catalogue entry)."""
        path = output.path(self.outputs_dir, **fields)
        if not path.exists():
            raise InputError(
                f"{path} is missing: run 'stalking-outcomes analyse --source {self.source}' "
                "(or 'stalking-outcomes run') first."
            )
        return output.load(self.outputs_dir, **fields)

    def figure(self, output: outputs.Output, **fields: str) -> plots.Shown:
        """A national figure as `analyse` drew and saved it, with its alt text: drawn once, shown
        from its file (named, so that a report's page points at the file)."""
        png = self.table(output, **fields)
        alt = self.table(outputs.FIGURE_ALT).get(output.path(self.outputs_dir, **fields).name, "")
        return plots.shown_file(png, alt, file=output.relpath(**fields))

    @cached_property
    def quotes(self) -> pd.DataFrame:
        """The figures to quote (analysis.reports.quote), as `tables` wrote them."""
        return self.table(outputs.FIGURES_TO_QUOTE)

    @cached_property
    def rises(self) -> pd.DataFrame:
        """The rise in recording across April 2020 per force, as `tables` wrote it."""
        return self.table(outputs.RECORDING_RISE)

    def link_primary(self) -> dict:
        """The primary link estimate with its sentences (the link model table)."""
        return self.table(outputs.LINK_MODEL)

    def banner(self) -> Prose:
        """What every notebook shows first, once: where the data come from (a banner for demo data)."""
        line = f"Data: {data_source_label(self.synthetic)}. Source '{self.source}', offence {self.offence}."
        if self.synthetic:
            return Prose(f'<div class="demo-banner"><strong>{line}</strong></div>')
        return Prose(line)

    @property
    def noun(self) -> str:
        """'stalking offences', or the offence's own words."""
        return rules.offences(self.offence)


# The last context made in this process, by what it read. A run's warm kernel keeps imported
# modules from one report to the next (analysis.runs.kernel), so each report after the first
# reuses the store and panel the first one loaded, as long as no file it reads has changed.
_LAST: dict[tuple, Context] = {}


def _fingerprint(folders: Iterable[Path]) -> tuple:
    """Every file under `folders`, with what changes when it is rewritten or replaced."""
    found = []
    for folder in folders:
        for p in sorted(folder.rglob("*")) if folder.is_dir() else []:
            st = p.stat()
            found.append((p.as_posix(), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(found)


def context(source: str, offence: str = taxonomy.STALKING) -> Context:
    """The context for a source, with paths relative to the project folder; the same one again
    while the store and the national tables it reads are unchanged."""
    code = taxonomy.normalise_offence_code(offence)
    store_dir, outputs_dir = source_paths(source, code)
    folders = [store_dir, *(outputs_dir / f for f in outputs.NATIONAL_FOLDERS)]
    key = (source, code, str(store_dir.resolve()), str(outputs_dir.resolve()), _fingerprint(folders))
    if key not in _LAST:
        _LAST.clear()
        _LAST[key] = Context(source, code, store_dir, outputs_dir)
    return _LAST[key]


# --- the national models, read from the tables analyse wrote ------------------------------------


def _summary_row(ctx: Context, label: str) -> dict:
    summ = ctx.table(outputs.FUNNEL_SUMMARY)
    row = summ[summ["label"] == label]
    if row.empty:
        raise InputError(
            f"{outputs.FUNNEL_SUMMARY.relpath()} has no row for {label}: re-run 'stalking-outcomes analyse'."
        )
    return row.iloc[0].to_dict()


def _funnel_result(units: pd.DataFrame, limits: pd.DataFrame, summary: dict) -> funnel.FunnelResult:
    summary["levels"] = sorted(limits["level"].unique())
    return funnel.FunnelResult(units, limits, summary)


def funnel_for(ctx: Context, year: str) -> funnel.FunnelResult:
    """The funnel comparison of charge rates (closed basis) in one year, as analyse wrote it."""
    return _funnel_result(
        ctx.table(outputs.FUNNEL, year=year),
        ctx.table(outputs.FUNNEL_LIMITS, year=year),
        _summary_row(ctx, year),
    )


def shrinkage_for(ctx: Context, year: str) -> shrinkage.ShrinkageResult:
    """Shrunken charge rates and rank intervals in one year, as analyse wrote them."""
    t = ctx.table(outputs.SHRINKAGE)
    t = t[t["financial_year"] == year].reset_index(drop=True)
    if t.empty:
        raise InputError(
            f"{outputs.SHRINKAGE.relpath()} has no rows for {year}: re-run 'stalking-outcomes analyse'."
        )
    summary = {k[len("summary_") :]: t[k].iloc[0] for k in t.columns if k.startswith("summary_")}
    summary["units"] = len(t)
    return shrinkage.ShrinkageResult(t, summary)


# --- national ----------------------------------------------------------------------------------


def counting_rule_breaks() -> Table:
    """The counting-rule breaks, as a table."""
    return people_table(
        pd.DataFrame(
            [
                {
                    "first year": b.first_year,
                    "date": b.date,
                    "change": b.label,
                    "what it means": b.description,
                }
                for b in taxonomy.COUNTING_RULE_BREAKS
            ]
        )
    )


def national_table(ctx: Context) -> Table:
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
    return people_table(ctx.national[cols])


def national_sentences(ctx: Context) -> list[str]:
    """The headline sentence for England and Wales in every year (incomplete years said so)."""
    return [quote.year_sentence(r, False) for _, r in ctx.national.iterrows()]


def national_summary(ctx: Context, year: str | None = None) -> Prose:
    """The national notebook's opening: the year's charge rate with counts, evidential
    difficulties, and the April 2020 change in recording."""
    y = ctx.year(year or "")
    charged = quoted(ctx, NATIONAL_NAME, y, quote.CHARGED.key)
    evid = quoted(ctx, NATIONAL_NAME, y, quote.EVIDENTIAL.key)
    lines = [
        f"England and Wales, {y}: charged or summonsed {quote.share_phrase(charged)}.",
        f"Evidential difficulties (victim does not support action, or evidence not enough): "
        f"{quote.share_phrase(evid)}.",
        rise_sentence(ctx, NATIONAL_NAME),
    ]
    return Prose(f"**In brief**\n\n{bullets(lines)}")


def volumes_figure(ctx: Context) -> plots.Shown:
    """Recorded offences per year for the stalking and harassment offences in the store."""
    return ctx.figure(outputs.NATIONAL_FIGURES["national_volumes"])


def national_trend_figure(ctx: Context) -> plots.Shown:
    """Outcome shares by year in England and Wales."""
    return ctx.figure(outputs.NATIONAL_FIGURES["national_trends"])


def funnel_figure(ctx: Context, result: funnel.FunnelResult, year: str) -> plots.Shown:
    """The year's funnel plot: the one `analyse` drew for its year, else drawn here."""
    if outputs.FUNNEL_FIGURE.path(ctx.outputs_dir, year=year).exists():
        return ctx.figure(outputs.FUNNEL_FIGURE, year=year)
    alt = verdicts.alt_funnel(result.units, result.summary["levels"], year)
    title = f"{rules.offence_title(ctx.offence)} charge rates {year}"
    return plots.show(plots.funnel_plot(result, synthetic=ctx.synthetic, title=title), alt)


def change_funnel_figure(ctx: Context) -> plots.Shown:
    """The funnel for the change across April 2020, as `analyse` drew it."""
    return ctx.figure(outputs.NATIONAL_FIGURES["funnel_change"])


def comparison_summary(ctx: Context, result: funnel.FunnelResult, shr: shrinkage.ShrinkageResult) -> Prose:
    """The comparison notebook's opening: how many forces stand out, and how rankable they are."""
    s = result.summary
    p = verdicts.p_value(s["phi_p_value"])
    spread = (
        "forces differ by more than chance"
        if s["phi_p_value"] < 0.05
        else "no sign that forces differ by more than chance"
    )
    lines = [
        f"{s['label']}: {verdicts.flagged_count(result.units, s['levels'])}",
        f"Overdispersion: phi = {s['phi']:.2f} (p {p}): {spread}.",
        _rankability(shr),
    ]
    return Prose(f"**In brief**\n\n{bullets(lines)}")


def _rankability(shr: shrinkage.ShrinkageResult) -> str:
    r = float(shr.summary["rankability"])
    n = len(shr.units)
    ranked = sum(
        (hi - lo + 1) <= verdicts.RANK_UNCERTAIN_SHARE * n
        for lo, hi in zip(shr.units["rank_low"], shr.units["rank_high"])
    )
    return (
        f"Rankability {r:.2f} (near 1: ranks reflect real differences; near 0: mostly chance); "
        f"{ranked} of {n} forces can be placed within half the table, the rest are too uncertain to rank."
    )


def flagged(result: funnel.FunnelResult) -> Table:
    """Forces flagged by any method, with their numbers and each method's verdict."""
    u = result.units
    keep = (
        (u["direction_exact"] != "within")
        | (u["direction_phi"] != "within")
        | (u["direction_tau2"] != "within")
    )
    t = u.loc[keep].sort_values("z")
    out = t[["force", "n", "count", "rate", "ci_low", "ci_high", "p_value"]].copy()
    for m, words in (("exact", "Exact binomial"), ("phi", "Phi-inflated"), ("tau2", "Random-effects")):
        d, lv = funnel.flag_columns(m)
        out[words] = [funnel.flag_label(a, b) for a, b in zip(t[d], t[lv])]
    return people_table(out)


def funnel_summary_table(ctx: Context) -> Table:
    """Overdispersion and flags in every year (and for the change across April 2020)."""
    return people_table(
        ctx.table(outputs.FUNNEL_SUMMARY)[
            ["label", "target", "units", "phi", "phi_p_value", "tau2", "sensitivity"]
        ]
    )


def caterpillar_figure(ctx: Context, shr: shrinkage.ShrinkageResult, year: str) -> plots.Shown:
    """Raw and shrunken rates with rank intervals, every force."""
    return plots.show(*_caterpillar(ctx, shr, year))


def _caterpillar(ctx: Context, shr: shrinkage.ShrinkageResult, year: str, highlight: str | None = None):
    """The caterpillar figure (a force highlighted if given) and its alt text."""
    alt = verdicts.alt_caterpillar(shr.units, year, float(shr.summary["rankability"]))
    if highlight is not None:
        row = shr.units[shr.units["force"] == highlight]
        if len(row):
            r = row.iloc[0]
            rank = (
                f"closed {round(r['n']):,} investigations, too few for a rank"
                if rules.small(r["n"])
                else verdicts.rank(int(r["rank_low"]), int(r["rank_high"]), len(shr.units))
            )
            alt += f" {highlight} is highlighted: {rank}"
    return plots.caterpillar_plot(shr, synthetic=ctx.synthetic, highlight=highlight), alt


SHRINKAGE_COLUMNS = [
    "force",
    "n",
    "raw_rate",
    "shrunk_rate",
    "shrunk_low",
    "shrunk_high",
    "shrinkage_factor",
    "rank_low",
    "rank_median",
    "rank_high",
]


def shrinkage_table(shr: shrinkage.ShrinkageResult) -> Table:
    """Every force's raw and shrunken rate and rank interval (no rank, and no raw share, below
    the small-number rule)."""
    return people_table(unranked_small(shr.units[SHRINKAGE_COLUMNS]))


def unranked_small(units: pd.DataFrame) -> pd.DataFrame:
    """Shrinkage rows with the rank interval and the raw share blanked where the force closed
    fewer than rules.SMALL_N investigations: its shrunken rate stands, its rank is not stated."""
    out = units.copy()
    small = out["n"].map(rules.small)
    hide = [
        c for c in ("raw_rate", "raw_low", "raw_high", "rank_low", "rank_median", "rank_high") if c in out
    ]
    out[hide] = out[hide].astype(float)
    out.loc[small, hide] = np.nan
    return out


def link_summary(ctx: Context) -> Prose:
    """The link claim as every page prints it: the headline in words, the warnings that fired
    (and which checks ran quiet), the parallel-trends estimate with the trend that would overturn
    it, and the April 2018 replication beside (all written by `analyse`, link_text)."""
    p = ctx.link_primary()
    if "headline_sentence" not in p:
        raise InputError(
            f"{outputs.LINK_MODEL.relpath()} has no headline: re-run 'stalking-outcomes analyse --source {ctx.source}'."
        )
    return Prose(
        f"**In brief**\n\n{p['headline_sentence']}\n\n{bullets(list(p['warning_sentences']))}\n\n"
        f"{p['bound_sentence']}\n\n{p['break_2018_sentence']}\n\n{headline_study()}"
    )


# the headline under a republication's count, as the pages compute it on published files
HEADLINE_STUDY = ("docs", "validation", "validation_republication_headline.csv")


def headline_study() -> str:
    """The headline's record in the committed method study, in words (link_text.study_sentence)."""
    path = site.project_file(*HEADLINE_STUDY)
    table = pd.read_csv(path) if path is not None else None
    return link_text.study_sentence(table, "/".join(HEADLINE_STUDY))


def link_caveats(ctx: Context) -> Prose:
    """The caveats to read before quoting the link estimate."""
    return Prose(bullets(ctx.link_primary()["caveats"]))


def link_size_and_shape(ctx: Context) -> Prose:
    """The primary estimate in percentage points, and the dose thirds."""
    p = ctx.link_primary()
    return Prose(f"{p['marginal_effect_sentence']}\n\n{p['dose_shape_sentence']}")


def link_negative_control(ctx: Context) -> Prose:
    """The negative control and the triple difference, in words."""
    return Prose(ctx.link_primary()["negative_control_sentence"])


def link_pre_trend(ctx: Context) -> Prose:
    """The joint pre-trend test of the primary model's event study, in words."""
    return Prose(ctx.link_primary()["pre_trend_sentence"])


def link_pre_trend_sensitivity(ctx: Context) -> Prose:
    """How far a violation of parallel trends would have to go to overturn the event study's
    result (Rambachan-Roth), in words."""
    return Prose(ctx.link_primary()["pre_trend_sensitivity_sentence"])


def link_influence(ctx: Context) -> tuple[Prose, Table, plots.Shown]:
    """Leave-one-force-out: the sentence, the table (most influential first) and the figure."""
    primary = ctx.link_primary()
    inf = ctx.table(outputs.LINK_INFLUENCE)
    table = people_table(inf[["force", "dose", "estimate_without", "change"]], kinds={"change": "num3"})
    return Prose(primary["influence_sentence"]), table, ctx.figure(outputs.NATIONAL_FIGURES["link_influence"])


def link_dose_spline(ctx: Context) -> tuple[Prose, Table, plots.Shown]:
    """The dose-response spline: the sentence, the curve at its named doses (the knots, the mean
    and the extremes; every dose in the dose spline table) and the figure with the dose thirds."""
    spline = ctx.link_primary().get("dose_spline")
    if not spline:
        raise InputError(
            f"{outputs.LINK_MODEL.relpath()} has no dose spline: re-run 'stalking-outcomes analyse --source {ctx.source}'."
        )
    curve = ctx.table(outputs.LINK_DOSE_SPLINE)
    named = curve[curve["point"].notna() & (curve["point"] != "")]
    shown = named.assign(
        dose_growth=named["growth"],
        points=named["pp"] / 100,
        points_low=named["pp_low"] / 100,
        points_high=named["pp_high"] / 100,
    )  # the table's "pp" format takes fractions; the CSV has points
    table = people_table(
        shown[
            [
                "point",
                "dose",
                "dose_growth",
                "log_odds",
                "ci_low",
                "ci_high",
                "points",
                "points_low",
                "points_high",
            ]
        ],
        kinds={"ci_low": "num3", "ci_high": "num3"},
    )
    text = link_text.spline_sentence(spline)
    return Prose(text), table, ctx.figure(outputs.NATIONAL_FIGURES["link_dose_spline"])


def link_models_table(ctx: Context) -> Table:
    """Every link estimator."""
    return people_table(
        ctx.table(outputs.LINK_MODELS)[
            ["estimator", "specification", "estimate", "ci_low", "ci_high", "p_value", "method", "note"]
        ],
        kinds={"ci_low": "num3", "ci_high": "num3"},
    )


def event_study(ctx: Context) -> tuple[Table, plots.Shown]:
    """The event-study coefficients, as a table and a figure."""
    es = ctx.table(outputs.EVENT_STUDY)
    table = people_table(
        es[["financial_year", "estimate", "ci_low", "ci_high", "p_value"]],
        kinds={"ci_low": "num3", "ci_high": "num3"},
    )
    return table, ctx.figure(outputs.NATIONAL_FIGURES["event_study"])


def _slope(ctx: Context) -> float:
    from analysis.reports.analyse import first_difference_slope

    return first_difference_slope(ctx.table(outputs.LINK_MODELS))


def dose_response_figure(ctx: Context) -> plots.Shown:
    """The dose-response figure, every force, as `analyse` drew it."""
    return ctx.figure(outputs.NATIONAL_FIGURES["dose_response"])


def _dose_response(ctx: Context, highlight: str | None = None) -> tuple[plots.plt.Figure, str]:
    """The dose-response figure (slope from the link models table), a force circled if given, and its
    alt text."""
    slope = _slope(ctx)
    noun = rules.offence_noun(ctx.offence)
    fig = plots.dose_response_plot(
        ctx.table(outputs.LINK_FIRST_DIFFERENCE),
        slope,
        synthetic=ctx.synthetic,
        highlight=highlight,
        noun=noun,
    )
    alt = verdicts.alt_dose_response(slope, highlight, noun)
    return fig, alt


def decomposition_table(ctx: Context) -> Table:
    """The national change split into mix of forces and rates within forces."""
    return people_table(
        ctx.table(outputs.DECOMPOSITION)[
            ["component", "year_from", "year_to", "estimate", "ci_low", "ci_high", "share_of_change"]
        ],
        kinds={"estimate": "pp", "ci_low": "pp", "ci_high": "pp"},
    )


# --- the figures to quote (analysis.reports.quote), as `tables` wrote them -----------------------


def quoted(ctx: Context, force: str, year: str, measure: str) -> pd.Series | None:
    """One row of the figures to quote (None if the force has no row for the year)."""
    q = ctx.quotes
    hit = q[(q["force"] == force) & (q["year"] == year) & (q["measure"] == measure)]
    return None if hit.empty else hit.iloc[0]


def _share_fact(row: pd.Series) -> str:
    """A quoted share (or count, under the small-number rule) marked as a fact."""
    return quote.fact(quote.fact_key(row["force"], row["year"], row["measure"]), quote.share_phrase(row))


def _unlabelled(text: str) -> str:
    """A sentence without the demo-data label (the page's banner says it once)."""
    return text.removeprefix(quote.DEMO_PREFIX)


def rise_sentence(ctx: Context, force: str, labelled: bool = False) -> str:
    """The force's rise in recording across April 2020 in words, its ratio marked as a fact
    (with the demo-data label if `labelled`: a copy-ready sentence keeps it)."""
    r = ctx.rises[ctx.rises["force"] == force]
    if r.empty:
        return f"April 2020: no recorded {ctx.noun} for {force} on both sides of the change."
    r = r.iloc[0]
    text = r["sentence"] if labelled else _unlabelled(r["sentence"])
    if pd.notna(r["rise"]):
        shown = quote.rise_text(r["rise"])
        marked = quote.fact(f"{quote.slug(force)}|rise", shown, years=f"{r['year_from']} {r['year_to']}")
        text = text.replace(shown, marked, 1)
    return text


def _default_quote_year(ctx: Context, force: str, year: str) -> str:
    """The year a report's figures to quote open on: the report's year if it is complete for the
    force, else the latest complete year before it (else the report's year)."""
    q = ctx.quotes
    rows = q[(q["force"] == force) & (q["measure"] == quote.CLOSED.key)]
    done = [y for y, c in zip(rows["year"], rows["complete_year"]) if bool(c) and y <= year]
    if year in done or not done:
        return year
    return done[-1]


def _quote_block(ctx: Context, force: str, year: str) -> str:
    """One year's figures to quote: the copy-ready sentence and the four measures beside England
    and Wales, as HTML."""
    q = ctx.quotes
    rows = q[(q["force"] == force) & (q["year"] == year)].set_index("measure")
    nat = q[(q["force"] == NATIONAL_NAME) & (q["year"] == year)].set_index("measure")
    cells = []
    for m in quote.MEASURES:
        r = rows.loc[m.key]
        key = quote.fact_key(force, year, m.key)
        if m.denominator:
            mine = quote.fact(key, quote.share_phrase(r))
            theirs = quote.percent_text(nat.loc[m.key, "percent"]) if m.key in nat.index else "–"
        else:
            mine = quote.fact(key, "not published" if pd.isna(r["count"]) else f"{round(r['count']):,}")
            theirs = f"{round(nat.loc[m.key, 'count']):,}" if m.key in nat.index else "–"
        note = "" if pd.isna(r["note"]) else html.escape(str(r["note"]))
        cells.append(
            f"<tr><th>{m.label.capitalize()}</th><td>{mine}</td><td>{theirs}</td><td>{note}</td></tr>"
        )
    table = (
        '<table class="people quote"><thead><tr><th></th><th>' + html.escape(force) + "</th>"
        "<th>England and Wales</th><th>Note</th></tr></thead><tbody>" + "".join(cells) + "</tbody></table>"
    )
    # the copy-ready sentences as the CSV holds them (the closed count is in the share sentences)
    said = [rows.loc[m.key, "sentence"] for m in (quote.RECORDED, quote.CHARGED, quote.EVIDENTIAL)]
    items = "".join(f"<li>{html.escape(str(t))}</li>" for t in said)
    return f'<ul class="quote-sentences">{items}</ul>\n{table}'


def figures_to_quote(ctx: Context, force: str, year: str) -> Prose:
    """The report's opening "Figures to quote": the year chosen (the latest complete year by
    default) with its copy-ready sentence and figures, the rise across April 2020, and every
    other year one click away (no script: it works offline)."""
    if force not in set(ctx.quotes["force"]):
        return Prose(f"## Figures to quote\n\n{force} has no {ctx.offence} figures published.")
    chosen = _default_quote_year(ctx, force, year)
    years = sorted(ctx.quotes.loc[ctx.quotes["force"] == force, "year"].unique(), reverse=True)
    why = "" if chosen == year else f" ({year} is incomplete for {force}: the latest complete year is shown)"
    parts = [
        "## Figures to quote",
        "",
        f"**{chosen}**{why}. Counts, not percentages, below {rules.SMALL_N} investigations closed; "
        f"every figure and sentence here is a row of `{outputs.FIGURES_TO_QUOTE.relpath()}`.",
        "",
        _quote_block(ctx, force, chosen),
        "",
        f"<p>{rise_sentence(ctx, force, labelled=True)}</p>",
        "",
        "<details><summary>Other years</summary>",
    ]
    for y in years:
        if y != chosen:
            parts.append(f"<details><summary>{y}</summary>\n{_quote_block(ctx, force, y)}\n</details>")
    parts.append("</details>")
    return Prose("\n".join(parts))


def force_rule(force: str) -> Prose | None:
    """The rule a force outside the territorial model is reported under (None for the others)."""
    from analysis.domain import forces

    return (
        None
        if forces.resolve(force).territorial
        else Prose(f"**How this force is treated.** {rules.OUTSIDE_TERRITORIAL_RULE}")
    )


# --- one force ---------------------------------------------------------------------------------


def force_rows(ctx: Context, force: str) -> pd.DataFrame:
    """A force's rows of the force-year panel."""
    return ctx.panel[ctx.panel["force"] == force]


def headline(ctx: Context, force: str, year: str, basis: str = "closed", label: bool = True) -> str:
    """The sentence a local story would quote, computed from the panel (with the demo-data
    label in front for generated data, unless `label` is False because the page shows it)."""
    row = ctx.panel[(ctx.panel["force"] == force) & (ctx.panel["financial_year"] == year)]
    if row.empty:
        return f"{force} has no {ctx.offence} outcomes published for {year}."
    r = row.iloc[0]
    if basis == "recorded":
        text = _recorded_basis_sentence(r, ctx.noun)
        return (quote.DEMO_PREFIX + text) if ctx.synthetic and label else text
    return quote.year_sentence(r, ctx.synthetic and label)


def _recorded_basis_sentence(r: pd.Series, noun: str) -> str:
    """'In 2020/21 Kent recorded 2,092 stalking offences; by the time the figures were published,
    4.1% of them had led to a charge or summons and 20.3% had no outcome yet.' Counts instead of
    shares below the small-number rule."""
    n = r["offences_recorded_outcomes_file"]
    if pd.isna(n):
        return (
            f"{r['force']}: {noun} recorded in {r['financial_year']} are not published in the outcomes file."
        )
    shares = {}
    for col, rate in (
        ("charged_recorded", "charge_rate_recorded"),
        ("not_yet_assigned_recorded", "not_yet_assigned_rate_recorded"),
    ):
        shares[col] = (
            f"{quote.percent_text(100 * r[rate])}"
            if not rules.small(n) and pd.notna(r[rate])
            else (f"{round(r[col]):,}" if pd.notna(r[col]) else "an unknown number")
        )
    return (
        f"In {r['financial_year']} {r['force']} recorded {round(n):,} {noun}; by the time the figures were "
        f"published, {shares['charged_recorded']} of them had led to a charge or summons and "
        f"{shares['not_yet_assigned_recorded']} had no outcome yet."
    )


def headline_prose(ctx: Context, force: str, year: str, basis: str = "closed") -> Prose | None:
    """The recorded-basis headline as a paragraph of the report (the page's banner labels demo
    data); nothing on the closed basis, whose sentence opens the report's figures to quote."""
    if basis != "recorded":
        return None
    return Prose(headline(ctx, force, year, basis, label=False))


def force_verdict(ctx: Context, force: str, year: str) -> Prose:
    """The force report's opening, in words: charge rate against England and Wales, place in the
    funnel, rank interval, the April 2020 change in recording, and the gap from the national
    model after April 2020. Under the small-number rule: counts, and no funnel verdict or rank
    stated as a finding."""
    rows = force_rows(ctx, force)
    row = rows[rows["financial_year"] == year]
    if row.empty:
        return Prose(f"## {force}, {year}\n\n{force} has no {ctx.offence} outcomes published for {year}.")
    charged = quoted(ctx, force, year, quote.CHARGED.key)
    nat = quoted(ctx, NATIONAL_NAME, year, quote.CHARGED.key)
    left = left_out(ctx, force, year)
    small = rules.small(row["outcomes_closed"].iloc[0])
    lines = [left] if left else [_charge_line(charged, nat)]
    fun = funnel_for(ctx, year)
    unit = fun.units[fun.units["force"] == force]
    shr = shrinkage_for(ctx, year)
    r = shr.units[shr.units["force"] == force]
    if small:
        lines.append(
            f"Funnel plot and rank: not stated: {round(row['outcomes_closed'].iloc[0]):,} investigations "
            f"closed is below {rules.SMALL_N}, too few for its place among the forces to be a finding."
        )
    else:
        if len(unit):
            lines.append(verdicts.funnel_position(unit.iloc[0], fun.summary["levels"]))
        if len(r):
            lines.append(
                verdicts.rank(int(r["rank_low"].iloc[0]), int(r["rank_high"].iloc[0]), len(shr.units))
            )
    lines.append(rise_sentence(ctx, force))
    gap = ctx.table(outputs.LINK_FORCE_GAPS)
    gap = gap[gap["force"] == force]
    if len(gap):
        lines.append(
            verdicts.own_change(gap.iloc[0], _closed_since_break(rows), rules.offence_noun(ctx.offence))
        )
    return Prose(f"## {force}, {year}\n\n{bullets(lines)}")


def _charge_line(charged: pd.Series | None, nat: pd.Series | None) -> str:
    """'Charged or summonsed: 2.2% (36 of 1,623 closed) against 8.0% in England and Wales.'"""
    if charged is None or pd.isna(charged["denominator"]) or charged["denominator"] == 0:
        return "Charged or summonsed: no investigations were closed in the year."
    small = (
        " (too few to give a percentage)"
        if pd.isna(charged["percent"]) and rules.small(charged["denominator"])
        else ""
    )
    beside = "" if nat is None else f" against {quote.percent_text(nat['percent'])} in England and Wales"
    return f"Charged or summonsed: {_share_fact(charged)}{small}{beside}."


def left_out(ctx: Context, force: str, year: str) -> str:
    """Why a force's year is left out of that year's comparisons, naming the file ('' if it is not)."""
    t = ctx.table(outputs.LEFT_OUT)
    r = t[(t["label"] == year) & (t["force"] == force)]
    if r.empty:
        return ""
    r = r.iloc[0]
    return (
        f"{force} is left out of the comparisons of {year}: {r['reason']} (file {r['source_file']}). "
        "Its other years are compared as usual."
    )


def _force_figure(name: str, fig, alt: str) -> plots.Shown:
    """A force report's figure, shown inline and named, so that `run` also saves it as
    a report figure file with its alt text (analysis.outputs.REPORT_FIGURE; analysis.runs.runner.save_figures)."""
    return plots.show(fig, alt, name=name)


def since_last_edition(ctx: Context, force: str) -> Prose:
    """What moved for the force since the store's previous data edition, and where it now stands
    in the funnel and the ranks (the changes tables the run wrote; analysis.stats.editions)."""
    st = ctx.store
    return Prose(
        editions.force_text(
            ctx.table(outputs.CHANGES),
            force,
            st.edition,
            editions.previous_edition(st),
            standing=ctx.table(outputs.POSITION_CHANGES),
        )
    )


def maturing(ctx: Context, force: str) -> tuple[Prose, Table | None]:
    """The force's recent years still maturing on the recorded basis: the rate as published,
    the projected final rate with its interval and the share of its final charges published
    (the nowcast table the run wrote; analysis.stats.nowcast), with the sentence on the latest."""
    t = ctx.table(outputs.NOWCAST)
    rows = t[t["force"] == force].sort_values("financial_year")
    small = rows["offences_recorded_outcomes_file"].map(rules.small)
    rates = [
        "charge_rate_recorded",
        "charge_rate_expected",
        "charge_rate_expected_low",
        "charge_rate_expected_high",
    ]
    rows = rows.astype({c: float for c in rates}).copy()
    rows.loc[small, rates] = np.nan
    text = Prose(verdicts.maturing(rows, force))
    if rows.empty:
        return text, None
    cols = ["financial_year", *rates, "share_published"]
    return text, people_table(rows[cols], caption="Projection, not a published figure")


def force_numbers(ctx: Context, force: str, year: str) -> Table:
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
    f = _small_masked(ctx.panel[(ctx.panel["force"] == force) & (ctx.panel["financial_year"] == year)])
    # recorded offences as the figures to quote count them (the outcomes file's for BTP)
    f = f.assign(offences_recorded=[quote.recorded_count(r)[0] for _, r in f.iterrows()])
    n = ctx.national[ctx.national["financial_year"] == year]
    return people_table(pd.concat([f[cols], n[cols]], ignore_index=True), side_by_side="force")


def _small_masked(rows: pd.DataFrame) -> pd.DataFrame:
    """Force-year rows with their shares blanked where the small-number rule applies to their
    denominator (closed investigations; offences recorded, on the recorded basis): counts only."""
    out = rows.copy()
    for basis, n in (("closed", "outcomes_closed"), ("recorded", "offences_recorded_outcomes_file")):
        small = out[n].map(rules.small)
        ends = tuple(f"_rate_{basis}{end}" for end in ("", "_low", "_high"))
        out.loc[small, [c for c in out.columns if c.endswith(ends)]] = np.nan
    return out


def force_years_table(ctx: Context, force: str) -> Table:
    """The force's figures to quote year by year (counts below the small-number rule; incomplete
    years marked)."""
    q = ctx.quotes[ctx.quotes["force"] == force]
    rows = []
    for y, g in q.groupby("year", sort=True):
        by = g.set_index("measure")
        row = {"financial_year": y}
        for m in quote.MEASURES:
            r = by.loc[m.key]
            key = quote.fact_key(force, y, m.key)
            row[m.label] = quote.fact(
                key,
                quote.share_phrase(r)
                if m.denominator
                else ("–" if pd.isna(r["count"]) else f"{round(r['count']):,}"),
            )
        row["complete"] = "yes" if bool(by["complete_year"].iloc[0]) else f"no: {by['note'].iloc[0]}"
        rows.append(row)
    return people_table(
        pd.DataFrame(rows), kinds={m.label: "text" for m in quote.MEASURES} | {"complete": "text"}
    )


def force_trend_figure(ctx: Context, force: str) -> plots.Shown:
    """The force's outcome shares by year against England and Wales."""
    rows = force_rows(ctx, force)
    alt = verdicts.alt_trend(ctx.national, force)
    fig = plots.trend_plot(
        ctx.national, rows, synthetic=ctx.synthetic, title=f"{force} against England and Wales (closed basis)"
    )
    return _force_figure("trends", fig, alt)


def force_funnel_position(ctx: Context, force: str, year: str) -> tuple[Table, plots.Shown]:
    """The force's place in the year's funnel (a table), and the funnel with the force marked."""
    result = funnel_for(ctx, year)
    row = result.units[result.units["force"] == force]
    out = row[["force", "n", "count", "rate", "ci_low", "ci_high", "p_value"]].copy()
    for m, words in (("tau2", "Random-effects limits"), ("exact", "Exact binomial limits")):
        d, lv = funnel.flag_columns(m)
        out[words] = [funnel.flag_label(a, b) for a, b in zip(row[d], row[lv])]
    fig = plots.funnel_plot(
        result,
        synthetic=ctx.synthetic,
        highlight=force,
        title=f"Charge rates {year}: {force} among all forces",
    )
    small = len(row) and rules.small(row["n"].iloc[0])
    if small:  # counts only, and no verdict stated as a finding
        out[["rate", "ci_low", "ci_high", "p_value"]] = np.nan
        out["Random-effects limits"] = out["Exact binomial limits"] = (
            f"not stated: fewer than {rules.SMALL_N} closed"
        )
    if not len(row):
        alt = f"Funnel plot of charge rates in {year}. {force} is not in it. {left_out(ctx, force, year)}".strip()
    elif small:
        alt = (
            f"Funnel plot of charge rates in {year} with {force} circled: {round(row['count'].iloc[0]):,} of "
            f"{round(row['n'].iloc[0]):,} closed, too few for its place to be a finding."
        )
    else:
        alt = f"Funnel plot of charge rates in {year} with {force} circled. " + verdicts.funnel_position(
            row.iloc[0], result.summary["levels"]
        )
    return people_table(out), _force_figure("funnel", fig, alt)


def force_rank(ctx: Context, force: str, year: str) -> tuple[Prose, Table, plots.Shown]:
    """The rankability line, the force's raw and shrunken rate with its rank interval, and the
    caterpillar plot with the force marked."""
    shr = shrinkage_for(ctx, year)
    row = shr.units[shr.units["force"] == force]
    table = people_table(unranked_small(row[SHRINKAGE_COLUMNS]))
    fig, alt = _caterpillar(ctx, shr, year, highlight=force)
    words = _rankability(shr)
    if len(row) and rules.small(row["n"].iloc[0]):
        words += (
            f" {force} closed {round(row['n'].iloc[0]):,} investigations, fewer than {rules.SMALL_N}: its "
            "shrunken rate is shown, its rank is not stated."
        )
    return Prose(words), table, _force_figure("ranks", fig, alt)


def _closed_since_break(rows: pd.DataFrame) -> float:
    """A force's mean investigations closed a year from April 2020 (the small-number rule's
    count for its link figures)."""
    after = periods.fy_start(taxonomy.RECLASSIFICATION_BREAK.first_year)
    return float(rows.loc[rows["financial_year"].map(periods.fy_start) >= after, "outcomes_closed"].mean())


def _own_change_figure(ctx: Context, highlight: str | None) -> tuple[plots.plt.Figure, str]:
    """The own-change chart (the link force gaps table as `analyse` wrote it) and its alt text."""
    gaps, noun = ctx.table(outputs.LINK_FORCE_GAPS), rules.offence_noun(ctx.offence)
    fig = plots.own_change_plot(gaps, synthetic=ctx.synthetic, highlight=highlight, noun=noun)
    return fig, verdicts.alt_own_change(gaps, highlight, noun)


def link_force_gaps(ctx: Context) -> tuple[Prose, plots.Shown]:
    """The hierarchical link model's summary in words (how many forces sit off the line beyond
    their interval, the spreads it found) and the own-change chart of every force."""
    gaps = ctx.table(outputs.LINK_FORCE_GAPS)
    fig, alt = _own_change_figure(ctx, highlight=None)
    return Prose(verdicts.force_gaps_summary(gaps)), plots.show(fig, alt)


def force_link(ctx: Context, force: str) -> tuple[Table | Prose, plots.Shown]:
    """The force's dose and its own change in charge odds across April 2020 from the
    hierarchical link model (read from analyse's tables, not refitted), the national line at its
    dose and its gap from it, and the chart of every force with this one marked; for a force the
    link models leave out (rules.OUTSIDE_TERRITORIAL_RULE), the rule instead of an empty table."""
    gaps = ctx.table(outputs.LINK_FORCE_GAPS)
    row = gaps[gaps["force"] == force]
    if row.empty:
        why = (
            rules.OUTSIDE_TERRITORIAL_RULE
            if not forces.resolve(force).territorial
            else f"{force} is not in the link models: it has no usable years on both sides of April 2020."
        )
        fig, alt = _own_change_figure(ctx, highlight=None)
        return Prose(why), _force_figure("own_change", fig, alt + f" {force} is not in it.")
    # the dose is the model's own input (log growth, part-years annualised); the rise a reader
    # quotes is the figures-to-quote one, between complete years, in the report's opening
    cols = ["line", "own_change", "own_change_low", "own_change_high", "gap", "gap_low", "gap_high"]
    out = row.assign(
        dose_rank=[int((gaps["dose"] > d).sum()) + 1 for d in row["dose"]],
        forces=len(gaps),
        **{c: np.exp(row[c]) for c in cols},  # as multiples of the charge odds, as the sentence says
    )[["force", "dose", "dose_rank", "forces", *cols]]
    if rules.small(
        _closed_since_break(force_rows(ctx, force))
    ):  # as the verdict: too few to set against the line
        out = out.assign(**{c: np.nan for c in ["dose_rank", *cols[1:]]})
    out = out.rename(
        columns={
            "line": "odds_multiple_line",
            "own_change": "odds_multiple_own",
            "own_change_low": "odds_multiple_own_low",
            "own_change_high": "odds_multiple_own_high",
            "gap": "odds_multiple_gap",
            "gap_low": "odds_multiple_gap_low",
            "gap_high": "odds_multiple_gap_high",
        }
    )
    fig, alt = _own_change_figure(ctx, highlight=force)
    return people_table(out), _force_figure("own_change", fig, alt)


# --- the method study --------------------------------------------------------------------------


def _with_mcse(value: float, mcse: float, percent: bool = False) -> str:
    """'+0.0023 (Monte Carlo SE 0.0010)', in points for a rate; 'not shown' for a blanked rate."""
    if pd.isna(value):
        return "not shown"
    if percent:
        return f"{verdicts.pct(value)} (Monte Carlo SE {100 * mcse:.1f} points)"
    return f"{value:+.4f} (Monte Carlo SE {mcse:.4f})"


def validation_summary(rows: pd.DataFrame, names: list[str]) -> Prose:
    """The method notebook's opening: a banner (all its data are generated; the tables `names`)
    and, one line per table (`rows`: one row each, its file in `table`), the primary
    estimator's bias, coverage and rejection rate, each with its Monte Carlo standard error and
    the replicates behind it. A blanked rate (too few replicates) is said to be not shown."""
    lines = [
        f"{r['table']}, {r['scenario']} scenario, true {r['parameter']} {r['truth']:g}, "
        f"{int(r['reps']):,} replicates: bias {_with_mcse(r['bias'], r['bias_mcse'])}, 95% "
        f"interval coverage {_with_mcse(r['coverage'], r['coverage_mcse'], True)}, rejected at 5% "
        f"in {_with_mcse(r['rejection_rate'], r['rejection_rate_mcse'], True)} of replicates."
        for _, r in rows.iterrows()
    ]
    banner = (
        '<div class="demo-banner"><strong>GENERATED DATA: simulated data sets with known truth, '
        f"from the method study's tables ({', '.join(names)}); no real force is described."
        "</strong></div>"
    )
    brief = f"\n\n**The primary estimator in brief**\n\n{bullets(lines)}" if lines else ""
    return Prose(banner + brief)


# a study table's columns as the page shows them: each figure beside its Monte Carlo error
VALIDATION_SHOWN = [
    "scenario",
    "estimator",
    "parameter",
    "truth",
    "mean_estimate",
    "bias",
    "bias_mcse",
    "coverage",
    "coverage_mcse",
    "rejection_rate",
    "rejection_rate_mcse",
    "reps",
    "verdict",
]


HEADLINE_SHOWN = ["warned_rate", "silent_miss_rate", "silent_miss_rate_mcse"]
# the intervals' mean width (tables made before it was scored lack it): what coverage costs
WIDTH_SHOWN = ["mean_width", "mean_width_mcse"]


def validation_table(table: pd.DataFrame, caption: str = "") -> Table:
    """The method study's results, one row per estimator and quantity, each figure beside its
    Monte Carlo standard error and the replicates behind it; the bias to four decimal places,
    where the larger studies' Monte Carlo errors sit."""
    shown = [c for c in VALIDATION_SHOWN if c in table.columns]
    # the headline battery's own columns, where a table scores the headline
    extra = [c for c in (*HEADLINE_SHOWN, *WIDTH_SHOWN) if c in table.columns and table[c].notna().any()]
    shown[shown.index("reps") : shown.index("reps")] = extra
    kinds = {"bias": "num4", "bias_mcse": "num4", "truth": "num3", "mean_estimate": "num4"}
    return people_table(table[shown], kinds=kinds, caption=caption)


# --- the national notebook's recent years ------------------------------------------------------


def recent_national_sentences(ctx: Context, years: int = 3) -> Prose:
    """The headline sentence for England and Wales in each of the last `years` years, as a
    Markdown list (text that wraps on a page, which printed lines in a monospace block do not)."""
    return Prose(
        f"**England and Wales, the last {years} years**\n\n{bullets(national_sentences(ctx)[-years:])}"
    )
