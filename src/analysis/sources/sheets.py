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

calamine makes a sheet into one grid from its first to its last cell with a value before any row
can be read, so one stray value far from the table (a cell at XFD1048576) would ask for hundreds
of GB, whatever the file's size. A sheet's extent is therefore checked before calamine is asked
for it, and a sheet beyond the limits below is refused with an InputError naming the file, the
sheet and the far cell (see `MAX_CELLS`).
"""

from __future__ import annotations

import csv
import posixpath
import re
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import Protocol, cast
from xml.etree import ElementTree as ET

import fastexcel
import pyarrow as pa
import python_calamine

from analysis.errors import InputError, where

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

# --- How large a sheet may be ---------------------------------------------------------------
# The last row and column a sheet can have in Excel (and in LibreOffice from 7.4): no published
# file goes beyond them, so a cell beyond them is damage, never data.
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384  # column XFD
# The most cells a sheet's grid may span (rows from the first to the last row holding a value,
# times columns likewise): 2**25, 33,554,432. calamine holds each cell of that grid in 32 bytes
# (`CELL_BYTES`) before a row can be read, so this is 1 GiB for the largest sheet accepted, and
# fastexcel's Arrow copy comes on top. A full-size outcomes year is about 725,000 rows x 13
# columns, 9.4 million cells (0.3 GB); the PFA table's sheets about 100,000 x 8. The limit is 3.5
# times a full-size year, and any sheet filled to Excel's last row in up to 32 columns passes.
# A sheet with one value at XFD1048576 spans 17,179,869,184 cells, 512 GiB. The .ods files read
# row by row (`OdsStream`, the PFA table) never hold the grid; for them the limit counts the
# cells actually expanded from repeated cells, which bounds the time a sheet can take instead.
# (calamine itself refuses .ods sheets beyond 100,000,000 cells; .xls sheets cannot exceed
# 65,536 x 256 = 16,777,216 cells.)
MAX_CELLS = 2**25
CELL_BYTES = 32


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

    def lead(self) -> str:
        """The first sheet's first value (see `first_value`): where a cover sheet has its title."""


def table_rows(table: pa.Table) -> Iterator[list[object]]:
    """A table's rows as lists of cell values ("" for empty), converted a batch at a time."""
    for batch in table.to_batches(max_chunksize=4096):
        columns = [["" if v is None else v for v in col.to_pylist()] for col in batch.columns]
        yield from map(list, zip(*columns))


# How many rows of a sheet `first_value` looks at for its first value.
LEAD_ROWS = 10


def first_value(rows: Iterable[list[object]]) -> str:
    """The text of the first non-empty cell in the first `LEAD_ROWS` rows, read left to right and
    top to bottom ("" if none): a cover sheet's title (A1), whichever engine read it."""
    for row in islice(rows, LEAD_ROWS):
        for value in row:
            text = "" if value is None else str(value).strip()
            if text:
                return text
    return ""


class _Leading:
    """Keeps a workbook's lead (`Workbook.lead`) when its first sheet's rows are read anyway, so
    that asking for it after reading costs nothing more; `note` wraps those rows."""

    sheet_names: list[str]
    _lead: str | None = None

    def note(self, sheet: str, rows: Iterator[list[object]]) -> Iterator[list[object]]:
        """`rows` of `sheet`, noting its first value on the way if it is the first sheet."""
        if self._lead is not None or not self.sheet_names or sheet != self.sheet_names[0]:
            yield from rows
            return
        rows = iter(rows)
        seen: list[list[object]] = []
        for row in rows:
            seen.append(row)
            if len(seen) == LEAD_ROWS or first_value([row]):
                self._lead = first_value(seen)  # noted before the row is given: a reader may stop
                yield row
                break
            yield row
        else:  # a sheet of fewer rows, all empty
            self._lead = ""
        yield from rows  # the rest, as they come


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


def advice(path: Path) -> str:
    """What to do about a damaged file, by where it came from: the fetch cache records its files
    in snapshots.json beside them; a folder filled by hand does not."""
    if (path.parent / "snapshots.json").exists():
        return "delete it and run 'stalking-outcomes fetch' again (or 'fetch --update')"
    return "download it again from GOV.UK (or regenerate it, for demo data) and replace it"


def _not_a_workbook(path: Path, kind: str) -> InputError:
    what = advice(path)
    return InputError(
        f"file {path.name} is not a {path.suffix.lstrip('.')} workbook: it is {kind}. "
        f"{what[0].upper()}{what[1:]}."
    )


