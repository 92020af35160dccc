"""Every figure, one function each, one colour-blind-safe palette (Okabe-Ito).

Each function returns a matplotlib Figure; the numbers behind it are in the result object it was
given. Time axes mark the counting-rule breaks; figures from generated data say so across the
plot. Every figure passes through `finish`, which writes the source and licence line into it and
keeps the numbers it draws (`plotted_data`), so that a chart downloaded alone still says where
it comes from and has its data beside it (figure.png, figure.csv).
"""

from __future__ import annotations

import base64
import io
import itertools
import math
import sys
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

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
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from analysis.domain import rules, taxonomy  # noqa: E402
from analysis.stats import funnel as funnel_mod  # noqa: E402
from analysis.stats.measures import NATIONAL, data_source_label  # noqa: E402

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
# The line every chart carries at its bottom left: where the numbers come from and under which
# licence (the Open Government Licence asks for both), or that they are generated.
SOURCE_LINE = "Source: Home Office, police recorded crime outcomes, Open Government Licence v3.0"
DEMO_SOURCE_LINE = "GENERATED DEMO DATA – not Home Office figures"


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
    national analysis already drew is shown from its file's bytes (`data`), not drawn again;
    `file` is then that file's path under the output folder, so that a report's page can point
    at it rather than carry it."""

    fig: plt.Figure | None
    alt: str
    name: str | None = None
    data: bytes | None = None
    file: str | None = None
    # The numbers a named figure draws (else what its plot function kept, plotted_data): they
    # travel as CSV text in the output's metadata, which nbval does not compare and pages do
    # not show, and `run` writes them beside the PNG (runner.save_figures).
    frame: pd.DataFrame | None = None

    def png(self) -> bytes:
        """The PNG shown: the file's bytes as they are, or the figure drawn with a palette of
        256 colours (same figure, same bytes)."""
        if self.data is not None:
            return self.data
        assert self.fig is not None
        return render_png(self.fig, dpi=100)

    def data_frame(self) -> pd.DataFrame | None:
        """The numbers the figure draws (pixel positions, if any, those of the last PNG drawn)."""
        if self.frame is not None:
            return self.frame
        return plotted_data(self.fig) if self.fig is not None else None

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"image/png": base64.b64encode(self.png()).decode("ascii"), "text/plain": self.alt}
        meta: dict[str, str] = {"alt": self.alt}
        if self.name:
            meta[FIGURE_NAME] = self.name
            # after png(): drawing it recorded the points' pixel positions in that very image
            frame = self.data_frame()
            if frame is not None:
                meta[FIGURE_DATA] = csv_text(frame)
        if self.file:
            meta[FIGURE_FILE] = self.file
        return data, {"image/png": meta}


# The part of each figure a tight save keeps, found by `mark_source` (which lays the figure out
# to place its line anyway), so that drawing the PNG does not lay the whole figure out twice more;
# with the resolution it was found at (text measures a little differently at another).
_TIGHT: weakref.WeakKeyDictionary[plt.Figure, tuple[float, Bbox]] = weakref.WeakKeyDictionary()


def render_png(fig: plt.Figure, dpi: int) -> bytes:
    """The figure as a palette PNG (`_palette_png`), cropped as a tight save would crop it:
    drawn once, straight to pixels, and encoded once. Where `mark_source` found the crop, the
    save does no layout pass of its own (text layout, done twice more, cost more than the draw)."""
    from PIL import Image

    found_at, box = _TIGHT.get(fig, (None, None))
    if box is None or found_at != dpi:
        box = tight_box(fig, dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format="rgba", dpi=dpi, bbox_inches=box)
    image = Image.frombuffer(
        "RGBA", _canvas_size(box, dpi, buf.getbuffer().nbytes), buf.getvalue(), "raw", "RGBA", 0, 1
    )
    return _palette_png(image)


def _canvas_size(box: Bbox, dpi: float, nbytes: int) -> tuple[int, int]:
    """The whole-pixel size Agg drew a crop at: each side's pixels, truncated or, where the
    product lands a hair under a whole number (752.99999...), rounded up; the one whose RGBA
    bytes are those drawn."""
    w, h = box.width * dpi, box.height * dpi
    for size in itertools.product(
        dict.fromkeys((int(w), math.ceil(w))), dict.fromkeys((int(h), math.ceil(h)))
    ):
        if 4 * size[0] * size[1] == nbytes:
            return size
    raise RuntimeError(f"a {int(w)}x{int(h)} figure drew {nbytes} bytes")


def _renderer(fig: plt.Figure):
    """The figure's Agg renderer (every backend here, the kernels' inline one too, is Agg's)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return cast(FigureCanvasAgg, fig.canvas).get_renderer()


