"""fetch against a local HTTP server on 127.0.0.1 serving generated files: a good download, the
cache, a changed upstream file (refused, then accepted with --update), a 404, a dropped
connection, and bytes that are not a workbook (an HTML page, a zip without a workbook's parts),
which never replace the cached file or its NAME.prev."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import zipfile
from pathlib import Path
from typing import ClassVar

import pytest

from analysis.cli import main
from analysis.demo.publish import Sheet, write_workbook
from analysis.sources import fetch


class Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    drop: ClassVar[set[str]] = set()  # send half the body, then hang up
    no_length: ClassVar[set[str]] = set()  # no Content-Length header (so a drop cannot be seen by length)
    validators: ClassVar[bool] = True  # send ETag and Last-Modified
    protocol_version = "HTTP/1.0"  # without a length, the body ends when the connection closes

    def _head(self) -> bytes | None:
        name = self.path.lstrip("/")
        if name not in self.files:
            self.send_error(404)
            return None
        body = self.files[name]
        self.send_response(200)
        if name not in self.no_length:
            self.send_header("Content-Length", str(len(body)))
        if self.validators:
            self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()[:16]}"')
            self.send_header("Last-Modified", f"Mon, 0{1 + len(body) % 9} Jun 2026 10:00:00 GMT")
        self.end_headers()
        return body

    def do_HEAD(self):
        self._head()

    def do_GET(self):
        body = self._head()
        if body is None:
            return
        if self.path.lstrip("/") in self.drop:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.close()
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(tmp_path):
    Handler.files, Handler.drop, Handler.no_length, Handler.validators = {}, set(), set(), True
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _workbook(tmp_path: Path, text: str, suffix: str = ".xlsx") -> bytes:
    path = tmp_path / f"wb-{text}{suffix}"
    write_workbook(path, [Sheet("Cover_sheet", [[text]])])
    return path.read_bytes()


def _registry(tmp_path: Path, base: str) -> Path:
    reg = tmp_path / "registry.toml"
    reg.write_text(
        'licence = "OGL v3.0"\n[outcomes]\n'
        f'"2020/21" = {{ url = "{base}/prc-outcomes-open-data-mar2021-tables-240425.xlsx", sha256 = "" }}\n'
        f'"2021/22" = {{ url = "{base}/prc-outcomes-open-data-mar2022-tables-240425.xlsx", sha256 = "" }}\n'
        f'[pfa]\nurl = "{base}/prc-pfa-mar2013-onwards-tables-230726.ods"\nsha256 = ""\n'
    )
    return reg


def test_download_cache_change_and_update(tmp_path, server):
    raw = tmp_path / "raw"
    v1, v2 = _workbook(tmp_path, "v1"), _workbook(tmp_path, "v2")
    Handler.files = {
        "prc-outcomes-open-data-mar2021-tables-240425.xlsx": v1,
        "prc-pfa-mar2013-onwards-tables-230726.ods": _workbook(tmp_path, "v1", ".ods"),
    }
    reg = _registry(tmp_path, server)
    res = fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    assert [r.status for r in res] == ["downloaded", "downloaded"]
    target = raw / "prc-outcomes-open-data-mar2021-tables-240425.xlsx"
    assert target.read_bytes() == v1
    snaps = json.loads((raw / "snapshots.json").read_text())
    snap = snaps[target.name]
    assert snap["size"] == len(v1) and len(snap["sha256"]) == 64
    assert snap["url"].startswith("http://127.0.0.1") and "OGL" in snap["licence"]
    assert snap["accessed"]

    res = fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    assert [r.status for r in res] == ["cached", "cached"]

    # upstream changes: a fresh cache with the recorded hashes refuses the new bytes
    Handler.files[target.name] = v2
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "snapshots.json").write_text(json.dumps(snaps))
    res = fetch.fetch(fresh, years=["2020/21"], registry=reg, progress=False)
    assert res[0].status == "refused" and "--update" in res[0].message
    assert not (fresh / target.name).exists()

    # --update on the original cache replaces the file and records the new hash
    res = fetch.fetch(raw, years=["2020/21"], registry=reg, update=True, progress=False)
    assert res[0].status == "updated" and res[1].status == "unchanged"
    assert target.read_bytes() == v2
    assert json.loads((raw / "snapshots.json").read_text())[target.name]["sha256"] != snap["sha256"]


def test_404_and_dropped_connection_save_nothing(tmp_path, server, capsys):
    raw = tmp_path / "raw"
    good = _workbook(tmp_path, "good")
    Handler.files = {
        "prc-outcomes-open-data-mar2022-tables-240425.xlsx": good,
        "prc-pfa-mar2013-onwards-tables-230726.ods": _workbook(tmp_path, "good", ".ods"),
    }
    Handler.drop = {"prc-outcomes-open-data-mar2022-tables-240425.xlsx"}
    reg = _registry(tmp_path, server)
    code = main(
        [
            "fetch",
            "--raw",
            str(raw),
            "--registry",
            str(reg),
            "--retries",
            "1",
            "--years",
            "2020/21",
            "2021/22",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "no longer exists" in out and "--registry" in out  # the 404
    assert "failed after 2 tries" in out and "nothing was saved" in out  # the dropped connection
    assert "2 of 3 files were not fetched" in err and "Traceback" not in err
    assert sorted(p.name for p in raw.iterdir()) == [
        "prc-pfa-mar2013-onwards-tables-230726.ods",
        "snapshots.json",
    ]


def test_cached_file_damaged_locally(tmp_path, server):
    raw = tmp_path / "raw"
    Handler.files = {
        "prc-outcomes-open-data-mar2021-tables-240425.xlsx": _workbook(tmp_path, "a"),
        "prc-pfa-mar2013-onwards-tables-230726.ods": _workbook(tmp_path, "b", ".ods"),
    }
    reg = _registry(tmp_path, server)
    fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    target = raw / "prc-outcomes-open-data-mar2021-tables-240425.xlsx"
    target.write_bytes(target.read_bytes()[:100])
    res = fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    assert res[0].status == "failed" and "does not match its recorded sha256" in res[0].message


def test_bad_years_and_registry(tmp_path, capsys):
    assert main(["fetch", "--raw", str(tmp_path), "--years", "2031/32"]) == 2
    assert "--years 2031/32 is outside the registry" in capsys.readouterr().err
    bad = tmp_path / "r.toml"
    bad.write_text("[outcomes]\nnonsense = 1\n")
    assert main(["fetch", "--raw", str(tmp_path), "--registry", str(bad)]) == 2
    assert "malformed" in capsys.readouterr().err


def test_packaged_registry_covers_every_year():
    entries, licence = fetch.load_registry()
    assert [k for k in entries if k != "pfa"] == [f"{y}/{(y + 1) % 100:02d}" for y in range(2014, 2025)]
    assert all(e.url.startswith("https://assets.publishing.service.gov.uk/") for e in entries.values())
    assert "Open Government Licence" in licence


OUT21 = "prc-outcomes-open-data-mar2021-tables-240425.xlsx"
PFA = "prc-pfa-mar2013-onwards-tables-230726.ods"


def test_an_html_page_or_a_dropped_connection_is_never_saved(tmp_path, server):
    """Faults that used to be saved as workbooks with their hash recorded (exit 0): an HTTP 200
    HTML page, and a connection dropped with no Content-Length; under --update neither replaces
    the good cached file."""
    raw = tmp_path / "raw"
    good = _workbook(tmp_path, "good")
    Handler.files = {
        OUT21: b"<!DOCTYPE html><html><body>Page not found</body></html>",
        PFA: _workbook(tmp_path, "good", ".ods"),
    }
    reg = _registry(tmp_path, server)
    res = fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False, retries=0)
    assert res[0].status == "failed" and "HTML page" in res[0].message
    assert not (raw / OUT21).exists() and OUT21 not in json.loads((raw / "snapshots.json").read_text())

    Handler.files[OUT21] = good
    assert fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)[0].status == "downloaded"
    Handler.files[OUT21] = _workbook(tmp_path, "newer")
    Handler.no_length, Handler.drop = {OUT21}, {OUT21}
    res = fetch.fetch(raw, years=["2020/21"], registry=reg, update=True, progress=False, retries=0)
    assert res[0].status == "failed" and "truncated or damaged zip" in res[0].message
    Handler.files[OUT21], Handler.drop = b"<html>Service unavailable</html>", set()
    res = fetch.fetch(raw, years=["2020/21"], registry=reg, update=True, progress=False, retries=0)
    assert res[0].status == "failed" and "HTML page" in res[0].message
    assert (raw / OUT21).read_bytes() == good
    assert (
        json.loads((raw / "snapshots.json").read_text())[OUT21]["sha256"] == hashlib.sha256(good).hexdigest()
    )
    assert not list(raw.glob("*.prev")) and not (raw / ".download").exists()


def test_update_keeps_the_previous_file_and_files_are_world_readable(tmp_path, server):
    raw = tmp_path / "raw"
    v1, v2 = _workbook(tmp_path, "v1"), _workbook(tmp_path, "v2")
    Handler.files = {OUT21: v1, PFA: _workbook(tmp_path, "v1", ".ods")}
    reg = _registry(tmp_path, server)
    old = os.umask(0o022)
    try:
        fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
        Handler.files[OUT21] = v2
        res = fetch.fetch(raw, years=["2020/21"], registry=reg, update=True, progress=False)
    finally:
        os.umask(old)
    assert res[0].status == "updated" and f"{OUT21}.prev" in res[0].message
    assert (raw / OUT21).read_bytes() == v2 and (raw / f"{OUT21}.prev").read_bytes() == v1
    snap = json.loads((raw / "snapshots.json").read_text())[OUT21]
    assert snap["previous_sha256"] == hashlib.sha256(v1).hexdigest()
    for f in (raw / OUT21, raw / PFA):
        assert f.stat().st_mode & 0o777 == 0o644, f


def test_404_advice_comes_from_the_status_not_from_the_text(tmp_path, server):
    raw = tmp_path / "raw"
    name404 = "prc-outcomes-open-data-mar2022-tables-404404.xlsx"
    Handler.files = {name404: _workbook(tmp_path, "x"), PFA: _workbook(tmp_path, "p", ".ods")}
    Handler.drop = {name404}  # a network fault on a URL that happens to contain "404"
    reg = tmp_path / "registry.toml"
    reg.write_text(f'[outcomes]\n"2021/22" = {{ url = "{server}/{name404}" }}\n')
    res = fetch.fetch(raw, registry=reg, progress=False, retries=0)
    assert res[0].status == "failed" and "no longer exists" not in res[0].message
    assert "failed after 1 tries" in res[0].message
    Handler.files = {}
    res = fetch.fetch(raw, registry=reg, progress=False, retries=0)
    assert "no longer exists (HTTP 404" in res[0].message


def test_snapshots_are_written_after_each_file(tmp_path, server, monkeypatch):
    raw = tmp_path / "raw"
    Handler.files = {OUT21: _workbook(tmp_path, "a"), PFA: _workbook(tmp_path, "b", ".ods")}
    reg = _registry(tmp_path, server)
    real, calls = fetch._download, []

    def killed_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(fetch, "_download", killed_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    assert list(json.loads((raw / "snapshots.json").read_text())) == [OUT21]


def test_check_asks_the_server_without_downloading(tmp_path, server, capsys):
    raw = tmp_path / "raw"
    v1 = _workbook(tmp_path, "v1")
    Handler.files = {OUT21: v1, PFA: _workbook(tmp_path, "v1", ".ods")}
    reg = _registry(tmp_path, server)
    fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    snaps = json.loads((raw / "snapshots.json").read_text())
    assert set(snaps[OUT21]["http"]) == {"etag", "last-modified"}
    assert [r.status for r in fetch.check(raw, years=["2020/21"], registry=reg)] == ["same", "same"]

    Handler.files[OUT21] = _workbook(tmp_path, "v2-longer-text")
    assert main(["fetch", "--check", "--raw", str(raw), "--registry", str(reg), "--years", "2020/21"]) == 1
    out = capsys.readouterr().out
    assert "changed upstream (etag" in out and "fetch --update" in out
    assert (raw / OUT21).read_bytes() == v1  # nothing downloaded

    Handler.validators = False
    Handler.files[OUT21] = v1
    res = fetch.check(raw, years=["2020/21"], registry=reg)
    assert res[0].status == "unknown" and "only 'fetch --update' can tell" in res[0].message
    assert main(["fetch", "--check", "--update", "--raw", str(raw)]) == 2


@pytest.mark.parametrize("argv", [["--retries", "-1"], ["--retries", "x"]])
def test_bad_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fetch", *argv])
    assert exc.value.code == 2 and "--retries" in capsys.readouterr().err


def _zip(tmp_path: Path, name: str, members: dict[str, bytes]) -> bytes:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path.read_bytes()


def _state(raw: Path) -> dict[str, bytes]:
    """Every file in the cache, by name, with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(raw.iterdir()) if p.is_file()}


