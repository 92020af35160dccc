"""Every figure, one function each, one colour-blind-safe palette (Okabe-Ito).

Each function returns a matplotlib Figure; the numbers behind it are in the result object it was
given. Time axes mark the counting-rule breaks; figures from generated data say so across the
plot.
"""

from __future__ import annotations

import base64
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (papermill, nbval, JupyterLab), where the kernel's inline
    backend must stay in charge so that figures show in the notebook."""
    return "ipykernel" in sys.modules


if not _in_kernel():
    matplotlib.use("Agg")  # scripts and the CLI: no display, no GUI toolkit
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from analysis.domain import rules, taxonomy  # noqa: E402
from analysis.stats import funnel as funnel_mod  # noqa: E402

PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "red": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}
SERIES = [PALETTE[k] for k in ("blue", "orange", "green", "red", "purple", "sky")]
# Flags are coloured by direction, darker beyond the widest limit (whatever the levels are).
FLAG_COLOURS = {
    ("high", "outer"): PALETTE["red"],
    ("high", "inner"): PALETTE["orange"],
    ("low", "outer"): PALETTE["blue"],
    ("low", "inner"): PALETTE["sky"],
}
DEMO_LABEL = "GENERATED DEMO DATA – not real figures"
# Byte-reproducible PNGs: no software version (matplotlib writes no date into a PNG).
PNG_METADATA = {"Software": None}


def flag_colour(direction: str, level: float, levels: list[float]) -> str:
    """The colour of a funnel flag: grey within, else by direction and tier."""
    if direction == "within":
        return PALETTE["grey"]
    return FLAG_COLOURS[(direction, "outer" if level >= max(levels) else "inner")]


def percent_axis(axis) -> None:
    """Show a 0-1 share axis in per cent."""
    axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


@dataclass
class Shown:
    """A figure as a notebook shows it: PNG with its alt text (the text/plain output, so nbval
    compares the alt text while ignoring the image). A `name` marks a figure that `run` also
    saves as a file, `<report>/<name>.png` (analysis.runs.runner.save_figures). A figure the
    national analysis already drew is shown from its file's bytes (`data`), not drawn again."""

    fig: plt.Figure | None
    alt: str
    name: str | None = None
    data: bytes | None = None

    def png(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.fig is not None
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata=PNG_METADATA)
        return buf.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"image/png": base64.b64encode(self.png()).decode("ascii"), "text/plain": self.alt}
        meta: dict[str, str] = {"alt": self.alt}
        if self.name:
            meta[FIGURE_NAME] = self.name
        return data, {"image/png": meta}


FIGURE_NAME = "figure_name"  # the PNG output's metadata key naming a figure to save as a file


def show(fig: plt.Figure, alt: str, name: str | None = None) -> Shown:
    """A figure for a notebook cell, with alt text (and a file name if `run` should save it);
    closed in pyplot so it is shown once."""
    plt.close(fig)
    return Shown(fig, alt, name)


def shown_file(png: bytes, alt: str) -> Shown:
    """A figure already drawn and saved (its PNG bytes), for a notebook cell, with its alt text."""
    return Shown(None, alt, data=png)


def style() -> None:
    """The package's plot style."""
    sns.set_theme(style="whitegrid", palette=SERIES, font_scale=0.9)


def mark_demo(fig: plt.Figure, synthetic: bool) -> None:
    """Write the demo-data label across a figure made from generated data."""
    if synthetic:
        fig.text(
            0.5,
            0.5,
            DEMO_LABEL,
            ha="center",
            va="center",
            rotation=20,
            fontsize=20,
            color=PALETTE["red"],
            alpha=0.18,
            weight="bold",
            zorder=100,
        )
        # above the plot, where no tick label can be: a tight bounding box keeps it in
        fig.text(1.0, 1.0, DEMO_LABEL, ha="right", va="bottom", fontsize=8, color=PALETTE["red"])


