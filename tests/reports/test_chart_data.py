"""Charts that travel (issue 21 item 6): every chart says where its numbers come from, names
its forces, and has the numbers it draws beside it as a CSV; the index opens with the national
funnel plot, every force findable in it through an image map."""

from __future__ import annotations

import base64
import inspect
import io
import re
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from PIL import Image

from analysis import outputs
from analysis.domain import rules
from analysis.reports import plots, sections, site
from analysis.runs import runner

FORCE = "Northamptonshire"


@pytest.fixture(scope="module")
def analysed(demo_store, tmp_path_factory) -> sections.Context:
    """A context whose output folder holds the national tables and figures `analyse` writes
    for the demo store (few bootstrap draws)."""
    from analysis.reports.analyse import write_analysis
    from analysis.reports.tables import write_store_tables

    store, _ = demo_store
    ctx = sections.Context("demo", "8Q", store, tmp_path_factory.mktemp("outputs"))
    write_store_tables(ctx.store, ctx.outputs_dir)
    write_analysis(ctx.store, ctx.outputs_dir, bootstrap_reps=19, permutation_reps=9)
    return ctx


def _national_figures(out: Path) -> list[tuple[Path, outputs.Output]]:
    return [(p, e) for p, e in outputs.found(out, outputs.NATIONAL_FOLDERS) if p.suffix == ".png"]


# --- the source line ---------------------------------------------------------------------------


