"""Access to the published spreadsheets (.xlsx, .ods, .csv), one sheet at a time, row by row or
as a table.

Workbooks are read with calamine, in one of two ways (`ENGINES`):
- "arrow" (the default): fastexcel loads a whole sheet straight into an Arrow table (every cell
  as text), so a reader picks the rows it wants with vectorised filters before any row becomes
  Python objects;
- "rows": python-calamine gives the sheet's rows one by one and the reader keeps the ones it
  wants as they come, building no table.
Both give the same rows. On the full-size benchmark workbook (`benchmarks/ingest.py`, about
725,000 rows with shared strings) "arrow" took 4.9-6.3 CPU-seconds to keep the stalking rows and
"rows" 7.6-9.9: the parse of the sheet into calamine's cells, which both pay, took python-calamine
0.9.1 about 7 CPU-seconds and fastexcel 0.21's eager load about 3.5, and the rest of either is
small. The benchmark times both engines, so the default can follow the measurements.

The PFA recorded-crime ODS expands to hundreds of MB of XML, which calamine would parse whole
(every sheet at open), so ODS files read a sheet after another in one pass (`sheets_in_order`,
used for the PFA table) are streamed from their content.xml instead, one row at a time.
"""

from __future__ import annotations

import csv
import zipfile
import zlib
from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Protocol, cast
from xml.etree import ElementTree as ET

import fastexcel
import pyarrow as pa
import python_calamine

from analysis.errors import InputError

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
# How a workbook is read (see the module's docstring); the first is the default.
ENGINES = ("arrow", "rows")
DEFAULT_ENGINE = ENGINES[0]

_T = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_O = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_X = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE, _ROW, _CELL, _COVERED = (
    f"{{{_T}}}table",
    f"{{{_T}}}table-row",
    f"{{{_T}}}table-cell",
    f"{{{_T}}}covered-table-cell",
)
_P, _S, _TAB = f"{{{_X}}}p", f"{{{_X}}}s", f"{{{_X}}}tab"
# Repeated empty cells or rows beyond this are padding to the sheet's edge, not data.
_MAX_REPEAT = 1000


class Workbook(Protocol):
    """What the readers need from a workbook."""

    @property
    def path(self) -> Path: ...

    @property
    def sheet_names(self) -> list[str]: ...

    def rows(self, sheet: str) -> Iterator[list[object]]:
        """The sheet's rows, first to last, as lists of cell values ("" for empty)."""

    def table(self, sheet: str) -> pa.Table | None:
        """The whole sheet as text columns (row i is sheet row i + 1), or None if this kind of
        workbook is only read row by row."""


def table_rows(table: pa.Table) -> Iterator[list[object]]:
    """A table's rows as lists of cell values ("" for empty), converted a batch at a time."""
    for batch in table.to_batches(max_chunksize=4096):
        columns = [["" if v is None else v for v in col.to_pylist()] for col in batch.columns]
        yield from map(list, zip(*columns))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"file {path} does not exist.")
    if path.stat().st_size == 0:
        raise InputError(
            f"file {path.name} is empty (0 bytes). Delete it and download it again "
            "('stalking-outcomes fetch'), or regenerate it."
        )
    if path.suffix.lower() not in SPREADSHEET_SUFFIXES:
        raise InputError(
            f"file {path.name} is not a spreadsheet this package reads "
            f"(expected one of {', '.join(SPREADSHEET_SUFFIXES)})."
        )
    kind = sniff(path)
    if kind:
        raise _not_a_workbook(path, kind)


_ZIP = b"PK\x03\x04"  # .xlsx and .ods are zip archives
_OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")  # legacy .xls


