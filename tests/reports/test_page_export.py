"""The report pages as runner._export_pages writes them: they load nothing from another host
(no require.js, MathJax, mermaid or widget scripts), link the site's one shared stylesheet, and
show a figure the site holds as a file from that file, with a link to it; the stylesheet is
the same bytes every time; figures are drawn with a palette, the same figure the same bytes."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import nbformat
import pytest
from PIL import Image

from analysis import outputs
from analysis.reports import plots
from analysis.runs import runner
from analysis.runs.jobs import Job

KENT = outputs.force_report("kent")
FUNNEL = outputs.FUNNEL_FIGURE.relpath(year="2024/25")


class _Tags(HTMLParser):
    """Every start tag of a page, with its attributes, and the tag each sits in."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str], str]] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}, self._open[-1] if self._open else ""))
        if tag not in ("img", "link", "meta", "br", "hr", "input"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]


def _tags(html: str) -> list[tuple[str, dict[str, str], str]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _chart(title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1, 2], [0.2, 0.5, 0.3], label="rate")
    ax.fill_between([0, 1, 2], [0.1, 0.4, 0.2], [0.3, 0.6, 0.4], alpha=0.3)
    ax.set_title(title)
    ax.legend()
    return fig


def _figure_output(shown: plots.Shown):
    data, meta = shown._repr_mimebundle_()
    return nbformat.v4.new_output("display_data", data=data, metadata=meta)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    """A force report's two pages, exported from a notebook that shows a figure of its own (saved
    as a file by the run), a national figure from its file, and a figure with no file."""
    out = tmp_path_factory.mktemp("site")
    national = plots.Shown(_chart("national"), "A national funnel plot, drawn for the test.").png()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Kent\n\nThe charge rate fell."),
        nbformat.v4.new_code_cell(
            "figures()",
            outputs=[
                _figure_output(
                    plots.show(_chart("own"), "Kent's trends, a chart drawn for the test.", "trends")
                ),
                _figure_output(
                    plots.shown_file(national, "The national funnel plot, from its file.", FUNNEL)
                ),
                _figure_output(plots.show(_chart("none"), "A chart with no file, drawn for the test.")),
            ],
        ),
    ]
    files = {o: out / rel for o, rel in outputs.report_files(KENT).items()}
    files[outputs.REPORT_PAGE].parent.mkdir(parents=True)
    runner._export_pages(nb, Job(KENT, "force_report", {"force": "Kent", "offence": "8Q"}), files)
    return {o.key: files[o].read_text(encoding="utf-8") for o in runner._PAGES}


def test_a_page_loads_nothing_from_another_host(pages):
    for key, html in pages.items():
        loaded = [
            attrs.get("src") or attrs.get("href", "")
            for tag, attrs, _ in _tags(html)
            if tag in ("script", "link", "img", "iframe", "source", "video", "audio")
        ]
        assert [u for u in loaded if u.startswith(("http:", "https:", "//"))] == [], key
        assert not any(tag == "script" and "src" in attrs for tag, attrs, _ in _tags(html)), key
        for word in ("cdnjs", "mathjax", "require.js", "mermaid", "unpkg"):
            assert word not in html.lower(), (key, word)


def test_a_page_links_the_shared_stylesheet_and_inlines_only_its_own_styles(pages):
    for key, html in pages.items():
        sheets = [a["href"] for tag, a, _ in _tags(html) if tag == "link" and a.get("rel") == "stylesheet"]
        assert sheets == ["../" + outputs.STYLESHEET.relpath()], key
        assert len(html) < 60_000, key  # JupyterLab's quarter megabyte of CSS is not in the page
        assert ".site-header" in html and "@media (max-width: 40rem)" in html, key


def test_a_figure_the_site_holds_is_shown_from_its_file_and_links_to_it(pages):
    for key, html in pages.items():
        images = [(a["src"], parent) for tag, a, parent in _tags(html) if tag == "img"]
        assert [src for src, _ in images if not src.startswith("data:")] == [
            "kent/trends.png",  # beside the page: forces/kent/trends.png
            "../" + FUNNEL,
        ], key
        assert all(parent == "a" for src, parent in images if not src.startswith("data:")), key
        links = [a["href"] for tag, a, _ in _tags(html) if tag == "a" and "figure-file" in a.get("class", "")]
        assert links == ["kent/trends.png", "../" + FUNNEL], key
        assert sum(src.startswith("data:image/png;base64,") for src, _ in images) == 1, key