def test_a_zip_that_is_not_a_workbook_replaces_nothing(tmp_path, server, capsys):
    """A small zip that is not a workbook used to be saved as 'updated', and a second one then
    overwrote NAME.prev, losing the good file: under --update both are refused and the cached
    file, its .prev and snapshots.json stay byte for byte as they were."""
    raw = tmp_path / "raw"
    v1, v2 = _workbook(tmp_path, "v1"), _workbook(tmp_path, "v2")
    Handler.files = {OUT21: v1, PFA: _workbook(tmp_path, "p", ".ods")}
    reg = _registry(tmp_path, server)
    fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    Handler.files[OUT21] = v2
    assert (
        fetch.fetch(raw, years=["2020/21"], registry=reg, update=True, progress=False)[0].status == "updated"
    )
    before = _state(raw)
    assert before[OUT21] == v2 and before[f"{OUT21}.prev"] == v1

    junk = _zip(tmp_path, "junk.zip", {"readme.txt": b"not a workbook"})
    assert len(junk) < 200
    for bad in (junk, _zip(tmp_path, "junk2.zip", {"other.txt": b"still not one"})):
        Handler.files[OUT21] = bad
        res = fetch.fetch(raw, years=["2020/21"], registry=reg, update=True, progress=False, retries=0)
        assert res[0].status == "failed" and "not an .xlsx workbook" in res[0].message
        assert "xl/workbook.xml" in res[0].message and "Nothing was saved" in res[0].message
        assert _state(raw) == before
        assert not (raw / ".download").exists()

    # through the command: exit 1, the file named, no traceback
    code = main(["fetch", "--update", "--raw", str(raw), "--registry", str(reg), "--years", "2020/21"])
    out, err = capsys.readouterr()
    assert code == 1 and OUT21 in out and "not a workbook" in out and "Traceback" not in err
    assert _state(raw) == before


