"""The report site as a reader meets it: every link on index.html resolves, and in headless
Chromium (driven over the DevTools protocol) the images render, typing a force's name filters
the list, the back link leads home and nothing overflows at 390 px; with the network refused,
the pages ask nothing of another host and still render whole; desktop and phone screenshots go
to the test's tmp folder. Also the dask executor on a LocalCluster."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

import pandas as pd
import pytest

from analysis.cli import main

ROOT = Path(__file__).resolve().parents[2]


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
def small_site(run_site):
    """A run of the national notebooks and two force reports in a scratch project."""
    return run_site("site", ["Northamptonshire", "Dyfed-Powys"])


class Browser:
    """Headless Chromium driven over the DevTools protocol (websocket-client, in the lock): load
    a page, run JavaScript in it, type, resize, screenshot."""

    def __init__(self, binary: str, profile: Path):
        import websocket

        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--allow-file-access-from-files",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.time() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        with urlopen(f"http://127.0.0.1:{port}/json", timeout=10) as resp:
            page = next(t for t in json.load(resp) if t["type"] == "page")
        # no Origin header: chromium (111 and later) refuses a DevTools connection whose Origin
        # it was not told to allow (--remote-allow-origins), and allows one with none
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        self.requests: list[str] = []  # every URL the page asked for, while offline() holds
        self.send("Page.enable")

    def _receive(self) -> dict:
        """The next message from the browser (a request the page makes is noted on the way)."""
        msg = json.loads(self.ws.recv())
        if msg.get("method") == "Network.requestWillBeSent":
            self.requests.append(msg["params"]["request"]["url"])
        return msg

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = self._receive()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(e.get("method") == event for e in self.events):
                self.events.clear()
                return
            self.events.append(self._receive())
        raise TimeoutError(event)

    @contextmanager
    def offline(self) -> Iterator[list[str]]:
        """As with no network: every request that is not for a file (or data the page holds) is
        refused, and every URL asked for is listed in what this yields."""
        self.requests.clear()
        self.send("Network.enable")
        self.send("Network.setBlockedURLs", urls=["http://*", "https://*", "ws://*", "wss://*", "ftp://*"])
        try:
            yield self.requests
        finally:
            self.send("Network.setBlockedURLs", urls=[])
            self.send("Network.disable")

    def resize(self, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )

    def open(self, url: str, width: int, height: int = 900) -> None:
        self.resize(width, height)
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str):
        out = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression}: {out['exceptionDetails']}")
        return out["result"].get("value")

    def type(self, selector: str, text: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def screenshot(self, path: Path, width: int) -> Path:
        """The whole page at `width` (height up to 6000 px)."""
        self.resize(width, min(6000, int(self.js("document.documentElement.scrollHeight"))))
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with suppress(Exception):
            self.ws.close()
        self.proc.terminate()
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = _chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (see .ci/run)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


ALL_IMAGES_RENDERED = (
    "Array.from(document.images).length > 0 && "
    "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0 && i.alt.length > 20)"
)
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.slow
def test_every_link_on_the_index_resolves(small_site):
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
        assert "forces/northamptonshire.csv" in parser.links
        assert any(link.startswith("national/reporting_link") for link in parser.links)
        assert any(link.startswith("figures/") for link in parser.links)
        assert "methods.html" in parser.links
        for link in parser.links:
            with urlopen(f"{base}/{link}", timeout=10) as resp:
                assert resp.status == 200, link
    finally:
        httpd.shutdown()
    # a force's CSV holds its figures to quote and its rise in recording (the rule layer's tables)
    rows = pd.read_csv(out / "forces" / "northamptonshire.csv")
    assert set(rows["force"]) == {"Northamptonshire"}
    assert set(rows["table"]) == {"figures_to_quote.csv", "recording_rise.csv"}


@pytest.mark.slow
def test_every_file_of_a_run_is_in_the_output_catalogue(small_site):
    from analysis import outputs

    files = [p.relative_to(small_site).as_posix() for p in sorted(small_site.rglob("*")) if p.is_file()]
    assert len(files) > 40
    assert [f for f in files if outputs.describe(f) is None] == []


@pytest.mark.slow
def test_a_reader_finds_a_force_in_the_browser(small_site, browser, tmp_path):
    """From the file system, as a reader opens it: search, images, back link, phone width."""
    index = (small_site / "index.html").as_uri()
    browser.open(index, 1280)
    assert browser.js("document.title").startswith("How police forces deal with stalking")
    assert browser.js(ALL_IMAGES_RENDERED)
    total = browser.js("document.querySelectorAll('#forces tbody tr').length")
    assert total == 44
    browser.type("#force-search", "northamp")
    visible = browser.js(
        "Array.from(document.querySelectorAll('#forces tbody tr')).filter(r => !r.hidden)"
        ".map(r => r.cells[0].textContent.trim())"
    )
    assert visible == ["Northamptonshire"]
    browser.screenshot(tmp_path / "index-desktop.png", 1280)
    # sorting by charge rate puts the rows in order of their sort keys
    browser.js("document.querySelector('#forces thead button[data-col=\"3\"]').click()")
    keys = browser.js(
        "Array.from(document.querySelectorAll('#forces tbody tr')).map(r => r.cells[3].dataset.sort)"
        ".filter(k => k !== '').map(Number)"
    )
    assert keys == sorted(keys, reverse=True) and len(keys) > 40

    browser.open(index, 390)
    assert browser.js(NO_OVERFLOW)
    browser.screenshot(tmp_path / "index-phone.png", 390)

    report = (small_site / "forces" / "northamptonshire.html").as_uri()
    browser.open(report, 1280)
    assert browser.js("document.title") == "Northamptonshire: how the police dealt with stalking"
    assert "Northamptonshire" in browser.js("document.querySelector('h1').textContent")
    assert browser.js(ALL_IMAGES_RENDERED)
    text = browser.js("document.body.innerText")
    # the verdict's figures are the force CSV's (the page computes none of its own)
    rows = pd.read_csv(small_site / "forces" / "northamptonshire.csv")
    c = rows[(rows["table"] == "figures_to_quote.csv") & (rows["measure"] == "charged")].iloc[-1]
    said = (
        f"Charged or summonsed: {c['percent']:.1f}% ({int(c['count']):,} of {int(c['denominator']):,} "
        f"closed) against {c['england_and_wales_percent']:.1f}% in England and Wales."
    )
    assert said in text
    # the banner once; besides it, only the copy-ready sentence, which keeps its label when copied
    # (figures carry their own)
    labelled = text.count("[GENERATED DEMO DATA, not real figures]")
    assert labelled >= 1 and text.count("GENERATED DEMO DATA") == 1 + labelled
    assert browser.js("document.querySelectorAll('.jp-Cell').length") > 10
    # the parameters cell is shown once: papermill's injected cell, not the template's defaults
    assert browser.js("document.body.innerText.split('force = ').length - 1") == 1
    browser.screenshot(tmp_path / "report-desktop.png", 1280)
    back = browser.js("document.querySelector('nav a').href")
    assert back.endswith("/index.html")
    assert Path(urlparse(back).path).resolve() == (small_site / "index.html").resolve()
    browser.open(report, 390)
    assert browser.js(NO_OVERFLOW)
    browser.screenshot(tmp_path / "report-phone.png", 390)
    browser.js("document.querySelector('nav a').click()")
    browser.wait_for("Page.loadEventFired")
    assert browser.js("location.href") == index
    for name in ("index-desktop", "index-phone", "report-desktop", "report-phone"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def _off_site(urls: list[str]) -> list[str]:
    """The URLs among `urls` that would leave the machine (anything but a file or inline data)."""
    return [u for u in urls if urlparse(u).scheme not in ("file", "data", "about", "blob")]


@pytest.mark.slow
def test_the_pages_ask_no_other_host_and_render_offline(small_site, browser):
    """With every request off the file system refused, the index, a force's report with and
    without its code, a national report and the methods page ask nothing of another host, and
    render completely: headings, the shared stylesheet's styles, every figure."""
    from analysis import outputs

    force = outputs.report_files(outputs.force_report("northamptonshire"))
    national = outputs.report_files(outputs.national_report("force_comparison"))
    reports = [force[outputs.REPORT_PAGE], force[outputs.REPORT_PAGE_NOCODE], national[outputs.REPORT_PAGE]]
    with browser.offline() as requests:
        for rel in [outputs.INDEX.relpath(), *reports, outputs.METHODS.relpath()]:
            browser.open((small_site / rel).as_uri(), 1280)
            assert browser.js("document.readyState") == "complete", rel
            assert len(browser.js("document.querySelector('h1').textContent.trim()")) > 5, rel
            assert browser.js("document.querySelectorAll('h2').length") >= 3, rel
            if rel != outputs.METHODS.relpath():
                assert browser.js(ALL_IMAGES_RENDERED), rel
            if rel in reports:  # JupyterLab's styles came from the shared stylesheet
                font = "getComputedStyle(document.body).getPropertyValue('--jp-ui-font-family')"
                assert browser.js(font).strip(), rel
                # figures the site holds as files are those files, each a link to itself
                linked = browser.js(
                    "Array.from(document.querySelectorAll('a.figure-file > img'))"
                    ".filter(i => i.closest('a').href === i.src && !i.src.startsWith('data:')).length"
                )
                assert linked >= 2, rel
        asked = list(requests)
    assert _off_site(asked) == []
    # the pages did ask for their files, so the listening worked
    assert any(u.endswith("/" + outputs.STYLESHEET.relpath()) for u in asked)
    assert any(u.endswith("/forces/northamptonshire/funnel.png") for u in asked)
    assert any(u.endswith("/figures/caterpillar.png") for u in asked)


