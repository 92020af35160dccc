"""Data editions: the store keeps every edition ingested (the latest is the one every command
reads), refuses an older one unless asked, and `changes` lists what moved between two: on the
demo's editions, exactly the revisions planted and the outcomes matured that truth.json records."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import record, write_outcomes

from analysis import paths
from analysis.cli import main
from analysis.demo import editions as demo_editions
from analysis.demo import generator
from analysis.errors import InputError
from analysis.sources import store
from analysis.stats import editions
from analysis.stats.measures import NATIONAL

# Three years of demo data: enough for editions, quick to generate and read.
SMALL = {"first_year": "2019/20", "pfa_first_year": "2019/20", "last_year": "2021/22"}
D1, D2, D3 = "2025-12-31", "2026-03-31", "2026-06-30"


@pytest.fixture(scope="module")
def demo3(tmp_path_factory) -> tuple[Path, dict]:
    """Three demo editions of three years (OUT/editions/1..3), and their truth."""
    out = tmp_path_factory.mktemp("editions")
    latest = demo_editions.write_editions(out, generator.load_config(overrides=SMALL), 3)
    return out, latest.truth


def _ingest(folder: Path, target: Path, *options: str) -> int:
    return main(["ingest", "--source", str(folder), "--store", str(target), "--jobs", "1", *options])


@pytest.fixture(scope="module")
def held(demo3, tmp_path_factory) -> Path:
    """A store that ingested editions 1 then 2 through the command (not to be changed)."""
    out, _ = demo3
    target = tmp_path_factory.mktemp("held") / "store"
    for n in (1, 2):
        assert _ingest(out / "editions" / str(n), target) == 0
    return target


def _copy(target: Path, into: Path) -> Path:
    """A copy of a store and its editions, to change."""
    copy = into / "store"
    shutil.copytree(target, copy)
    shutil.copytree(paths.editions_folder(target), paths.editions_folder(copy))
    return copy


def _files(target: Path) -> dict[str, bytes]:
    """Every file of a store and of its editions, by path."""
    found = {}
    for root in (target, paths.editions_folder(target)):
        for p in sorted(root.rglob("*")):
            if p.is_file():
                found[p.relative_to(root.parent).as_posix()] = p.read_bytes()
    return found


def test_two_editions_are_kept_and_the_latest_is_the_default(held, demo3):
    out, _ = demo3
    assert store.editions(held) == [D1, D2]
    latest, first, second = store.load_store(held), store.load_edition(held, D1), store.load_edition(held, D2)
    assert latest.edition == second.edition == D2 and first.edition == D1
    assert latest.quality["edition"] == D2
    for name in (store.OUTCOMES_FILE, store.RECORDED_FILE):  # the store's own files are the latest's
        assert (held / name).read_bytes() == (store.edition_folder(held, D2) / name).read_bytes()
    # edition 1 is the first edition's files, not the second's
    assert set(first.outcomes["source_file"]) == {p.name for p in (out / "editions" / "1").glob("*outcomes*")}
    assert not first.outcomes["recorded_basis"].equals(second.outcomes["recorded_basis"])
    with pytest.raises(InputError, match=f"holds no edition 2024-01-01; it holds {D1}, {D2}"):
        store.load_edition(held, "2024-01-01")


def test_an_older_edition_is_refused_and_the_store_is_left_as_it_was(held, demo3, tmp_path, capsys):
    out, _ = demo3
    target = _copy(held, tmp_path)
    before = _files(target)
    assert _ingest(out / "editions" / "1", target) == 2
    err = capsys.readouterr().err
    assert f"edition of {D1}, older than the newest edition" in err and D2 in err
    assert "--allow-older-edition" in err and "Nothing was written" in err
    assert _files(target) == before
    # asked for: kept (replaced) among the editions, and the latest stays the store's files
    assert _ingest(out / "editions" / "1", target, "--allow-older-edition") == 0
    assert "kept as a past edition" in capsys.readouterr().out
    assert store.editions(target) == [D1, D2] and store.load_store(target).edition == D2
    assert {k: v for k, v in _files(target).items() if "editions" not in k} == {
        k: v for k, v in before.items() if "editions" not in k
    }


def test_the_same_edition_again_replaces_it_and_a_newer_one_becomes_the_latest(held, demo3, tmp_path, capsys):
    out, _ = demo3
    target = _copy(held, tmp_path)
    before = _files(target)
    capsys.readouterr()
    assert _ingest(out / "editions" / "2", target) == 0
    assert store.editions(target) == [D1, D2]
    # a scheduled job with nothing new: said, and not a stored byte moves (a run then skips all)
    assert (
        f"Edition: {D2} (the store's latest; already held, so replaced by itself)" in capsys.readouterr().out
    )
    assert _files(target) == before
    assert _ingest(out / "editions" / "3", target) == 0
    assert store.editions(target) == [D1, D2, D3] and store.load_store(target).edition == D3


def test_undated_files_are_ingested_as_before_and_an_edition_can_be_given(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    write_outcomes(src / "prc-outcomes-open-data-mar2021-tables.xlsx", [record()])
    target = tmp_path / "store"
    assert _ingest(src, target) == 0
    assert "Edition: undated" in capsys.readouterr().out
    assert store.load_store(target).edition == store.UNDATED and store.editions(target) == []
    assert not paths.editions_folder(target).exists()
    # given a date, it is kept as an edition
    assert _ingest(src, target, "--edition", "2021-04-22") == 0
    assert store.editions(target) == ["2021-04-22"]
    # now that the store holds an edition, an undated ingest cannot be placed: refused, named
    before = _files(target)
    assert _ingest(src, target) == 2
    err = capsys.readouterr().err
    assert "prc-outcomes-open-data-mar2021-tables.xlsx" in err and "--edition YYYY-MM-DD" in err
    assert _files(target) == before
    # one edition: nothing to compare
    assert main(["changes", "--store", str(target), "--out", str(tmp_path / "t")]) == 2
    assert "holds one data edition (2021-04-22): 'changes' compares two" in capsys.readouterr().err
    # a date that is not YYYY-MM-DD is a usage error
    with pytest.raises(SystemExit) as exc:
        main(["ingest", "--source", str(src), "--store", str(target), "--edition", "22/04/2021"])
    assert exc.value.code == 2


def _expected(truth: dict, edition_from: int, edition_to: int) -> dict[tuple[str, str, str], int]:
    """(force, year, figure) -> difference, for every force and England and Wales, from the
    revisions planted and the maturing truth.json records between two editions."""
    moved: dict[tuple[str, str, str], int] = {}
    for p in truth["editions"]["planted"]:
        if edition_from < p["edition"] <= edition_to:
            for figure, delta in p["figures"].items():
                key = (p["force"], p["financial_year"], figure)
                moved[key] = moved.get(key, 0) + delta
    for m in truth["editions"]["maturing"]:
        if edition_from < m["edition_to"] <= edition_to:
            for c in m["changes"]:
                key = (c["force"], c["financial_year"], m["figure"])
                moved[key] = moved.get(key, 0) + c["new"] - c["old"]
    national: dict[tuple[str, str, str], int] = {}
    for (_, year, figure), delta in moved.items():
        national[(NATIONAL, year, figure)] = national.get((NATIONAL, year, figure), 0) + delta
    return {k: v for k, v in {**moved, **national}.items() if v}


def _got(table: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    return {(r.force, r.financial_year, r.figure): int(r.difference) for r in table.itertuples()}


def test_changes_between_two_demo_editions_are_the_planted_revisions_and_the_maturing(held, demo3):
    _, truth = demo3
    table = editions.changes(store.load_edition(held, D1), store.load_edition(held, D2))
    assert list(table.columns) == editions.COLUMNS
    assert table["quarter"].isna().all()  # the same years and quarters: none added
    assert _got(table) == _expected(truth, 1, 2)
    planted = {(p["force"], p["financial_year"]) for p in truth["editions"]["planted"] if p["edition"] == 2}
    assert len(planted) == 2
    # the planted revisions are revised, not small; maturing is charges on the recorded basis rising
    mine = table[[(f, y) in planted for f, y in zip(table["force"], table["financial_year"])]]
    assert (mine.loc[mine["figure"] != "charged_recorded", "change_kind"] == "revised").all()
    assert not mine.loc[mine["figure"] != "charged_recorded", "small"].any()
    matured = table[table["figure"] == "charged_recorded"]
    assert (
        len(matured) > 40
        and (matured["change_kind"] == "matured").all()
        and (matured["difference"] > 0).all()
    )
    (m,) = [m for m in truth["editions"]["maturing"] if m["edition_to"] == 2]
    old_new = {(c["force"], c["financial_year"]): (c["old"], c["new"]) for c in m["changes"]}
    for r in matured[matured["force"] != NATIONAL].itertuples():
        assert old_new[(r.force, r.financial_year)] == (r.old_value, r.new_value)
    # small: under 3 and under 1% of the old value, and nothing else
    rule = (table["difference"].abs() < 3) & (table["difference"].abs() < 0.01 * table["old_value"])
    assert (table["small"] == rule.astype(bool)).all()
    assert set(table["edition_from"]) == {D1} and set(table["edition_to"]) == {D2}
    assert table["data_source"].str.startswith("GENERATED DEMO DATA").all()


def test_changes_command_writes_the_table_and_since_picks_the_earlier_edition(
    held, demo3, tmp_path, monkeypatch, capsys
):
    out, truth = demo3
    target = _copy(held, tmp_path)
    assert _ingest(out / "editions" / "3", target) == 0
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["changes", "--source", "demo", "--store", str(target)]) == 0  # 2 -> 3, the default
    printed = capsys.readouterr().out
    written = Path("outputs/demo/tables/changes.csv")
    table = pd.read_csv(written, dtype={"quarter": "Int64"})
    assert _got(table) == _expected(truth, 2, 3)
    assert f"Changes from edition {D2} to {D3}" in printed and f"wrote {written}" in printed
    assert "Kent 2020/21: charged (closed basis)" in printed and "Northamptonshire" not in printed
    assert (
        main(["changes", "--source", "demo", "--store", str(target), "--since", D1, "--forces", "kent"]) == 0
    )
    table = pd.read_csv(written)
    assert set(table["force"]) == {"Kent", NATIONAL}
    want = {k: v for k, v in _expected(truth, 1, 3).items() if k[0] == "Kent"}
    assert {k: v for k, v in _got(table).items() if k[0] == "Kent"} == want
    assert main(["changes", "--store", str(target), "--since", D3]) == 2
    assert f"--since {D3} is the latest edition" in capsys.readouterr().err


def test_quarters_added_or_withdrawn_and_small_revisions_folded(held):
    new = store.load_edition(held, D2)
    cut = (new.outcomes["financial_year"] == "2021/22") & (new.outcomes["quarter"] == 4)
    cut_rec = (new.recorded["financial_year"] == "2021/22") & (new.recorded["quarter"] == 4)
    outcomes = new.outcomes[~cut.to_numpy()].copy()
    # a revision of 1 to a big cell: small
    met = outcomes[
        (outcomes["force"] == "Metropolitan Police")
        & (outcomes["outcome_type"] == 16)
        & (outcomes["offence_code"] == "8Q")
    ]
    big = met["closed_basis"].astype(float).idxmax()
    outcomes.loc[big, "closed_basis"] -= 1
    old = store.Store(outcomes, new.recorded[~cut_rec.to_numpy()], dict(new.quality, edition=D1), held)
    table = editions.changes(old, new)
    added = table[table["change_kind"] == "quarter_added"]
    assert set(added["quarter"]) == {4} and set(added["financial_year"]) == {"2021/22"}
    assert set(added["force"]) == set(new.outcomes.loc[cut, "force"]) | {NATIONAL}
    kent = added[(added["force"] == "Kent") & (added["figure"] == "offences_recorded")]
    kent_q4 = new.recorded[
        cut_rec.to_numpy() & (new.recorded["force"] == "Kent") & (new.recorded["offence_code"] == "8Q")
    ]
    assert kent["new_value"].tolist() == kent["difference"].tolist() == [int(kent_q4["offences"].sum())]
    assert not added["small"].any() and added["old_value"].isna().all()
    revised = table[table["change_kind"] == "revised"]
    assert len(revised[revised["force"] != NATIONAL]) == 2  # outcomes closed, evidential difficulties
    assert revised["small"].all() and (revised["difference"] == 1).all()
    text = editions.summary_text(table, D1, D2)
    assert "Small revisions: 2 force figures moved by under 3 and under 1%" in text
    assert "Metropolitan Police" not in text and "Quarters added: 2021/22 Q4 (44 forces)" in text
    back = editions.changes(new, old)
    assert set(back["change_kind"]) == {"quarter_withdrawn", "revised"}
    assert (back.loc[back["change_kind"] == "quarter_withdrawn", "difference"] < 0).any()
