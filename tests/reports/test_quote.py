"""The rule layer for figures a reader quotes (analysis.reports.quote): complete years, small
numbers, the force outside the territorial model and the generated-data label, on hand-made
force-year rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.domain import forces, rules
from analysis.reports import quote
from analysis.stats.measures import NATIONAL


def _row(
    force: str,
    year: str,
    recorded: float,
    closed: float,
    charged: float,
    evid: float,
    quarters: int = 4,
    pfa: bool = True,
) -> dict:
    return {
        "force": force,
        "financial_year": year,
        "offence_code": "8Q",
        "offences_recorded": recorded if pfa else float("nan"),
        "offences_recorded_outcomes_file": recorded,
        "outcomes_closed": closed,
        "charged_closed": charged,
        "evidential_difficulties_closed": evid,
        "quarters_with_outcomes": quarters,
    }


@pytest.fixture
def panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [
        _row("Greater Manchester", "2018/19", 1082, 819, 252, 500),
        _row("Greater Manchester", "2019/20", 240, 245, 66, 170, quarters=1),
        _row("Greater Manchester", "2020/21", 4954, 3576, 522, 2701),
        _row("London, City of", "2019/20", 10, 9, 1, 7),
        _row("London, City of", "2020/21", 13, 8, 1, 7),
        _row(forces.BTP, "2019/20", 126, 112, 11, 92, pfa=False),
        _row(forces.BTP, "2020/21", 424, 318, 27, 258, pfa=False),
    ]
    p = pd.DataFrame(rows)
    nat = (
        p.groupby("financial_year")[
            [
                "offences_recorded",
                "offences_recorded_outcomes_file",
                "outcomes_closed",
                "charged_closed",
                "evidential_difficulties_closed",
            ]
        ]
        .sum()
        .reset_index()
        .assign(force=NATIONAL, offence_code="8Q", quarters_with_outcomes=4)
    )
    complete = p.assign(c=p["quarters_with_outcomes"] == 4).groupby("financial_year")["c"]
    nat["forces_with_outcomes"] = complete.size().to_numpy()
    nat["forces_complete_year"] = complete.sum().to_numpy()
    return p, nat


def _q(frame: pd.DataFrame, force: str, year: str, measure: str) -> pd.Series:
    return frame[(frame["force"] == force) & (frame["year"] == year) & (frame["measure"] == measure)].iloc[0]


def test_the_rise_skips_an_incomplete_year_and_names_its_two_years(panel):
    rise = quote.recording_rise(*panel, synthetic=False).set_index("force")
    gm = rise.loc["Greater Manchester"]
    assert (gm["year_from"], gm["year_to"]) == ("2018/19", "2020/21")
    assert gm["rise"] == pytest.approx(4954 / 1082)
    assert "went from 1,082 in 2018/19 to 4,954 in 2020/21 (×4.6)" in gm["sentence"]
    assert "2019/20 is not used: only 1 of 4 quarters published" in gm["sentence"]
    # England and Wales: 2019/20 lacks a force's quarters, so it is not the base either
    assert rise.loc[NATIONAL, "year_from"] == "2018/19"


def test_below_the_small_number_rule_counts_only(panel):
    q = quote.figures_to_quote(*panel, synthetic=False)
    city = _q(q, "London, City of", "2020/21", "charged")
    assert math.isnan(city["percent"]) and city["count"] == 1 and city["denominator"] == 8
    assert "%" not in city["sentence"] and "1 ended in a charge or summons" in city["sentence"]
    assert city["sentence"].startswith("Of the 8 stalking investigations City of London closed")
    assert quote.share_phrase(city) == "1 of 8 closed"
    big = _q(q, "Greater Manchester", "2020/21", "charged")
    assert big["percent"] == 14.6 and quote.share_phrase(big) == "14.6% (522 of 3,576 closed)"
    assert big["england_and_wales_percent"] == pytest.approx(round(100 * 550 / 3902, 1))
    assert rules.small(8) and not rules.small(3576)


def test_an_incomplete_year_is_marked_in_its_rows_and_sentences(panel):
    q = quote.figures_to_quote(*panel, synthetic=False)
    r = _q(q, "Greater Manchester", "2019/20", "recorded")
    assert not r["complete_year"]
    assert "only 1 of 4 quarters published" in r["note"] and "only 1 of 4 quarters published" in r["sentence"]
    assert _q(q, "Greater Manchester", "2020/21", "recorded")["complete_year"]


def test_british_transport_police_is_counted_from_the_outcomes_file_and_says_so(panel):
    q = quote.figures_to_quote(*panel, synthetic=False)
    r = _q(q, forces.BTP, "2020/21", "recorded")
    assert r["count"] == 424 and r["note"] == rules.OUTSIDE_TERRITORIAL_NOTE
    rise = quote.recording_rise(*panel, synthetic=False).set_index("force").loc[forces.BTP]
    assert rise["rise"] == pytest.approx(424 / 126) and rules.OUTSIDE_TERRITORIAL_NOTE in rise["note"]


def test_generated_data_is_labelled_in_every_sentence(panel):
    q = quote.figures_to_quote(*panel, synthetic=True)
    assert q["sentence"].str.startswith(quote.DEMO_PREFIX).all()
    rise = quote.recording_rise(*panel, synthetic=True)
    assert rise["sentence"].str.startswith(quote.DEMO_PREFIX).all()
    assert not quote.figures_to_quote(*panel, synthetic=False)["sentence"].str.contains("GENERATED").any()


def test_the_table_has_the_issue_columns_one_row_per_force_year_and_measure(panel):
    q = quote.figures_to_quote(*panel, synthetic=False)
    assert tuple(q.columns) == quote.QUOTE_COLUMNS
    assert not q.duplicated(["force", "year", "measure"]).any()
    assert len(q) == (7 + 3) * len(quote.MEASURES)  # 7 force-years and 3 England and Wales years
    assert q["force"].iloc[-1] == NATIONAL  # forces in registry order, England and Wales last


def test_a_share_is_printed_as_the_table_holds_it():
    # the same rounding on every page: the share of the published rate, one decimal place
    for k, n in ((9, 400), (10, 30), (2467, 2467), (0, 50)):
        assert quote.percent_text(quote.percent(k, n)) == f"{100 * (k / n):.1f}%"
    assert math.isnan(quote.percent(5, 40 - 36))  # more charges than closed: no share
    assert math.isnan(quote.percent(1, 3))  # below the small-number rule: no share


def test_a_rise_from_a_handful_gives_the_counts_not_a_ratio(panel):
    rise = quote.recording_rise(*panel, synthetic=False).set_index("force")
    city = rise.loc["London, City of"]
    assert math.isnan(city["rise"]) and (city["recorded_from"], city["recorded_to"]) == (10, 13)
    assert "×" not in city["sentence"] and "went from 10 in 2019/20 to 13 in 2020/21" in city["sentence"]
    assert quote.rise_phrase(city) == "10 to 13"
    assert quote.rise_phrase(rise.loc["Greater Manchester"]) == "×4.6"
