"""Runs under faults, as an operator of scheduled runs meets them: a run killed by SIGTERM or
SIGKILL, ad-hoc tables before or during a run, tampered outputs, a worker killed mid-run, an
output that cannot be installed, and a run of one force into a full site. (Implausible counts:
test_plausibility.py beside this file; bad downloads: tests/sources/test_fetch.py.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.runs import lock, publish, runner

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, "-m", "analysis", "run", "--source", "demo", "--jobs", "2"]


def _project(tmp_path: Path, demo_store) -> Path:
    store, _ = demo_store
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
    shutil.copytree(store, proj / "data" / "processed" / "demo")
    return proj


def _session_processes(sid: int) -> list[str]:
    """The processes still alive in a session (the killed run, its workers and their kernels)."""
    ps = subprocess.run(["ps", "-eo", "pid=,sid=,stat=,args="], capture_output=True, text=True).stdout
    alive = []
    for line in ps.splitlines():
        pid, s, stat, *args = line.split()
        if int(s) == sid and not stat.startswith("Z"):
            alive.append(f"{pid} {' '.join(args)[:80]}")
    return alive


def _statuses(out: Path) -> dict[str, str]:
    return {k: v["status"] for k, v in json.loads((out / "manifest.json").read_text())["notebooks"].items()}


def _staged(out: Path) -> list[Path]:
    """Notebooks a run is executing into its staging folder (in the new site it builds)."""
    return list((publish.next_folder(out) / ".staging").glob("*/*.ipynb"))


def _wait_for_notebooks(out: Path, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and not _staged(out):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    assert _staged(out), "the run never reached the notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_run_leaves_no_process_and_no_lock(tmp_path, demo_store, sig):
    """Kill the run's parent alone (as kill, systemd or CI cancellation do): within 10 s no
    process of the run is left, the next run takes the lock and finishes, and the outputs of
    the first run are whole. Before the fix the workers lived on, holding the lock for good."""
    proj = _project(tmp_path, demo_store)
    out = proj / "outputs" / "demo"
    cmd = [*RUN, "--forces", "Kent", "Cumbria", "Surrey"]
    subprocess.run(cmd, cwd=proj, check=True, capture_output=True)
    before = {p: p.read_bytes() for p in (out / "forces").glob("*.html")}
    proc = subprocess.Popen(
        [*cmd, "--rerun"], cwd=proj, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    _wait_for_notebooks(out, proc)
    os.kill(proc.pid, sig)
    proc.communicate(timeout=60)
    deadline = time.time() + 10
    while _session_processes(proc.pid) and time.time() < deadline:
        time.sleep(0.5)
    assert _session_processes(proc.pid) == [], "processes of the killed run are still running"
    for path, data in before.items():
        assert path.read_bytes() == data, path  # nothing half-written was installed
    again = subprocess.run(cmd, cwd=proj, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert not (out / ".staging").exists()
    assert not publish.next_folder(out).exists()


def test_adhoc_tables_during_a_run_are_refused(tmp_path, demo_store, monkeypatch, capsys):
    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    out = proj / "outputs" / "demo"
    with lock.output_lock(out):  # a run holds the folder
        assert main(["tables", "--source", "demo", "--year", "2019/20"]) == 2
        assert main(["analyse", "--source", "demo", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "another run (pid" in err and "is writing into" in err
    assert not (out / "tables").exists()


@pytest.mark.slow
def test_adhoc_tables_before_a_run_are_replaced_by_the_published_ones(
    tmp_path, demo_store, monkeypatch, capsys
):
    """Ad-hoc `analyse`/`tables` with other settings, then `run`: before the fix the run kept the
    ad-hoc tables (a bootstrap p of 0.2 from 9 draws, another headline year) and rebuilt every
    report on them, exit 0. Now it sees tables that are not those it published and refits."""
    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    out = proj / "outputs" / "demo"
    assert main(["run", "--source", "demo", "--forces", "Kent", "--jobs", "2"]) == 0
    published = {p.name: p.read_bytes() for p in (out / "tables").glob("*")}
    assert (
        main(
            [
                "analyse",
                "--source",
                "demo",
                "--bootstrap-reps",
                "9",
                "--permutations",
                "9",
                "--year",
                "2020/21",
            ]
        )
        == 0
    )
    assert main(["tables", "--source", "demo", "--year", "2020/21"]) == 0
    assert "the next 'stalking-outcomes run' will rebuild" in capsys.readouterr().out
    assert (out / "tables" / "link_model.json").read_bytes() != published["link_model.json"]
    assert main(["run", "--source", "demo", "--forces", "Kent", "--jobs", "2"]) == 0
    assert {p.name: p.read_bytes() for p in (out / "tables").glob("*")} == published
    # the refit restored the published tables byte for byte, so the reports made from them stand
    # (before the fix every report was rebuilt on the ad-hoc tables)
    assert set(_statuses(out).values()) == {"skipped"}


@pytest.mark.slow
def test_tampered_outputs_are_rebuilt_and_other_files_kept(tmp_path, demo_store, monkeypatch):
    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    out = proj / "outputs" / "demo"
    assert main(["run", "--source", "demo", "--forces", "Kent", "Cumbria", "Surrey", "--jobs", "2"]) == 0
    (out / "forces" / "kent.html").unlink()
    surrey = out / "forces" / "surrey.ipynb"
    surrey.write_bytes(surrey.read_bytes()[:100])
    (out / "forces" / "cumbria.nocode.html").write_text("")
    shutil.copy(out / "figures" / "caterpillar.png", out / "figures" / "mine.png")  # a user's file
    (out / "forces" / "devon-and-cornwall.html").write_text("a report no run made")
    assert main(["run", "--source", "demo", "--forces", "Kent", "Cumbria", "Surrey", "--jobs", "2"]) == 0
    status = _statuses(out)
    for name in ("forces/kent", "forces/surrey", "forces/cumbria"):
        assert status[name] == "ok", name  # re-executed: their files were not as recorded
    assert (out / "figures" / "mine.png").exists()  # the package removes only files it wrote
    assert (out / "forces" / "devon-and-cornwall.html").exists()  # a run of some forces prunes no report
    assert (out / "forces" / "kent.html").stat().st_size > 1000
    index = (out / "index.html").read_text()
    for name in ("kent", "surrey", "cumbria"):
        assert f"forces/{name}.html" in index


@pytest.mark.slow
def test_a_run_of_one_force_keeps_the_others_in_the_site(tmp_path, demo_store, monkeypatch):
    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    out = proj / "outputs" / "demo"
    assert main(["run", "--source", "demo", "--forces", "Kent", "Cumbria", "--jobs", "2"]) == 0
    assert main(["run", "--source", "demo", "--forces", "Kent", "--jobs", "2"]) == 0
    status = _statuses(out)
    assert status["forces/kent"] == "skipped" and status["forces/cumbria"] == "skipped"
    assert "forces/cumbria.html" in (out / "index.html").read_text()


@pytest.mark.slow
def test_a_worker_killed_mid_run_costs_a_retry_not_the_run(tmp_path, demo_store):
    proj = _project(tmp_path, demo_store)
    out = proj / "outputs" / "demo"
    proc = subprocess.Popen(
        [*RUN, "--forces", "Kent", "Cumbria", "Surrey"],
        cwd=proj,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _wait_for_notebooks(out, proc)
    ps = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True)
    workers = [int(p) for p in ps.stdout.split()]
    assert workers, "no worker processes found"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert set(_statuses(out).values()) == {"ok"}
    assert all((out / "forces" / f"{n}.html").exists() for n in ("kent", "cumbria", "surrey"))


@pytest.mark.slow
def test_an_output_that_cannot_be_installed_fails_that_notebook_alone(
    tmp_path, demo_store, monkeypatch, capsys
):
    """A full disk or an unwritable folder while installing one report: that report is listed
    as failed with the reason; the others, the manifest and the index are written."""
    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    out = proj / "outputs" / "demo"
    real = runner._install

    def full_disk_for_kent(result, stage, dest):
        if result.name == "forces/kent":
            raise OSError(28, "No space left on device", str(dest / "forces" / "kent.html"))
        real(result, stage, dest)

    monkeypatch.setattr(runner, "_install", full_disk_for_kent)
    assert main(["run", "--source", "demo", "--forces", "Kent", "Cumbria", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "forces/kent (could not install its outputs: No space left on device" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["notebooks"]["forces/cumbria"]["status"] == "ok"
    assert manifest["notebooks"]["forces/kent"]["status"] == "failed"
    assert "forces/cumbria.html" in (out / "index.html").read_text()