def tight_box(fig: plt.Figure, dpi: float) -> Bbox:
    """The part of the figure a tight save at `dpi` keeps (inches, with the save's padding)."""
    was = fig.dpi
    fig.set_dpi(dpi)
    try:
        fig.draw_without_rendering()
        return fig.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
    finally:
        fig.set_dpi(was)


def _palette_png(image) -> bytes:
    """An image (PIL, or PNG bytes) as a PNG with a palette of at most 256 colours, undithered:
    a chart's flat colours and anti-aliased edges survive unchanged to the eye, at about a third
    of the bytes (every report shows its figures, and every notebook and site carries them).
    Pillow writes no date or version, so the same pixels give the same bytes."""
    from PIL import Image

    if isinstance(image, bytes):
        with Image.open(io.BytesIO(image)) as drawn:
            image = drawn.convert("RGBA")
    else:
        image = image.convert("RGBA")
    if image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB")  # opaque (matplotlib's white figure): no alpha to keep
    # median cut keeps the fewest, truest colours but knows no alpha; octree keeps alpha
    method = Image.Quantize.MEDIANCUT if image.mode == "RGB" else Image.Quantize.FASTOCTREE
    paletted = image.quantize(256, method=method, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    # zlib level 8: within about 1% of the smallest file (level 9) in under half the time
    paletted.save(buf, format="PNG", compress_level=8)
    return buf.getvalue()


FIGURE_NAME = "figure_name"  # the PNG output's metadata key naming a figure to save as a file
FIGURE_DATA = "figure_data"  # the PNG output's metadata key: the numbers it draws, as CSV text
FIGURE_FILE = "figure_file"  # the PNG output's metadata key: the file (under the output folder) it shows


def show(fig: plt.Figure, alt: str, name: str | None = None) -> Shown:
    """A figure for a notebook cell, with alt text (and a file name if `run` should save it);
    closed in pyplot so it is shown once."""
    plt.close(fig)
    return Shown(fig, alt, name)


def shown_file(png: bytes, alt: str, file: str | None = None) -> Shown:
    """A figure already drawn and saved (its PNG bytes), for a notebook cell, with its alt text
    and, if given, its path under the output folder (`file`), for the page to link to."""
    return Shown(None, alt, data=png, file=file)


def style() -> None:
    """The package's plot style."""
    # titles at a fixed height: matplotlib otherwise measures every tick label on every draw to
    # lift a title clear of ticks along the top, which no chart here has
    sns.set_theme(style="whitegrid", palette=SERIES, font_scale=0.9, rc={"axes.titley": 1.0})


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


def source_line(synthetic: bool) -> str:
    """The source and licence line of a chart (or the demo warning, for generated data)."""
    return DEMO_SOURCE_LINE if synthetic else SOURCE_LINE


def mark_source(fig: plt.Figure, synthetic: bool) -> Text:
    """Write the source and licence line in small grey text at the bottom left, below everything
    already drawn (tick labels, axis labels, a legend under the plot): a chart copied out of the
    site on its own still says where its numbers come from. Call it last."""
    # the tight box asks every artist where it falls, which lays the text out: no draw needed
    # (no layout engine moves the axes, and titles sit at a fixed height: style())
    renderer = _renderer(fig)
    box = fig.get_tightbbox(renderer)  # inches; a tight save keeps everything inside it, and this line
    width, height = fig.get_size_inches()
    # in figure fractions: a tight save moves what is placed so, not what is placed in inches
    line = fig.text(
        box.x0 / width,
        (box.y0 - 0.05) / height,
        source_line(synthetic),
        ha="left",
        va="top",
        fontsize=7,
        color="#666666",
    )
    # the tight box now, with the line in it: the line is all that is new since the layout
    extent = line.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())
    _TIGHT[fig] = (fig.dpi, Bbox.union([box, extent]).padded(matplotlib.rcParams["savefig.pad_inches"]))
    return line


