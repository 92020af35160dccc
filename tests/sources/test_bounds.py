"""A sheet far larger than its table (one value at XFD1048576, a cell repeated 30,000,000 times)
is refused with a one-line error naming the file and the sheet, before the reader allocates it:
quickly, and in little memory (sheets.MAX_CELLS and the limits beside it)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from conftest import record, write_outcomes

from analysis.cli import main
from analysis.demo.publish import OutcomesLayout, Sheet, outcome_rows, write_workbook
from analysis.errors import InputError
from analysis.sources import sheets
from analysis.sources.homeoffice import read_outcomes, read_recorded
from analysis.sources.sheets import ENGINES, MAX_CELLS, MAX_COLUMNS, xlsx_far_cell

SHEET = "Outcomes open data 2020_21"
DATA_PART = "xl/worksheets/sheet2.xml"  # write_outcomes: the cover sheet, then the data sheet
FAR = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>stray</t></is></c></row>'

# What a refusal may take. Measured on a 2-core machine: the refusals below take 0.01-0.05 s
# inside the reader; the ingest command refuses the far cell 0.05 s after its imports with
# --jobs 1 (0.45 s with --jobs 2: the pool's start), at a peak resident size of 121 MB, what its
# imports take (pandas, pyarrow, calamine; a good ingest of the same folder peaks at 155 MB).
# Before the checks the same files made calamine ask for 512 GiB, or took 70 s and 695 MB.
SECONDS = 3.0
PEAK_MB = 300


def _outcomes_xlsx(path: Path, extra_rows: str = "", dimension: str | None = None) -> Path:
    """An outcomes workbook of two rows, with `extra_rows` (sheet XML) added below its data and
    its declared extent (<dimension ref>) replaced by `dimension`, the zip rewritten directly."""
    write_outcomes(path, [record(), record(otype=2)], OutcomesLayout(SHEET))
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info.filename)) for info in zf.infolist()]
    assert DATA_PART in [info.filename for info, _ in items]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in items:
            if info.filename == DATA_PART:
                data = data.replace(b"</sheetData>", extra_rows.encode() + b"</sheetData>")
                if dimension is not None:
                    data = re.sub(
                        rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), data
                    )
            zf.writestr(info, data)
    return path


def _refused(call) -> tuple[str, float]:
    start = time.perf_counter()
    with pytest.raises(InputError) as err:
        call()
    return str(err.value), time.perf_counter() - start


# --- .xlsx: a value far outside the table --------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_value_at_xfd1048576_is_refused_before_it_is_allocated(tmp_path, engine):
    path = _outcomes_xlsx(tmp_path / "o-mar2021.xlsx", FAR, dimension="A1:XFD1048576")
    tracemalloc.start()
    msg, took = _refused(lambda: read_outcomes(path, engine=engine))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert f"file o-mar2021.xlsx, sheet '{SHEET}': cell XFD1048576" in msg
    assert "1,048,576 rows x 16,384 columns" in msg and "512 GiB" in msg
    assert "declares its extent as A1:XFD1048576" in msg
    assert "delete everything outside the table" in msg and "\n" not in msg
    assert took < SECONDS
    assert peak < 20 * 2**20  # Python's own allocations (calamine's would not show here)


def test_a_value_the_declared_extent_hides_is_still_found(tmp_path):
    """A small sheet is scanned whatever its <dimension> says (this one claims A1:M3)."""
    row = '<row r="1000000"><c r="AH1000000" t="inlineStr"><is><t>x</t></is></c></row>'
    path = _outcomes_xlsx(tmp_path / "o-mar2021.xlsx", row, dimension="A1:M3")
    msg, took = _refused(lambda: read_outcomes(path))
    assert "cell AH1000000" in msg and "1,000,000 rows x 34 columns (34,000,000 cells" in msg
    assert took < SECONDS


def test_formatting_far_away_is_not_a_value(tmp_path):
    """A formatted empty cell far away (which Excel counts in the declared extent) is skipped by
    calamine, so the sheet is read."""
    row = '<row r="1048576"><c r="XFD1048576" s="0"/></row>'
    path = _outcomes_xlsx(tmp_path / "o-mar2021.xlsx", row, dimension="A1:XFD1048576")
    for engine in ENGINES:
        frame, _ = read_outcomes(path, engine=engine)
        assert len(frame) == 2


def _sheet_xml(rows: str, dimension: str | None = None) -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main">{dim}<sheetData>{rows}</sheetData></worksheet>'
    ).encode()


def _cell(ref: str) -> str:
    row = re.sub(r"[A-Z]", "", ref)
    return f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'


@pytest.mark.parametrize(
    "far,refused",
    [
        ("Z999999", False),  # 26 columns x 999,999 rows: the largest sheet with no far reference
        ("AF1048576", False),  # 32 columns to Excel's last row: exactly MAX_CELLS
        ("AG1048576", True),  # 33 columns: one column over
        ("A40000000", True),  # beyond Excel's last row
        ("XFD1", False),  # a value at the far right of a one-row sheet: 16,384 cells
    ],
)
def test_the_limit_is_the_grid_the_values_span(far, refused):
    xml = _sheet_xml(_cell("A1") + _cell(far))
    found = xlsx_far_cell(io.BytesIO(xml), len(xml))
    assert (found is not None) is refused
    if found:
        assert found.cell == far and found.cells > MAX_CELLS


def test_the_far_value_is_found_in_the_rows_of_a_long_sheet():
    """A far column in row 1 spans the grid to the last row, found chunks later."""
    rows = _cell("A1").replace("<v>1</v></c>", '<v>1</v></c><c r="AZ1"><v>2</v></c>')
    rows += "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, 700_001))
    xml = _sheet_xml(rows)
    found = xlsx_far_cell(io.BytesIO(xml), len(xml))
    assert found is not None and found.cell == "AZ1" and found.columns == 52
    assert found.rows > MAX_CELLS // 52  # the scan stops once the grid is over the limit


class _Stream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, n: int | None = -1) -> bytes:
        out = super().read(n)
        self.bytes_read += len(out)
        return out


def test_a_large_sheet_that_declares_a_plausible_extent_is_not_scanned():
    """Scanning a full-size year would add about 30% to its read: a large sheet's XML is only
    scanned when its declared extent is missing, a placeholder, or over the limit."""
    rows = _cell("A1") + "<row r='2'/>" * 10
    for dimension, scanned in [("A1:M725001", False), ("A1", True), (None, True), ("A1:XFD1048576", True)]:
        stream = _Stream(_sheet_xml(rows + " " * 300_000, dimension))
        xlsx_far_cell(stream, sheets.SCAN_ALWAYS_BYTES + 1)  # as if large
        assert (stream.bytes_read > 300_000) is scanned, dimension


# --- the command: exit 2 naming the file, whatever the number of jobs --------------------------

IN_A_CHILD = """
import resource, sys, time
# a safety net: if the check ever regressed, calamine's allocation would fail here (an abort)
# instead of filling the machine's memory
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
from analysis.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
took = time.perf_counter() - start
with open("/proc/self/status") as fh:
    peak = int(fh.read().split("VmHWM:")[1].split()[0]) // 1024
