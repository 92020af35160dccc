"""Downloads of the GOV.UK files into the raw cache, with hashes and snapshot metadata.

The upstream registry (URL and, once known, sha256 per file) ships in analysis/sources/upstream.toml.
The first download of a file records its sha256, size, URL and date in data/raw/snapshots.json;
every later fetch checks against it, and a file whose bytes changed upstream is refused unless
`--update`, which records the new hash and date. Files are never edited in the cache.

A download replaces nothing until it is checked as a workbook (`workbook_problem`): an HTML
page, a truncated download or a zip that is not a spreadsheet is refused and the cached file and
its `NAME.prev` stay as they were. `--update` moves the cached file to `NAME.prev` only when it is
itself a workbook, so `.prev` always holds the last good file.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import tomllib
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlparse

import pooch

from analysis.domain import periods
from analysis.errors import InputError
from analysis.files import make_shareable, sha256_of, write_json
from analysis.paths import RAW
from analysis.sources import sheets

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
    # "cached", "downloaded", "updated", "unchanged", "refused", "failed"; with --check also
    # "same", "changed", "unknown", "missing"
    status: str
    message: str


_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_XLSX_PARTS = ("[Content_Types].xml", "xl/workbook.xml")


def _zip_problem(path: Path) -> str | None:
    """What is wrong with a whole zip archive named as a workbook; None when it holds the parts
    of the kind its suffix names (.xlsx/.xlsm: [Content_Types].xml, xl/workbook.xml and at least
    one xl/worksheets/*.xml; .ods: a mimetype of an OpenDocument spreadsheet and content.xml;
    any other suffix: either)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            mimetype = zf.read("mimetype").strip() if "mimetype" in names else b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError, ValueError):
        return "a truncated or damaged zip archive"
    missing_xlsx = [n for n in _XLSX_PARTS if n not in names]
    if not any(n.startswith("xl/worksheets/") and n.endswith(".xml") for n in names):
        missing_xlsx.append("xl/worksheets/*.xml")
    missing_ods = [] if mimetype == _ODS_MIMETYPE else [f"mimetype {_ODS_MIMETYPE.decode()}"]
    if "content.xml" not in names:
        missing_ods.append("content.xml")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        if not missing_xlsx:
            return None
        if not missing_ods:
            return "an OpenDocument (.ods) spreadsheet, not the .xlsx workbook its name says"
        return f"a zip archive that is not an .xlsx workbook (it has no {', no '.join(missing_xlsx)})"
    if suffix == ".ods":
        if not missing_ods:
            return None
        if not missing_xlsx:
            return "an .xlsx workbook, not the OpenDocument (.ods) spreadsheet its name says"
        return f"a zip archive that is not an .ods spreadsheet (it has no {', no '.join(missing_ods)})"
    if not missing_xlsx or not missing_ods:
        return None
    return "a zip archive that is neither an .xlsx workbook nor an .ods spreadsheet"


def workbook_problem(path: Path) -> str | None:
    """What a downloaded file is, in words, when it is not the workbook its name says (an HTML
    page, a truncated zip, a zip without a workbook's parts, ...); None when it is one. The bytes
    are sniffed first (`sheets.sniff`: HTML, text, truncated zips, legacy .xls); a whole zip
    must then hold the parts of its kind of workbook. CSV files are text and always pass."""
    kind = sheets.sniff(path)
    if kind or path.suffix.lower() in (".csv", ".xls"):
        return kind
    return _zip_problem(path)


class DownloadError(ValueError):
    """A download that arrived incomplete (pooch retries on ValueError)."""


_KEPT_HEADERS = ("etag", "last-modified", "content-length", "content-type")


class _Downloader:
    """A pooch downloader: HTTP GET, streamed, that keeps the response's validators (ETag,
    Last-Modified, length) for snapshots.json and refuses a body shorter than its
    Content-Length. pooch writes to a temporary file and retries on failure."""

    def __init__(self, timeout: float, progress: bool) -> None:
        self.timeout, self.progress = timeout, progress
        self.headers: dict[str, str] = {}

    def __call__(self, url: str, output_file: str, pooch_obj: object, check_only: bool = False) -> None:
        import requests

        with requests.get(url, stream=True, timeout=self.timeout) as resp:
            resp.raise_for_status()
            self.headers = {k: v for k, v in resp.headers.lower_items() if k in _KEPT_HEADERS}
            bar = None
            if self.progress:
                from tqdm import tqdm

                bar = tqdm(total=int(self.headers.get("content-length", 0) or 0), unit="B", unit_scale=True)
            size = 0
            try:
                with open(output_file, "wb") as fh:
                    for chunk in resp.iter_content(chunk_size=1 << 20):
                        fh.write(chunk)
                        size += len(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
            expected = self.headers.get("content-length", "")
            # a compressed transfer's length is of the compressed bytes, not of what was written
            if expected.isdigit() and "content-encoding" not in resp.headers and size != int(expected):
                raise DownloadError(f"the connection closed after {size:,} of {int(expected):,} bytes")


def _download(
    entry: Upstream, folder: Path, progress: bool, timeout: float, retries: int
) -> tuple[Path, dict]:
    """Download one URL into `folder` with retries; return the file and the response's validators."""
    folder.mkdir(parents=True, exist_ok=True)
    fetcher = pooch.create(
        path=folder,
        base_url="",
        registry={entry.filename: None},
        urls={entry.filename: entry.url},
        retry_if_failed=retries,
    )
    downloader = _Downloader(timeout, progress)
    return Path(fetcher.fetch(entry.filename, downloader=downloader)), downloader.headers


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
    """Fetch the registry's files into `raw`; never overwrite a cached file unless `update`, and
    never with bytes that are not a workbook. snapshots.json is written after each file."""
    if retries < 0:
        raise InputError(f"--retries {retries}: use 0 or more.")
    if timeout <= 0:
        raise InputError(f"timeout {timeout}: use a positive number of seconds.")
    raw = Path(raw)
    raw.mkdir(parents=True, exist_ok=True)
    entries, licence = load_registry(registry)
    snapshots = _load_snapshots(raw)
    results = []
    for entry in select(entries, years):
        result, snap = _fetch_one(
            entry, raw, snapshots.get(entry.filename, {}), update, licence, today, progress, timeout, retries
        )
        results.append(result)
        if snap is not None:
            snapshots[entry.filename] = snap
            write_json(snapshots, raw / SNAPSHOTS)  # after each file: a later failure loses nothing
    return results


def _fetch_one(
    entry: Upstream,
    raw: Path,
    snap: dict,
    update: bool,
    licence: str,
    today: dt.date | None,
    progress: bool,
    timeout: float,
    retries: int,
) -> tuple[FetchResult, dict | None]:
    """One file: checked in the cache, or downloaded, checked and put in place. Returns the
    result and the new snapshot record (None when the record stays as it was)."""
    target = raw / entry.filename
    known = snap.get("sha256") or entry.sha256
    if target.exists() and not update:
        digest = sha256_of(target)
        if known and digest != known:
            return FetchResult(
                entry,
                "failed",
                f"{target} does not match its recorded sha256 (damaged or edited?). Delete it "
                "and fetch again, or run 'fetch --update' to accept the upstream version.",
            ), None
        new = None if known else _snapshot(entry, target, digest, licence, today, snap, {})
        return FetchResult(entry, "cached", f"{entry.filename}: in the cache, hash checked"), new
    staging = raw / ".download"
    try:
        try:
            got, headers = _download(entry, staging, progress, timeout, retries)
        except Exception as exc:  # requests and pooch raise many types for network failures
            return FetchResult(entry, "failed", _network_message(entry, exc, retries)), None
        kind = workbook_problem(got)
        if kind:
            return FetchResult(
                entry,
                "failed",
                f"{entry.filename} from {entry.url}: the server sent {kind}, not a workbook. Nothing was "
                "saved and the cache is as it was (the cached file and any .prev untouched). If GOV.UK "
                "moved the file, copy its current address from the landing page into a registry file "
                "and pass --registry.",
            ), None
        digest = sha256_of(got)
        if known and digest != known and not update:
            return FetchResult(
                entry,
                "refused",
                f"{entry.filename}: the upstream file changed (sha256 {digest[:12]}..., recorded "
                f"{known[:12]}...). Nothing was replaced. Run 'stalking-outcomes fetch --update' to "
                "accept the new version and record its hash.",
            ), None
        if target.exists() and digest == sha256_of(target):
            new = _snapshot(entry, target, digest, licence, today, snap, headers)
            return FetchResult(entry, "unchanged", f"{entry.filename}: upstream unchanged"), new
        make_shareable(got)  # before anything in the cache moves
        status, kept = "downloaded", ""
        prev = target.with_name(target.name + ".prev")
        if target.exists():
            status = "updated"
            damaged = workbook_problem(target)
            if damaged is None:
                os.replace(target, prev)  # the good file stays, as .prev, until the next --update
                kept = f"; the previous version is kept as {prev.name}"
            else:  # .prev keeps the last good file, never one that is not a workbook
                kept = f"; the cached file it replaces was not a workbook ({damaged}) and was dropped"
                if prev.exists():
                    kept += f"; {prev.name} is as it was"
        os.replace(got, target)
        new = _snapshot(entry, target, digest, licence, today, {}, headers)
        if status == "updated" and prev.exists():
            new["previous_sha256"] = sha256_of(prev)
        message = f"{entry.filename}: {status} ({target.stat().st_size:,} bytes{kept})"
        return FetchResult(entry, status, message), new
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check(
    raw: Path | str = RAW,
    years: list[str] | None = None,
    registry: Path | str | None = None,
    timeout: float = 60.0,
) -> list[FetchResult]:
    """Ask the server, without downloading, whether each cached file changed upstream: compare
    the ETag, Last-Modified and length it reports now with those recorded at download."""
    import requests

    raw = Path(raw)
    if raw.exists() and not raw.is_dir():  # else every file would be reported missing
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(raw))
    entries, _ = load_registry(registry)
    snapshots = _load_snapshots(raw)
    results = []
    for entry in select(entries, years):
        snap = snapshots.get(entry.filename, {})
        if not (raw / entry.filename).exists():
            results.append(FetchResult(entry, "missing", f"{entry.filename}: not in the cache; run fetch"))
            continue
        try:
            resp = requests.head(entry.url, allow_redirects=True, timeout=timeout)
            resp.raise_for_status()
        except Exception as exc:
            results.append(FetchResult(entry, "failed", _network_message(entry, exc, 0)))
            continue
        now = {k: v for k, v in resp.headers.lower_items() if k in _KEPT_HEADERS}
        results.append(_compare(entry, snap, now))
    return results


def _compare(entry: Upstream, snap: dict, now: dict[str, str]) -> FetchResult:
    """Changed, same or unknown, from the validators recorded and those the server gives now."""
    recorded = dict(snap.get("http", {}))
    if "size" in snap:
        recorded.setdefault("content-length", str(snap["size"]))
    differ = [
        k
        for k in ("etag", "last-modified", "content-length")
        if k in now and k in recorded and now[k] != recorded[k]
    ]
    if differ:
        return FetchResult(
            entry,
            "changed",
            f"{entry.filename}: changed upstream ({', '.join(f'{k} {recorded[k]} -> {now[k]}' for k in differ)}); "
            "run 'stalking-outcomes fetch --update' to download it and record the new hash.",
        )
    strong = [k for k in ("etag", "last-modified") if k in now and k in recorded]
    if strong:
        return FetchResult(entry, "same", f"{entry.filename}: unchanged upstream ({', '.join(strong)} match)")
    return FetchResult(
        entry,
        "unknown",
        f"{entry.filename}: the server gives no ETag or Last-Modified to compare (length "
        f"{now.get('content-length', 'not given')}); only 'fetch --update' can tell, by downloading.",
    )


def _snapshot(
    entry: Upstream,
    target: Path,
    digest: str,
    licence: str,
    today: dt.date | None,
    old: dict,
    headers: dict[str, str],
) -> dict:
    record = {
        "key": entry.key,
        "url": entry.url,
        "sha256": digest,
        "size": target.stat().st_size,
        "accessed": old.get("accessed") or (today or dt.date.today()).isoformat(),
        "licence": licence,
    }
    validators = {k: headers[k] for k in ("etag", "last-modified") if k in headers} or old.get("http", {})
    if validators:
        record["http"] = validators
    return record


def _status_code(exc: BaseException) -> int | None:
    """The HTTP status of a failed request, if the server answered at all."""
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _network_message(entry: Upstream, exc: Exception, retries: int) -> str:
    status = _status_code(exc)
    if status in (404, 410):
        hint = (
            f"the address no longer exists (HTTP {status}; GOV.UK republishes these files): copy the "
            "current address from the landing page into a registry file and pass --registry"
        )
    elif status is not None:
        hint = f"the server answered HTTP {status}; nothing was saved; try again later"
    else:
        hint = (
            f"the download failed after {retries + 1} tries ({type(exc).__name__}: {str(exc)[:200]}); "
            "nothing was saved; check the connection and run fetch again"
        )
    return f"{entry.filename} from {entry.url}: {hint}."
