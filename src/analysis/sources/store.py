"""The parquet store: the tidy tables' columns, dtypes and schemas, provenance, writing
(through analysis.files) and loading.

A store folder holds its latest data edition (the one every command reads); every dated
edition ingested is also kept, by publication date, in `<store>.editions/<YYYY-MM-DD>/`
(`paths.editions_folder`), each with the same three files (`editions`, `load_edition`)."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import InputError
from analysis.files import sha256_of, write_json, write_parquet

OUTCOMES_FILE = "outcomes.parquet"
RECORDED_FILE = "recorded_offences.parquet"
QUALITY_FILE = "quality.json"  # the data-quality report ingest writes
STORE_FILES = (OUTCOMES_FILE, RECORDED_FILE, QUALITY_FILE)
# The edition of an ingest whose files carry no publication date and that was given none
# (`ingest --edition`): it becomes the store's latest, and is not kept among its editions.
UNDATED = "undated"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The tidy tables' columns and dtypes, in order, as the readers return them; ingest adds the
# provenance columns. Counts are nullable ("data not provided" is missing, not zero).
_KEY_COLUMNS = {  # the cell every row describes, shared by both tables
    "financial_year": "string",
    "quarter": "int64",
    "force": "string",
    "force_code": "string",
    "offence_code": "string",
}
OUTCOME_COLUMNS = {
    **_KEY_COLUMNS,
    "offence_description": "string",
    "offence_code_expired": "bool",
    "outcome_type": "int64",
    "outcome_group": "string",
    "recorded_basis": "Int64",
    "closed_basis": "Int64",
}
RECORDED_COLUMNS = {**_KEY_COLUMNS, "offences": "Int64"}
PROVENANCE_COLUMNS = {"source_file": "string", "source_sha256": "string"}
# What makes a row unique in each table.
OUTCOME_KEY = ["financial_year", "quarter", "force", "offence_code", "outcome_type"]
RECORDED_KEY = ["financial_year", "quarter", "force", "offence_code"]

_FY = r"^\d{4}/\d{2}$"
_CODE = r"^(|[EW]\d{8})$"


def tidy_frame(data: dict[str, list], columns: dict[str, str]) -> pd.DataFrame:
    """A tidy table from column lists, with the given columns and dtypes (e.g. OUTCOME_COLUMNS)."""
    frame = pd.DataFrame({k: data[k] for k in columns})
    for col, dtype in columns.items():
        # None in a count list becomes <NA>
        frame[col] = pd.array(data[col], dtype=dtype) if dtype == "Int64" else frame[col].astype(dtype)
    return frame


@cache
def schemas() -> dict:
    """The pandera schemas of the two tidy tables (built on first use: pandera is slow to import)."""
    import pandera.pandas as pa

    checks = {
        "financial_year": pa.Check.str_matches(_FY),
        "quarter": pa.Check.isin([1, 2, 3, 4]),
        "force_code": pa.Check.str_matches(_CODE),
        "offence_code": pa.Check.str_length(min_value=1),
        "outcome_type": pa.Check.in_range(0, 22),
        "source_sha256": pa.Check.str_matches(r"^[0-9a-f]{64}$"),
    }

    def schema(columns: dict[str, str], key: list[str], name: str):
        cols = {**columns, **PROVENANCE_COLUMNS}
        return pa.DataFrameSchema(
            {c: pa.Column(t, checks.get(c), nullable=t == "Int64") for c, t in cols.items()},
            unique=key,
            strict=True,
            ordered=True,
            name=name,
        )

    return {
        "outcomes": schema(OUTCOME_COLUMNS, OUTCOME_KEY, "outcomes"),
        "recorded_offences": schema(RECORDED_COLUMNS, RECORDED_KEY, "recorded_offences"),
    }


def warm_schemas() -> None:
    """Build the schemas and check an empty table against each: pandera registers its
    validation backends on the first check, most of a second that `ingest --jobs` spends while
    its workers read rather than after them."""
    for name, columns in (("outcomes", OUTCOME_COLUMNS), ("recorded_offences", RECORDED_COLUMNS)):
        cols = {**columns, **PROVENANCE_COLUMNS}
        check_schema(tidy_frame({c: [] for c in cols}, cols), name)


def check_schema(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check a tidy table against its schema; a failure is an InputError listing the first problems."""
    import pandera.errors

    schema = schemas()[name]
    try:
        return schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases.head(5).to_dict("records")
        raise InputError(f"the {schema.name} table failed its schema check: {cases}") from None


def write_store(
    store: Path,
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    quality: dict,
    edition: str | None = None,
    latest: bool = True,
) -> None:
    """Check both tables against their schemas, then write the store's three files (the two
    tables and the quality report): into `editions_folder(store)/<edition>/` when `edition` is
    a publication date (YYYY-MM-DD), and into the store itself, its latest edition, when
    `latest` (an older edition kept with `ingest --allow-older-edition` is not).

    Everything is checked before anything is written, and each file is written to a
    temporary name and renamed, so a failure leaves the previous store as it was.
    """
    outcomes = check_schema(outcomes, "outcomes")
    recorded = check_schema(recorded, "recorded_offences")
    folders = [Path(store)] if latest else []
    folders += [edition_folder(store, edition)] if edition is not None else []
    for folder in folders:  # a store path that cannot be a folder stops here, with nothing written
        folder.mkdir(parents=True, exist_ok=True)
    for folder in reversed(folders):  # the edition kept, then the store's latest
        _write_files(folder, outcomes, recorded, quality)


