"""Where a page's figures come from, said on every page: the data edition (the published files'
names and publication dates), the package version and commit with a link to the code at that
commit, and the licences of the data and of the code. No wall-clock time, so a rerun of the same
inputs and code gives the same bytes.

The code's public address is set once, in pyproject.toml's project URLs ("Source").
"""

from __future__ import annotations

import html
import json
import subprocess
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from analysis import __version__
from analysis.sources.ingest import classify_file

DISTRIBUTION = "stalking-outcomes"
DATA_LICENCE = "Open Government Licence v3.0 (Home Office data, Crown copyright)"
DATA_LICENCE_GENERATED = "generated demo data: no Home Office data, nothing to license"
DATA_LICENCE_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"


@dataclass(frozen=True)
class Provenance:
    """What built a page: source files with their publication dates, code version and commit."""

    files: tuple[tuple[str, str], ...]  # (file name, publication date as YYYY-MM-DD or "")
    synthetic: bool
    version: str = __version__
    commit: str = ""
    code_url: str = ""
    code_licence: str = ""
    modified: bool = False  # the checkout had uncommitted changes to tracked files

    @property
    def commit_url(self) -> str:
        """The code at the commit that built the page ('' without an address or a commit)."""
        if not self.code_url or not self.commit or self.commit == "unknown":
            return ""
        return f"{self.code_url.rstrip('/')}/tree/{self.commit}"

    def html(self) -> str:
        """The provenance footer, as HTML (links only to the code's and licence's addresses)."""
        dates = sorted({d for _, d in self.files if d})
        listed = "".join(
            f"<li>{html.escape(n)}" + (f" (published {d})" if d else "") + "</li>" for n, d in self.files
        )
        names = (
            f"{len(self.files)} files"
            + (f", published {' and '.join(dates)}" if dates else "")
            + f" <details><summary>which files</summary><ul>{listed}</ul></details>"
            if self.files
            else "no source files recorded"
        )
        commit = self.commit[:12] if self.commit and self.commit != "unknown" else "unknown"
        code = f'<a href="{html.escape(self.commit_url)}">{commit}</a>' if self.commit_url else commit
        data_licence = (
            DATA_LICENCE_GENERATED
            if self.synthetic
            else f'<a href="{DATA_LICENCE_URL}">{html.escape(DATA_LICENCE)}</a>'
        )
        return (
            '<footer class="provenance">'
            f"<p><strong>Data licence:</strong> {data_licence}. "
            f"<strong>Code:</strong> {DISTRIBUTION} {html.escape(self.version)}, commit {code}"
            + (" with uncommitted changes" if self.modified else "")
            + f" ({html.escape(self.code_licence or 'see LICENSE')} licence).</p>"
            f"<div><strong>Data edition:</strong> {names}</div>"
            "</footer>"
        )


def code_commit(root: str = ".") -> str:
    """The git commit of the code in `root` ('unknown' outside a git checkout)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@cache
def code_modified(root: str = ".") -> bool:
    """Whether tracked files in `root`'s checkout differ from its commit (False outside git)."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(done.stdout.strip())


@cache
def _project() -> tuple[str, str]:
    """The code's public address (pyproject's project URL "Source") and licence."""
    try:
        meta = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "", ""
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [] if ", " in u)
    licence = meta["License-Expression"] or meta["License"] or ""
    return urls.get("Source", ""), licence


def source_files(store_dir: Path) -> tuple[tuple[str, str], ...]:
    """The published files a store was ingested from, with their publication dates (from the
    file names' edition suffix), in name order."""
    path = Path(store_dir) / "quality.json"
    if not path.exists():
        return ()
    files = json.loads(path.read_text(encoding="utf-8")).get("files", [])
    out = []
    for f in files:
        name = str(f.get("file", ""))
        found = classify_file(Path(name))
        out.append((name, found.edition.isoformat() if found and found.edition else ""))
    return tuple(sorted(out))


def of_store(store_dir: Path | None, root: Path | str = ".") -> Provenance:
    """The provenance of pages built from a store by the code in `root` (no store: pages of
    generated data only, such as the method study's)."""
    url, licence = _project()
    synthetic = True  # no store read: only generated data
    quality = Path(store_dir) / "quality.json" if store_dir is not None else None
    if quality is not None and quality.exists():
        synthetic = bool(json.loads(quality.read_text(encoding="utf-8")).get("synthetic"))
    return Provenance(
        files=source_files(store_dir) if store_dir is not None else (),
        synthetic=synthetic,
        commit=code_commit(str(root)),
        code_url=url,
        code_licence=licence,
        modified=code_modified(str(root)),
    )


def of_manifest(manifest: dict, synthetic: bool) -> Provenance:
    """The provenance of a run's site pages, from its manifest (data_edition, code_commit)."""
    url, licence = _project()
    return Provenance(
        files=tuple((str(n), str(d)) for n, d in manifest.get("data_edition", [])),
        synthetic=synthetic,
        commit=str(manifest.get("code_commit", "")),
        code_url=url,
        code_licence=licence,
        modified=bool(manifest.get("code_modified", False)),
    )
