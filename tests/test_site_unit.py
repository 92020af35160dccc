"""The report site's pages from small hand-made tables (tests/site_tables.py), without a run:
the index's cells (small numbers as counts, sort keys, funnel position, rise), report links by
notebook status, national reports, figures and downloads from the catalogue, the citation,
each force's CSV and the methods page. Milliseconds each; whole runs are in test_site.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from site_tables import (
    BIG,
    BIG_CLOSED,
    NONE,
    SLUGS,
    SMALL,
    SMALL_CHARGED,
    SMALL_CLOSED,
    SMALL_EVID,
    YEAR,
    write_national,
)

from analysis import outputs
from analysis.domain import rules
from analysis.reports import site

ROOT = Path(__file__).resolve().parents[1]


def write_index(out: Path, offence: str = "8Q", synthetic: bool = True, manifest: dict | None = None) -> str:
    """site.write_index (by keyword), returning the page."""
    path = site.write_index(out, offence=offence, synthetic=synthetic, manifest=manifest or {})
    assert path == outputs.INDEX.path(out)
    return path.read_text(encoding="utf-8")


class _Page(HTMLParser):
    """The index's force rows (each cell's data-sort, text and links), its national report list
    items, its downloads (href -> description) and its figures."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, list[dict]] = {}
        self.national: list[dict] = []
        self.downloads: dict[str, str] = {}
        self.figures: list[dict] = []
        self._cell: dict | None = None
        self._row: list[dict] | None = None
        self._li: dict | None = None
        self._in_ul = self._in_dl = self._dt = self._dd = self._caption = False
        self._href = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-search" in a:
            self._row = []
            self.rows[a["data-search"]] = self._row
        elif tag == "td" and self._row is not None:
            self._cell = {"sort": a.get("data-sort"), "label": a.get("data-label"), "text": "", "links": []}
            self._row.append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell["links"].append(a["href"])
        elif tag == "ul":
            self._in_ul = True
        elif tag == "li" and self._in_ul:
            self._li = {"text": "", "links": []}
            self.national.append(self._li)
        elif tag == "a" and self._li is not None:
            self._li["links"].append(a["href"])
        elif tag == "dl":
            self._in_dl = True
        elif tag == "dt" and self._in_dl:
            self._dt = True
        elif tag == "a" and self._dt:
            self._href = a["href"]
        elif tag == "dd" and self._in_dl:
            self._dd, self.downloads[self._href] = True, ""
        elif tag == "img":
            self.figures.append({"src": a["src"], "alt": a["alt"], "caption": ""})
        elif tag == "figcaption":
            self._caption = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "li":
            self._li = None
        elif tag == "ul":
            self._in_ul = False
        elif tag == "dl":
            self._in_dl = False
        elif tag == "dt":
            self._dt = False
        elif tag == "dd":
            self._dd = False
        elif tag == "figcaption":
            self._caption = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._li is not None:
            self._li["text"] += data
        if self._dd:
            self.downloads[self._href] += data
        if self._caption:
            self.figures[-1]["caption"] += data


def parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    return p


def _row(page: _Page, force: str) -> dict[str, dict]:
    """A force's row, by cell label."""
    rows = [r for r in page.rows.values() if r[0]["sort"] == force]
    assert len(rows) == 1, force
    return {c["label"]: c for c in rows[0]}


@pytest.fixture()
def national(tmp_path) -> Path:
    out = tmp_path / "site"
    write_national(out)
    return out


def test_index_lists_the_forces_in_the_headlines_alphabetically_and_no_others(national):
    page = parse(write_index(national))
    names = [r[0]["sort"] for r in page.rows.values()]
    assert names == sorted([BIG, SMALL, NONE])  # not England and Wales, not forces without a row
    # a force is found by its region and its aliases too
    assert "wales" in _row_search(page, NONE) and "dyfed powys" in _row_search(page, NONE)
    assert _row_search(page, BIG).startswith("kent south east")


def _row_search(page: _Page, force: str) -> str:
    return next(k for k, r in page.rows.items() if r[0]["sort"] == force)


def test_a_large_force_is_shown_as_percentages_with_numeric_sort_keys(national):
    row = _row(parse(write_index(national)), BIG)
    assert row["Closed"]["text"] == f"{BIG_CLOSED:,}" == "2,467"
    assert float(row["Closed"]["sort"]) == BIG_CLOSED
    assert row["Charged or summonsed"]["text"] == "1.4% (34 of 2,467 closed)"
    assert float(row["Charged or summonsed"]["sort"]) == 1.4  # the share as printed
    assert row["Evidential difficulties"]["text"] == "50.0% (1,234 of 2,467 closed)"
    # funnel position in words, sorted by its z-score; rise as a ratio naming its two years
    assert row["Funnel position"]["text"] == "low (beyond 99.8%)"
    assert float(row["Funnel position"]["sort"]) == -3.25
    assert row["Rise in recording"]["text"] == "×2.0" + "2019/20 to 2020/21"  # the ratio, its years under it
    assert float(row["Rise in recording"]["sort"]) == 2.0


