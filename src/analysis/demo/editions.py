"""Successive data editions of the demo data (`stalking-outcomes demo-data --editions N`).

The Home Office republishes the outcomes open data each quarter: every year comes back with the
outcomes assigned since, and now and then a correction. The demo does the same with the
generator's own model. Edition 1 is the default demo data, byte for byte. Every edition counts
the recorded basis as a republication does (`recorded_basis_as_at = "edition"`, the default):
every year's outcomes so far, up to one date, so that older years are mature and recent ones are
not. Edition n is published 3(n - 1) months after
the first (its files' -DDMMYY suffix) and counts outcomes up to `snapshot_lag_quarters` + n - 1
quarters after the last year ends, so it sees more of the recent recording cohorts' outcomes, as
the generator's delays (and a scenario's charge delays) dictate. Every draw is the same in every edition: the closed basis and the
offences recorded do not change, except for the revisions planted for tests
(`PLANTED_REVISIONS`), which each edition carries on from the one that first has them.

Each edition is a complete source folder, `OUT/editions/<n>/`, with its own truth.json, and the
latest is also written into OUT itself. truth.json's `editions` records the editions, every
planted revision (and the figures it moves) and the maturing (each force-year's stalking
charges on the recorded basis that rose, old and new).
"""

from __future__ import annotations

import calendar
import copy
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.demo import MAX_EDITIONS, generator
from analysis.demo.generator import SyntheticData, simulate, write_source, write_truth
from analysis.domain import periods, taxonomy
from analysis.errors import InputError

EDITIONS_FOLDER = "editions"  # OUT/editions/<n>/: one source folder per edition
EDITION_MONTHS = 3  # between successive editions
# Revisions planted in the later editions, for tests: (the edition that first carries it, the
# force, years back from the last outcomes year, what is corrected, outcome type, by how much).
# "offences": the offences recorded in a quarter (the PFA table's count, and the outcomes file's
# "not yet assigned" count with it, so the two stay consistent); "closed": outcomes of one type
# on the closed basis (late-recorded decisions). Editions after the third carry the second's
# and third's again in turn (a later correction of the same figure).
PLANTED_REVISIONS: tuple[tuple[int, str, int, str, int, int], ...] = (
    (2, "Northamptonshire", 1, "offences", 0, 37),
    (2, "Cumbria", 2, "closed", 16, 15),
    (3, "Kent", 1, "closed", 1, 9),
    (3, "West Midlands", 0, "offences", 0, -25),
)
_QUARTERS = (2, 3, 4, 1)
DESCRIPTION = (
    "Successive editions of the same years, a quarter apart. Every edition counts each year's "
    "recorded-basis outcomes to one date, as a republication does (recorded_basis_as_at = "
    "'edition'): edition n up to snapshot_lag_quarters + n - 1 quarters after the last year ends, "
    "so a later edition sees more of the recent recording cohorts' outcomes (the generator's "
    "delays) and older years are mature in all of them; every draw is the same in every edition, so the closed "
    "basis and the offences recorded do not change but for the planted revisions, which each "
    "edition carries on from the one that first has them. 'planted': each revision, the edition "
    "that first carries it, its cell and the force-year table figures it moves; 'maturing': between "
    "each edition and the next, every force-year whose stalking charges on the recorded basis "
    "(charged_recorded) changed, old and new."
)  # the quarter a revision goes in: the first of these that has the cell


def write_editions(out: Path | str, cfg: dict, n: int = 1) -> SyntheticData:
    """Write `n` successive editions of the demo data; return the latest. One edition is
    exactly `generator.write_demo` (the files in `out`, nothing else)."""
    if not 1 <= n <= MAX_EDITIONS:
        raise InputError(f"--editions {n}: give 1 to {MAX_EDITIONS}.")
    if n == 1:  # looked up on the module, so that one edition is write_demo wherever it is replaced
        return generator.write_demo(out, cfg)
    out = Path(out)
    dates = edition_dates(cfg, n)
    configs = [edition_config(cfg, k + 1, d) for k, d in enumerate(dates)]
    datas = [simulate(c) for c in configs]
    truth = datas[0].truth  # the same draws in every edition: only the snapshot differs
    truth["editions"] = {
        "description": DESCRIPTION,
        "editions": [
            {
                "number": k + 1,
                "date": d.isoformat(),
                "suffix": c["edition"],
                "folder": f"{EDITIONS_FOLDER}/{k + 1}",
                "snapshot_lag_quarters": int(c["snapshot_lag_quarters"]),
            }
            for k, (c, d) in enumerate(zip(configs, dates))
        ],
        "planted": plant_revisions(cfg, datas, dates),
        "maturing": maturing(cfg, datas, dates),
    }
    names: list[str] = []
    for k, (c, data) in enumerate(zip(configs, datas)):
        folder = out / EDITIONS_FOLDER / str(k + 1)
        folder.mkdir(parents=True, exist_ok=True)
        names = write_source(folder, c, data)
        write_truth(folder, dict(truth, files=names))
    for name in names:  # the latest, also in `out` itself
        tmp = out / f".{name}.tmp"
        shutil.copyfile(folder / name, tmp)
        tmp.replace(out / name)
    latest = datas[-1]
    latest.truth = dict(truth, files=names)
    write_truth(out, latest.truth)
    latest.outcomes = latest.outcomes.drop(columns="not_provided")
    return latest


def edition_dates(cfg: dict, n: int) -> list[date]:
    """The publication dates of `n` editions: the config's edition suffix (DDMMYY) and every
    EDITION_MONTHS months after it (the day kept, or the month's last)."""
    base = suffix_date(cfg["edition"])
    return [_add_months(base, EDITION_MONTHS * k) for k in range(n)]


