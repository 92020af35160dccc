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
    quarterly = quarterly_recorded_basis(o)
    g = g.merge(_mature_counts(quarterly), on=key, how="left")
    mature_cols = ["charged_recorded_mature", "assigned_recorded_mature", "recorded_quarters_mature"]
    g[mature_cols] = g[mature_cols].fillna(0).astype(int)
    g["recorded_basis_censored"] = (g["financial_year"] == last) | (g["not_yet_assigned_share"] > MATURE_NYA)
    weights = cohort_weights(
        per_q.rename("offences").reset_index(),
        delay_distribution(quarterly),
        sorted(set(g["financial_year"])),
    )
    from_post = [c for c in weights.columns[2:] if periods.fy_start(c) >= periods.fy_start(post)]
    weights = weights.rename(columns={c: f"closed_from_{c}" for c in weights.columns[2:]})
    g = g.merge(weights, on=key, how="left")
    # a force-year with no recorded volumes to spread (none in the years before it) closes its own year's cases
    share_cols = list(weights.columns[2:])
    unknown = g[share_cols].isna().all(axis=1)
    for c in share_cols:
        g.loc[unknown, c] = (g.loc[unknown, "financial_year"] == c.removeprefix("closed_from_")).astype(float)
    g[share_cols] = g[share_cols].fillna(0.0)
    g["post_cohort_share"] = g[[f"closed_from_{c}" for c in from_post]].sum(axis=1)
    g["complete_year"] = g["quarters"] == 4
    g["usable"] = (g["closed"] > 0) & (g["charged"] >= 0) & (g["charged"] <= g["closed"])
    g["rate"] = g["charged"] / g["closed"]
    g.attrs["dose_source"] = source
    g.attrs["offences"] = codes
    return g.sort_values(key).reset_index(drop=True)


# --- timing by recording cohort --------------------------------------------------------------
# A closed-basis year mixes the offences recorded in it with older ones still open. The helpers
# below estimate, for each force and closing year, how its closures split between recording
# years, from the quarterly recorded volumes and a delay distribution read off the recorded
# basis's not-yet-assigned shares.

MATURE_NYA = 0.2  # the recorded basis of a force-year is censored when more than this share is unassigned
# A quarterly cohort is mature when followed at least this many quarters at the snapshot (quarters
# 1 and 2 of a year with a one-quarter lag). Maturity is set by follow-up, never by the cohort's
# own not-yet-assigned share: that share is higher where charges are slower, so selecting on it
# would select on the outcome.
MATURE_FOLLOW_UP = 3
SNAPSHOT_LAG = 1  # quarters between a year's end and its recorded-basis snapshot (the generator's too)
DELAY_HORIZON = 16  # quarters of delay modelled; the tail beyond is put in the last one


def _mature_counts(q: pd.DataFrame, lag: int = SNAPSHOT_LAG) -> pd.DataFrame:
    """Per force-year: charged and assigned on the recorded basis summed over its mature
    quarterly cohorts only (followed MATURE_FOLLOW_UP quarters or more), and how many there were."""
    mature = q[(q["offences"] > 0) & (4 - q["quarter"] + lag >= MATURE_FOLLOW_UP)]
    out = mature.groupby(["force", "financial_year"]).agg(
        charged_recorded_mature=("charged", "sum"),
        assigned_recorded_mature=("assigned", "sum"),
        recorded_quarters_mature=("quarter", "nunique"),
    )
    return out.reset_index()


def quarterly_recorded_basis(o: pd.DataFrame) -> pd.DataFrame:
    """Per force, year and quarter on the recorded basis: offences (all types, 0 included),
    not yet assigned (type 0), charged (type 1) and assigned (types 1-22)."""
    key = ["force", "financial_year", "quarter"]
    t = o["outcome_type"]
    v = o["recorded_basis"]
    frame = pd.DataFrame(
        {
            **{k: o[k] for k in key},
            "offences": v,
            "not_yet_assigned": v.where(t.isin(taxonomy.NOT_YET_ASSIGNED), 0),
            "charged": v.where(t.isin(taxonomy.CHARGED), 0),
            "assigned": v.where(t.isin(taxonomy.CLOSED), 0),
        }
    )
    return frame.groupby(key, as_index=False).sum(min_count=1)