def _corrupt(path: Path, exc: Exception) -> InputError:
    kind = sniff(path) if path.exists() else None
    if kind:
        return _not_a_workbook(path, kind)
    limit = _CALAMINE_CELL_LIMIT.search(str(exc))
    if limit:  # calamine refuses an .ods sheet too large to hold (at open, naming no sheet)
        return _ods_too_large(path, int(limit.group(1)), int(limit.group(2)))
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(
        f"file {path.name} cannot be opened as a {path.suffix.lstrip('.')} workbook ({first[:200]}). "
        f"It may be truncated or not a spreadsheet at all: {advice(path)}."
    )


def column_letters(n: int) -> str:
    """A 1-based column number as a spreadsheet writes it: 1 -> 'A', 16384 -> 'XFD'."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


@dataclass(frozen=True)
class FarCell:
    """A value lying far outside a sheet's table, and the grid it makes the sheet span."""

    cell: str  # where it is, as 'XFD1048576'
    rows: int  # the grid calamine would build: rows ...
    columns: int  # ... times columns
    declared: str | None = None  # the sheet's own <dimension ref>, when it gives one

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def _too_large(path: Path, sheet: str, far: FarCell, part: str | None = None) -> InputError:
    declared = f"; the sheet declares its extent as {far.declared}" if far.declared else ""
    gib = far.cells * CELL_BYTES / 2**30
    size = f"{gib:,.0f}" if gib >= 10 else f"{gib:.1f}"
    in_part = f" (worksheet {part}: the workbook does not say which is the sheet's)" if part else ""
    return InputError(
        f"file {path.name}, sheet '{sheet}'{in_part}: cell {far.cell} holds a value far outside the table, "
        f"so reading the sheet would take a grid of {far.rows:,} rows x {far.columns:,} columns "
        f"({far.cells:,} cells, about {size} GiB of memory{declared}), more than the "
        f"{MAX_CELLS:,} cells this package reads in one sheet (a full-size outcomes year is about "
        "9.4 million). Open the file in a spreadsheet program, delete everything outside the table "
        f"(Ctrl+End goes to the last cell) and save it, or {advice(path)}."
    )


# A cell reference that is far: two or more column letters (column 27 on) or seven or more row
# digits (row 1,000,000 on), with the rest of the cell's start tag. Every cell of a sheet of at
# most 26 columns and 999,999 rows is near (a grid of at most 26 x 999,999, under `MAX_CELLS`),
# so a regular sheet has no match at all. (No leading \b: it would cost the regex its fast
# search for the literal 'r="', four times the time. Attributes ending in 'r' other than a
# cell's, such as sqref, are not followed by '="'.)
_FAR_REF = re.compile(rb'r="([A-Z](?:[A-Z]+[0-9]+|[0-9]{7,}))"([^>]*)>')
_REF_PARTS = re.compile(r"([A-Z]+)([0-9]+)")
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_NUMBER = re.compile(rb'\sr="([0-9]+)"')
_DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref="([^"]*)"')
_NEAR_COLUMNS = 26  # the widest grid without a far reference
_CHUNK = 1 << 22
_HEAD = 1 << 16  # the sheet XML's start, which holds its <dimension> (before any cell)
_OVERLAP = 4096  # bytes of one chunk scanned again with the next, for tags cut between them
# Scanning a sheet's XML for far cells costs about 1.3 CPU-seconds for a full-size outcomes year
# (330 MB of XML: 0.6 s to inflate it, 0.7 s for the regex), about 30% on top of the read itself
# (4-5 s), so a large sheet is scanned only when its declared extent (<dimension ref>, which
# Excel, LibreOffice and xlsxwriter always write, counting formatted cells too) is missing, a
# single-cell placeholder, or over the limit. A sheet of up to SCAN_ALWAYS_BYTES of XML is
# scanned whatever it declares (at most about 0.15 s), so a small file that declares less than
# it holds is still caught.
SCAN_ALWAYS_BYTES = 32 * 2**20


def _last_row(buf: bytes) -> int | None:
    """The number of the last row in `buf` that holds cells (sheet rows come in order)."""
    start = max(0, len(buf) - 65536)
    while True:
        last = None
        for m in _ROW_TAG.finditer(buf, start):
            attrs = m.group(1)
            if not attrs.endswith(b"/"):  # <row r="9" .../> holds no cell
                number = _ROW_NUMBER.search(attrs)
                if number:
                    last = int(number.group(1))
        if last is not None or start == 0:
            return last
        start = 0


