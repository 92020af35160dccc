"""The warm kernel: a notebook run in a reused kernel sees the state of a fresh one."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from analysis.runs import kernel, runner

PROBE = [
    "import warner\nwarner.warn()",
    'assert "leftover" not in globals(), "state leaked from the previous notebook"\nleftover = 1',
    "import warnings\n"
    'assert not [f for f in warnings.filters if f[1] and f[1].pattern == "probe never"], "warning filters leaked"',
    "warner.warn()",
]
# a notebook that changes the warning filters (which also voids every "once" registry)
FILTERS = [*PROBE, 'warnings.filterwarnings("error", message="probe never")']


def _probe_project(tmp_path):
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in PROBE])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "notebooks" / "probe.ipynb")
    nb.cells = [nbformat.v4.new_code_cell(c) for c in FILTERS]
    nbformat.write(nb, tmp_path / "notebooks" / "filters.ipynb")
    # a library module whose warning Python shows once per location unless the kernel is reset
    (tmp_path / "warner.py").write_text(
        "import warnings\n\ndef warn():\n    warnings.warn('probe warning', UserWarning)\n"
    )
    return tmp_path


def test_reused_kernel_is_reset_to_a_fresh_state(tmp_path):
    proj = _probe_project(tmp_path)
    stage = tmp_path / "stage"
    try:
        first = runner.execute(runner.Job("national/probe_a", "probe", {}), str(proj), str(stage), 120)
        warm = kernel._LOCAL.warm
        second = runner.execute(runner.Job("national/probe_b", "probe", {}), str(proj), str(stage), 120)
        third = runner.execute(runner.Job("national/filters", "filters", {}), str(proj), str(stage), 120)
        fourth = runner.execute(runner.Job("national/probe_d", "probe", {}), str(proj), str(stage), 120)
        assert kernel._LOCAL.warm is warm, "the kernel was not reused"
    finally:
        kernel.discard()
    assert [r.status for r in (first, second, third, fourth)] == ["ok"] * 4, (second.error, fourth.error)
    a, b = (nbformat.read(stage / f"national/probe_{n}.ipynb", as_version=4) for n in "ab")
    assert "probe warning" in "".join(o.get("text", "") for o in b.cells[0].outputs)
    assert [c.execution_count for c in b.cells] == [1, 2, 3, 4]
    assert (stage / "national/probe_d.ipynb").read_bytes() == (stage / "national/probe_a.ipynb").read_bytes()
    assert (stage / "national/probe_a.ipynb").read_bytes() == (stage / "national/probe_b.ipynb").read_bytes()
    assert nbformat.writes(a) == nbformat.writes(b)


def _variant(proj, name: str, at: int, code: str) -> None:
    """notebooks/<name>.ipynb: the probe with one cell inserted at position `at`."""
    nb = nbformat.read(proj / "notebooks" / "probe.ipynb", as_version=4)
    nb.cells.insert(at, nbformat.v4.new_code_cell(code))
    nbformat.write(nb, proj / "notebooks" / f"{name}.ipynb")


def test_a_failed_notebook_retires_its_kernel(tmp_path):
    proj = _probe_project(tmp_path)
    _variant(proj, "broken", 1, "raise RuntimeError('deliberately broken')")
    try:
        bad = runner.execute(runner.Job("national/broken", "broken", {}), str(proj), str(tmp_path / "s"), 120)
        assert bad.status == "failed" and "deliberately broken" in bad.error and bad.cell == 2
        assert getattr(kernel._LOCAL, "warm", None) is None
        good = runner.execute(runner.Job("national/probe", "probe", {}), str(proj), str(tmp_path / "s"), 120)
        assert good.status == "ok", good.error
    finally:
        kernel.discard()


def test_a_cell_past_the_timeout_fails_the_notebook_and_retires_its_kernel(tmp_path):
    proj = _probe_project(tmp_path)
    _variant(proj, "slow", 0, "import time\ntime.sleep(60)")
    try:
        res = runner.execute(runner.Job("national/slow", "slow", {}), str(proj), str(tmp_path / "s"), 2)
        assert res.status == "failed" and "timed out" in res.error.lower() and res.seconds < 30
        assert getattr(kernel._LOCAL, "warm", None) is None
    finally:
        kernel.discard()


@pytest.mark.slow
def test_a_force_report_from_a_reused_kernel_matches_one_from_a_fresh_kernel(tmp_path, demo_store):
    import shutil

    from analysis.reports.analyse import write_analysis
    from analysis.reports.tables import write_store_tables
    from analysis.sources.store import load_store

    root = Path(__file__).resolve().parents[2]
    store, _ = demo_store
    proj = tmp_path / "proj"
    shutil.copytree(root / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
    shutil.copytree(store, proj / "data" / "processed" / "demo")
    st = load_store(store)
    write_store_tables(st, proj / "outputs" / "demo", "8Q")
    write_analysis(st, proj / "outputs" / "demo", offence="8Q")
    jobs = {j.name: j for j in runner.plan("demo", ["Kent", "Cumbria"], "8Q")}
    warm_stage, fresh_stage = tmp_path / "warm", tmp_path / "fresh"
    try:
        for name in ("national/national_trends", "forces/kent", "forces/cumbria"):
            assert runner.execute(jobs[name], str(proj), str(warm_stage), 300).status == "ok"
        kernel.discard()
        assert runner.execute(jobs["forces/cumbria"], str(proj), str(fresh_stage), 300).status == "ok"
    finally:
        kernel.discard()
    for suffix in (".ipynb", ".html", ".nocode.html"):
        rel = f"forces/cumbria{suffix}"
        assert (warm_stage / rel).read_bytes() == (fresh_stage / rel).read_bytes(), rel


def test_kill_reaches_a_kernel_no_handle_holds_yet():
    """A worker stopped while its kernel is starting has no handle on that kernel: kill() still
    ends every child process (CI saw an orphaned kernel hold a killed run's pipes for 60 s)."""
    import subprocess

    child = subprocess.Popen(["sleep", "30"])
    assert child.pid in kernel._children()
    kernel.kill()
    assert child.wait(timeout=5) == -9
