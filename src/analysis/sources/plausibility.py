"""Plausibility checks at ingest: counts no published table could hold.

Schema checks (in `store`) ask whether a value has the right type; these ask whether it is
believable. Two kinds:
- a negative total for a force, year and offence (a few negative cells are published
  corrections; a negative total is a damaged file), always an error;
- a cell far outside both the force's own history and the scale of the other forces, an error
  unless the user accepts it (`ingest --accept-outliers`), when it is recorded in
  quality.json and stated on every page that uses the store.

An outlier must clear both bars, so that real changes pass: recorded stalking roughly tripled
across forces after April 2020 (up to about five-fold in one force), far inside the factor of
`HISTORY_FACTOR` against the force's own other years.
"""

from __future__ import annotations

import pandas as pd

from analysis.domain import taxonomy
from analysis.errors import InputError

HISTORY_FACTOR = 20  # |cell| above 20 x the largest |value| of that cell in the force's other years
PEER_FACTOR = 5  # ... and above 5 x the largest |value| of that cell in other forces that quarter
FLOOR = 50  # small cells vary a lot in relative terms: both bars are at least FACTOR x 50

_COLUMNS = {
    "recorded_basis": "recorded basis",
    "closed_basis": "closed basis",
    "offences": "offences recorded (PFA table)",
}


# Where a cell was read, when the tables carry it (ingest keeps it while it checks): named in
# every refusal, with the file.
_LOCATION = ["source_sheet", "source_row"]


def _long(outcomes: pd.DataFrame, recorded: pd.DataFrame) -> pd.DataFrame:
    """Every count cell as one row: force, year, quarter, offence, outcome type (-1 for the PFA
    table), column, value, source file (and sheet and row, when the tables have them)."""
    keep = ["force", "financial_year", "quarter", "offence_code", "source_file"]
    keep += [c for c in _LOCATION if c in outcomes.columns and (recorded.empty or c in recorded.columns)]
    parts = []
    for column in ("recorded_basis", "closed_basis"):
        part = outcomes[[*keep, "outcome_type", column]].rename(columns={column: "value"})
        parts.append(part.assign(column=column))
    if len(recorded):
        part = recorded[[*keep, "offences"]].rename(columns={"offences": "value"})
        parts.append(part.assign(outcome_type=-1, column="offences"))
    cells = pd.concat(parts, ignore_index=True)
    cells = cells[cells["value"].notna()].copy()
    cells["value"] = cells["value"].astype("int64")
    cells["size"] = cells["value"].abs()
    return cells


def _max_of_others(cells: pd.DataFrame, group: list[str], unit: str) -> pd.Series:
    """For each cell, the largest |value| in its group among units (years, or forces) other than
    its own: the group's largest, or its second largest where the cell's unit holds the largest."""
    per_unit = cells.groupby([*group, unit], observed=True)["size"].max().rename("unit_max").reset_index()
    ranked = per_unit.sort_values(
        [*group, "unit_max"], ascending=[True] * len(group) + [False], kind="stable"
    )
    first = ranked.groupby(group, observed=True).nth(0).set_index(group)
    second = ranked.groupby(group, observed=True).nth(1).set_index(group)["unit_max"]
    top = first.rename(columns={unit: "top_unit", "unit_max": "top"})
    top["second"] = second.reindex(top.index).fillna(0)
    joined = cells[[*group, unit]].join(top, on=group)
    return joined["top"].where(joined[unit] != joined["top_unit"], joined["second"]).fillna(0)


def outliers(outcomes: pd.DataFrame, recorded: pd.DataFrame) -> pd.DataFrame:
    """The cells far outside both their force's other years and the other forces' values."""
    return _outliers(_long(outcomes, recorded))


def _outliers(cells: pd.DataFrame) -> pd.DataFrame:
    if cells.empty:
        return cells
    history = _max_of_others(cells, ["force", "offence_code", "outcome_type", "column"], "financial_year")
    peers = _max_of_others(
        cells, ["financial_year", "quarter", "offence_code", "outcome_type", "column"], "force"
    )
    far = (cells["size"] > HISTORY_FACTOR * history.clip(lower=FLOOR)) & (
        cells["size"] > PEER_FACTOR * peers.clip(lower=FLOOR)
    )
    out = cells[far].assign(history_max=history[far], peer_max=peers[far])
    return out.sort_values(["source_file", "force", "financial_year", "quarter"], kind="stable")


_TOTAL = ["source_file", "force", "financial_year", "offence_code", "column"]


