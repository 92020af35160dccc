"""Own only what you wrote, publish all or nothing (issue: lose nothing, mislabel nothing, never
publish half a site). Fast tests of the publishing steps; the slow ones run whole runs with
faults injected: a user's folder as --out, a failed national fit, an ingest during a run, a
template edit."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from analysis import outputs
from analysis.cli import main
from analysis.errors import InputError
from analysis.runs import lock, publish, runner

ROOT = Path(__file__).resolve().parents[2]


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_a_folder_with_someone_elses_files_and_no_manifest_is_refused(tmp_path):
    u = tmp_path / "U"
    (u / "tables").mkdir(parents=True)
    (u / "national" / "mine").mkdir(parents=True)
    (u / "tables" / "a.csv").write_text("mine")
    (u / "national" / "mine" / "x").write_text("mine too")
    with pytest.raises(InputError, match=r"holds files this package did not write \(national/mine/x"):
        publish.check_owned(u, {})
    publish.check_owned(u, {"files": {}})  # a manifest: an earlier run's folder
    publish.check_owned(tmp_path / "new", {})  # no folder yet
    empty = tmp_path / "empty"
    (empty / outputs.LOCK.pattern).parent.mkdir(parents=True)
    (empty / outputs.LOCK.pattern).write_text("")
    publish.check_owned(empty, {})  # only the lock
    ours = tmp_path / "ours"
    (ours / "tables").mkdir(parents=True)
    (ours / "tables" / "force_year.csv").write_text("x")  # an older version's ad-hoc tables
    publish.check_owned(ours, {})


def test_run_out_into_a_users_folder_exits_2_and_deletes_nothing(tmp_path, monkeypatch, capsys):
    """The reproduction in the issue: before, `run --out U` removed both files, exit 0."""
    u = tmp_path / "U"
    (u / "tables").mkdir(parents=True)
    (u / "national" / "mine").mkdir(parents=True)
    (u / "tables" / "a.csv").write_text("mine")
    (u / "national" / "mine" / "x").write_text("mine too")
    before = _tree(u)
    monkeypatch.chdir(ROOT)  # the project folder: run finds notebooks/ there
    code = main(["run", "--source", "demo", "--out", str(u), "--forces", "Kent"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "holds files this package did not write" in err and str(u) in err
    assert _tree(u) == before


def _site(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)


def test_only_files_the_manifest_lists_are_dropped_and_everything_else_is_carried(tmp_path):
    out = tmp_path / "site"
    _site(
        out,
        {
            "index.html": "old index",
            "tables/force_year.csv": "old",
            "forces/kent.html": "old kent",
            "forces/notes.html": "the user's notes",
            "national/thesis.ipynb": "the user's thesis",
            "national/mine/x": "a user's folder",
        },
    )
    (out / "forces" / "linked").symlink_to(tmp_path, target_is_directory=True)  # a user's link
    previous = {
        "files": {"index.html": "h"},
        "published": {"tables/force_year.csv": "h"},
        "notebooks": {"forces/kent": {"status": "ok", "files": {".html": "h"}}},
    }
    nxt = publish.start(out)
    foreign = publish.carry_foreign(out, nxt, previous)
    assert sorted(foreign) == [
        "forces/linked",
        "forces/notes.html",
        "national/mine/x",
        "national/thesis.ipynb",
    ]
    assert (nxt / "forces" / "linked").is_symlink()
    assert (nxt / "forces" / "notes.html").read_text() == "the user's notes"
    assert not (nxt / "index.html").exists() and not (nxt / "forces" / "kent.html").exists()
    # the carried file is the same file (a hard link), not a copy
    assert (
        os.stat(nxt / "national" / "thesis.ipynb").st_ino == os.stat(out / "national" / "thesis.ipynb").st_ino
    )
    (nxt / "index.html").write_text("new index")
    publish.swap(nxt, out)
    assert (out / "index.html").read_text() == "new index"
    assert (out / "national" / "mine" / "x").read_text() == "a user's folder"
    assert (out / "forces" / "linked").is_symlink() and (tmp_path / "site").exists()
    assert not publish.next_folder(out).exists()
    assert "forces/notes.html" not in publish.hashes(out, foreign)


def test_an_abandoned_build_leaves_the_site_byte_for_byte(tmp_path):
    out = tmp_path / "site"
    _site(out, {"index.html": "old", "tables/force_year.csv": "old", "forces/kent.html": "old"})
    before = _tree(out)
    nxt = publish.start(out)
    publish.carry(out, nxt, ["tables/force_year.csv"])
    (nxt / "index.html").write_text("half a new site")
    publish.abandon(out)
    assert _tree(out) == before and not nxt.exists()
    # a later run starts clean, whatever a killed one left
    (nxt / "stale").mkdir(parents=True)
    assert list(publish.start(out).iterdir()) == []


def test_the_lock_holds_on_the_new_site_after_the_swap(tmp_path):
    out = tmp_path / "site"
    with lock.output_lock(out):
        nxt = publish.start(out)
        publish.carry_foreign(out, nxt, {})
        publish.swap(nxt, out)
        with pytest.raises(InputError, match="is writing into"), lock.output_lock(out):
            pass


def test_ingest_is_refused_while_a_run_reads_the_store(tmp_path, capsys):
    store = tmp_path / "store"
    with lock.store_lock(store, shared=True):
        with lock.store_lock(store, shared=True):  # two readers at once are fine
            pass
        code = main(["ingest", "--source", str(tmp_path), "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2 and "another command is reading the store" in err
    assert not store.exists()  # nothing written


def test_the_lock_file_is_not_part_of_the_stores_identity(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "outcomes.parquet").write_bytes(b"x")
    key = runner.national_key("c", "l", "8Q", store)
    with lock.store_lock(store, shared=True):
        assert runner.national_key("c", "l", "8Q", store) == key
        assert lock.store_lock_file(store).exists() and sorted(store.iterdir()) == [
            store / "outcomes.parquet"
        ]


def test_template_edits_change_the_page_key_not_the_run_key(tmp_path, monkeypatch):
    """Both keys are taken over a copy of the package, whose templates the test edits: a copy of
    the page templates alone would leave the package that code_hash reads untouched, and its
    check could not fail."""
    package = tmp_path / "analysis"
    shutil.copytree(
        Path(runner.__file__).resolve().parents[1], package, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(runner, "__file__", str(package / "runs" / "runner.py"))
    monkeypatch.setattr(runner, "PAGE_TEMPLATES", package / "reports" / "templates" / "page")
    code, pages = runner.code_hash(), runner.page_hash()
    page = runner.PAGE_TEMPLATES / "index.html.j2"
    page.write_text(page.read_text() + "\n{# edited #}\n")
    assert runner.page_hash() != pages
    assert runner.code_hash() == code  # the page templates are not part of the notebooks' key
    site_page = package / "reports" / "templates" / "site" / "index.html.j2"
    site_page.write_text(site_page.read_text() + "\n{# edited #}\n")
    assert runner.code_hash() != code  # the site's templates are


def test_a_manifest_lists_every_file_the_run_wrote(tmp_path):
    """owned(): reports by suffix and figures by name, national tables, site files."""
    record = {
        "files": {"index.html": "h", "forces/kent.csv": "h"},
        "published": {"tables/force_year.csv": "h"},
        "adhoc": {"tables/headlines.csv": "h"},
        "notebooks": {"forces/kent": {"files": {".html": "h", "/trends.png": "h"}}},
    }
    assert publish.owned(record) == {
        "index.html",
        "forces/kent.csv",
        "tables/force_year.csv",
        "tables/headlines.csv",
        "forces/kent.html",
        "forces/kent/trends.png",
        outputs.MANIFEST.relpath(),
    }


def test_a_folder_named_like_a_built_in_source_is_refused(tmp_path, capsys):
    """Before, `ingest --source /x/homeoffice` overwrote data/processed/homeoffice and the pages
    labelled the copied demo files 'Data: Home Office'."""
    folder = tmp_path / "homeoffice"
    folder.mkdir()
    (folder / "truth.json").write_text("{}")
    for argv in (["ingest", "--source", str(folder)], ["run", "--source", str(folder), "--forces", "Kent"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "would share the store and outputs of the built-in source 'homeoffice'" in err
    assert not (tmp_path / "data").exists()


def _project(tmp_path: Path, demo_store) -> Path:
    store, _ = demo_store
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
    shutil.copytree(store, proj / "data" / "processed" / "demo")
    return proj


def _matches_its_manifest(out: Path) -> None:
    import hashlib

    record = json.loads(outputs.MANIFEST.path(out).read_text())
    assert len(record["files"]) > 40
    for rel, sha in record["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == sha, rel


@pytest.mark.slow
def test_a_failed_national_fit_leaves_the_previous_site_as_its_manifest_says(
    tmp_path, demo_store, monkeypatch
):
    """Before, a failed national fit left 15 new tables beside the old pages."""
    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    out = proj / "outputs" / "demo"
    assert main(["run", "--source", "demo", "--forces", "Kent", "--jobs", "1"]) == 0
    _matches_its_manifest(out)
    (out / "forces" / "notes.html").write_text("a user's notes")
    before = {k: v for k, v in _tree(out).items() if k != outputs.LOCK.pattern}
    real = runner.fit_national

    def half_then_fail(st, nxt, offence):
        real(st, nxt, offence)  # every table written into the new site, then the fit fails
        raise InputError("funnel: missing count for Kent")

    monkeypatch.setattr(runner, "fit_national", half_then_fail)
    # a whole --rerun refits the national models (a force's --rerun reuses them while unchanged)
    assert main(["run", "--source", "demo", "--rerun", "--jobs", "1"]) == 2
    assert {k: v for k, v in _tree(out).items() if k != outputs.LOCK.pattern} == before
    _matches_its_manifest(out)
    assert not publish.next_folder(out).exists()
    monkeypatch.setattr(runner, "fit_national", real)
    assert main(["run", "--source", "demo", "--forces", "Kent", "--jobs", "1"]) == 0
    assert (out / "forces" / "notes.html").read_text() == "a user's notes"


@pytest.mark.slow
def test_a_page_template_edit_remakes_every_page_and_executes_no_notebook(tmp_path, demo_store, monkeypatch):
    from analysis.reports import site

    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    out = proj / "outputs" / "demo"
    assert main(["run", "--source", "demo", "--forces", "Kent", "--jobs", "1"]) == 0
    notebooks = {p: p.read_bytes() for p in sorted(out.rglob("*.ipynb"))}
    templates = tmp_path / "templates"
    shutil.copytree(site.TEMPLATES, templates)
    page = templates / "page" / "index.html.j2"
    page.write_text(page.read_text().replace("</header>", "<p>EDITED TEMPLATE</p></header>"))
    monkeypatch.setattr(site, "TEMPLATES", templates)
    monkeypatch.setattr(runner, "PAGE_TEMPLATES", templates / "page")
    runner._EXPORTERS.__dict__.clear()
    assert main(["run", "--source", "demo", "--forces", "Kent", "--jobs", "1"]) == 0
    record = json.loads(outputs.MANIFEST.path(out).read_text())
    assert {v["status"] for v in record["notebooks"].values()} == {"skipped"}  # nothing executed
    assert {p: p.read_bytes() for p in sorted(out.rglob("*.ipynb"))} == notebooks
    pages = sorted(out.glob("*/*.html"))
    assert len(pages) == 2 * (4 + 1)
    assert all("EDITED TEMPLATE" in p.read_text() for p in pages)
    _matches_its_manifest(out)
    runner._EXPORTERS.__dict__.clear()


@pytest.mark.slow
def test_an_offence_run_writes_beside_stalking_and_changes_none_of_its_files(
    tmp_path, demo_store, monkeypatch
):
    """`run --offence 8L` writes harassment's site into outputs/demo-8L, every title saying
    harassment, and leaves stalking's site byte for byte as it was."""
    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    out = proj / "outputs" / "demo"
    assert main(["run", "--source", "demo", "--forces", "Kent", "--jobs", "1"]) == 0
    before = _tree(out)
    assert main(["run", "--source", "demo", "--forces", "Kent", "--offence", "8L", "--jobs", "1"]) == 0
    assert _tree(out) == before
    harassment = proj / "outputs" / "demo-8L"
    _matches_its_manifest(harassment)
    assert json.loads(outputs.MANIFEST.path(harassment).read_text())["offence"] == "8L"
    assert set(outputs.FORCE_YEAR.load(harassment)["offence_code"].astype(str)) == {"8L"}
    assert outputs.LINK_MODEL.load(harassment)["offence"] == "8L"
    pages = [*sorted(harassment.glob("*/*.html")), outputs.INDEX.path(harassment)]
    assert len(pages) == 2 * (4 + 1) + 1
    for page in pages:
        title = page.read_text().split("<title>", 1)[1].split("</title>", 1)[0]
        assert "stalking" not in title.lower(), (page, title)
        if "method_validation" not in page.name:  # the method study is about the methods
            assert "harassment" in title.lower(), (page, title)
