"""The methods page renders every Markdown table of docs/methods.md as an HTML table (also those
inside list items), each in a box that scrolls sideways on a phone. Milliseconds each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import outputs
from analysis.reports import site

ROOT = Path(__file__).resolve().parents[2]
# a table's delimiter row: |---|:--:|  (pipes at both ends optional, as in the table plugin)
DELIMITER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")


def markdown_tables(text: str) -> int:
    """How many pipe tables a Markdown text holds: its delimiter rows outside fenced code."""
    count, fenced = 0, False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and DELIMITER.match(line):
            count += 1
    return count


def test_every_table_of_the_methods_file_is_an_html_table(tmp_path, monkeypatch):
    methods = ROOT / "docs" / "methods.md"
    if not methods.exists():
        pytest.skip("an installed package without its docs/")
    monkeypatch.chdir(ROOT)
    expected = markdown_tables(methods.read_text(encoding="utf-8"))
    assert expected >= 11  # the page has them today; fewer means this count went wrong
    page = site.write_methods(tmp_path).read_text(encoding="utf-8")
    assert "|---" not in page and "| ---" not in page
    assert page.count("<table") == expected
    assert page.count('<div class="table-scroll"') == expected


def test_a_table_inside_a_list_item_is_rendered_and_scrolls(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "methods.md").write_text(
        "# M\n\n- **A list item.** With a table:\n\n"
        "  | scenario | bias (MCSE) | what it breaks |\n  |---|---:|---|\n"
        "  | baseline | -0.0017 (0.0016) | nothing at all: the generator's own assumptions, as written |\n\n"
        "| top | level |\n|---|---|\n| a | b |\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "site"
    out.mkdir()
    page = site.write_methods(out).read_text(encoding="utf-8")
    assert page.count("<table") == 2 and "|---" not in page
    assert re.search(r'<li>.*<div class="table-scroll"[^>]*tabindex="0"', page, re.S)
    assert '<td style="text-align:right">-0.0017 (0.0016)</td>' in page  # a figure: one line
    assert '<td class="long">nothing at all' in page  # a sentence: wraps
    assert ".table-scroll{overflow-x:auto" in page  # the page's own style
    assert site.write_methods(out) == outputs.METHODS.path(out)
