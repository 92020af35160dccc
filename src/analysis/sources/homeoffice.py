"""Readers for the Home Office outcomes workbooks and the PFA recorded-crime tables.

Both readers find the data by its header row (never by sheet position), map headers by
normalised keywords, keep only the requested offence codes while reading, and return a tidy
DataFrame plus a report of what they met (markers, negative counts, dropped rows, renamed forces).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.domain import forces, periods, taxonomy
from analysis.errors import InputError, where
from analysis.sources.sheets import Workbook, open_workbook, table_rows

HEADER_SEARCH_ROWS = 30

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
OUTCOME_OPTIONAL = (
    "offence_description",
    "offence_group",
    "offence_subgroup",
    "offence_code_expired",
    "outcome_description",
    "outcome_group",
)
PFA_REQUIRED = ("financial_year", "quarter", "force", "offence_code", "offences")
PFA_OPTIONAL = ("offence_description", "offence_group", "offence_subgroup")

FIELD_LABELS = {
    "financial_year": "Financial Year",
    "quarter": "Financial Quarter",
    "force": "Force Name",
    "offence_code": "Offence Code",
    "outcome_type": "Outcome Type",
    "recorded_basis": "Outcomes for offences that were recorded in the quarter",
    "closed_basis": "Outcomes for investigations closed in the quarter",
    "offences": "Number of Offences (or Offence Count)",
}


def _words(text: object) -> str:
    """Lower-case words separated by single spaces: 'Offence  Sub-group' -> 'offence sub group'."""
    return " ".join(re.findall(r"[a-z0-9]+", str(text).lower()))


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


def find_header(
    rows: Iterator[list[object]],
    classify: Callable[[object], str | None],
    required: tuple[str, ...],
    ctx: str,
) -> tuple[Header | None, Header | None]:
    """Scan the first rows for a header with every required field.

    Returns (header, None) when found, or (None, best partial header) when not, so the caller
    can say which fields were missing. The iterator is left positioned after the header.
    """
    best: Header | None = None
    for i, cells in enumerate(rows, start=1):
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
        "column, add its wording to analysis.read."
    )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def _data_rows(book: Workbook, ctx: str) -> tuple[str, Header, Iterator[list[object]]]:
    """Find the outcomes data sheet by name or header; return it, its header and its rows."""
    tried = []
    best_fail: tuple[str, Header | None] | None = None
    for sheet in sorted(book.sheet_names, key=_sheet_rank):
        rows = book.rows(sheet)
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


OUTCOME_COLUMNS = [
    "financial_year",
    "quarter",
    "force",
    "force_code",
    "offence_code",
    "offence_description",
    "offence_code_expired",
    "outcome_type",
    "outcome_group",
    "recorded_basis",
    "closed_basis",
]
RECORDED_COLUMNS = ["financial_year", "quarter", "force", "force_code", "offence_code", "offences"]


def read_outcomes(
    path: Path | str, offences: Iterable[str] | None = taxonomy.DEFAULT_OFFENCES, sha256: str | None = None
) -> tuple[pd.DataFrame, FileReport]:
    """Read one outcomes open data workbook (.xlsx, .ods or .csv).

    Only rows whose offence code is in `offences` (None: all) are kept. Counts that are markers
    become missing (<NA>); negative counts are kept. Returns the tidy outcomes table (without
    provenance columns) and the file's report.
    """
    path = Path(path)
    book = open_workbook(path, stream=False)
    report = FileReport(file=path.name, sha256=sha256 or sha256_of(path), kind="outcomes")
    sheet, header, rows = _data_rows(book, f"file {path.name}")
    report.sheets.append(sheet)
    report.header_rows[sheet] = header.row
    report.columns = dict(header.labels)
    c = header.columns
    lab = header.labels
    wanted = _wanted(offences)
    cells = _Cells(report)
    i_code, i_force, i_year, i_q, i_type = (
        c["offence_code"],
        c["force"],
        c["financial_year"],
        c["quarter"],
        c["outcome_type"],
    )
    i_rec, i_clo = c["recorded_basis"], c["closed_basis"]
    i_desc, i_exp, i_group = (
        c.get("offence_description"),
        c.get("offence_code_expired"),
        c.get("outcome_group"),
    )
    width = max(c.values()) + 1
    out: dict[str, list] = {k: [] for k in OUTCOME_COLUMNS}
    row_numbers: list[int] = []
    code_cache: dict[object, str] = {}
    rows_read = 0
    table = book.table(sheet)
    numbered: Iterable[tuple[int, list[object]]]
    counting = table is None or wanted is None  # else the vectorised selection counts rows
    if table is not None and wanted is not None:
        numbered, rows_read = _rows_with_codes(table, header.row, i_code, wanted, code_cache)
    else:
        numbered = enumerate(rows, start=header.row + 1)
    for n, cells_ in numbered:
        # the hot loop when rows come one by one: most are other offences, dropped on their code
        try:
            raw_code = cells_[i_code]
        except IndexError:
            raw_code = ""
        code = code_cache.get(raw_code)
        if code is None:
            code = code_cache[raw_code] = taxonomy.normalise_offence_code(raw_code)
        if counting and code:
            rows_read += 1
        if wanted is not None and code not in wanted:
            continue
        if not any(str(v).strip() for v in cells_):
            continue
        if len(cells_) < width:
            cells_ = list(cells_) + [""] * (width - len(cells_))
        ctx = where(path.name, sheet, n)
        force = cells.force(cells_[i_force], ctx)
        if force is None:
            report.total_rows_dropped += 1
            continue
        rec = cells.count(cells_[i_rec], ctx, lab["recorded_basis"])
        clo = cells.count(cells_[i_clo], ctx, lab["closed_basis"])
        otype = _outcome_type(cells_[i_type], ctx, lab["outcome_type"])
        year = cells.year(cells_[i_year], ctx, lab["financial_year"])
        quarter = cells.quarter(cells_[i_q], ctx, lab["quarter"])
        for basis, value in (("recorded", rec), ("closed", clo)):
            if value is not None and value < 0:
                report.negatives.append(
                    {
                        "row": n,
                        "force": force.name,
                        "financial_year": year,
                        "quarter": quarter,
                        "offence_code": code,
                        "outcome_type": otype,
                        "basis": basis,
                        "count": value,
                    }
                )
        known = taxonomy.OFFENCE_BY_CODE.get(code)
        desc = str(cells_[i_desc]).strip() if i_desc is not None else ""
        group = str(cells_[i_group]).strip() if i_group is not None else ""
        out["financial_year"].append(year)
        out["quarter"].append(quarter)
        out["force"].append(force.name)
        out["force_code"].append(force.code)
        out["offence_code"].append(code)
        out["offence_description"].append(desc or (known.description if known else ""))
        out["offence_code_expired"].append(_expired(cells_[i_exp]) if i_exp is not None else False)
        out["outcome_type"].append(otype)
        out["outcome_group"].append(group or taxonomy.BY_CODE[otype].group)
        out["recorded_basis"].append(rec)
        out["closed_basis"].append(clo)
        row_numbers.append(n)
    report.rows_read = rows_read
    report.rows_kept = len(row_numbers)
    frame = tidy_frame(out, OUTCOME_COLUMNS)
    _check_unique(
        frame,
        ["financial_year", "quarter", "force", "offence_code", "outcome_type"],
        row_numbers,
        f"file {path.name}, sheet '{sheet}'",
    )
    return frame, report


def _rows_with_codes(
    table: pa.Table, header_row: int, i_code: int, wanted: frozenset[str], code_cache: dict[object, str]
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
        code = code_cache.get(raw)
        if code is None:
            code = code_cache[raw] = taxonomy.normalise_offence_code(raw)
        rows_read += item["counts"] if code else 0
        if code in wanted:
            keep.append(raw)
    index = pc.indices_nonzero(pc.is_in(codes, value_set=pa.array(keep, pa.string())))
    numbers = [header_row + 1 + i for i in index.to_pylist()]
    return zip(numbers, table_rows(data.take(index))), rows_read


def tidy_frame(out: dict[str, list], columns: list[str]) -> pd.DataFrame:
    """A tidy table from column lists, with the store's dtypes."""
    frame = pd.DataFrame({k: out[k] for k in columns})
    for col in ("recorded_basis", "closed_basis", "offences"):
        if col in frame:
            frame[col] = pd.array(out[col], dtype="Int64")
    for col in ("quarter", "outcome_type"):
        if col in frame:
            frame[col] = frame[col].astype("int64")
    if "offence_code_expired" in frame:
        frame["offence_code_expired"] = frame["offence_code_expired"].astype(bool)
    for col in (
        "financial_year",
        "force",
        "force_code",
        "offence_code",
        "offence_description",
        "outcome_group",
    ):
        if col in frame:
            frame[col] = frame[col].astype("string")
    return frame


