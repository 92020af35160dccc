"""The national analysis, run once per source: funnels, shrinkage and ranks, the link models,
the decomposition, and their figures, written as the tables the notebooks and force reports read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import outputs as o
from analysis.domain import taxonomy
from analysis.reports import link_text, plots, verdicts
from analysis.reports.headlines import resolve_year
from analysis.sources.store import Store
from analysis.stats import decompose, funnel, link, shrinkage
from analysis.stats.measures import closed_in_year, data_source_label, force_year, national_year


def _label(frame: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    frame = frame.copy()
    frame["data_source"] = data_source_label(synthetic)
    return frame


def _funnel_summary(f: funnel.FunnelResult) -> dict:
    """A funnel's summary as one row of the funnel summary table."""
    s = {k: v for k, v in f.summary.items() if k not in ("excluded", "levels", "levels_adjusted")}
    s["excluded"] = "; ".join(f.summary["excluded"])
    s["sensitivity"] = f.sensitivity()
    return s


def first_difference_slope(models: pd.DataFrame) -> float:
    """The first-difference estimate in the link models table: the slope the dose-response figure draws."""
    return float(models.loc[models["estimator"] == "first_difference", "estimate"].iloc[0])


def write_analysis(
    st: Store,
    out: Path,
    offence: str = taxonomy.STALKING,
    year: str | None = None,
    bootstrap_reps: int = 999,
    permutation_reps: int = 199,
    figures: bool = True,
    comparison: str = taxonomy.COMPARISON_OFFENCE,
) -> list[Path]:
    """Fit the national models on a loaded store and write tables/ and figures/ under `out`
    (`comparison`: the link models' negative-control offence)."""
    from threadpoolctl import threadpool_limits

    # One BLAS thread: faster for these small matrices (measured 6.1 s against 8.6 s on 2
    # cores), and the result does not then vary with the machine's core count.
    with threadpool_limits(1):
        return _write_analysis(st, out, offence, year, bootstrap_reps, permutation_reps, figures, comparison)


def _write_analysis(
    st: Store,
    out: Path,
    offence: str,
    year: str | None,
    bootstrap_reps: int,
    permutation_reps: int,
    figures: bool,
    comparison: str = taxonomy.COMPARISON_OFFENCE,
) -> list[Path]:
    syn = st.synthetic
    written: list[Path] = []

    def put(frame: pd.DataFrame, output: o.Output, **fields: str) -> None:
        written.append(output.save(out, _label(frame, syn), **fields))

    panel = force_year(st.outcomes, st.recorded, offence, synthetic=syn)
    nat = national_year(panel, synthetic=syn)
    years = sorted(panel["financial_year"].unique())
    y = resolve_year(panel, year)

    # funnels for every year (units, limits to draw, a summary line), and shrinkage and rank
    # intervals for every year: the notebooks read these, whichever year they show
    summaries, shrunk = [], []
    funnel_alt: dict[str, str] = {}
    for fy in years:
        rows = closed_in_year(panel, fy)
        if len(rows) < 3:
            continue
        f = funnel.funnel(rows, label=fy)
        units = f.units.copy()
        units.insert(0, "financial_year", fy)
        put(units, o.FUNNEL, year=fy)
        put(f.limits, o.FUNNEL_LIMITS, year=fy)
        summaries.append(_funnel_summary(f))
        sh = shrinkage.shrink(rows)
        units = sh.units.copy()
        units.insert(0, "financial_year", fy)
        for k in ("method", "tau2", "tau", "rankability", "pooled_rate"):
            units[f"summary_{k}"] = sh.summary[k]
        shrunk.append(units)
        if fy == y:
            shrunk_y = sh
        if fy == y and figures:
            path = o.FUNNEL_FIGURE.path(out, year=fy)
            fig = plots.funnel_plot(f, synthetic=syn, title=f"Stalking charge rates {fy}")
            written.append(plots.save(fig, path))
            funnel_alt[path.name] = verdicts.alt_funnel(f.units, f.summary["levels"], fy)
    put(pd.concat(shrunk, ignore_index=True), o.SHRINKAGE)

    brk = taxonomy.RECLASSIFICATION_BREAK.first_year
    change = None
    if link.PRE in years and brk in years:
        change = funnel.change_funnel(panel, link.PRE, brk)
        put(change.units, o.FUNNEL_CHANGE, year_from=link.PRE, year_to=brk)
        put(change.limits, o.FUNNEL_CHANGE_LIMITS, year_from=link.PRE, year_to=brk)
        summaries.append(_funnel_summary(change))
    put(pd.DataFrame(summaries), o.FUNNEL_SUMMARY)

    lk = link.run_link(
        st.outcomes,
        st.recorded,
        bootstrap_reps=bootstrap_reps,
        permutation_reps=permutation_reps,
        comparison=taxonomy.normalise_offence_code(comparison),
    )
    put(lk.models, o.LINK_MODELS)
    put(lk.event_study, o.EVENT_STUDY)
    put(lk.panel, o.LINK_PANEL)
    put(lk.force_residuals, o.LINK_FORCE_RESIDUALS)
    put(lk.influence, o.LINK_INFLUENCE)
    put(lk.dose_spline, o.LINK_DOSE_SPLINE)
    put(lk.dose_thirds, o.LINK_DOSE_THIRDS)
    written.append(o.LINK_MODEL.save(out, link_text.described(lk, syn)))

    pairs = (
        [(link.PRE, brk), (years[0], years[-1])]
        if link.PRE in years and brk in years
        else [(years[0], years[-1])]
    )
    phi = decompose.quarterly_dispersion(st.outcomes, offence, tuple(y for pair in pairs for y in pair))
    decs = [decompose.decompose(panel, a, b, phi=phi) for a, b in pairs]
    mix = (
        decompose.by_offence(st.outcomes, st.recorded, *pairs[0], phi=phi)
        if offence == taxonomy.STALKING
        else None
    )
    put(decs[0].forces.assign(year_from=pairs[0][0], year_to=pairs[0][1]), o.DECOMPOSITION_FORCES)
    put(pd.concat([d.summary for d in decs + ([mix] if mix else [])], ignore_index=True), o.DECOMPOSITION)

    if figures:
        written += _national_figures(st, panel, nat, y, shrunk_y, lk, decs[0], change, Path(out), funnel_alt)
    return written


