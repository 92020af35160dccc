"""Reading benchmark: a full-size outcomes workbook read four ways in one run, then a four-year
ingest serial against --jobs 2.

Generates (once, cached in benchmarks/.cache/) an outcomes workbook of the published size,
about 725,000 rows x 13 columns, with stalking (8Q) among 180 offence codes and text in a
shared-string table as Excel writes it (--inline-strings: inline text, as streaming writers
make), then times in separate processes: our reader keeping 8Q only with each engine
(analysis.sources.sheets.ENGINES: "arrow", fastexcel's whole-sheet Arrow load then a filter;
"rows", python-calamine's rows one by one, keeping the wanted ones), our reader (default
engine) keeping every row, and pandas.read_excel(engine="openpyxl") for the same sheet. Each
method's peak memory is its own process's: the child's high-water RSS (VmHWM) as it ends.
(wait4's ru_maxrss is not used: Linux carries the parent's RSS at the moment of the exec into
the child's maximum, so a parent that had just generated the workbook would lend every method
over 1 GB.) Then an ingest of four full-size years (generated once, cached) with --jobs 1 and
with --jobs 2, the two taken back to back in each repeat (alternating which goes first) and
each pair's ratio printed. With --repeats N every timing is the fastest of N runs (the peak
memory is that run's); CPU seconds are printed too, as wall times on a shared machine are noisy. Ends with
lines to quote:

    read_engine: E             the default engine, whose numbers follow
    read_seconds: S            our 8Q-only read (target <= 6.5)
    openpyxl_seconds: B        pandas.read_excel with openpyxl, whole sheet
    ratio: R                   B / S (target >= 15)
    peak_gb: M                 peak RSS of our 8Q-only read's process, GB (target <= 0.8)
    ingest_serial_seconds: T1  four-year ingest of 8Q, --jobs 1
    ingest_jobs2_seconds: T2   the same with --jobs 2
    jobs_ratio: F              T2 / T1 (target <= 0.6)
    jobs_ratio_median_pair: P  the median of each repeat's back-to-back ratio (drift between
                               repeats cancels within a pair)
    concurrent_read_slowdown: C  median over repeats of (two 8Q reads at once: their mean time)
                               / (one read alone); 1 if two readers do not slow each other

Usage: python benchmarks/ingest.py [--rows-scale 1.0] [--inline-strings] [--repeats 1]
       [--skip-openpyxl] [--skip-four-years]
The first run generates five workbooks (one to three minutes each on a 2-core machine); later
runs reuse them.
"""

from __future__ import annotations

import argparse
import json
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
    start, cpu = time.perf_counter(), time.process_time()
    if mode.endswith("_8q"):
        from analysis.sources.homeoffice import read_outcomes

        frame, _ = read_outcomes(path, offences=("8Q",), engine=mode.removesuffix("_8q"))
    elif mode == "ours_all":
        from analysis.sources.homeoffice import read_outcomes

        frame, _ = read_outcomes(path, offences=None)
    else:
        import pandas as pd

        frame = pd.read_excel(path, sheet_name="Outcomes open data 2020_21", engine="openpyxl")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rows": len(frame),
                "peak_rss_mb": _own_peak_mib(),
            }
        )
    )


def _own_peak_mib() -> float:
    """This process's own peak RSS in MiB since its exec (VmHWM; Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/self/status: this benchmark measures memory on Linux only")


def _run_child(argv: list[str]) -> str:
    """Run a command to the end; its stdout."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:4])} ... failed with exit {proc.returncode}")
        out.seek(0)
        return out.read().decode()


