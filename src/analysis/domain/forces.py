"""The force registry: the 43 territorial forces of England and Wales plus British Transport
Police, their ONS police force area codes, URL-safe slugs and known aliases.

This is the only place force names are defined. Names in the published files resolve through
`resolve`, which ignores case, spacing and punctuation and never invents a force.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from analysis.errors import InputError

BTP = "British Transport Police"


@dataclass(frozen=True)
class Force:
    """One police force as the Home Office names it."""

    name: str
    code: str  # ONS police force area code; "" for British Transport Police
    slug: str
    country: str
    region: str  # one of the 9 English regions, "Wales", or "national" (British Transport Police)
    aliases: tuple[str, ...]
    population_thousands: float | None  # approximate, used only to size the demo data

    @property
    def territorial(self) -> bool:
        """True for the 43 forces with a police force area (all but BTP)."""
        return bool(self.code)


class UnknownForceError(InputError):
    """A force name that matches no force, name, alias, slug or code."""


def _key(text: str) -> str:
    """Normalise a name for matching: case, spacing, punctuation and '&'/'and' ignored."""
    text = text.lower().replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", "", text)


@cache
def registry() -> tuple[Force, ...]:
    """All 44 forces in the registry's order (the Home Office's force order)."""
    text = files("analysis.domain").joinpath("forces.csv").read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(text.splitlines()):
        pop = row["population_thousands"].strip()
        out.append(
            Force(
                name=row["name"],
                code=row["ons_code"],
                slug=row["slug"],
                country=row["country"],
                region=row["region"],
                aliases=tuple(a for a in row["aliases"].split(";") if a),
                population_thousands=float(pop) if pop else None,
            )
        )
    return tuple(out)


@cache
def _lookup() -> dict[str, Force]:
    table: dict[str, Force] = {}
    for force in registry():
        keys = [force.name, force.slug, *force.aliases]
        if force.code:
            keys.append(force.code)
        # "London, City of" is also written "City of London"; "X Police" is common in prose.
        keys += [f"{k} Police" for k in (force.name, *force.aliases)]
        for k in keys:
            existing = table.setdefault(_key(k), force)
            if existing is not force:
                raise RuntimeError(f"force registry: '{k}' names both {existing.name} and {force.name}")
    return table


def names() -> list[str]:
    """Canonical names of all 44 forces, in registry order."""
    return [f.name for f in registry()]


def territorial() -> list[Force]:
    """The 43 territorial forces."""
    return [f for f in registry() if f.territorial]


def suggest(text: str, n: int = 3) -> list[str]:
    """Closest canonical force names to `text`, best first."""
    lookup = _lookup()
    hits = difflib.get_close_matches(_key(text), list(lookup), n=n * 3, cutoff=0.5)
    out: list[str] = []
    for h in hits:
        name = lookup[h].name
        if name not in out:
            out.append(name)
    return out[:n]


def find(text: str) -> Force | None:
    """The force `text` names (name, alias, slug or ONS code), or None."""
    return _lookup().get(_key(str(text)))


def resolve(text: str, context: str = "") -> Force:
    """The force `text` names; an unknown name raises UnknownForceError with suggestions: the
    forces whose name, slug or alias begins with it or holds each of its words (what people
    type: "avon", "manchester", "somerset and avon", too short or shuffled for difflib's ratio),
    then difflib's closest names, slugs and aliases (typos: "lancasire")."""
    force = find(text)
    if force is None:
        key = _key(str(text))
        # names, slugs and aliases only: every "X Police" form would contain "police", and
        # codes are not what anyone half-remembers
        named = [(_key(k), f.name) for f in registry() for k in (f.name, f.slug, *f.aliases)]
        # words of three characters at least: shorter ones ("of", a stray letter), "and" and
        # "police" ("Avon Police") would name a good part of the registry, or none of it
        words = [
            w
            for w in re.split(r"[^a-z0-9]+", str(text).lower())
            if len(w) >= 3 and w not in ("and", "the", "police", "constabulary")
        ]
        partial = [n for k, n in named if len(key) >= 3 and k.startswith(key)]
        partial += [n for k, n in named if words and all(_key(w) in k for w in words)]
        # beside names that hold what was typed, only a close typo ("hamshire": Hampshire)
        cutoff = 0.75 if partial else 0.6
        hits = difflib.get_close_matches(key, [k for k, _ in named], n=9, cutoff=cutoff)
        partial += [n for h in hits for k, n in named if k == h]
        close = list(dict.fromkeys(partial))[:5]
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        where = f" ({context})" if context else ""
        raise UnknownForceError(
            f"Unknown force {str(text)!r}{where}.{hint} "
            "Run 'stalking-outcomes forces' to list valid names, codes and slugs."
        )
    return force


# Rows in the PFA tables that are not police forces (fraud reporting bodies; Financial Fraud
# Action UK is UK Finance's name before 2017, in the real 2017/18 file's first quarter).
NON_FORCE_ROWS = ("Action Fraud", "CIFAS", "UK Finance", "Financial Fraud Action UK")


def is_non_force(text: str) -> bool:
    """True for a PFA-table row that is not a police force (NON_FORCE_ROWS)."""
    return _key(str(text)) in {_key(n) for n in NON_FORCE_ROWS}


def is_england_and_wales_total(text: str) -> bool:
    """True for a national total row label such as 'England and Wales'."""
    return _key(str(text)) in {"englandandwales", "englandwales", "total", "englandandwalestotal"}
