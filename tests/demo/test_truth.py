"""The generator's truth for closed-basis rates: each recording cohort's charge probability,
weighted by the closures it supplies to the year."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.demo import generator
from analysis.domain import forces, periods


def test_closed_year_probability_weights_cohorts_by_their_closures():
    years = ["2019/20", "2020/21"]
    grid = generator._Grid(forces.registry()[:1], years, years, {y: periods.fy_start(y) for y in years})
    by_delay = np.zeros((8, 1, 3, 5), dtype=np.int64)  # recorded quarter, force, type, delay
    by_delay[3, 0, 1, 1] = 30  # Q4 2019/20: 30 closed a quarter later, in 2020/21
    by_delay[4, 0, 2, 0] = 10  # Q1 2020/21: 10 closed at once
    by_delay[0, 0, 2, 0] = 50  # Q1 2019/20: 50 closed at once, in 2019/20
    p = np.array([[0.2], [0.05]])  # the 2019/20 and 2020/21 cohorts' charge probabilities
    got = generator._closed_charge_probability(grid, by_delay, p)
    assert got[0, 0] == pytest.approx(0.2)
    assert got[1, 0] == pytest.approx((30 * 0.2 + 10 * 0.05) / 40)  # mostly the older cohort


def test_truth_has_the_closed_year_probability_for_every_force():
    truth = generator.simulate(generator.load_config()).truth
    kent = truth["forces"]["Kent"]
    assert set(kent["charge_probability_closed"]) == set(kent["charge_probability"])
    # after the fall in charge rates, closures still come partly from older, higher-rate cohorts
    assert kent["charge_probability_closed"]["2021/22"] > kent["charge_probability"]["2021/22"]
