"""The environment files agree with each other and the docs agree with the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from analysis.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def _norm(name: str) -> str:
    return re.split(r"[<>=\[ ;]", name)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_in_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    lock = _lock()
    assert [d for d in deps if _norm(d) not in lock] == []


def test_environment_yml_pins_match_the_lock():
    lock = _lock()
    text = (ROOT / "environment.yml").read_text()
    pins = re.findall(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*==?\s*([0-9][^\s#]*)", text, flags=re.M)
    pins = [(n, v) for n, v in pins if n != "python"]
    assert len(pins) >= 25
    for name, version in pins:
        assert lock.get(name.lower()) == version, (
            f"{name}: environment.yml {version}, lock {lock.get(name.lower())}"
        )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = {_norm(d) for d in project["dependencies"]}
    assert direct <= {n.lower() for n, _ in pins}


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    sub = build_parser()._subparsers._group_actions[0].choices
    for cmd in re.findall(r"stalking-outcomes (\w[\w-]*)", readme):
        assert cmd in sub, cmd
    for cmd in sub:
        assert f"`{cmd}" in readme, f"README does not document '{cmd}'"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