class _PixelProbe(Artist):
    """An invisible artist that records, each time the figure is drawn, where its axes put some
    data points in the image being drawn, in pixels from the top left. A save with
    bbox_inches="tight" crops and shifts the figure before its final draw, so what the last draw
    recorded is where the points are in the saved PNG: what an image map over it needs."""

    def __init__(self, ax: plt.Axes, x: Sequence[float], y: Sequence[float]) -> None:
        super().__init__()
        self._ax = ax
        self._xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        self.pixels: np.ndarray | None = None
        self.set_in_layout(False)  # no part of the tight bounding box
        self.set_zorder(1e9)  # drawn after the axes, whose limits are final by then

    def draw(self, renderer) -> None:
        xy = self._ax.transData.transform(self._xy)
        fig = self.get_figure(root=True)
        assert fig is not None
        # Agg draws into a canvas of whole pixels, its y axis flipped about that height
        height = int(fig.bbox.height)
        self.pixels = np.column_stack([xy[:, 0], height - xy[:, 1]])


@dataclass
class _Plotted:
    """The numbers a figure draws, and the rows of them whose pixel positions are tracked."""

    frame: pd.DataFrame
    probe: _PixelProbe | None = None
    rows: pd.Index | None = None


# Kept beside each figure without touching the Figure class; gone with the figure.
_PLOTTED: weakref.WeakKeyDictionary[plt.Figure, _Plotted] = weakref.WeakKeyDictionary()


def _rows(series: str, **columns: object) -> pd.DataFrame:
    """The rows of one element of a chart (`series`: its legend entry or what it is), columns
    given as arrays of its points, or single values repeated."""
    values = {k: np.asarray(v) if isinstance(v, (pd.Series, pd.Index)) else v for k, v in columns.items()}
    one_row = not any(isinstance(v, (np.ndarray, list, tuple)) for v in values.values())
    return pd.DataFrame({"series": series, **values}, index=[0] if one_row else None)


def finish(
    fig: plt.Figure,
    synthetic: bool,
    data: list[pd.DataFrame] | None = None,
    track: tuple[plt.Axes, str] | None = None,
) -> plt.Figure:
    """The last step of every plot function: the demo marks (generated data), the source line,
    and the numbers the figure draws kept for `plotted_data` (`data`: each element's rows, in
    drawing order, with a data_source column added). `track` (an axes and a series) records the
    pixel positions of that series' points (columns x and y) whenever the figure is saved."""
    mark_demo(fig, synthetic)
    mark_source(fig, synthetic)
    if data:
        frame = pd.concat([d for d in data if len(d)], ignore_index=True)
        frame["data_source"] = data_source_label(synthetic)
        kept = _Plotted(frame)
        if track is not None:
            ax, series = track
            kept.rows = frame.index[frame["series"] == series]
            points = frame.loc[kept.rows]
            kept.probe = _PixelProbe(ax, points["x"], points["y"])
            fig.add_artist(kept.probe)
        _PLOTTED[fig] = kept
    return fig


def plotted_data(fig: plt.Figure) -> pd.DataFrame | None:
    """The numbers a figure draws, one row per point or line vertex (None for a figure whose plot
    function kept none). Tracked points get x_px and y_px, their place in the last PNG saved of
    the figure (empty before any save)."""
    kept = _PLOTTED.get(fig)
    if kept is None:
        return None
    frame = kept.frame.copy()
    if kept.probe is not None and kept.rows is not None:
        frame["x_px"] = frame["y_px"] = np.nan
        if kept.probe.pixels is not None:
            px = np.round(kept.probe.pixels, 1)
            frame.loc[kept.rows, "x_px"] = px[:, 0]
            frame.loc[kept.rows, "y_px"] = px[:, 1]
        frame["data_source"] = frame.pop("data_source")  # the last column, as in every table
    return frame


def csv_text(frame: pd.DataFrame) -> str:
    """A table as CSV text, written as analysis.files.write_csv writes a file (floats to its
    significant digits), so a report's figure data and the national ones read alike."""
    from analysis.files import SIGNIFICANT_DIGITS

    return frame.to_csv(index=False, lineterminator="\n", float_format=f"%.{SIGNIFICANT_DIGITS}g")


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


FILE_DPI = 110  # the figures saved as files (the national ones); a notebook shows its own at 100


def save(fig: plt.Figure, path: Path | str) -> Path:
    """Save a PNG with no version or date metadata (same inputs, same bytes), and close it."""
    from analysis.files import atomic_write

    path = Path(path)
    # through a temporary file and a rename: a reader never meets half an image
    png = render_png(
        fig, dpi=FILE_DPI
    )  # the same palette PNG as the notebooks' figures: a third of the bytes
    atomic_write(path, lambda tmp: tmp.write_bytes(png))
    plt.close(fig)
    return path


