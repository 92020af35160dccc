"""Errors that reach a person: each says what is wrong, where, and what to do."""

from __future__ import annotations


class InputError(Exception):
    """Bad input or usage: the command exits 2 and prints the message without a traceback."""

    exit_code = 2


class WorkFailed(Exception):
    """Some of the work failed after the inputs were accepted: exit 1."""

    exit_code = 1


def where(
    file: object = None, sheet: str | None = None, row: int | None = None, column: str | None = None
) -> str:
    """Format a location ("file x.xlsx, sheet S, row 12, column 'C'") for an error message."""
    parts = []
    if file is not None:
        parts.append(f"file {getattr(file, 'name', file)}")
    if sheet is not None:
        parts.append(f"sheet '{sheet}'")
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column '{column}'")
    return ", ".join(parts)
