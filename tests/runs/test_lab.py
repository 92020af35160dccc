"""`make lab`: JupyterLab from the lock serves the notebooks, the py:percent pairs as notebooks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_jupyterlab_serves_the_notebooks(tmp_path):
    port, token = _free_port(), "stalking-test"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        "--notebook-dir",
        str(ROOT / "notebooks"),
    ]
    if os.geteuid() == 0:  # CI machines run as root, which JupyterLab refuses without this
        cmd.append("--allow-root")
    # a private Jupyter config/runtime folder, so a user's own settings do not leak in
    env = {
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
        "HOME": str(tmp_path),
        "PATH": str(Path(sys.executable).parent),
    }
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def get(path: str) -> bytes:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    try:
        deadline, last = time.time() + 90, None
        while time.time() < deadline:
            try:
                status = json.loads(get("/api/status"))
                break
            except OSError as exc:
                last = exc
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not answer within 90 s: {last}")
        assert "started" in status
        assert b"JupyterLab" in get("/lab")
        listing = {c["name"]: c["type"] for c in json.loads(get("/api/contents/"))["content"]}
        assert listing["force_report.ipynb"] == "notebook"
        # jupytext's contents manager opens the paired script as the same notebook
        paired = json.loads(get("/api/contents/force_report.py?type=notebook&content=1"))
        assert paired["type"] == "notebook"
        assert any("p = params." in "".join(c["source"]) for c in paired["content"]["cells"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