@dataclass(frozen=True)
class _Point:
    """A point that may be named on a chart: its name, data position, marker radius (points),
    and whether its name must be written (a flagged force) and in bold (the report's force)."""

    name: str
    x: float
    y: float
    radius: float = 2.7  # a marker of s=28 points²
    required: bool = False
    bold: bool = False


# Where a name may go around its point, clearest first (offset in points, alignment): beside
# it, then at its corners, then above or below (which in a crowd could be a neighbour's); the
# far ones get a thin leader line so that the name still points at its marker.
_OFFSETS = (
    (4, 0, "left", "center"),
    (-4, 0, "right", "center"),
    (4, 3, "left", "bottom"),
    (-4, 3, "right", "bottom"),
    (4, -3, "left", "top"),
    (-4, -3, "right", "top"),
    (0, 5, "center", "bottom"),
    (0, -5, "center", "top"),
    (14, 10, "left", "bottom"),
    (-14, 10, "right", "bottom"),
    (14, -10, "left", "top"),
    (-14, -10, "right", "top"),
)
_Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in display pixels
# A name stays legible where a limit line runs behind it.
_LABEL_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}


def _overlap(a: _Box, b: _Box) -> float:
    """The area two boxes share (0 if apart)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _label_box(px: float, py: float, w: float, h: float, dx: float, dy: float, ha: str, va: str) -> _Box:
    """The box a name of size w x h takes at offset (dx, dy) pixels from its point."""
    x0 = px + dx - {"left": 0, "center": w / 2, "right": w}[ha]
    y0 = py + dy - {"bottom": 0, "center": h / 2, "top": h}[va]
    return (x0, y0, x0 + w, y0 + h)


def _label_points(ax: plt.Axes, points: Sequence[_Point], fontsize: float = 7) -> list[str]:
    """Name points without overlaps, in the order given (most wanted first): each name goes in
    the first of twelve places around its point where it covers no other name, marker, text or
    legend and stays inside the axes. A name that fits nowhere is left out (the figure's CSV
    names every point), unless it is required: then it goes where it overlaps least. Every
    point is an obstacle, named or not. Returns the names written."""
    fig = ax.get_figure(root=True)
    assert isinstance(fig, plt.Figure)
    # no layout pass: with no layout engine the axes stay where they are put, reading the limits
    # applies any pending autoscale (as a draw would, and the transform alone does not), and
    # text and legend extents ask the renderer
    ax.get_xlim(), ax.get_ylim()
    renderer = _renderer(fig)
    scale = fig.dpi / 72
    frame = ax.get_window_extent(renderer)
    taken: list[_Box] = [tuple(t.get_window_extent(renderer).extents) for t in ax.texts]  # type: ignore[misc]
    legend = ax.get_legend()
    if legend is not None:
        taken.append(tuple(legend.get_window_extent(renderer).extents))  # type: ignore[arg-type]
    centres = ax.transData.transform([(p.x, p.y) for p in points]) if points else np.empty((0, 2))
    markers: list[_Box] = [
        (cx - p.radius * scale, cy - p.radius * scale, cx + p.radius * scale, cy + p.radius * scale)
        for p, (cx, cy) in zip(points, centres)
    ]
    written = []
    for i, p in enumerate(points):
        size = fontsize + 1.5 if p.bold else fontsize
        weight = "bold" if p.bold else "normal"
        probe = ax.text(0, 0, p.name, fontsize=size, weight=weight)
        extent = probe.get_window_extent(renderer)
        w, h = extent.width, extent.height
        probe.remove()
        pad = 0.1 * size * scale  # the white box behind the name (_LABEL_BOX) reaches this far
        obstacles = taken + markers[:i] + markers[i + 1 :]
        best: tuple[float, tuple, _Box] | None = None
        for dx, dy, ha, va in _OFFSETS:
            # clear of the point's own marker, however big
            gap = max(0.0, p.radius - 2.7)
            ddx, ddy = (dx + np.sign(dx) * gap) * scale, (dy + np.sign(dy) * gap) * scale
            x0, y0, x1, y1 = _label_box(centres[i][0], centres[i][1], w, h, ddx, ddy, ha, va)
            box = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
            if box[0] < frame.x0 or box[2] > frame.x1 or box[1] < frame.y0 or box[3] > frame.y1:
                continue
            cost = sum(_overlap(box, b) for b in obstacles)
            if best is None or cost < best[0]:
                best = (cost, (ddx / scale, ddy / scale, ha, va), box)
            if cost == 0:
                break
        if best is None or (best[0] > 0 and not p.required):
            continue
        _, (dx, dy, ha, va), box = best
        far = abs(dx) > 10
        ax.annotate(
            p.name,
            (p.x, p.y),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=size,
            weight=weight,
            ha=ha,
            va=va,
            bbox=_LABEL_BOX,
            arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "#777777", "shrinkA": 0, "shrinkB": 3}
            if far
            else None,
        )
        taken.append(box)
        written.append(p.name)
    return written


def _by_interest(units: pd.DataFrame, unit: str, z: str = "z") -> pd.DataFrame:
    """Forces most worth naming first: furthest from the target (|z|), then by name."""
    order = units.assign(_abs=units[z].abs()).sort_values(["_abs", unit], ascending=[False, True])
    return order.drop(columns="_abs")


def _limit_column(side: str, level: float, method: str) -> str:
    """The name of a limit's column, as in the funnel tables ('upper_99.8%_tau2'; exact unnamed)."""
    return f"{side}_{100 * level:.3g}%" + ("" if method == "exact" else f"_{method}")


