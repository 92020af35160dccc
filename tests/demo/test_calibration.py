"""The demo's force sizes follow a real file: the packaged 2017/18 counts are the real PFA
extract's, and the generated 2017/18 volumes per force follow them (gamma-Poisson noise apart)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.demo import calibration, generator
from analysis.errors import InputError

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "prc-pfa-mar2013-onwards-tables201718.csv"
PACKAGED = "calibration_2017_18.csv"


@pytest.fixture(scope="module")
def sim(demo) -> generator.SyntheticData:
    return demo[1]  # the default config's data (conftest)


def _by_force(recorded: pd.DataFrame, year: str = "2017/18") -> pd.Series:
    rows = recorded[recorded.financial_year == year]
    return rows.groupby(["force", "offence_code"])["offences"].sum().astype(float)


def test_packaged_counts_are_the_real_extract_summed():
    cfg = generator.default_config()
    derived = calibration.derive(REAL, {s: cfg[s]["code"] for s in generator.SERIES})
    assert derived.equals(calibration.packaged(PACKAGED))  # tools/calibration.py wrote it
    assert len(derived) == 44 * 3  # 43 territorial forces and British Transport Police


def test_demo_2017_18_volumes_follow_the_real_file(sim):
    real = calibration.packaged(PACKAGED).set_index(["force", "offence_code"])["offences"].astype(float)
    ours = _by_force(sim.recorded)
    both = pd.DataFrame({"demo": ours, "real": real}).dropna()
    assert len(both) == 43 * 3  # the demo drops BTP from its PFA table after 2014/15 (a documented quirk)
    for code, g in both.groupby(level="offence_code"):
        # uncalibrated (population x random recording effects) this reads 0.69-0.87
        assert np.corrcoef(np.log1p(g.demo), np.log1p(g.real))[0, 1] > 0.98, code
        big = g[g.real >= 200]  # around 8% noise on a year at the generator's dispersion
        assert ((big.demo / big.real).between(0.7, 1.4)).all(), big[~(big.demo / big.real).between(0.7, 1.4)]


def test_national_totals_and_truth_record_the_calibration(sim):
    cfg, truth = generator.default_config(), sim.truth
    cal = truth["calibration"]
    real = calibration.packaged(PACKAGED).groupby("offence_code")["offences"].sum()
    assert cal["real_total"] == {code: int(n) for code, n in real.items()}
    assert cal["forces"]["Northamptonshire"] == {
        code: int(n)
        for code, n in calibration.packaged(PACKAGED)
        .query("force == 'Northamptonshire'")
        .set_index("offence_code")["offences"]
        .items()
    }
    expected = truth["national"]["expected_recorded"]
    for s in generator.SERIES:
        code = cfg[s]["code"]
        assert expected[code]["2017/18"] == pytest.approx(real[code])
        old = cfg[s]["recorded"]
        ratio = 1.0 if s == "stalking" else real[code] / old["2017/18"]
        # stalking keeps its published figures; the illustrative series keep their shape
        assert expected[code]["2019/20"] == pytest.approx(old["2019/20"] * ratio, rel=1e-6)
    assert truth["config"]["calibration"]["file"] == PACKAGED


def test_calibration_off_draws_sizes_from_population():
    data = generator.simulate(generator.load_config(None, {"calibration": {"file": ""}}))
    assert data.truth["calibration"] is None
    assert data.truth["national"]["expected_recorded"]["8L"]["2017/18"] == pytest.approx(160000.0)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"file": "nope.csv"}, "'nope.csv' is not a calibration file"),
        ({"year": "2030/31"}, "is not a year of [stalking].recorded"),
        ({"scaled": ["burglary"]}, "burglary is not a series"),
    ],
)
def test_bad_calibration_config_is_named(over, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        generator.load_config(None, {"calibration": over})