def _national_figures(
    st: Store, panel, nat, y: str, shrunk_y, lk, dec, change, out: Path, alts: dict[str, str]
) -> list[Path]:
    """The national figures, and their alt-text file (outputs.FIGURE_ALT) (`alts` holds the
    funnel's, drawn with the funnels)."""
    syn = st.synthetic
    slope = first_difference_slope(lk.models)
    vols = {}
    for code in taxonomy.shown_offences(st.outcomes["offence_code"].unique()):
        p = force_year(st.outcomes, st.recorded, code, synthetic=syn)
        vols[code] = national_year(p, synthetic=syn)
    years = sorted(panel["financial_year"].unique())
    made = {
        "national_trends": (plots.trend_plot(nat, synthetic=syn), verdicts.alt_trend(nat)),
        "caterpillar": (
            plots.caterpillar_plot(shrunk_y, synthetic=syn),
            verdicts.alt_caterpillar(shrunk_y.units, y, shrunk_y.summary["rankability"]),
        ),
        "dose_response": (
            plots.dose_response_plot(lk.panel, slope, synthetic=syn),
            verdicts.alt_dose_response(slope),
        ),
        "event_study": (
            plots.event_study_plot(lk.event_study, synthetic=syn),
            verdicts.alt_event_study(lk.event_study, link.PRE),
        ),
        "link_influence": (
            plots.influence_plot(lk.influence, lk.primary["estimate"], synthetic=syn),
            verdicts.alt_influence(lk.influence, lk.primary["estimate"]),
        ),
        "link_dose_spline": (
            plots.dose_spline_plot(lk.dose_spline, lk.dose_thirds, synthetic=syn),
            verdicts.alt_dose_spline(lk.dose_spline, lk.primary["dose_spline"]),
        ),
        "decomposition": (
            plots.decomposition_plot(dec, synthetic=syn),
            verdicts.alt_decomposition(dec.summary),
        ),
        "national_volumes": (
            plots.volume_plot(vols, synthetic=syn),
            verdicts.alt_volumes(list(vols), years),
        ),
    }
    if change is not None:
        made["funnel_change"] = (
            plots.change_funnel_plot(change, synthetic=syn),
            verdicts.alt_funnel(change.units, change.summary["levels"], change.summary["label"], change=True),
        )
    paths = {name: o.NATIONAL_FIGURES[name].path(out) for name in made}
    written = [plots.save(fig, paths[name]) for name, (fig, _) in made.items()]
    alts = alts | {paths[name].name: alt for name, (_, alt) in made.items()}
    return [*written, o.FIGURE_ALT.save(out, alts)]