def _limit_rows(lim: pd.DataFrame, x: str, lines: Sequence[tuple[str, float]]) -> pd.DataFrame:
    """The limit lines drawn (method, level), one row per x with a column per line and side."""
    parts = []
    for method, level in lines:
        sub = lim[(lim["method"] == method) & (lim["level"] == level)]
        parts.append(
            pd.DataFrame(
                {
                    "x": sub[x].to_numpy(),
                    _limit_column("lower", level, method): sub["lower"].to_numpy(),
                    _limit_column("upper", level, method): sub["upper"].to_numpy(),
                }
            )
        )
    wide = pd.concat(parts).groupby("x", sort=True).first().reset_index()
    wide.insert(0, "series", "limits")
    return wide


def _zoom_on_points(ax: plt.Axes, values: pd.Series, target: float, floor: float | None = None) -> None:
    """Show the forces, not the funnel's mouth: limits at the smallest denominators reach far
    beyond every force, and squeezing the forces into a thin band leaves no room for their names.
    The limits run on out of the picture. A `floor` (0 for rates) stays in view, at the bottom."""
    lo, hi = min(float(values.min()), float(target)), max(float(values.max()), float(target))
    pad = 0.25 * (hi - lo) + 0.01
    low, high = lo - pad, hi + pad
    if floor is not None:
        low = floor - 0.03 * (high - floor)
    shown = ax.get_ylim()
    ax.set_ylim(max(shown[0], low), min(shown[1], high))
    # ticks 1, 2 or 5 apart, never 2.5 (which a whole-per-cent axis shows rounded, "13%")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 5, 10]))