def mark_breaks(ax: plt.Axes, years: list[str]) -> None:
    """Dashed lines and labels at the counting-rule breaks on a categorical year axis."""
    for b in taxonomy.COUNTING_RULE_BREAKS:
        if b.first_year in years:
            x = years.index(b.first_year) - 0.5
            ax.axvline(x, color=PALETTE["grey"], ls="--", lw=1)
            ax.text(
                x + 0.05,
                0.98,
                b.label,
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                va="top",
                ha="left",
                color="#555555",
                rotation=90,
            )


def _err(centre, low, high) -> list[np.ndarray]:
    """Error-bar lengths from an interval, never negative (rounding, or a centre outside a
    percentile interval)."""
    c, lo, hi = (np.asarray(v, dtype=float) for v in (centre, low, high))
    return [np.clip(c - lo, 0, None), np.clip(hi - c, 0, None)]


def save(fig: plt.Figure, path: Path | str) -> Path:
    """Save a PNG with no version or date metadata (same inputs, same bytes), and close it."""
    from analysis.files import atomic_write

    path = Path(path)
    # through a temporary file and a rename: a reader never meets half an image
    atomic_write(
        path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata=PNG_METADATA)
    )
    plt.close(fig)
    return path


def _label_points(
    ax: plt.Axes,
    points: list[tuple[str, float, float]],
    fontsize: float = 7,
    first: tuple[str, float, float] | None = None,
) -> None:
    """Label points without overlaps: try four offsets around each point and skip a label that
    fits nowhere (the tables list every force). `first` (the highlighted force) is placed
    first, larger and bold."""
    fig = ax.get_figure(root=True)
    assert isinstance(fig, plt.Figure)
    fig.draw_without_rendering()  # transforms are final only after a draw (layout, no pixels)
    taken: list[tuple[float, float, float, float]] = []
    scale = fig.dpi / 72
    ordered = [(p, True) for p in ([first] if first else [])] + [
        (p, False) for p in sorted(points, key=lambda p: p[2])
    ]
    for (name, x, y), bold in ordered:
        size = fontsize + 2 if bold else fontsize
        px, py = ax.transData.transform((x, y))
        w, h = len(name) * size * (0.62 if bold else 0.55) * scale, size * 1.3 * scale
        for dx, dy, ha in ((5, 2, "left"), (5, -12, "left"), (-5, 2, "right"), (-5, -12, "right")):
            dx = dx * 2 if bold else dx
            x0 = px + dx * scale - (w if ha == "right" else 0)
            y0 = py + dy * scale
            box = (x0, y0, x0 + w, y0 + h)
            if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in taken):
                taken.append(box)
                ax.annotate(
                    name,
                    (x, y),
                    xytext=(dx, dy),
                    textcoords="offset points",
                    fontsize=size,
                    ha=ha,
                    weight="bold" if bold else "normal",
                )
                break


