"""Implausible counts are refused at ingest (or accepted on request and recorded), a file's year
must match its name, and a count beyond 64 bits is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import record, write_outcomes

from analysis.cli import main
from analysis.errors import InputError
from analysis.sources import ingest, plausibility
from analysis.sources.homeoffice import read_outcomes

FORCES = ("Kent", "Surrey", "Essex", "Cumbria")
YEARS = ("2019/20", "2020/21", "2021/22")


def _source(folder: Path, bad: dict | None = None, named: dict[str, str] | None = None) -> Path:
    """Three years of outcomes for four forces; `bad` replaces one Kent 2020/21 Q2 type-1 cell;
    `named` writes a year's rows into a file named for another year."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, year in enumerate(YEARS):
        recs = [
            record(
                force=f, year=year, quarter=q, otype=t, recorded=10 * (j + 1) + i + q, closed=8 * (j + 1) + t
            )
            for j, f in enumerate(FORCES)
            for q in (1, 2, 3, 4)
            for t in (1, 14, 18)
        ]
        if bad and year == "2020/21":
            for r in recs:
                if r["force"] == "Kent" and r["quarter"] == 2 and r["outcome_type"] == 1:
                    r.update(bad)
        label = (named or {}).get(year, year)
        write_outcomes(folder / f"prc-outcomes-open-data-mar20{label[-2:]}-tables.csv", recs)
    return folder


def test_plausible_data_pass(tmp_path):
    v = ingest.ingest(str(_source(tmp_path / "src")), tmp_path / "store")
    assert v["plausibility"]["outliers_accepted"] == []


def test_a_huge_cell_is_refused_naming_it_and_its_neighbours(tmp_path, capsys):
    src = _source(tmp_path / "src", bad={"closed_basis": 10**12})
    store = tmp_path / "store"
    assert main(["ingest", "--source", str(src), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    # the file and the row the cell is in (a CSV has no sheet to name)
    assert "mar2021-tables.csv, row 5: Kent 2020/21 Q2, stalking (8Q), outcome type 1, closed basis" in err
    assert "1,000,000,000,000 is far outside" in err
    assert "2019/20 9, 2021/22 9" in err  # the same cell in the neighbouring years
    assert "--accept-outliers" in err and "Traceback" not in err
    assert not store.exists()  # nothing written

    assert main(["ingest", "--source", str(src), "--store", str(store), "--accept-outliers"]) == 0
    assert "ACCEPTED OUTLIER" in capsys.readouterr().out
    accepted = json.loads((store / "quality.json").read_text())["plausibility"]["outliers_accepted"]
    assert [o["value"] for o in accepted] == [10**12] and "Kent 2020/21 Q2" in accepted[0]["where"]


def test_a_negative_force_year_total_is_always_an_error(tmp_path):
    src = _source(tmp_path / "src", bad={"closed_basis": -100000})
    with pytest.raises(
        InputError, match=r"Kent 2020/21, offence 8Q: the closed basis counts add up to -9"
    ) as exc:
        ingest.ingest(str(src), tmp_path / "store", accept_outliers=True)
    # the file (a CSV has no sheet) and the row of the most negative cell
    message = str(exc.value)
    assert message.startswith("file prc-outcomes-open-data-mar2021-tables.csv: Kent 2020/21")
    assert "the most negative cell is row 5, Q2, outcome type 1: -100,000" in message
    assert "sheet" not in message


def test_a_small_negative_correction_is_kept(tmp_path):
    v = ingest.ingest(str(_source(tmp_path / "src", bad={"closed_basis": -3})), tmp_path / "store")
    assert v["plausibility"]["outliers_accepted"] == []


def test_a_tripling_after_april_2020_is_not_an_outlier(tmp_path):
    """The real change the package studies must pass: five times the force's other years."""
    v = ingest.ingest(
        str(_source(tmp_path / "src", bad={"closed_basis": 45, "recorded_basis": 60})), tmp_path / "s"
    )
    assert v["plausibility"]["outliers_accepted"] == []
    assert plausibility.outliers(*_frames(tmp_path / "s")).empty


def _frames(store: Path):
    from analysis.sources.store import load_store

    st = load_store(store)
    return st.outcomes, st.recorded


def test_a_file_whose_rows_are_for_another_year_is_refused(tmp_path):
    src = _source(tmp_path / "src", named={"2021/22": "2022/23"})
    with pytest.raises(InputError, match=r"named for 2022/23 .* holds rows for 2021/22") as exc:
        ingest.ingest(str(src), tmp_path / "store")
    # the file, and the first row of the other year (after the header); a CSV has no sheet
    assert str(exc.value).startswith("file prc-outcomes-open-data-mar2023-tables.csv is named for 2022/23")
    assert "holds rows for 2021/22 (the first in row 2)" in str(exc.value)


def test_an_outlier_in_a_csv_names_the_file_and_row(tmp_path):
    src = _source(tmp_path / "src", bad={"recorded_basis": 10**12})
    with pytest.raises(InputError) as exc:
        ingest.ingest(str(src), tmp_path / "store")
    assert str(exc.value).startswith(
        "file prc-outcomes-open-data-mar2021-tables.csv, row 5: Kent 2020/21 Q2, stalking (8Q), "
        "outcome type 1, recorded basis: 1,000,000,000,000 is far outside"
    )


def test_a_count_beyond_64_bits_is_a_clear_error(tmp_path):
    path = write_outcomes(tmp_path / "o-mar2021.csv", [record(closed="99999999999999999999")])
    with pytest.raises(InputError, match=r"99,999,999,999,999,999,999 is too large to be a count"):
        read_outcomes(path)
