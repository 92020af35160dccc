"""What a reader sees: verdict sentences, tables for people, figures shown inline with alt text,
figures that draw the fitted numbers they are given, and page titles."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis import outputs
from analysis.domain import rules
from analysis.reports import display, plots, quote, sections, site, verdicts
from analysis.reports.headlines import sentence
from analysis.stats import funnel, link

ROOT = Path(__file__).resolve().parents[2]

# --- verdicts ------------------------------------------------------------------------------------


def test_charge_line_gives_counts_beside_the_percentage():
    def row(k, n, pct):
        return pd.Series(
            {
                "force": "Kent",
                "year": "2020/21",
                "measure": "charged",
                "count": k,
                "denominator": n,
                "percent": pct,
            }
        )

    nat = pd.Series({"percent": 4.9})
    assert sections._charge_line(row(34, 2467, quote.percent(34, 2467)), nat).endswith(
        ">1.4% (34 of 2,467 closed)</span> against 4.9% in England and Wales."
    )


def test_small_denominators_get_counts_and_no_percentage():
    assert (
        quote.share_phrase({"count": 1, "denominator": 13, "percent": quote.percent(1, 13)})
        == "1 of 13 closed"
    )
    n = rules.SMALL_N
    assert (
        quote.share_phrase({"count": 3, "denominator": n, "percent": quote.percent(3, n)})
        == f"10.0% (3 of {n} closed)"
    )
    text = sections._charge_line(
        pd.Series(
            {
                "force": "Kent",
                "year": "2020/21",
                "measure": "charged",
                "count": 1,
                "denominator": 13,
                "percent": float("nan"),
            }
        ),
        pd.Series({"percent": 5.0}),
    )
    assert "1 of 13 closed" in text and "7.7%" not in text and "too few" in text
    row = {
        "offence_code": "8Q",
        "financial_year": "2024/25",
        "force": "London, City of",
        "offences_recorded": 12,
        "outcomes_closed": 13,
        "evidential_difficulties_closed": 11,
        "evidential_difficulties_rate_closed": 11 / 13,
        "charged_closed": 1,
        "charge_rate_closed": 1 / 13,
    }
    assert sentence(pd.Series(row), False) == (
        "In 2024/25 City of London recorded 12 stalking offences; of the 13 investigations closed "
        "that year, 11 ended for evidential difficulties and 1 in a charge or summons."
    )


def test_rank_sentence_says_which_way_ranks_run_or_that_it_cannot_rank():
    assert verdicts.rank(43, 44, 44) == (
        "Rank: between 43rd and 44th of 44, where 1st is the highest charge rate (95% interval, after shrinkage)."
    )
    assert verdicts.rank(1, 1, 44).startswith("Rank: 1st of 44, where 1st is the highest")
    wide = verdicts.rank(2, 41, 44)
    assert wide.startswith("Rank: too uncertain to rank") and "2nd to 41st of 44" in wide
    # the threshold: an interval covering exactly half the forces is still given
    assert "too uncertain" not in verdicts.rank(1, 22, 44)
    assert "too uncertain" in verdicts.rank(1, 23, 44)
    assert [verdicts.ordinal(i) for i in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "111th",
    ]  # fmt: skip


def test_recording_change_and_own_change_in_plain_words():
    assert verdicts.recording_change(673, 2092, "2019/20", "2020/21", "stalking offences") == (
        "April 2020: recorded stalking offences rose ×3.1, from 673 in 2019/20 to 2,092 in 2020/21."
    )
    assert "fell by 20%" in verdicts.recording_change(100, 80, "a", "b", "x")
    row = pd.Series(
        {
            "line": -0.10,
            "own_change": -0.30,
            "own_change_low": -0.50,
            "own_change_high": -0.12,
            "gap": -0.20,
            "gap_low": -0.38,
            "gap_high": -0.02,
        }
    )
    words = verdicts.own_change(row)
    assert (
        "its charge odds moved x 0.74 against the change in all forces (95% interval x 0.61 to x 0.89)"
        in words
    )
    assert (
        "the national link under parallel trends (the primary model, not the trend-allowing headline) gives x 0.90"
        in words
        and "below the line beyond its interval" in words
    )
    inside = verdicts.own_change({**row, "gap_high": 0.05})  # an interval that holds the line
    assert "within its interval of the line" in inside and "beyond" not in inside
    few = verdicts.own_change(row, closed_per_year=13)
    assert "too few investigations closed since April 2020 (about 13 a year)" in few and "x 0" not in few


def _units(direction_tau2, level_tau2, direction_exact, level_exact) -> pd.Series:
    return pd.Series(
        {
            "direction_tau2": direction_tau2,
            "level_tau2": level_tau2,
            "direction_exact": direction_exact,
            "level_exact": level_exact,
        }
    )


def test_funnel_position_names_the_limits_and_any_disagreement():
    levels = [0.95, 0.998]
    low = verdicts.funnel_position(_units("low", 0.998, "low", 0.998), levels)
    assert "lower than the national rate" in low and "random-effects (τ²)" in low
    assert "below the 99.8% limit" in low and "disagree" not in low
    within = verdicts.funnel_position(_units("within", np.nan, "high", 0.998), levels)
    assert within.startswith("Funnel plot: within the 95% random-effects")
    assert (
        "The exact binomial limits, which allow for chance alone, disagree: above the 99.8% limit." in within
    )
    inner = verdicts.funnel_position(_units("high", 0.95, "high", 0.998), levels)
    assert "above the 95% limit, though within the 99.8% limit" in inner and "disagree" in inner


# --- tables for people ------------------------------------------------------------------------


def test_people_table_formats_like_a_person_would():
    frame = pd.DataFrame(
        {
            "force": ["Kent", "Essex"],
            "outcomes_closed": [2467.0, 13.0],
            "charge_rate_closed": [0.01378, 0.0769],
            "p_value": [0.0, 0.006343],
        },
        index=[21, 65],
    )
    t = display.people_table(frame)
    assert list(t.frame.columns) == ["Force", "Investigations closed", "Charged or summonsed", "p-value"]
    assert t.frame.iloc[0].tolist() == ["Kent", "2,467", "1.4%", "< 0.001"]
    assert t.frame.iloc[1].tolist() == ["Essex", "13", "7.7%", "0.006"]
    html = t._repr_html_()
    assert html == display.people_table(frame)._repr_html_()  # no random ids: nbval compares it
    assert ">21<" not in html and ">65<" not in html  # no row index
    assert "2467.0" not in repr(t) and "0.0138" not in repr(t)
    long = "a definition that must not be cut off " * 10
    assert long in repr(display.people_table(pd.DataFrame({"note": [long, "b"]})))


def test_one_row_tables_are_turned_on_their_side():
    t = display.people_table(pd.DataFrame({"force": ["Kent"], "charge_rate_closed": [0.05]}))
    assert t.frame.to_dict("list") == {"": ["Force", "Charged or summonsed"], "Value": ["Kent", "5.0%"]}
    two = display.people_table(
        pd.DataFrame({"force": ["Kent", "England and Wales"], "outcomes_closed": [10, 2000]}),
        side_by_side="force",
    )
    assert list(two.frame.columns) == ["", "Kent", "England and Wales"]
    assert two.frame.iloc[0].tolist() == ["Investigations closed", "10", "2,000"]


# --- the force report's sections --------------------------------------------------------------


@pytest.fixture(scope="module")
def ctx(demo_store, tmp_path_factory):
    store, _ = demo_store
    return sections.Context("demo", "8Q", store, tmp_path_factory.mktemp("outputs"))


def test_headline_on_the_recorded_basis(ctx):
    year = ctx.year("2020/21")
    text = sections.headline(ctx, "Northamptonshire", year, basis="recorded")
    row = ctx.panel[(ctx.panel["force"] == "Northamptonshire") & (ctx.panel["financial_year"] == year)].iloc[
        0
    ]
    assert text.startswith("[GENERATED DEMO DATA, not real figures] In 2020/21 Northamptonshire recorded ")
    assert f"{int(row['offences_recorded_outcomes_file']):,} stalking offences" in text
    assert f"{100 * row['charge_rate_recorded']:.1f}% of them had led to a charge or summons" in text
    assert f"{100 * row['not_yet_assigned_rate_recorded']:.1f}% had no outcome yet" in text
    assert sections.headline(ctx, "Northamptonshire", year, basis="closed") != text
    assert not sections.headline(ctx, "Northamptonshire", year, "recorded", label=False).startswith("[")


def test_year_is_resolved_in_one_place(ctx):
    from analysis.errors import InputError
    from analysis.stats.measures import default_year

    assert ctx.year("") == default_year(ctx.panel)
    assert ctx.year("2020-21") == "2020/21"
    with pytest.raises(InputError, match="year 1999/00 is outside"):
        ctx.year("1999/00")


# --- figures ----------------------------------------------------------------------------------


def test_plots_leave_the_backend_alone_inside_a_kernel():
    """Inside a kernel the inline backend must stay: forcing Agg is what hid every chart."""
    code = (
        "import ipykernel, matplotlib\n"
        "matplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import analysis.reports.plots\n"
        "print(matplotlib.get_backend())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "inline" in out
    out = subprocess.run(
        [sys.executable, "-c", "import matplotlib, analysis.reports.plots; print(matplotlib.get_backend())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().lower() == "agg"


def test_figures_are_shown_once_with_alt_text_and_saved_reproducibly(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    plots.mark_demo(fig, True)
    shown = plots.show(fig, "A diagonal line.")
    assert plt.fignum_exists(fig.number) is False  # closed in pyplot: not shown a second time
    data, meta = shown._repr_mimebundle_()
    assert data["text/plain"] == "A diagonal line." and data["image/png"]
    assert meta == {"image/png": {"alt": "A diagonal line."}}
    assert shown.png() == shown.png()  # the PNG a report shows (and `run` saves) is reproducible
    a = plots.save(fig, tmp_path / "a.png")
    b = plots.save(fig, tmp_path / "b.png")
    assert a.read_bytes() == b.read_bytes() and b"matplotlib" not in a.read_bytes().lower()


def test_demo_label_sits_above_the_plot_not_on_the_tick_labels():
    nat = pd.DataFrame({"financial_year": [f"{y}/{(y + 1) % 100:02d}" for y in range(2014, 2025)]})
    for m in ("charge_rate_closed", "evidential_difficulties_rate_closed", "no_suspect_rate_closed"):
        nat[m], nat[f"{m}_low"], nat[f"{m}_high"] = 0.2, 0.1, 0.3
    fig = plots.trend_plot(nat, synthetic=True)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    footer = next(t for t in fig.texts if t.get_text() == plots.DEMO_LABEL and t.get_rotation() == 0)
    box = footer.get_window_extent(renderer)
    for label in fig.axes[0].get_xticklabels():
        assert not box.overlaps(label.get_window_extent(renderer))
    assert fig.axes[0].yaxis.get_major_formatter()(0.25, 0) == "25%"  # axes in per cent
    plt.close(fig)


def test_dose_response_draws_the_slope_it_is_given():
    rng = np.random.default_rng(1)
    rows = []
    for i in range(20):
        dose = rng.uniform(0.5, 1.5)
        for year, rate in (("2018/19", 0.3), ("2019/20", 0.3), ("2020/21", 0.2), ("2021/22", 0.2)):
            rows.append(
                {
                    "force": f"F{i}",
                    "financial_year": year,
                    "charged": int(rate * 400),
                    "closed": 400,
                    "dose": dose,
                }
            )
    points = link.first_difference_points(pd.DataFrame(rows))
    assert len(points) == 20 and (points["change_logit"] < 0).all()
    fig = plots.dose_response_plot(points, slope=-0.302)
    # the points drawn are the estimator's own
    xy = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(xy[:, 0], points["dose"]) and np.allclose(xy[:, 1], points["change_logit"])
    line = fig.axes[0].lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert (y[-1] - y[0]) / (x[-1] - x[0]) == pytest.approx(-0.302)
    assert "-0.302" in fig.axes[0].get_legend().get_texts()[0].get_text()
    plt.close(fig)


def test_funnel_flags_are_coloured_by_direction_and_tier_for_any_levels():
    assert plots.flag_colour("within", np.nan, [0.9, 0.99]) == plots.PALETTE["grey"]
    assert plots.flag_colour("high", 0.99, [0.9, 0.99]) == plots.PALETTE["red"]
    assert plots.flag_colour("low", 0.9, [0.9, 0.99]) == plots.PALETTE["sky"]
    d = pd.DataFrame(
        {
            "force": list("ABCDEFGHIJ"),
            "charged_closed": [0, 50] + [100] * 7 + [300],
            "outcomes_closed": [1000] * 10,
        }
    )
    fig = plots.funnel_plot(funnel.funnel(d, levels=(0.9, 0.99)), method="exact")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(lab.startswith("high (beyond 99%)") for lab in labels)
    plt.close(fig)


def _executed_notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks" / "reference").glob("*.ipynb"))


def test_every_template_has_figure_cells():
    for py in sorted((ROOT / "notebooks").glob("*.py")):
        assert 'tags=["figure"]' in py.read_text(encoding="utf-8"), py.name


def assert_figures_shown(path: Path) -> None:
    """Every figure cell of an executed notebook has a PNG with alt text; no cell shows a bare
    matplotlib repr (what a figure prints when inline display is off)."""
    nb = nbformat.read(path, as_version=4)
    figure_cells = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        for o in outputs:
            assert not str(o.get("data", {}).get("text/plain", "")).startswith("<Figure size"), (
                path.name,
                cell.source,
            )
        if "figure" in cell.metadata.get("tags", []):
            figure_cells += 1
            pngs = [o for o in outputs if "image/png" in o.get("data", {})]
            assert pngs, f"{path.name}: figure cell without an image: {cell.source!r}"
            assert all(len(o["metadata"]["image/png"]["alt"]) > 20 for o in pngs)
    assert figure_cells > 0, path.name


@pytest.mark.parametrize("path", _executed_notebooks(), ids=lambda p: p.name)
def test_every_figure_cell_of_the_references_shows_a_chart(path):
    assert_figures_shown(path)


# --- pages --------------------------------------------------------------------------------------


def test_page_titles_name_the_report():
    assert (
        site.page_title("force_report", {"force": "Cumbria"}) == "Cumbria: how the police dealt with stalking"
    )
    assert site.page_title("national_trends", {}).startswith("Stalking in England and Wales")


def test_html_pages_use_the_package_template(tmp_path):
    """The nbconvert template: title, heading, back links, viewport, parameters cell once,
    figure alt text."""
    from analysis.runs import runner
    from analysis.runs.runner import _html_exporter

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('force = "Northamptonshire"', metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell('force = "Cumbria"', metadata={"tags": ["injected-parameters"]})
    shown = plots.show(plt.subplots()[0], "An empty chart for the test.")
    data, meta = shown._repr_mimebundle_()
    fig_cell = nbformat.v4.new_code_cell(
        "fig", outputs=[nbformat.v4.new_output("display_data", data=data, metadata=meta)]
    )
    nb.cells = [params, injected, fig_cell]
    title = site.page_title("force_report", {"force": "Cumbria"})
    job = runner.Job("forces/cumbria", "force_report", {"force": "Cumbria"})
    body, _ = _html_exporter(True).from_notebook_node(nb, resources=runner.page_resources(job))
    assert f"<title>{title}</title>" in body and f"<h1>{title}</h1>" in body
    assert 'href="../index.html"' in body and 'href="../methods.html"' in body
    assert 'name="viewport"' in body
    assert "Northamptonshire" not in body and "Cumbria" in body  # the defaults cell is hidden
    assert 'alt="An empty chart for the test."' in body
    json.dumps(body)  # plain text


@pytest.fixture(scope="module")
def analysed(ctx):
    """The context with the national tables written by analyse (few bootstrap draws)."""
    from analysis.reports.analyse import write_analysis
    from analysis.reports.tables import write_store_tables

    write_store_tables(ctx.store, ctx.outputs_dir)
    write_analysis(ctx.store, ctx.outputs_dir, bootstrap_reps=19, permutation_reps=9)
    return ctx


def _text(markdown: str) -> str:
    """Markdown without its HTML tags (the marks on quoted figures)."""
    return re.sub(r"<[^>]+>", "", markdown)


def test_force_report_reads_what_analyse_wrote_and_refits_nothing(analysed, monkeypatch):
    from analysis.stats import link, shrinkage

    def refit(*args, **kwargs):
        raise AssertionError("a notebook section refitted a national model")

    for module, name in (
        (funnel, "funnel"),
        (funnel, "change_funnel"),
        (shrinkage, "shrink"),
        (link, "run_link"),
    ):
        monkeypatch.setattr(module, name, refit)
    year = analysed.year("")
    verdict = _text(sections.force_verdict(analysed, "Northamptonshire", year).markdown)
    assert verdict.startswith(
        f"## Northamptonshire, {year}\n\n- Charged or summonsed: 1.8% (22 of 1,252 closed) against 5.0%"
    )
    for words in (
        "- Funnel plot: lower than the national rate by more than chance would explain, even with the random-effects (τ²) limits",
        "- Rank: between",
        "- April 2020: recorded stalking went from ",
        "- Against the national link:",
    ):
        assert words in verdict
    table, shown = sections.force_funnel_position(analysed, "Northamptonshire", year)
    assert "low (beyond 99.8%)" in repr(table)
    # the notebook writes no file: it names the figure, and `run` saves what it shows
    assert not (analysed.outputs_dir / "forces").exists()
    _, meta = shown._repr_mimebundle_()
    numbers = meta["image/png"].pop(plots.FIGURE_DATA)  # what it draws, for `run` to write beside it
    assert meta == {"image/png": {"alt": shown.alt, "figure_name": "funnel"}}
    assert numbers.startswith("series,force,flag,x,y,count,highlighted,") and "Northamptonshire" in numbers
    # City of London closed 14 in 2019/20 (its real 2017/18 size: 5 stalking offences); the
    # own-change sentence for a force with too few since 2020 is tested on its own above
    small = sections.force_verdict(analysed, "London, City of", "2019/20").markdown
    assert "(too few to give a percentage)" in small
    # British Transport Police: no PFA recorded counts and no dose; the verdict still reads
    btp = sections.force_verdict(analysed, "British Transport Police", year).markdown
    assert "- Charged or summonsed: " in btp and "- April 2020: " in btp
    sections.comparison_summary(
        analysed, sections.funnel_for(analysed, year), sections.shrinkage_for(analysed, year)
    )
    sections.national_summary(analysed)
    # the figure draws the slope the table holds
    models = analysed.table(outputs.LINK_MODELS)
    slope = models.set_index("estimator").loc["first_difference", "estimate"]
    assert f"slope {slope:.3f}" in sections.dose_response_figure(analysed).alt


def test_every_force_has_a_region():
    from analysis.domain import forces

    regions = {f.region for f in forces.registry()}
    english = {
        "North East",
        "North West",
        "Yorkshire and The Humber",
        "East Midlands",
        "West Midlands",
        "East of England",
        "London",
        "South East",
        "South West",
    }
    assert regions == english | {"Wales", "national"}
    assert all((f.region == "Wales") == (f.country == "Wales") for f in forces.registry())
    assert forces.resolve("BTP").region == "national"


def test_the_force_gaps_summary_names_the_forces_off_the_line():
    gaps = pd.DataFrame(
        {
            "force": ["Kent", "Essex", "Surrey"],
            "gap_low": [-0.1, 0.02, -0.3],
            "gap_high": [0.1, 0.2, -0.01],
            "gap_tau": 0.05,
            "gap_tau_slope": 0.12,
            "gap_sigma_year": 0.11,
        }
    )
    words = verdicts.force_gaps_summary(gaps)
    assert words.startswith(
        "2 of 3 forces sit off the national link's line beyond their 95% interval (Essex, Surrey)."
    )
    assert (
        "0.050 on the log-odds scale" in words
        and "spread by 0.120 per unit of dose" in words
        and "at 0.110." in words
    )
    assert verdicts.force_gaps_summary(gaps.assign(gap_low=-1.0, gap_high=1.0)).startswith(
        "0 of 3 forces sit off the national link's line beyond their 95% interval. The model"
    )
