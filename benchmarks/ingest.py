"""Reading benchmark: a full-size outcomes workbook read three ways in one run.

Generates (once, cached in benchmarks/.cache/) an outcomes workbook of the published size,
about 725,000 rows x 13 columns, with stalking (8Q) among 180 offence codes and text in a
shared-string table as Excel writes it (--inline-strings: inline text, as streaming writers
make, which calamine reads about half as fast), then times in
separate processes: our reader keeping 8Q only, our reader keeping every row, and
pandas.read_excel(engine="openpyxl") for the same sheet. Prints seconds and peak RSS for each
and ends with `stalking_seconds: S` and `ratio: R` (openpyxl seconds / our 8Q-only seconds).

Usage: python benchmarks/ingest.py [--rows-scale 1.0] [--inline-strings] [--skip-openpyxl]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_OFFENCES = 180  # 44 forces x 4 quarters x 180 codes x 23 types = 728,640 rows


def make_workbook(path: Path, scale: float, inline_strings: bool) -> int:
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
                            "financial_year": "2020/21",
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

    lay = OutcomesLayout("Outcomes open data 2020_21")
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
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "seconds": seconds, "rows": len(frame), "peak_rss_mb": peak_mb}))


def measure(mode: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows-scale", type=float, default=1.0, help="fraction of the 180 offence codes")
    p.add_argument(
        "--inline-strings",
        action="store_true",
        help="write the workbook's text inline instead of in a shared-string table",
    )
    p.add_argument("--skip-openpyxl", action="store_true", help="skip the (slow) baseline")
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


if __name__ == "__main__":
    main()
