"""Notebook parameters: the schema of each template, and checks with messages for people.

The runner checks names and values before it starts a kernel (papermill itself only warns about
unknown names); each template's second cell checks them again, so a notebook opened by
hand fails fast on a bad value too.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.domain import forces, periods, taxonomy
from analysis.errors import InputError


@dataclass(frozen=True)
class Param:
    """One notebook parameter: its type, default, allowed values and help."""

    name: str
    kind: type
    default: object
    help: str
    choices: tuple = ()


SOURCE = Param("source", str, "demo", "'demo', 'homeoffice' or a source folder's name")
OFFENCE = Param("offence", str, taxonomy.STALKING, "offence code, e.g. 8Q (stalking)")
YEAR = Param("year", str, "", "financial year YYYY/YY; empty for the latest year with data")

SCHEMAS: dict[str, tuple[Param, ...]] = {
    "national_trends": (SOURCE, OFFENCE),
    "force_comparison": (SOURCE, OFFENCE, YEAR),
    "reporting_link": (SOURCE, OFFENCE),
    "method_validation": (
        Param(
            "folder",
            str,
            "",
            "a folder of method-study tables (stalking-outcomes validate-methods --out); empty: "
            "the committed tables in the project's docs/validation/",
        ),
    ),
    "force_report": (
        Param("force", str, "Northamptonshire", "a force name, alias, slug or ONS code"),
        OFFENCE,
        SOURCE,
        YEAR,
        Param("basis", str, "closed", "rate basis for the headline", ("closed", "recorded")),
    ),
}
NATIONAL = ("national_trends", "force_comparison", "reporting_link", "method_validation")


class ParameterError(InputError):
    """A notebook parameter that is unknown or has an invalid value."""


def _listing(template: str) -> str:
    return "; ".join(
        f"{p.name} ({p.kind.__name__}, default {p.default!r}: {p.help})" for p in SCHEMAS[template]
    )


def check_names(template: str, values: dict) -> None:
    """Refuse parameter names the template does not have, listing the valid ones."""
    if template not in SCHEMAS:
        raise ParameterError(f"unknown notebook template {template!r} (have: {', '.join(SCHEMAS)}).")
    unknown = sorted(set(values) - {p.name for p in SCHEMAS[template]})
    if unknown:
        raise ParameterError(
            f"{template}: unknown parameter(s) {', '.join(unknown)}. Valid parameters: {_listing(template)}."
        )


def check(template: str, values: dict) -> dict:
    """Check and normalise a template's parameters; ParameterError names the parameter at fault.

    Force names resolve to the canonical name; years normalise to 'YYYY/YY'; offence codes to
    upper case. Missing parameters take their defaults.
    """
    check_names(template, values)
    out = {}
    for p in SCHEMAS[template]:
        v = values.get(p.name, p.default)
        if p.kind is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, p.kind) or isinstance(v, bool):
            raise ParameterError(
                f"{template}: parameter '{p.name}' must be a {p.kind.__name__} ({p.help}); got {v!r}."
            )
        if p.choices and v not in p.choices:
            raise ParameterError(
                f"{template}: parameter '{p.name}' must be one of "
                f"{', '.join(map(repr, p.choices))}; got {v!r}."
            )
        if p.name == "force":
            assert isinstance(v, str)
            try:
                v = forces.resolve(v, context=f"{template} parameter 'force'").name
            except forces.UnknownForceError as exc:
                raise ParameterError(str(exc)) from None
        elif p.name == "year" and v:
            try:
                v = periods.normalise_year(v)
            except ValueError as exc:
                raise ParameterError(f"{template}: parameter 'year': {exc}.") from None
        elif p.name == "offence":
            v = taxonomy.normalise_offence_code(v)
        out[p.name] = v
    return out