def measure(mode: str, path: Path, repeats: int) -> dict:
    """The fastest of `repeats` runs of one method, each in a fresh child process."""
    runs = []
    for _ in range(repeats):
        text = _run_child([sys.executable, __file__, "--child", mode, str(path)])
        runs.append(json.loads(text.strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"])


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


def concurrent_slowdown(path: Path, mode: str, repeats: int) -> list[float]:
    """Per repeat: the mean time of two reads run at once, over one read run alone (back to
    back). On two idle cores with nothing shared this would be 1; above it, the two readers slow
    each other (shared cache and memory bandwidth), which `--jobs 2` cannot avoid."""
    argv = [sys.executable, __file__, "--child", mode, str(path)]
    ratios = []
    for _ in range(repeats):
        alone = json.loads(_run_child(argv).strip().splitlines()[-1])["seconds"]
        with tempfile.TemporaryFile() as a, tempfile.TemporaryFile() as b:
            procs = [subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL) for out in (a, b)]
            if any(p.wait() != 0 for p in procs):
                raise SystemExit(f"{' '.join(argv[:4])} ... failed")
            both = []
            for out in (a, b):
                out.seek(0)
                both.append(json.loads(out.read().decode().strip().splitlines()[-1])["seconds"])
        ratios.append(sum(both) / 2 / alone)
    return ratios


def interleaved_ingests(folder: Path, repeats: int) -> list[tuple[float, float]]:
    """(serial, --jobs 2) seconds for each repeat, the two taken back to back.

    Pairing them, and alternating which goes first, keeps the machine's drift in speed (about
    15% between runs here) out of the ratio: timing every serial run before every parallel one
    would charge a slow spell to one side only.
    """
    pairs = []
    for i in range(repeats):
        if i % 2:
            two, one = time_ingest(folder, 2), time_ingest(folder, 1)
        else:
            one, two = time_ingest(folder, 1), time_ingest(folder, 2)
        pairs.append((one, two))
    return pairs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows-scale", type=float, default=1.0, help="fraction of the 180 offence codes")
    p.add_argument(
        "--inline-strings",
        action="store_true",
        help="write the workbook's text inline instead of in a shared-string table",
    )
    p.add_argument("--repeats", type=int, default=1, help="time each method N times, keep the fastest")
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
    from analysis.sources.sheets import DEFAULT_ENGINE, ENGINES

    modes = [f"{e}_8q" for e in ENGINES] + ["ours_all"] + ([] if args.skip_openpyxl else ["openpyxl"])
    results = {m: measure(m, path, args.repeats) for m in modes}
    for r in results.values():
        print(
            f"{r['mode']:>10}: {r['seconds']:7.2f} s (CPU {r['cpu_seconds']:6.2f} s)  rows {r['rows']:>9,}  "
            f"peak RSS {r['peak_rss_mb']:5.0f} MiB"
        )
    ours = results[f"{DEFAULT_ENGINE}_8q"]
    lines = [f"read_engine: {DEFAULT_ENGINE}", f"read_seconds: {ours['seconds']:.2f}"]
    if "openpyxl" in results:
        base = results["openpyxl"]["seconds"]
        lines += [f"openpyxl_seconds: {base:.2f}", f"ratio: {base / ours['seconds']:.1f}"]
    lines.append(f"peak_gb: {ours['peak_rss_mb'] * 2**20 / 1e9:.2f}")  # decimal GB, as the target
    if not args.skip_four_years:
        folder = four_year_folder(cache, args.rows_scale)
        pairs = interleaved_ingests(folder, args.repeats)
        for i, (one, two) in enumerate(pairs, 1):
            print(f"ingest repeat {i}: serial {one:.1f} s, --jobs 2 {two:.1f} s, ratio {two / one:.2f}")
        slowdown = concurrent_slowdown(path, f"{DEFAULT_ENGINE}_8q", args.repeats)
        print("two 8Q reads at once, each over one alone: " + ", ".join(f"{r:.2f}" for r in slowdown))
        serial = min(one for one, _ in pairs)
        parallel = min(two for _, two in pairs)
        lines += [
            f"ingest_serial_seconds: {serial:.1f}",
            f"ingest_jobs2_seconds: {parallel:.1f}",
            f"jobs_ratio: {parallel / serial:.2f}",
            f"jobs_ratio_median_pair: {float(np.median([two / one for one, two in pairs])):.2f}",
            f"concurrent_read_slowdown: {float(np.median(slowdown)):.2f}",
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
