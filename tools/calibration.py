"""Write the demo generator's packaged calibration file from the real PFA extract (developer
tool): the 2017/18 stalking, harassment and comparison-offence counts per force, summed over
the quarters, as `analysis.demo.calibration.derive` reads them.

    .venv/bin/python tools/calibration.py

tests/demo/test_calibration.py checks the packaged file equals this tool's output.
"""

from __future__ import annotations

from pathlib import Path

from analysis.demo import calibration, generator

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "data" / "real" / "prc-pfa-mar2013-onwards-tables201718.csv"
OUT = ROOT / "src" / "analysis" / "demo" / "calibration_2017_18.csv"


def main() -> None:
    cfg = generator.default_config()
    codes = {s: cfg[s]["code"] for s in generator.SERIES}
    table = calibration.derive(REAL, codes)
    table.to_csv(OUT, index=False, lineterminator="\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(table)} rows from {REAL.name}")


if __name__ == "__main__":
    main()
