"""Ingest: find the published files in a folder, read them, report on their quality, write the
parquet store."""

from __future__ import annotations

import difflib
import re
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths, workers
from analysis.domain import forces, periods, taxonomy
from analysis.errors import InputError, WorkFailed
from analysis.errors import where as location
from analysis.files import sha256_of
from analysis.sources import plausibility
from analysis.sources.homeoffice import GENERATED_MARKER, FileReport, read_outcomes, read_recorded
from analysis.sources.sheets import SPREADSHEET_SUFFIXES, advice
from analysis.sources.store import (
    OUTCOME_COLUMNS,
    OUTCOME_KEY,
    PROVENANCE_COLUMNS,
    RECORDED_COLUMNS,
    RECORDED_KEY,
    UNDATED,
    edition_text,
    editions,
    tidy_frame,
    warm_schemas,
    write_store,
)

_MAR = re.compile(r"mar(?:ch)?[-_]?(\d{4})", re.IGNORECASE)
_EDITION = re.compile(r"-(\d{2})(\d{2})(\d{2})(?=\.[a-z]+$)", re.IGNORECASE)
# Where each row of the combined tables came from, kept while the checks run (so that a refusal
# can name the sheet and row) and dropped before the store is written.
LOCATION_COLUMNS = {"source_sheet": "string", "source_row": "int64"}


@dataclass(frozen=True)
class SourceFile:
    """A published file found in a source folder."""

    path: Path
    kind: str  # "outcomes" or "recorded"
    year: str | None  # the financial year of an outcomes file
    edition: date | None  # the republication date in the file name's suffix


def _edition(name: str) -> date | None:
    m = _EDITION.search(name)
    if not m:
        return None
    day, month, year = (int(g) for g in m.groups())
    try:
        return date(2000 + year, month, day)
    except ValueError:
        return None


def classify_file(path: Path) -> SourceFile | None:
    """What a file in a source folder is, from its name; None for files this package ignores."""
    name = path.name.lower()
    if path.suffix.lower() not in SPREADSHEET_SUFFIXES or name.startswith((".", "~$")):
        return None
    if "prc-pfa" in name:
        return SourceFile(path, "recorded", None, _edition(name))
    if "outcomes" in name and "alternate" not in name:
        m = _MAR.search(name)
        if m and "onwards" not in name and not re.search(r"mar\d{4}-(to-)?mar\d{4}", name):
            return SourceFile(path, "outcomes", periods.fy_label(int(m.group(1)) - 1), _edition(name))
    return None


def discover(folder: Path) -> tuple[list[SourceFile], list[str], list[str]]:
    """The files to read (newest edition per year), the notes on editions, and ignored names."""
    if not folder.is_dir():
        raise InputError(
            f"source folder {folder} does not exist. For the demo data run "
            "'stalking-outcomes demo-data'; for the real data 'stalking-outcomes fetch'."
        )
    chosen: dict[tuple[str, str | None], SourceFile] = {}
    notes: list[str] = []
    ignored: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        f = classify_file(path)
        if f is None:
            if path.suffix.lower() in SPREADSHEET_SUFFIXES:
                ignored.append(path.name)
            continue
        key = (f.kind, f.year)
        old = chosen.get(key)
        if old is None:
            chosen[key] = f
            continue
        newer, older = (f, old) if (f.edition or date.min) > (old.edition or date.min) else (old, f)
        if newer.edition == older.edition:
            raise InputError(
                f"{folder}: {old.path.name} and {f.path.name} are two editions of the "
                f"same {'year ' + f.year if f.year else 'table'} with no date to tell "
                "them apart. Remove one."
            )
        chosen[key] = newer
        notes.append(
            f"two editions of {f.year or 'the PFA tables'}: using {newer.path.name}, "
            f"not the older {older.path.name}"
        )
    files = sorted(chosen.values(), key=lambda f: (f.kind, f.year or ""))
    if not any(f.kind == "outcomes" for f in files):
        raise InputError(
            f"{folder}: no outcomes workbook found (names containing 'outcomes' and "
            "'marYYYY', e.g. prc-outcomes-open-data-mar2021-tables-240425.xlsx)."
        )
    return files, notes, ignored