def funnel_plot(
    result,
    method: str = "tau2",
    title: str = "",
    synthetic: bool = False,
    highlight: str | None = None,
    unit: str = "force",
) -> plt.Figure:
    """Funnel plot: each force's rate against its denominator, with the limits of one method
    (and the exact binomial limits faint for comparison)."""
    style()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    lim = result.limits
    for lv, ls in zip(sorted(result.summary["levels"]), ("--", "-")):
        for mth, colour, alpha in (("exact", PALETTE["grey"], 0.6), (method, PALETTE["black"], 1.0)):
            if mth == "exact" and method == "exact" and alpha < 1:
                continue
            sub = lim[(lim["method"] == mth) & (lim["level"] == lv)]
            lab = f"{100 * lv:.3g}% ({'exact binomial' if mth == 'exact' else mth})"
            ax.plot(sub["n"], sub["upper"], ls=ls, color=colour, alpha=alpha, lw=1, label=lab)
            ax.plot(sub["n"], sub["lower"], ls=ls, color=colour, alpha=alpha, lw=1)
    ax.axhline(result.summary["target"], color=PALETTE["green"], lw=1.2, label="target (pooled)")
    u = result.units
    d_col, l_col = funnel_mod.flag_columns(method)
    levels = result.summary["levels"]
    for (direction, level), group in u.fillna({l_col: 0}).groupby([d_col, l_col]):
        ax.scatter(
            group["n"],
            group["rate"],
            s=28,
            color=flag_colour(direction, level, levels),
            edgecolor="white",
            lw=0.5,
            label=f"{funnel_mod.flag_label(direction, level)} ({len(group)})",
            zorder=3,
        )
    if highlight is not None:
        row = u[u[unit] == highlight]
        if len(row):
            ax.scatter(
                row["n"], row["rate"], s=120, facecolor="none", edgecolor=PALETTE["black"], lw=2, zorder=4
            )
    ax.set_xscale("log")
    percent_axis(ax.yaxis)
    outer = u[(u[d_col] != "within") & (u[l_col] >= max(levels)) & (u[unit] != highlight)]
    marked = u[u[unit] == highlight] if highlight is not None else u.iloc[:0]
    _label_points(
        ax,
        [(r[unit], r["n"], r["rate"]) for _, r in outer.iterrows()],
        first=(str(highlight), marked["n"].iloc[0], marked["rate"].iloc[0]) if len(marked) else None,
    )
    ax.set_xlabel("investigations closed in the year (log scale)")
    ax.set_ylabel("charged or summonsed")
    s = result.summary
    ax.set_title(title or f"Funnel plot {s.get('label', '')}".strip())
    ax.text(
        0.01,
        0.01,
        f"phi = {s['phi']:.2f}, tau² = {s['tau2']:.4f} (arcsine scale); forces beyond the "
        f"{100 * max(levels):.3g}% limits are named",
        transform=ax.transAxes,
        fontsize=8,
        color="#444444",
    )
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    mark_demo(fig, synthetic)
    return fig


def change_funnel_plot(
    result, method: str = "tau2", synthetic: bool = False, unit: str = "force"
) -> plt.Figure:
    """Funnel for the change between two years: change against precision."""
    style()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    lim = result.limits
    for lv, ls in zip(sorted(result.summary["levels"]), ("--", "-")):
        sub = lim[(lim["method"] == method) & (lim["level"] == lv)]
        ax.plot(
            sub["precision"],
            sub["upper"],
            ls=ls,
            color=PALETTE["black"],
            lw=1,
            label=f"{100 * lv:.3g}% ({method})",
        )
        ax.plot(sub["precision"], sub["lower"], ls=ls, color=PALETTE["black"], lw=1)
    ax.axhline(result.summary["target"], color=PALETTE["green"], label="pooled change")
    u = result.units
    d_col, l_col = funnel_mod.flag_columns(method)
    levels = result.summary["levels"]
    for (direction, level), g in u.fillna({l_col: 0}).groupby([d_col, l_col]):
        ax.scatter(
            g["precision"],
            g["change"],
            color=flag_colour(direction, level, levels),
            s=28,
            label=f"{funnel_mod.flag_label(direction, level)} ({len(g)})",
            zorder=3,
        )
    ax.set_xscale("log")
    outer = u[(u[d_col] != "within") & (u[l_col] >= max(levels))]
    _label_points(ax, [(r[unit], r["precision"], r["change"]) for _, r in outer.iterrows()])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    ax.set_xlabel("precision of the change (1 / variance, log scale)")
    ax.set_ylabel("change in share charged (percentage points)")
    ax.set_title(f"Funnel plot for the {result.summary['label']}")
    ax.legend(fontsize=7)
    mark_demo(fig, synthetic)
    return fig


