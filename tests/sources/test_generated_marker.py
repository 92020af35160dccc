"""Whether data are generated is decided from the files, not the folder (issue 25, fault 2): the
demo generator's marker on a workbook's first sheet ("SYNTHETIC DEMO DATA - ...", its cover
sheet's title) marks that file, and a store holding any marked file, or built from a folder with
truth.json, is labelled generated, whatever the folder is called. Also: `--offences` typed out
equal to the default list is the default (issue 25, fault 7's neighbour)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import record

from analysis.cli import main
from analysis.demo.publish import OutcomesLayout, Sheet, outcome_rows, write_workbook
from analysis.domain import taxonomy
from analysis.errors import InputError
from analysis.sources import ingest, sheets, store
from analysis.sources.homeoffice import GENERATED_MARKER, is_generated, read_outcomes, read_recorded
from analysis.sources.sheets import ENGINES

MARKED = f"{GENERATED_MARKER} - Outcomes open data, year ending March 2021"
PLAIN = "Police recorded crime and outcomes open data tables"
FORCES = ("Kent", "Surrey", "Essex", "Cumbria")
PFA_HEADER = ["Financial Year", "Financial Quarter", "Force Name", "Offence Code", "Offence Count"]


def _records(year: str = "2020/21", codes=("8Q",)) -> list[dict]:
    return [
        record(
            force=f, year=year, quarter=q, code=c, otype=t, recorded=10 * (j + 1) + q, closed=8 * (j + 1) + t
        )
        for c in codes
        for j, f in enumerate(FORCES)
        for q in (1, 2, 3, 4)
        for t in (1, 14, 18)
    ]


def _outcomes(path: Path, cover: str | None, year: str = "2020/21", codes=("8Q",)) -> Path:
    """A small outcomes workbook (format from the suffix): a cover sheet titled `cover` (none if
    None), a notes sheet and the data sheet."""
    lay = OutcomesLayout(f"Outcomes open data {year.replace('/', '_')}")
    data = Sheet(lay.sheet_name, list(outcome_rows(_records(year, codes), lay)))
    covers = [] if cover is None else [Sheet("Cover_sheet", [[cover], ["These are generated data."]])]
    write_workbook(path, [*covers, Sheet("Notes", [["Notes"]]), data])
    return path


def _pfa(path: Path, cover: str) -> Path:
    rows = [["2020/21", q, f, "8Q", 5 + q] for f in FORCES for q in (1, 2, 3, 4)]
    write_workbook(path, [Sheet("Cover_sheet", [[cover]]), Sheet("2020_21", [PFA_HEADER, *rows])])
    return path


def _folder(folder: Path, covers: dict[str, str]) -> Path:
    """A source folder of outcomes workbooks, one per year named in `covers` (year -> title of
    its cover sheet)."""
    folder.mkdir(parents=True)
    for year, cover in covers.items():
        _outcomes(folder / f"prc-outcomes-open-data-mar20{year[-2:]}-tables.xlsx", cover, year)
    return folder


def _store_bytes(where: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(where.iterdir())}


# --- the marker --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        (MARKED, True),
        ("SYNTHETIC DEMO DATA", True),
        ("  synthetic  demo data: Police recorded crime", True),
        ("Synthetic-Demo-Data - x", True),
        (PLAIN, False),
        ("", False),
        (None, False),
        ("Not SYNTHETIC DEMO DATA", False),
        ("SYNTHETIC DEMO DATABASE", False),
    ],
)
def test_the_marker_is_the_generators_title_in_any_case_or_spacing(text, marked):
    assert is_generated(text) is marked


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fmt", [".xlsx", ".ods"])
def test_an_outcomes_workbook_is_marked_by_its_cover_sheet(tmp_path, fmt, engine):
    """Each file carries its own flag, read from the first sheet, by either engine; the title
    elsewhere (the notes sheet, a cell below the first) does not mark it."""
    marked = _outcomes(tmp_path / f"a-mar2021{fmt}", MARKED)
    plain = _outcomes(tmp_path / f"b-mar2021{fmt}", PLAIN)
    frame, report = read_outcomes(marked, engine=engine)
    assert report.generated is True and report.as_dict()["generated"] is True
    assert len(frame) == 48
    _, report = read_outcomes(plain, engine=engine)
    assert report.generated is False and report.as_dict()["generated"] is False
    lay = OutcomesLayout("Outcomes open data 2020_21")
    elsewhere = tmp_path / f"c-mar2021{fmt}"
    write_workbook(
        elsewhere,
        [
            Sheet("Cover_sheet", [[PLAIN], [MARKED]]),
            Sheet("Notes", [[MARKED]]),
            Sheet(lay.sheet_name, list(outcome_rows(_records(), lay))),
        ],
    )
    assert read_outcomes(elsewhere, engine=engine)[1].generated is False


@pytest.mark.parametrize("engine", ENGINES)
def test_a_title_above_the_header_of_a_lone_data_sheet_marks_it(tmp_path, engine):
    """A workbook whose first sheet is its data sheet (or a CSV) is marked by the first value
    above its header; leading empty rows are passed over."""
    lay = OutcomesLayout("Outcomes open data 2020_21")
    rows = [[], ["", MARKED], *outcome_rows(_records(), lay)]
    for fmt in (".xlsx", ".csv"):
        path = tmp_path / f"o-mar2021{fmt}"
        write_workbook(path, [Sheet(lay.sheet_name, rows)])
        frame, report = read_outcomes(path, engine=engine)
        assert report.generated is True and len(frame) == 48, fmt
        write_workbook(path, [Sheet(lay.sheet_name, list(outcome_rows(_records(), lay)))])
        assert read_outcomes(path, engine=engine)[1].generated is False, fmt


class _Counting:
    """Stands in for fastexcel: counts each sheet load and whether it was whole (no n_rows)."""

    def __init__(self, loads: list[tuple[str, int | None]]):
        self.loads = loads

    def read_excel(self, path):
        import fastexcel

        reader = fastexcel.read_excel(path)
        loads = self.loads

        class Reader:
            sheet_names = reader.sheet_names

            def load_sheet(self, sheet, **kw):
                loads.append((sheet, kw.get("n_rows")))
                return reader.load_sheet(sheet, **kw)

        return Reader()


def test_reading_the_marker_loads_no_sheet_whole_twice(tmp_path, monkeypatch):
    """The data sheet is loaded once; the cover sheet only for its first rows; and a data sheet
    that is the first sheet gives its first value from the load the data needed anyway."""
    loads: list[tuple[str, int | None]] = []
    monkeypatch.setattr(sheets, "fastexcel", _Counting(loads))
    report = read_outcomes(_outcomes(tmp_path / "a-mar2021.xlsx", MARKED))[1]
    assert report.generated is True
    assert loads == [("Outcomes open data 2020_21", None), ("Cover_sheet", sheets.LEAD_ROWS)]
    loads.clear()
    report = read_outcomes(_outcomes(tmp_path / "b-mar2021.xlsx", None))[1]
    assert report.generated is False
    assert loads == [("Outcomes open data 2020_21", None), ("Notes", sheets.LEAD_ROWS)]
    loads.clear()
    lay = OutcomesLayout("Outcomes open data 2020_21")
    lone = tmp_path / "c-mar2021.xlsx"
    write_workbook(lone, [Sheet(lay.sheet_name, [[MARKED], *outcome_rows(_records(), lay)])])
    assert read_outcomes(lone)[1].generated is True
    assert loads == [("Outcomes open data 2020_21", None)]


def test_the_pfa_table_is_marked_by_its_cover_sheet(tmp_path):
    """Streamed (.ods) and as a workbook (.xlsx): the cover's title, read in the same pass."""
    for fmt in (".ods", ".xlsx"):
        _, report = read_recorded(_pfa(tmp_path / f"m{fmt}", f"{GENERATED_MARKER} - PFA"))
        assert report.generated is True and report.rows_kept == 16, fmt
        _, report = read_recorded(_pfa(tmp_path / f"p{fmt}", "PFA tables"))
        assert report.generated is False and report.rows_kept == 16, fmt


