"""Every source, store and output path, in one place.

A *source* is where published files come from: `homeoffice` (the GOV.UK files, `data/raw`),
`demo` (generated files, `data/demo`), or any folder of files in the published layout. Each
source has a name (the folder's own name for a folder), and the name alone fixes its store,
`data/processed/<name>/`, and its outputs, `outputs/<name>/` (`outputs/<name>-<code>/` for an
offence other than stalking, so a run for harassment sits beside stalking's and never replaces it). So `ingest --source /some/folder`
and `run --source /some/folder` (or `--source folder`) find the same store, and the notebooks,
which are given only the name, find it too. Every data edition a store has ingested is kept
beside it, in `data/processed/<name>.editions/<YYYY-MM-DD>/` (`editions_folder`).

Every command's `--source` defaults to DEFAULT_SOURCE, the real data: a user who forgets the
flag gets the Home Office figures (or an error saying how to ingest them), never demo output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from analysis.domain.rules import DEFAULT_OFFENCE
from analysis.domain.taxonomy import normalise_offence_code
from analysis.errors import InputError

# The named sources and the folders their published files are in.
NAMED_SOURCES = {"homeoffice": Path("data/raw"), "demo": Path("data/demo")}
DEFAULT_SOURCE = "homeoffice"
RAW = NAMED_SOURCES["homeoffice"]
DEMO = NAMED_SOURCES["demo"]
PROCESSED = Path("data/processed")
OUTPUTS = Path("outputs")
NOTEBOOKS = Path("notebooks")
METHOD_STUDY = OUTPUTS / "validation"
# Set by `run` for its notebooks' kernels: the output folder they read tables from (`run --out`).
# An environment variable, not a notebook parameter, so no local path reaches a report.
OUTPUTS_ENV = "STALKING_OUTCOMES_OUT"

SOURCE_HELP = (
    f"'homeoffice' ({RAW}), 'demo' ({DEMO}) or a folder of published files; the store is "
    f"{PROCESSED}/<name>, the outputs {OUTPUTS}/<name> (default: {DEFAULT_SOURCE})"
)


def source_name(source: str) -> str:
    """The name a source's store and outputs are filed under: 'demo', 'homeoffice', or the
    folder's own name for a folder (so '/some/folder', 'some/folder' and 'folder' agree)."""
    if source in NAMED_SOURCES:
        return source
    name = Path(source).resolve().name
    if not name:
        raise InputError(f"--source {source!r}: give 'homeoffice', 'demo' or a folder's path.")
    if name in NAMED_SOURCES and Path(source).resolve() != NAMED_SOURCES[name].resolve():
        # its store and outputs would be the built-in source's: another folder's files would
        # replace them, and be published under the built-in source's name
        raise InputError(
            f"--source {source!r}: a folder named '{name}' would share the store and outputs of "
            f"the built-in source '{name}' ({NAMED_SOURCES[name]}). Rename the folder (for "
            f"example to '{name}-copy') and pass that, or use '--source {name}'."
        )
    return name


def source_folder(source: str) -> Path:
    """The folder holding a source's published files; InputError if a given folder is missing."""
    if source in NAMED_SOURCES:
        return NAMED_SOURCES[source]
    folder = Path(source)
    if not folder.is_dir():
        raise InputError(
            f"--source {source!r} is neither 'homeoffice', 'demo' nor an existing "
            "folder. Give one of those, e.g. '--source demo' after "
            "'stalking-outcomes demo-data'."
        )
    return folder


@dataclass(frozen=True)
class SourcePaths:
    """Where one source's store and outputs are."""

    name: str
    store: Path
    outputs: Path

    @property
    def tables(self) -> Path:
        """The national tables the notebooks read."""
        return self.outputs / "tables"


def for_source(
    source: str,
    store: Path | str | None = None,
    out: Path | str | None = None,
    base: Path = Path("."),
    offence: str = DEFAULT_OFFENCE,
) -> SourcePaths:
    """A source's store and outputs folders under `base`; `store` and `out` override them. The
    outputs of an offence other than the default go in their own folder beside the default's."""
    name = source_name(source)
    return SourcePaths(
        name,
        Path(store) if store else base / PROCESSED / name,
        Path(out) if out else base / OUTPUTS / output_name(name, offence),
    )


EDITIONS_SUFFIX = ".editions"


def editions_folder(store: Path | str) -> Path:
    """Where a store keeps every data edition it has ingested: `<store>.editions/`, beside the
    store (as its lock is), with one folder per edition named by its publication date
    (`<store>.editions/2025-12-31/`). Beside it, not in it, so that the store's own files stay
    its latest edition's tables and report, which every other command reads."""
    store = Path(store)
    return store.parent / f"{store.name}{EDITIONS_SUFFIX}"


def output_name(name: str, offence: str = DEFAULT_OFFENCE) -> str:
    """The outputs folder's name for a source and offence: 'demo', or 'demo-8L'."""
    code = normalise_offence_code(offence)
    return name if code == DEFAULT_OFFENCE else f"{name}-{code}"


def project_dir(start: Path | None = None) -> Path:
    """The project folder: the nearest folder at or above `start` (default: the current one)
    holding pyproject.toml and notebooks/. Falls back to the current folder, so an installed
    package works from wherever it is run."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").exists() and (folder / NOTEBOOKS).is_dir():
            return folder
    return here


def project_root() -> Path:
    """The folder runs work from: the current one (it must hold notebooks/)."""
    root = Path.cwd()
    if not (root / NOTEBOOKS).is_dir():
        raise InputError(f"no {NOTEBOOKS}/ folder in {root}: run from the project folder.")
    return root


def source_paths(source: str, offence: str = DEFAULT_OFFENCE) -> tuple[Path, Path]:
    """(store folder, outputs folder) for a notebook's source: relative paths when run from the
    project folder (as the runner does), else anchored at the project folder, so a notebook
    executed from notebooks/reference/ (nbval) finds the data too. Under `run`, the outputs
    folder is the run's (OUTPUTS_ENV)."""
    base = Path(".") if (NOTEBOOKS.is_dir() or not (project_dir() / NOTEBOOKS).is_dir()) else project_dir()
    where = for_source(source, base=base, out=os.environ.get(OUTPUTS_ENV) or None, offence=offence)
    return where.store, where.outputs
