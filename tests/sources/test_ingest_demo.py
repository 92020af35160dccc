"""Ingesting the generated demo data reproduces the generator's published tables exactly, and
the generator does what its config says."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from analysis.demo import generator
from analysis.domain import forces, taxonomy
from analysis.errors import InputError
from analysis.sources import ingest, store

KEY = ["financial_year", "quarter", "force", "offence_code", "outcome_type"]


def _same(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> None:
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    assert len(a) == len(b)
    for col in a.columns:
        left, right = a[col], b[col]
        if str(left.dtype) == "Int64" or str(right.dtype) == "Int64":
            same = (left.astype("Int64") == right.astype("Int64")).fillna(False) | (
                left.isna() & right.isna()
            )
            assert same.all(), col
        else:
            assert (left.astype(str).to_numpy() == right.astype(str).to_numpy()).all(), col


def test_ingest_reproduces_the_true_published_tables_exactly(demo, demo_store):
    _, data = demo
    path, _quality = demo_store
    st = store.load_store(path)
    truth = data.outcomes[data.outcomes.offence_code.isin(taxonomy.DEFAULT_OFFENCES)]
    _same(st.outcomes.drop(columns=["source_file", "source_sha256"]), truth[st.outcomes.columns[:-2]], KEY)
    truth_rec = data.recorded[data.recorded.offence_code.isin(taxonomy.DEFAULT_OFFENCES)]
    _same(
        st.recorded.drop(columns=["source_file", "source_sha256"]),
        truth_rec,
        ["financial_year", "quarter", "force", "offence_code"],
    )
    # sums per force, year, offence, outcome and basis
    for basis in ("recorded_basis", "closed_basis"):
        ours = st.outcomes.groupby(["force", "financial_year", "offence_code", "outcome_type"])[basis].sum()
        theirs = truth.groupby(["force", "financial_year", "offence_code", "outcome_type"])[basis].sum()
        assert (ours.sort_index() == theirs.sort_index()).all()


def test_quality_report_sees_the_quirks(demo_store, demo):
    _, data = demo
    _, v = demo_store
    assert len(v["forces"]) == 44 and v["synthetic"] is True
    assert v["years"][0] == "2014/15" and v["years"][-1] == "2024/25"
    assert {
        "offence_code": "8Q",
        "financial_year": "2019/20",
        "force": "Greater Manchester",
        "quarters_missing": [2, 3, 4],
    } in v["gaps"]
    assert v["markers"]["N/A - data not provided"] > 0 and v["markers"]["N/A"] > 0
    negatives_in_truth = int(
        (
            data.outcomes.loc[data.outcomes.offence_code.isin(taxonomy.DEFAULT_OFFENCES), "closed_basis"] < 0
        ).sum()
    )
    assert len(v["negative_counts"]) == negatives_in_truth > 0
    # recorded basis (all types incl. 0) equals the PFA count wherever both exist
    assert v["recorded_vs_outcomes"]["cells_differing"] == 0
    assert v["recorded_vs_outcomes"]["compared_cells"] > 3000
    renamed = {k: val for f in v["files"] for k, val in f["forces_renamed"].items()}
    assert renamed["Devon & Cornwall"] == "Devon and Cornwall"
    assert sum(f["total_rows_dropped"] for f in v["files"]) > 0


def test_store_write_is_deterministic(demo, tmp_path, demo_store):
    folder, _ = demo
    ingest.ingest(str(folder), tmp_path / "again")
    first, _ = demo_store
    for name in (store.OUTCOMES_FILE, store.RECORDED_FILE):
        assert (tmp_path / "again" / name).read_bytes() == (first / name).read_bytes()


def test_newer_edition_wins_and_is_reported(demo, tmp_path):
    folder, _ = demo
    src = tmp_path / "src"
    shutil.copytree(folder, src)
    old = next(src.glob("*mar2021*"))
    # an older edition of 2020/21 (holding other numbers): it must be passed over
    older = src / old.name.replace("311225", "010120")
    shutil.copy(next(src.glob("*mar2020*")), older)
    v = ingest.ingest(str(src), tmp_path / "store")
    assert any("using " + old.name in n and older.name in n for n in v["notes"])
    assert older.name not in {f["file"] for f in v["files"]}


def test_failed_ingest_leaves_the_store_untouched(demo, demo_store, tmp_path):
    folder, _ = demo
    good_store, _ = demo_store
    target = tmp_path / "store"
    shutil.copytree(good_store, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    src = tmp_path / "src"
    shutil.copytree(folder, src)
    victim = next(src.glob("*mar2022*"))
    victim.write_bytes(victim.read_bytes()[:5000])  # a truncated download
    with pytest.raises(InputError, match="mar2022"):
        ingest.ingest(str(src), target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before


def test_unknown_source_and_empty_folder(tmp_path):
    with pytest.raises(InputError, match="neither 'homeoffice', 'demo' nor an existing folder"):
        ingest.ingest(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no outcomes workbook found"):
        ingest.ingest(str(tmp_path / "empty"), tmp_path / "s")


def test_file_classification():
    from pathlib import Path

    c = ingest.classify_file
    assert c(Path("prc-outcomes-open-data-mar2021-tables-240425.xlsx")).year == "2020/21"
    assert str(c(Path("prc-outcomes-open-data-mar2021-tables-240425.xlsx")).edition) == "2025-04-24"
    assert c(Path("prc-outcomes-open-data-mar2016-tabs.ods")).year == "2015/16"
    assert c(Path("prc-pfa-mar2013-onwards-tables-230726.ods")).kind == "recorded"
    assert c(Path("prc-outcomes-alternate-open-data-mar2017-to-mar2026-tables-230726.ods")) is None
    assert c(Path("prc-outcomes-open-data-mar2006-mar2014-tabs.ods")) is None
    assert c(Path("truth.json")) is None


# --- the generator -----------------------------------------------------------------------------


def test_generator_calibration_and_truth(demo):
    folder, data = demo
    truth = json.loads((folder / "truth.json").read_text())
    cfg = truth["config"]
    assert truth["synthetic"] is True and truth["link_slope"] == cfg["link_slope"]
    assert set(truth["forces"]) == set(forces.names())
    for name in cfg["stalking"]["extreme_forces"]:
        assert truth["forces"][name]["extreme"]
        assert truth["forces"][name]["charge_effect"] == cfg["stalking"]["extreme_forces"][name]
    sim = truth["national"]["simulated_recorded"]["8Q"]
    for year, target in cfg["stalking"]["recorded"].items():
        assert abs(sim[year] / target - 1) < 0.1, year
    # the 2020 jump in stalking is partly a move out of harassment
    h = truth["national"]["expected_recorded"]["8L"]
    assert h["2020/21"] < cfg["harassment"]["recorded"]["2020/21"] * 0.95
    doses = np.array([f["dose"] for f in truth["forces"].values()])
    assert doses.min() > 0  # no force has zero dose
    s = data.outcomes[(data.outcomes.offence_code == "8Q") & (data.outcomes.financial_year == "2020/21")]
    closed = s[s.outcome_type.between(1, 22)].closed_basis.sum()
    rate = s[s.outcome_type == 1].closed_basis.sum() / closed
    assert 0.06 < rate < 0.10  # published: 7-8%
    ed = s[s.outcome_type.isin([14, 15, 16])].closed_basis.sum() / closed
    assert ed > 0.75


def test_demo_files_are_labelled_synthetic(demo):
    folder, data = demo
    from analysis.sources.sheets import open_workbook

    names = data.truth["files"]
    assert len(names) == 12 and all(n.startswith("synthetic-") for n in names)
    for name in names:
        book = open_workbook(folder / name)
        first = next(iter(book.rows("Cover_sheet")))
        assert "SYNTHETIC DEMO DATA" in str(first[0])


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    small = {"first_year": "2019/20", "last_year": "2021/22", "pfa_first_year": "2019/20"}
    cfg = generator.load_config(overrides=small)
    generator.write_demo(tmp_path / "a", cfg)
    generator.write_demo(tmp_path / "b", cfg)
    generator.write_demo(tmp_path / "c", generator.load_config(overrides=dict(small, seed=7)))
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(files) == 5
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "truth.json").read_bytes() != (tmp_path / "c" / "truth.json").read_bytes()


def test_link_slope_zero_allowed_and_bad_config_refused(tmp_path):
    cfg = generator.load_config(
        overrides={
            "link_slope": 0,
            "first_year": "2019/20",
            "last_year": "2021/22",
            "pfa_first_year": "2019/20",
        }
    )
    data = generator.simulate(cfg)
    assert data.truth["link_slope"] == 0
    with pytest.raises(InputError, match="'link_slop' is not a generator parameter"):
        generator.load_config(overrides={"link_slop": 0})
    bad = tmp_path / "bad.toml"
    bad.write_text("link_slope = [")
    with pytest.raises(InputError, match="not valid TOML"):
        generator.load_config(bad)
    with pytest.raises(InputError, match="between 0 and 1"):
        generator.load_config(overrides={"stalking": {"charge_rate": {"2020/21": 1.5}}})


def test_schema_violation_is_refused_before_writing(demo_store, tmp_path):
    path, quality = demo_store
    st = store.load_store(path)
    bad = st.outcomes.copy()
    bad.loc[0, "quarter"] = 5
    with pytest.raises(InputError, match="outcomes table failed its schema check"):
        store.write_store(tmp_path / "s", bad, st.recorded, quality)
    assert not (tmp_path / "s" / store.OUTCOMES_FILE).exists()


def test_ingest_without_a_pfa_table(demo, tmp_path):
    folder, _ = demo
    src = tmp_path / "src"
    shutil.copytree(folder, src)
    next(src.glob("*prc-pfa*")).unlink()
    for extra in list(src.glob("*mar20*"))[2:]:
        extra.unlink()
    v = ingest.ingest(str(src), tmp_path / "store")
    st = store.load_store(tmp_path / "store")
    assert st.recorded.empty and list(st.recorded.columns)[-2:] == ["source_file", "source_sha256"]
    assert any("no PFA recorded-crime table" in n for n in v["notes"])


def test_parallel_ingest_gives_the_same_store_and_stops_on_an_error(demo, demo_store, tmp_path):
    folder, _ = demo
    serial, _ = demo_store
    ingest.ingest(str(folder), tmp_path / "par", jobs=2)
    for name in ("outcomes.parquet", "recorded_offences.parquet", "quality.json"):
        assert (tmp_path / "par" / name).read_bytes() == (serial / name).read_bytes(), name
    broken = tmp_path / "src"
    shutil.copytree(folder, broken)
    victim = next(broken.glob("*mar2022*"))
    victim.write_text("<html>Service unavailable</html>")
    with pytest.raises(InputError, match=f"{victim.name} is not a xlsx workbook: it is an HTML page"):
        ingest.ingest(str(broken), tmp_path / "par", jobs=2)
    assert (tmp_path / "par" / "outcomes.parquet").read_bytes() == (serial / "outcomes.parquet").read_bytes()
