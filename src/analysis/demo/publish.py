"""Writers for files in the published Home Office layout (.xlsx, .ods, .csv).

Used by the demo-data generator, the tests and the benchmark. They write what the readers read:
a cover sheet, a notes sheet, and the data sheet with the year's header wording (the wordings
are the readers', in analysis.sources.homeoffice). Output bytes
depend only on the inputs (fixed timestamps), so the same data give identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import xlsxwriter

from analysis.sources.homeoffice import OUTCOME_HEADERS

FIXED_TIME = dt.datetime(2000, 1, 1)


@dataclass
class Sheet:
    """One sheet to write: a name and its rows (header first for data sheets)."""

    name: str
    rows: Iterable[Sequence[object]]


@dataclass
class OutcomesLayout:
    """How one year's outcomes workbook is laid out (the variants seen between editions)."""

    sheet_name: str
    headers: dict[str, str] = field(default_factory=lambda: dict(OUTCOME_HEADERS))
    year_style: str = "slash"  # "slash" 2020/21, "dash" 2020-21, "long" 2020/2021
    quarter_style: str = "int"  # "int" 1, "q" Q1, "word" Quarter 1
    force_names: dict[str, str] = field(default_factory=dict)  # canonical -> as published
    trailing_spaces: bool = False
    total_row: bool = False


def year_text(label: str, style: str) -> str:
    """A financial year label ('2020/21') in one of the published styles."""
    start = int(label[:4])
    return {"slash": label, "dash": label.replace("/", "-"), "long": f"{start}/{start + 1}"}[style]


def quarter_text(q: int, style: str) -> object:
    """A quarter number in one of the published styles."""
    return {"int": q, "q": f"Q{q}", "word": f"Quarter {q}"}[style]


def write_xlsx(path: Path, sheets: list[Sheet], inline_strings: bool = False) -> None:
    """Write sheets to an .xlsx file with fixed metadata.

    Text goes into a shared-string table, as Excel writes it (the published files are Excel's),
    which also makes the file about half as slow to read. `inline_strings=True` writes row by row
    in constant memory with inline strings instead, as some other tools do.
    """
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": inline_strings,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": FIXED_TIME, "author": "stalking-outcomes"})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.name)
        write_string, write_number = ws.write_string, ws.write_number  # skip write()'s dispatch
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    write_number(r, c, value)
                else:
                    write_string(r, c, str(value))
    wb.close()


def _ods_cell(value: object) -> str:
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    text = escape(str(value))
    return f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def write_ods(path: Path, sheets: list[Sheet]) -> None:
    """Write sheets to an .ods file, streaming content.xml into the zip."""

    def stamp(name: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
        info.compress_type = compress
        return info

    with zipfile.ZipFile(path, "w") as zf:
        # The mimetype must be the first member, stored uncompressed.
        zf.writestr(stamp("mimetype", zipfile.ZIP_STORED), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr(
            stamp("META-INF/manifest.xml", zipfile.ZIP_DEFLATED),
            (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>"
            ),
        )
        with zf.open(stamp("content.xml", zipfile.ZIP_DEFLATED), "w") as raw:

            def put(text: str) -> None:
                raw.write(text.encode("utf-8"))

            put(
                f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_ODS_NS} '
                'office:version="1.2"><office:body><office:spreadsheet>'
            )
            for sheet in sheets:
                put(f'<table:table table:name="{escape(sheet.name, {chr(34): "&quot;"})}">')
                for row in sheet.rows:
                    put("<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>")
                put("</table:table>")
            put("</office:spreadsheet></office:body></office:document-content>")


def write_csv_sheet(path: Path, sheet: Sheet) -> None:
    """Write one sheet as a UTF-8 CSV file."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for row in sheet.rows:
            w.writerow(["" if v is None else v for v in row])


def write_workbook(path: Path, sheets: list[Sheet], inline_strings: bool = False) -> None:
    """Write sheets in the format the file's suffix names (.xlsx, .ods, or .csv: data sheet only).

    `inline_strings` applies to .xlsx only (see `write_xlsx`).
    """
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        write_xlsx(path, sheets, inline_strings)
    elif suffix == ".ods":
        write_ods(path, sheets)
    elif suffix == ".csv":
        write_csv_sheet(path, sheets[-1])
    else:
        raise ValueError(f"cannot write {path.name}: use .xlsx, .ods or .csv")


def cover_sheet(title: str, lines: Sequence[str]) -> Sheet:
    """A cover sheet: a title and lines of text in the first column."""
    return Sheet("Cover_sheet", [[title], *([line] for line in lines)])


def outcome_rows(records: Iterable[dict], layout: OutcomesLayout) -> Iterable[list[object]]:
    """Header then data rows for an outcomes sheet; records hold the tidy fields as published."""
    fields = list(layout.headers)
    yield [layout.headers[f] for f in fields]
    for rec in records:
        row = []
        for f in fields:
            v = rec.get(f, "")
            if f == "financial_year":
                v = year_text(v, layout.year_style)
            elif f == "quarter":
                v = quarter_text(v, layout.quarter_style)
            elif f == "force":
                v = layout.force_names.get(v, v) + (" " if layout.trailing_spaces else "")
            elif f == "offence_code_expired":
                v = "x" if v else ""
            row.append(v)
        yield row
