"""The national analysis, run once per source and offence: fits the models (analysis.stats.national)
and writes them as the tables the notebooks and force reports read, with their figures.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import outputs as o
from analysis.domain import rules, taxonomy
from analysis.errors import InputError
from analysis.reports import link_text, plots, verdicts
from analysis.reports.tables import checked_offence
from analysis.sources.store import Store
from analysis.stats import force_gaps, funnel, link, national
from analysis.stats.measures import data_source_label, force_year, national_year


def _label(frame: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    frame = frame.copy()
    frame["data_source"] = data_source_label(synthetic)
    return frame


def _funnel_summary(f: funnel.FunnelResult, left_out: list[str]) -> dict:
    """A funnel's summary as one row of the funnel summary table, with the force-years the
    comparison rule left out (`left_out`) beside any the funnel itself could not use."""
    s = {k: v for k, v in f.summary.items() if k not in ("excluded", "levels", "levels_adjusted")}
    s["excluded"] = "; ".join([*left_out, *f.summary["excluded"]])
    s["sensitivity"] = f.sensitivity()
    return s


def _notes(left: pd.DataFrame) -> list[str]:
    """'Kent 2019/20: its count of charges is not published (file ...)', one per force-year."""
    return [f"{r.force} {r.financial_year}: {r.reason} (file {r.source_file})" for r in left.itertuples()]


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
    comparison: tuple[str, ...] | None = None,
) -> list[Path]:
    """Fit the national models on a loaded store and write tables/ and figures/ under `out`
    (`comparison`: the link models' comparison set of offence codes; None for the set fixed in
    advance, less the offence analysed)."""
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
    comparison: tuple[str, ...] | None = None,
) -> list[Path]:
    syn = st.synthetic
    written: list[Path] = []
    code = checked_offence(st, offence)
    codes = taxonomy.comparison_for(code, comparison)
    if code in codes:
        raise InputError(
            f"--comparison {','.join(codes)} holds {code}, the offence analysed: the link models' "
            "comparison set must be other offences (leave --comparison out for the set fixed in "
            f"advance, {','.join(taxonomy.comparison_for(code))})."
        )

    def put(frame: pd.DataFrame, output: o.Output, **fields: str) -> None:
        written.append(output.save(out, _label(frame, syn), **fields))

    fitted = national.fit(st.outcomes, st.recorded, code, year, bootstrap_reps, permutation_reps, codes, syn)
    # funnels for every year (units, limits to draw, a summary line), and shrinkage and rank
    # intervals for every year: the notebooks read these, whichever year they show
    summaries, shrunk = [], []
    for c in fitted.years:
        units = c.funnel.units.copy()
        units.insert(0, "financial_year", c.year)
        put(units, o.FUNNEL, year=c.year)
        put(c.funnel.limits, o.FUNNEL_LIMITS, year=c.year)
        summaries.append(_funnel_summary(c.funnel, _notes(c.left_out)))
        units = c.shrinkage.units.copy()
        units.insert(0, "financial_year", c.year)
        for k in ("method", "tau2", "tau", "rankability", "pooled_rate"):
            units[f"summary_{k}"] = c.shrinkage.summary[k]
        shrunk.append(units)
    put(pd.concat(shrunk, ignore_index=True), o.SHRINKAGE)
    lefts = [c.left_out for c in fitted.years]
    change = fitted.change
    if change is not None:
        years = dict(zip(("year_from", "year_to"), fitted.pairs[0]))
        put(change.units, o.FUNNEL_CHANGE, **years)
        put(change.limits, o.FUNNEL_CHANGE_LIMITS, **years)
        summaries.append(_funnel_summary(change, _notes(fitted.change_left_out)))
        lefts.append(fitted.change_left_out)
    put(pd.DataFrame(summaries), o.FUNNEL_SUMMARY)
    put(
        pd.concat(lefts, ignore_index=True) if lefts else pd.DataFrame(columns=o.LEFT_OUT.columns), o.LEFT_OUT
    )

    lk = fitted.link
    put(lk.models, o.LINK_MODELS)
    put(lk.event_study, o.EVENT_STUDY)
    put(lk.panel, o.LINK_PANEL)
    put(lk.force_residuals, o.LINK_FORCE_RESIDUALS)
    put(force_gaps.of_link(lk).table, o.LINK_FORCE_GAPS)
    put(lk.influence, o.LINK_INFLUENCE)
    put(lk.dose_spline, o.LINK_DOSE_SPLINE)
    put(lk.dose_thirds, o.LINK_DOSE_THIRDS)
    put(lk.first_difference, o.LINK_FIRST_DIFFERENCE)
    written.append(o.LINK_MODEL.save(out, link_text.described(lk, syn)))

    (a, b), decs = fitted.pairs[0], fitted.decompositions
    put(decs[0].forces.assign(year_from=a, year_to=b), o.DECOMPOSITION_FORCES)
    mix = [fitted.mix] if fitted.mix else []
    put(pd.concat([d.summary for d in decs + mix], ignore_index=True), o.DECOMPOSITION)

    if figures:
        # made at the resolution they are saved at, so that the layout finish() does for the
        # source line is the one the save uses (plots.render_png), not done again
        with plots.plt.rc_context({"figure.dpi": plots.FILE_DPI}):
            written += _national_figures(st, fitted, Path(out))
    return written


def _save_figure(fig: plots.plt.Figure, entry: o.Output, out: Path, **fields: str) -> list[Path]:
    """A national figure's PNG and, beside it, the numbers it draws (outputs.FIGURE_DATA), written
    after the PNG so that the points' pixel positions are those of the saved image."""
    png = plots.save(fig, entry.path(out, **fields))
    data = plots.plotted_data(fig)
    if data is None:
        return [png]
    return [png, o.FIGURE_DATA[entry.key].save(out, data, **fields)]