def delay_distribution(q: pd.DataFrame, lag: int = SNAPSHOT_LAG, horizon: int = DELAY_HORIZON) -> np.ndarray:
    """P(an outcome is assigned d quarters after recording), d = 0..horizon-1.

    A year's recorded basis is a snapshot `lag` quarters after the year ends, so its quarter k
    cohort has been followed for 4 - k + lag quarters: one minus its pooled not-yet-assigned
    share is the cumulative distribution F at that follow-up. Outside the observed follow-ups
    F is extended with the hazard of the nearest observed step (constant hazard), the one
    assumption the recorded basis cannot check.
    """
    q = q[(q["offences"] > 0) & q["not_yet_assigned"].notna()]
    pooled = q.groupby("quarter")[["not_yet_assigned", "offences"]].sum()
    follow = {
        4 - k + lag: 1 - pooled.loc[k, "not_yet_assigned"] / pooled.loc[k, "offences"] for k in pooled.index
    }
    ms = sorted(follow)
    if len(ms) < 2:
        raise InputError("link: the recorded basis needs at least two quarters to estimate the delays.")
    cdf = np.full(horizon, np.nan)
    for m in ms:
        if m < horizon:
            cdf[m] = follow[m]
    cdf[ms[0] : ms[-1] + 1] = np.maximum.accumulate(np.clip(cdf[ms[0] : ms[-1] + 1], 0, 1 - 1e-9))

    def hazard(a: int) -> float:
        return float(np.clip((cdf[a + 1] - cdf[a]) / (1 - cdf[a]), 0.01, 0.99))

    h_first, h_last = hazard(ms[0]), hazard(ms[-1] - 1)
    for m in range(ms[0] - 1, -1, -1):
        cdf[m] = max(0.0, 1 - (1 - cdf[m + 1]) / (1 - h_first))
    for m in range(ms[-1] + 1, horizon):
        cdf[m] = 1 - (1 - cdf[m - 1]) * (1 - h_last)
    cdf[-1] = 1.0
    return np.diff(np.concatenate([[0.0], cdf]))


def cohort_weights(volumes: pd.DataFrame, delays: np.ndarray, years: list[str]) -> pd.DataFrame:
    """Per force and closing year in `years`: the estimated share of its closures from each
    recording year (columns), the recorded volume of each quarter spread over later quarters by
    `delays`. `volumes` has force, financial_year, quarter, offences (missing quarters are
    filled with the mean of the force's other quarters that year)."""
    all_years = sorted(set(volumes["financial_year"]) | set(years), key=periods.fy_start)
    first = periods.fy_start(all_years[0])
    span = periods.fy_start(all_years[-1]) - first + 1
    labels = [periods.fy_label(first + i) for i in range(span)]
    nq = span * 4
    qi = (volumes["financial_year"].map(periods.fy_start) - first) * 4 + volumes["quarter"] - 1
    v = volumes.assign(qi=qi.astype(int))
    rows = []
    for f, g in v.groupby("force", sort=True):
        vol = np.full(nq, np.nan)
        vol[g["qi"].to_numpy()] = g["offences"].to_numpy(float)
        by_year = vol.reshape(span, 4)
        fill = np.nanmean(np.where(np.isnan(by_year).all(axis=1, keepdims=True), 0.0, by_year), axis=1)
        vol = np.where(np.isnan(by_year), fill[:, None], by_year).ravel()
        # flow[c, Q]: closures in quarter Q from recording quarter c
        flow = np.zeros((nq, nq))
        for d, p in enumerate(delays[:nq]):  # a short panel sees only the first delays
            idx = np.arange(nq - d)
            flow[idx, idx + d] = vol[: nq - d] * p
        by_cohort_year = flow.reshape(span, 4, span, 4).sum(axis=(1, 3))  # (recording year, closing year)
        total = by_cohort_year.sum(axis=0)
        for j, y in enumerate(labels):
            if y in years and total[j] > 0:
                rows.append(
                    {"force": f, "financial_year": y, **dict(zip(labels, by_cohort_year[:, j] / total[j]))}
                )
    return pd.DataFrame(rows)
