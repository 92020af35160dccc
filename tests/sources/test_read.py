"""The readers against files written in every header, value and format variant documented in
homeoffice-format.md, and against the bad inputs a user can meet."""

from __future__ import annotations

import tracemalloc

import pandas as pd
import pytest
from conftest import record, write_outcomes

from analysis.demo.publish import OutcomesLayout, Sheet, write_workbook
from analysis.errors import InputError
from analysis.sources.homeoffice import (
    NUMBER_OF_OUTCOME_HEADERS,
    OLD_OUTCOME_HEADERS,
    OUTCOME_HEADERS,
    read_outcomes,
    read_recorded,
)
from analysis.sources.sheets import ENGINES, sheets_in_order

# "inline" is an .xlsx with inline strings (as streaming writers make) instead of Excel's table
FORMATS = [".xlsx", "inline", ".ods", ".csv"]


def _headers(**changes) -> dict[str, str]:
    h = dict(OUTCOME_HEADERS)
    for k, v in changes.items():
        if v is None:
            del h[k]
        else:
            h[k] = v
    return h


HEADER_VARIANTS = {
    "current": _headers(),
    "expired capitalised": _headers(offence_code_expired="Offence Code Expired"),
    "number of outcomes": _headers(
        recorded_basis="Number of Outcomes for offences that were recorded in the quarter",
        closed_basis="Number of Outcomes for investigations that were closed in the quarter",
    ),
    "older wording": _headers(
        recorded_basis="Force outcomes for offences recorded in quarter",
        closed_basis="Force outcomes recorded in quarter",
    ),
    "no expired column": _headers(offence_code_expired=None),
    "case spacing punctuation": _headers(
        financial_year="FINANCIAL  YEAR",
        force="force name ",
        offence_code="Offence-Code",
        outcome_type="Outcome type",
    ),
    "reversed order": dict(reversed(list(_headers().items()))),
    # the earlier editions as the demo data publish them
    "older edition": dict(OLD_OUTCOME_HEADERS),
    "number-of edition": dict(NUMBER_OF_OUTCOME_HEADERS),
}


