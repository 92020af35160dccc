"""fetch against a local HTTP server on 127.0.0.1 serving generated files: a good download, the
cache, a changed upstream file (refused, then accepted with --update), a 404 and a dropped
connection."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from analysis.cli import main
from analysis.demo.publish import Sheet, write_workbook
from analysis.sources import fetch


class Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    drop: ClassVar[set[str]] = set()

    def do_GET(self):
        name = self.path.lstrip("/")
        if name not in self.files:
            self.send_error(404)
            return
        body = self.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.drop:  # send half, then hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.close()
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(tmp_path):
    Handler.files, Handler.drop = {}, set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _workbook(tmp_path: Path, text: str) -> bytes:
    path = tmp_path / f"wb-{text}.xlsx"
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
        "prc-pfa-mar2013-onwards-tables-230726.ods": v1,
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
        "prc-pfa-mar2013-onwards-tables-230726.ods": good,
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
        "prc-pfa-mar2013-onwards-tables-230726.ods": _workbook(tmp_path, "b"),
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
