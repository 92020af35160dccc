"""The comparison set: written down with its reasons, generated without moving any other
offence's data, and named in words where the pages use it."""

from pathlib import Path

import pandas as pd
import pytest

from analysis.demo import generator
from analysis.domain import taxonomy
from analysis.sources.homeoffice import read_recorded

PFA = Path(__file__).resolve().parents[1] / "data" / "real" / "prc-pfa-mar2013-onwards-tables201718.csv"


def test_the_set_is_outside_the_stalking_rules_and_every_member_has_its_reason():
    codes = taxonomy.COMPARISON_OFFENCES
    assert len(codes) >= 3 and len(set(codes)) == len(codes)
    for c in taxonomy.COMPARISON_SET:
        offence = taxonomy.OFFENCE_BY_CODE[c.code]
        # nothing from the subgroup whose recording the 2018 and 2020 rules move
        assert offence.subgroup != taxonomy.SHOWN_SUBGROUP and c.code not in (
            taxonomy.STALKING,
            taxonomy.HARASSMENT,
        )
        assert len(c.reason.split()) >= 10
    assert set(codes) <= set(taxonomy.DEFAULT_OFFENCES)  # the default ingest reads it
    assert taxonomy.comparison_names(["46", "105A"]) == "shoplifting (46) and assault without injury (105A)"
    assert taxonomy.comparison_names(["99Z"]) == "offence 99Z"


@pytest.mark.parametrize("scenario", ["baseline", "dose_backlog"])
def test_the_set_leaves_stalking_harassment_and_shoplifting_unchanged(scenario):
    """The comparison set's further offences come from streams of their own and take no
    publication quirk: the other offences' rows are the same with and without them."""
    cfg = generator.load_config(None, {"seed": 321}, scenario)
    everything = generator.simulate(cfg)
    without = generator.simulate(cfg, offences=("8Q", "8L", "46"))
    for table in ("outcomes", "recorded"):
        full, cut = getattr(everything, table), getattr(without, table)
        assert set(full["offence_code"]) == {"8Q", "8L", "46", "105A", "58C"}
        kept = full[full["offence_code"].isin(["8Q", "8L", "46"])].reset_index(drop=True)
        pd.testing.assert_frame_equal(kept, cut.reset_index(drop=True))
    rec = everything.recorded
    totals = rec[rec["financial_year"] == "2017/18"].groupby("offence_code")["offences"].sum()
    # 2017/18: the real England and Wales totals (BTP's few apart), up to gamma-Poisson noise
    assert totals["105A"] == pytest.approx(509372, rel=0.05)
    assert totals["58C"] == pytest.approx(232840, rel=0.05)


def test_a_shock_that_reaches_every_offence_reaches_the_set():
    """dose_backlog's 2020/21 court shock moves the set's charge rate as it moves shoplifting's:
    the set shares the force-level shocks a negative control must see."""
    cfg = generator.load_config(None, {"seed": 321}, "dose_backlog")
    base = generator.load_config(None, {"seed": 321})
    rates = {}
    for name, c in (("shock", cfg), ("none", base)):
        o = generator.simulate(c).outcomes
        o = o[(o["financial_year"] == "2020/21") & o["offence_code"].isin(["105A", "58C"])]
        charged = o.loc[o["outcome_type"] == 1, "recorded_basis"].sum()
        rates[name] = charged / o["recorded_basis"].sum()
    assert rates["shock"] < 0.9 * rates["none"]


def test_the_sets_2017_18_volumes_are_the_real_files():
    """The generator's national 2017/18 volumes for the set's further offences are the real PFA
    table's (the committed extract holds their rows, British Transport Police included)."""
    frame, _ = read_recorded(PFA, offences=taxonomy.COMPARISON_OFFENCES)
    real = frame.groupby("offence_code")["offences"].sum()
    cfg = generator.default_config()
    for series in generator.COMPARISON_SERIES:
        code = cfg[series]["code"]
        assert cfg[series]["recorded"]["2017/18"] == real[code], code
