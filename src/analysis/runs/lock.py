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


def store_lock_file(store: Path) -> Path:
    """A store's lock: beside the store, not in it, so a refused ingest leaves no folder and
    the store's files are only its tables and report."""
    return store.parent / f".{store.name}.lock"


@contextmanager
def store_lock(store: Path, shared: bool, what: str = "run") -> Iterator[None]:
    """Hold a lock on a store for the block: shared by the commands that read it (run, tables,
    analyse), alone by ingest, which rewrites it; InputError if the other kind holds it."""
    path = store_lock_file(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a fault of the store's path (a name too long): said of the store
        raise OSError(exc.errno, exc.strerror, str(store)) from None
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        doing = "reading" if not shared else "rewriting"
        raise InputError(
            f"another command is {doing} the store {store} (lock {path}): {what} would "
            f"{'read a store being rewritten' if shared else 'change the store under it'}. Wait "
            "for it to finish, then run this command again."
        ) from None
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


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
