"""OS errors a person causes with the paths they give: a file where a folder is needed, a folder
where a file is, a name longer than the file system allows, a folder that cannot be written.
Each is one line naming the person's path and what to do, exit 2, no traceback (unless --debug).
None of these touches the network."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.errors import os_error_facts

LONG = "a" * 300
# Three years of demo data: quick to generate and to read.
SMALL_DEMO = 'first_year = "2019/20"\npfa_first_year = "2019/20"\nlast_year = "2021/22"\n'


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """A small demo folder, written once per session by the command itself."""
    base = tmp_path_factory.mktemp("os-errors")
    cfg = base / "small.toml"
    cfg.write_text(SMALL_DEMO)
    folder = base / "demo-files"
    assert main(["demo-data", "--out", str(folder), "--config", str(cfg)]) == 0
    return folder


@pytest.fixture()
def no_network(monkeypatch):
    """Any HTTP request fails the test (recorded: fetch catches what requests raise)."""
    import requests

    calls: list[str] = []

    def refuse(*args, **kwargs):
        calls.append(repr(args[:3]))
        raise AssertionError("the network was touched")

    monkeypatch.setattr(requests.Session, "request", refuse)
    monkeypatch.setattr(requests, "head", refuse)
    monkeypatch.setattr(requests, "get", refuse)
    yield calls
    assert calls == [], calls


@pytest.fixture()
def a_file(tmp_path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("a file, not a folder\n")
    return path


def _fails_plainly(argv: list[str], named: Path | str, capsys, *words: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(named) in err, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err
    return err


def test_demo_data_out_is_a_file(a_file, capsys):
    _fails_plainly(
        ["demo-data", "--out", str(a_file)], a_file, capsys, "is a file, not a folder", "choose another --out"
    )
    assert a_file.read_text() == "a file, not a folder\n"


def test_demo_data_out_is_under_a_file(a_file, capsys):
    err = _fails_plainly(
        ["demo-data", "--out", str(a_file / "sub")], a_file, capsys, "is a file, not a folder"
    )
    assert err.startswith(f"error: {a_file} is a file")  # the file in the way, not a path under it


def test_demo_data_out_name_too_long(tmp_path, capsys):
    out = tmp_path / LONG
    _fails_plainly(["demo-data", "--out", str(out)], out, capsys, "300 bytes long", "choose a shorter --out")


def test_demo_data_config_is_a_folder(tmp_path, capsys):
    _fails_plainly(
        ["demo-data", "--out", str(tmp_path / "d"), "--config", str(tmp_path)],
        tmp_path,
        capsys,
        "is a folder, not a file",
        "choose another --config",
    )


def test_ingest_store_is_a_file(small_demo, a_file, capsys):
    argv = ["ingest", "--source", str(small_demo), "--store", str(a_file), "--jobs", "1"]
    _fails_plainly(argv, a_file, capsys, "is a file, not a folder", "choose another --store")
    assert a_file.read_text() == "a file, not a folder\n"


def test_ingest_store_name_too_long(small_demo, tmp_path, capsys):
    store = tmp_path / LONG
    argv = ["ingest", "--source", str(small_demo), "--store", str(store), "--jobs", "1"]
    _fails_plainly(argv, store, capsys, "300 bytes long", "choose a shorter --store")


@pytest.mark.parametrize("check", [["--check"], []])
def test_fetch_raw_is_a_file(a_file, no_network, capsys, check):
    _fails_plainly(
        ["fetch", "--raw", str(a_file), *check], a_file, capsys, "is a file, not a folder", "--raw"
    )


def test_fetch_raw_name_too_long(tmp_path, no_network, capsys):
    raw = tmp_path / LONG
    _fails_plainly(["fetch", "--raw", str(raw), "--check"], raw, capsys, "300 bytes long", "--raw")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_demo_data_into_a_read_only_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        _fails_plainly(["demo-data", "--out", str(locked / "d")], locked, capsys, "permission denied")
    finally:
        locked.chmod(0o700)


def test_debug_still_shows_the_traceback(a_file):
    with pytest.raises(FileExistsError):
        main(["--debug", "demo-data", "--out", str(a_file)])


def test_the_person_s_path_is_named_not_a_temporary_file(tmp_path, monkeypatch, capsys):
    """os.replace(tmp, target) onto a folder names the hidden temporary first: the message names
    the target."""
    from analysis.demo import generator

    target = tmp_path / "d" / "truth.json"
    hidden = tmp_path / "d" / ".truth.json.tmp123"

    def fail(out, cfg):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(hidden), None, str(target))

    monkeypatch.setattr(generator, "write_demo", fail)
    err = _fails_plainly(
        ["demo-data", "--out", str(tmp_path / "d")], target, capsys, "is a folder, not a file"
    )
    assert ".tmp123" not in err and "choose another --out" in err


def test_a_file_in_the_way_is_found_on_either_path(tmp_path, a_file):
    exc = NotADirectoryError(errno.ENOTDIR, "Not a directory", str(a_file / "x"), None, str(tmp_path / "ok"))
    code, facts = os_error_facts(exc, {"out": a_file / "x"})
    assert code == errno.ENOTDIR and facts["path"] == str(a_file)
    assert facts["choose"] == "choose another --out"
    # EEXIST of a folder that is really there is not "a file": it says the path exists
    code, facts = os_error_facts(FileExistsError(errno.EEXIST, "File exists", str(tmp_path)), {})
    assert code == errno.EEXIST and facts["path"] == str(tmp_path)
    assert "--out, --store, --raw" in facts["choose"]


@pytest.mark.parametrize(
    "code,words",
    [
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOSPC, "the disk is full"),
    ],
)
def test_a_folder_that_cannot_be_written(tmp_path, monkeypatch, capsys, code, words):
    """Read-only, unwritable or full (simulated: the tests may run as root, who writes anyway)."""
    from analysis.demo import generator

    target = tmp_path / "d" / "truth.json"

    def fail(out, cfg):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(generator, "write_demo", fail)
    _fails_plainly(["demo-data", "--out", str(tmp_path / "d")], target, capsys, words, "choose another --out")


@pytest.mark.parametrize("command", ["tables", "analyse", "run"])
def test_out_is_a_file_for_every_command_that_writes_a_site_or_tables(
    command, demo_store, a_file, tmp_path, monkeypatch, capsys
):
    """`tables`, `analyse` and `run` given an --out that is a file: one line naming it, exit 2,
    the file untouched (before any work: no model is fitted first)."""
    import shutil

    store, _ = demo_store
    proj = tmp_path / "proj"
    (proj / "notebooks").mkdir(parents=True)
    shutil.copytree(store, proj / "data" / "processed" / "demo")
    monkeypatch.chdir(proj)
    argv = {
        "tables": ["tables", "--source", "demo"],
        "analyse": ["analyse", "--source", "demo", "--no-figures"],
        "run": ["run", "--source", "demo", "--forces", "Kent"],
    }[command]
    _fails_plainly([*argv, "--out", str(a_file)], a_file, capsys, "is a file, not a folder", "--out")
    assert a_file.read_text() == "a file, not a folder\n"
