"""Every refusal of ingest names the file (and the sheet and row where it can), exits 2 through
the command, and leaves a store written before exactly as it was: offence codes that match
nothing, negative totals and outliers, and a reading process that dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import record, write_outcomes

from analysis.cli import main
from analysis.demo.publish import OutcomesLayout, Sheet, write_workbook
from analysis.sources import ingest

SHEET = "Outcomes open data {}"
FORCES = ("Kent", "Surrey", "Essex", "Cumbria")
YEARS = ("2019/20", "2020/21", "2021/22")
BAD_FILE = "prc-outcomes-open-data-mar2021-tables.xlsx"


def _source(folder: Path, bad: dict | None = None, codes=("8Q",), pfa: list | None = None) -> Path:
    """Three years of outcomes (.xlsx) for four forces and `codes`; `bad` replaces Kent's
    2020/21 Q2 type-1 cells; `pfa` (rows of force, quarter, code, count for 2020/21) adds a PFA
    table."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, year in enumerate(YEARS):
        recs = [
            record(
                force=f,
                year=year,
                quarter=q,
                code=c,
                otype=t,
                recorded=10 * (j + 1) + i + q,
                closed=8 * (j + 1) + t,
            )
            for c in codes
            for j, f in enumerate(FORCES)
            for q in (1, 2, 3, 4)
            for t in (1, 14, 18)
        ]
        if bad and year == "2020/21":
            for r in recs:
                if r["force"] == "Kent" and r["quarter"] == 2 and r["outcome_type"] == 1:
                    r.update(bad)
        sheet = SHEET.format(year.replace("/", "_"))
        write_outcomes(
            folder / f"prc-outcomes-open-data-mar20{year[-2:]}-tables.xlsx", recs, OutcomesLayout(sheet)
        )
    if pfa is not None:
        header = ["Financial Year", "Financial Quarter", "Force Name", "Offence Code", "Offence Count"]
        rows = [["2020/21", q, force, code, n] for force, q, code, n in pfa]
        write_workbook(
            folder / "prc-pfa-mar2013-onwards-tables-230726.ods",
            [Sheet("Cover_sheet", [["PFA tables"]]), Sheet("2020_21", [header, *rows])],
        )
    return folder


def _store_bytes(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(store.iterdir())}


@pytest.fixture()
def written(tmp_path) -> tuple[Path, Path, dict[str, bytes]]:
    """A source folder and a store already written from it, with the store's bytes."""
    src = _source(tmp_path / "src", codes=("8Q", "8L"), pfa=[("Kent", 1, "8Q", 5)])
    store = tmp_path / "store"
    assert main(["ingest", "--source", str(src), "--store", str(store), "--jobs", "1"]) == 0
    return src, store, _store_bytes(store)


def _ingest(src: Path, store: Path, *options: str) -> int:
    return main(["ingest", "--source", str(src), "--store", str(store), "--jobs", "1", *options])


# --- offence codes that match nothing -----------------------------------------------------------


@pytest.mark.parametrize("asked", ["ZZ", "8Q,ZZ", "zz , 8l"])
def test_offence_codes_no_file_holds_are_refused_and_nothing_is_written(written, capsys, asked):
    src, store, before = written
    capsys.readouterr()
    assert _ingest(src, store, "--offences", asked) == 2
    err = capsys.readouterr().err
    assert "no rows for offence code ZZ" in err and "The files hold offence codes 8L, 8Q." in err
    for year in ("mar2020", "mar2021", "mar2022"):  # the files searched, by name
        assert f"prc-outcomes-open-data-{year}-tables.xlsx" in err
    assert "nothing was written" in err and err.count("\n") == 1
    assert _store_bytes(store) == before


def test_a_near_miss_is_suggested(written, capsys):
    src, store, before = written
    assert _ingest(src, store, "--offences", "8W") == 2
    assert "Did you mean 8Q for 8W?" in capsys.readouterr().err
    assert _store_bytes(store) == before