def funnel_plot(
    result,
    method: str = "tau2",
    title: str = "",
    synthetic: bool = False,
    highlight: str | None = None,
    unit: str = "force",
) -> plt.Figure:
    """Funnel plot: each force's rate against its denominator, with the limits of one method
    (and the exact binomial limits faint for comparison). Forces beyond the widest limits are
    always named, the others where there is room, furthest from the target first."""
    style()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    lim = result.limits
    drawn = []
    for lv, ls in zip(sorted(result.summary["levels"]), ("--", "-")):
        for mth, colour, alpha in (("exact", PALETTE["grey"], 0.6), (method, PALETTE["black"], 1.0)):
            if mth == "exact" and method == "exact" and alpha < 1:
                continue
            drawn.append((mth, lv))
            sub = lim[(lim["method"] == mth) & (lim["level"] == lv)]
            lab = f"{100 * lv:.3g}% ({'exact binomial' if mth == 'exact' else mth})"
            ax.plot(sub["n"], sub["upper"], ls=ls, color=colour, alpha=alpha, lw=1, label=lab)
            ax.plot(sub["n"], sub["lower"], ls=ls, color=colour, alpha=alpha, lw=1)
    target = result.summary["target"]
    ax.axhline(target, color=PALETTE["green"], lw=1.2, label="target (pooled)")
    u = result.units
    d_col, l_col = funnel_mod.flag_columns(method)
    levels = result.summary["levels"]
    flags = [funnel_mod.flag_label(d, lv) for d, lv in zip(u[d_col], u[l_col])]
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
    # compared only when given: a string column compared with None is all missing, not all False
    is_marked = (
        u[unit].eq(highlight).fillna(False).astype(bool)
        if highlight is not None
        else pd.Series(False, index=u.index)
    )
    if is_marked.any():
        row = u[is_marked.to_numpy()]
        ax.scatter(row["n"], row["rate"], s=120, facecolor="none", edgecolor=PALETTE["black"], lw=2, zorder=4)
    ax.set_xscale("log")
    percent_axis(ax.yaxis)
    _zoom_on_points(ax, u["rate"], target, floor=0.0)
    ax.set_xlabel("investigations closed in the year (log scale)")
    ax.set_ylabel("charged or summonsed")
    s = result.summary
    ax.set_title(title or f"Funnel plot {s.get('label', '')}".strip())
    ax.text(
        0.01,
        0.01,
        f"phi = {s['phi']:.2f}, tau² = {s['tau2']:.4f} (arcsine scale); forces beyond the "
        f"{100 * max(levels):.3g}% limits are named, others where there is room",
        transform=ax.transAxes,
        fontsize=8,
        color="#444444",
    )
    # below the plot: inside it, the legend would hide forces or the room for their names
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    outer = (u[d_col] != "within") & (u[l_col] >= max(levels))
    ordered = _by_interest(u.assign(_outer=outer.to_numpy(), _marked=is_marked.to_numpy()), unit)
    ordered = ordered.sort_values(["_marked", "_outer"], ascending=False, kind="stable")
    _label_points(
        ax,
        [
            _Point(
                str(r[unit]),
                r["n"],
                r["rate"],
                required=bool(r["_outer"] or r["_marked"]),
                bold=bool(r["_marked"]),
            )
            for _, r in ordered.iterrows()
        ],
    )
    points = _rows(
        "forces",
        force=u[unit],
        flag=flags,
        x=u["n"],
        y=u["rate"],
        count=u["count"],
        highlighted=is_marked,
    ).sort_values("force", kind="stable")
    data = [points, _limit_rows(lim, "n", drawn), _rows("target (pooled)", y=target)]
    return finish(fig, synthetic, data, track=(ax, "forces"))


def change_funnel_plot(
    result, method: str = "tau2", synthetic: bool = False, unit: str = "force"
) -> plt.Figure:
    """Funnel for the change between two years: change against precision. Forces beyond the
    widest limits are always named, the others where there is room."""
    style()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    lim = result.limits
    levels = result.summary["levels"]
    for lv, ls in zip(sorted(levels), ("--", "-")):
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
    target = result.summary["target"]
    ax.axhline(target, color=PALETTE["green"], label="pooled change")
    u = result.units
    d_col, l_col = funnel_mod.flag_columns(method)
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
    _zoom_on_points(ax, u["change"], target)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    ax.set_xlabel("precision of the change (1 / variance, log scale)")
    ax.set_ylabel("change in share charged (percentage points)")
    ax.set_title(f"Funnel plot for the {result.summary['label']}")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    outer = ((u[d_col] != "within") & (u[l_col] >= max(levels))).to_numpy()
    ordered = _by_interest(u.assign(_outer=outer), unit).sort_values("_outer", ascending=False, kind="stable")
    _label_points(
        ax,
        [
            _Point(str(r[unit]), r["precision"], r["change"], required=bool(r["_outer"]))
            for _, r in ordered.iterrows()
        ],
    )
    points = _rows(
        "forces",
        force=u[unit],
        flag=[funnel_mod.flag_label(d, lv) for d, lv in zip(u[d_col], u[l_col])],
        x=u["precision"],
        y=u["change"],
    ).sort_values("force", kind="stable")
    lines = [(method, lv) for lv in sorted(levels)]
    data = [points, _limit_rows(lim, "precision", lines), _rows("pooled change", y=target)]
    return finish(fig, synthetic, data, track=(ax, "forces"))


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
    top_down = u.iloc[::-1]  # the rows as a reader meets them, top to bottom
    marked = top_down[unit].eq(highlight).fillna(False).astype(bool) if highlight is not None else False
    ranks = {"rank_low": top_down["rank_low"], "rank_high": top_down["rank_high"], "highlighted": marked}
    data = [
        _rows(
            "raw (Wilson 95%)",
            force=top_down[unit],
            x=top_down["raw_rate"],
            x_low=top_down["raw_low"],
            x_high=top_down["raw_high"],
            **ranks,
        ),
        _rows(
            "shrunken (hierarchical model, 95%)",
            force=top_down[unit],
            x=top_down["shrunk_rate"],
            x_low=top_down["shrunk_low"],
            x_high=top_down["shrunk_high"],
            **ranks,
        ),
        _rows("overall (random-effects mean)", x=result.summary["pooled_rate"]),
    ]
    return finish(fig, synthetic, data)


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
    data = []
    for i, m in enumerate(measures):
        nat = national.set_index("financial_year").reindex(years)
        c = SERIES[i % len(SERIES)]
        label = m.replace("_rate_closed", "").replace("_", " ")
        ax.plot(x, nat[m], color=c, lw=2, label=f"England and Wales: {label}")
        ax.fill_between(x, nat[f"{m}_low"], nat[f"{m}_high"], color=c, alpha=0.15)
        band = {"x": years, "y": nat[m], "y_low": nat[f"{m}_low"], "y_high": nat[f"{m}_high"]}
        data.append(_rows(label, force=NATIONAL, **band))
        if force_rows is not None and len(force_rows):
            fr = force_rows.set_index("financial_year").reindex(years)
            bars = {"x": years, "y": fr[m], "y_low": fr[f"{m}_low"], "y_high": fr[f"{m}_high"]}
            data.append(_rows(label, force=str(force_rows["force"].iloc[0]), **bars))
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
    return finish(fig, synthetic, data)


