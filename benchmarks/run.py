"""Whole-run benchmark: the demo run through `stalking-outcomes run` against the same notebooks
executed one by one with plain papermill, in the same session, stage by stage.

Both start from the same generated demo files in a scratch copy of the project.

Ours, timed by stage: ingest; then `run` (national models, the notebooks with their figures and
two HTML pages each, site and manifest), whose own stage times come from the file named by
STALKING_OUTCOMES_TIMINGS (`analysis.runs.timing`) and whose per-notebook worker seconds come
from its manifest (national notebooks, force notebooks, and the export share of both). Then the
scheduled force run (`run --forces Northamptonshire --rerun` after the full run) and an
unchanged rerun, each its own line. Peak memory is the largest sum of resident memory over the
run's whole process tree (the CLI, its workers and their kernels), sampled every 0.1 s.

The baseline, timed by stage: ingest, the national models (`analyse` and `tables`), then each
notebook in turn with papermill.execute_notebook (no HTML, no index).

Ends with `run_seconds`, `force_rerun_seconds`, `unchanged_rerun_seconds`, `peak_rss_gb`,
`baseline_seconds` and `ratio` (baseline / ours). Targets (issue 23, 2 cores): run <= 40 s and
ratio >= 5; force rerun <= 8 s; unchanged rerun <= 3 s; peak RSS <= 4 GB.

Usage: python benchmarks/run.py [--jobs N] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "analysis"]
QUIET = ["--IPKernelApp.log_level=ERROR"]  # the kernels' start-up warnings, as the runner does
FORCE = "Northamptonshire"


class PeakRss:
    """The largest total resident memory of a process and all its descendants, sampled."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.peak, self._pid, self._every = 0, pid, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                top = psutil.Process(self._pid)
                procs = [top, *top.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):  # gone between listing and reading
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self._every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """Run a command; its wall seconds and the peak RSS of its process tree (bytes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rss = PeakRss(proc.pid)
    _, err = proc.communicate()
    seconds, peak = time.perf_counter() - start, rss.stop()
    if proc.returncode:
        sys.exit(f"{' '.join(cmd[2:])} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return seconds, peak


def scratch_project(base: Path) -> Path:
    proj = base / "proj"
    shutil.copytree(ROOT / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
    shutil.copy(ROOT / "requirements.lock", proj / "requirements.lock")
    subprocess.run([*CLI, "demo-data"], cwd=proj, check=True, capture_output=True)
    return proj


def worker_seconds(proj: Path) -> dict[str, float]:
    """From the run's manifest: summed worker seconds of the national and force notebooks, and
    of their export (figures, notebook file, two HTML pages)."""
    from analysis import outputs

    nbs = json.loads(outputs.MANIFEST.path(proj / "outputs" / "demo").read_text())["notebooks"]
    ran = {k: v for k, v in nbs.items() if v["status"] == "ok"}
    national = [v for k, v in ran.items() if k.startswith("national/")]
    force = [v for k, v in ran.items() if k.startswith("forces/")]
    return {
        "national notebooks (worker s)": sum(v["seconds"] - v.get("export_seconds", 0) for v in national),
        "force notebooks (worker s)": sum(v["seconds"] - v.get("export_seconds", 0) for v in force),
        "HTML export and figures (worker s)": sum(v.get("export_seconds", 0) for v in ran.values()),
    }


def _timings(path: Path) -> dict:
    """What the run wrote about itself, then forget it (an older commit, measured for the record
    of where this work started, writes nothing: its stages print as one)."""
    if not path.exists():
        return {}
    found = json.loads(path.read_text())
    path.unlink()
    return found


def ours(proj: Path, jobs: int) -> dict:
    """Ingest and a full run, by stage; then the scheduled force run and an unchanged rerun."""
    timings = proj / "timings.json"
    env = {**os.environ, "STALKING_OUTCOMES_TIMINGS": str(timings)}
    run = [*CLI, "run", "--source", "demo", "--jobs", str(jobs)]
    ingest_s, ingest_rss = timed([*CLI, "ingest", "--source", "demo"], proj)
    run_s, run_rss = timed([*run, "--rerun"], proj, env)
    stages = _timings(timings).get("stages", {})
    workers = worker_seconds(proj)
    force_s, _ = timed([*run, "--forces", FORCE, "--rerun"], proj, env)
    force_executed = _timings(timings).get("executed", [])
    same_s, _ = timed(run, proj, env)
    same_executed = _timings(timings).get("executed", [])
    return {
        "ingest": ingest_s,
        "run": run_s,
        "stages": stages,
        "workers": workers,
        "start-up and the rest": run_s - sum(stages.values()),
        "total": ingest_s + run_s,
        "peak_rss": max(ingest_rss, run_rss),
        "force_rerun": force_s,
        "force_executed": force_executed,
        "unchanged_rerun": same_s,
        "unchanged_executed": same_executed,
    }


def baseline(proj: Path) -> dict:
    import papermill as pm

    from analysis import outputs
    from analysis.runs import runner

    stages: dict[str, float] = {}
    start = time.perf_counter()
    subprocess.run(
        [*CLI, "ingest", "--source", "demo", "--store", "data/processed/base"],
        cwd=proj,
        check=True,
        capture_output=True,
    )
    shutil.rmtree(proj / "data/processed/demo", ignore_errors=True)
    shutil.copytree(proj / "data/processed/base", proj / "data/processed/demo")
    stages["ingest"] = time.perf_counter() - start
    start = time.perf_counter()
    for cmd in (
        ["analyse", "--source", "demo", "--out", "outputs/demo"],
        ["tables", "--source", "demo", "--out", "outputs/demo/tables"],
    ):
        subprocess.run([*CLI, *cmd], cwd=proj, check=True, capture_output=True)
    stages["national models"] = time.perf_counter() - start
    out = proj / "baseline"
    out.mkdir(exist_ok=True)
    cwd = os.getcwd()
    os.chdir(proj)
    try:
        # the very jobs `run` plans (same notebooks, same parameters), one at a time
        for job in runner.plan("demo", None, "8Q"):
            stage = "national notebooks" if job.name.startswith("national/") else "force notebooks"
            start = time.perf_counter()
            dest = out / outputs.report_files(job.name)[outputs.REPORT_NOTEBOOK]
            dest.parent.mkdir(parents=True, exist_ok=True)
            pm.execute_notebook(
                f"notebooks/{job.template}.ipynb",
                str(dest),
                parameters=job.parameters,
                kernel_name="python3",
                progress_bar=False,
                extra_arguments=QUIET,
            )
            stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - start
    finally:
        os.chdir(cwd)
    return stages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proj = scratch_project(Path(tmp))
        r = ours(proj, args.jobs)
        print(f"stalking-outcomes, {args.jobs} jobs (wall seconds):")
        print(f"  {'ingest':<40} {r['ingest']:7.1f}")
        for name, s in r["stages"].items():
            print(f"  run: {name:<35} {s:7.1f}")
        print(f"  run: {'start-up and the rest':<35} {r['start-up and the rest']:7.1f}")
        print(f"  {'total':<40} {r['total']:7.1f}")
        print("  of the notebooks' worker time (summed over workers):")
        for name, s in r["workers"].items():
            print(f"    {name:<38} {s:7.1f}")
        print(
            f"scheduled force run (--forces {FORCE} --rerun): {r['force_rerun']:.1f} s, executed "
            f"{', '.join(r['force_executed']) or 'no notebook (or not recorded)'}"
        )
        print(
            f"unchanged rerun: {r['unchanged_rerun']:.1f} s, executed "
            f"{', '.join(r['unchanged_executed']) or 'no notebook (or not recorded)'}"
        )
        print(f"run_seconds: {r['total']:.1f}")
        print(f"force_rerun_seconds: {r['force_rerun']:.1f}")
        print(f"unchanged_rerun_seconds: {r['unchanged_rerun']:.1f}")
        print(f"peak_rss_gb: {r['peak_rss'] / 1e9:.2f}")
        if not args.skip_baseline:
            b = baseline(proj)
            print("plain papermill, one notebook at a time (no HTML, no index; wall seconds):")
            for name, s in b.items():
                print(f"  {name:<40} {s:7.1f}")
            base_s = sum(b.values())
            print(f"  {'total':<40} {base_s:7.1f}")
            print(f"baseline_seconds: {base_s:.1f}")
            print(f"ratio: {base_s / r['total']:.2f}")


if __name__ == "__main__":
    main()