def test_a_default_code_no_file_holds_is_noted_not_refused(tmp_path):
    v = ingest.ingest(str(_source(tmp_path / "src")), tmp_path / "store")  # default: 8Q, 8L, 46
    assert v["offences"] == ["8Q"]
    assert "offence 8L (read by default): no outcomes file holds it" in v["notes"]


def test_files_with_no_data_rows_are_refused_even_for_all_offences(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    write_outcomes(src / "prc-outcomes-open-data-mar2021-tables.xlsx", [])
    assert _ingest(src, tmp_path / "store", "--offences", "all") == 2
    err = capsys.readouterr().err
    assert "prc-outcomes-open-data-mar2021-tables.xlsx: no outcome rows at all" in err
    assert "The files hold no data rows" in err and not (tmp_path / "store").exists()


def test_a_pfa_table_read_without_the_offences_is_not_called_missing(tmp_path):
    """The PFA table was read: the note says it holds none of the offences, not that there is
    no table."""
    src = _source(tmp_path / "src", pfa=[("Kent", 1, "8L", 5)])
    v = ingest.ingest(str(src), tmp_path / "store", offences=("8Q",))
    assert not any("no PFA recorded-crime table found" in n for n in v["notes"])
    assert (
        "the PFA recorded-crime table prc-pfa-mar2013-onwards-tables-230726.ods was read but holds "
        "no rows for 8Q: recorded_offences is empty"
    ) in v["notes"]
    src = _source(tmp_path / "src2", codes=("8Q", "8L"), pfa=[("Kent", 1, "8L", 5)])
    v = ingest.ingest(str(src), tmp_path / "store2", offences=("8Q", "8L"))
    assert any("prc-pfa-mar2013-onwards-tables-230726.ods holds no rows for 8Q" in n for n in v["notes"])


# --- implausible counts name the file, the sheet and the row -------------------------------------


def test_a_negative_total_names_file_sheet_and_row(written, capsys):
    src, store, before = written
    _source(src, bad={"closed_basis": -100000}, codes=("8Q", "8L"), pfa=[("Kent", 1, "8Q", 5)])
    assert _ingest(src, store, "--accept-outliers") == 2
    err = capsys.readouterr().err
    assert (
        f"file {BAD_FILE}, sheet 'Outcomes open data 2020_21': Kent 2020/21, offence 8L: the closed "
        "basis counts add up to -99,"
    ) in err
    # Kent 2020/21 Q2 type 1 of 8L: after the header, 8Q's 48 rows, Kent's Q1 (3 rows)
    assert "the most negative cell is row 53, Q2, outcome type 1: -100,000" in err
    assert _store_bytes(store) == before


def test_a_negative_pfa_total_names_the_pfa_file(written, capsys):
    src, store, before = written
    _source(src, codes=("8Q", "8L"), pfa=[("Kent", 1, "8Q", 5), ("Kent", 2, "8Q", -9)])
    assert _ingest(src, store) == 2
    err = capsys.readouterr().err
    assert "file prc-pfa-mar2013-onwards-tables-230726.ods, sheet '2020_21': Kent 2020/21, offence 8Q" in err
    assert "offences recorded (PFA table) counts add up to -4" in err and "row 3, Q2: -9" in err
    assert _store_bytes(store) == before


def test_an_outlier_names_file_sheet_and_row(written, capsys):
    src, store, before = written
    _source(src, bad={"closed_basis": 10**12}, codes=("8Q", "8L"), pfa=[("Kent", 1, "8Q", 5)])
    assert _ingest(src, store) == 2
    err = capsys.readouterr().err
    # the first of the two (8L sorts before 8Q): after the header and 8Q's 48 rows, Kent's Q1
    where = "sheet 'Outcomes open data 2020_21', row 53: Kent 2020/21 Q2, harassment (8L), outcome type 1"
    assert f"error: file {BAD_FILE}, {where}, closed basis: 1,000,000,000,000 is far outside" in err
    assert _store_bytes(store) == before


def test_a_file_named_for_another_year_names_the_sheet_and_row(written, capsys):
    src, store, before = written
    (src / "prc-outcomes-open-data-mar2022-tables.xlsx").rename(
        src / "prc-outcomes-open-data-mar2023-tables.xlsx"
    )
    assert _ingest(src, store) == 2
    err = capsys.readouterr().err
    assert (
        "error: file prc-outcomes-open-data-mar2023-tables.xlsx is named for 2022/23 (from 'mar2023' in "
        "its name) but holds rows for 2021/22 (the first in sheet 'Outcomes open data 2021_22', row 2)"
    ) in err
    assert _store_bytes(store) == before


# --- a reading process that dies ---------------------------------------------------------------

_READ_ONE = ingest._read_one


def _killed_reading_2021(f, offences):
    """Stands in for ingest._read_one in the worker processes (they are forked, so they see it)."""
    if "mar2021" in f.path.name and (
        "ONCE_MARKER" not in os.environ or not Path(os.environ["ONCE_MARKER"]).exists()
    ):
        if "ONCE_MARKER" in os.environ:
            Path(os.environ["ONCE_MARKER"]).touch()
        os.kill(os.getpid(), signal.SIGKILL)  # as the system's out-of-memory killer does
    return _READ_ONE(f, offences)


CRASHING_CHILD = """
import resource, sys
# calamine's request for 512 GiB must fail at once, whatever the machine's overcommit policy
for limit, value in ((resource.RLIMIT_AS, 4 * 2**30), (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(limit, (value, resource.getrlimit(limit)[1]))
from analysis.sources import sheets
sheets._ExtentGuard.check = lambda self, sheet: None  # the check off: calamine meets the cell
from analysis.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_reader_that_crashes_is_named_not_an_internal_error(written):
    """The reported crash itself, in a process of its own: calamine aborting on a 512 GiB grid
    (the check that now refuses it switched off) kills the worker reading the file; the user is
    told which file, with exit 2, not 'internal error: BrokenProcessPool'."""
    src, store, before = written
    path = src / BAD_FILE
    write_outcomes(path, [record(year="2020/21")], OutcomesLayout(SHEET.format("2020_21")))
    with zipfile.ZipFile(path) as zf:
        items = [(i, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in items:
            if info.filename == "xl/worksheets/sheet2.xml":
                far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
                data = data.replace(b"</sheetData>", far + b"</sheetData>")
            zf.writestr(info, data)
    argv = ["ingest", "--source", str(src), "--store", str(store), "--jobs", "2"]
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_CHILD, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"error: file {BAD_FILE}: the process reading it died (killed by SIGABRT)" in done.stderr
    assert "internal error" not in done.stderr and "BrokenProcessPool" not in done.stderr
    assert _store_bytes(store) == before


def test_a_reader_killed_every_time_is_named(written, capsys, monkeypatch):
    src, store, before = written
    monkeypatch.setattr(ingest, "_read_one", _killed_reading_2021)
    capsys.readouterr()
    assert main(["ingest", "--source", str(src), "--store", str(store), "--jobs", "2"]) == 1
    err = capsys.readouterr().err
    assert f"error: file {BAD_FILE}: the process reading it was killed by SIGKILL" in err
    assert "--jobs 1" in err and "internal error" not in err and "BrokenProcessPool" not in err
    assert _store_bytes(store) == before


def test_a_reader_killed_once_is_read_again_alone(written, monkeypatch, tmp_path):
    src, store, _ = written
    monkeypatch.setattr(ingest, "_read_one", _killed_reading_2021)
    monkeypatch.setenv("ONCE_MARKER", str(tmp_path / "killed-once"))
    v = ingest.ingest(str(src), tmp_path / "again", jobs=2)
    assert (tmp_path / "killed-once").exists()  # a worker was killed ...
    assert v["rows"]["outcomes"] == 2 * 3 * 48  # ... and nothing was lost
    assert any("a reading process died" in n and BAD_FILE in n for n in v["notes"])
    again = _store_bytes(tmp_path / "again")
    assert again["outcomes.parquet"] == _store_bytes(store)["outcomes.parquet"]
