"""Readers for the Home Office outcomes workbooks and the PFA recorded-crime tables.

Both readers find the data by its header row (never by sheet position), map headers by
normalised keywords, keep only the requested offence codes while reading, and return a tidy
DataFrame plus a report of what they met (markers, negative counts, dropped rows, renamed forces).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.domain import forces, periods, taxonomy
from analysis.errors import InputError, where
from analysis.files import sha256_of
from analysis.sources.sheets import (
    DEFAULT_ENGINE,
    LEAD_ROWS,
    Workbook,
    first_value,
    open_workbook,
    sheets_in_order,
    table_rows,
)
from analysis.sources.store import (
    OUTCOME_COLUMNS,
    OUTCOME_KEY,
    RECORDED_COLUMNS,
    RECORDED_KEY,
    tidy_frame,
)

HEADER_SEARCH_ROWS = 30

# What the demo generator writes first in every workbook (the title of its cover sheet, A1):
# "SYNTHETIC DEMO DATA - Outcomes open data, ...". A file that starts with it holds generated
# figures, wherever it is and whatever it is named (`FileReport.generated`).
GENERATED_MARKER = "SYNTHETIC DEMO DATA"

# Count-cell text that means "no number here". "Data not provided" is missing, not zero.
_MARKER = re.compile(r"^(n\s*/?\s*a\b.*|\.\.|:|-|\[[a-z]\])$", re.IGNORECASE)
_DECIMAL = re.compile(r"^-?\d+\.\d+$")  # how a number cell reads as text ("2.5", "3.0")

OUTCOME_REQUIRED = (
    "financial_year",
    "quarter",
    "force",
    "offence_code",
    "outcome_type",
    "recorded_basis",
    "closed_basis",
)
PFA_REQUIRED = ("financial_year", "quarter", "force", "offence_code", "offences")
PFA_OPTIONAL = ("offence_description", "offence_group", "offence_subgroup")

# The published header wordings of the outcomes workbooks, current editions, in order [seen].
OUTCOME_HEADERS = {
    "financial_year": "Financial Year",
    "quarter": "Financial Quarter",
    "force": "Force Name",
    "offence_code": "Offence Code",
    "offence_description": "Offence Description",
    "offence_group": "Offence Group",
    "offence_subgroup": "Offence Subgroup",
    "offence_code_expired": "Offence code expired",
    "outcome_type": "Outcome Type",
    "outcome_description": "Outcome Description",
    "outcome_group": "Outcome Group",
    "recorded_basis": "Outcomes for offences that were recorded in the quarter",
    "closed_basis": "Outcomes for investigations closed in the quarter",
}
# Variants the readers accept [likely]: the older wording with no expired-code column, and
# "Number of ..." wordings in another column order. The demo data publish both.
OLD_OUTCOME_HEADERS = {k: v for k, v in OUTCOME_HEADERS.items() if k != "offence_code_expired"} | {
    "recorded_basis": "Force outcomes for offences recorded in quarter",
    "closed_basis": "Force outcomes recorded in quarter",
}
NUMBER_OF_OUTCOME_HEADERS = {
    k: v
    for k, v in OUTCOME_HEADERS.items()
    if k not in ("offence_code_expired", "recorded_basis", "closed_basis")
} | {
    "closed_basis": "Number of Outcomes for investigations that were closed in the quarter",
    "recorded_basis": "Number of Outcomes for offences that were recorded in the quarter",
    "offence_code_expired": "Offence Code Expired",
}
# The PFA recorded-crime tables: the same wordings, and a count column whose name depends on the
# edition and sheet [seen].
PFA_COUNT_HEADERS = ("Number of Offences", "Offence Count")
PFA_HEADERS = {k: OUTCOME_HEADERS[k] for k in (*PFA_REQUIRED[:-1], *PFA_OPTIONAL)} | {
    "offences": PFA_COUNT_HEADERS[1]
}

# How messages name a field.
FIELD_LABELS = OUTCOME_HEADERS | {"offences": f"{PFA_COUNT_HEADERS[0]} (or {PFA_COUNT_HEADERS[1]})"}


def _words(text: object) -> str:
    """Lower-case words separated by single spaces: 'Offence  Sub-group' -> 'offence sub group'."""
    return " ".join(re.findall(r"[a-z0-9]+", str(text).lower()))


def is_generated(lead: object) -> bool:
    """Whether a workbook's first value (`sheets.first_value`: its first sheet's first cell)
    carries the demo generator's `GENERATED_MARKER`, in any case or spacing."""
    marker = _words(GENERATED_MARKER)
    words = _words(lead)
    return words == marker or words.startswith(marker + " ")


