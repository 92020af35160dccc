"""The decomposition as documented: entering and exiting forces wholly in the mix term,
incomplete force-years annualised, units other than forces (offences), and an
overdispersion-aware bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.stats import decompose


def _panel(rows: list[tuple]) -> pd.DataFrame:
    cols = ["force", "financial_year", "charged_closed", "outcomes_closed", "quarters_with_outcomes"]
    return pd.DataFrame([r if len(r) == 5 else (*r, 4) for r in rows], columns=cols)


def _terms(d: decompose.Decomposition) -> pd.Series:
    return d.summary.set_index("component")["estimate"]


def test_an_entering_force_is_wholly_mix():
    """Two forces with unchanged rates and one entering: the change is all mix (the old code put
    100% of it into 'within', taking the entering force's rate as 0 the year before)."""
    p = _panel(
        [
            ("A", "2019/20", 10, 100),
            ("B", "2019/20", 20, 100),
            ("A", "2020/21", 10, 100),
            ("B", "2020/21", 20, 100),
            ("C", "2020/21", 50, 100),
        ]
    )
    d = decompose.decompose(p, "2019/20", "2020/21", reps=200)
    t = _terms(d)
    assert t["total change"] == pytest.approx(80 / 300 - 30 / 200)
    assert t["between (mix)"] == pytest.approx(t["total change"]) and t["within (rate)"] == pytest.approx(0)
    c = d.forces.set_index("force").loc["C"]
    assert c["present"] == "2020/21 only" and c["within"] == 0 and c["rate_from"] == c["rate_to"] == 0.5


def test_an_exiting_force_is_wholly_mix():
    p = _panel([("A", "2019/20", 10, 100), ("B", "2019/20", 50, 100), ("A", "2020/21", 10, 100)])
    t = _terms(decompose.decompose(p, "2019/20", "2020/21", reps=50))
    assert t["within (rate)"] == pytest.approx(0) and t["between (mix)"] == pytest.approx(0.1 - 0.3)


def test_a_missing_quarter_does_not_move_a_share():
    """A force with one quarter published in the first year: annualised, its share is as in a
    full year, so with unchanged rates nothing is mix; unannualised, a spurious mix appears."""
    rows = [
        ("A", "2019/20", 10, 100, 4),
        ("B", "2019/20", 5, 25, 1),  # one quarter of a force that closes 100 a year
        ("A", "2020/21", 10, 100, 4),
        ("B", "2020/21", 20, 100, 4),
    ]
    d = decompose.decompose(_panel(rows), "2019/20", "2020/21", reps=50)
    assert _terms(d)["between (mix)"] == pytest.approx(0) and _terms(d)["total change"] == pytest.approx(0)
    assert d.summary["annualised"].iloc[0] == "B 2019/20 (1 of 4 quarters)"
    raw = decompose.decompose(_panel(rows), "2019/20", "2020/21", quarters=None, reps=50)
    assert abs(_terms(raw)["between (mix)"]) > 0.01


def test_by_offence_unit_and_exact_additivity():
    p = pd.DataFrame(
        {
            "offence_code": ["8Q", "8L", "8Q", "8L"],
            "financial_year": ["2019/20", "2019/20", "2020/21", "2020/21"],
            "charged_closed": [100, 900, 300, 600],
            "outcomes_closed": [1000, 6000, 4000, 5000],
        }
    )
    d = decompose.decompose(p, "2019/20", "2020/21", unit="offence_code", quarters=None, reps=100)
    t = _terms(d)
    assert t["between (mix)"] + t["within (rate)"] == pytest.approx(t["total change"], abs=1e-15)
    assert (d.summary["unit"] == "offence_code").all() and set(d.forces["offence_code"]) == {"8Q", "8L"}


def test_overdispersion_widens_the_bootstrap_interval():
    rows = [
        (f, y, 30 + 3 * i, 600 + 40 * i) for i, f in enumerate("ABCDEFGH") for y in ("2019/20", "2020/21")
    ]
    p = _panel(rows)
    width = {}
    for phi in (1.0, 4.0):
        s = decompose.decompose(p, "2019/20", "2020/21", phi=phi, reps=4000).summary.set_index("component")
        width[phi] = s.loc["within (rate)", "ci_high"] - s.loc["within (rate)", "ci_low"]
    # variance x4 -> interval about x2 wider (Monte Carlo error of a 4000-draw quantile is small)
    assert 1.7 < width[4.0] / width[1.0] < 2.3
    with pytest.raises(InputError, match="phi"):
        decompose.decompose(p, "2019/20", "2020/21", phi=0.5)


def _quarters(rates: dict[tuple[str, int], tuple[int, int]]) -> pd.DataFrame:
    rows = []
    for (force, q), (x, n) in rates.items():
        rows.append((force, "2019/20", q, "8Q", 1, x))
        rows.append((force, "2019/20", q, "8Q", 14, n - x))
    return pd.DataFrame(
        rows, columns=["force", "financial_year", "quarter", "offence_code", "outcome_type", "closed_basis"]
    )


def test_quarterly_dispersion_is_one_for_steady_rates_and_large_for_swings():
    steady = _quarters({(f, q): (10, 100) for f in "AB" for q in (1, 2, 3, 4)})
    assert decompose.quarterly_dispersion(steady, "8Q", ("2019/20",)) == 1.0
    swings = _quarters({(f, q): (2 if q % 2 else 38, 200) for f in "AB" for q in (1, 2, 3, 4)})
    phi = decompose.quarterly_dispersion(swings, "8Q", ("2019/20",))
    # quarters at 1% and 19% around 10%: chi2 per quarter = 18^2 / (200 * .1 * .9) = 18
    assert phi == pytest.approx(4 * 18 / 3)
    rng = np.random.default_rng(0)
    binom = _quarters(
        {(f, q): (int(rng.binomial(400, 0.1)), 400) for f in "ABCDEFGHIJ" for q in (1, 2, 3, 4)}
    )
    assert decompose.quarterly_dispersion(binom, "8Q", ("2019/20",)) < 1.8