def sniff(path: Path) -> str | None:
    """What a file is, in words, when it is not the workbook its suffix claims ("an HTML page",
    "a truncated or damaged zip archive", ...); None when its bytes fit its suffix. CSV files
    are text and always fit."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return None
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head:
        return "empty (0 bytes)"
    if suffix == ".xls" and head.startswith(_OLE2):
        return None
    if head.startswith(_ZIP):
        if suffix == ".xls":
            return "a zip archive (an .xlsx or .ods workbook named .xls)"
        return None if zipfile.is_zipfile(path) else "a truncated or damaged zip archive"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text:
        return "an HTML page (a web page or an error page saved under a workbook's name)"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "plain text"
    return "not a workbook (unrecognised bytes)"


def _advice(path: Path) -> str:
    """What to do about a damaged file, by where it came from: the fetch cache records its files
    in snapshots.json beside them; a folder filled by hand does not."""
    if (path.parent / "snapshots.json").exists():
        return "delete it and run 'stalking-outcomes fetch' again (or 'fetch --update')"
    return "download it again from GOV.UK (or regenerate it, for demo data) and replace it"


def _not_a_workbook(path: Path, kind: str) -> InputError:
    advice = _advice(path)
    return InputError(
        f"file {path.name} is not a {path.suffix.lstrip('.')} workbook: it is {kind}. "
        f"{advice[0].upper()}{advice[1:]}."
    )


def _corrupt(path: Path, exc: Exception) -> InputError:
    kind = sniff(path) if path.exists() else None
    if kind:
        return _not_a_workbook(path, kind)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(
        f"file {path.name} cannot be opened as a {path.suffix.lstrip('.')} workbook ({first[:200]}). "
        f"It may be truncated or not a spreadsheet at all: {_advice(path)}."
    )


class RowBook:
    """An .xlsx/.xls/.ods workbook read through python-calamine, row by row (engine "rows").

    Rows come as calamine gives them: text as str, every number as float (3.0), empty cells as
    "". Row i (from 1) is sheet row i, leading empty rows included. calamine parses a sheet
    whole into its own cells when the sheet is first asked for; those are freed once its rows
    have been read (or the iterator dropped), so one sheet at a time is held.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self._book = python_calamine.CalamineWorkbook.from_path(str(path))
            self.sheet_names = list(self._book.sheet_names)
        except Exception as exc:  # calamine raises several types for damaged files
            raise _corrupt(path, exc) from exc

    def rows(self, sheet: str) -> Iterator[list[object]]:
        try:
            parsed = self._book.get_sheet_by_name(sheet)
        except Exception as exc:
            raise _corrupt(self.path, exc) from exc
        # iter_rows starts at the sheet's first row, not its first non-empty one, so row
        # numbers in messages are the sheet's (tests/sources/test_read.py checks this)
        # the rows are lists of cell values; typed more narrowly than the protocol's list[object]
        yield from cast(Iterator[list[object]], parsed.iter_rows())

    def table(self, sheet: str) -> None:
        return None