def _check_unique(frame: pd.DataFrame, key: list[str], row_numbers: list[int], ctx: str) -> None:
    dup = frame.duplicated(key, keep=False)
    if dup.any():
        idx = list(dup[dup].index[:2])
        first = frame.loc[idx[0], key].to_dict()
        raise InputError(
            f"{ctx}: rows {row_numbers[idx[0]]} and {row_numbers[idx[1]]} hold the same "
            f"{', '.join(f'{k}={v}' for k, v in first.items())}. Each force, quarter, offence "
            "and outcome type must appear once (two spellings of one force name?)."
        )


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
    book = open_workbook(path, stream=True)
    report = FileReport(file=path.name, sha256=sha256 or sha256_of(path), kind="recorded")
    wanted = _wanted(offences)
    cells = _Cells(report)
    out: dict[str, list] = {k: [] for k in RECORDED_COLUMNS}
    row_numbers: list[int] = []
    state: dict = {"sheet": None}
    best_fail: tuple[str, Header | None] | None = None

    def finish_sheet() -> None:
        nonlocal best_fail
        s = state["sheet"]
        if s is not None and state["header"] is None:
            report.sheets_skipped.append(s)
            if _sheet_year(s) is not None and state["best"] is not None:
                best_fail = (s, state["best"])

    for sheet, cells_ in book.iter_sheets():
        if sheet != state["sheet"]:
            finish_sheet()
            state = {"sheet": sheet, "header": None, "best": None, "n": 0}
        state["n"] += 1
        n = state["n"]
        header: Header | None = state["header"]
        if header is None:
            if n > HEADER_SEARCH_ROWS or not cells_:
                continue
            h = map_header(cells_, classify_pfa_header, n, f"file {path.name}, sheet '{sheet}'")
            if all(f in h.columns for f in PFA_REQUIRED):
                state["header"] = h
                report.sheets.append(sheet)
                report.header_rows[sheet] = n
                report.columns.setdefault("offences", h.labels["offences"])
                if h.labels["offences"] != report.columns["offences"]:
                    report.columns[f"offences ({sheet})"] = h.labels["offences"]
            elif len(h.columns) >= 3 and (
                state["best"] is None or len(h.columns) > len(state["best"].columns)
            ):
                state["best"] = h
            continue
        c = header.columns
        if not cells_:
            continue
        report.rows_read += 1
        code = taxonomy.normalise_offence_code(
            cells_[c["offence_code"]] if c["offence_code"] < len(cells_) else ""
        )
        if wanted is not None and code not in wanted:
            continue
        cells_ = list(cells_) + [""] * (max(c.values()) + 1 - len(cells_))
        ctx = where(path.name, sheet, n)
        raw_force = str(cells_[c["force"]]).strip()
        if forces.is_non_force(raw_force):
            report.non_force_rows_dropped[raw_force] += 1
            continue
        force = cells.force(raw_force, ctx)
        if force is None:
            report.total_rows_dropped += 1
            continue
        count = cells.count(cells_[c["offences"]], ctx, header.labels["offences"])
        year = cells.year(cells_[c["financial_year"]], ctx, header.labels["financial_year"])
        if count is not None and count < 0:
            report.negatives.append(
                {
                    "row": n,
                    "sheet": sheet,
                    "force": force.name,
                    "financial_year": year,
                    "offence_code": code,
                    "basis": "recorded offences",
                    "count": count,
                }
            )
        out["financial_year"].append(year)
        out["quarter"].append(cells.quarter(cells_[c["quarter"]], ctx, header.labels["quarter"]))
        out["force"].append(force.name)
        out["force_code"].append(force.code)
        out["offence_code"].append(code)
        out["offences"].append(count)
        row_numbers.append(n)
    finish_sheet()
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
    report.rows_kept = len(row_numbers)
    frame = tidy_frame(out, RECORDED_COLUMNS)
    _check_unique(
        frame, ["financial_year", "quarter", "force", "offence_code"], row_numbers, f"file {path.name}"
    )
    return frame, report
