"""Follow-up under a republication's count (analysis.stats.link_panel.follow_ups) and the rule
that keeps the primary to years followed two years (link.Basis.min_follow_up), with the words the
headline prints about the years it compares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.reports import link_text
from analysis.stats import link
from analysis.stats.link_panel import _delays_from_pooled, counted_as, follow_ups, link_panel

YEARS = ["2022/23", "2023/24", "2024/25"]


def test_follow_ups_under_each_count():
    # counted to one date a quarter after the last year ends: quarter 4 of the last year has had
    # one quarter, quarter 1 four; each earlier year four more
    f = follow_ups(YEARS, lag=1)
    assert f[-1].tolist() == [4, 3, 2, 1] and f[-2].tolist() == [8, 7, 6, 5] and f[0, 3] == 9
    with counted_as("year"):  # each year a quarter after its own end: all alike
        assert (follow_ups(YEARS, lag=1) == [4, 3, 2, 1]).all()
    # a republication in the middle of the last year (its quarters 1-2 published)
    part = follow_ups(YEARS, lag=1, last_quarter=2)
    assert part[-1, :2].tolist() == [2, 1] and part[-2, 3] == 3
    with pytest.raises(ValueError), counted_as("whenever"):
        pass


def _panel(follow: dict[str, int]) -> pd.DataFrame:
    rows = []
    for year, fu in follow.items():
        for force in ("A", "B"):
            rows.append(
                {
                    "force": force,
                    "financial_year": year,
                    "post": int(year >= "2020/21"),
                    "complete_year": True,
                    "cohort_follow_up": fu,
                    "charged_recorded": 10,
                    "assigned_recorded": 100,
                }
            )
    return pd.DataFrame(rows)


def test_the_primary_keeps_years_followed_two_years_and_says_which_it_left_out():
    years = {"2019/20": 21, "2020/21": 17, "2021/22": 13, "2022/23": 9, "2023/24": 5, "2024/25": 1}
    d = _panel(years)
    kept = sorted(link.PRIMARY.sample(d)["financial_year"].unique())
    assert kept == ["2019/20", "2020/21", "2021/22", "2022/23"]
    alike = _panel(dict.fromkeys(years, 1))  # counted per year: the rule does not bind
    assert link.PRIMARY.sample(alike)["financial_year"].nunique() == len(years)
    # too few years after the break: the best-followed one is compared, and the words say so
    few = _panel({"2018/19": 9, "2019/20": 5, "2020/21": 1})
    assert sorted(link.PRIMARY.sample(few)["financial_year"].unique()) == ["2018/19", "2019/20", "2020/21"]
    words = link_text._post_years({"post_years": ["2020/21"], "maturing_left_out": [], "post_follow_up": 1})
    assert "no year after the break has yet been followed two years" in words
    words = link_text._post_years(
        {"post_years": ["2020/21", "2022/23"], "maturing_left_out": ["2023/24"], "post_follow_up": 9}
    )
    assert words == (
        "offences recorded from 2020/21 to 2022/23; 2023/24, whose outcomes are still arriving, is left out"
    )


def test_on_the_demo_the_primary_and_the_spline_leave_out_the_two_latest_years(demo):
    data = demo[1]
    d = link.usable(link_panel(data.outcomes, data.recorded))
    assert d.groupby("financial_year")["cohort_follow_up"].first().to_dict()["2024/25"] == 1
    kept = set(link.primary_sample(d)["financial_year"])
    assert "2022/23" in kept and not {"2023/24", "2024/25"} & kept
    spline = link.PRIMARY.sample(d[[c for c in link._SPLINE_COLUMNS if c in d]])
    assert set(spline["financial_year"]) == kept


def test_delays_survive_a_follow_up_no_cohort_had_and_refuse_none():
    true = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    cdf = np.cumsum(true)
    follow = np.array([1, 2, 4, 5])  # no cohort followed 3 quarters (a year missing everywhere)
    g = _delays_from_pooled(follow, 1000 * (1 - cdf[follow]), np.full(4, 1000.0), 12)
    assert np.isfinite(g).all() and g.sum() == pytest.approx(1.0)
    assert np.cumsum(g)[[1, 2, 4, 5]] == pytest.approx(cdf[[1, 2, 4, 5]])
    with pytest.raises(InputError, match="no quarter with offences"):
        _delays_from_pooled(np.array([], dtype=int), np.array([]), np.array([]), 12)
