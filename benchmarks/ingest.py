"""Reading benchmark: a full-size outcomes workbook read three ways in one run.

Generates (once, cached in benchmarks/.cache/) an outcomes workbook of the published size,
about 725,000 rows x 13 columns, with stalking (8Q) among 180 offence codes and text in a
shared-string table as Excel writes it (--inline-strings: inline text, as streaming writers
make, which calamine reads about half as fast), then times in
separate processes: our reader keeping 8Q only, our reader keeping every row, and
pandas.read_excel(engine="openpyxl") for the same sheet. Each method's peak memory is its own
process's, read by the parent from the finished child (wait4). Then an ingest of four full-size
years (generated once, cached) with --jobs 1 and with --jobs 2. Prints seconds and peak RSS for
each and ends with `stalking_seconds: S`, `ratio: R` (openpyxl seconds / our 8Q-only seconds)
and `jobs2_over_serial: F` (the four-year ingest with 2 jobs as a fraction of serial).

Usage: python benchmarks/ingest.py [--rows-scale 1.0] [--inline-strings] [--skip-openpyxl]
       [--skip-four-years]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_OFFENCES = 180  # 44 forces x 4 quarters x 180 codes x 23 types = 728,640 rows


def make_workbook(path: Path, scale: float, inline_strings: bool, year: str = "2020/21") -> int:
    """Write the full-size workbook in the current published layout; return its row count."""
    from analysis.demo.publish import OutcomesLayout, Sheet, cover_sheet, outcome_rows, write_workbook
    from analysis.domain import forces, taxonomy

    rng = np.random.default_rng(1)
    codes = ["8Q"] + [f"{i:03d}" for i in range(1, max(2, int(N_OFFENCES * scale)))]
    names = forces.names()

    def records():
        for q in (1, 2, 3, 4):
            for force in names:
                for code in codes:
                    counts = rng.poisson(3.0, size=(23, 2))
                    for t in range(23):
                        o = taxonomy.BY_CODE[t]
                        yield {
                            "financial_year": year,
                            "quarter": q,
                            "force": force,
                            "offence_code": code,
                            "offence_description": f"Offence {code}",
                            "offence_group": "Group",
                            "offence_subgroup": "Subgroup",
                            "offence_code_expired": False,
                            "outcome_type": t,
                            "outcome_description": o.description,
                            "outcome_group": o.group,
                            "recorded_basis": int(counts[t, 0]),
                            "closed_basis": "N/A" if t == 0 else int(counts[t, 1]),
                        }

    lay = OutcomesLayout(f"Outcomes open data {year.replace('/', '_')}")
    tmp = path.with_suffix(".part.xlsx")  # an interrupted run leaves no half file in the cache
    write_workbook(
        tmp,
        [
            cover_sheet("SYNTHETIC BENCHMARK WORKBOOK", ["generated"]),
            Sheet(lay.sheet_name, outcome_rows(records(), lay)),
        ],
        inline_strings,
    )
    tmp.replace(path)
    return 4 * len(names) * len(codes) * 23


def child(mode: str, path: str) -> None:
    """Run one measurement in this (fresh) process and print JSON."""
    start = time.perf_counter()
    if mode == "ours_8q":
        from analysis.sources.homeoffice import read_outcomes

        frame, _ = read_outcomes(path, offences=("8Q",))
    elif mode == "ours_all":
        from analysis.sources.homeoffice import read_outcomes

        frame, _ = read_outcomes(path, offences=None)
    else:
        import pandas as pd

        frame = pd.read_excel(path, sheet_name="Outcomes open data 2020_21", engine="openpyxl")
    seconds = time.perf_counter() - start
    print(json.dumps({"mode": mode, "seconds": seconds, "rows": len(frame)}))


def _run_child(argv: list[str]) -> tuple[str, float]:
    """Run a command to the end; its stdout and its own peak RSS in MB (from wait4, so the
    number is this child's alone, never another method's)."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:4])} ... failed with exit {proc.returncode}")
        out.seek(0)
        return out.read().decode(), usage.ru_maxrss / 1024


def measure(mode: str, path: Path) -> dict:
    text, peak = _run_child([sys.executable, __file__, "--child", mode, str(path)])
    return {**json.loads(text.strip().splitlines()[-1]), "peak_rss_mb": peak}


FOUR_YEARS = ("2020/21", "2021/22", "2022/23", "2023/24")


def four_year_folder(cache: Path, scale: float) -> Path:
    """Four full-size outcomes workbooks, one per year, named as GOV.UK names them (cached)."""
    folder = cache / f"four-years-{scale:g}"
    folder.mkdir(exist_ok=True)
    for year in FOUR_YEARS:
        path = folder / f"prc-outcomes-open-data-mar20{year[-2:]}-tables.xlsx"
        if not path.exists():
            t = time.perf_counter()
            make_workbook(path, scale, False, year)
            print(f"generated {path.name} in {time.perf_counter() - t:.1f} s")
    return folder


def time_ingest(folder: Path, jobs: int) -> float:
    """Seconds for `stalking-outcomes ingest` of the folder into a scratch store."""
    store = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        cli = [sys.executable, "-m", "analysis", "ingest", "--source", str(folder), "--store", str(store)]
        start = time.perf_counter()
        _run_child([*cli, "--offences", "8Q", "--jobs", str(jobs)])
        return time.perf_counter() - start
    finally:
        shutil.rmtree(store, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows-scale", type=float, default=1.0, help="fraction of the 180 offence codes")
    p.add_argument(
        "--inline-strings",
        action="store_true",
        help="write the workbook's text inline instead of in a shared-string table",
    )
    p.add_argument("--skip-openpyxl", action="store_true", help="skip the (slow) baseline")
    p.add_argument("--skip-four-years", action="store_true", help="skip the four-year ingest")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    cache = HERE / ".cache"
    cache.mkdir(exist_ok=True)
    strings = "inline" if args.inline_strings else "shared"
    path = cache / f"synthetic-prc-outcomes-open-data-mar2021-benchmark-{args.rows_scale:g}-{strings}.xlsx"
    if not path.exists():
        t = time.perf_counter()
        rows = make_workbook(path, args.rows_scale, args.inline_strings)
        print(f"generated {path.name}: {rows:,} rows x 13 columns in {time.perf_counter() - t:.1f} s")
    print(f"workbook: {path.name} ({path.stat().st_size / 1e6:.1f} MB)")
    results = {m: measure(m, path) for m in ("ours_8q", "ours_all")}
    if not args.skip_openpyxl:
        results["openpyxl"] = measure("openpyxl", path)
    for r in results.values():
        print(
            f"{r['mode']:>10}: {r['seconds']:7.2f} s  rows {r['rows']:>9,}  peak RSS {r['peak_rss_mb']:7.0f} MB"
        )
    print(f"stalking_seconds: {results['ours_8q']['seconds']:.2f}")
    if "openpyxl" in results:
        print(f"ratio: {results['openpyxl']['seconds'] / results['ours_8q']['seconds']:.1f}")
    if not args.skip_four_years:
        folder = four_year_folder(cache, args.rows_scale)
        serial, parallel = time_ingest(folder, 1), time_ingest(folder, 2)
        print(f"four-year ingest (8Q): --jobs 1 {serial:.1f} s, --jobs 2 {parallel:.1f} s")
        print(f"jobs2_over_serial: {parallel / serial:.2f}")


if __name__ == "__main__":
    main()
