"""Writing files: atomically (through a temporary file and a rename, so a reader never meets half
a file and a failure leaves the old one), with the usual permissions, and with numbers rounded
so that the same data give the same bytes; and a file's sha256."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# Written numbers carry 6 significant digits. Fitted values vary from run to run in their last
# bits (BLAS thread count, SIMD paths that depend on memory alignment; measured ~1e-13 relative
# on the link model's SE) and are converged only to ~1e-10, so more digits would be noise that
# breaks byte-identical outputs.
SIGNIFICANT_DIGITS = 6


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_shareable(path: Path) -> None:
    """Give a file the usual permissions (0644 under the common umask): temporary files are
    made 0600, and outputs and downloads are for sharing."""
    os.chmod(path, 0o666 & ~_umask())


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        make_shareable(Path(tmp))
        os.replace(tmp, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a table to parquet atomically, without the index."""
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False, engine="pyarrow"))


def _stable_floats(obj: object, digits: int = SIGNIFICANT_DIGITS) -> object:
    """Floats rounded to `digits` significant digits, in any nesting of dicts and lists; numpy
    scalars become Python numbers first."""
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: _stable_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_stable_floats(v, digits) for v in obj]
    return obj


def write_json(data: object, path: Path) -> None:
    """Write JSON atomically, keys sorted, floats to SIGNIFICANT_DIGITS, so the same data give the
    same bytes."""
    text = json.dumps(_stable_floats(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV table atomically, floats to SIGNIFICANT_DIGITS, so runs are byte-identical. A
    file already holding those very bytes is left as it is: a run that linked it in from the
    last site keeps the same file rather than a copy."""
    text = frame.to_csv(index=False, lineterminator="\n", float_format=f"%.{SIGNIFICANT_DIGITS}g").encode()
    if path.is_file() and path.stat().st_size == len(text) and path.read_bytes() == text:
        return
    atomic_write(path, lambda tmp: tmp.write_bytes(text))