def _ref_grid(ref: str) -> int | None:
    """The cells a declared range ('A1:M725001') spans; None if it is not a range."""
    corners = [_REF_PARTS.fullmatch(c.replace("$", "")) for c in ref.upper().split(":")]
    if len(corners) != 2 or not all(corners):
        return None
    (c1, r1), (c2, r2) = ((_column_number(m.group(1)), int(m.group(2))) for m in corners if m)
    return (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1)


def xlsx_far_cell(fh, size: int) -> FarCell | None:
    """Check a worksheet's XML (an open binary stream of `size` bytes) against `MAX_CELLS`
    before calamine parses it: the farthest cell with a value and the grid it makes the sheet
    span, if that grid is over the limit; else None.

    The XML is scanned in chunks (see SCAN_ALWAYS_BYTES for when). Cells with no value
    (<c r="XFD9" s="1"/>, formatting only) are skipped, as calamine skips them; cells without an
    r attribute (rare: positions implied by order) are not seen."""
    head = fh.read(_HEAD)
    m = _DIMENSION.search(head)
    declared = m.group(1).decode("ascii", "replace") if m else None
    grid = _ref_grid(declared) if declared else None
    if size > SCAN_ALWAYS_BYTES and grid is not None and grid <= MAX_CELLS:
        return None
    far_ref, far_rank, far_rows, far_columns, last_row = "", 0, 0, 0, 0
    tail, chunk = b"", head
    while chunk:
        buf = tail + chunk
        for m in _FAR_REF.finditer(buf):
            if m.group(2).endswith(b"/"):
                continue
            ref = m.group(1).decode("ascii")
            letters, digits = _REF_PARTS.fullmatch(ref).groups()  # type: ignore[union-attr]
            col, row = _column_number(letters), int(digits)
            far_rows, far_columns = max(far_rows, row), max(far_columns, col)
            if col * row > far_rank:
                far_ref, far_rank = ref, col * row
        last_row = max(last_row, _last_row(buf) or 0)
        if far_ref:
            rows, columns = max(far_rows, last_row), max(far_columns, _NEAR_COLUMNS)
            if rows * columns > MAX_CELLS:
                return FarCell(far_ref, rows, columns, declared)  # enough seen to refuse
        tail = buf[-_OVERLAP:]
        chunk = fh.read(_CHUNK)
    return None


def _xlsx_sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Each sheet's name -> its worksheet part in the zip (through workbook.xml and its rels)."""
    names = set(zf.namelist())
    book = "xl/workbook.xml"
    if "_rels/.rels" in names:
        for rel in ET.fromstring(zf.read("_rels/.rels")):
            if rel.get("Type", "").endswith("/officeDocument"):
                book = rel.get("Target", book).lstrip("/")
    folder, base = posixpath.split(book)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    targets = {}
    for rel in ET.fromstring(zf.read(rels_name)):
        target = rel.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        targets[rel.get("Id")] = posixpath.normpath(part)
    r_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    parts = {}
    for elem in ET.fromstring(zf.read(book)).iter():
        if elem.tag.endswith("}sheet") and elem.get(r_id) in targets:
            parts[elem.get("name", "")] = targets[elem.get(r_id)]
    return parts


class _ExtentGuard:
    """Checks each sheet of an .xlsx/.xlsm workbook against `MAX_CELLS` before calamine reads it
    (once per sheet). Other formats need no check here: .xls sheets cannot be that large, and
    calamine refuses oversized .ods sheets at open (see `_corrupt`)."""

    def __init__(self, path: Path):
        self.path = path
        self.active = path.suffix.lower() in (".xlsx", ".xlsm")
        self._checked: set[str] = set()

    def check(self, sheet: str) -> None:
        if not self.active or sheet in self._checked:
            return
        try:
            with zipfile.ZipFile(self.path) as zf:
                try:
                    parts = _xlsx_sheet_parts(zf)
                except (KeyError, ET.ParseError):
                    parts = {}
                part = parts.get(sheet)
                if part is None or part not in zf.namelist():
                    # no map to the sheet: check every worksheet (a damaged map fails in calamine)
                    todo = [n for n in zf.namelist() if "worksheets/" in n and n.endswith(".xml")]
                else:
                    todo = [part]
                for name in todo:
                    with zf.open(name) as fh:
                        far = xlsx_far_cell(fh, zf.getinfo(name).file_size)
                    if far is not None:
                        raise _too_large(self.path, sheet, far, None if part else name)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            raise _corrupt(self.path, exc) from exc
        self._checked.add(sheet)