def volume_plot(national_by_offence: dict[str, pd.DataFrame], synthetic: bool = False) -> plt.Figure:
    """Offences recorded per year by offence code, with the counting-rule breaks."""
    style()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    years = sorted(set().union(*(set(t["financial_year"]) for t in national_by_offence.values())))
    x = np.arange(len(years))
    data = []
    for i, (code, t) in enumerate(national_by_offence.items()):
        s = t.set_index("financial_year").reindex(years)["offences_recorded"]
        name = taxonomy.OFFENCE_BY_CODE[code].description if code in taxonomy.OFFENCE_BY_CODE else code
        ax.plot(x, s, "o-", color=SERIES[i], label=f"{code} {name}")
        data.append(_rows(f"{code} {name}", x=years, y=s))
    ax.set_xticks(x, years, rotation=45)
    ax.set_ylabel("offences recorded (England and Wales)")
    ax.set_title("Recorded offences by year")
    mark_breaks(ax, years)
    ax.legend(fontsize=8)
    return finish(fig, synthetic, data)


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
    areas = 10 + 200 * size / size.max()
    ax.scatter(dose, change, s=areas, color=PALETTE["blue"], alpha=0.7, edgecolor="white")
    x0, y0 = np.average(dose, weights=w), np.average(change, weights=w)
    xs = np.array([dose.min(), dose.max()])  # a straight line: its two ends draw it
    line = f"first-difference estimate, slope {slope:.3f}"
    ax.plot(xs, y0 + slope * (xs - x0), color=PALETTE["red"], lw=1.5, label=line)
    marked = highlight is not None and highlight in both
    if marked:
        ax.scatter([dose[highlight]], [change[highlight]], s=150, facecolor="none", edgecolor="black", lw=2)
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
    # the report's force first, then the forces furthest from the line, where there is room
    away = (change - (y0 + slope * (dose - x0))).abs().sort_values(ascending=False, kind="stable")
    order = ([highlight] if marked else []) + [f for f in away.index if f != highlight]
    _label_points(
        ax,
        [
            _Point(
                str(f),
                dose[f],
                change[f],
                radius=float(np.sqrt(areas[f]) / 2),
                required=f == highlight,
                bold=f == highlight,
            )
            for f in order
        ],
    )
    data = [
        _rows(
            "forces",
            force=both,
            x=dose,
            y=change,
            closed_post=size,
            highlighted=np.asarray(both == highlight) if marked else False,
        ).sort_values("force", kind="stable"),
        _rows(line, x=xs, y=y0 + slope * (xs - x0)),
    ]
    return finish(fig, synthetic, data, track=(ax, "forces"))