def caterpillar_plot(
    result, synthetic: bool = False, unit: str = "force", highlight: str | None = None
) -> plt.Figure:
    """Raw rates with Wilson intervals beside shrunken rates with posterior intervals,
    forces ordered by shrunken rate, with rank intervals in the labels."""
    style()
    u = result.units.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, max(6, 0.22 * len(u))))
    y = np.arange(len(u))
    ax.errorbar(
        u["raw_rate"],
        y + 0.18,
        xerr=_err(u["raw_rate"], u["raw_low"], u["raw_high"]),
        fmt="o",
        ms=3,
        color=PALETTE["grey"],
        lw=1,
        label="raw (Wilson 95%)",
    )
    ax.errorbar(
        u["shrunk_rate"],
        y - 0.18,
        xerr=_err(u["shrunk_rate"], u["shrunk_low"], u["shrunk_high"]),
        fmt="o",
        ms=4,
        color=PALETTE["blue"],
        lw=1.5,
        label="shrunken (hierarchical model, 95%)",
    )
    ax.axvline(
        result.summary["pooled_rate"], color=PALETTE["green"], lw=1, label="overall (random-effects mean)"
    )
    labels = [f"{f}  (rank {lo}–{hi})" for f, lo, hi in zip(u[unit], u["rank_low"], u["rank_high"])]
    ax.set_yticks(y, labels, fontsize=7)
    if highlight is not None and highlight in set(u[unit]):
        i = list(u[unit]).index(highlight)
        ax.get_yticklabels()[i].set_fontweight("bold")
        ax.axhspan(i - 0.5, i + 0.5, color=PALETTE["yellow"], alpha=0.3)
    percent_axis(ax.xaxis)
    ax.set_xlabel("closed investigations charged or summonsed")
    ax.set_title(f"Raw and shrunken rates (rankability {result.summary['rankability']:.2f})")
    ax.legend(fontsize=7, loc="lower right")
    mark_demo(fig, synthetic)
    return fig


def trend_plot(
    national: pd.DataFrame,
    force_rows: pd.DataFrame | None = None,
    measures: tuple[str, ...] = (
        "charge_rate_closed",
        "evidential_difficulties_rate_closed",
        "no_suspect_rate_closed",
    ),
    synthetic: bool = False,
    title: str = "",
) -> plt.Figure:
    """Outcome shares by year with intervals (England and Wales, and a force if given); the
    offence is the table's."""
    style()
    years = sorted(national["financial_year"].unique())
    fig, ax = plt.subplots(figsize=(9, 5))
    x = np.arange(len(years))
    for i, m in enumerate(measures):
        nat = national.set_index("financial_year").reindex(years)
        c = SERIES[i % len(SERIES)]
        label = m.replace("_rate_closed", "").replace("_", " ")
        ax.plot(x, nat[m], color=c, lw=2, label=f"England and Wales: {label}")
        ax.fill_between(x, nat[f"{m}_low"], nat[f"{m}_high"], color=c, alpha=0.15)
        if force_rows is not None and len(force_rows):
            fr = force_rows.set_index("financial_year").reindex(years)
            ax.errorbar(
                x,
                fr[m],
                yerr=_err(fr[m], fr[f"{m}_low"], fr[f"{m}_high"]),
                fmt="o--",
                color=c,
                ms=4,
                lw=1,
                capsize=2,
                label=f"{force_rows['force'].iloc[0]}: {label}",
            )
    ax.set_xticks(x, years, rotation=45)
    ax.set_ylim(0, 1)
    percent_axis(ax.yaxis)
    ax.set_ylabel("investigations closed in the year")
    noun = rules.offence_noun(rules.offence_of(national))
    ax.set_title(title or f"Outcomes of {noun} investigations (closed basis)")
    mark_breaks(ax, years)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    mark_demo(fig, synthetic)
    return fig