@pytest.mark.parametrize("synthetic", [False, True])
def test_the_source_line_is_drawn_below_everything_and_kept_in_the_saved_png(synthetic, tmp_path):
    nat = pd.DataFrame({"financial_year": [f"{y}/{(y + 1) % 100:02d}" for y in range(2014, 2025)]})
    nat["force"] = "England and Wales"
    for m in ("charge_rate_closed", "evidential_difficulties_rate_closed", "no_suspect_rate_closed"):
        nat[m], nat[f"{m}_low"], nat[f"{m}_high"] = 0.2, 0.1, 0.3
    fig = plots.trend_plot(nat, synthetic=synthetic)
    wanted = plots.DEMO_SOURCE_LINE if synthetic else plots.SOURCE_LINE
    lines = [t for t in fig.texts if t.get_text() == wanted]
    assert len(lines) == 1
    assert (plots.DEMO_SOURCE_LINE in [t.get_text() for t in fig.texts]) is synthetic
    fig.draw_without_rendering()
    line = lines[0].get_window_extent()
    ax = fig.axes[0]
    # below the plot, its tick labels, axis label and the legend beside it
    assert line.y1 <= ax.get_tightbbox().y0 + 0.5
    assert line.x0 <= ax.get_tightbbox().x0 + 0.5  # at the left
    # and in the PNG: its grey pixels in the bottom rows, at the left
    png = Image.open(plots.save(fig, tmp_path / "trend.png")).convert("L")
    w, h = png.size
    bottom = np.asarray(png.crop((0, h - 25, w // 3, h)))
    assert (bottom < 200).sum() > 50


def test_every_plot_function_finishes_its_figure_with_the_source_line():
    """Each figure passes through plots.finish, which draws the source line."""
    functions = [f for name, f in inspect.getmembers(plots, inspect.isfunction) if name.endswith("_plot")]
    assert len(functions) >= 11
    for f in functions:
        assert "return finish(fig, synthetic" in inspect.getsource(f), f.__name__


def test_every_national_figure_carries_the_source_line(analysed):
    """The line is drawn into the pixels: the bottom-left corner of every PNG has grey text."""
    for png, _ in _national_figures(analysed.outputs_dir):
        im = Image.open(png).convert("L")
        w, h = im.size
        assert (np.asarray(im.crop((0, h - 20, w // 3, h))) < 200).sum() > 50, png.name


# --- the numbers beside each chart -------------------------------------------------------------


def test_every_national_figure_has_its_csv_with_the_catalogued_columns(analysed):
    out = analysed.outputs_dir
    figures = _national_figures(out)
    assert len(figures) == 1 + len(outputs.NATIONAL_FIGURES)
    for png, entry in figures:
        data = outputs.FIGURE_DATA[entry.key]
        rel = png.relative_to(out).as_posix()
        csv = png.with_suffix(".csv")
        assert outputs.describe(csv.relative_to(out).as_posix()) is data, rel
        frame = pd.read_csv(csv)
        # every column it lists, and no other (a pattern such as upper_{level}% by its columns)
        assert {outputs.column(c) for c in frame.columns} == {outputs.column(c) for c in data.columns}, rel
        assert outputs.undocumented_columns(data, list(frame.columns)) == [], rel
        assert len(frame) > 0 and frame["series"].notna().all()
        assert set(frame["data_source"]) == {"GENERATED DEMO DATA (synthetic, not Home Office statistics)"}


def test_figure_csvs_are_written_as_every_table_is(analysed, tmp_path):
    """Byte for byte what analysis.files.write_csv makes of the same frame: 6 significant digits."""
    from analysis.files import write_csv

    out = analysed.outputs_dir
    year = analysed.year("")
    path = outputs.FUNNEL_FIGURE_DATA.path(out, year=year)
    again = tmp_path / "again.csv"
    write_csv(pd.read_csv(path, keep_default_na=False, dtype=str), again)
    assert again.read_bytes() == path.read_bytes()
    assert plots.csv_text(pd.read_csv(path)).encode() == path.read_bytes()


def test_the_funnel_csv_names_every_force_of_the_funnel_where_the_png_draws_it(analysed):
    out = analysed.outputs_dir
    year = analysed.year("")
    table = outputs.FUNNEL.load(out, year=year)
    drawn = outputs.FUNNEL_FIGURE_DATA.load(out, year=year)
    points = drawn[drawn["series"] == "forces"]
    assert sorted(points["force"]) == sorted(table["force"])
    assert list(points["force"]) == sorted(points["force"])  # a stable order
    merged = points.merge(table, on="force")
    assert np.allclose(merged["x"], merged["n"]) and np.allclose(merged["y"], merged["rate"], rtol=1e-5)
    assert (merged["count_x"] == merged["count_y"]).all()
    # each force's pixel is inside its marker in the PNG (a grey or coloured dot, not paper)
    im = Image.open(outputs.FUNNEL_FIGURE.path(out, year=year)).convert("RGB")
    pixels = np.asarray(im)
    for r in points.itertuples():
        x, y = round(r.x_px), round(r.y_px)
        assert 0 <= x < im.width and 0 <= y < im.height, r.force
        assert pixels[y, x].min() < 190, (r.force, pixels[y, x])
    # the limits drawn are there, by denominator
    limits = drawn[drawn["series"] == "limits"]
    assert len(limits) > 50 and {"upper_99.8%_tau2", "lower_95%"} <= set(limits.columns)


def test_forces_beyond_the_limits_are_named_on_the_national_funnel(analysed):
    year = analysed.year("")
    result = sections.funnel_for(analysed, year)
    fig = plots.funnel_plot(result, synthetic=True)
    names = {t.get_text() for t in fig.axes[0].texts}
    u = result.units
    outer = u[(u["direction_tau2"] != "within") & (u["level_tau2"] >= max(result.summary["levels"]))]
    assert len(outer) and set(outer["force"]) <= names
    # and more than those: a downloaded chart names most of its points
    assert len(names & set(u["force"])) >= len(u) // 2
    plt.close(fig)


def test_names_on_a_chart_do_not_overlap(analysed):
    year = analysed.year("")
    for fig in (
        plots.funnel_plot(sections.funnel_for(analysed, year), synthetic=True, highlight=FORCE),
        plots.dose_response_plot(analysed.table(outputs.LINK_FIRST_DIFFERENCE), -0.3, highlight=FORCE),
        plots.own_change_plot(analysed.table(outputs.LINK_FORCE_GAPS), highlight=FORCE),
    ):
        fig.draw_without_rendering()
        ax = fig.axes[0]
        named = [t for t in ax.texts if isinstance(t, plt.Annotation)]
        assert FORCE in {t.get_text() for t in named}
        bold = next(t for t in named if t.get_text() == FORCE)
        assert bold.get_fontweight() == "bold"  # the report's own force stands out
        boxes = [Text.get_window_extent(t) for t in named]  # the name, not its leader line
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not a.overlaps(b)
        plt.close(fig)


def _force_figures(ctx: sections.Context) -> list[plots.Shown]:
    """The four figures a force report names (and `run` saves)."""
    year = ctx.year("")
    return [
        sections.force_trend_figure(ctx, FORCE),
        sections.force_funnel_position(ctx, FORCE, year)[1],
        sections.force_rank(ctx, FORCE, year)[2],
        sections.force_link(ctx, FORCE)[1],
    ]


def test_a_force_reports_figures_carry_their_numbers_and_run_writes_them_beside_the_png(analysed, tmp_path):
    shown = _force_figures(analysed)
    assert [s.name for s in shown] == ["trends", "funnel", "ranks", "own_change"]
    nb = nbformat.v4.new_notebook()
    for s in shown:
        data, meta = s._repr_mimebundle_()
        nb.cells.append(
            nbformat.v4.new_code_cell(
                "x", outputs=[nbformat.v4.new_output("display_data", data=data, metadata=meta)]
            )
        )
    report = outputs.force_report("northamptonshire")
    assert runner.save_figures(nb, tmp_path, report) == sorted(f"{s.name}.png" for s in shown)
    for s, cell in zip(shown, nb.cells):
        csv = outputs.REPORT_FIGURE_DATA.path(tmp_path, report=report, figure=s.name)
        assert outputs.describe(csv.relative_to(tmp_path).as_posix()) is outputs.REPORT_FIGURE_DATA
        frame = pd.read_csv(csv)
        assert outputs.undocumented_columns(outputs.REPORT_FIGURE_DATA, list(frame.columns)) == [], s.name
        assert csv.read_bytes() == cell.outputs[0]["metadata"]["image/png"][plots.FIGURE_DATA].encode()
        assert FORCE in set(frame["force"]), s.name
        if "highlighted" in frame.columns:
            assert set(frame.loc[frame["highlighted"] == True, "force"]) == {FORCE}  # noqa: E712
        if "x_px" in frame.columns:  # the pixels are those of the PNG the report shows
            png = Image.open(io.BytesIO(base64.b64decode(cell.outputs[0]["data"]["image/png"])))
            px = frame.dropna(subset=["x_px"])
            assert px["x_px"].between(0, png.width).all() and px["y_px"].between(0, png.height).all()


def test_a_figure_without_a_name_carries_no_numbers():
    fig = plt.figure()
    plots.finish(fig, False, [plots._rows("line", x=[0, 1], y=[0, 1])])
    assert plots.plotted_data(fig) is not None
    _, meta = plots.show(fig, "A diagonal line, not saved.")._repr_mimebundle_()
    assert plots.FIGURE_DATA not in meta["image/png"]


# --- the index's opening picture ---------------------------------------------------------------


def test_the_funnel_map_has_one_circle_per_force_titled_and_linked(analysed):
    out = analysed.outputs_dir
    year = analysed.year("")
    table = outputs.FUNNEL.load(out, year=year)
    nb = {
        outputs.force_report("northamptonshire"): {"status": "ok"},
        outputs.force_report("kent"): {"status": "failed"},
    }
    fm = site.funnel_map(out, year, nb)
    assert fm is not None and fm["src"] == outputs.FUNNEL_FIGURE.relpath(year=year)
    assert (fm["width"], fm["height"]) == Image.open(out / fm["src"]).size
    titles = {a["title"].split(": ")[0]: a for a in fm["areas"]}
    assert sorted(titles) == sorted(table["force"])
    for r in table.itertuples():
        title = titles[r.force]["title"]
        assert f"{int(r.count):,} of {int(r.n):,} closed" in title and "charged or summonsed" in title
        assert ("%" in title) is (not rules.small(r.n)), title  # no share below the small-number rule
        x, y, radius = (int(v) for v in titles[r.force]["coords"].split(","))
        assert 0 <= x < fm["width"] and 0 <= y < fm["height"] and radius > 0
    assert titles[FORCE]["href"] == "forces/northamptonshire.html"
    assert titles["Kent"]["href"] == ""  # its report failed: nothing to open
    assert fm["numbers"] == outputs.FUNNEL_FIGURE_DATA.relpath(year=year)


def test_the_index_opens_with_the_funnel_and_its_map(analysed):
    out = analysed.outputs_dir
    year = analysed.year("")
    page = site.write_index(out, offence="8Q", synthetic=True, manifest={}).read_text(encoding="utf-8")
    table = outputs.FUNNEL.load(out, year=year)
    block = page[page.index('<figure class="funnel-map"') : page.index("</figure>", page.index("funnel-map"))]
    assert page.index("funnel-map") < page.index('id="find"')  # the page opens with it
    areas = re.findall(r"<area [^>]*>", block)
    assert len(areas) == len(table)
    assert all('shape="circle"' in a and "title=" in a and "alt=" in a for a in areas)
    assert f'src="{outputs.FUNNEL_FIGURE.relpath(year=year)}"' in block and 'usemap="#funnel-map"' in block


def _autoscaled_scatter() -> tuple[plt.Figure, plt.Axes, list]:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0.5, 1.7, 30), rng.uniform(-1.1, 0.3, 30)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.scatter(x, y, s=28)  # no limits set: autoscaled, as the dose-response chart is
    ax.plot([0.6, 1.6], [-0.4, -0.9], label="line")
    ax.legend(fontsize=8)
    points = [plots._Point(f"Force {i}", float(a), float(b)) for i, (a, b) in enumerate(zip(x, y))]
    return fig, ax, points


def test_names_are_placed_as_after_a_full_draw_without_one():
    """_label_points does no layout pass; on an autoscaled chart it must still see the final
    limits (the dose-response chart once lost every name but one to stale limits)."""
    fig, ax, points = _autoscaled_scatter()
    fast = plots._label_points(ax, points)
    placed = [(t.get_text(), t.get_position(), t.get_horizontalalignment()) for t in ax.texts]
    plt.close(fig)
    fig, ax, points = _autoscaled_scatter()
    fig.draw_without_rendering()
    assert plots._label_points(ax, points) == fast and len(fast) > 15
    assert [(t.get_text(), t.get_position(), t.get_horizontalalignment()) for t in ax.texts] == placed
    plt.close(fig)
