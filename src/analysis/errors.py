"""Errors that reach a person: each says what is wrong, where, and what to do."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class InputError(Exception):
    """Bad input or usage: the command exits 2 and prints the message without a traceback."""

    exit_code = 2


class WorkFailed(Exception):
    """Some of the work failed after the inputs were accepted: exit 1."""

    exit_code = 1


def where(
    file: object = None, sheet: str | None = None, row: int | None = None, column: str | None = None
) -> str:
    """Format a location ("file x.xlsx, sheet S, row 12, column 'C'") for an error message."""
    parts = []
    if file is not None:
        parts.append(f"file {getattr(file, 'name', file)}")
    if sheet is not None:
        parts.append(f"sheet '{sheet}'")
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column '{column}'")
    return ", ".join(parts)


# The options whose values are paths, in the order an OS error's message looks for the one at fault.
PATH_OPTIONS = ("out", "store", "raw", "source", "config", "registry")
_NAME_MAX = 255  # when the file system does not say


def os_error_facts(exc: OSError, options: dict[str, object]) -> tuple[int, dict[str, str]]:
    """What a message about an OS error a person caused needs, for `cli.main`'s table: the
    errno (EEXIST of a file where a folder is needed counts as ENOTDIR) and the words to fill
    in: `path` (the person's path at fault), `choose` and `shorter` (what to change: "choose
    another --out", "choose a shorter --out") and `detail` (what is too long, for ENAMETOOLONG).

    The path is the one the person gave, not a hidden temporary beside it: of a two-path call
    (os.replace(tmp, target)) the destination, unless the other is the one at fault; for a
    file standing where a folder is needed, that file (it may be a parent of the path named in
    the error)."""
    names = [os.fsdecode(n) for n in (exc.filename2, exc.filename) if isinstance(n, (str, bytes)) and n]
    code = exc.errno or 0
    path = names[0] if names else None
    detail = ""
    if code in (errno.ENOTDIR, errno.EEXIST):
        for name in names:
            blocker = _file_in_the_way(Path(name))
            if blocker is not None:
                code, path = errno.ENOTDIR, str(blocker)
                break
    elif code == errno.ENAMETOOLONG:
        for name in names:
            long = _too_long(Path(name))
            if long:
                path, detail = name, long
                break
        else:
            detail = "the path is longer than the file system allows"
    option = _option_for(path, options) if path else None
    return code, {
        "path": path or "a file",
        "choose": f"choose another {option}" if option else "choose another place (--out, --store, --raw)",
        "shorter": f"choose a shorter {option}" if option else "choose a shorter name",
        "detail": detail,
    }


def _file_in_the_way(path: Path) -> Path | None:
    """The file (not folder) at `path` or above it, standing where a folder is needed."""
    for candidate in (path, *path.parents):
        try:
            if candidate.is_dir():
                return None
            if candidate.exists():
                return candidate
        except OSError:
            continue
    return None


def _too_long(path: Path) -> str:
    """The part of `path` longer than its file system allows, said in words ("" if none)."""
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > _NAME_MAX:
            shown = part if len(part) <= 40 else f"{part[:20]}...{part[-12:]}"
            return (
                f"the name '{shown}' in it is {size} bytes long, more than the file system "
                f"allows ({_NAME_MAX})"
            )
    return ""


def _option_for(path: str, options: dict[str, object]) -> str | None:
    """The option ("--out", ...) whose path is `path`, holds it or lies under it; of several, the
    one nearest to it."""
    target = Path(os.path.abspath(path))
    best: tuple[int, str] | None = None
    for key in PATH_OPTIONS:
        value = options.get(key)
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            continue
        given = Path(os.path.abspath(value))
        if given == target or given in target.parents or target in given.parents:
            distance = abs(len(target.parts) - len(given.parts))
            if best is None or distance < best[0]:
                best = (distance, f"--{key}")
    return best[1] if best else None
