"""The named scenarios of the method study: each file here is a config overlay that breaks one
of the generator's assumptions, documented at its top (validate-methods --scenario NAME)."""

from __future__ import annotations

import tomllib
from importlib.resources import files

from analysis.errors import InputError


def names() -> list[str]:
    """The scenarios shipped with the package, baseline first."""
    found = sorted(p.name[: -len(".toml")] for p in files(__name__).iterdir() if p.name.endswith(".toml"))
    return sorted(found, key=lambda n: n != "baseline")


def overlay(name: str) -> dict:
    """A scenario's settings; InputError naming the valid scenarios."""
    if name not in names():
        raise InputError(f"--scenario {name!r}: no such scenario (have: {', '.join(names())}, or all).")
    return tomllib.loads(files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8"))
