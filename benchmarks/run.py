"""Whole-run benchmark: the demo run through `stalking-outcomes run` against the same notebooks
executed one by one with plain papermill, in the same session.

Both start from the same generated demo files in a scratch copy of the project. Timed for ours:
ingest, then `run` (national models, national notebooks, 44 force reports, HTML with and
without code, manifest, index). Timed for the baseline: ingest, the national models, then each
notebook in turn with papermill.execute_notebook (no HTML, no index). Prints both, and ends with
`run_seconds: S`, `baseline_seconds: B` and `ratio: R` (baseline / ours). Target: run <= 120 s on
2 cores.

Usage: python benchmarks/run.py [--jobs N] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "analysis"]
QUIET = ["--IPKernelApp.log_level=ERROR"]  # the kernels' start-up warnings, as the runner does


def scratch_project(base: Path) -> Path:
    proj = base / "proj"
    shutil.copytree(ROOT / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
    shutil.copy(ROOT / "requirements.lock", proj / "requirements.lock")
    subprocess.run([*CLI, "demo-data"], cwd=proj, check=True, capture_output=True)
    return proj


def ours(proj: Path, jobs: int) -> float:
    start = time.perf_counter()
    subprocess.run([*CLI, "ingest", "--source", "demo"], cwd=proj, check=True, capture_output=True)
    subprocess.run(
        [*CLI, "run", "--source", "demo", "--rerun", "--jobs", str(jobs)],
        cwd=proj,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def baseline(proj: Path) -> float:
    import papermill as pm

    from analysis import outputs
    from analysis.runs import runner

    start = time.perf_counter()
    subprocess.run(
        [*CLI, "ingest", "--source", "demo", "--store", "data/processed/base"],
        cwd=proj,
        check=True,
        capture_output=True,
    )
    shutil.rmtree(proj / "data/processed/demo", ignore_errors=True)
    shutil.copytree(proj / "data/processed/base", proj / "data/processed/demo")
    subprocess.run(
        [*CLI, "analyse", "--source", "demo", "--out", "outputs/demo"],
        cwd=proj,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*CLI, "tables", "--source", "demo", "--out", "outputs/demo/tables"],
        cwd=proj,
        check=True,
        capture_output=True,
    )
    out = proj / "baseline"
    out.mkdir(exist_ok=True)
    cwd = os.getcwd()
    os.chdir(proj)
    try:
        # the very jobs `run` plans (same notebooks, same parameters), one at a time
        for job in runner.plan("demo", None, "8Q"):
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
    finally:
        os.chdir(cwd)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proj = scratch_project(Path(tmp))
        run_s = ours(proj, args.jobs)
        print(
            f"stalking-outcomes run (ingest + national + 44 reports + HTML + index), {args.jobs} jobs: {run_s:.1f} s"
        )
        print(f"run_seconds: {run_s:.1f}")
        if not args.skip_baseline:
            base_s = baseline(proj)
            print(
                f"plain papermill, one notebook at a time (ingest + national + 48 notebooks, no HTML): {base_s:.1f} s"
            )
            print(f"baseline_seconds: {base_s:.1f}")
            print(f"ratio: {base_s / run_s:.2f}")


if __name__ == "__main__":
    main()
