"""The generator's editions (`demo-data --editions N`): the first is the default demo data byte
for byte, later ones a quarter apart see more of each cohort's outcomes on the recorded basis,
and nothing else moves but the revisions planted (which truth.json records)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analysis.cli import build_parser, main
from analysis.demo import MAX_EDITIONS, editions, generator
from analysis.errors import InputError

SMALL = {"first_year": "2019/20", "pfa_first_year": "2019/20", "last_year": "2021/22"}
CELL = ["financial_year", "quarter", "force", "offence_code", "outcome_type"]


def test_editions_are_a_quarter_apart_from_the_configs_edition():
    cfg = generator.load_config()
    assert editions.suffix_date(cfg["edition"]) == date(2025, 12, 31)
    assert editions.edition_dates(cfg, 5) == [
        date(2025, 12, 31),
        date(2026, 3, 31),
        date(2026, 6, 30),
        date(2026, 9, 30),
        date(2026, 12, 31),
    ]
    first = editions.edition_config(cfg, 1, date(2025, 12, 31))
    assert first == cfg  # edition 1 is the config itself: the default demo data
    later = editions.edition_config(cfg, 3, date(2026, 6, 30))
    assert later["edition"] == "300626" and later["snapshot_lag_quarters"] == cfg["snapshot_lag_quarters"] + 2


def test_the_first_edition_is_the_default_demo_data_byte_for_byte(tmp_path):
    cfg = generator.load_config(overrides=SMALL)
    generator.write_demo(tmp_path / "one", cfg)
    latest = editions.write_editions(tmp_path / "two", cfg, 2)
    one, first, second = (
        tmp_path / "one",
        tmp_path / "two" / "editions" / "1",
        tmp_path / "two" / "editions" / "2",
    )
    names = sorted(p.name for p in one.iterdir() if p.name != "truth.json")
    assert names == sorted(p.name for p in first.iterdir() if p.name != "truth.json")
    for name in names:
        assert (one / name).read_bytes() == (first / name).read_bytes(), name
    truth = json.loads((first / "truth.json").read_text())
    assert truth.pop("editions")["editions"][1]["suffix"] == "310326"
    assert truth == json.loads((one / "truth.json").read_text())
    # the latest is also in the folder itself, and differs from the first
    for p in second.iterdir():
        assert (tmp_path / "two" / p.name).read_bytes() == p.read_bytes()
    assert all("310326" in n for n in latest.truth["files"])
    assert build_parser().parse_args(["demo-data"]).editions == 1  # the default: today's output


def _editions(cfg: dict, n: int) -> tuple[list[generator.SyntheticData], list[dict]]:
    dates = editions.edition_dates(cfg, n)
    datas = [generator.simulate(editions.edition_config(cfg, k + 1, d)) for k, d in enumerate(dates)]
    return datas, editions.plant_revisions(cfg, datas, dates)


def _cells(data: generator.SyntheticData, basis: str) -> pd.Series:
    return data.outcomes.set_index(CELL)[basis].astype(float)


def test_later_editions_see_more_outcomes_and_only_the_planted_revisions_move():
    cfg = generator.load_config(overrides=SMALL)
    datas, planted = _editions(cfg, 3)
    assert [(p["edition"], p["force"]) for p in planted] == [
        (2, "Northamptonshire"),
        (2, "Cumbria"),
        (3, "Kent"),
        (3, "West Midlands"),
    ]
    for k in (1, 2):
        old, new = datas[k - 1], datas[k]
        # recorded basis: every assigned outcome type grows or stays, so "not yet assigned" shrinks
        grown = _cells(new, "recorded_basis") - _cells(old, "recorded_basis")
        types = grown.index.get_level_values("outcome_type")
        mine = [p for p in planted if p["edition"] == k + 1]
        offences = {(p["financial_year"], p["quarter"], p["force"]) for p in mine if p["what"] == "offences"}
        assigned = grown[types > 0].dropna()
        assert (assigned >= 0).all() and assigned.sum() > 0
        charged = grown[types == 1].dropna()
        by_year = charged.groupby(level="financial_year").sum()
        # counted to one date: the recent years mature, the oldest (past the longest delays) barely
        assert by_year.iloc[-1] > 0 and by_year.iloc[-1] > 10 * by_year.iloc[0]
        # closed basis and recorded offences: only the planted cells move, by what truth says
        closed = (_cells(new, "closed_basis") - _cells(old, "closed_basis")).dropna()
        moved = closed[closed != 0]
        want = {
            (p["financial_year"], p["quarter"], p["force"], "8Q", p["outcome_type"]): p["change"]
            for p in mine
            if p["what"] == "closed"
        }
        assert moved.to_dict() == want
        key = ["financial_year", "quarter", "force", "offence_code"]
        pfa = new.recorded.set_index(key)["offences"].astype(float) - old.recorded.set_index(key)["offences"]
        assert {k[:3]: v for k, v in pfa[pfa != 0].to_dict().items()} == {
            (p["financial_year"], p["quarter"], p["force"]): p["change"]
            for p in mine
            if p["what"] == "offences"
        }
        assert len(offences) == 1


def test_maturing_is_faster_when_charges_wait_longer():
    """Under slow_charges (charges a quarter later than other outcomes) a later edition adds
    more of each year's charges on the recorded basis than under the baseline."""

    def added(scenario: str) -> float:
        # four years of quarters at least: the scenario's delays reach 15 quarters
        cfg = generator.load_config(scenario=scenario, overrides=dict(SMALL, pfa_first_year="2018/19"))
        dates = editions.edition_dates(cfg, 2)
        a, b = (generator.simulate(editions.edition_config(cfg, k + 1, d)) for k, d in enumerate(dates))
        charged = [
            d.outcomes[(d.outcomes["outcome_type"] == 1) & (d.outcomes["offence_code"] == "8Q")]
            for d in (a, b)
        ]
        first, second = (c["recorded_basis"].astype(float).sum() for c in charged)
        return float((second - first) / first)

    assert added("slow_charges") > added("baseline") > 0


def test_the_number_of_editions_is_checked(tmp_path, capsys):
    with pytest.raises(InputError, match=f"give 1 to {MAX_EDITIONS}"):
        editions.write_editions(tmp_path, generator.load_config(overrides=SMALL), MAX_EDITIONS + 1)
    with pytest.raises(SystemExit) as exc:
        main(["demo-data", "--out", str(tmp_path), "--editions", "0"])
    assert exc.value.code == 2 and "--editions" in capsys.readouterr().err
    assert not np.any([p.suffix == ".xlsx" for p in tmp_path.iterdir()])
