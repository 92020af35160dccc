"""The PFA reader on a real Home Office file: an extract of the 2017/18 police recorded crime
PFA table (CSV export; see tests/data/real/README.md), checked against an independent read of
the same file with the csv module."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import pytest

from analysis.domain import forces, taxonomy
from analysis.sources.homeoffice import read_recorded

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
PFA = REAL / "prc-pfa-mar2013-onwards-tables201718.csv"
PFA_SHA256 = "52f127b8568259717bd4d20a405bf500adb02e784f72b9606a4e4a788a2aa576"
CODES = taxonomy.DEFAULT_OFFENCES  # 8Q, 8L and the comparison set: 46, 105A, 58C
FRAUD_BODIES = {"Action Fraud": 4, "CIFAS": 4, "UK Finance": 3}


def _independent(path: Path) -> dict[tuple[str, str, str], int]:
    """(year, force, code) -> sum of the quarters, read without the package: counts stripped of
    their padding, '-00' read as zero."""
    totals: Counter = Counter()
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = row["Number of Offences"].strip()
            n = 0 if text == "-00" else int(text)
            totals[row["Financial Year"], row["Force Name"], row["Offence Code"]] += n
    return dict(totals)


@pytest.fixture(scope="module")
def read():
    return read_recorded(PFA)


def test_fixture_is_the_recorded_extract():
    data = PFA.read_bytes()
    assert hashlib.sha256(data).hexdigest() == PFA_SHA256  # not re-saved by an editor
    assert b"\r" not in data and b",-00 \n" in data and b", 66776 \n" in data


def test_totals_per_force_match_an_independent_read(read):
    frame, _ = read
    truth = _independent(PFA)
    assert set(frame.financial_year) == {"2017/18"}
    assert set(frame.quarter) == {1, 2, 3, 4}
    ours = frame.groupby(["force", "offence_code"])["offences"].sum()
    territorial = forces.territorial()
    assert len(territorial) == 43
    for force in territorial:
        for code in CODES:
            assert ours[force.name, code] == truth["2017/18", force.name, code], (force.name, code)
    # British Transport Police is kept, as a force with no area code: 43 territorial + BTP
    assert frame.force.nunique() == 44
    assert set(frame.force) - {f.name for f in territorial} == {forces.BTP}
    assert set(frame.loc[frame.force == forces.BTP, "force_code"]) == {""}
    for code in CODES:
        assert ours[forces.BTP, code] == truth["2017/18", forces.BTP, code]
    assert len(frame) == 44 * len(CODES) * 4
    assert frame.offences.notna().all()


def test_dash_zero_is_zero_not_missing(read):
    frame, report = read
    row = frame[(frame.force == "London, City of") & (frame.quarter == 4) & (frame.offence_code == "8Q")]
    assert row.offences.tolist() == [0]  # published as '-00 '
    assert not report.markers and not report.negatives


def test_non_force_rows_are_dropped_and_counted():
    # by default the fraud bodies' rows are dropped on their codes, before their names are seen
    _, report = read_recorded(PFA)
    assert report.rows_read == 897 and report.rows_kept == 880 == 44 * len(CODES) * 4
    assert not report.non_force_rows_dropped and report.total_rows_dropped == 0
    # asked for their codes too, they are dropped by name and counted
    frame, report = read_recorded(PFA, offences=(*CODES, "AF", "CIFAS", "UK Finance"))
    assert dict(report.non_force_rows_dropped) == FRAUD_BODIES
    assert report.rows_kept == len(frame) == 880
    assert not set(FRAUD_BODIES) & set(frame.force)


def test_financial_fraud_action_uk_is_a_non_force_row():
    frame, report = read_recorded(PFA, offences=("FFA UK",))
    assert frame.empty and dict(report.non_force_rows_dropped) == {"Financial Fraud Action UK": 1}


def test_negative_count_is_kept_and_reported():
    frame, report = read_recorded(PFA, offences=("8M",))
    assert frame.offences.tolist() == [-1]
    assert [(n["force"], n["offence_code"], n["count"]) for n in report.negatives] == [
        ("Humberside", "8M", -1)
    ]


def test_not_flagged_as_generated(read):
    _, report = read
    assert report.generated is False
    assert report.columns == {"offences": "Number of Offences"}


def test_national_stalking_total(read):
    frame, _ = read
    truth = _independent(PFA)
    names = {f.name for f in forces.territorial()}
    stalking = frame[(frame.offence_code == "8Q") & frame.force.isin(names)]
    ours = int(stalking.offences.sum())
    theirs = sum(n for (year, force, code), n in truth.items() if code == "8Q" and force in names)
    assert ours == theirs > 0
    # the published headline: about 10,200 stalking offences in England and Wales in 2017/18
    assert 9_000 < ours < 11_500