def test_figure_href_names_only_figures_the_catalogue_knows():
    meta = {plots.FIGURE_NAME: "trends"}
    assert runner.figure_href(KENT, meta) == "kent/trends.png"
    national = outputs.national_report("force_comparison")
    assert runner.figure_href(national, {plots.FIGURE_FILE: FUNNEL}) == "../" + FUNNEL
    for file in ("tables/force_year.csv", "../../elsewhere/funnel_2024-25.png", "figures/mine.png", ""):
        assert runner.figure_href(national, {plots.FIGURE_FILE: file}) == "", file
    assert runner.figure_href(national, {"alt": "no file"}) == ""


def test_the_shared_stylesheet_is_written_once_the_same_bytes(tmp_path):
    path = runner.write_stylesheet(tmp_path)
    assert path == outputs.STYLESHEET.path(tmp_path)
    css = path.read_bytes()
    assert len(css) > 100_000 and b".jp-Notebook" in css and b".highlight" in css
    assert b"a.anchor-link" in css  # the lab template's own rules came along
    assert b"@import" not in css
    stat = path.stat()
    assert runner.write_stylesheet(tmp_path).read_bytes() == css
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_ino == stat.st_ino  # not rewritten
    path.write_text("edited", encoding="utf-8")
    assert runner.write_stylesheet(tmp_path).read_bytes() == css


def test_a_run_links_in_the_last_sites_stylesheet_when_its_makers_are_unchanged(tmp_path, monkeypatch):
    old, new = tmp_path / "old", tmp_path / "new"
    css = runner.write_stylesheet(old).read_bytes()
    assert css.startswith(runner.stylesheet_header().encode())
    monkeypatch.setattr(runner, "stylesheet", lambda: pytest.fail("made again"))
    path = runner.write_stylesheet(new, previous=old)
    assert path.read_bytes() == css and path.stat().st_ino == outputs.STYLESHEET.path(old).stat().st_ino
    # made by other templates or packages: its header differs, and it is made again
    monkeypatch.undo()
    stale = tmp_path / "stale"
    outputs.STYLESHEET.save(stale, "/* stalking-outcomes page styles 0000 */\nold\n")
    assert runner.write_stylesheet(tmp_path / "fresh", previous=stale).read_bytes() == css


def test_a_shown_figure_is_paletted_and_the_same_bytes_each_time():
    fig = _chart("palette")
    png = plots.Shown(fig, "alt").png()
    assert plots.Shown(fig, "alt").png() == png
    with Image.open(io.BytesIO(png)) as im:
        assert im.mode == "P" and len(im.getcolors(256) or []) <= 256
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=100, bbox_inches="tight")
    assert len(png) < len(full.getvalue())
    plt.close(fig)


@pytest.mark.parametrize("synthetic", [True, False])
@pytest.mark.parametrize("dpi", [100, 110])  # the notebooks' (the box found in finish), the files'
def test_a_figure_drawn_once_is_the_tight_save_pixel_for_pixel(synthetic, dpi):
    """render_png crops where mark_source found the tight box (one layout pass, not three): the
    same pixels as matplotlib's own tight save of the finished figure, source line and demo
    marks (above the plot) included."""
    fig = plots.finish(_chart("once"), synthetic)
    ours = plots.render_png(fig, dpi=dpi)
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=dpi, bbox_inches="tight")
    theirs = plots._palette_png(full.getvalue())  # the same palette step, from matplotlib's PNG
    with Image.open(io.BytesIO(ours)) as a, Image.open(io.BytesIO(theirs)) as b:
        assert a.size == b.size
        assert a.convert("RGBA").tobytes() == b.convert("RGBA").tobytes()
    plt.close(fig)
    # a figure shown from its file is that file's bytes, untouched
    assert plots.shown_file(b"bytes", "alt", FUNNEL).png() == b"bytes"


def test_a_national_figure_names_its_file_in_the_output_metadata():
    _, meta = plots.shown_file(b"png", "alt", FUNNEL)._repr_mimebundle_()
    assert meta["image/png"][plots.FIGURE_FILE] == FUNNEL
    assert plots.FIGURE_FILE not in plots.shown_file(b"png", "alt")._repr_mimebundle_()[1]["image/png"]
