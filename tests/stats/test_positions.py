"""Funnel positions and rank intervals from one data edition to the next
(analysis.stats.editions.positions): each edition fitted as the national analysis fits it, a
planted change of position found, and the words the force page, the changes page and
`changes` print."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import outputs
from analysis.demo import editions as demo_editions
from analysis.demo import generator
from analysis.reports import site
from analysis.sources.store import Store
from analysis.stats import editions, funnel, national
from analysis.stats.measures import force_year, resolve_year

SMALL = {"first_year": "2019/20", "pfa_first_year": "2018/19", "last_year": "2023/24"}
FORCE = "Northamptonshire"  # a true charge effect of -1.2: low in the funnel


@pytest.fixture(scope="module")
def stores() -> tuple[Store, Store]:
    cfg = generator.load_config(overrides=SMALL)
    dates = demo_editions.edition_dates(cfg, 2)
    datas = [generator.simulate(demo_editions.edition_config(cfg, k + 1, d)) for k, d in enumerate(dates)]
    return tuple(  # type: ignore[return-value]
        Store(d.outcomes, d.recorded, {"synthetic": True, "edition": e.isoformat()}, Path("."))
        for d, e in zip(datas, dates)
    )


def _year(st: Store) -> str:
    return resolve_year(force_year(st.outcomes, st.recorded, "8Q"), None)


def _charging_more(st: Store, force: str, year: str, factor: int) -> Store:
    """The store with the force's charges closed in `year` multiplied (a planted revision)."""
    out = st.outcomes.copy()
    hit = (out["force"] == force) & (out["financial_year"] == year) & (out["outcome_type"] == 1)
    out.loc[hit, "closed_basis"] = out.loc[hit, "closed_basis"] * factor
    return Store(out, st.recorded, st.quality, st.path)


def test_each_side_is_the_national_analysis_fit_of_its_edition(stores):
    old, new = stores
    year = _year(new)
    t = editions.positions(old, new)
    assert list(t.columns) == editions.POSITION_COLUMNS
    assert set(t["financial_year"]) == {year} and len(t) == 44
    fitted = national.compare_year(force_year(new.outcomes, new.recorded, "8Q"), year)
    assert fitted is not None
    d, lv = funnel.flag_columns(editions.POSITION_METHOD)
    units = fitted.funnel.units.set_index("force")
    ranks = fitted.shrinkage.units.set_index("force")
    for r in t.itertuples():
        assert r.funnel_to == funnel.flag_label(units.loc[r.force, d], units.loc[r.force, lv])
        assert (r.rank_low_to, r.rank_high_to) == (
            ranks.loc[r.force, "rank_low"],
            ranks.loc[r.force, "rank_high"],
        )
    assert t.loc[t["force"] == FORCE, "funnel_to"].item().startswith("low")


def test_a_planted_change_of_position_is_found_and_said(stores):
    old, new = stores
    year = _year(new)
    old = _charging_more(old, FORCE, year, 8)  # the earlier edition had it charging far more
    t = editions.positions(old, new)
    row = t[t["force"] == FORCE].iloc[0]
    assert row["funnel_moved"] and row["rank_moved"]
    assert row["funnel_from"].startswith("high") and row["funnel_to"].startswith("low")
    assert row["rank_low_from"] < row["rank_low_to"]
    lines = editions.position_lines(t, FORCE)
    assert (
        lines[0]
        == f"Funnel position in {year} (random-effects limits): {row['funnel_from']} -> {row['funnel_to']}"
    )
    assert lines[1].startswith(
        f"Rank interval in {year} (1 = highest charge rate): ranks {row['rank_low_from']} to "
    )
    # the force page's section lists them after the figures that moved
    text = editions.force_text(editions.changes(old, new), FORCE, new.edition, old.edition, standing=t)
    assert f"- {lines[0]}" in text and f"- {lines[1]}" in text
    assert "charged (closed basis)" in text  # the revision that moved it
    # a force that did not move says so
    still = t[~t["funnel_moved"] & ~t["rank_moved"]]
    assert len(still)
    assert "unchanged" in editions.position_lines(t, still["force"].iloc[0])[0]
    printed = editions.standing_text(t)
    assert f"  {FORCE}: {lines[0]}" in printed


def test_the_changes_page_names_the_forces_whose_funnel_position_moved(stores, tmp_path):
    old, new = stores
    old = _charging_more(old, FORCE, _year(new), 8)
    outputs.CHANGES.save(tmp_path, editions.changes(old, new))
    t = editions.positions(old, new)
    outputs.POSITION_CHANGES.save(tmp_path, t)
    manifest = {"store_edition": new.edition, "editions_held": [old.edition, new.edition]}
    md = site.changes_markdown(tmp_path, manifest, synthetic=True)
    part = md.split("## Funnel positions and rank intervals", 1)[1].split("##", 1)[0]
    n_funnel = int(t["funnel_moved"].sum())
    assert f"{n_funnel} of 44 forces changed funnel position" in part
    assert f"- {FORCE}: Funnel position" in part


def test_one_edition_has_no_positions_to_compare(stores):
    st = stores[1]
    empty = pd.DataFrame(columns=editions.POSITION_COLUMNS)
    assert "not compared" in editions.standing_text(empty)
    assert editions.position_lines(empty, FORCE) == []
    assert editions.force_text(empty, FORCE, st.edition, None, standing=empty).startswith("The store holds")


def test_read_back_from_its_csv_and_for_a_year_new_in_the_later_edition(stores, tmp_path):
    old, new = stores
    year = _year(new)
    t = editions.positions(old, new)
    outputs.POSITION_CHANGES.save(tmp_path, t)
    back = outputs.POSITION_CHANGES.load(tmp_path)
    assert editions.position_lines(back, FORCE) == editions.position_lines(t, FORCE)
    # the year absent from the earlier edition: nothing moved, each force first compared
    earlier = Store(
        old.outcomes[old.outcomes["financial_year"] != year],
        old.recorded[old.recorded["financial_year"] != year],
        old.quality,
        old.path,
    )
    fresh = editions.positions(earlier, new)
    assert not fresh["funnel_moved"].any() and not fresh["rank_moved"].any()
    outputs.POSITION_CHANGES.save(tmp_path, fresh)
    line = editions.position_lines(outputs.POSITION_CHANGES.load(tmp_path), FORCE)[0]
    assert line.startswith(
        f"Funnel position and rank interval in {year}: first compared in this edition (low"
    )
    assert "nan" not in line
    assert "new in this edition" in editions.standing_text(fresh)