def volume_plot(national_by_offence: dict[str, pd.DataFrame], synthetic: bool = False) -> plt.Figure:
    """Offences recorded per year by offence code, with the counting-rule breaks."""
    style()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    years = sorted(set().union(*(set(t["financial_year"]) for t in national_by_offence.values())))
    x = np.arange(len(years))
    for i, (code, t) in enumerate(national_by_offence.items()):
        s = t.set_index("financial_year").reindex(years)["offences_recorded"]
        name = taxonomy.OFFENCE_BY_CODE[code].description if code in taxonomy.OFFENCE_BY_CODE else code
        ax.plot(x, s, "o-", color=SERIES[i], label=f"{code} {name}")
    ax.set_xticks(x, years, rotation=45)
    ax.set_ylabel("offences recorded (England and Wales)")
    ax.set_title("Recorded offences by year")
    mark_breaks(ax, years)
    ax.legend(fontsize=8)
    mark_demo(fig, synthetic)
    return fig


def dose_response_plot(
    points: pd.DataFrame,
    slope: float,
    synthetic: bool = False,
    highlight: str | None = None,
    noun: str = "stalking",
) -> plt.Figure:
    """Each force's change in logit charge rate against its dose (the rise in recorded `noun`),
    with the first-difference estimate's line: `points` are that estimator's own (the link
    first-difference table), `slope` its estimate (the link models table); the figure fits nothing.
    Its weighted least-squares line passes through the weighted mean point, so that point and
    the slope fix the line.
    """
    style()
    pts = points.set_index("force")
    dose, change, size, w = pts["dose"], pts["change_logit"], pts["closed_post"], pts["weight"]
    both = pts.index
    pre, post = pts["years_from"].iloc[0].split("+"), pts["years_to"].iloc[0].split("+")
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    ax.scatter(
        dose, change, s=10 + 200 * size / size.max(), color=PALETTE["blue"], alpha=0.7, edgecolor="white"
    )
    x0, y0 = np.average(dose, weights=w), np.average(change, weights=w)
    xs = np.linspace(dose.min(), dose.max(), 50)
    ax.plot(
        xs,
        y0 + slope * (xs - x0),
        color=PALETTE["red"],
        lw=1.5,
        label=f"first-difference estimate, slope {slope:.3f}",
    )
    if highlight is not None and highlight in both:
        ax.scatter([dose[highlight]], [change[highlight]], s=150, facecolor="none", edgecolor="black", lw=2)
        ax.annotate(
            highlight,
            (dose[highlight], change[highlight]),
            xytext=(8, 8),
            textcoords="offset points",
            weight="bold",
        )
    ax.set_xlabel(
        f"dose: log growth in recorded {noun}, {taxonomy.RECLASSIFICATION_BREAK.first_year} vs previous year"
    )
    ax.set_ylabel(f"change in log-odds of charge ({'+'.join(post)} vs {'+'.join(pre)})")
    ax.set_title(f"Forces whose recorded {noun} rose more, and their charge rates")
    ax.text(
        0.01,
        0.01,
        "No force has zero dose: this compares larger rises with smaller ones.",
        transform=ax.transAxes,
        fontsize=8,
        color="#444444",
    )
    ax.legend(fontsize=8)
    mark_demo(fig, synthetic)
    return fig


def event_study_plot(es: pd.DataFrame, synthetic: bool = False, truth: float | None = None) -> plt.Figure:
    """Dose x year coefficients with intervals; reference year at 0."""
    style()
    years = list(es["financial_year"])
    x = np.arange(len(years))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.errorbar(
        x,
        es["estimate"],
        yerr=_err(es["estimate"], es["ci_low"], es["ci_high"]),
        fmt="o",
        color=PALETTE["blue"],
        capsize=3,
    )
    ax.axhline(0, color=PALETTE["black"], lw=0.8)
    if truth is not None:
        ax.axhline(truth, color=PALETTE["green"], ls=":", label=f"true link_slope ({truth:g})")
        ax.legend(fontsize=8)
    ax.set_xticks(x, years, rotation=45)
    ax.set_ylabel("dose x year coefficient (log-odds of charge)")
    ax.set_title("Event study: charge odds by dose, relative to 2019/20")
    mark_breaks(ax, years)
    mark_demo(fig, synthetic)
    return fig