class RowBook(_Leading):
    """An .xlsx/.xls/.ods workbook read through python-calamine, row by row (engine "rows").

    Rows come as calamine gives them: text as str, every number as float (3.0), empty cells as
    "". Row i (from 1) is sheet row i, leading empty rows included. calamine parses a sheet
    whole into its own cells when the sheet is first asked for; those are freed once its rows
    have been read (or the iterator dropped), so one sheet at a time is held.
    """

    def __init__(self, path: Path):
        self.path = path
        self._guard = _ExtentGuard(path)
        try:
            self._book = python_calamine.CalamineWorkbook.from_path(str(path))
            self.sheet_names = list(self._book.sheet_names)
        except Exception as exc:  # calamine raises several types for damaged files
            raise _corrupt(path, exc) from exc

    def rows(self, sheet: str) -> Generator[list[object], None, None]:
        self._guard.check(sheet)  # before calamine builds the sheet's grid
        try:
            parsed = self._book.get_sheet_by_name(sheet)
        except Exception as exc:
            raise _corrupt(self.path, exc) from exc
        # iter_rows starts at the sheet's first row, not its first non-empty one, so row
        # numbers in messages are the sheet's (tests/sources/test_read.py checks this)
        # the rows are lists of cell values; typed more narrowly than the protocol's list[object]
        yield from self.note(sheet, cast(Iterator[list[object]], parsed.iter_rows()))

    def table(self, sheet: str) -> None:
        return None

    def lead(self) -> str:
        if self._lead is None and self.sheet_names:
            # parses the first sheet (a cover sheet is small), unless its rows were read already
            with closing(self.rows(self.sheet_names[0])) as rows:
                self._lead = first_value(rows)
        return self._lead or ""


class ArrowBook(_Leading):
    """An .xlsx/.xls/.ods workbook read through calamine (fastexcel), a whole sheet at a time
    (engine "arrow").

    A sheet is parsed into an Arrow table of text: numbers as written ("3", "2.5"), empty cells
    as null. Row i of the table is sheet row i + 1, leading empty rows included. The last sheet
    parsed is kept, because a reader finds the header row and then reads the same sheet's data.
    """

    def __init__(self, path: Path):
        self.path = path
        self._guard = _ExtentGuard(path)
        try:
            self._reader = fastexcel.read_excel(str(path))
            self.sheet_names = list(self._reader.sheet_names)
        except Exception as exc:  # calamine raises several types for damaged files
            raise _corrupt(path, exc) from exc
        self._last: tuple[str, pa.Table] | None = None

    def table(self, sheet: str) -> pa.Table:
        if self._last is None or self._last[0] != sheet:
            self._last = None  # free the previous sheet before parsing the next
            self._guard.check(sheet)  # before calamine builds the sheet's grid
            try:
                # skip_rows=0 keeps leading empty rows, so table rows are sheet rows; eager
                # loading goes straight to Arrow, faster and smaller than the lazy to_arrow()
                loaded = self._reader.load_sheet(
                    sheet, header_row=None, skip_rows=0, dtypes="string", eager=True
                )
                self._last = sheet, pa.Table.from_batches([loaded])
            except Exception as exc:
                raise _corrupt(self.path, exc) from exc
            if self._lead is None and sheet == self.sheet_names[0]:
                self._lead = first_value(table_rows(self._last[1].slice(0, LEAD_ROWS)))
        return self._last[1]

    def rows(self, sheet: str) -> Iterator[list[object]]:
        return table_rows(self.table(sheet))

    def lead(self) -> str:
        if self._lead is None and self.sheet_names:
            # only the first rows become Arrow, and the sheet loaded last stays loaded
            sheet = self.sheet_names[0]
            self._guard.check(sheet)
            try:
                loaded = self._reader.load_sheet(
                    sheet, header_row=None, skip_rows=0, n_rows=LEAD_ROWS, dtypes="string", eager=True
                )
            except Exception as exc:
                raise _corrupt(self.path, exc) from exc
            self._lead = first_value(table_rows(pa.Table.from_batches([loaded])))
        return self._lead or ""


