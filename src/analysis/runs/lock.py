"""The lock on an output folder: one run, or one ad-hoc `tables`/`analyse`, writes into it at a
time.

The lock is an flock on a file in the output folder (analysis.outputs.LOCK), which also records the holder's pid and start time
for messages. flock belongs to the open file, and forked worker processes share it: a worker
that outlived a killed run used to keep the folder locked for good. Workers now close their
inherited copy at once (`forget_inherited`; closing, unlike unlocking, leaves the parent's lock
in place), so the lock ends with the process that took it, however that process ends.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from analysis import outputs
from analysis.errors import InputError

_held: int | None = None  # the descriptor this process holds the lock on, if any


def _start_time(pid: int) -> str:
    """A process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _describe(path: Path) -> str:
    """Who holds the lock, as far as its file says."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        pid, started, what = int(holder["pid"]), str(holder["started"]), str(holder.get("what", "run"))
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"
    if started and _start_time(pid) == started:
        return f"another {what} (pid {pid})"
    return (
        f"processes left by an earlier {what} (pid {pid}, which has ended); stop them (e.g. "
        f"'pkill -f analysis') or wait for them"
    )


@contextmanager
def output_lock(out: Path, what: str = "run") -> Iterator[None]:
    """Hold the lock on `out` for the block; InputError naming the holder if it is taken."""
    global _held
    out.mkdir(parents=True, exist_ok=True)
    path = outputs.LOCK.path(out)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InputError(
            f"{_describe(path)} is writing into {out} (lock {path}); wait for it to finish or "
            "choose another --out."
        ) from None
    record = {"pid": os.getpid(), "started": _start_time(os.getpid()), "what": what}
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(record).encode())
    _held = fd
    try:
        yield
    finally:
        _held = None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def forget_inherited() -> None:
    """In a forked worker: close the descriptor of the parent's lock that came with the fork."""
    global _held
    if _held is not None:
        with suppress(OSError):
            os.close(_held)
        _held = None
