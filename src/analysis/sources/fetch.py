"""Downloads of the GOV.UK files into the raw cache, with hashes and snapshot metadata.

The upstream registry (URL and, once known, sha256 per file) ships in analysis/sources/upstream.toml.
The first download of a file records its sha256, size, URL and date in data/raw/snapshots.json;
every later fetch checks against it, and a file whose bytes changed upstream is refused unless
`--update`, which records the new hash and date. Files are never edited in the cache.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlparse

import pooch

from analysis.domain import periods
from analysis.errors import InputError
from analysis.paths import RAW
from analysis.sources.store import sha256_of, write_json

SNAPSHOTS = "snapshots.json"
RETRIES = 3


@dataclass(frozen=True)
class Upstream:
    """One file in the upstream registry."""

    key: str  # financial year, or "pfa"
    url: str
    sha256: str

    @property
    def filename(self) -> str:
        return Path(urlparse(self.url).path).name


def load_registry(path: Path | str | None = None) -> tuple[dict[str, Upstream], str]:
    """The upstream registry (packaged, or a TOML file of the same shape) and its licence text."""
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else files("analysis.sources").joinpath("upstream.toml").read_text(encoding="utf-8")
        )
        data = tomllib.loads(text)
        entries = {
            periods.normalise_year(k): Upstream(periods.normalise_year(k), v["url"], v.get("sha256", ""))
            for k, v in data["outcomes"].items()
        }
        if "pfa" in data:
            entries["pfa"] = Upstream("pfa", data["pfa"]["url"], data["pfa"].get("sha256", ""))
    except FileNotFoundError:
        raise InputError(f"--registry {path}: file not found.") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"registry {path or 'upstream.toml'} is malformed ({exc}); it needs an "
            '[outcomes] table of "YYYY/YY" = {{ url = ..., sha256 = ... }} and '
            "optionally [pfa] url = ..."
        ) from None
    return entries, data.get("licence", "")


def select(entries: dict[str, Upstream], years: list[str] | None, pfa: bool = True) -> list[Upstream]:
    """The registry entries for the requested years (all when None), plus the PFA table."""
    available = [k for k in entries if k != "pfa"]
    if years:
        chosen = [entries[periods.check_year(y, available, "--years", "the registry")] for y in years]
    else:
        chosen = [entries[k] for k in available]
    if pfa and "pfa" in entries:
        chosen.append(entries["pfa"])
    return chosen


def _load_snapshots(raw: Path) -> dict:
    path = raw / SNAPSHOTS
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON ({exc}). Restore it from version control or "
            "delete it (hashes will be recorded afresh)."
        ) from None


@dataclass
class FetchResult:
    """What happened to one file."""

    entry: Upstream
    status: str  # "cached", "downloaded", "updated", "unchanged", "refused", "failed"
    message: str


def _download(entry: Upstream, folder: Path, progress: bool, timeout: float, retries: int) -> Path:
    """Download one URL into `folder` with retries; pooch writes to a temporary name first."""
    folder.mkdir(parents=True, exist_ok=True)
    fetcher = pooch.create(
        path=folder,
        base_url="",
        registry={entry.filename: None},
        urls={entry.filename: entry.url},
        retry_if_failed=retries,
    )
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
    return Path(fetcher.fetch(entry.filename, downloader=downloader))


def fetch(
    raw: Path | str = RAW,
    years: list[str] | None = None,
    update: bool = False,
    registry: Path | str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
    retries: int = RETRIES,
    today: dt.date | None = None,
) -> list[FetchResult]:
    """Fetch the registry's files into `raw`; never overwrite a cached file unless `update`."""
    raw = Path(raw)
    raw.mkdir(parents=True, exist_ok=True)
    entries, licence = load_registry(registry)
    snapshots = _load_snapshots(raw)
    results = []
    for entry in select(entries, years):
        target = raw / entry.filename
        snap = snapshots.get(entry.filename, {})
        known = snap.get("sha256") or entry.sha256
        if target.exists() and not update:
            digest = sha256_of(target)
            if known and digest != known:
                results.append(
                    FetchResult(
                        entry,
                        "failed",
                        f"{target} does not match its recorded sha256 (damaged or edited?). Delete it "
                        "and fetch again, or run 'fetch --update' to accept the upstream version.",
                    )
                )
                continue
            if not known:
                snapshots[entry.filename] = _snapshot(entry, target, digest, licence, today, snap)
            results.append(FetchResult(entry, "cached", f"{entry.filename}: in the cache, hash checked"))
            continue
        staging = raw / ".download"
        try:
            got = _download(entry, staging, progress, timeout, retries)
        except Exception as exc:  # requests and pooch raise many types for network failures
            shutil.rmtree(staging, ignore_errors=True)
            results.append(FetchResult(entry, "failed", _network_message(entry, exc, retries)))
            continue
        digest = sha256_of(got)
        if known and digest != known and not update:
            shutil.rmtree(staging, ignore_errors=True)
            results.append(
                FetchResult(
                    entry,
                    "refused",
                    f"{entry.filename}: the upstream file changed (sha256 {digest[:12]}..., recorded "
                    f"{known[:12]}...). Nothing was replaced. Run 'stalking-outcomes fetch --update' to "
                    "accept the new version and record its hash.",
                )
            )
            continue
        if target.exists() and digest == sha256_of(target):
            shutil.rmtree(staging, ignore_errors=True)
            snapshots[entry.filename] = _snapshot(entry, target, digest, licence, today, snap)
            results.append(FetchResult(entry, "unchanged", f"{entry.filename}: upstream unchanged"))
            continue
        status = "updated" if target.exists() else "downloaded"
        got.replace(target)
        shutil.rmtree(staging, ignore_errors=True)
        snapshots[entry.filename] = _snapshot(entry, target, digest, licence, today, {})
        results.append(
            FetchResult(entry, status, f"{entry.filename}: {status} ({target.stat().st_size:,} bytes)")
        )
    write_json(snapshots, raw / SNAPSHOTS)
    return results


def _snapshot(
    entry: Upstream, target: Path, digest: str, licence: str, today: dt.date | None, old: dict
) -> dict:
    return {
        "key": entry.key,
        "url": entry.url,
        "sha256": digest,
        "size": target.stat().st_size,
        "accessed": old.get("accessed") or (today or dt.date.today()).isoformat(),
        "licence": licence,
    }


def _network_message(entry: Upstream, exc: Exception, retries: int) -> str:
    text = str(exc)
    if "404" in text:
        hint = (
            "the address no longer exists (GOV.UK republishes these files): copy the current "
            "address from the landing page into a registry file and pass --registry"
        )
    else:
        hint = (
            f"the download failed after {retries + 1} tries ({type(exc).__name__}: {text[:200]}); "
            "nothing was saved; check the connection and run fetch again"
        )
    return f"{entry.filename} from {entry.url}: {hint}."