print(f"RESULT {code} {took:.3f} {peak}")
"""


def _source_with(tmp_path: Path, bad: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A source folder of two years (2019/20 good, 2020/21 `bad`) and a store written before
    from the good year alone; returns them and the store's bytes."""
    src = tmp_path / "src"
    src.mkdir()
    write_outcomes(src / "prc-outcomes-open-data-mar2020-tables.xlsx", [record(year="2019/20")])
    store = tmp_path / "store"
    assert main(["ingest", "--source", str(src), "--store", str(store), "--jobs", "1"]) == 0
    shutil.copy(bad, src / "prc-outcomes-open-data-mar2021-tables.xlsx")
    return src, store, {p.name: p.read_bytes() for p in store.iterdir()}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ingest_refuses_the_far_cell_with_exit_2_and_keeps_the_store(tmp_path, capsys, jobs):
    bad = _outcomes_xlsx(tmp_path / "bad.xlsx", FAR, dimension="A1:XFD1048576")
    src, store, before = _source_with(tmp_path, bad)
    capsys.readouterr()
    assert main(["ingest", "--source", str(src), "--store", str(store), "--jobs", jobs]) == 2
    err = capsys.readouterr().err
    assert f"file prc-outcomes-open-data-mar2021-tables.xlsx, sheet '{SHEET}': cell XFD1048576" in err
    assert "internal error" not in err and "BrokenProcessPool" not in err and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_the_refusal_takes_little_time_and_memory(tmp_path):
    bad = _outcomes_xlsx(tmp_path / "bad.xlsx", FAR, dimension="A1:XFD1048576")
    src, store, before = _source_with(tmp_path, bad)
    argv = ["ingest", "--source", str(src), "--store", str(store), "--jobs", "1"]
    done = subprocess.run(
        [sys.executable, "-c", IN_A_CHILD, *argv], capture_output=True, text=True, timeout=120
    )
    result = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert result, done.stderr[-2000:]
    code, took, peak = result[0].split()[1:]
    assert int(code) == 2 and "XFD1048576" in done.stderr
    assert float(took) < SECONDS, took
    assert int(peak) < PEAK_MB, f"peak {peak} MB"
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


