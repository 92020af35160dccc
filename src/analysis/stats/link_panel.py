"""The force-year panel the link estimators use: counts on both bases, the dose, and flags for
the counting-rule periods and censoring."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.domain import forces, periods, taxonomy
from analysis.errors import InputError

BREAK = taxonomy.RECLASSIFICATION_BREAK.first_year  # "2020/21"
PRE = "2019/20"


def _rule_period(year: str) -> str:
    """The counting-rule period a financial year falls in (labels from the taxonomy)."""
    label = "before 8Q"
    for b in taxonomy.COUNTING_RULE_BREAKS:
        if periods.fy_start(year) >= periods.fy_start(b.first_year):
            label = f"from {b.first_year}: {b.label}"
    return label


def link_panel(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    offences: tuple[str, ...] = (taxonomy.STALKING,),
    pre: str = PRE,
    post: str = BREAK,
) -> pd.DataFrame:
    """Force-year panel for the link models: counts on both bases, the dose, and flags.

    Only the 43 territorial forces (BTP has no recorded-crime series after 2014/15). The dose is
    log(annualised offences recorded in `post` / annualised in `pre`) from the PFA table (or, if
    that is missing, from the recorded-basis totals in the outcomes files), summed over
    `offences`; annualising (x 4 / quarters with data) keeps the Greater Manchester gap from
    inflating its dose.
    """
    codes = [taxonomy.normalise_offence_code(o) for o in offences]
    terr = {f.name for f in forces.territorial()}
    o = outcomes[outcomes["offence_code"].isin(codes) & outcomes["force"].isin(terr)]
    if o.empty:
        raise InputError(f"link: no outcomes for {', '.join(codes)} in the store.")
    key = ["force", "financial_year"]
    closed_types = o["outcome_type"].isin(taxonomy.CLOSED)
    g = pd.DataFrame(
        {
            "charged": o[o["outcome_type"].isin(taxonomy.CHARGED)]
            .groupby(key)["closed_basis"]
            .sum(min_count=1),
            "closed": o[closed_types].groupby(key)["closed_basis"].sum(min_count=1),
            "charged_recorded": o[o["outcome_type"].isin(taxonomy.CHARGED)]
            .groupby(key)["recorded_basis"]
            .sum(min_count=1),
            "assigned_recorded": o[closed_types].groupby(key)["recorded_basis"].sum(min_count=1),
            "offences_recorded_basis": o.groupby(key)["recorded_basis"].sum(min_count=1),
            "quarters": o.dropna(subset=["closed_basis"]).groupby(key)["quarter"].nunique(),
        }
    ).reset_index()
    # 8Q and 8L rows for one force-quarter come from one file: need every offence present
    g["quarters"] = g["quarters"].fillna(0).astype(int)
    rec = recorded[recorded["offence_code"].isin(codes) & recorded["force"].isin(terr)]
    source = "PFA recorded offences"
    if rec.empty or not {pre, post} <= set(rec["financial_year"]):
        rec = (
            o.groupby(["force", "financial_year", "quarter"])["recorded_basis"]
            .sum(min_count=1)
            .rename("offences")
            .reset_index()
        )
        source = "recorded-basis totals in the outcomes files"
    per_q = rec.groupby(["force", "financial_year", "quarter"])["offences"].sum(min_count=len(codes)).dropna()
    annual = per_q.groupby(["force", "financial_year"]).agg(["sum", "count"])
    annual = annual["sum"] * 4 / annual["count"]
    dose = {}
    for f in terr:
        a, b = annual.get((f, pre)), annual.get((f, post))
        if a is not None and b is not None and a > 0 and b > 0:
            dose[f] = float(np.log(b / a))
    g["dose"] = g["force"].map(dose)
    g = g.dropna(subset=["dose"])
    g["dose_c"] = g["dose"] - np.mean(list(dose.values()))
    g["post"] = (g["financial_year"].map(periods.fy_start) >= periods.fy_start(post)).astype(int)
    g["counting_rule_period"] = g["financial_year"].map(_rule_period)
    last = max(g["financial_year"])
    g["not_yet_assigned_share"] = 1 - g["assigned_recorded"] / g["offences_recorded_basis"]
    g["recorded_basis_censored"] = (g["financial_year"] == last) | (g["not_yet_assigned_share"] > 0.1)
    g["complete_year"] = g["quarters"] == 4
    g["usable"] = (g["closed"] > 0) & (g["charged"] >= 0) & (g["charged"] <= g["closed"])
    g["rate"] = g["charged"] / g["closed"]
    g.attrs["dose_source"] = source
    g.attrs["offences"] = codes
    return g.sort_values(key).reset_index(drop=True)
