import numpy as np
import pandas as pd
import pytest

from analysis.reports.headlines import headlines, sentence
from analysis.sources import store
from analysis.stats import measures


def test_wilson_matches_hand_worked_values():
    # Wilson 95% for 5/20: centre (5 + z^2/2)/(20 + z^2), half-width z*sqrt(pq/n + z^2/4n^2)/(1+z^2/n)
    z = 1.959963984540054
    p, n = 0.25, 20
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo, hi = measures.proportion_ci([5], [20])
    assert lo[0] == pytest.approx(centre - half, abs=1e-12)
    assert hi[0] == pytest.approx(centre + half, abs=1e-12)
    assert (round(lo[0], 4), round(hi[0], 4)) == (0.1119, 0.4687)


def test_clopper_pearson_and_jeffreys_known_values():
    lo, hi = measures.proportion_ci([0], [10], method="clopper-pearson")
    assert lo[0] == 0 and hi[0] == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-10)
    lo, hi = measures.proportion_ci([5], [10], method="jeffreys")
    assert lo[0] == pytest.approx(1 - hi[0], abs=1e-12)  # symmetric at p = 1/2
    assert 0.2 < lo[0] < 0.25


def test_intervals_handle_zero_missing_and_impossible_counts():
    lo, hi = measures.proportion_ci([0, 3, np.nan, 5, -1], [0, 0, 10, 4, 10])
    assert np.isnan(lo).tolist() == [True, True, True, True, True]
    lo, hi = measures.proportion_ci([0], [1])
    assert lo[0] == 0 and 0 < hi[0] < 1
    with pytest.raises(ValueError, match="wald"):
        measures.proportion_ci([1], [2], method="wald")


def test_force_year_panel_names_bases_and_denominators(demo_store):
    path, _ = demo_store
    st = store.load_store(path)
    panel = measures.force_year(st.outcomes, st.recorded, "8Q", synthetic=True)
    assert len(panel) == 44 * 11
    assert set(panel["charge_rate_closed_denominator"]) == {"outcomes_closed"}
    assert set(panel["charge_rate_recorded_denominator"]) == {"offences_recorded_outcomes_file"}
    row = panel[(panel.force == "Kent") & (panel.financial_year == "2020/21")].iloc[0]
    o = st.outcomes[
        (st.outcomes.force == "Kent")
        & (st.outcomes.financial_year == "2020/21")
        & (st.outcomes.offence_code == "8Q")
    ]
    closed = o[o.outcome_type.between(1, 22)].closed_basis.sum()
    assert row.outcomes_closed == closed
    assert row.charged_closed == o[o.outcome_type == 1].closed_basis.sum()
    assert row.evidential_difficulties_closed == o[o.outcome_type.isin([14, 15, 16])].closed_basis.sum()
    assert row.no_suspect_closed == o[o.outcome_type == 18].closed_basis.sum()
    assert row.not_yet_assigned_recorded == o[o.outcome_type == 0].recorded_basis.sum()
    assert row.charge_rate_closed == pytest.approx(row.charged_closed / closed)
    assert row.charge_rate_closed_low < row.charge_rate_closed < row.charge_rate_closed_high
    gmp = panel[(panel.force == "Greater Manchester") & (panel.financial_year == "2019/20")].iloc[0]
    assert gmp.quarters_with_outcomes == 1 and not gmp.complete_year
    assert set(panel.data_source) == {measures.data_source_label(True)}


def test_national_and_headlines(demo_store):
    path, _ = demo_store
    st = store.load_store(path)
    panel = measures.force_year(st.outcomes, st.recorded, "8Q", synthetic=True)
    nat = measures.national_year(panel, synthetic=True)
    y = nat[nat.financial_year == "2020/21"].iloc[0]
    assert y.outcomes_closed == panel[panel.financial_year == "2020/21"].outcomes_closed.sum()
    heads = headlines(panel, nat, "2020/21", synthetic=True)
    assert len(heads) == 45 and heads.force.iloc[-1] == "England and Wales"
    north = heads[heads.force == "Northamptonshire"].iloc[0]
    assert north.sentence.startswith("[GENERATED DEMO DATA")
    assert f"recorded {int(north.offences_recorded):,} stalking offences" in north.sentence
    assert f"{100 * north.charge_rate_closed:.1f}% in a charge or summons" in north.sentence


def test_sentence_for_real_data_has_no_demo_label():
    row = pd.Series(
        {
            "financial_year": "2020/21",
            "force": "Kent",
            "offence_code": "8Q",
            "offences_recorded": 1234,
            "offences_recorded_outcomes_file": 1200,
            "outcomes_closed": 1000,
            "evidential_difficulties_closed": 812,
            "evidential_difficulties_rate_closed": 0.812,
            "charged_closed": 61,
            "charge_rate_closed": 0.061,
            "complete_year": True,
            "quarters_with_outcomes": 4,
        }
    )
    text = sentence(row, synthetic=False)
    assert text == (
        "In 2020/21 Kent recorded 1,234 stalking offences; of the 1,000 investigations "
        "closed that year, 81.2% ended for evidential difficulties and 6.1% in a charge "
        "or summons."
    )