# --- .ods: repeated cells and rows --------------------------------------------------------------

PFA_HEADER = ["Financial Year", "Financial Quarter", "Force Name", "Offence Code", "Offence Count"]


def _pfa_ods(path: Path, rows_xml: str = "", before_header: int = 0, bad_count: bool = False) -> Path:
    """A PFA table (.ods) of one year sheet, with `rows_xml` added to its end and `before_header`
    empty rows (one repeated row element) above its header."""
    rows = [["2020/21", 1, "Kent", "8Q", "lots" if bad_count else 10], ["2020/21", 2, "Kent", "8Q", 12]]
    write_workbook(path, [Sheet("Cover_sheet", [["PFA tables"]]), Sheet("2020_21", [PFA_HEADER, *rows])])
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in items:
            if info.filename == "content.xml":
                text = data.decode()
                head = text.index("<table:table-row>", text.index('table:name="2020_21"'))
                pad = (
                    f'<table:table-row table:number-rows-repeated="{before_header}"><table:table-cell/>'
                    "</table:table-row>"
                    if before_header
                    else ""
                )
                text = text[:head] + pad + text[head:]
                end = text.rindex("</table:table>")
                data = (text[:end] + rows_xml + text[end:]).encode()
            zf.writestr(info, data)
    return path


def _value_cell(text: str, columns: int = 1) -> str:
    repeat = f' table:number-columns-repeated="{columns}"' if columns > 1 else ""
    return f'<table:table-cell{repeat} office:value-type="string"><text:p>{text}</text:p></table:table-cell>'


