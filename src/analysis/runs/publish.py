"""Publishing a run all or nothing, into a folder the package owns.

A run builds the whole new site (tables, figures, reports, index, manifest) in a sibling folder,
`.<name>.next` beside the output folder, then swaps the two folders in one atomic step
(Linux `renameat2(RENAME_EXCHANGE)`), and removes the old tree. A run that is killed, fails its
national fit or fills the disk before that step leaves the previous site exactly as it was; the
next run removes what it left.

What is carried into the new site without being rebuilt goes in as hard links (no copy, no
change to the old files): the reports that are unchanged, the national tables when they need no
refit, the lock file (so the lock taken on the old folder holds on the new one), and every file
the package did not write. The manifest lists every file the package wrote; a run removes only
files it lists, and refuses a non-empty folder that has no manifest.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import shutil
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from analysis import outputs
from analysis.errors import InputError

_INTERNAL = (outputs.LOCK.pattern, outputs.STAGING.pattern)


def next_folder(out: Path) -> Path:
    """Where a run into `out` builds its new site: a sibling, so that the two can be swapped."""
    return out.parent / f".{out.name}.next"


def owned(manifest: dict) -> set[str]:
    """Every file (path under the output folder) the manifest says the package wrote."""
    files = set(manifest.get("files", {})) | set(manifest.get("published", {}))
    files |= set(manifest.get("adhoc", {}))
    for name, entry in manifest.get("notebooks", {}).items():
        files |= {name + key for key in entry.get("files", {})}  # ".html" or "/trends.png"
    files.add(outputs.MANIFEST.relpath())
    return files


def _entries(folder: Path) -> Iterable[Path]:
    """Every file and symbolic link under `folder`, links not followed, in path order."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root)
        dirs.sort()
        links = [d for d in dirs if (base / d).is_symlink()]
        for name in sorted(files + links):
            yield base / name


def check_owned(out: Path, manifest: dict) -> None:
    """Refuse to write into a folder that holds files but no manifest: it is someone's folder,
    not a site this package made. (A folder holding only files the catalogue describes, such as
    tables and figures an ad-hoc `analyse` of an older version wrote, counts as ours.)"""
    if manifest or not out.is_dir():
        return
    foreign = [
        p.relative_to(out).as_posix()
        for p in _entries(out)
        if p.name not in _INTERNAL and outputs.describe(p.relative_to(out).as_posix()) is None
    ]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError(
            f"{out} holds files this package did not write ({shown}) and no "
            f"{outputs.MANIFEST.relpath()}: a run replaces the folder it writes into, so it only "
            "writes into an empty folder or one an earlier run made. Choose another --out (a new "
            "or empty folder), or move those files away."
        )


def start(out: Path) -> Path:
    """A fresh folder to build the new site in (removing what a killed run left there)."""
    nxt = next_folder(out)
    if nxt.is_symlink() or nxt.is_file():
        nxt.unlink()
    shutil.rmtree(nxt, ignore_errors=True)
    nxt.mkdir(parents=True)
    return nxt


def link(src: Path, dest: Path) -> None:
    """Put `src` at `dest` without copying: a hard link (a symbolic link is recreated as one;
    a copy where the file system has no hard links)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        os.symlink(os.readlink(src), dest)
        return
    try:
        os.link(src, dest)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copy2(src, dest)


def carry(out: Path, nxt: Path, rels: Iterable[str]) -> None:
    """Link the given files of the old site into the new one (those that exist)."""
    for rel in rels:
        src = out / rel
        if (src.is_file() or src.is_symlink()) and not (nxt / rel).exists():
            link(src, nxt / rel)


def carry_foreign(out: Path, nxt: Path, previous: dict) -> list[str]:
    """Link every file in `out` that the package did not write (by the previous manifest), and
    the lock file, into the new site; return the foreign files' paths."""
    if not out.is_dir():
        return []
    mine = owned(previous)
    foreign = []
    for p in _entries(out):
        rel = p.relative_to(out).as_posix()
        if rel.split("/", 1)[0] == outputs.STAGING.pattern or rel in mine:
            continue
        link(p, nxt / rel)
        if rel != outputs.LOCK.pattern:
            foreign.append(rel)
    return foreign


def hashes(nxt: Path, foreign: Iterable[str]) -> dict[str, str]:
    """sha256 of every file in the new site that the package wrote (all but the foreign files,
    the lock and the manifest itself), by path."""
    skip = {*foreign, outputs.LOCK.pattern, outputs.MANIFEST.relpath()}
    found = {}
    for p in _entries(nxt):
        rel = p.relative_to(nxt).as_posix()
        if rel in skip or rel.split("/", 1)[0] == outputs.STAGING.pattern or p.is_symlink():
            continue
        found[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap(nxt: Path, out: Path) -> None:
    """Put the new site in place of the old in one step, then remove the old one."""
    if not out.exists():
        os.rename(nxt, out)
        return
    if not _exchange(nxt, out):
        # no atomic exchange here: two renames, with the old site kept until the new is in place
        old = out.parent / f".{out.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(out, old)
        os.rename(nxt, out)
        nxt = old
    with suppress(OSError):
        shutil.rmtree(nxt)


def abandon(out: Path) -> None:
    """Remove a half-built new site (the old one is untouched)."""
    shutil.rmtree(next_folder(out), ignore_errors=True)
