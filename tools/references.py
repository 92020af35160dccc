"""Regenerate the executed reference notebooks in notebooks/reference/ (checked by nbval).

`make references` runs this after `make demo`'s data steps: the national notebooks and one
force report are executed on the default demo data exactly as `stalking-outcomes run` executes
them, and copied (outputs included) into notebooks/reference/. `make test` re-executes them with
nbval and fails if any output changed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from analysis import outputs, paths
from analysis.runs import kernel, params, runner

REFERENCE_FORCE = "Northamptonshire"
FOLDER = Path("notebooks/reference")


def jobs() -> list[runner.Job]:
    """The reference notebooks: every national template and one force report."""
    return [j for j in runner.plan("demo", [REFERENCE_FORCE], "8Q")]


def regenerate(folder: Path = FOLDER, timeout: int = 600) -> list[Path]:
    """Execute the reference notebooks and write them into `folder`; return their paths."""
    root = paths.project_root()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as stage:
        try:
            for job in jobs():
                res = runner.execute(job, str(root), stage, timeout)
                if res.status != "ok":
                    raise SystemExit(f"{job.name} failed: {res.error} (cell {res.cell})")
                staged = Path(stage) / outputs.report_files(job.name)[outputs.REPORT_NOTEBOOK]
                shutil.copy(staged, folder / staged.name)
                written.append(folder / staged.name)
        finally:
            kernel.discard()
    return written


if __name__ == "__main__":
    for p in regenerate():
        print(f"wrote {p}")
    print(f"templates: {', '.join(params.SCHEMAS)}")