class CsvBook:
    """A CSV file seen as a workbook with one sheet named after the file."""

    def __init__(self, path: Path):
        self.path = path
        self.sheet_names = [path.stem]

    def rows(self, sheet: str) -> Generator[list[object], None, None]:
        with open(self.path, newline="", encoding="utf-8-sig", errors="strict") as fh:
            try:
                yield from csv.reader(fh)
            except (UnicodeDecodeError, csv.Error) as exc:
                raise InputError(f"file {self.path.name} is not a readable UTF-8 CSV ({exc}).") from exc

    def table(self, sheet: str) -> None:
        return None

    def lead(self) -> str:
        with closing(self.rows(self.sheet_names[0])) as rows:
            return first_value(rows)  # reads only the first rows


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


class _Damaged(Exception):
    """A row of an .ods sheet that cannot be read as it stands (raised with what is wrong, given
    its file, sheet and row by the caller)."""


_ROWS_REPEATED = f"{{{_T}}}number-rows-repeated"
_COLUMNS_REPEATED = f"{{{_T}}}number-columns-repeated"


def _repeat(elem: ET.Element, attr: str) -> int:
    text = elem.get(attr)
    if text is None:
        return 1
    try:
        return max(1, int(text))
    except ValueError:
        raise _Damaged(f"a repeat count of {text[:40]!r}, not a number") from None


def _ods_rows(fh) -> Iterator[tuple[str, ET.Element]]:
    """(sheet name, row element) for every row of every sheet of an .ods content.xml stream;
    each row is dropped from the tree once the caller has it."""
    stack: list[ET.Element] = []
    current = ""
    for event, elem in ET.iterparse(fh, events=("start", "end")):
        if event == "start":
            stack.append(elem)
            if elem.tag == _TABLE:
                current = elem.get(f"{{{_T}}}name", "")
            continue
        stack.pop()
        if elem.tag == _ROW:
            yield current, elem
            if stack:
                stack[-1].remove(elem)
        elif elem.tag == _TABLE and stack:
            stack[-1].remove(elem)


_ODS_ERRORS = (ET.ParseError, zipfile.BadZipFile, EOFError, OSError, zlib.error)


class OdsStream:
    """An .ods workbook streamed from content.xml, one row at a time, rows dropped once read.

    Repeated cells and rows (table:number-columns-repeated, -rows-repeated) are expanded, empty
    ones only where a value follows them; a sheet is refused (InputError) when a value lies
    beyond `MAX_COLUMNS` or `MAX_ROWS`, or when its rows expand to more than `MAX_CELLS` cells
    (time, not memory: a row at a time is held)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
            self._zip.getinfo("content.xml")
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise _corrupt(path, exc) from exc

    def iter_sheets(self) -> Iterator[tuple[str, int, list[object]]]:
        """(sheet name, row number, row) for every non-empty row of every sheet, in one pass over
        the file; row numbers are the sheet's, counting empty and repeated rows."""
        sheet, number, cells = None, 0, 0
        try:
            with self._zip.open("content.xml") as fh:
                for name, elem in _ods_rows(fh):
                    if name != sheet:
                        sheet, number, cells = name, 0, 0
                    try:
                        repeat = _repeat(elem, _ROWS_REPEATED)
                        row = _ods_row(elem)
                    except (_Damaged, ValueError) as exc:
                        raise InputError(
                            f"{where(self.path, sheet, number + 1)}: a damaged cell ({exc}). "
                            f"Open the file in a spreadsheet program and save it again, or {advice(self.path)}."
                        ) from None
                    except _TooWide as wide:
                        raise self._beyond(sheet, number + 1, wide.message) from None
                    if row:
                        if number + repeat > MAX_ROWS:
                            raise self._beyond(
                                sheet,
                                number + 1,
                                f"a row with values, repeated {repeat:,} times, reaches row "
                                f"{number + repeat:,}, beyond a sheet's last row ({MAX_ROWS:,})",
                            )
                        cells += len(row) * repeat
                        if cells > MAX_CELLS:
                            raise self._beyond(
                                sheet,
                                number + 1,
                                f"the sheet's rows expand to more than {MAX_CELLS:,} cells by here "
                                f"(repeated cells counted; a PFA sheet has under a million)",
                            )
                        for k in range(repeat):
                            yield sheet, number + 1 + k, row
                    number += repeat
        except _ODS_ERRORS as exc:
            raise _corrupt(self.path, exc) from exc

    def _beyond(self, sheet: str, row: int, what: str) -> InputError:
        return InputError(
            f"{where(self.path, sheet, row)}: {what}. This cannot be the published table: open the "
            f"file in a spreadsheet program, delete everything outside the table and save it, or "
            f"{advice(self.path)}."
        )


