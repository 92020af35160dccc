"""The record of a run: the manifest (code, lock, inputs, packages, status per notebook), the
plain-text run summary, and the index page.

The manifest is the one output that carries wall-clock times (the run's start and end).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from analysis import __version__, outputs
from analysis.reports.provenance import code_commit, code_modified
from analysis.runs.jobs import JobResult

KEY_PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "python-calamine",
    "fastexcel",
    "pyarrow",
    "pandera",
)


def previous(out: Path) -> dict:
    """The manifest of the last run into `out` ({} if none)."""
    path = outputs.MANIFEST.path(out)
    return json.loads(path.read_text()) if path.exists() else {}


def _packages() -> dict[str, str]:
    out = {"python": platform.python_version(), "stalking-outcomes": __version__}
    for name in KEY_PACKAGES:
        with suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def build(
    *,
    source: str,
    offence: str,
    synthetic: bool,
    root: Path,
    code: str,
    lock: str,
    national_key: str,
    inputs: dict[str, str],
    executor: str,
    jobs: int,
    started: float,
    results: list[JobResult],
    published: dict[str, str],
    data_edition: Iterable[tuple[str, str]] = (),
    store_edition: str = "",
    editions_held: Iterable[str] = (),
) -> dict:
    """The manifest of a run whose notebooks have finished (results sorted by name). Every
    output it lists came from `store_edition`, the store's latest: a new edition changes the
    national key, so nothing made from an older one is carried into the run."""
    return {
        "source": source,
        "offence": offence,
        "synthetic": synthetic,
        "code_commit": code_commit(str(root)),
        "code_modified": code_modified(str(root)),
        "data_edition": [list(f) for f in data_edition],
        "store_edition": store_edition,
        "editions_held": list(editions_held),
        "code_sha256": code,
        "lock_sha256": lock,
        "national_key": national_key,
        "inputs": inputs,
        "published": published,
        "packages": _packages(),
        "executor": executor,
        "jobs": jobs,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notebooks": {r.name: {k: v for k, v in asdict(r).items() if k != "name"} for r in results},
    }


def write(manifest: dict, out: Path, foreign: Iterable[str] = ()) -> None:
    """Write the run summary, the index page (with the methods page and each force's CSV) and,
    last, the manifest into `out`, listing in it the sha256 of every file the package wrote
    there (all but the `foreign` ones, which it did not)."""
    from analysis.reports.site import write_index
    from analysis.runs.publish import hashes

    outputs.RUN_SUMMARY.save(out, summary_text(manifest) + "\n")
    write_index(out, manifest["offence"], manifest["synthetic"], manifest)
    manifest["files"] = hashes(out, foreign)
    outputs.MANIFEST.save(out, manifest)


def record_adhoc(out: Path, written: Iterable[Path]) -> None:
    """After an ad-hoc `tables` or `analyse` into a run's folder: list the files it wrote in the
    manifest (under "adhoc"), so that the folder stays the package's and the next run, which
    finds these tables are not the ones it published, replaces them."""
    import hashlib

    record = previous(out)
    adhoc = record.setdefault("adhoc", {})
    for path in written:
        p = Path(path)
        adhoc[p.relative_to(out).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    outputs.MANIFEST.save(out, record)


def summary_text(manifest: dict) -> str:
    """The plain-text run summary."""
    nbs = manifest["notebooks"]
    counts = {s: sum(1 for v in nbs.values() if v["status"] == s) for s in ("ok", "skipped", "failed")}
    lines = [
        f"Run of source '{manifest['source']}' ({'GENERATED DEMO DATA' if manifest['synthetic'] else 'Home Office data'})",
        f"code {manifest['code_commit'][:12]}, executor {manifest['executor']} x{manifest['jobs']}",
        f"notebooks: {counts['ok']} ran, {counts['skipped']} unchanged (skipped), {counts['failed']} failed",
    ]
    for name, v in nbs.items():
        if v["status"] == "failed":
            lines.append(f"FAILED {name}: {v['error']} (cell {v['cell']})")
    return "\n".join(lines)