def test_two_good_updates_in_a_row_keep_the_previous_good_file(tmp_path, server):
    raw = tmp_path / "raw"
    v1, v2, v3 = (_workbook(tmp_path, v) for v in ("v1", "v2", "v3"))
    Handler.files = {OUT21: v1, PFA: _workbook(tmp_path, "p", ".ods")}
    reg = _registry(tmp_path, server)
    fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    for new, old in ((v2, v1), (v3, v2)):
        Handler.files[OUT21] = new
        res = fetch.fetch(raw, years=["2020/21"], registry=reg, update=True, progress=False)
        assert res[0].status == "updated"
        assert (raw / OUT21).read_bytes() == new and (raw / f"{OUT21}.prev").read_bytes() == old
        snap = json.loads((raw / "snapshots.json").read_text())[OUT21]
        assert snap["sha256"] == hashlib.sha256(new).hexdigest()
        assert snap["previous_sha256"] == hashlib.sha256(old).hexdigest()


def test_a_cached_file_that_is_not_a_workbook_never_becomes_prev(tmp_path, server):
    """A cache left by an older version: a junk zip saved as the file, the good one as .prev.
    The next good --update replaces the junk and leaves the good .prev alone."""
    raw = tmp_path / "raw"
    v1, v2 = _workbook(tmp_path, "v1"), _workbook(tmp_path, "v2")
    Handler.files = {OUT21: v1, PFA: _workbook(tmp_path, "p", ".ods")}
    reg = _registry(tmp_path, server)
    fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    junk = _zip(tmp_path, "junk.zip", {"readme.txt": b"not a workbook"})
    (raw / f"{OUT21}.prev").write_bytes(v1)
    (raw / OUT21).write_bytes(junk)
    snaps = json.loads((raw / "snapshots.json").read_text())
    snaps[OUT21]["sha256"] = hashlib.sha256(junk).hexdigest()
    (raw / "snapshots.json").write_text(json.dumps(snaps))

    Handler.files[OUT21] = v2
    res = fetch.fetch(raw, years=["2020/21"], registry=reg, update=True, progress=False)
    assert res[0].status == "updated" and "was not a workbook" in res[0].message
    assert (raw / OUT21).read_bytes() == v2 and (raw / f"{OUT21}.prev").read_bytes() == v1
    snap = json.loads((raw / "snapshots.json").read_text())[OUT21]
    assert snap["previous_sha256"] == hashlib.sha256(v1).hexdigest()


