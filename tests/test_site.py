"""The report site in a real browser: every link on index.html resolves, and headless Chromium
renders it (screenshot saved beside the site). Also the dask executor on a LocalCluster."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.request import urlopen

import pytest

from analysis.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v and not v.startswith(("http:", "https:", "#", "mailto:")):
                self.links.append(v)


@pytest.fixture(scope="module")
def small_site(tmp_path_factory, demo_store):
    """A run of the national notebooks and two force reports in a scratch project."""
    store, _ = demo_store
    proj = tmp_path_factory.mktemp("site")
    shutil.copytree(ROOT / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
    shutil.copytree(store, proj / "data" / "processed" / "demo")
    cwd = os.getcwd()
    os.chdir(proj)
    try:
        assert main(["run", "--forces", "Northamptonshire", "Dyfed-Powys", "--jobs", "2"]) == 0
    finally:
        os.chdir(cwd)
    return proj / "outputs" / "demo"


@pytest.mark.slow
def test_every_link_resolves_and_chromium_renders_the_site(small_site):
    out = small_site
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        parser = _Links()
        parser.feed((out / "index.html").read_text(encoding="utf-8"))
        assert any(link.startswith("forces/northamptonshire") for link in parser.links)
        assert any(link.startswith("national/reporting_link") for link in parser.links)
        assert any(link.startswith("figures/") for link in parser.links)
        for link in parser.links:
            with urlopen(f"{base}/{link}", timeout=10) as resp:
                assert resp.status == 200, link
        browser = _chromium()
        if browser is None:
            if os.environ.get("CI"):
                pytest.fail("CI must install Debian's chromium (see .ci/run)")
            pytest.skip("chromium is not installed (apt-get install chromium)")
        shot = out / "index-screenshot.png"
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={out.parent / 'chromium-profile'}",
        ]
        subprocess.run(
            [browser, *flags, f"--screenshot={shot}", "--window-size=1280,1600", f"{base}/index.html"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        assert shot.exists() and shot.stat().st_size > 10_000
        dom = subprocess.run(
            [browser, *flags, "--dump-dom", f"{base}/index.html"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        assert "GENERATED DEMO DATA" in dom and "Northamptonshire" in dom
        report = subprocess.run(
            [browser, *flags, "--dump-dom", f"{base}/forces/northamptonshire.nocode.html"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        assert "Northamptonshire recorded" in report and "def " not in report
    finally:
        httpd.shutdown()


@pytest.mark.slow
def test_dask_executor_on_a_local_cluster(small_site, monkeypatch):
    proj = small_site.parent.parent
    monkeypatch.chdir(proj)
    assert (
        main(
            [
                "run",
                "--forces",
                "Dyfed-Powys",
                "--executor",
                "dask",
                "--jobs",
                "2",
                "--rerun",
                "--out",
                "outputs/demo-dask",
            ]
        )
        == 0
    )
    manifest = json.loads((proj / "outputs" / "demo-dask" / "manifest.json").read_text())
    assert manifest["executor"] == "dask"
    assert manifest["notebooks"]["forces/dyfed-powys"]["status"] == "ok"
    a = (proj / "outputs" / "demo" / "forces" / "dyfed-powys.ipynb").read_text()
    b = (proj / "outputs" / "demo-dask" / "forces" / "dyfed-powys.ipynb").read_text()
    assert a == b  # the same notebook, byte for byte, whichever executor ran it
