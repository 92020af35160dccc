"""The nowcast of recent years' final charge rates (analysis.stats.nowcast): its arithmetic on
hand-made editions, and what it recovers on the generator's editions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import outputs
from analysis.demo import editions, generator
from analysis.stats import method_study, nowcast
from analysis.stats.measures import NATIONAL

SMALL = {"first_year": "2019/20", "pfa_first_year": "2018/19", "last_year": "2023/24"}


def _outcomes(cells: dict[tuple[str, int], dict[int, int]], force: str = "Cumbria") -> pd.DataFrame:
    """A stalking outcomes table from {(year, quarter): {outcome type: recorded-basis count}}."""
    rows = [
        {
            "financial_year": y,
            "quarter": q,
            "force": force,
            "offence_code": "8Q",
            "outcome_type": t,
            "recorded_basis": float(n),
        }
        for (y, q), types in cells.items()
        for t, n in types.items()
    ]
    return pd.DataFrame(rows)


def test_a_cohorts_age_counts_quarters_from_its_own_to_the_editions():
    assert nowcast.as_at_index("2025-12-31") == 2025 * 4 + 2  # Oct-Dec 2025: 2025/26's third quarter
    assert nowcast.as_at_index("2026-03-31") == 2025 * 4 + 3
    assert nowcast.as_at_index("2025-04-01") == 2025 * 4
    idx = nowcast.quarter_index(pd.Series(["2024/25"]), pd.Series([4]))
    assert nowcast.as_at_index("2025-06-30") - idx[0] == 1  # Jan-Mar 2025 is one quarter old in Apr-Jun


def test_one_edition_projects_the_unassigned_at_the_share_charged_among_the_assigned():
    one = _outcomes({("2024/25", 4): {0: 20, 1: 8, 16: 72}})
    t = nowcast.nowcast([nowcast.Edition("2025-06-30", one)])
    row = t[t["force"] == "Cumbria"].iloc[0]
    assert row["method"] == nowcast.ONE_EDITION and row["editions_used"] == 1
    assert row["charged_recorded"] == 8 and row["charge_rate_recorded"] == pytest.approx(0.08)
    assert row["charged_expected"] == pytest.approx(10.0)  # 8 + 20 x 8/80
    sd = np.sqrt(20 * 0.1 * 0.9 + 20**2 * 0.1 * 0.9 / 80)  # the 20's own noise and the share's
    assert row["charged_expected_high"] == pytest.approx(10 + 1.959964 * sd, rel=1e-5)
    assert row["charged_expected_low"] == pytest.approx(max(8, 10 - 1.959964 * sd), rel=1e-5)
    assert row["share_published"] == pytest.approx(0.8)
    assert list(t.columns) == list(outputs.NOWCAST.columns)
    assert set(t["force"]) == {"Cumbria", NATIONAL}


def test_a_year_with_nothing_left_to_come_is_not_projected():
    done = _outcomes({("2024/25", 4): {0: 0, 1: 8, 16: 92}})
    assert nowcast.nowcast([nowcast.Edition("2025-06-30", done)]).empty


def test_two_editions_chain_their_development_factors():
    """Jan-Mar 2025's charges grow 10 -> 18 from age 1 to 2, Oct-Dec 2024's 18 -> 20 from age 2
    to 3: in the later edition the first (age 2) is projected at 18 x 20/18 and the second,
    older than any growth seen, stays at 20."""
    a = _outcomes({("2024/25", 3): {0: 82, 1: 18}, ("2024/25", 4): {0: 90, 1: 10}})
    b = _outcomes({("2024/25", 3): {0: 80, 1: 20}, ("2024/25", 4): {0: 82, 1: 18}})
    held = [nowcast.Edition("2025-06-30", a), nowcast.Edition("2025-09-30", b)]
    dev = nowcast.development(held)
    assert dev.to_final[1] == pytest.approx(1.8 * 20 / 18) and dev.to_final[2] == pytest.approx(20 / 18)
    t = nowcast.nowcast(held)
    row = t[t["force"] == "Cumbria"].iloc[0]
    assert row["method"] == nowcast.EDITIONS and row["editions_used"] == 2
    assert row["charged_expected"] == pytest.approx(40.0)
    assert row["force_multiplier"] == 1.0  # one force: nothing to tell it from the national factors


@pytest.fixture(scope="module")
def demo_editions() -> tuple[list[nowcast.Edition], dict]:
    cfg = generator.load_config(overrides=SMALL)
    dates = editions.edition_dates(cfg, 3)
    datas = [generator.simulate(editions.edition_config(cfg, k + 1, d)) for k, d in enumerate(dates)]
    held = [nowcast.Edition(d.isoformat(), x.outcomes) for d, x in zip(dates, datas)]
    return held, datas[0].truth


def test_on_the_generators_editions_recent_years_are_projected_to_their_eventual_rate(demo_editions):
    held, truth = demo_editions
    t = nowcast.nowcast(held, synthetic=True)
    assert set(t["method"]) == {nowcast.EDITIONS}
    years = sorted(t["financial_year"].unique())
    assert years[-1] == "2023/24" and "2019/20" not in years  # old years are mature: no row
    forces, nat = t[t["force"] != NATIONAL], t[t["force"] == NATIONAL]
    for y, g in forces.groupby("financial_year"):
        n = nat[nat["financial_year"] == y].iloc[0]
        assert g["charged_recorded"].sum() == n["charged_recorded"]
        assert g["charged_expected"].sum() == pytest.approx(n["charged_expected"])
    assert (t["charged_expected_low"] <= t["charged_expected"]).all()
    assert (t["charged_expected"] <= t["charged_expected_high"]).all()
    assert (t["charged_expected"] >= t["charged_recorded"]).all()
    eventual = method_study._eventual_rates(held[-1], truth["eventual_charges"]["forces"])
    scored = forces.merge(eventual, on=["force", "financial_year"])
    held_in = (scored["charge_rate_expected_low"] <= scored["eventual_rate"]) & (
        scored["eventual_rate"] <= scored["charge_rate_expected_high"]
    )
    assert held_in.mean() >= 0.85
    # the projection is closer to the eventual rate than the rate as published
    err = (scored["charge_rate_expected"] - scored["eventual_rate"]).abs().mean()
    naive = (scored["charge_rate_recorded"] - scored["eventual_rate"]).abs().mean()
    assert err < naive / 2


def test_the_latest_edition_alone_uses_the_one_edition_method(demo_editions):
    held, _ = demo_editions
    t = nowcast.nowcast(held[-1:])
    assert set(t["method"]) == {nowcast.ONE_EDITION} and set(t["editions_used"]) == {1}


def test_the_nowcast_battery_scores_both_methods_and_the_rate_as_published():
    records = method_study.one_replicate((0, {"seed": 7, **SMALL}, None, "baseline", "nowcast"))
    got = {(r["estimator"], r["parameter"]) for r in records}
    assert (
        "nowcast_editions",
        "share of force-years whose 95% interval holds the eventual charge rate",
    ) in got
    assert ("nowcast_one_edition", "mean error of the rate as published (points)") in got
    published = [
        r["estimate"] for r in records if r["parameter"] == "mean error of the rate as published (points)"
    ]
    assert published[0] < 0  # as published, a maturing year's rate is too low


def test_the_link_batteries_keep_the_recorded_basis_their_tables_were_made_with(monkeypatch):
    seen = []
    real = generator.simulate

    def spy(cfg, offences=None):
        seen.append(cfg["recorded_basis_as_at"])
        return real(cfg, offences)

    monkeypatch.setattr(generator, "simulate", spy)
    method_study.one_replicate((0, {"seed": 7}, None, "baseline", "primary"))
    assert seen == [method_study.LINK_AS_AT] and generator.load_config()["recorded_basis_as_at"] == "edition"