class ArrowBook:
    """An .xlsx/.xls/.ods workbook read through calamine (fastexcel), a whole sheet at a time
    (engine "arrow").

    A sheet is parsed into an Arrow table of text: numbers as written ("3", "2.5"), empty cells
    as null. Row i of the table is sheet row i + 1, leading empty rows included. The last sheet
    parsed is kept, because a reader finds the header row and then reads the same sheet's data.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self._reader = fastexcel.read_excel(str(path))
            self.sheet_names = list(self._reader.sheet_names)
        except Exception as exc:  # calamine raises several types for damaged files
            raise _corrupt(path, exc) from exc
        self._last: tuple[str, pa.Table] | None = None

    def table(self, sheet: str) -> pa.Table:
        if self._last is None or self._last[0] != sheet:
            self._last = None  # free the previous sheet before parsing the next
            try:
                # skip_rows=0 keeps leading empty rows, so table rows are sheet rows; eager
                # loading goes straight to Arrow, faster and smaller than the lazy to_arrow()
                loaded = self._reader.load_sheet(
                    sheet, header_row=None, skip_rows=0, dtypes="string", eager=True
                )
                self._last = sheet, pa.Table.from_batches([loaded])
            except Exception as exc:
                raise _corrupt(self.path, exc) from exc
        return self._last[1]

    def rows(self, sheet: str) -> Iterator[list[object]]:
        return table_rows(self.table(sheet))


class CsvBook:
    """A CSV file seen as a workbook with one sheet named after the file."""

    def __init__(self, path: Path):
        self.path = path
        self.sheet_names = [path.stem]

    def rows(self, sheet: str) -> Iterator[list[object]]:
        with open(self.path, newline="", encoding="utf-8-sig", errors="strict") as fh:
            try:
                yield from csv.reader(fh)
            except (UnicodeDecodeError, csv.Error) as exc:
                raise InputError(f"file {self.path.name} is not a readable UTF-8 CSV ({exc}).") from exc

    def table(self, sheet: str) -> None:
        return None


def _text(p: ET.Element) -> str:
    """The text of an ODS paragraph, with <text:s/> runs of spaces expanded."""
    out = [p.text or ""]
    for child in p:
        if child.tag == _S:
            out.append(" " * int(child.get(f"{{{_X}}}c", "1")))
        elif child.tag == _TAB:
            out.append("\t")
        else:
            out.append(_text(child))
        out.append(child.tail or "")
    return "".join(out)


def _cell_value(cell: ET.Element) -> object:
    vtype = cell.get(f"{{{_O}}}value-type")
    if vtype in ("float", "percentage", "currency"):
        value = float(cell.get(f"{{{_O}}}value", "nan"))
        return int(value) if value.is_integer() else value
    if vtype == "boolean":
        return cell.get(f"{{{_O}}}boolean-value") == "true"
    return "\n".join(_text(p) for p in cell.iter(_P))


class OdsStream:
    """An .ods workbook streamed from content.xml, one row at a time, rows dropped once read."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
            self._zip.getinfo("content.xml")
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise _corrupt(path, exc) from exc

    def iter_sheets(self) -> Iterator[tuple[str, list[object]]]:
        """(sheet name, row) for every non-empty row of every sheet, in one pass over the file."""
        stack: list[ET.Element] = []
        current = ""
        try:
            with self._zip.open("content.xml") as fh:
                for event, elem in ET.iterparse(fh, events=("start", "end")):
                    if event == "start":
                        stack.append(elem)
                        if elem.tag == _TABLE:
                            current = elem.get(f"{{{_T}}}name", "")
                        continue
                    stack.pop()
                    if elem.tag == _ROW:
                        row = _ods_row(elem)
                        if row:
                            repeat = int(elem.get(f"{{{_T}}}number-rows-repeated", "1"))
                            for _ in range(min(repeat, _MAX_REPEAT)):
                                yield current, row
                        if stack:
                            stack[-1].remove(elem)
                    elif elem.tag == _TABLE and stack:
                        stack[-1].remove(elem)
        except (ET.ParseError, zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            raise _corrupt(self.path, exc) from exc


def _ods_row(elem: ET.Element) -> list[object]:
    row: list[object] = []
    for cell in elem:
        if cell.tag not in (_CELL, _COVERED):
            continue
        value = _cell_value(cell)
        repeat = int(cell.get(f"{{{_T}}}number-columns-repeated", "1"))
        row.extend([value] * (1 if value == "" and repeat > _MAX_REPEAT else repeat))
    while row and row[-1] == "":
        row.pop()
    return row


def open_workbook(path: Path, engine: str = DEFAULT_ENGINE) -> Workbook:
    """Open a spreadsheet for reading a sheet at a time, with one of `ENGINES` (CSV files are
    read as text whatever the engine); InputError names the file if it cannot be read."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() == ".csv":
        return CsvBook(path)
    return ArrowBook(path) if engine == "arrow" else RowBook(path)


def sheets_in_order(path: Path) -> Iterator[tuple[str, Iterator[list[object]]]]:
    """Each sheet's name and rows, in workbook order, in one pass over the file; InputError now
    if the file cannot be read. An .ods file is streamed from its XML a row at a time (the PFA
    table expands to hundreds of MB, which calamine would parse whole), yielding only non-empty
    rows; other files yield every row."""
    path = Path(path)
    if path.suffix.lower() != ".ods":
        book = open_workbook(path)
        return ((sheet, book.rows(sheet)) for sheet in book.sheet_names)
    _check_file(path)
    rows = OdsStream(path).iter_sheets()
    return ((sheet, (row for _, row in group)) for sheet, group in groupby(rows, key=itemgetter(0)))