def suffix_date(suffix: str) -> date:
    """The date a -DDMMYY file-name suffix stands for; InputError if it is none."""
    try:
        return date(2000 + int(suffix[4:6]), int(suffix[2:4]), int(suffix[:2]))
    except ValueError:
        raise InputError(f"config: edition {suffix!r} is not a date written DDMMYY.") from None


def _add_months(day: date, months: int) -> date:
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def edition_config(cfg: dict, number: int, published: date) -> dict:
    """The config of edition `number` (1 = the config itself): its file-name suffix, and its
    recorded-basis snapshot `number` - 1 quarters later."""
    c = copy.deepcopy(cfg)
    c["edition"] = published.strftime("%d%m%y")
    c["snapshot_lag_quarters"] = int(cfg["snapshot_lag_quarters"]) + number - 1
    return c


def plant_revisions(cfg: dict, datas: list[SyntheticData], dates: list[date]) -> list[dict]:
    """Apply the planted revisions to the editions' tables (each from the edition that first
    carries it on); return them as truth.json records, with the figures each moves."""
    first, last = periods.fy_start(cfg["first_year"]), periods.fy_start(cfg["last_year"])
    years = [periods.fy_label(y) for y in range(first, last + 1)]
    code = cfg["stalking"]["code"]
    planted = []
    for k in range(1, len(datas)):
        spec = 2 + (k - 1) % 2  # edition k + 1 carries the specs of edition 2 or 3
        for first, force, back, what, otype, delta in PLANTED_REVISIONS:
            if first != spec:
                continue
            year = years[max(0, len(years) - 1 - back)]
            quarter = _plant(datas[k:], code, force, year, what, otype, delta)
            if quarter is None:
                continue
            planted.append(
                {
                    "edition": k + 1,
                    "date": dates[k].isoformat(),
                    "force": force,
                    "financial_year": year,
                    "quarter": quarter,
                    "offence_code": code,
                    "what": what,
                    "outcome_type": otype if what == "closed" else None,
                    "change": delta,
                    "figures": _figures_moved(what, otype, delta),
                }
            )
    return planted


def _figures_moved(what: str, otype: int, delta: int) -> dict[str, int]:
    """The force-year table's figures a planted revision moves, and by how much."""
    if what == "offences":
        return {"offences_recorded": delta}
    moved = {"outcomes_closed": delta} if otype in taxonomy.CLOSED else {}
    if otype in taxonomy.CHARGED:
        moved["charged_closed"] = delta
    if otype in taxonomy.EVIDENTIAL_DIFFICULTIES:
        moved["evidential_difficulties_closed"] = delta
    return moved


def _cells(
    data: SyntheticData, code: str, force: str, year: str, quarter: int, what: str, otype: int
) -> list[tuple[pd.DataFrame, np.ndarray, str]]:
    """The published cells a revision changes in one edition's tables: (table, row mask, column)."""
    out, rec = data.outcomes, data.recorded
    at = (out["financial_year"] == year) & (out["quarter"] == quarter) & (out["force"] == force)
    at &= out["offence_code"] == code
    if what == "closed":
        return [(out, (at & (out["outcome_type"] == otype)).to_numpy(), "closed_basis")]
    pfa = (rec["financial_year"] == year) & (rec["quarter"] == quarter) & (rec["force"] == force)
    pfa &= rec["offence_code"] == code
    return [
        (rec, pfa.to_numpy(), "offences"),
        (out, (at & (out["outcome_type"] == 0)).to_numpy(), "recorded_basis"),
    ]


def _plant(
    datas: list[SyntheticData], code: str, force: str, year: str, what: str, otype: int, delta: int
) -> int | None:
    """Apply one revision to each edition's tables, in the first quarter (of `_QUARTERS`) whose
    cells are published in all of them and stay non-negative; the quarter, or None if none is."""
    for quarter in _QUARTERS:
        cells = [c for data in datas for c in _cells(data, code, force, year, quarter, what, otype)]
        ok = all(
            mask.sum() == 1
            and pd.notna(frame.loc[mask, col].iloc[0])
            and frame.loc[mask, col].iloc[0] + delta >= 0
            for frame, mask, col in cells
        )
        if ok:
            for frame, mask, col in cells:
                frame.loc[mask, col] = frame.loc[mask, col] + delta
            return quarter
    return None


def maturing(cfg: dict, datas: list[SyntheticData], dates: list[date]) -> list[dict]:
    """Between each edition and the next: every force-year whose stalking charges on the recorded
    basis (outcome type 1 among the offences recorded in the year) rose, old and new."""
    code = cfg["stalking"]["code"]
    found = []
    for k in range(1, len(datas)):
        old, new = _charged_recorded(datas[k - 1], code), _charged_recorded(datas[k], code)
        both = pd.concat([old.rename("old"), new.rename("new")], axis=1).dropna()
        moved = both[both["old"] != both["new"]]
        found.append(
            {
                "edition_from": k,
                "edition_to": k + 1,
                "date_from": dates[k - 1].isoformat(),
                "date_to": dates[k].isoformat(),
                "offence_code": code,
                "figure": "charged_recorded",
                "changes": [
                    {"force": str(f), "financial_year": str(y), "old": int(o), "new": int(n)}
                    for (y, f), (o, n) in moved.iterrows()
                ],
            }
        )
    return found


def _charged_recorded(data: SyntheticData, code: str) -> pd.Series:
    """Charges on the recorded basis per financial year and force (NaN where none published)."""
    out = data.outcomes
    charged = out[(out["offence_code"] == code) & (out["outcome_type"] == 1)]
    return charged.groupby(["financial_year", "force"])["recorded_basis"].sum(min_count=1).astype(float)