def classify_outcome_header(text: object) -> str | None:
    """The tidy field an outcomes-workbook header names, or None."""
    w = _words(text)
    if not w:
        return None
    if "outcome" in w and ("closed" in w or ("recorded in" in w and "offences" not in w)):
        return "closed_basis"  # incl. the older 'Force outcomes recorded in quarter'
    if "outcome" in w and "offences" in w and "recorded" in w:
        return "recorded_basis"
    if "offence code" in w:
        return "offence_code_expired" if "expired" in w else "offence_code"
    if w.startswith("offence") and "description" in w:
        return "offence_description"
    if w.startswith("offence") and ("subgroup" in w or "sub group" in w):
        return "offence_subgroup"
    if w.startswith("offence") and "group" in w:
        return "offence_group"
    if w.startswith("outcome") and ("type" in w or "code" in w):
        return "outcome_type"
    if w.startswith("outcome") and "description" in w:
        return "outcome_description"
    if w.startswith("outcome") and "group" in w:
        return "outcome_group"
    if "year" in w:
        return "financial_year"
    if "quarter" in w:
        return "quarter"
    if w in ("force", "force name", "police force", "police force area", "pfa", "force area"):
        return "force"
    return None


def classify_pfa_header(text: object) -> str | None:
    """The tidy field a PFA-table header names, or None."""
    w = _words(text)
    if w in ("number of offences", "offence count", "offences", "count", "number of crimes", "crime count"):
        return "offences"
    field_ = classify_outcome_header(text)
    return field_ if field_ in PFA_REQUIRED + PFA_OPTIONAL else None


@dataclass
class Header:
    """A mapped header row."""

    row: int  # 1-based row number in the sheet
    columns: dict[str, int]  # field -> column index
    labels: dict[str, str]  # field -> header text as published


def map_header(cells: list[object], classify: Callable[[object], str | None], row: int, ctx: str) -> Header:
    """Map a header row's cells to fields; InputError if two columns claim one field."""
    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    for i, cell in enumerate(cells):
        f = classify(cell)
        if f is None:
            continue
        if f in columns:
            raise InputError(
                f"{ctx}, row {row}: columns '{labels[f]}' and '{str(cell).strip()}' both look like "
                f"'{FIELD_LABELS.get(f, f)}'. Rename one of them so each field is named once."
            )
        columns[f], labels[f] = i, str(cell).strip()
    return Header(row, columns, labels)


# A sheet's rows with their 1-based row numbers.
Numbered = Iterator[tuple[int, list[object]]]


def find_header(
    rows: Numbered,
    classify: Callable[[object], str | None],
    required: tuple[str, ...],
    ctx: str,
) -> tuple[Header | None, Header | None]:
    """Scan the first rows for a header with every required field.

    Returns (header, None) when found, or (None, best partial header) when not, so the caller
    can say which fields were missing. The iterator is left positioned after the header.
    """
    best: Header | None = None
    for i, cells in rows:
        if i > HEADER_SEARCH_ROWS:
            break
        if not cells:
            continue
        header = map_header(cells, classify, i, ctx)
        if all(f in header.columns for f in required):
            return header, None
        if len(header.columns) >= 3 and (best is None or len(header.columns) > len(best.columns)):
            best = header
    return None, best