def _gaps(outcomes: pd.DataFrame) -> list[dict]:
    """Force-quarters with no rows at all, for each offence and year the data hold."""
    key = ["offence_code", "financial_year", "force", "quarter"]
    present = outcomes[key].drop_duplicates()
    blocks = outcomes[["offence_code", "financial_year"]].drop_duplicates()
    grid = blocks.merge(pd.DataFrame({"force": forces.names()}), how="cross").merge(
        pd.DataFrame({"quarter": [1, 2, 3, 4]}), how="cross"
    )
    grid["force"] = grid["force"].astype("string")
    missing = grid.merge(present, how="left", on=key, indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    gaps = []
    for (code, year, force), block in missing.groupby(key[:3], sort=True):
        gaps.append(
            {
                "offence_code": code,
                "financial_year": year,
                "force": force,
                "quarters_missing": sorted(int(q) for q in block["quarter"]),
            }
        )
    return gaps


def _not_provided(outcomes: pd.DataFrame) -> list[dict]:
    """Force-quarter-offences whose counts are all missing on the recorded basis."""
    key = ["offence_code", "financial_year", "force", "quarter"]
    allna = outcomes.assign(_na=outcomes["recorded_basis"].isna()).groupby(key)["_na"].all()
    return [dict(zip(key, (str(k[0]), str(k[1]), str(k[2]), int(k[3])))) for k in allna[allna].index]


def _consistency(outcomes: pd.DataFrame, recorded: pd.DataFrame) -> dict:
    """Offences recorded (PFA) against outcomes on the recorded basis summed over all types."""
    key = ["financial_year", "quarter", "force", "offence_code"]
    a = outcomes.groupby(key)["recorded_basis"].sum(min_count=1).rename("outcomes_recorded_basis")
    b = recorded.set_index(key)["offences"].rename("pfa_offences")
    both = pd.concat([a, b], axis=1, join="inner").dropna()
    diff = (both["outcomes_recorded_basis"] - both["pfa_offences"]).astype("int64")
    return {
        "compared_cells": len(both),
        "cells_differing": int((diff != 0).sum()),
        "max_abs_difference": int(diff.abs().max()) if len(diff) else 0,
    }


def ingest(
    source: str,
    store: Path | None = None,
    offences: tuple[str, ...] | None = taxonomy.DEFAULT_OFFENCES,
    progress: bool = False,
    accept_outliers: bool = False,
    jobs: int = 1,
    edition: date | str | None = None,
    allow_older_edition: bool = False,
) -> dict:
    """Read every outcomes workbook and the PFA table in a source folder into the store.

    Returns the data-quality report (also written to the store as quality.json). Implausible
    counts stop the ingest before anything is written (see `plausibility`), unless
    `accept_outliers`, when they are recorded in the report.

    The files are one data edition (`ingest_edition`: `edition` if given, else the newest
    publication date in their names). A dated edition is kept beside the store with every
    other one ingested, and becomes the store's latest unless older than the newest held,
    which is refused unless `allow_older_edition` (`place_edition`).
    """
    offences = normalise_offences(offences)
    folder = paths.source_folder(source)
    where = paths.for_source(source, store)
    files, notes, ignored = discover(folder)
    # the edition is settled from the names alone, before any file is read
    this_edition = ingest_edition(files, edition, notes)
    # said in the summary, never written into the store: the same edition ingested again
    # (a scheduled job with nothing new) must leave every stored byte as it was
    replaced = this_edition in editions(where.store)
    latest = place_edition(where.store, this_edition, folder, files, allow_older_edition, notes)
    outcome_frames: list[pd.DataFrame] = []
    recorded_frames: list[pd.DataFrame] = []
    reports: list[FileReport] = []
    for f, (frame, report, digest) in zip(files, _read_all(files, offences, jobs, progress, notes)):
        if f.kind == "outcomes":
            years = sorted(set(frame["financial_year"]))
            if years and f.year and years != [f.year]:
                # a mislabelled file would silently fill (or duplicate) another year
                raise InputError(
                    f"file {f.path.name} is named for {f.year} (from 'mar{f.year[:2]}{f.year[-2:]}' "
                    f"in its name) but holds rows for {', '.join(years)} (the first in "
                    f"{_first_other_year(f, frame, report)}). Check that it is the right file; "
                    "rename it to the year it holds, or remove it from the source folder."
                )
        frame["source_file"] = pd.array([f.path.name] * len(frame), dtype="string")
        frame["source_sha256"] = pd.array([digest] * len(frame), dtype="string")
        frame["source_sheet"] = pd.array(report.row_sheets, dtype="string")
        frame["source_row"] = np.asarray(report.row_numbers, dtype="int64")
        (outcome_frames if f.kind == "outcomes" else recorded_frames).append(frame)
        reports.append(report)
    outcomes = _combine(outcome_frames, OUTCOME_KEY, OUTCOME_COLUMNS)
    recorded = _combine(recorded_frames, RECORDED_KEY, RECORDED_COLUMNS)
    # nothing is written unless every check passes, so a refusal leaves the store as it was
    _check_offences(folder, files, reports, offences, outcomes, recorded, notes)
    synthetic = generated(folder, reports, notes)
    checked = plausibility.check(outcomes, recorded, accept_outliers)
    outcomes = outcomes.drop(columns=list(LOCATION_COLUMNS))
    recorded = recorded.drop(columns=list(LOCATION_COLUMNS))
    quality = quality_report(outcomes, recorded, reports, notes, ignored, offences)
    quality["plausibility"] = checked
    quality["source"] = where.name
    quality["synthetic"] = synthetic
    quality["edition"] = this_edition
    write_store(
        where.store,
        outcomes,
        recorded,
        quality,
        edition=None if this_edition == UNDATED else this_edition,
        latest=latest,
    )
    quality["store"] = str(where.store)
    quality["editions_held"] = editions(where.store)
    quality["latest"] = latest
    quality["replaced"] = replaced
    return quality


def ingest_edition(files: list[SourceFile], given: date | str | None, notes: list[str]) -> str:
    """The data edition of an ingest, YYYY-MM-DD: the date given (`ingest --edition`), else the
    newest publication date among the files' name suffixes (a PFA table republished later than
    the outcomes workbooks makes the edition its date), else `store.UNDATED`."""
    dated = sorted({f.edition for f in files if f.edition is not None})
    if given is not None:
        chosen = edition_text(given)
        if dated and chosen != dated[-1].isoformat():
            notes.append(
                f"edition {chosen} was given (--edition); the newest date in the files' names is "
                f"{dated[-1].isoformat()}"
            )
        return chosen
    return dated[-1].isoformat() if dated else UNDATED


def place_edition(
    store: Path, edition: str, folder: Path, files: list[SourceFile], allow_older: bool, notes: list[str]
) -> bool:
    """Whether an ingest of `edition` becomes the store's latest edition, checked against the
    editions the store holds before anything is read or written.

    - A dated edition newer than every edition held, or the newest itself again (replaced), is
      the latest. One older than the newest held is refused (InputError naming both dates),
      unless `allow_older`: then it is kept among the editions and the latest stays as it is.
    - An undated ingest (no date in any file's name, none given) is refused when the store
      holds editions (it could not be placed among them); otherwise it is the latest, as
      before editions were kept, and is not kept as an edition of its own.
    """
    held = editions(store)
    if edition == UNDATED:
        names = _files_text([f.path.name for f in files], limit=4)
        if held:
            raise InputError(
                f"{folder}: no file name carries a publication date (a -DDMMYY suffix, as in "
                f"prc-outcomes-open-data-mar2021-tables-240425.xlsx): {names}. The store {store} "
                f"holds the editions {', '.join(held)}, so this one cannot be placed among them. "
                "Give its publication date with --edition YYYY-MM-DD; nothing was written."
            )
        notes.append(
            f"no file name carries a publication date (a -DDMMYY suffix): {names}. The edition is "
            f"recorded as '{UNDATED}' and not kept among the store's editions; give "
            "--edition YYYY-MM-DD to keep it as one"
        )
        return True
    newest = held[-1] if held else None
    if newest is not None and edition < newest:
        if not allow_older:
            raise InputError(
                f"{folder}: these files are the edition of {edition}, older than the newest "
                f"edition the store {store} holds, {newest}. Nothing was written. To keep it as a "
                f"past edition beside the others (the latest, {newest}, stays the one every "
                "command reads), run ingest again with --allow-older-edition; to update the "
                "store, ingest an edition newer than "
                f"{newest}."
            )
        notes.append(
            f"edition {edition} is older than the newest held, {newest}: kept as a past edition "
            f"(--allow-older-edition); the store's latest stays {newest}"
        )
        return False
    return True


def _first_other_year(f: SourceFile, frame: pd.DataFrame, report: FileReport) -> str:
    """Where the first row of another year than the file's name says was read: "sheet 'S', row
    N" (a CSV file has no sheet to name)."""
    i = int(np.argmax((frame["financial_year"] != f.year).to_numpy()))
    sheet = None if f.path.suffix.lower() == ".csv" else report.row_sheets[i]
    return location(sheet=sheet, row=report.row_numbers[i])


def normalise_offences(offences: Iterable[str] | None) -> tuple[str, ...] | None:
    """An offence list as ingest keeps it: codes normalised (`taxonomy.normalise_offence_code`),
    blanks and repeats dropped, in the order given; the default list itself when it names the
    same codes (in any order or case), so typing the default out is omitting it, to the byte.
    None (every offence) stays None; an empty list is an error."""
    if offences is None:
        return None
    if isinstance(offences, str):
        offences = [offences]
    codes = taxonomy.normalise_offence_codes(offences)
    if not codes:
        raise InputError(
            "no offence codes given (--offences): give comma-separated codes such as "
            f"{','.join(taxonomy.DEFAULT_OFFENCES)}, or 'all'."
        )
    if set(codes) == set(taxonomy.DEFAULT_OFFENCES):
        return taxonomy.DEFAULT_OFFENCES
    return codes


def generated(folder: Path, reports: list[FileReport], notes: list[str]) -> bool:
    """Whether a folder's data are generated: the generator's truth.json is beside the files, or
    any file read starts with its marker (`homeoffice.GENERATED_MARKER`, `FileReport.generated`).
    One generated file is enough: a store holding any generated figure is labelled generated, never
    Home Office data. Notes why when it is not the demo's own case (every file marked, and
    truth.json)."""
    truth = (folder / "truth.json").exists()
    marked = [r.file for r in reports if r.generated]
    if marked and len(marked) < len(reports):
        unmarked = [r.file for r in reports if not r.generated]
        notes.append(
            f"{len(marked)} of the {len(reports)} files read carry the demo generator's marker "
            f"('{GENERATED_MARKER}' on their first sheet) and {len(unmarked)} do not "
            f"({_files_text(unmarked)}): the store holds generated figures, so all of it is "
            "labelled GENERATED DEMO DATA. Keep generated and published files in separate folders."
        )
    elif marked and not truth:
        notes.append(
            f"every file read carries the demo generator's marker ('{GENERATED_MARKER}' on its "
            "first sheet): labelled GENERATED DEMO DATA (there is no truth.json beside them)"
        )
    elif truth and not marked:
        notes.append(
            "truth.json (written by the demo generator) is in the source folder, though no file "
            "carries the generator's marker: labelled GENERATED DEMO DATA"
        )
    return truth or bool(marked)


def _edition_line(v: dict) -> str:
    """The summary's line on the edition ingested and those the store now holds."""
    edition, held = v.get("edition", UNDATED), v.get("editions_held", [])
    kept = f"; editions held: {', '.join(held)}" if held else ""
    if edition == UNDATED:
        return f"Edition: {UNDATED} (the store's latest; not kept as an edition){kept}"
    again = "; already held, so replaced by itself" if v.get("replaced") else ""
    if v.get("latest", True):
        return f"Edition: {edition} (the store's latest{again}){kept}"
    return f"Edition: {edition} (kept as a past edition{again}; the store's latest is {held[-1]}){kept}"


def _files_text(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _code_order(code: str) -> tuple:
    """Offence codes in the order a person reads them: 8L, 8Q, 9, 10, 10A, 46, 105A."""
    m = re.match(r"(\d*)(.*)", code)
    number, rest = m.groups() if m else ("", code)
    return (int(number) if number else 10**9, rest)


def _codes_text(codes: set[str], limit: int = 60) -> str:
    shown = sorted(codes, key=_code_order)
    text = ", ".join(shown[:limit])
    return text + (f", ... ({len(shown)} in all)" if len(shown) > limit else "")


def _check_offences(
    folder: Path,
    files: list[SourceFile],
    reports: list[FileReport],
    offences: tuple[str, ...] | None,
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    notes: list[str],
) -> None:
    """Refuse offence codes that no outcomes file holds, before anything is written: an ingest
    that keeps no rows at all (a typo in --offences), or one asked for explicitly that matches
    nothing. A code of the default list that no file holds is noted, not refused (a source may
    carry only some of them). Also notes what the PFA table held for the offences asked for."""
    outcome_files = [f for f in files if f.kind == "outcomes"]
    held = set().union(*(r.offence_codes for f, r in zip(files, reports) if f.kind == "outcomes"))
    named = (
        ", ".join(f.path.name for f in outcome_files)
        if len(outcome_files) <= 3
        else f"{len(outcome_files)} outcomes files in {folder}"
    )
    asked = list(dict.fromkeys(offences)) if offences is not None else None
    missing = [c for c in asked if c not in held] if asked is not None else []
    explicit = offences is not None and tuple(offences) != taxonomy.DEFAULT_OFFENCES
    if outcomes.empty or (missing and explicit):
        if asked is None:
            what = "no outcome rows at all"
        elif missing:
            what = f"no rows for offence code{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        else:
            what = f"no rows that could be kept for offence codes {', '.join(asked)}"
        hints = [
            f"{close[0]} for {c}"
            for c in missing
            if (close := difflib.get_close_matches(c, held, n=1, cutoff=0.5))
        ]
        raise InputError(
            f"{named}: {what} (offences asked for: {', '.join(asked) if asked else 'all'}). "
            + (
                f"The files hold offence codes {_codes_text(held)}. "
                if held
                else "The files hold no data rows. "
            )
            + (f"Did you mean {', '.join(hints)}? " if hints else "")
            + "Correct the codes given with --offences (or give 'all'); nothing was written, the "
            "store is as it was."
        )
    for c in missing:
        notes.append(f"offence {c} (read by default): no outcomes file holds it")
    pfa = [(f, r) for f, r in zip(files, reports) if f.kind == "recorded"]
    if not pfa:
        notes.append("no PFA recorded-crime table found: recorded_offences is empty")
        return
    for f, r in pfa:
        lacking = [c for c in (asked or []) if c in held and c not in r.offence_codes]
        if recorded.empty:
            codes = ", ".join(asked) if asked else "any offence"
            notes.append(
                f"the PFA recorded-crime table {f.path.name} was read but holds no rows for "
                f"{codes}: recorded_offences is empty"
            )
        elif lacking:
            notes.append(
                f"the PFA recorded-crime table {f.path.name} holds no rows for {', '.join(lacking)}: "
                "recorded_offences has none for " + ("them" if len(lacking) > 1 else "it")
            )


def _read_one(f: SourceFile, offences: tuple[str, ...] | None) -> tuple[pd.DataFrame, FileReport, str]:
    """One file's table, its reading report and its sha256 (in a worker process when jobs > 1)."""
    digest = sha256_of(f.path)
    reader = read_outcomes if f.kind == "outcomes" else read_recorded
    frame, report = reader(f.path, offences=offences, sha256=digest)
    return frame, report, digest


def _read_all(
    files: list[SourceFile],
    offences: tuple[str, ...] | None,
    jobs: int,
    progress: bool,
    notes: list[str] | None = None,
) -> Iterator[tuple[pd.DataFrame, FileReport, str]]:
    """Every file read, in the files' order: one at a time, or by `jobs` processes (a real
    ingest is eleven year workbooks plus the PFA tables; each read is CPU-bound in calamine and
    pandas). The first error stops the ingest either way, before anything is written.

    A worker process that dies (killed for memory, or crashed inside the spreadsheet reader)
    takes the pool with it, without saying which file it was reading: the files not yet read are
    then read one at a time, each in a process of its own, so that a file that kills its reader
    is named (`_read_alone`); the note says which files were read again."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), desc="reading", unit="file", leave=False)
    try:
        if jobs <= 1 or len(files) <= 1:
            for f in files:
                yield _read_one(f, offences)
                if bar is not None:
                    bar.update(1)
            return
        with workers.process_pool(min(jobs, len(files))) as pool:
            # largest first, so one big workbook does not start last and finish alone
            order = sorted(range(len(files)), key=lambda i: -files[i].path.stat().st_size)
            futures = {i: pool.submit(_read_one, files[i], offences) for i in order}
            # the store's schemas (pandera's import and its first check, more than a second)
            # are readied while the workers read, instead of after them, when nothing else could run
            warm_schemas()
            for first_lost in range(len(files)):
                if workers.died(futures[first_lost]):
                    break
                yield futures[first_lost].result()
                if bar is not None:
                    bar.update(1)
            else:
                return
        lost = [i for i in range(first_lost, len(files)) if workers.died(futures[i])]
        if notes is not None:  # noted now: the caller stops asking once it has every file
            notes.append(
                f"a reading process died while {len(lost)} file(s) were being read "
                f"({', '.join(files[i].path.name for i in lost)}); each was read again on its own"
            )
        for i in range(first_lost, len(files)):
            if i in lost:
                yield _read_alone(files[i], offences)
            else:
                yield futures[i].result()  # read, or the error it met
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def _read_alone(f: SourceFile, offences: tuple[str, ...] | None) -> tuple[pd.DataFrame, FileReport, str]:
    """Read one file in a process of its own; if that process dies, say so naming the file."""
    try:
        return workers.run_alone(_read_one, f, offences)
    except workers.WorkerDied as exc:
        raise _died(f, exc.exitcode) from None


def _died(f: SourceFile, exitcode: int | None) -> Exception:
    """The error for a file whose reading process died even when it read that file alone."""
    number = -exitcode if exitcode is not None and exitcode < 0 else None
    try:
        how = f"killed by {signal.Signals(number).name}" if number else f"exit status {exitcode}"
    except ValueError:
        how = f"killed by signal {number}"
    if number == signal.SIGKILL:
        return WorkFailed(
            f"file {f.path.name}: the process reading it was {how}, as the system does when memory "
            "runs out, even when it read this file alone. Close other programs and run ingest "
            f"again with --jobs 1; if it is killed again, the file may be damaged: {advice(f.path)}."
        )
    return InputError(
        f"file {f.path.name}: the process reading it died ({how}) without a message, even when it "
        "read this file alone: the file is probably damaged in a way the spreadsheet reader cannot "
        f"survive. {advice(f.path)[0].upper()}{advice(f.path)[1:]}; if it fails again, report it "
        "('ingest --jobs 1' shows the reader's own output)."
    )


def _combine(frames: list[pd.DataFrame], key: list[str], columns: dict[str, str]) -> pd.DataFrame:
    """Concatenate the files' tables; an error if two files hold the same cell."""
    if not frames:  # no PFA table: an empty table of the right shape
        cols = {**columns, **PROVENANCE_COLUMNS, **LOCATION_COLUMNS}
        return tidy_frame({c: [] for c in cols}, cols)
    out = pd.concat(frames, ignore_index=True)
    dup = out.duplicated(key, keep=False)
    if dup.any():
        clash = out[dup].sort_values(key).head(2)
        row = clash.iloc[0]
        places = " and ".join(
            f"{c.source_file}, sheet '{c.source_sheet}', row {c.source_row}" for c in clash.itertuples()
        )
        raise InputError(
            f"{places} both hold {', '.join(f'{k}={row[k]}' for k in key)}. Keep one "
            "edition of each year in the source folder."
        )
    return out.sort_values(key, kind="stable").reset_index(drop=True)


def quality_report(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    reports: list,
    notes: list[str],
    ignored: list[str],
    offences: tuple[str, ...] | None,
) -> dict:
    """The data-quality report: coverage, markers, negative counts, gaps and consistency."""
    markers: dict[str, int] = {}
    for r in reports:
        for k, v in r.markers.items():
            markers[k] = markers.get(k, 0) + v
    negatives = [dict(n, file=r.file) for r in reports for n in r.negatives]
    return {
        "offences_requested": list(offences) if offences else "all",
        "forces": sorted(set(outcomes["force"])),
        "years": sorted(set(outcomes["financial_year"])),
        "recorded_years": sorted(set(recorded["financial_year"])),
        "offences": sorted(set(outcomes["offence_code"])),
        "rows": {"outcomes": len(outcomes), "recorded_offences": len(recorded)},
        "markers": dict(sorted(markers.items())),
        "negative_counts": negatives,
        "gaps": _gaps(outcomes),
        "not_provided": _not_provided(outcomes),
        "recorded_vs_outcomes": _consistency(outcomes, recorded),
        "notes": notes,
        "ignored_files": ignored,
        "files": [r.as_dict() for r in reports],
    }


def summary_text(v: dict) -> str:
    """The printed summary of the data-quality report."""
    lines = [
        f"Source: {v['source']}{' (GENERATED DEMO DATA, not Home Office data)' if v['synthetic'] else ''}",
        f"Store: {v['store']}",
        _edition_line(v),
        f"Files read: {len(v['files'])} ({sum(f['kind'] == 'outcomes' for f in v['files'])} outcomes, "
        f"{sum(f['kind'] == 'recorded' for f in v['files'])} PFA)",
        f"Forces: {len(v['forces'])}",
        f"Years (outcomes): {v['years'][0]} to {v['years'][-1]} ({len(v['years'])})"
        if v["years"]
        else "Years: none",
        f"Offences: {', '.join(v['offences'])}",
        f"Rows: {v['rows']['outcomes']:,} outcomes, {v['rows']['recorded_offences']:,} recorded offences",
        "Markers met (read as missing): "
        + (", ".join(f"{k!r} x{n:,}" for k, n in v["markers"].items()) or "none"),
        f"Negative counts (kept, published corrections): {len(v['negative_counts'])}",
        f"Gaps (force-quarters with no rows): {sum(len(g['quarters_missing']) for g in v['gaps'])}"
        + "".join(
            f"\n  - {g['force']} {g['financial_year']} {g['offence_code']} Q{','.join(map(str, g['quarters_missing']))}"
            for g in v["gaps"][:10]
        ),
        f"Data not provided (force-quarters all missing): {len(v['not_provided'])}",
        f"Recorded basis vs PFA offences: {v['recorded_vs_outcomes']['cells_differing']} of "
        f"{v['recorded_vs_outcomes']['compared_cells']} cells differ "
        f"(max {v['recorded_vs_outcomes']['max_abs_difference']})",
    ]
    accepted = v.get("plausibility", {}).get("outliers_accepted", [])
    lines += [f"ACCEPTED OUTLIER (--accept-outliers): {o['where']}: {o['value']:,}" for o in accepted]
    lines += [f"Note: {n}" for n in v["notes"]]
    if v["ignored_files"]:
        lines.append(f"Ignored: {', '.join(v['ignored_files'])}")
    return "\n".join(lines)
