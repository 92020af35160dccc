"""The rules every estimator and page applies (analysis.domain.rules), and that the estimators
and pages go through them: a force-year that cannot be compared is left out and named, never
compared and never a reason to stop everyone else; an offence's name is what titles say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import outputs, paths
from analysis.domain import rules
from analysis.reports import sections, site
from analysis.sources.store import Store, load_store


def _panel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "financial_year": ["2019/20"] * 4 + ["2020/21"] * 4,
            "force": ["A", "B", "C", "D"] * 2,
            "charged_closed": [5, np.nan, 3, 0, 6, 7, 2, 1],
            "outcomes_closed": [50, 40, 0, 10, 60, 70, 20, 10],
        }
    )


def test_closed_in_year_leaves_out_and_names_what_cannot_be_compared():
    sel = rules.closed_in_year(_panel(), "2019/20")
    assert list(sel.rows["force"]) == ["A", "D"]
    # B's count is missing: named with the reason; C closed nothing: simply not a unit
    assert sel.left_out.to_dict("records") == [
        {"force": "B", "financial_year": "2019/20", "reason": "its count of charges is not published"}
    ]


def test_a_change_compares_a_force_only_when_both_years_are_comparable():
    sel = rules.closed_in_years(_panel(), ("2019/20", "2020/21"))
    assert sorted(set(sel.rows["force"])) == ["A", "D"]
    assert len(sel.rows) == 4
    assert list(sel.left_out["force"]) == ["B"]


@pytest.mark.parametrize(
    ("count", "n", "ok", "reason"),
    [
        (1, 10, True, None),
        (0, 10, True, None),
        (11, 10, False, "more charges than investigations closed"),
        (-1, 10, False, "a negative count"),
        (np.nan, 10, False, "its count of charges is not published"),
        (0, 0, False, "no investigations closed"),
    ],
)
def test_comparable_and_why_not(count, n, ok, reason):
    assert bool(rules.comparable(pd.Series([count]), pd.Series([n])).iloc[0]) is ok
    if reason:
        assert rules.why_left_out(count, n) == reason


def test_small_numbers_and_complete_years():
    assert rules.small(rules.SMALL_N - 1) and not rules.small(rules.SMALL_N)
    assert not rules.small(float("nan"))
    assert list(rules.complete_year(pd.Series([3, 4]))) == [False, True]


def test_offence_words_and_folders():
    assert rules.offence_noun("8l") == "harassment" and rules.offence_title("8Q") == "Stalking"
    assert rules.offences("8Q") == "stalking offences"
    assert rules.offences("99") == "offences (code 99)"
    assert paths.for_source("demo").outputs == Path("outputs/demo")
    assert paths.for_source("demo", offence="8l").outputs == Path("outputs/demo-8L")
    assert site.page_title("force_report", {"force": "Kent", "offence": "8L"}) == (
        "Kent: how the police dealt with harassment"
    )
    assert "harassment" in site.page_title("reporting_link", {"offence": "8L"})
    assert "Stalking" in site.page_title("national_trends", {})


@pytest.fixture(scope="module")
def kent_missing(demo_store, tmp_path_factory):
    """The demo store with Kent's 2019/20 stalking charges not published, analysed."""
    from analysis.reports.analyse import write_analysis
    from analysis.reports.tables import write_store_tables

    folder, _ = demo_store
    st = load_store(folder)
    o = st.outcomes.copy()
    gone = (o["force"] == "Kent") & (o["financial_year"] == "2019/20") & (o["offence_code"] == "8Q")
    o.loc[gone & o["outcome_type"].isin([1]), "closed_basis"] = pd.NA
    broken = Store(o, st.recorded, st.quality, folder)
    out = tmp_path_factory.mktemp("kent")
    write_store_tables(broken, out)
    write_analysis(broken, out, bootstrap_reps=19, permutation_reps=9, figures=False)
    ctx = sections.Context("demo", "8Q", folder, out)
    ctx.__dict__["store"] = broken  # the context reads the broken store, not the one on disk
    return ctx


def test_one_force_missing_a_year_is_left_out_and_named_not_blocking(kent_missing):
    ctx = kent_missing
    left = ctx.table(outputs.LEFT_OUT)
    kent = left[left["force"] == "Kent"]
    assert set(kent["label"]) == {"2019/20", "change 2019/20 to 2020/21"}
    assert (kent["reason"] == "its count of charges is not published").all()
    assert kent["source_file"].str.endswith(".xlsx").all()
    funnel = ctx.table(outputs.FUNNEL, year="2019/20")
    assert "Kent" not in set(funnel["force"]) and len(funnel) >= 40
    summary = ctx.table(outputs.FUNNEL_SUMMARY).set_index("label")
    assert "Kent 2019/20: its count of charges is not published (file " in summary.loc["2019/20", "excluded"]
    shr = ctx.table(outputs.SHRINKAGE)
    assert "Kent" not in set(shr[shr["financial_year"] == "2019/20"]["force"])
    assert "Kent" in set(shr[shr["financial_year"] == "2020/21"]["force"])
    verdict = sections.force_verdict(ctx, "Kent", "2019/20").markdown
    assert "Kent is left out of the comparisons of 2019/20: its count of charges is not published" in verdict
    assert "Funnel plot:" not in verdict
    # its other years are compared as usual
    assert "Funnel plot:" in sections.force_verdict(ctx, "Kent", "2020/21").markdown


@pytest.mark.parametrize(
    "count,n",
    [
        (3, 10),
        (0, 5),
        (5, 5),
        (6, 5),
        (-1, 5),
        (3, 0),
        (float("nan"), 5),
        (3, float("nan")),
        (None, 5),
        ("3", "10"),
        ("x", 4),
    ],
)
def test_one_figure_is_comparable_exactly_when_its_row_is(count, n):
    assert rules.comparable_one(count, n) == bool(
        rules.comparable(pd.Series([count]), pd.Series([n])).iloc[0]
    )