def missing_fields_message(ctx: str, best: Header | None, required: tuple[str, ...]) -> str:
    """The error text for a sheet whose header lacks required fields."""
    if best is None:
        return (
            f"{ctx}: no header row found in the first {HEADER_SEARCH_ROWS} rows "
            f"(looked for {', '.join(FIELD_LABELS.get(f, f) for f in required)})."
        )
    missing = [FIELD_LABELS.get(f, f) for f in required if f not in best.columns]
    return (
        f"{ctx}, header row {best.row}: no column could be mapped to "
        f"{', '.join(repr(m) for m in missing)} (found: {', '.join(best.labels.values())}). "
        "Check the file is a Home Office outcomes or PFA table; if the publisher renamed a "
        "column, add its wording to analysis.sources.homeoffice."
    )


@dataclass
class FileReport:
    """What a reader met in one file."""

    file: str
    sha256: str
    kind: str  # "outcomes" or "recorded"
    sheets: list[str] = field(default_factory=list)
    header_rows: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    rows_kept: int = 0
    markers: Counter = field(default_factory=Counter)
    negatives: list[dict] = field(default_factory=list)
    total_rows_dropped: int = 0
    non_force_rows_dropped: Counter = field(default_factory=Counter)
    forces_renamed: dict[str, str] = field(default_factory=dict)
    sheets_skipped: list[str] = field(default_factory=list)
    generated: bool = False  # its first sheet starts with the demo generator's marker
    # Not in quality.json: what ingest needs to say what a file holds and where a row came from.
    offence_codes: set[str] = field(default_factory=set)  # every code in the rows below a header
    row_sheets: list[str] = field(default_factory=list, repr=False)  # each kept row's sheet ...
    row_numbers: list[int] = field(default_factory=list, repr=False)  # ... and its row there

    def as_dict(self) -> dict:
        """JSON-ready form, with stable ordering."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "kind": self.kind,
            "sheets": self.sheets,
            "header_rows": self.header_rows,
            "columns": self.columns,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "markers": dict(sorted(self.markers.items())),
            "negative_counts": self.negatives,
            "total_rows_dropped": self.total_rows_dropped,
            "non_force_rows_dropped": dict(sorted(self.non_force_rows_dropped.items())),
            "forces_renamed": dict(sorted(self.forces_renamed.items())),
            "sheets_skipped": self.sheets_skipped,
            "generated": self.generated,
        }


class _Cells:
    """Parses cell values for one file, caching the repeated text (years, forces)."""

    def __init__(self, report: FileReport):
        self.report = report
        self._years: dict[object, str] = {}
        self._forces: dict[object, forces.Force | None] = {}

    def year(self, value: object, ctx: str, col: str) -> str:
        if value not in self._years:
            try:
                self._years[value] = periods.normalise_year(value)
            except ValueError as exc:
                raise InputError(f"{ctx}, column '{col}': {exc}.") from None
        return self._years[value]

    def quarter(self, value: object, ctx: str, col: str) -> int:
        try:
            return periods.normalise_quarter(value)
        except ValueError as exc:
            raise InputError(f"{ctx}, column '{col}': {exc}.") from None

    def force(self, value: object, ctx: str) -> forces.Force | None:
        """The force a row names; None for a national total row (dropped)."""
        if value not in self._forces:
            text = str(value).strip()
            if forces.is_england_and_wales_total(text):
                self._forces[value] = None
            else:
                force = forces.resolve(text, context=ctx)
                if text != force.name:
                    self.report.forces_renamed[str(value)] = force.name
                self._forces[value] = force
        return self._forces[value]

    def count(self, value: object, ctx: str, col: str) -> int | None:
        """An integer count, or None for a missing-data marker (counted in the report)."""
        if isinstance(value, bool):
            raise InputError(f"{ctx}, column '{col}': {value!r} is not a count.")
        if isinstance(value, int):
            return _fits(value, ctx, col)
        if isinstance(value, float):
            if value.is_integer():
                return _fits(int(value), ctx, col)
            raise InputError(
                f"{ctx}, column '{col}': {value!r} is not a whole number. "
                "Counts in these tables are unrounded integers; check the file."
            )
        text = str(value).strip()
        if text == "":
            self.report.markers["(blank)"] += 1
            return None
        try:
            n = int(text.replace(",", ""))
        except ValueError:
            pass
        else:
            return _fits(n, ctx, col)
        if _DECIMAL.match(text):  # a workbook's number cell, read as text
            return self.count(float(text), ctx, col)
        if _MARKER.match(text):
            self.report.markers[text] += 1
            return None
        raise InputError(
            f"{ctx}, column '{col}': text {text!r} where a count should be. Known markers "
            "('N/A', 'N/A - data not provided', ...) are read as missing; anything else is an "
            "error. Correct the cell or report the new marker."
        )


_INT64_MAX = 2**63 - 1


def _fits(n: int, ctx: str, col: str) -> int:
    """A count that fits the store's 64-bit integers; anything larger is a damaged cell."""
    if abs(n) > _INT64_MAX:
        raise InputError(
            f"{ctx}, column '{col}': {n:,} is too large to be a count (the limit is "
            f"{_INT64_MAX:,}); the cell is damaged. Correct it or download the file again."
        )
    return n