def negative_totals(outcomes: pd.DataFrame, recorded: pd.DataFrame) -> pd.DataFrame:
    """Force-year-offence totals below zero, per file and count column."""
    return _negative_totals(_long(outcomes, recorded))


def _negative_totals(cells: pd.DataFrame) -> pd.DataFrame:
    totals = cells.groupby(_TOTAL, observed=True)["value"].sum()
    return totals[totals < 0].reset_index()


def _most_negative(cells: pd.DataFrame, total: pd.Series) -> pd.Series:
    """The most negative cell that adds to a negative total (where to look first)."""
    same = cells[(cells[_TOTAL] == total[_TOTAL]).all(axis=1)]
    return same.loc[same["value"].idxmin()]


def _neighbours(cells: pd.DataFrame, row: pd.Series) -> str:
    """The same cell in the other years, for the message ('2019/20 12, 2021/22 45')."""
    same = cells[
        (cells["force"] == row["force"])
        & (cells["offence_code"] == row["offence_code"])
        & (cells["outcome_type"] == row["outcome_type"])
        & (cells["column"] == row["column"])
        & (cells["quarter"] == row["quarter"])
        & (cells["financial_year"] != row["financial_year"])
    ].sort_values("financial_year")
    return ", ".join(f"{y} {v:,}" for y, v in zip(same["financial_year"], same["value"])) or "none published"


def _sheet(row: pd.Series) -> str:
    """', sheet S' for a cell read from a workbook's sheet, '' for a CSV file or when unknown."""
    if "source_sheet" not in row.index or pd.isna(row["source_sheet"]):
        return ""
    return "" if str(row["source_file"]).lower().endswith(".csv") else f", sheet '{row['source_sheet']}'"


def _place(row: pd.Series) -> str:
    """The file a cell was read from ("file F"), with its sheet and row when they are known: the
    same words as every other refusal of a file (analysis.errors.where)."""
    known = "source_row" in row.index and not pd.isna(row["source_row"])
    return f"file {row['source_file']}{_sheet(row)}" + (f", row {int(row['source_row'])}" if known else "")


def _where(row: pd.Series) -> str:
    what = "" if row["outcome_type"] < 0 else f", outcome type {int(row['outcome_type'])}"
    offence = taxonomy.OFFENCE_BY_CODE.get(row["offence_code"])
    name = f"{offence.description.lower()} ({row['offence_code']})" if offence else row["offence_code"]
    return (
        f"{_place(row)}: {row['force']} {row['financial_year']} Q{int(row['quarter'])}, {name}{what}, "
        f"{_COLUMNS[row['column']]}"
    )


def check(outcomes: pd.DataFrame, recorded: pd.DataFrame, accept_outliers: bool = False) -> dict:
    """Raise InputError on a negative total, or on outliers unless accepted; return the record
    for quality.json (the accepted outliers, each with where it is and its value)."""
    cells = _long(outcomes, recorded)  # every count cell, built once for all the checks
    neg = _negative_totals(cells)
    if len(neg):
        r = neg.iloc[0]
        cell = _most_negative(cells, r)
        at = f"row {int(cell['source_row'])}, " if "source_row" in cell.index else ""
        what = "" if cell["outcome_type"] < 0 else f", outcome type {int(cell['outcome_type'])}"
        raise InputError(
            f"file {r['source_file']}{_sheet(cell)}: {r['force']} {r['financial_year']}, offence {r['offence_code']}: "
            f"the {_COLUMNS[r['column']]} counts add up to {int(r['value']):,}, below zero ({len(neg)} "
            f"such total(s) in all); the most negative cell is {at}Q{int(cell['quarter'])}{what}: "
            f"{int(cell['value']):,}. A negative total cannot be published data: check that cell, or "
            "download the file again."
        )
    found = _outliers(cells)
    records = [
        {
            "where": _where(r),
            "value": int(r["value"]),
            "history_max": int(r["history_max"]),
            "peer_max": int(r["peer_max"]),
        }
        for _, r in found.iterrows()
    ]
    if records and not accept_outliers:
        r = found.iloc[0]
        raise InputError(
            f"{_where(r)}: {int(r['value']):,} is far outside this force's own history (the same "
            f"quarter in other years: {_neighbours(cells, r)}) and the other forces' values (at most "
            f"{int(r['peer_max']):,}); {len(records)} such cell(s) in all. Check the file. If the "
            "figure is right, run ingest again with --accept-outliers: it will be recorded in "
            "quality.json and stated on every page that uses these data."
        )
    return {
        "rules": {"history_factor": HISTORY_FACTOR, "peer_factor": PEER_FACTOR, "floor": FLOOR},
        "outliers_accepted": records,
    }