def decomposition_plot(decomp, synthetic: bool = False, top: int = 12) -> plt.Figure:
    """The national change split into mix and rate, and the forces contributing most."""
    style()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [1, 1.6]})
    s = decomp.summary
    a1.bar(
        s["component"],
        s["estimate"],
        yerr=_err(s["estimate"], s["ci_low"], s["ci_high"]),
        color=[PALETTE["grey"], PALETTE["orange"], PALETTE["blue"]],
        capsize=4,
    )
    a1.axhline(0, color="black", lw=0.8)
    a1.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    a2.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    a1.set_ylabel("change in national share charged (percentage points)")
    a1.tick_params(axis="x", rotation=20)
    a1.set_title(f"{s['year_from'].iloc[0]} to {s['year_to'].iloc[0]}")
    f = decomp.forces.reindex(decomp.forces["total"].abs().sort_values(ascending=False).index).head(top)[::-1]
    y = np.arange(len(f))
    a2.barh(y - 0.2, f["within"], height=0.4, color=PALETTE["blue"], label="within (rate)")
    a2.barh(y + 0.2, f["between"], height=0.4, color=PALETTE["orange"], label="between (mix)")
    a2.set_yticks(y, f.iloc[:, 0], fontsize=8)
    a2.axvline(0, color="black", lw=0.8)
    a2.set_title(f"Largest force contributions (top {top})")
    a2.legend(fontsize=8)
    mark_demo(fig, synthetic)
    return fig


def validation_plot(judged: pd.DataFrame, synthetic: bool = True) -> plt.Figure:
    """Bias and 95% interval coverage of each interval estimator under each scenario, with
    bars of ±1.96 Monte Carlo SEs (`judged`: analysis.reports.validation_text.judgements)."""
    style()
    scenarios = list(dict.fromkeys(judged["scenario"]))
    estimators = list(dict.fromkeys(judged["estimator"]))
    # room for every estimator's point in each scenario's band, and for the legend beside them
    height = max(1.2 + 0.1 * len(estimators) * len(scenarios), 0.75 + 0.16 * len(estimators))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, height), sharey=True)
    step = 0.8 / max(len(estimators), 1)
    for i, est in enumerate(estimators):
        # colours repeat after len(SERIES) estimators; the marker tells those apart
        colour, marker = SERIES[i % len(SERIES)], "os^Dv"[i // len(SERIES) % 5]
        e = judged[judged["estimator"] == est].set_index("scenario").reindex(scenarios)
        y = np.arange(len(scenarios)) + (i - (len(estimators) - 1) / 2) * step
        for ax, col in ((a1, "bias"), (a2, "coverage")):
            ax.errorbar(
                e[col], y, xerr=1.96 * e[f"{col}_mcse"], fmt=marker, color=colour, capsize=2, ms=4, label=est
            )
    a1.axvline(0, color=PALETTE["black"], lw=0.8)
    a2.axvline(0.95, color=PALETTE["black"], lw=0.8, ls="--")
    a1.set_yticks(np.arange(len(scenarios)), scenarios)
    a1.invert_yaxis()
    a1.set_xlabel("bias (estimate minus truth)")
    a2.set_xlabel("95% interval coverage (dashed: 95%)")
    a2.xaxis.set_major_formatter(PercentFormatter(1.0))
    a2.set_xlim(-0.02, 1.02)  # a coverage's error bar may reach past 0% or 100%
    a1.set_title("Bias by scenario")
    a2.set_title("Coverage by scenario")
    a2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="estimator", title_fontsize=7)
    fig.tight_layout()
    mark_demo(fig, synthetic)
    return fig