def _outcome_type(value: object, ctx: str, col: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().lower()
    if text in taxonomy.ALTERNATE_TYPES:
        raise InputError(
            f"{ctx}, column '{col}': outcome type {text!r} belongs to the 'alternate offences' "
            "file; types 1a, 2a and 3a are subsets of 1, 2 and 3 and must never be added to them. "
            "Remove the alternate-offences file or rows from the input."
        )
    if text.isdigit() and int(text) in taxonomy.BY_CODE:
        return int(text)
    raise InputError(
        f"{ctx}, column '{col}': unknown outcome type {str(value)!r} "
        f"(valid: 0-22). Check the file is an outcomes table."
    )


def _expired(value: object) -> bool:
    return str(value).strip().lower() not in ("", "n", "no", "false", "0")


def _sheet_rank(name: str) -> int:
    """Order in which to try sheets as the data sheet: by name first, cover/notes last."""
    w = _words(name).replace(" ", "")
    if w.startswith("outcomesopendata"):
        return 0
    if any(k in w for k in ("cover", "note", "pivot", "content", "metadata", "readme")):
        return 2
    return 1


def _data_sheet(book: Workbook, ctx: str) -> tuple[str, Header, Numbered]:
    """Find the outcomes data sheet by name or header; return it, its header and its rows."""
    tried = []
    best_fail: tuple[str, Header | None] | None = None
    for sheet in sorted(book.sheet_names, key=_sheet_rank):
        rows = enumerate(book.rows(sheet), start=1)
        header, best = find_header(rows, classify_outcome_header, OUTCOME_REQUIRED, f"{ctx}, sheet '{sheet}'")
        if header is not None:
            return sheet, header, rows
        tried.append(sheet)
        if best is not None and (
            best_fail is None or best_fail[1] is None or len(best.columns) > len(best_fail[1].columns)
        ):
            best_fail = (sheet, best)
    if best_fail is not None:
        raise InputError(
            missing_fields_message(f"{ctx}, sheet '{best_fail[0]}'", best_fail[1], OUTCOME_REQUIRED)
        )
    raise InputError(
        f"{ctx}: no data sheet found (looked at sheets {', '.join(repr(t) for t in tried)}; none "
        f"has a header row with {', '.join(FIELD_LABELS[f] for f in OUTCOME_REQUIRED[:5])}, ...). "
        "Is this an outcomes open data workbook?"
    )


def _wanted(offences: Iterable[str] | None) -> frozenset[str] | None:
    return None if offences is None else frozenset(taxonomy.normalise_offence_code(o) for o in offences)


def _as_shown(value: object) -> object:
    """A cell as its text reads: python-calamine gives every number as a float and a boolean as
    bool, where the Arrow reader gives the cell's text, "3" and "true" (as a CSV does), so rows
    read either way parse, and fail, alike."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Row(NamedTuple):
    """One data row of a sheet, padded to the header's width, with its offence code parsed."""

    cells: list[object]
    header: Header
    number: int
    code: str
    sheet: str
    ctx: str  # where the row is, for messages

    def field(self, name: str) -> object:
        return self.cells[self.header.columns[name]]

    def label(self, name: str) -> str:
        return self.header.labels[name]

    def text(self, name: str) -> str:
        """An optional text field, stripped ("" when the sheet has no such column)."""
        i = self.header.columns.get(name)
        return "" if i is None else str(self.cells[i]).strip()


class _SheetParser:
    """Turns the data rows below a sheet's header into tidy columns, keeping only the wanted
    offence codes; shared by both tables. One per file, fed a sheet at a time (the outcomes
    workbook has one data sheet, the PFA table one per year); `record` (one per table) makes the
    tidy fields of one row, or returns None to drop it."""

    def __init__(
        self,
        path: Path,
        report: FileReport,
        offences: Iterable[str] | None,
        columns: dict[str, str],
        record: Callable[[_SheetParser, _Row], dict | None],
    ):
        self.path = path
        self.report = report
        self.wanted = _wanted(offences)
        self.cells = _Cells(report)
        self.columns = columns
        self.record = record
        self.out: dict[str, list] = {k: [] for k in columns}
        self.row_numbers: list[int] = []
        self.row_sheets: list[str] = []
        self._codes: dict[object, str] = {}

    def code(self, raw: object) -> str:
        """The normalised offence code of a cell (cached: a sheet repeats a few hundred codes)."""
        code = self._codes.get(raw)
        if code is None:
            code = self._codes[raw] = taxonomy.normalise_offence_code(raw)
        return code

    def parse(
        self, sheet: str, header: Header, rows: Iterable[tuple[int, list[object]]], count: bool = True
    ) -> None:
        """Parse the rows below `header`. Rows with an offence code count as read (`count=False`
        when the caller has counted them)."""
        i_code = header.columns["offence_code"]
        width = max(header.columns.values()) + 1
        codes, wanted, rows_read = self._codes, self.wanted, 0
        for n, cells in rows:
            # The hot loop (every row of a full-size workbook, about 725,000): most rows are other
            # offences, dropped on their code, so it does as little as it can before that test.
            raw = cells[i_code] if i_code < len(cells) else ""
            code = codes.get(raw)
            if code is None:
                code = self.code(raw)
            if code:
                rows_read += 1
            if wanted is not None and code not in wanted:
                continue
            if not any(str(v).strip() for v in cells):
                continue
            cells = [_as_shown(v) for v in cells]
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            rec = self.record(self, _Row(cells, header, n, code, sheet, where(self.path.name, sheet, n)))
            if rec is None:
                continue
            for k in self.columns:
                self.out[k].append(rec[k])
            self.row_numbers.append(n)
            self.row_sheets.append(sheet)
        if count:
            self.report.rows_read += rows_read

    def negative(self, row: _Row, basis: str, count: int | None, **cell: object) -> None:
        """Report a negative count (a published correction: kept, and listed)."""
        if count is not None and count < 0:
            self.report.negatives.append({"row": row.number, **cell, "basis": basis, "count": count})

    def frame(self, key: list[str], ctx: str) -> pd.DataFrame:
        """The tidy table of every row kept; InputError if two rows hold the same cell."""
        self.report.rows_kept = len(self.row_numbers)
        self.report.offence_codes = {c for c in self._codes.values() if c}
        self.report.row_sheets, self.report.row_numbers = self.row_sheets, self.row_numbers
        frame = tidy_frame(self.out, self.columns)
        dup = frame.duplicated(key, keep=False)
        if dup.any():
            idx = list(dup[dup].index[:2])
            first = frame.loc[idx[0], key].to_dict()
            a, b = (self.row_numbers[i] for i in idx)
            sheet_a, sheet_b = (self.row_sheets[i] for i in idx)
            rows = (
                f"rows {a} and {b}"
                if sheet_a == sheet_b
                else f"sheet '{sheet_a}' row {a} and sheet '{sheet_b}' row {b}"
            )
            if sheet_a == sheet_b and "sheet '" not in ctx:
                ctx = f"{ctx}, sheet '{sheet_a}'"
            raise InputError(
                f"{ctx}: {rows} hold the same "
                f"{', '.join(f'{k}={v}' for k, v in first.items())}. Each force, quarter, offence "
                "and outcome type must appear once (two spellings of one force name?)."
            )
        return frame


def _outcome_record(p: _SheetParser, row: _Row) -> dict | None:
    """The tidy fields of one outcomes row; None for a national total row."""
    force = p.cells.force(row.field("force"), row.ctx)
    if force is None:
        p.report.total_rows_dropped += 1
        return None
    rec = p.cells.count(row.field("recorded_basis"), row.ctx, row.label("recorded_basis"))
    clo = p.cells.count(row.field("closed_basis"), row.ctx, row.label("closed_basis"))
    otype = _outcome_type(row.field("outcome_type"), row.ctx, row.label("outcome_type"))
    year = p.cells.year(row.field("financial_year"), row.ctx, row.label("financial_year"))
    quarter = p.cells.quarter(row.field("quarter"), row.ctx, row.label("quarter"))
    cell = {
        "force": force.name,
        "financial_year": year,
        "quarter": quarter,
        "offence_code": row.code,
        "outcome_type": otype,
    }
    p.negative(row, "recorded", rec, **cell)
    p.negative(row, "closed", clo, **cell)
    known = taxonomy.OFFENCE_BY_CODE.get(row.code)
    expired = "offence_code_expired" in row.header.columns and _expired(row.field("offence_code_expired"))
    return {
        **cell,
        "force_code": force.code,
        "offence_description": row.text("offence_description") or (known.description if known else ""),
        "offence_code_expired": expired,
        "outcome_group": row.text("outcome_group") or taxonomy.BY_CODE[otype].group,
        "recorded_basis": rec,
        "closed_basis": clo,
    }


def _recorded_record(p: _SheetParser, row: _Row) -> dict | None:
    """The tidy fields of one PFA row; None for a non-force row (Action Fraud, CIFAS, UK
    Finance) or a national total."""
    raw_force = str(row.field("force")).strip()
    if forces.is_non_force(raw_force):
        p.report.non_force_rows_dropped[raw_force] += 1
        return None
    force = p.cells.force(raw_force, row.ctx)
    if force is None:
        p.report.total_rows_dropped += 1
        return None
    count = p.cells.count(row.field("offences"), row.ctx, row.label("offences"))
    year = p.cells.year(row.field("financial_year"), row.ctx, row.label("financial_year"))
    p.negative(
        row,
        "recorded offences",
        count,
        sheet=row.sheet,
        force=force.name,
        financial_year=year,
        offence_code=row.code,
    )
    return {
        "financial_year": year,
        "quarter": p.cells.quarter(row.field("quarter"), row.ctx, row.label("quarter")),
        "force": force.name,
        "force_code": force.code,
        "offence_code": row.code,
        "offences": count,
    }


def read_outcomes(
    path: Path | str,
    offences: Iterable[str] | None = taxonomy.DEFAULT_OFFENCES,
    sha256: str | None = None,
    engine: str = DEFAULT_ENGINE,
) -> tuple[pd.DataFrame, FileReport]:
    """Read one outcomes open data workbook (.xlsx, .ods or .csv).

    Only rows whose offence code is in `offences` (None: all) are kept. Counts that are markers
    become missing (<NA>); negative counts are kept. Returns the tidy outcomes table (without
    provenance columns) and the file's report. `engine` is how a workbook is read (see
    `sheets.ENGINES`); both give the same table and report.
    """
    path = Path(path)
    book = open_workbook(path, engine)
    report = FileReport(file=path.name, sha256=sha256 or sha256_of(path), kind="outcomes")
    sheet, header, rows = _data_sheet(book, f"file {path.name}")
    report.sheets.append(sheet)
    report.header_rows[sheet] = header.row
    report.columns = dict(header.labels)
    parser = _SheetParser(path, report, offences, OUTCOME_COLUMNS, _outcome_record)
    table = book.table(sheet)
    if table is not None and parser.wanted is not None:
        # pick the wanted rows with a vectorised filter (which also counts the rows read)
        wanted, report.rows_read = _rows_with_codes(
            table, header.row, header.columns["offence_code"], parser.wanted, parser.code
        )
        parser.parse(sheet, header, wanted, count=False)
    else:
        parser.parse(sheet, header, rows)
    # asked once the data are read, so the data sheet stays loaded until then; free when the data
    # sheet is the first sheet, else the first rows of the (cover) sheet
    report.generated = is_generated(book.lead())
    return parser.frame(OUTCOME_KEY, f"file {path.name}, sheet '{sheet}'"), report


def _rows_with_codes(
    table: pa.Table, header_row: int, i_code: int, wanted: frozenset[str], code_of: Callable[[object], str]
) -> tuple[Iterator[tuple[int, list[object]]], int]:
    """The numbered rows below the header whose offence code is wanted, and how many rows below
    the header have any offence code.

    The code column is matched on its distinct raw values (a few hundred), so the rows of other
    offences (nearly all of a published workbook) never become Python objects.
    """
    data = table.slice(header_row)
    codes = data.column(i_code)  # the header was found in this table, so the column exists
    keep, rows_read = [], 0
    for item in pc.value_counts(codes).to_pylist():
        raw = "" if item["values"] is None else item["values"]
        code = code_of(raw)
        rows_read += item["counts"] if code else 0
        if code in wanted:
            keep.append(raw)
    index = pc.indices_nonzero(pc.is_in(codes, value_set=pa.array(keep, pa.string())))
    numbers = [header_row + 1 + i for i in index.to_pylist()]
    return zip(numbers, table_rows(data.take(index))), rows_read


def _sheet_year(name: str) -> str | None:
    try:
        return periods.normalise_year(name)
    except ValueError:
        return None


def read_recorded(
    path: Path | str, offences: Iterable[str] | None = taxonomy.DEFAULT_OFFENCES, sha256: str | None = None
) -> tuple[pd.DataFrame, FileReport]:
    """Read the PFA recorded-crime tables (one sheet per financial year), streaming .ods files.

    Each sheet's header is found and mapped on its own (the count column's name and the column
    order vary between sheets). Non-force rows (Action Fraud, CIFAS, UK Finance) and national
    totals are dropped and counted.
    """
    path = Path(path)
    sheets = sheets_in_order(path)
    report = FileReport(file=path.name, sha256=sha256 or sha256_of(path), kind="recorded")
    parser = _SheetParser(path, report, offences, RECORDED_COLUMNS, _recorded_record)
    best_fail: tuple[str, Header | None] | None = None
    for index, (sheet, rows) in enumerate(sheets):
        if index == 0:  # the cover sheet, read anyway: its first rows say if the file is generated
            head = list(islice(rows, LEAD_ROWS))
            report.generated = is_generated(first_value(cells for _, cells in head))
            rows = chain(head, rows)
        header, best = find_header(
            rows, classify_pfa_header, PFA_REQUIRED, f"file {path.name}, sheet '{sheet}'"
        )
        if header is None:
            report.sheets_skipped.append(sheet)
            if _sheet_year(sheet) is not None and best is not None:
                best_fail = (sheet, best)
            continue
        report.sheets.append(sheet)
        report.header_rows[sheet] = header.row
        count_label = header.labels["offences"]
        report.columns.setdefault("offences", count_label)
        if count_label != report.columns["offences"]:
            report.columns[f"offences ({sheet})"] = count_label
        parser.parse(sheet, header, rows)
    if not report.sheets:
        if best_fail is not None:
            raise InputError(
                missing_fields_message(
                    f"file {path.name}, sheet '{best_fail[0]}'", best_fail[1], PFA_REQUIRED
                )
            )
        raise InputError(
            f"file {path.name}: no sheet has a PFA table header "
            f"({', '.join(FIELD_LABELS[f] for f in PFA_REQUIRED)}). "
            "Is this the police force area recorded crime table?"
        )
    return parser.frame(RECORDED_KEY, f"file {path.name}"), report
