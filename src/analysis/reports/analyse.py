"""The national analysis, run once per source: funnels, shrinkage and ranks, the link models,
the decomposition, and their figures, written as the tables the notebooks and force reports read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.domain import periods, taxonomy
from analysis.reports import link_text, plots
from analysis.reports.headlines import default_year
from analysis.reports.tables import resolve_year
from analysis.sources.store import Store, write_csv, write_json
from analysis.stats import decompose, funnel, link, shrinkage
from analysis.stats.measures import data_source_label, force_year, national_year


def _label(frame: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    frame = frame.copy()
    frame["data_source"] = data_source_label(synthetic)
    return frame


def write_analysis(
    st: Store,
    out: Path,
    offence: str = taxonomy.STALKING,
    year: str | None = None,
    bootstrap_reps: int = 999,
    permutation_reps: int = 199,
    figures: bool = True,
) -> list[Path]:
    """Fit the national models on a loaded store and write tables/ and figures/ under `out`."""
    from threadpoolctl import threadpool_limits

    # One BLAS thread: faster for these small matrices (measured 6.1 s against 8.6 s on 2
    # cores), and the result does not then vary with the machine's core count.
    with threadpool_limits(1):
        return _write_analysis(st, out, offence, year, bootstrap_reps, permutation_reps, figures)


def _write_analysis(
    st: Store,
    out: Path,
    offence: str,
    year: str | None,
    bootstrap_reps: int,
    permutation_reps: int,
    figures: bool,
) -> list[Path]:
    syn = st.synthetic
    tables, figs = Path(out) / "tables", Path(out) / "figures"
    written: list[Path] = []

    def put(frame: pd.DataFrame, name: str) -> None:
        path = tables / name
        write_csv(_label(frame, syn), path)
        written.append(path)

    panel = force_year(st.outcomes, st.recorded, offence, synthetic=syn)
    nat = national_year(panel, synthetic=syn)
    years = sorted(panel["financial_year"].unique())
    y = resolve_year(year, years) or default_year(panel)

    # funnels for every year, and a summary line per year
    summaries = []
    for fy in years:
        rows = panel[(panel["financial_year"] == fy) & (panel["outcomes_closed"] > 0)]
        if len(rows) < 3:
            continue
        f = funnel.funnel(rows, label=fy)
        units = f.units.copy()
        units.insert(0, "financial_year", fy)
        put(units, f"funnel_{periods.fy_slug(fy)}.csv")
        s = {k: v for k, v in f.summary.items() if k not in ("excluded", "levels", "levels_adjusted")}
        s["excluded"] = "; ".join(f.summary["excluded"])
        s["sensitivity"] = f.sensitivity()
        summaries.append(s)
        if fy == y and figures:
            written.append(
                plots.save(
                    plots.funnel_plot(f, synthetic=syn, title=f"Stalking charge rates {fy}"),
                    figs / f"funnel_{periods.fy_slug(fy)}.png",
                )
            )
    put(pd.DataFrame(summaries), "funnel_summary.csv")

    brk = taxonomy.RECLASSIFICATION_BREAK.first_year
    change = None
    if link.PRE in years and brk in years:
        change = funnel.change_funnel(panel, link.PRE, brk)
        put(change.units, f"funnel_change_{periods.fy_slug(link.PRE)}_{periods.fy_slug(brk)}.csv")

    rows = panel[(panel["financial_year"] == y) & (panel["outcomes_closed"] > 0)]
    sh = shrinkage.shrink(rows)
    units = sh.units.copy()
    units.insert(0, "financial_year", y)
    for k in ("method", "tau2", "rankability", "pooled_rate"):
        units[f"summary_{k}"] = sh.summary[k]
    put(units, "shrinkage.csv")

    lk = link.run_link(
        st.outcomes, st.recorded, bootstrap_reps=bootstrap_reps, permutation_reps=permutation_reps
    )
    put(lk.models, "link_models.csv")
    put(lk.event_study, "event_study.csv")
    put(lk.panel, "link_panel.csv")
    put(lk.force_residuals, "link_force_residuals.csv")
    write_json(link_text.described(lk, syn), tables / "link_model.json")
    written.append(tables / "link_model.json")

    pairs = (
        [(link.PRE, brk), (years[0], years[-1])]
        if link.PRE in years and brk in years
        else [(years[0], years[-1])]
    )
    decs = [decompose.decompose(panel, a, b) for a, b in pairs]
    put(decs[0].forces.assign(year_from=pairs[0][0], year_to=pairs[0][1]), "decomposition_forces.csv")
    put(pd.concat([d.summary for d in decs], ignore_index=True), "decomposition.csv")

    if figures:
        written += [
            plots.save(plots.trend_plot(nat, synthetic=syn), figs / "national_trends.png"),
            plots.save(plots.caterpillar_plot(sh, synthetic=syn), figs / "caterpillar.png"),
            plots.save(plots.dose_response_plot(lk.panel, synthetic=syn), figs / "dose_response.png"),
            plots.save(plots.event_study_plot(lk.event_study, synthetic=syn), figs / "event_study.png"),
            plots.save(plots.decomposition_plot(decs[0], synthetic=syn), figs / "decomposition.png"),
        ]
        if change is not None:
            written.append(
                plots.save(plots.change_funnel_plot(change, synthetic=syn), figs / "funnel_change.png")
            )
        vols = {}
        for code in sorted(set(st.outcomes["offence_code"])):
            p = force_year(st.outcomes, st.recorded, code, synthetic=syn)
            vols[code] = national_year(p, synthetic=syn)
        written.append(plots.save(plots.volume_plot(vols, synthetic=syn), figs / "national_volumes.png"))
    return written