@pytest.mark.slow
def test_dask_executor_on_a_local_cluster(small_site, monkeypatch):
    proj = small_site.parent.parent
    monkeypatch.chdir(proj)
    assert (
        main(
            [
                "run",
                "--source",
                "demo",
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


def _inodes(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_ino for p in site.rglob("*") if p.is_file()}


def test_a_rerun_does_only_the_work_it_must(small_site, tmp_path, monkeypatch):
    """The guard against a run that does work it should skip (issue 23): an unchanged rerun
    executes no notebook and refits nothing; the scheduled force run (`--forces X --rerun` after a
    full run) executes X's report alone, reuses the national models and leaves every other
    report's files as they were (the very same files, linked into the new site)."""
    proj = tmp_path / "proj"
    shutil.copytree(small_site.parent.parent, proj, symlinks=True)
    site, timings = proj / "outputs" / "demo", tmp_path / "timings.json"
    monkeypatch.chdir(proj)
    monkeypatch.setenv("STALKING_OUTCOMES_TIMINGS", str(timings))
    run = ["run", "--source", "demo", "--jobs", "1", "--forces"]

    assert main([*run, "Northamptonshire", "Dyfed-Powys"]) == 0
    done = json.loads(timings.read_text())
    assert done["executed"] == [] and done["national_refit"] is False

    before = _inodes(site)
    assert main([*run, "Northamptonshire", "--rerun"]) == 0
    done = json.loads(timings.read_text())
    assert done["executed"] == ["forces/northamptonshire"] and done["national_refit"] is False
    after = _inodes(site)
    remade = {rel for rel in after if before.get(rel) != after[rel]}
    # its notebook, its two pages and its figures; and the site's own files, which list it
    assert {"forces/northamptonshire.ipynb", "forces/northamptonshire.html"} <= remade
    assert {rel for rel in remade if rel.startswith(("forces/", "national/", "tables/", "figures/"))} == {
        rel for rel in remade if rel.startswith("forces/northamptonshire")
    }
    pages = [rel for rel in remade if rel.startswith("forces/northamptonshire") and rel.endswith(".html")]
    assert len(pages) == 2  # the page with code and the page without
    manifest = json.loads((site / "manifest.json").read_text())["notebooks"]
    assert manifest["forces/dyfed-powys"]["status"] == "skipped"
    assert manifest["forces/northamptonshire"]["status"] == "ok"