def _write_files(folder: Path, outcomes: pd.DataFrame, recorded: pd.DataFrame, quality: dict) -> None:
    """The three files of a store, or of one of its editions, the report last (it holds the
    tables' hashes, which `load_store` checks)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(outcomes, folder / OUTCOMES_FILE)
    write_parquet(recorded, folder / RECORDED_FILE)
    quality = dict(quality)
    quality["store_files"] = {
        OUTCOMES_FILE: sha256_of(folder / OUTCOMES_FILE),
        RECORDED_FILE: sha256_of(folder / RECORDED_FILE),
    }
    write_json(quality, folder / QUALITY_FILE)


def edition_text(value: date | str) -> str:
    """An edition as the store names it, YYYY-MM-DD; InputError for anything that is not a
    date written so."""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(
            f"edition {value!r}: give a publication date as YYYY-MM-DD, e.g. 2025-04-24 for files "
            "named ...-240425.xlsx."
        ) from None


def edition_folder(store: Path | str, edition: date | str) -> Path:
    """The folder holding one edition of a store: `<store>.editions/<YYYY-MM-DD>/`."""
    return paths.editions_folder(store) / edition_text(edition)


def editions(store_dir: Path | str) -> list[str]:
    """The editions a store holds (each ingested edition's publication date, YYYY-MM-DD), oldest
    first; the last is the store's latest, the one every other command reads. Only complete
    editions count (all three files present)."""
    root = paths.editions_folder(store_dir)
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and _ISO_DATE.match(p.name) and all((p / f).is_file() for f in STORE_FILES)
    )


def load_edition(store_dir: Path | str, edition: date | str) -> Store:
    """Load one edition a store holds (`editions`); InputError naming those it holds if it is
    not one of them."""
    wanted = edition_text(edition)
    held = editions(store_dir)
    if wanted not in held:
        raise InputError(
            f"store {store_dir} holds no edition {wanted}; it holds "
            + (", ".join(held) if held else "none")
            + ". Ingest that edition's files first ('stalking-outcomes ingest --source FOLDER "
            f"--store {store_dir}'), or give one of the editions held."
        )
    return load_store(edition_folder(store_dir, wanted))


class Store:
    """A loaded store: the two tidy tables and the data-quality report."""

    def __init__(self, outcomes: pd.DataFrame, recorded: pd.DataFrame, quality: dict, path: Path):
        self.outcomes = outcomes
        self.recorded = recorded
        self.quality = quality
        self.path = path

    @property
    def synthetic(self) -> bool:
        """True when the store was built from generated demo data."""
        return bool(self.quality.get("synthetic"))

    @property
    def edition(self) -> str:
        """The data edition the store holds: its publication date (YYYY-MM-DD), or "undated"
        (also for a store written before editions were recorded)."""
        return str(self.quality.get("edition") or UNDATED)

    @property
    def years(self) -> list[str]:
        """Financial years with outcomes data, oldest first."""
        return sorted(self.outcomes["financial_year"].unique())


def load_store(store: Path | str) -> Store:
    """Load a store written by `ingest`; InputError says how to create it if it is missing."""
    store = Path(store)
    files = [store / OUTCOMES_FILE, store / RECORDED_FILE, store / QUALITY_FILE]
    missing = [f.name for f in files if not f.exists()]
    if missing:
        raise InputError(
            f"store {store} has no {', '.join(missing)}. Run 'stalking-outcomes "
            "ingest --source SOURCE' for this source first ('stalking-outcomes fetch' then "
            "'ingest --source homeoffice' for the Home Office data, 'stalking-outcomes "
            "demo-data' then 'ingest --source demo' for the demo data), or pass the --source "
            "you ingested."
        )
    folders = [f.name for f in files if f.is_dir()]
    if folders:
        raise InputError(
            f"store {store}: {', '.join(folders)} is a folder, not a file. Move it out of the way "
            "and run 'stalking-outcomes ingest' again."
        )
    try:
        quality = json.loads(files[2].read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"store {store}: {QUALITY_FILE} is damaged ({exc}). Run 'stalking-outcomes ingest' "
            "again to rebuild the store."
        ) from None
    if not isinstance(quality, dict):
        raise InputError(
            f"store {store}: {QUALITY_FILE} does not hold a report (a JSON object). Run "
            "'stalking-outcomes ingest' again to rebuild the store."
        )
    for f in files[:2]:
        recorded_hash = quality.get("store_files", {}).get(f.name)
        if recorded_hash and recorded_hash != sha256_of(f):
            raise InputError(
                f"store {store}: {f.name} does not match {QUALITY_FILE} (an "
                "interrupted or manual change?). Run 'stalking-outcomes ingest' again."
            )
    outcomes = pd.read_parquet(files[0])
    recorded = pd.read_parquet(files[1])
    return Store(outcomes, recorded, quality, store)