def test_an_ods_cell_repeated_30_million_columns_is_refused_at_once(tmp_path):
    row = f"<table:table-row>{_value_cell('8Q')}{_value_cell('x', 30_000_000)}</table:table-row>"
    path = _pfa_ods(tmp_path / "prc-pfa-mar2013-onwards-tables-230726.ods", row)
    tracemalloc.start()
    msg, took = _refused(lambda: read_recorded(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "file prc-pfa-mar2013-onwards-tables-230726.ods, sheet '2020_21', row 4" in msg
    assert "a value repeated 30,000,000 times from column 2 reaches column 30,000,001" in msg
    assert f"last column ({MAX_COLUMNS:,}, XFD)" in msg
    assert took < SECONDS and peak < 20 * 2**20, (took, peak)  # was 70 s and 695 MB


def test_an_ods_row_repeated_past_the_last_row_is_refused(tmp_path):
    row = (
        '<table:table-row table:number-rows-repeated="2000000">'
        f"{_value_cell('2020/21')}{_value_cell('1')}</table:table-row>"
    )
    path = _pfa_ods(tmp_path / "prc-pfa-x.ods", row)
    msg, took = _refused(lambda: read_recorded(path))
    assert "sheet '2020_21', row 4: a row with values, repeated 2,000,000 times, reaches row 2,000,003" in msg
    assert took < SECONDS


def test_ods_rows_that_expand_past_the_cell_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_CELLS", 50_000)  # the same rule, at a size a test can write
    row = (
        '<table:table-row table:number-rows-repeated="10000">'
        f"{_value_cell('2020/21')}{_value_cell('x', 9)}</table:table-row>"
    )
    msg, _ = _refused(lambda: read_recorded(_pfa_ods(tmp_path / "prc-pfa-x.ods", row)))
    assert "sheet '2020_21', row 4: the sheet's rows expand to more than 50,000 cells" in msg


def test_ods_row_numbers_are_the_sheets_own(tmp_path):
    """Empty rows above the header count, as they do in .xlsx: the bad cell's row is named as a
    spreadsheet program shows it (it was counted among non-empty rows only)."""
    path = _pfa_ods(tmp_path / "prc-pfa-x.ods", before_header=3, bad_count=True)
    msg, _ = _refused(lambda: read_recorded(path))
    assert "sheet '2020_21', row 5, column 'Offence Count': text 'lots'" in msg


def test_empty_ods_padding_before_a_value_keeps_its_column(tmp_path):
    """Empty cells repeated before a value are expanded (they were collapsed to one, moving the
    value to another column); trailing padding is never expanded."""
    # the same 1,500 empty columns, written as one repeated cell or as two
    gap = '<table:table-cell table:number-columns-repeated="1500"/>'
    halves = '<table:table-cell table:number-columns-repeated="750"/>' * 2
    header = "".join(_value_cell(h) for h in PFA_HEADER[:4]) + halves + _value_cell(PFA_HEADER[4])
    data = "".join(_value_cell(v) for v in ("2020/21", "3", "Kent", "8Q")) + gap
    data += (
        '<table:table-cell office:value-type="float" office:value="7"><text:p>7</text:p></table:table-cell>'
    )
    pad = '<table:table-cell table:number-columns-repeated="16000"/>'
    path = tmp_path / "prc-pfa-x.ods"
    write_workbook(path, [Sheet("2020_21", [])])
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, content in items:
            if info.filename == "content.xml":
                content = content.replace(
                    b"</table:table>",
                    f"<table:table-row>{header}{pad}</table:table-row>"
                    f"<table:table-row>{data}{pad}</table:table-row></table:table>".encode(),
                )
            zf.writestr(info, content)
    frame, _ = read_recorded(path)
    assert frame.offences.tolist() == [7]
    _, rows = next(sheets.sheets_in_order(path))
    assert [len(r) for _, r in rows] == [1505, 1505]


def test_an_outcomes_ods_too_large_for_calamine_names_the_sheet(tmp_path):
    """Older outcomes editions (.ods) are read by calamine, which refuses a sheet over its own
    limit at open, naming no sheet: the message names it, and does not call the file truncated."""
    path = tmp_path / "o-mar2016.ods"
    write_workbook(path, [Sheet(SHEET, list(outcome_rows([record()], OutcomesLayout(SHEET))))])
    far = (
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row>'
        f'<table:table-row><table:table-cell table:number-columns-repeated="16000"/>{_value_cell("x")}'
        "</table:table-row>"
    )
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, content in items:
            if info.filename == "content.xml":
                content = content.replace(b"</table:table>", far.encode() + b"</table:table>")
            zf.writestr(info, content)
    for engine in ENGINES:
        msg, took = _refused(lambda: read_outcomes(path, engine=engine))  # noqa: B023
        assert f"file o-mar2016.ods, sheet '{SHEET}': its values span 1,048,003 rows x 16,001 columns" in msg
        assert "truncated" not in msg and took < SECONDS