def test_a_small_force_is_shown_as_counts_never_as_a_percentage(national):
    row = _row(parse(write_index(national)), SMALL)
    assert row["Charged or summonsed"]["text"] == f"{SMALL_CHARGED} of {SMALL_CLOSED} closed"
    assert row["Evidential difficulties"]["text"] == f"{SMALL_EVID} of {SMALL_CLOSED} closed"
    assert "%" not in row["Charged or summonsed"]["text"] + row["Evidential difficulties"]["text"]
    # in the funnel, but too small for its place to be a finding: not placed, not sorted
    assert row["Funnel position"]["text"] == f"not placed: fewer than {rules.SMALL_N} closed"
    assert row["Funnel position"]["sort"] == ""
    # recorded from a handful: the two counts, no ratio, and no sort key among the others
    assert row["Rise in recording"]["text"].startswith(f"{SMALL_CLOSED} to {2 * SMALL_CLOSED}")
    assert row["Rise in recording"]["sort"] == ""


def test_a_small_force_has_no_percentage_sort_key(national):
    row = _row(parse(write_index(national)), SMALL)
    assert row["Charged or summonsed"]["sort"] == ""
    assert row["Evidential difficulties"]["sort"] == ""


def test_a_force_that_closed_nothing_has_dashes_and_empty_sort_keys(national):
    row = _row(parse(write_index(national)), NONE)
    assert row["Closed"]["text"] == "0"
    for label in ("Charged or summonsed", "Evidential difficulties", "Funnel position", "Rise in recording"):
        assert row[label]["text"] == "–", label
        assert row[label]["sort"] == "", label


def test_report_links_follow_each_reports_status(national):
    nb = {
        outputs.force_report(SLUGS[BIG]): {"status": "skipped"},
        outputs.force_report(SLUGS[SMALL]): {"status": "failed", "error": "ValueError: x"},
    }  # NONE's report was not run
    page = parse(write_index(national, manifest={"notebooks": nb}))
    big, small, none = (_row(page, f) for f in (BIG, SMALL, NONE))
    files = outputs.report_files(outputs.force_report(SLUGS[BIG]))
    assert big["Force"]["links"] == [files[outputs.REPORT_PAGE]]
    assert big["Downloads"]["links"] == [
        files[outputs.REPORT_PAGE_NOCODE],
        outputs.FORCE_CSV.relpath(slug=SLUGS[BIG]),
    ]
    assert small["Force"]["links"] == [] and "report failed" in small["Downloads"]["text"]
    assert small["Downloads"]["links"] == [outputs.FORCE_CSV.relpath(slug=SLUGS[SMALL])]
    assert none["Force"]["links"] == [] and "not run" in none["Downloads"]["text"]


def test_national_reports_are_listed_with_their_pages_or_their_error(national):
    nb = {
        outputs.national_report("reporting_link"): {"status": "failed", "error": "E" * 300},
        outputs.national_report("national_trends"): {"status": "ok"},
        outputs.force_report(SLUGS[BIG]): {"status": "ok"},  # not a national report
    }
    page = parse(write_index(national, manifest={"notebooks": nb}))
    assert len(page.national) == 2
    trends, link = page.national  # sorted by name
    files = outputs.report_files(outputs.national_report("national_trends"))
    assert trends["links"] == [files[outputs.REPORT_PAGE], files[outputs.REPORT_PAGE_NOCODE]]
    assert link["links"] == []
    assert "failed (" + "E" * 200 + ")" in link["text"] and "E" * 201 not in link["text"]


def test_national_reports_are_listed_under_their_pages_titles(national):
    nb = {outputs.national_report(t): {"status": "ok"} for t in ("national_trends", "reporting_link")}
    page = parse(write_index(national, manifest={"notebooks": nb}))
    titles = [li["text"].split(" (without code)")[0] for li in page.national]
    assert titles == [site.page_title(t, {"offence": "8Q"}) for t in ("national_trends", "reporting_link")]
    assert not any("{" in t for t in titles)


def test_downloads_list_every_catalogued_table_with_its_description(national):
    (national / "tables" / "notes.txt").write_text("someone's notes")  # not in the catalogue
    page = parse(write_index(national))
    expected = {
        p.relative_to(national).as_posix(): e.described(p.relative_to(national).as_posix())
        for p, e in outputs.found(national, outputs.NATIONAL_FOLDERS)
        if e.kind == "table"
    }
    assert page.downloads == expected
    funnel = outputs.FUNNEL.relpath(year=YEAR)
    assert page.downloads[funnel].startswith(f"Per force in {YEAR}:")  # the file's own year
    assert not any("notes" in href for href in page.downloads)
    assert outputs.FIGURE_ALT.relpath() not in page.downloads  # a figure record, not a table


def test_figures_carry_their_alt_text_or_else_their_description(national):
    page = parse(write_index(national))
    by_src = {f["src"]: f for f in page.figures}
    funnel = outputs.FUNNEL_FIGURE.relpath(year=YEAR)
    cat = outputs.NATIONAL_FIGURES["caterpillar"].relpath()
    assert set(by_src) == {funnel, cat}
    assert by_src[funnel]["alt"] == "Funnel plot alt text"
    assert by_src[funnel]["caption"] == outputs.FUNNEL_FIGURE.described(funnel)
    assert by_src[cat]["alt"] == by_src[cat]["caption"] == outputs.NATIONAL_FIGURES["caterpillar"].description