# --- the store's label -------------------------------------------------------------------------


def test_marked_files_without_truth_json_are_labelled_generated(tmp_path, capsys):
    """The reproduction of fault 2 without the name: generated files copied, truth.json left
    behind, into a folder of any name. The summary, quality.json and the store say so."""
    src = _folder(tmp_path / "mydata", {"2019/20": MARKED, "2020/21": MARKED})
    _pfa(src / "prc-pfa-mar2013-onwards-tables-230726.ods", f"{GENERATED_MARKER} - PFA")
    where = tmp_path / "store"
    assert main(["ingest", "--source", str(src), "--store", str(where), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "Source: mydata (GENERATED DEMO DATA, not Home Office data)" in out
    assert "there is no truth.json beside them" in out
    quality = json.loads((where / store.QUALITY_FILE).read_text())
    assert quality["synthetic"] is True
    assert [f["generated"] for f in quality["files"]] == [True, True, True]
    assert store.load_store(where).synthetic is True


def test_one_marked_file_labels_a_mixed_folder_generated(tmp_path):
    """Some files marked, some not: generated (never Home Office), with a note naming the
    unmarked files, and each file's own flag in quality.json."""
    src = _folder(tmp_path / "mixed", {"2019/20": PLAIN, "2020/21": MARKED, "2021/22": PLAIN})
    v = ingest.ingest(str(src), tmp_path / "store")
    assert v["synthetic"] is True
    flags = {f["file"]: f["generated"] for f in v["files"]}
    assert flags == {
        "prc-outcomes-open-data-mar2020-tables.xlsx": False,
        "prc-outcomes-open-data-mar2021-tables.xlsx": True,
        "prc-outcomes-open-data-mar2022-tables.xlsx": False,
    }
    (note,) = [n for n in v["notes"] if "generator's marker" in n]
    assert note.startswith("1 of the 3 files read carry the demo generator's marker")
    assert "prc-outcomes-open-data-mar2020-tables.xlsx, prc-outcomes-open-data-mar2022-tables.xlsx" in note
    assert "(GENERATED DEMO DATA, not Home Office data)" in ingest.summary_text(dict(v, source="mixed"))


def test_unmarked_files_without_truth_json_are_not_labelled_generated(tmp_path):
    src = _folder(tmp_path / "published", {"2019/20": PLAIN, "2020/21": PLAIN})
    v = ingest.ingest(str(src), tmp_path / "store")
    assert v["synthetic"] is False and not any("generator" in n for n in v["notes"])
    assert [f["generated"] for f in v["files"]] == [False, False]
    assert store.load_store(tmp_path / "store").synthetic is False


def test_truth_json_alone_still_labels_the_folder_generated(tmp_path):
    src = _folder(tmp_path / "published", {"2020/21": PLAIN})
    (src / "truth.json").write_text("{}")
    v = ingest.ingest(str(src), tmp_path / "store")
    assert v["synthetic"] is True and v["files"][0]["generated"] is False
    assert any("truth.json" in n and "GENERATED DEMO DATA" in n for n in v["notes"])


def test_a_folder_named_homeoffice_is_still_refused_whatever_it_holds(tmp_path, capsys):
    src = _folder(tmp_path / "homeoffice", {"2020/21": MARKED})
    assert main(["ingest", "--source", str(src), "--store", str(tmp_path / "store")]) == 2
    assert "would share the store and outputs of the built-in source 'homeoffice'" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()


def test_the_demo_generators_own_files_carry_the_marker(demo, tmp_path, capsys):
    """The generator's real output (the session's demo data; one year and the PFA table, to be
    quick), copied without truth.json: labelled generated through the command line."""
    folder, _ = demo
    src = tmp_path / "x" / "mydata"
    src.mkdir(parents=True)
    for name in (
        "synthetic-prc-outcomes-open-data-mar2021-tables-311225.xlsx",
        "synthetic-prc-pfa-mar2013-onwards-tables-311225.ods",
    ):
        shutil.copy(folder / name, src / name.removeprefix("synthetic-"))  # not by its name either
    where = tmp_path / "x" / "store"
    assert main(["ingest", "--source", str(src), "--store", str(where), "--jobs", "1"]) == 0
    assert "Source: mydata (GENERATED DEMO DATA, not Home Office data)" in capsys.readouterr().out
    st = store.load_store(where)
    assert st.synthetic is True and all(f["generated"] for f in st.quality["files"])


# --- --offences equal to the default -----------------------------------------------------------


def test_offence_lists_are_normalised_and_the_default_set_is_the_default():
    default = taxonomy.DEFAULT_OFFENCES
    for given in (
        ("46", "58c", "8l", "105A", "8Q"),
        (" 8q", "8Q", "46", "105a", "58C", "8L", ""),
        list(default),
    ):
        assert ingest.normalise_offences(given) is default
    assert ingest.normalise_offences(("8l", " 8Q", "8L")) == ("8L", "8Q")
    assert ingest.normalise_offences(None) is None
    with pytest.raises(InputError, match="no offence codes given"):
        ingest.normalise_offences(("", " "))


def test_the_default_offences_typed_out_write_the_same_store(tmp_path, capsys):
    """`--offences 46,58c,8l,105A,8Q` (the default in another order and case) behaves as no
    --offences: the same bytes, and 46, which no file holds, is noted rather than refused as it
    would be for a list of the user's own."""
    src = tmp_path / "src"
    src.mkdir()
    for year in ("2019/20", "2020/21"):
        _outcomes(src / f"prc-outcomes-open-data-mar20{year[-2:]}-tables.xlsx", PLAIN, year, ("8Q", "8L"))

    def run(name: str, *options: str) -> dict[str, bytes]:
        where = tmp_path / name
        assert main(["ingest", "--source", str(src), "--store", str(where), "--jobs", "1", *options]) == 0
        return _store_bytes(where)

    default = run("default")
    quality = json.loads(default[store.QUALITY_FILE])
    assert quality["offences_requested"] == ["8Q", "8L", "46", "105A", "58C"]
    assert "offence 46 (read by default): no outcomes file holds it" in quality["notes"]
    for typed in ("46,58c,8l,105A,8Q", "8Q,8L,46,105A,58C", "8q, 8q ,46,58C,105a,8L"):
        assert run("typed", "--offences", typed) == default, typed
    capsys.readouterr()
    # a list of one's own that names a code no file holds is still refused
    assert (
        main(
            [
                "ingest",
                "--source",
                str(src),
                "--store",
                str(tmp_path / "own"),
                "--jobs",
                "1",
                "--offences",
                "8Q,46",
            ]
        )
        == 2
    )
    assert "no rows for offence code 46" in capsys.readouterr().err
