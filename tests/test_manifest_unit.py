"""The run's record (analysis.runs.manifest) without a run: what `build` records, the plain-text
summary, `write` (summary, index, manifest listing the sha256 of every file the package wrote
and of no other) read back by `previous` and owned by `publish.owned`, hand edits showing
against it, and ad-hoc tables recorded."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from site_tables import write_national

from analysis import __version__, outputs
from analysis.reports import provenance
from analysis.runs import manifest, publish
from analysis.runs.runner import JobResult

ROOT = Path(__file__).resolve().parents[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _results() -> list[JobResult]:
    return [
        JobResult("forces/cumbria", "failed", "k2", 1.5, "ValueError: bad", 7, 1, {"force": "Cumbria"}),
        JobResult("forces/kent", "ok", "k1", 2.0, parameters={"force": "Kent"}, files={".html": "h"}),
        JobResult("national/national_trends", "skipped", "k0", page_key="p"),
    ]


def _build(root: Path, results: list[JobResult] | None = None, synthetic: bool = True, **over) -> dict:
    fields = dict(
        source="demo",
        offence="8Q",
        synthetic=synthetic,
        root=root,
        code="c" * 64,
        lock="l" * 64,
        national_key="n" * 64,
        inputs={"store/outcomes.parquet": "i"},
        executor="local",
        jobs=2,
        started=time.time() - 90,
        results=_results() if results is None else results,
        published={outputs.HEADLINES.relpath(): "p"},
    )
    return manifest.build(**(fields | over))


def test_build_records_the_run_and_each_notebook_by_name(tmp_path):
    record = _build(tmp_path)
    assert record["source"] == "demo" and record["offence"] == "8Q" and record["synthetic"] is True
    assert record["code_sha256"] == "c" * 64 and record["lock_sha256"] == "l" * 64
    assert record["national_key"] == "n" * 64 and record["executor"] == "local" and record["jobs"] == 2
    assert record["inputs"] == {"store/outcomes.parquet": "i"}
    assert record["published"] == {outputs.HEADLINES.relpath(): "p"}
    assert record["code_commit"] == "unknown"  # tmp_path is no git checkout
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.fullmatch(stamp, record["started"]) and re.fullmatch(stamp, record["finished"])
    assert record["started"] < record["finished"]  # 90 s apart, both UTC
    nbs = record["notebooks"]
    assert list(nbs) == ["forces/cumbria", "forces/kent", "national/national_trends"]
    assert nbs["forces/cumbria"] == {
        "status": "failed",
        "key": "k2",
        "seconds": 1.5,
        "error": "ValueError: bad",
        "cell": 7,
        "attempts": 1,
        "parameters": {"force": "Cumbria"},
        "files": {},
        "page_key": "",
        "export_seconds": 0.0,
    }
    assert nbs["forces/kent"]["files"] == {".html": "h"}
    assert nbs["national/national_trends"]["page_key"] == "p"
    json.dumps(record)  # all of it JSON


def test_build_names_the_packages_and_the_code_version():
    packages = manifest._packages()
    assert packages["stalking-outcomes"] == __version__
    assert re.fullmatch(r"3\.\d+\.\d+.*", packages["python"])
    assert set(packages) - {"python", "stalking-outcomes"} <= set(manifest.KEY_PACKAGES)
    assert "pandas" in packages and "numpy" in packages


def test_a_package_that_is_not_installed_is_left_out(monkeypatch):
    monkeypatch.setattr(manifest, "KEY_PACKAGES", ("pandas", "no-such-package-for-this-test"))
    assert set(manifest._packages()) == {"python", "stalking-outcomes", "pandas"}


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_code_commit_is_the_checkouts_head():
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    assert provenance.code_commit(str(ROOT)) == head.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", head.strip())


@pytest.mark.parametrize(
    "error", [FileNotFoundError(2, "No such file", "git"), subprocess.TimeoutExpired(["git"], 10)]
)
def test_the_code_commit_is_unknown_without_git(monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(provenance.subprocess, "run", fail)
    assert provenance.code_commit(str(ROOT)) == "unknown"


def test_summary_counts_each_status_and_names_each_failure(tmp_path):
    text = manifest.summary_text(_build(tmp_path))
    lines = text.splitlines()
    assert lines[0] == "Run of source 'demo' (GENERATED DEMO DATA)"
    assert lines[1] == "code unknown, executor local x2"
    assert lines[2] == "notebooks: 1 ran, 1 unchanged (skipped), 1 failed"
    assert lines[3:] == ["FAILED forces/cumbria: ValueError: bad (cell 7)"]
    record = _build(tmp_path, results=[JobResult("forces/kent", "ok", "k")], synthetic=False)
    record["code_commit"] = "0123456789abcdef"
    assert manifest.summary_text(record).splitlines() == [
        "Run of source 'demo' (Home Office data)",
        "code 0123456789ab, executor local x2",
        "notebooks: 1 ran, 0 unchanged (skipped), 0 failed",
    ]


def _written(tmp_path: Path, foreign: tuple[str, ...] = ()) -> tuple[Path, dict]:
    out = tmp_path / "site"
    write_national(out)
    for rel in foreign:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("not the package's")
    outputs.LOCK.path(out).write_text("{}")
    record = _build(tmp_path)
    manifest.write(record, out, foreign)
    return out, record


def test_write_lists_the_sha256_of_every_file_the_package_wrote_and_of_no_other(tmp_path):
    foreign = ("notes.txt", "tables/mine.csv")
    out, record = _written(tmp_path, foreign)
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    skip = {*foreign, outputs.LOCK.relpath(), outputs.MANIFEST.relpath()}
    assert set(record["files"]) == on_disk - skip
    for rel, sha in record["files"].items():
        assert sha == _sha(out / rel), rel
    # the run's summary, the index, the methods page and the force CSVs are among them
    for o in (outputs.RUN_SUMMARY, outputs.INDEX, outputs.METHODS):
        assert o.relpath() in record["files"]
    assert outputs.FORCE_CSV.relpath(slug="kent") in record["files"]
    assert outputs.RUN_SUMMARY.load(out) == manifest.summary_text(record) + "\n"
    # read back whole; owned() covers every file but the foreign ones (and the lock)
    assert manifest.previous(out) == record
    assert publish.owned(manifest.previous(out)) >= on_disk - {*foreign, outputs.LOCK.relpath()}
    assert not publish.owned(manifest.previous(out)) & set(foreign)


def test_a_hand_edited_output_no_longer_matches_its_manifest(tmp_path):
    out, record = _written(tmp_path)
    index = outputs.INDEX.path(out)
    index.write_text(index.read_text() + "<!-- edited -->")
    now = publish.hashes(out, ())
    changed = {rel for rel in record["files"] if now.get(rel) != record["files"][rel]}
    assert changed == {outputs.INDEX.relpath()}


def test_previous_of_a_folder_without_a_manifest_is_empty(tmp_path):
    assert manifest.previous(tmp_path) == {}
    assert manifest.previous(tmp_path / "missing") == {}


def test_adhoc_tables_are_added_to_the_manifest_and_owned(tmp_path):
    out, record = _written(tmp_path)
    heads = outputs.HEADLINES.path(out)
    heads.write_text(heads.read_text() + "\n")  # an ad-hoc `tables` rewrote it
    manifest.record_adhoc(out, [heads])
    after = manifest.previous(out)
    assert after["adhoc"] == {outputs.HEADLINES.relpath(): _sha(heads)}
    assert {k: v for k, v in after.items() if k != "adhoc"} == record  # the rest as it was
    fig = outputs.FUNNEL_FIGURE.path(out, year="2020/21")
    manifest.record_adhoc(out, [fig])  # a second ad-hoc command adds to the list
    assert set(manifest.previous(out)["adhoc"]) == {
        outputs.HEADLINES.relpath(),
        outputs.FUNNEL_FIGURE.relpath(year="2020/21"),
    }
    assert outputs.HEADLINES.relpath() in publish.owned(manifest.previous(out))


def test_adhoc_tables_in_a_folder_with_no_run_start_a_manifest(tmp_path):
    out = tmp_path / "tables-only"
    (path,) = [p for p in write_national(out) if p.name == outputs.HEADLINES.path(out).name]
    manifest.record_adhoc(out, [path])
    assert manifest.previous(out) == {"adhoc": {outputs.HEADLINES.relpath(): _sha(path)}}
