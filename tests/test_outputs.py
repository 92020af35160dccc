"""The output catalogue: every file the package writes is described there, every column of every
table is documented with a unit, and no other module spells an output's file name."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import outputs

ROOT = Path(__file__).resolve().parents[1]


def test_each_pattern_builds_paths_that_it_matches_back():
    fields = {
        "year": "2020/21",
        "year_from": "2019/20",
        "year_to": "2020/21",
        "slug": "avon-and-somerset",
        "template": "force_comparison",
        "report": "forces/kent",
        "figure": "trends",
        "stem": "kent",
    }
    for o in outputs.OUTPUTS + outputs.STUDY_OUTPUTS:
        wanted = {k: v for k, v in fields.items() if "{" + k + "}" in o.pattern}
        rel = o.relpath(**wanted)
        assert outputs.describe(rel) is o or o in outputs.STUDY_OUTPUTS, (o.key, rel)
        got = o.match(rel)
        assert got is not None
        assert {k: v.replace("-", "/") if k.startswith("year") else v for k, v in got.items()} == {
            k: v.replace("-", "/") if k.startswith("year") else v for k, v in wanted.items()
        }
    assert len({o.key for o in outputs.OUTPUTS + outputs.STUDY_OUTPUTS}) == len(
        outputs.OUTPUTS + outputs.STUDY_OUTPUTS
    )


def test_a_file_the_catalogue_does_not_know_is_not_described():
    assert outputs.describe("tables/thesis.csv") is None
    assert outputs.describe("national/mine/x") is None
    assert outputs.describe("forces/notes.txt") is None
    # a year-shaped name is a funnel, the summary is the summary: no pattern swallows another
    assert outputs.describe("tables/funnel_2020-21.csv") is outputs.FUNNEL
    assert outputs.describe("tables/funnel_limits_2020-21.csv") is outputs.FUNNEL_LIMITS
    assert outputs.describe("tables/funnel_summary.csv") is outputs.FUNNEL_SUMMARY
    assert outputs.describe("forces/kent.nocode.html") is outputs.REPORT_PAGE_NOCODE
    assert outputs.describe("forces/kent.html") is outputs.REPORT_PAGE
    # a description names the file's own year, as the site lists it
    assert outputs.FUNNEL.described("tables/funnel_2020-21.csv").startswith("Per force in 2020/21:")
    change = outputs.FUNNEL_CHANGE.described("tables/funnel_change_2019-20_2020-21.csv")
    assert "from 2019/20 to 2020/21" in change


def test_relpath_refuses_values_that_do_not_fit():
    with pytest.raises(ValueError):
        outputs.FORCE_CSV.relpath(slug="../../etc/passwd")
    with pytest.raises(ValueError):
        outputs.FUNNEL.relpath(year="last year")


def test_save_and_load_round_trip(tmp_path):
    frame = pd.DataFrame({"force": ["Kent"], "dose": [0.123456789]})
    path = outputs.LINK_INFLUENCE.save(tmp_path, frame)
    assert path == tmp_path / "tables" / "link_influence.csv"
    back = outputs.LINK_INFLUENCE.load(tmp_path)
    assert back["dose"].iloc[0] == pytest.approx(0.123457)  # six significant digits, as written
    outputs.LINK_MODEL.save(tmp_path, {"estimate": 1 / 3})
    assert outputs.LINK_MODEL.load(tmp_path) == {"estimate": 0.333333}
    assert outputs.FORCE_YEAR.save_into(tmp_path / "mine", frame) == tmp_path / "mine" / "force_year.csv"


def test_every_column_in_the_vocabulary_has_a_unit_and_a_meaning():
    names = [c.name for c in outputs.COLUMNS]
    assert len(names) == len(set(names))
    for c in outputs.COLUMNS:
        assert c.unit.strip() and c.description.strip(), c.name
    for o in outputs.OUTPUTS:
        for name in o.columns:
            assert outputs.column(name) is not None, (o.key, name)


@pytest.fixture(scope="module")
def analysed(demo_store, tmp_path_factory) -> Path:
    """The national tables and figures written for the demo store (few bootstrap draws)."""
    from analysis.reports.analyse import write_analysis
    from analysis.reports.tables import write_store_tables
    from analysis.sources.store import load_store

    out = tmp_path_factory.mktemp("out")
    st = load_store(demo_store[0])
    write_store_tables(st, out)
    write_analysis(st, out, bootstrap_reps=19, permutation_reps=9)
    return out


def test_every_file_the_national_analysis_writes_is_in_the_catalogue(analysed):
    files = [p for p in sorted(analysed.rglob("*")) if p.is_file()]
    assert len(files) > 30
    unknown = [
        p.relative_to(analysed).as_posix()
        for p in files
        if outputs.describe(p.relative_to(analysed).as_posix()) is None
    ]
    assert unknown == []
    assert {o.key for _, o in outputs.found(analysed)} >= {
        "force_year",
        "funnel",
        "link_model",
        "figure_national_trends",
        "figure_alt",
    }


def test_every_column_of_every_table_written_is_documented(analysed):
    for path, entry in outputs.found(analysed):
        if path.suffix != ".csv":
            continue
        columns = list(pd.read_csv(path, nrows=0).columns)
        assert outputs.undocumented_columns(entry, columns) == [], path.name


# Where output names must not be spelled: the package (but the catalogue), the notebook
# templates' py:percent pairs, the developer tools and the benchmarks.
_SCANNED = [
    *(p for p in (ROOT / "src" / "analysis").rglob("*") if p.suffix in (".py", ".j2", ".json")),
    *(ROOT / "notebooks").glob("*.py"),
    *(ROOT / "tools").glob("*.py"),
    *(ROOT / "benchmarks").glob("*.py"),
]


def _spellings() -> dict[str, re.Pattern[str]]:
    """Each output's file name as it would be spelled in code: literally, or with the fields in
    its name written out in any way (an f-string, a concatenation)."""
    found = {}
    for o in outputs.OUTPUTS + outputs.STUDY_OUTPUTS:
        name = o.pattern.rsplit("/", 1)[-1]
        if name.startswith("{"):
            # "{report}.html" and the like: the fixed part alone is what would be spelled
            fixed = name.split("}", 1)[1]
            if fixed in (".ipynb", ".html", ".png", ".json", ".csv"):
                continue  # too common to tell apart from input files
            found[o.key] = re.compile(re.escape(fixed) + r"(?!\.j2)")
            continue
        parts = re.split(r"\{\w+\}", name)
        # a Jinja template named like its page ("index.html.j2") is an input, not an output
        # (and the method study's tables committed under docs/validation/ are documents)
        found[o.key] = re.compile(
            r"(?<!docs/validation/)" + r"[^\"'\s/]*".join(re.escape(p) for p in parts) + r"(?!\.j2)"
        )
    return found


def test_no_module_but_the_catalogue_spells_an_output_file_name():
    spellings = _spellings()
    hits = []
    for path in _SCANNED:
        if path == ROOT / "src" / "analysis" / "outputs.py":
            continue
        text = path.read_text(encoding="utf-8")
        for key, rx in spellings.items():
            for m in rx.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                hits.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)} ({key})")
    assert hits == []