def influence_plot(
    influence: pd.DataFrame, estimate: float, synthetic: bool = False, top: int = 15
) -> plt.Figure:
    """The primary estimate with each force left out (the forces that move it most), against the
    estimate on every force (`influence` from the influence table; the figure fits nothing)."""
    style()
    f = influence.head(top)[::-1]
    y = np.arange(len(f))
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(f) + 1.8))
    ax.scatter(f["estimate_without"], y, color=PALETTE["blue"], zorder=3)
    ax.axvline(estimate, color=PALETTE["red"], lw=1.2, label=f"every force: {estimate:.3f}")
    ax.axvline(0, color=PALETTE["black"], lw=0.8)
    ax.set_yticks(y, f["force"], fontsize=8)
    ax.set_xlabel("primary link slope with the force left out (log-odds per unit log growth)")
    ax.set_title(f"Leave-one-force-out: the {len(f)} forces that move the estimate most")
    ax.legend(fontsize=8)
    mark_demo(fig, synthetic)
    return fig


def dose_spline_plot(
    curve: pd.DataFrame, thirds: pd.DataFrame | None = None, synthetic: bool = False, noun: str = "stalking"
) -> plt.Figure:
    """The dose-response shape: the spline's change in charge log-odds from 2020/21 against a
    force at the mean dose, with its pointwise interval, the knots marked, and percentage points
    at the national rate on the right-hand axis (`curve` from the dose-spline table). The dose
    thirds (`thirds` from the dose-thirds table), differences from the bottom third, are drawn at
    each third's median dose with the bottom third placed on the curve, as only differences
    between doses are identified. The figure fits nothing."""
    style()
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.fill_between(
        curve["dose"],
        curve["ci_low"],
        curve["ci_high"],
        color=PALETTE["sky"],
        alpha=0.35,
        lw=0,
        label="95% pointwise interval (CV3)",
    )
    ax.plot(curve["dose"], curve["log_odds"], color=PALETTE["blue"], lw=2, label="natural cubic spline")
    ax.axhline(0, color=PALETTE["black"], lw=0.8)
    for _, k in curve[curve["point"].str.endswith("knot")].iterrows():
        ax.axvline(k["dose"], color=PALETTE["grey"], ls=":", lw=1)
        ax.text(
            k["dose"],
            1.0,
            k["point"],
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7,
            color="#444444",
        )
    if thirds is not None and len(thirds):
        shift = float(np.interp(thirds["dose_median"].iloc[0], curve["dose"], curve["log_odds"]))
        level = thirds["log_odds"] + shift
        ax.hlines(level, thirds["dose_low"], thirds["dose_high"], color=PALETTE["orange"], lw=3, alpha=0.5)
        ax.errorbar(
            thirds["dose_median"],
            level,
            yerr=_err(thirds["log_odds"], thirds["ci_low"], thirds["ci_high"]),
            fmt="s",
            color=PALETTE["orange"],
            capsize=3,
            label="dose thirds against the bottom third (band: the third's doses; bar: 95% CI)",
        )
    base = float(curve["base_rate"].iloc[0])
    centre = np.log(base / (1 - base))

    def to_pp(v):
        return 100 * (1 / (1 + np.exp(-(centre + np.asarray(v, float)))) - base)

    def from_pp(v):
        p = np.clip(base + np.asarray(v, float) / 100, 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p)) - centre

    right = ax.secondary_yaxis("right", functions=(to_pp, from_pp))
    right.set_ylabel(f"percentage points, at the national rate of {100 * base:.1f}%")
    ax.set_xlabel(
        f"dose: log growth in recorded {noun}, {taxonomy.RECLASSIFICATION_BREAK.first_year} vs previous year"
    )
    ax.set_ylabel(
        f"change in charge log-odds from {taxonomy.RECLASSIFICATION_BREAK.first_year},\n"
        "against a force at the mean dose"
    )
    ax.set_title("Shape of the dose-response (primary model with a spline in the dose)", pad=18)
    ax.legend(fontsize=7, loc="lower left")
    mark_demo(fig, synthetic)
    return fig
