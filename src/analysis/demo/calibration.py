"""Real force sizes for the demo: each offence series' force shares of recorded offences, and
its England and Wales total, in one year follow a real Home Office PFA table.

The packaged counts (`calibration_2017_18.csv`) are the 2017/18 quarters of the police
recorded crime PFA open data (Open Government Licence v3.0) summed per force and offence
code, as `derive` reads them from the real extract in `tests/data/real/` (a test checks they
agree). The config's `[calibration]` table names the file and year; `file = ""` turns it off
(the method study's committed tables were made without it).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.domain import forces, periods
from analysis.errors import InputError
from analysis.sources.homeoffice import read_recorded

COLUMNS = ("force", "offence_code", "offences")
SOURCE = (
    "Home Office, police recorded crime PFA open data tables, 2017/18 by quarter (CSV export at "
    "github.com/Sparrow0hawk/crime_sim_toolkit, commit dc00421b, "
    "crime_sim_toolkit/src/prc-pfa-mar2013-onwards-tables201718.csv); Open Government Licence v3.0"
)
SMOOTHING = 0.5  # added to every force's count before its share is taken, so a zero stays a size


@dataclass(frozen=True)
class Calibration:
    """The real counts per series, in the generator's force order, and the year they are for."""

    file: str
    year: str
    counts: dict[str, np.ndarray]  # series -> offences per force (forces.registry() order)
    codes: dict[str, str]  # series -> offence code
    scaled: tuple[str, ...]  # series whose other years are scaled with the real year's total

    def record(self, before: dict[str, float]) -> dict:
        """truth.json's `calibration`: where the sizes came from and what they changed."""
        return {
            "file": self.file,
            "source": SOURCE,
            "year": self.year,
            "rule": (
                "each series' force shares of recorded offences in every year start from the real "
                f"{self.year} counts (plus {SMOOTHING}) instead of population x a random recording "
                f"effect, and its England and Wales total in {self.year} is the real one; the "
                "series listed in `scaled` keep their shape (every year scaled by the same ratio), "
                "the others keep their other years"
            ),
            "scaled": [self.codes[s] for s in self.scaled],
            "real_total": {self.codes[s]: int(v.sum()) for s, v in self.counts.items()},
            "config_total_before": before,
            "forces": {
                f.name: {self.codes[s]: int(v[j]) for s, v in self.counts.items()}
                for j, f in enumerate(forces.registry())
            },
        }


def derive(path: Path | str, codes: dict[str, str]) -> pd.DataFrame:
    """A PFA table's offences per force and offence code, summed over its quarters, for the
    given series codes (series -> code), in the packaged file's layout; one year only."""
    frame, _ = read_recorded(path, offences=tuple(codes.values()))
    years = sorted(set(frame.financial_year))
    if len(years) != 1:
        raise InputError(f"{Path(path).name}: a calibration file holds one financial year, not {years}.")
    out = frame.groupby(["force", "offence_code"], sort=True)["offences"].sum().reset_index()
    return out.astype({"force": str, "offence_code": str, "offences": "int64"})[list(COLUMNS)]


def packaged(name: str) -> pd.DataFrame:
    """A calibration file shipped with the package."""
    try:
        text = files("analysis.demo").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"config [calibration].file: '{name}' is not a calibration file shipped with the package "
            '(use "calibration_2017_18.csv", or "" for none).'
        ) from None
    return pd.read_csv(io.StringIO(text), dtype={"force": str, "offence_code": str, "offences": "int64"})


def load(cfg: dict, series: tuple[str, ...]) -> Calibration | None:
    """The config's calibration, aligned with the generator's forces; None when turned off."""
    cal = cfg["calibration"]
    if not cal["file"]:
        return None
    table = packaged(cal["file"])
    counts, codes = {}, {s: str(cfg[s]["code"]) for s in series}
    for s in series:
        rows = table[table.offence_code == cfg[s]["code"]].set_index("force")["offences"]
        missing = [f.name for f in forces.registry() if f.name not in rows.index]
        if missing:
            raise InputError(
                f"calibration file {cal['file']}: no {cfg[s]['code']} count for {', '.join(missing)}."
            )
        counts[s] = np.array([int(rows[f.name]) for f in forces.registry()], dtype=float)
    return Calibration(cal["file"], cal["year"], counts, codes, tuple(cal["scaled"]))


def apply(cfg: dict, cal: Calibration) -> tuple[dict, dict[str, float]]:
    """The config with each series' national totals calibrated (a copy), and the totals the
    config had for the real year before."""
    out = {**cfg}
    before = {}
    for s, counts in cal.counts.items():
        series = dict(cfg[s]["recorded"])
        old = float(series[cal.year])
        before[cfg[s]["code"]] = old
        real = float(counts.sum())
        if s in cal.scaled:
            series = {y: round(v * real / old, 1) for y, v in series.items()}
        series[cal.year] = real
        out[s] = {**cfg[s], "recorded": series}
    return out, before


def recording_effects(cal: Calibration, sizes: np.ndarray) -> dict[str, np.ndarray]:
    """Per series, the log recording effect that makes size x exp(effect) proportional to the
    real counts (centred on its force mean, as the random effects are)."""
    out = {}
    for s, counts in cal.counts.items():
        e = np.log((counts + SMOOTHING) / sizes)
        out[s] = e - e.mean()
    return out


def check(cfg: dict, series: tuple[str, ...]) -> None:
    """Fail early on a calibration table that cannot be applied."""
    cal = cfg["calibration"]
    if not cal["file"]:
        return
    try:
        periods.fy_start(cal["year"])
    except ValueError as exc:
        raise InputError(f"config [calibration].year: {exc}") from None
    for s in series:
        if cal["year"] not in cfg[s]["recorded"]:
            raise InputError(f"config [calibration].year {cal['year']} is not a year of [{s}].recorded.")
    unknown = set(cal["scaled"]) - set(series)
    if unknown:
        raise InputError(f"config [calibration].scaled: {', '.join(sorted(unknown))} is not a series.")
    load(cfg, series)