def _records():
    return [
        record(otype=0, recorded=7, closed="N/A"),
        record(otype=1, recorded=3, closed=2),
        record(otype=16, recorded=11, closed=-1),
        record(otype=15, recorded="N/A - data not provided", closed=5),
        record(code="8L", otype=1, recorded=40, closed=41),
        record(code="46", otype=1, recorded=99, closed=98),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("variant", list(HEADER_VARIANTS))
def test_header_variants_in_every_format(tmp_path, fmt, variant):
    path = write_outcomes(
        tmp_path / f"outcomes-mar2021{'.xlsx' if fmt == 'inline' else fmt}",
        _records(),
        OutcomesLayout("Outcomes open data 2020_21", HEADER_VARIANTS[variant]),
        inline_strings=fmt == "inline",
    )
    frame, report = read_outcomes(path, offences=("8Q", "8L"))
    assert len(frame) == 5  # the shoplifting row is not kept
    q = frame[frame.offence_code == "8Q"].set_index("outcome_type")
    # the two bases must not be swapped: type 0 exists only on the recorded basis
    assert q.loc[0, "recorded_basis"] == 7 and pd.isna(q.loc[0, "closed_basis"])
    assert q["closed_basis"].isna().tolist() == [True, False, False, False]
    assert q.loc[1, "recorded_basis"] == 3 and q.loc[1, "closed_basis"] == 2
    assert q.loc[16, "closed_basis"] == -1
    assert report.negatives and report.negatives[0]["count"] == -1
    assert report.markers == {"N/A": 1, "N/A - data not provided": 1}
    assert set(frame.financial_year) == {"2020/21"} and set(frame.quarter) == {1}
    assert set(frame.force) == {"Northamptonshire"} and set(frame.force_code) == {"E23000022"}


@pytest.mark.parametrize("year_style,quarter_style", [("dash", "q"), ("long", "word"), ("slash", "int")])
def test_year_and_quarter_styles(tmp_path, year_style, quarter_style):
    lay = OutcomesLayout("Outcomes_open_data_2020_21", year_style=year_style, quarter_style=quarter_style)
    path = write_outcomes(tmp_path / "o-mar2021.xlsx", [record(quarter=3)], lay)
    frame, _ = read_outcomes(path)
    assert frame.loc[0, "financial_year"] == "2020/21" and frame.loc[0, "quarter"] == 3


def test_force_spellings_totals_and_expired_flag(tmp_path):
    lay = OutcomesLayout(
        "Outcomes open data 2022_23",
        trailing_spaces=True,
        force_names={"Devon and Cornwall": "Devon & Cornwall"},
    )
    recs = [
        record(force="Devon and Cornwall", expired=True),
        record(force="London, City of"),
        record(force="England and Wales"),
    ]
    frame, report = read_outcomes(write_outcomes(tmp_path / "o-mar2023.xlsx", recs, lay))
    assert sorted(frame.force) == ["Devon and Cornwall", "London, City of"]
    assert report.total_rows_dropped == 1
    assert report.forces_renamed["Devon & Cornwall "] == "Devon and Cornwall"
    assert frame.set_index("force").loc["Devon and Cornwall", "offence_code_expired"]
    assert not frame.set_index("force").loc["London, City of", "offence_code_expired"]


def test_data_sheet_found_by_header_not_position(tmp_path):
    decoy = Sheet("Pivot", [["Financial Year", "Force Name", "Count"], ["2020/21", "Kent", 1]])
    notes = Sheet("Notes", [["Outcome types"]])
    lay = OutcomesLayout("Sheet1")
    path = write_outcomes(tmp_path / "o-mar2021.xlsx", [record()], lay, extra_sheets=[decoy, notes])
    frame, report = read_outcomes(path)
    assert report.sheets == ["Sheet1"] and len(frame) == 1


def test_header_below_title_rows_keeps_sheet_row_numbers(tmp_path):
    lay = OutcomesLayout("Outcomes open data 2020_21")
    from analysis.demo.publish import outcome_rows

    rows = [
        ["Outcomes open data"],
        [],
        ["Source: Home Office"],
        *outcome_rows([record(), record(otype=2, closed="lots")], lay),
    ]
    path = tmp_path / "o-mar2021.xlsx"
    write_workbook(path, [Sheet(lay.sheet_name, rows)])
    with pytest.raises(InputError) as exc:
        read_outcomes(path)
    msg = str(exc.value)
    assert "row 6" in msg and "lots" in msg and "Outcomes for investigations closed" in msg
    assert "o-mar2021.xlsx" in msg and "Outcomes open data 2020_21" in msg


@pytest.mark.parametrize(
    "bad,expect",
    [
        ({"recorded": "many"}, "text 'many' where a count should be"),
        ({"otype": 23}, "unknown outcome type '23'"),
        ({"otype": "1a"}, "alternate offences"),
        ({"force": "Gotham"}, "Unknown force 'Gotham'"),
        ({"year": "2020"}, "not a financial year"),
        ({"quarter": "Q5"}, "not a financial quarter"),
        ({"closed": 2.5}, "not a whole number"),
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_bad_cells_name_file_sheet_row_and_column(tmp_path, bad, expect, engine):
    path = write_outcomes(tmp_path / "o-mar2021.xlsx", [record(), record(**{"otype": 2, **bad})])
    with pytest.raises(InputError) as exc:
        read_outcomes(path, engine=engine)
    msg = str(exc.value)
    assert expect in msg
    assert "o-mar2021.xlsx" in msg and "row 3" in msg


def test_missing_column_is_named(tmp_path):
    lay = OutcomesLayout("Outcomes open data 2020_21", _headers(closed_basis=None))
    path = write_outcomes(tmp_path / "o-mar2021.xlsx", [record()], lay)
    with pytest.raises(InputError) as exc:
        read_outcomes(path)
    assert "Outcomes for investigations closed in the quarter" in str(exc.value)
    assert "header row 1" in str(exc.value)


def test_two_columns_for_one_field(tmp_path):
    h = _headers()
    h["outcome_group"] = "Offence Code"  # a second column that looks like the offence code
    path = write_outcomes(tmp_path / "o-mar2021.xlsx", [record()], OutcomesLayout("Data", h))
    with pytest.raises(InputError, match="both look like 'Offence Code'"):
        read_outcomes(path)


def test_duplicate_rows_are_an_error(tmp_path):
    path = write_outcomes(
        tmp_path / "o-mar2021.xlsx", [record(force="Devon and Cornwall"), record(force="Devon & Cornwall")]
    )
    with pytest.raises(InputError, match="rows 2 and 3 hold the same"):
        read_outcomes(path)


def test_no_data_sheet(tmp_path):
    path = tmp_path / "o-mar2021.xlsx"
    write_workbook(path, [Sheet("Cover_sheet", [["Nothing here"]]), Sheet("Notes", [["Nor here"]])])
    with pytest.raises(InputError, match="no data sheet found"):
        read_outcomes(path)


def test_not_a_spreadsheet_empty_and_truncated(tmp_path):
    bogus = tmp_path / "o-mar2021.xlsx"
    bogus.write_text("<!DOCTYPE html>\n<html>Service unavailable</html>")
    with pytest.raises(InputError, match=r"not a xlsx workbook: it is an HTML page") as err:
        read_outcomes(bogus)
    assert "\n" not in str(err.value) and "fetch" not in str(err.value)  # one line; not from the cache
    (tmp_path / "snapshots.json").write_text("{}")  # now the folder is the fetch cache
    with pytest.raises(InputError, match=r"HTML page.*run 'stalking-outcomes fetch'"):
        read_outcomes(bogus)
    (tmp_path / "snapshots.json").unlink()
    empty = tmp_path / "e-mar2021.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        read_outcomes(empty)
    good = write_outcomes(tmp_path / "g-mar2021.xlsx", [record()] * 1)
    cut = tmp_path / "t-mar2021.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="it is a truncated or damaged zip archive"):
        read_outcomes(cut)
    named_xls = tmp_path / "x-mar2021.xls"
    named_xls.write_bytes(good.read_bytes())
    with pytest.raises(InputError, match=r"an \.xlsx or \.ods workbook named \.xls"):
        read_outcomes(named_xls)
    txt = tmp_path / "notes.txt"
    txt.write_text("x")
    with pytest.raises(InputError, match="not a spreadsheet"):
        read_outcomes(txt)


@pytest.mark.parametrize("offences", [("8Q",), ("8q", "8L"), None])
def test_selected_and_row_by_row_reading_agree(tmp_path, offences):
    """Workbooks pick their rows from a loaded table; CSVs go row by row: same frame, same report."""
    lay = OutcomesLayout("Outcomes open data 2020_21")
    records = [
        *_records(),
        record(code=" 8Q ", otype=2),
        record(code="", otype=3),
        record(force="England and Wales", otype=4),
    ]
    got = {}
    for fmt in (".xlsx", ".csv"):
        path = write_outcomes(tmp_path / f"o-mar2021{fmt}", records, lay)
        frame, report = read_outcomes(path, offences=offences)
        where_from = ("file", "sha256", "sheets", "header_rows")
        got[fmt] = frame, {k: v for k, v in report.as_dict().items() if k not in where_from}
    pd.testing.assert_frame_equal(got[".xlsx"][0], got[".csv"][0])
    assert got[".xlsx"][1] == got[".csv"][1]
    assert got[".xlsx"][1]["rows_read"] == 8  # every row with an offence code, kept or not


@pytest.mark.parametrize("engine", ENGINES)
def test_leading_blank_rows_keep_sheet_row_numbers(tmp_path, engine):
    lay = OutcomesLayout("Outcomes open data 2020_21")
    from analysis.demo.publish import outcome_rows

    rows = [[], [], *outcome_rows([record(), record(otype=2, recorded="lots")], lay)]
    path = tmp_path / "o-mar2021.xlsx"
    write_workbook(path, [Sheet(lay.sheet_name, rows)])
    with pytest.raises(InputError, match=r"row 5.*lots"):
        read_outcomes(path, engine=engine)


def _read_both(path, offences):
    """The frame and report of a workbook read by each engine."""
    return [read_outcomes(path, offences=offences, engine=e) for e in ENGINES]


@pytest.mark.parametrize("offences", [("8Q", "8L"), None])
def test_engines_agree_on_demo_workbooks(demo, offences):
    """The row-by-row reader (python-calamine) and the whole-sheet Arrow reader (fastexcel) give
    the same table and report for the demo's .xlsx and .ods workbooks."""
    folder, _ = demo
    for name in (
        "synthetic-prc-outcomes-open-data-mar2016-tables-311225.ods",
        "synthetic-prc-outcomes-open-data-mar2021-tables-311225.xlsx",
    ):
        (a, ra), (b, rb) = _read_both(folder / name, offences)
        assert len(a) > 1000
        pd.testing.assert_frame_equal(a, b)
        assert ra.as_dict() == rb.as_dict()


@pytest.mark.parametrize("fmt", [".xlsx", ".ods"])
def test_engines_agree_on_numbers_where_text_is_expected(tmp_path, fmt):
    """calamine gives every number as a float and booleans as bool, the Arrow reader gives their
    text: codes, flags, descriptions and counts written as numbers read alike either way."""
    lay = OutcomesLayout("Outcomes open data 2020_21")
    from analysis.demo.publish import outcome_rows

    recs = [
        record(code=46, otype=1, recorded=3.0, closed="3.0", offence_description=12),
        record(code="46", otype=2.0, recorded="1,204", closed=-2, outcome_group=2.5),
        record(code="8Q", quarter=2.0, recorded=7, closed="N/A", offence_code_expired=True),
    ]
    rows = [["title"], [], *outcome_rows(recs, lay)]
    rows[4][7], rows[5][7] = 0, True  # the expired flag as a number and as a boolean
    path = tmp_path / f"o-mar2021{fmt}"
    write_workbook(path, [Sheet(lay.sheet_name, rows)])
    (a, ra), (b, rb) = _read_both(path, None)
    pd.testing.assert_frame_equal(a, b)
    assert ra.as_dict() == rb.as_dict()
    assert a.offence_code.tolist() == ["46", "46", "8Q"]
    assert a.offence_code_expired.tolist() == [False, False, True]
    assert a.offence_description.tolist()[0] == "12" and a.outcome_group.tolist()[1] == "2.5"
    assert a.recorded_basis.tolist() == [3, 1204, 7] and ra.markers == {"N/A": 1}


@pytest.mark.parametrize(
    "text,expect",
    [
        ("3", 3),
        ("3.0", 3),
        ("1,204", 1204),
        ("-2", -2),
        ("2.5", "not a whole number"),
        ("1e3", "where a count should be"),
        ("nan", "where a count should be"),
    ],
)
def test_counts_written_as_text(tmp_path, text, expect):
    path = write_outcomes(tmp_path / "o-mar2021.xlsx", [record(closed=text)])
    if isinstance(expect, int):
        assert read_outcomes(path)[0].closed_basis.tolist() == [expect]
    else:
        with pytest.raises(InputError, match=expect):
            read_outcomes(path)


def test_all_offences_when_none_requested(tmp_path):
    frame, _ = read_outcomes(write_outcomes(tmp_path / "o.xlsx", _records()), offences=None)
    assert sorted(set(frame.offence_code)) == ["46", "8L", "8Q"]


# --- the PFA recorded-crime table --------------------------------------------------------------


def _pfa_sheet(name, year, count_header, order_old, rows):
    cols = (
        [
            "Financial Year",
            "Financial Quarter",
            "Force Name",
            "Offence Description",
            "Offence Group",
            "Offence Subgroup",
            "Offence Code",
            count_header,
        ]
        if order_old
        else [
            "Financial Year",
            "Financial Quarter",
            "Force Name",
            "Offence Code",
            "Offence Description",
            "Offence Group",
            "Offence Subgroup",
            count_header,
        ]
    )
    out = [cols]
    for force, q, code, n in rows:
        rec = {
            "Financial Year": year,
            "Financial Quarter": q,
            "Force Name": force,
            "Offence Description": "d",
            "Offence Group": "g",
            "Offence Subgroup": "s",
            "Offence Code": code,
            count_header: n,
        }
        out.append([rec[c] for c in cols])
    return Sheet(name, out)


def _pfa_file(tmp_path, suffix=".ods"):
    sheets = [
        Sheet("Cover_sheet", [["PFA tables"]]),
        Sheet("Notes", [["notes"]]),
        _pfa_sheet(
            "2019-20",
            "2019/20",
            "Number of Offences",
            True,
            [
                ("Kent", 1, "8Q", 10),
                ("British Transport Police", 1, "8Q", 2),
                ("Action Fraud", 1, "8Q", 5),
                ("England and Wales", 1, "8Q", 17),
                ("Kent", 1, "46", 300),
            ],
        ),
        _pfa_sheet(
            "2020_21",
            "2020/21",
            "Offence Count",
            False,
            [
                ("Kent", 2, "8Q", 30),
                ("CIFAS", 2, "8Q", 1),
                ("UK Finance", 2, "8Q", 1),
                ("Devon & Cornwall", 2, "8Q", 25),
                ("Kent", 3, "8Q", "N/A"),
            ],
        ),
    ]
    path = tmp_path / f"prc-pfa-mar2013-onwards-tables-230726{suffix}"
    write_workbook(path, sheets)
    return path


@pytest.mark.parametrize("suffix", [".ods", ".xlsx"])
def test_pfa_reader(tmp_path, suffix):
    frame, report = read_recorded(_pfa_file(tmp_path, suffix), offences=("8Q",))
    assert report.sheets == ["2019-20", "2020_21"]
    assert report.sheets_skipped == ["Cover_sheet", "Notes"]
    assert report.non_force_rows_dropped == {"Action Fraud": 1, "CIFAS": 1, "UK Finance": 1}
    assert report.total_rows_dropped == 1
    got = {(r.financial_year, r.quarter, r.force): r.offences for r in frame.itertuples()}
    assert got[("2019/20", 1, "Kent")] == 10
    assert got[("2019/20", 1, "British Transport Police")] == 2
    assert got[("2020/21", 2, "Devon and Cornwall")] == 25
    assert pd.isna(got[("2020/21", 3, "Kent")])
    assert len(frame) == 5
    assert report.columns["offences"] == "Number of Offences"
    assert report.columns["offences (2020_21)"] == "Offence Count"


def test_pfa_missing_count_column(tmp_path):
    sheet = Sheet(
        "2020_21",
        [["Financial Year", "Financial Quarter", "Force Name", "Offence Code"], ["2020/21", 1, "Kent", "8Q"]],
    )
    path = tmp_path / "prc-pfa-x.ods"
    write_workbook(path, [sheet])
    with pytest.raises(InputError, match="Number of Offences"):
        read_recorded(path)


@pytest.mark.slow
def test_large_ods_is_streamed_not_loaded(tmp_path):
    n = 60_000
    rows = [["Financial Year", "Financial Quarter", "Force Name", "Offence Code", "Offence Count"]]
    rows += [["2020/21", 1 + i % 4, "Kent", f"X{i % 500}", i] for i in range(n)]
    rows += [["2020/21", 1, "Kent", "8Q", 123]]
    path = tmp_path / "prc-pfa-big.ods"
    write_workbook(path, [Sheet("2020_21", rows)])
    sheet, rows = next(sheets_in_order(path))
    assert sheet == "2020_21" and not isinstance(rows, list)  # a generator, row by row
    tracemalloc.start()
    frame, report = read_recorded(path, offences=("8Q",))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.rows_read == n + 1 and len(frame) == 1 and frame.offences.iloc[0] == 123
    # the sheet's cells would take tens of MB as Python objects; streaming holds a row at a time
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("inline", [False, True])
def test_xlsx_string_storage(tmp_path, inline):
    """Generated .xlsx files keep text in a shared-string table, as Excel writes it, unless asked."""
    import zipfile

    path = write_outcomes(tmp_path / "o-mar2021.xlsx", _records(), inline_strings=inline)
    with zipfile.ZipFile(path) as zf:
        sheet_xml = zf.read("xl/worksheets/sheet2.xml").decode()
        assert ("xl/sharedStrings.xml" in zf.namelist()) is not inline
    assert ('t="inlineStr"' in sheet_xml) is inline
    assert len(read_outcomes(path, offences=("8Q",))[0]) == 4