def own_change_plot(
    gaps: pd.DataFrame, synthetic: bool = False, highlight: str | None = None, noun: str = "stalking"
) -> plt.Figure:
    """Each force's own change in charge log-odds across April 2020 (the hierarchical link
    model's, with its 95% interval) against its dose, and the national line the primary
    estimate draws: `gaps` is the link force gaps table; the figure fits nothing."""
    style()
    g = gaps.set_index("force")
    dose, change = g["dose"], g["own_change"]
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    ax.errorbar(
        dose,
        change,
        yerr=_err(change, g["own_change_low"], g["own_change_high"]),
        fmt="o",
        ms=4,
        color=PALETTE["blue"],
        ecolor="#9ecae1",
        elinewidth=1,
        capsize=0,
        label="a force's own change (95% interval)",
    )
    order = np.argsort(dose.to_numpy())
    xs, ys = dose.to_numpy()[order][[0, -1]], g["line"].to_numpy()[order][[0, -1]]
    ax.plot(xs, ys, color=PALETTE["red"], lw=1.5, label="the national link (primary estimate)")
    ax.axhline(0, color=PALETTE["black"], lw=0.6)
    marked = highlight is not None and highlight in g.index
    if marked:
        ax.errorbar(
            [dose[highlight]],
            [change[highlight]],
            yerr=_err(
                [change[highlight]],
                [g.loc[highlight, "own_change_low"]],
                [g.loc[highlight, "own_change_high"]],
            ),
            fmt="o",
            ms=8,
            mfc="none",
            color=PALETTE["black"],
            elinewidth=2,
        )
    ax.set_xlabel(
        f"dose: log growth in recorded {noun}, {taxonomy.RECLASSIFICATION_BREAK.first_year} vs previous year"
    )
    ax.set_ylabel("change in log-odds of charge after April 2020, against all forces")
    ax.set_title(f"Each force's change in charge odds, and the line for its rise in {noun}")
    ax.legend(fontsize=8, loc="upper right")
    # the report's force first, then forces whose interval leaves the line
    off = g[(g["gap_low"] > 0) | (g["gap_high"] < 0)].index
    ordered = ([highlight] if marked else []) + sorted(f for f in off if f != highlight)
    _label_points(
        ax,
        [_Point(str(f), dose[f], change[f], required=f == highlight, bold=f == highlight) for f in ordered],
    )
    data = [
        _rows(
            "forces",
            force=g.index,
            x=dose,
            y=change,
            y_low=g["own_change_low"],
            y_high=g["own_change_high"],
            highlighted=np.asarray(g.index == highlight) if marked else False,
        ).sort_values("force", kind="stable"),
        _rows("the national link (primary estimate)", x=xs, y=ys),
    ]
    return finish(fig, synthetic, data, track=(ax, "forces"))


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
    data = [
        _rows("dose x year coefficient", x=years, y=es["estimate"], y_low=es["ci_low"], y_high=es["ci_high"])
    ]
    if truth is not None:
        ax.axhline(truth, color=PALETTE["green"], ls=":", label=f"true link_slope ({truth:g})")
        ax.legend(fontsize=8)
        data.append(_rows(f"true link_slope ({truth:g})", y=truth))
    ax.set_xticks(x, years, rotation=45)
    ax.set_ylabel("dose x year coefficient (log-odds of charge)")
    ax.set_title("Event study: charge odds by dose, relative to 2019/20")
    mark_breaks(ax, years)
    return finish(fig, synthetic, data)


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
    top_down = f.iloc[::-1]  # the bars as a reader meets them, top to bottom
    data = [
        _rows(
            "national change",
            component=s["component"],
            y=s["estimate"],
            y_low=s["ci_low"],
            y_high=s["ci_high"],
        ),
        _rows("within (rate)", force=top_down.iloc[:, 0], x=top_down["within"]),
        _rows("between (mix)", force=top_down.iloc[:, 0], x=top_down["between"]),
    ]
    return finish(fig, synthetic, data)


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
    return finish(fig, synthetic)


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
    data = [
        _rows(
            "estimate with the force left out",
            force=f["force"].iloc[::-1],
            x=f["estimate_without"].iloc[::-1],
        ),
        _rows("every force", x=estimate),
    ]
    return finish(fig, synthetic, data)


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
    band = {"y_low": curve["ci_low"], "y_high": curve["ci_high"]}
    data = [_rows("natural cubic spline", point=curve["point"], x=curve["dose"], y=curve["log_odds"], **band)]
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
        spans = {"x_low": thirds["dose_low"], "x_high": thirds["dose_high"]}
        bars = {"y_low": thirds["ci_low"] + shift, "y_high": thirds["ci_high"] + shift}
        data.append(
            _rows("dose thirds", third=thirds["third"], x=thirds["dose_median"], y=level, **spans, **bars)
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
    return finish(fig, synthetic, data)