def _national_figures(st: Store, fitted: national.National, out: Path) -> list[Path]:
    """The national figures (the funnel of the headline year among them), each with the CSV of
    what it draws, and their alt-text file (outputs.FIGURE_ALT)."""
    syn = st.synthetic
    lk, nat, y, code = fitted.link, fitted.national, fitted.year, fitted.offence
    slope = first_difference_slope(lk.models)
    noun = rules.offence_noun(code)
    vols = {}
    for other in taxonomy.shown_offences(st.outcomes["offence_code"].unique()):
        vols[other] = national_year(force_year(st.outcomes, st.recorded, other, synthetic=syn), synthetic=syn)
    years = sorted(fitted.panel["financial_year"].unique())
    shrunk_y, dec, change = fitted.comparison(y).shrinkage, fitted.decompositions[0], fitted.change
    f = fitted.comparison(y).funnel
    funnel_path = o.FUNNEL_FIGURE.path(out, year=y)
    funnel_fig = plots.funnel_plot(f, synthetic=syn, title=f"{rules.offence_title(code)} charge rates {y}")
    written = _save_figure(funnel_fig, o.FUNNEL_FIGURE, out, year=y)
    alts = {funnel_path.name: verdicts.alt_funnel(f.units, f.summary["levels"], y)}
    made = {
        "national_trends": (plots.trend_plot(nat, synthetic=syn), verdicts.alt_trend(nat)),
        "caterpillar": (
            plots.caterpillar_plot(shrunk_y, synthetic=syn),
            verdicts.alt_caterpillar(shrunk_y.units, y, shrunk_y.summary["rankability"]),
        ),
        "dose_response": (
            plots.dose_response_plot(lk.first_difference, slope, synthetic=syn, noun=noun),
            verdicts.alt_dose_response(slope, noun=noun),
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
            plots.dose_spline_plot(lk.dose_spline, lk.dose_thirds, synthetic=syn, noun=noun),
            verdicts.alt_dose_spline(lk.dose_spline, lk.primary["dose_spline"], noun),
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
    for name, (fig, _) in made.items():
        written += _save_figure(fig, o.NATIONAL_FIGURES[name], out)
    alts |= {paths[name].name: alt for name, (_, alt) in made.items()}
    return [*written, o.FIGURE_ALT.save(out, alts)]