class _TooWide(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _ods_row(elem: ET.Element) -> list[object]:
    """A row's cell values, repeated cells expanded, without its trailing empty cells. Empty
    cells are only counted until a value follows them, so padding to the sheet's edge costs
    nothing; a value beyond `MAX_COLUMNS` raises _TooWide."""
    row: list[object] = []
    pending = 0  # empty cells met since the last value
    for cell in elem:
        if cell.tag not in (_CELL, _COVERED):
            continue
        value = _cell_value(cell)
        repeat = _repeat(cell, _COLUMNS_REPEATED)
        if value == "":
            pending += repeat
            continue
        first = len(row) + pending + 1
        if first + repeat - 1 > MAX_COLUMNS:
            what = f"a value repeated {repeat:,} times from" if repeat > 1 else "a value in"
            raise _TooWide(
                f"{what} column {first:,} reaches column {first + repeat - 1:,}, beyond a "
                f"sheet's last column ({MAX_COLUMNS:,}, {column_letters(MAX_COLUMNS)})"
            )
        if pending:
            row.extend([""] * pending)
            pending = 0
        if repeat == 1:
            row.append(value)
        else:
            row.extend([value] * repeat)
    return row


def _ods_row_width(elem: ET.Element) -> int:
    """How many columns a row spans up to its last value, repeats counted, without expanding."""
    position = width = 0
    for cell in elem:
        if cell.tag not in (_CELL, _COVERED):
            continue
        position += _repeat(cell, _COLUMNS_REPEATED)
        if _cell_value(cell) != "":
            width = position
    return width


def _ods_largest_grid(path: Path) -> tuple[str, int, int] | None:
    """The first sheet of an .ods file whose values span a grid over `MAX_CELLS` (rows to the
    last row with a value, times columns to the last column with one), as (sheet, rows,
    columns), or the largest grid if none is over; streamed, so it holds a row at a time."""
    best: tuple[str, int, int] | None = None
    grids: dict[str, list[int]] = {}  # sheet -> [rows so far, last row with values, width]
    try:
        with zipfile.ZipFile(path) as zf, zf.open("content.xml") as fh:
            for sheet, elem in _ods_rows(fh):
                g = grids.setdefault(sheet, [0, 0, 0])
                repeat = _repeat(elem, _ROWS_REPEATED)
                width = _ods_row_width(elem)
                if width:
                    g[1], g[2] = g[0] + repeat, max(g[2], width)
                g[0] += repeat
                if best is None or g[1] * g[2] > best[1] * best[2]:
                    best = (sheet, g[1], g[2])
                if best[1] * best[2] > MAX_CELLS:
                    return best
    except (*_ODS_ERRORS, KeyError, ValueError, _Damaged):
        pass
    return best


_CALAMINE_CELL_LIMIT = re.compile(r"Cell limit exceeded \((\d+) cells requested, max (\d+)\)")


def _ods_too_large(path: Path, requested: int, limit: int) -> InputError:
    found = _ods_largest_grid(path)
    if found is not None and found[1] * found[2] > limit / 4:
        sheet, rows, columns = found
        where_ = f"file {path.name}, sheet '{sheet}': its values span {rows:,} rows x {columns:,} columns"
        cells = rows * columns
    else:
        where_, cells = f"file {path.name}: a sheet's values span", requested
    return InputError(
        f"{where_} ({cells:,} cells with the empty ones between them), more than the reader can "
        f"hold (it refuses sheets over {limit:,} cells; a full-size outcomes year is about 9.4 "
        "million): a value or a repeated cell lies far outside the table. Open the file in a "
        f"spreadsheet program, delete everything outside the table and save it, or {advice(path)}."
    )


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


def sheets_in_order(path: Path) -> Iterator[tuple[str, Iterator[tuple[int, list[object]]]]]:
    """Each sheet's name and its rows numbered as in the sheet (from 1), in workbook order, in
    one pass over the file; InputError now if the file cannot be read. An .ods file is streamed
    from its XML a row at a time (the PFA table expands to hundreds of MB, which calamine would
    parse whole), yielding only non-empty rows (a sheet with none is not yielded); other files
    yield every row."""
    path = Path(path)
    if path.suffix.lower() != ".ods":
        book = open_workbook(path)
        return ((sheet, enumerate(book.rows(sheet), start=1)) for sheet in book.sheet_names)
    _check_file(path)
    rows = OdsStream(path).iter_sheets()
    return ((sheet, ((n, row) for _, n, row in group)) for sheet, group in groupby(rows, key=itemgetter(0)))
