"""The site's changes page (analysis.reports.site.write_changes): what moved since the previous
edition, by force, and England and Wales' projected final charge rates, all read from the run's
tables (changes.csv, nowcast.csv), never computed on the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import outputs
from analysis.demo import editions as demo_editions
from analysis.demo import generator
from analysis.reports import site, verdicts
from analysis.sources.store import Store
from analysis.stats import editions, nowcast
from analysis.stats.measures import NATIONAL

SMALL = {"first_year": "2019/20", "pfa_first_year": "2018/19", "last_year": "2023/24"}


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> Path:
    """A run folder with the changes and nowcast tables of two demo editions."""
    cfg = generator.load_config(overrides=SMALL)
    dates = demo_editions.edition_dates(cfg, 2)
    datas = [generator.simulate(demo_editions.edition_config(cfg, k + 1, d)) for k, d in enumerate(dates)]
    demo_editions.plant_revisions(cfg, datas, dates)
    stores = [Store(d.outcomes, d.recorded, {"synthetic": True}, Path(".")) for d in datas]
    out = tmp_path_factory.mktemp("run")
    outputs.CHANGES.save(out, editions.changes(stores[0], stores[1]))
    held = [nowcast.Edition(d.isoformat(), x.outcomes) for d, x in zip(dates, datas)]
    outputs.NOWCAST.save(out, nowcast.nowcast(held, synthetic=True))
    return out


MANIFEST = {"store_edition": "2026-03-31", "editions_held": ["2025-12-31", "2026-03-31"]}


def test_the_page_lists_the_planted_revision_under_its_force_and_the_projections(tables):
    md = site.changes_markdown(tables, MANIFEST, synthetic=True)
    assert "GENERATED DEMO DATA" in md
    assert "Changes from edition 2025-12-31 to 2026-03-31" in md
    by_force = md.split("## By force", 1)[1].split("## Recent years", 1)[0]
    northants = by_force.split("### Northamptonshire", 1)[1].split("###", 1)[0]
    assert "offences recorded" in northants and "+37" in northants  # the planted correction
    now = outputs.NOWCAST.load(tables)
    nat = now[now["force"] == NATIONAL].sort_values("financial_year")
    assert len(nat)
    for r in nat.itertuples():  # the table's figures, as the verdicts write them: one source
        row = re.search(rf"\| {re.escape(r.financial_year)} \|.*\|", md)
        assert row is not None
        for x in (r.charge_rate_recorded, r.charge_rate_expected, r.charge_rate_expected_low):
            assert verdicts.pct(x) in row.group(0)


def test_with_one_edition_the_page_says_there_is_nothing_to_compare(tables):
    md = site.changes_markdown(
        tables, {"store_edition": "2026-03-31", "editions_held": ["2026-03-31"]}, False
    )
    assert "no earlier edition to compare with" in md and "## By force" not in md
    assert "GENERATED DEMO DATA" not in md


def test_the_page_is_written_beside_the_index_and_asks_no_other_host(tables):
    path = site.write_changes(tables, MANIFEST, synthetic=True, footer="<footer>edition</footer>")
    assert path == outputs.CHANGES_PAGE.path(tables)
    html = path.read_text()
    assert "<title>What changed since the last edition</title>" in html
    assert "<table" in html and "<footer>edition</footer>" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