def test_a_run_without_funnel_or_rise_tables_shows_dashes_there(national):
    outputs.FUNNEL.path(national, year=YEAR).unlink()
    outputs.RECORDING_RISE.path(national).unlink()
    row = _row(parse(write_index(national)), BIG)
    assert row["Funnel position"]["text"] == row["Rise in recording"]["text"] == "–"
    assert row["Funnel position"]["sort"] == row["Rise in recording"]["sort"] == ""
    assert row["Charged or summonsed"]["text"].startswith("1.4%")  # the figures to quote fill the rest


def test_no_figures_section_without_figures(tmp_path):
    out = tmp_path / "site"
    write_national(out)
    for p in (out / "figures").iterdir():
        p.unlink()
    assert "National figures" not in write_index(out)


def test_citation_banner_and_data_label_follow_the_data(national):
    demo = write_index(national, synthetic=True, manifest={"code_commit": "0123456789abcdef0123"})
    assert "code commit 0123456789ab)" in demo
    # provenance: the code at that very commit, its licence, the data's edition and licence
    footer = demo.split('<footer class="provenance">')[1]
    assert 'href="https://github.com/stalking-outcomes/stalking-outcomes/tree/0123456789abcdef0123"' in footer
    assert "MIT licence" in footer and "generated demo data" in footer
    assert "Data edition:" in footer
    assert "GENERATED DEMO DATA" in demo and 'class="demo-banner"' in demo
    assert "Crown copyright" not in demo
    assert f"England and Wales, {YEAR}." in demo
    real = write_index(national, synthetic=False)
    assert "code commit" not in real  # no commit recorded: none claimed
    assert 'class="demo-banner"' not in real and "GENERATED DEMO DATA" not in real.split("<h2")[0]
    assert "Crown copyright, Open Government Licence v3.0." in real
    assert "Open Government Licence v3.0 (Home Office data" in real.split('<footer class="provenance">')[1]
    assert not list(national.glob("*.tmp"))  # written through a temporary file, renamed


def test_each_forces_csv_holds_its_figures_to_quote_and_its_rise(national):
    written = site.force_csvs(national)
    assert set(written) == {BIG, SMALL, NONE}  # not England and Wales: it is not a force
    assert written[BIG] == outputs.FORCE_CSV.path(national, slug=SLUGS[BIG])
    big = pd.read_csv(written[BIG])
    assert big.columns[0] == "table"
    assert sorted(big["table"]) == sorted(
        [outputs.RECORDING_RISE.path(national).name, *[outputs.FIGURES_TO_QUOTE.path(national).name] * 8]
    )  # 4 measures in 2 years, and the rise; no model table (their rates ignore the reader rules)
    assert set(big["force"]) == {BIG}
    # below the small-number rule the force's CSV gives counts and no share, as its pages do
    small = pd.read_csv(written[SMALL])
    shares = small[small["measure"].isin(["charged", "evidential_difficulties"])]
    assert len(shares) and shares["percent"].isna().all() and shares["count"].notna().all()


def test_methods_page_renders_the_projects_methods_file(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "methods.md").write_text("# Our methods\n\nRates are *shares*.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert site.methods_markdown().startswith("# Our methods")
    out = tmp_path / "site"
    out.mkdir()
    page = site.write_methods(out).read_text(encoding="utf-8")
    assert site.write_methods(out) == outputs.METHODS.path(out)
    assert re.search(r"<h1[^>]*>Our methods</h1>", page)
    assert "<em>shares</em>" in page
    assert f'href="{outputs.INDEX.relpath()}"' in page


def test_methods_file_falls_back_to_the_checkout_then_to_a_pointer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no docs/ here
    checkout = ROOT / "docs" / "methods.md"
    if checkout.exists():
        assert site.methods_markdown() == checkout.read_text(encoding="utf-8")
    # an installed package, run from a folder without docs/: no methods file anywhere
    monkeypatch.setattr(site, "__file__", str(tmp_path / "lib" / "analysis" / "reports" / "site.py"))
    assert site.methods_markdown() is None
    page = site.write_methods(tmp_path).read_text(encoding="utf-8")
    assert "See docs/methods.md" in page


def test_page_titles_name_the_force_or_the_report():
    assert site.page_title("force_report", {"force": "Kent", "offence": "8Q"}).startswith("Kent: ")
    assert site.page_title("some_new_report", {}) == "Some new report"
    for template in site.NATIONAL_TITLES:
        title = site.page_title(template, {"offence": "8Q"})
        assert title and "{" not in title and "}" not in title, template


def test_the_stylesheet_reaches_the_page_unescaped(national):
    """Before, the index's CSS was HTML-escaped (`&#34;` in its font list), so it rendered in the
    browser's default font with no sort arrows."""
    page = write_index(national)
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert '"Segoe UI"' in style and "&#34;" not in style and "&quot;" not in style
