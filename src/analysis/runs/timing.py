"""Where a run's time goes, stage by stage, for `benchmarks/run.py`.

Stage times are wall-clock durations, so they stay out of the run's outputs (which must not
change from one run of the same inputs to the next): they are written only to the file the
environment variable STALKING_OUTCOMES_TIMINGS names, and only by the process that ran `run`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "STALKING_OUTCOMES_TIMINGS"

_stages: dict[str, float] = {}


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time spent in the block to stage `name` (a stage can be entered more than once)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _stages[name] = _stages.get(name, 0.0) + time.perf_counter() - start


def reset() -> None:
    """Forget the stages timed so far (one run's stages, not the process's)."""
    _stages.clear()


def write(extra: dict | None = None) -> None:
    """Write the stages timed (in seconds, in the order first entered) and `extra` to the file
    named by STALKING_OUTCOMES_TIMINGS; nothing when it is unset."""
    where = os.environ.get(ENV)
    if where:
        Path(where).write_text(json.dumps({"stages": dict(_stages), **(extra or {})}, indent=1) + "\n")
