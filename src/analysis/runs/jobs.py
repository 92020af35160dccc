"""What a run is made of: the notebooks to execute (Job) and what happened to each (JobResult).
Data only, so that the runner, which makes them, and the manifest, which records them, both
import them from here and not from each other."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Job:
    """One notebook to execute."""

    name: str  # e.g. "national/force_comparison" or "forces/kent"
    template: str
    parameters: dict
    key: str = ""


@dataclass
class JobResult:
    """What happened to one notebook."""

    name: str
    status: str  # "ok", "skipped", "failed"
    key: str
    seconds: float = 0.0  # executing and exporting, in its worker
    error: str = ""
    cell: int | None = None
    attempts: int = 1
    parameters: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)  # suffix -> sha256 of each installed file
    page_key: str = ""  # the page templates its HTML was made with (page_hash)
    export_seconds: float = 0.0  # of `seconds`: figures, notebook file and the two HTML pages