def test_an_xlsx_served_as_the_ods_table_is_refused(tmp_path, server):
    raw = tmp_path / "raw"
    Handler.files = {OUT21: _workbook(tmp_path, "a"), PFA: _workbook(tmp_path, "b")}
    reg = _registry(tmp_path, server)
    res = fetch.fetch(raw, years=["2020/21"], registry=reg, progress=False)
    assert [r.status for r in res] == ["downloaded", "failed"]
    assert "an .xlsx workbook, not the OpenDocument (.ods) spreadsheet" in res[1].message
    assert not (raw / PFA).exists() and PFA not in json.loads((raw / "snapshots.json").read_text())


XLSX_PARTS = {"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>", "xl/worksheets/sheet1.xml": b"<x/>"}
ODS_PARTS = {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}


@pytest.mark.parametrize(
    "name,members,problem",
    [
        ("a.xlsx", XLSX_PARTS, None),
        ("a.xlsm", XLSX_PARTS, None),
        ("a.ods", ODS_PARTS, None),
        ("a.xlsx", {"readme.txt": b"x"}, "not an .xlsx workbook"),
        ("a.xlsx", {k: v for k, v in XLSX_PARTS.items() if "worksheets" not in k}, "no xl/worksheets/*.xml"),
        ("a.xlsx", {k: v for k, v in XLSX_PARTS.items() if "Content" not in k}, "no [Content_Types].xml"),
        ("a.xlsx", ODS_PARTS, "an OpenDocument (.ods) spreadsheet, not the .xlsx"),
        ("a.ods", {**ODS_PARTS, "mimetype": b"application/vnd.oasis.opendocument.text"}, "no mimetype"),
        ("a.ods", {"mimetype": ODS_PARTS["mimetype"]}, "no content.xml"),
        ("a.ods", XLSX_PARTS, "an .xlsx workbook, not the OpenDocument (.ods)"),
        ("a.bin", ODS_PARTS, None),
        ("a.bin", {"readme.txt": b"x"}, "neither an .xlsx workbook nor an .ods"),
    ],
)
def test_a_zip_must_hold_the_parts_of_its_kind_of_workbook(tmp_path, name, members, problem):
    path = tmp_path / name
    path.write_bytes(_zip(tmp_path, "z.zip", members))
    found = fetch.workbook_problem(path)
    assert found is None if problem is None else problem in (found or "")


def test_other_files_are_judged_by_their_bytes(tmp_path):
    ole2 = tmp_path / "a.xls"
    ole2.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(600))
    assert fetch.workbook_problem(ole2) is None  # legacy .xls: the OLE2 signature, as before
    html = tmp_path / "a.xlsx"
    html.write_bytes(b"<html><body>Moved</body></html>")
    assert "HTML page" in (fetch.workbook_problem(html) or "")
    named_xls = tmp_path / "b.xls"
    named_xls.write_bytes(_zip(tmp_path, "z.zip", XLSX_PARTS))
    assert "zip archive" in (fetch.workbook_problem(named_xls) or "")
    truncated = tmp_path / "c.xlsx"
    truncated.write_bytes(_zip(tmp_path, "z.zip", XLSX_PARTS)[:60])
    assert "truncated or damaged zip" in (fetch.workbook_problem(truncated) or "")
