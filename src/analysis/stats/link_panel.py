"""The force-year panel the link estimators use: counts on both bases, the dose, and flags for
the counting-rule periods and censoring."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.domain import forces, periods, taxonomy
from analysis.errors import InputError

BREAK = taxonomy.RECLASSIFICATION_BREAK.first_year  # "2020/21"
PRE = "2019/20"
YEAR_KEY = ["force", "financial_year"]
QUARTER_KEY = [*YEAR_KEY, "quarter"]


def _rule_period(year: str) -> str:
    """The counting-rule period a financial year falls in (labels from the taxonomy)."""
    label = "before 8Q"
    for b in taxonomy.COUNTING_RULE_BREAKS:
        if periods.fy_start(year) >= periods.fy_start(b.first_year):
            label = f"from {b.first_year}: {b.label}"
    return label


def _quarter_sums(o: pd.DataFrame) -> pd.DataFrame:
    """Per force, year and quarter, one grouping of the outcome rows for everything the panel
    needs: closed-basis charged and closed, recorded-basis charged, assigned and all offences
    (each missing when no row of it has a count), any closed-basis count, and the recorded-basis
    counts of `quarterly_recorded_basis` (types outside a group count 0). The panel is rebuilt
    for every offence and replicate in the method study, where separate groupings were most of
    its cost."""
    t = o["outcome_type"].to_numpy()
    # (np.isin needs sequences: the taxonomy's groups are sets)
    charged, closed, nya = (
        np.isin(t, list(group)) for group in (taxonomy.CHARGED, taxonomy.CLOSED, taxonomy.NOT_YET_ASSIGNED)
    )
    c, r = (_values_and_mask(o[col]) for col in ("closed_basis", "recorded_basis"))
    fi, force_names = pd.factorize(o["force"], sort=True)
    yi, year_names = pd.factorize(o["financial_year"], sort=True)
    qi = o["quarter"].to_numpy(int) - 1
    cell = (fi * len(year_names) + yi) * 4 + qi  # the grouping's sorted order
    size = len(force_names) * len(year_names) * 4
    present = np.bincount(cell, minlength=size) > 0

    def total(
        values: np.ndarray, known: np.ndarray, rows: np.ndarray | None = None
    ) -> pd.arrays.IntegerArray:
        # sum(min_count=1): missing where no row of the group has a count
        use = known if rows is None else known & rows
        sums = np.bincount(cell, np.where(use, values, 0.0), size)[present]
        counts = np.bincount(cell, use, size)[present]
        return pd.arrays.IntegerArray(sums.astype(np.int64), counts == 0)

    def zero_outside(values: np.ndarray, known: np.ndarray, rows: np.ndarray) -> pd.arrays.IntegerArray:
        # types outside `rows` count 0, so only a group whose own rows are all missing is missing
        return total(np.where(rows, values, 0.0), known | ~rows)

    every = np.ones(len(t), bool)
    columns = {
        "charged": total(*c, charged),
        "closed": total(*c, closed),
        "charged_recorded": total(*r, charged),
        "assigned_recorded": total(*r, closed),
        "offences_recorded_basis": total(*r, every),
        "any_closed_basis": total(*c, every),
        "q_not_yet_assigned": zero_outside(*r, nya),
        "q_charged": zero_outside(*r, charged),
        "q_assigned": zero_outside(*r, closed),
    }
    where = np.flatnonzero(present)
    index = pd.MultiIndex.from_arrays(
        [
            force_names[where // (len(year_names) * 4)],
            year_names[where // 4 % len(year_names)],
            where % 4 + 1,
        ],
        names=QUARTER_KEY,
    )
    return pd.DataFrame(columns, index=index)


def _values_and_mask(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A count column as floats (exact below 2^53, far above any plausible count) and where it is known."""
    known = col.notna().to_numpy()
    return col.to_numpy(float, na_value=0.0), known


def _year_counts(by_quarter: pd.DataFrame) -> pd.DataFrame:
    """Per force-year from `_quarter_sums`: charged and closed on the closed basis, charged,
    assigned and all offences on the recorded basis, and the quarters with closed-basis counts."""
    cols = ["charged", "closed", "charged_recorded", "assigned_recorded", "offences_recorded_basis"]
    g = by_quarter[cols].groupby(level=YEAR_KEY).sum(min_count=1)
    # 8Q and 8L rows for one force-quarter come from one file, so a quarter with any count has all
    g["quarters"] = by_quarter["any_closed_basis"].notna().groupby(level=YEAR_KEY).sum().astype(int)
    return g.reset_index()


def _quarterly_from_sums(by_quarter: pd.DataFrame) -> pd.DataFrame:
    """`quarterly_recorded_basis`'s table from `_quarter_sums`."""
    names = {
        "offences_recorded_basis": "offences",
        "q_not_yet_assigned": "not_yet_assigned",
        "q_charged": "charged",
        "q_assigned": "assigned",
    }
    return by_quarter[list(names)].rename(columns=names).reset_index()


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
    by_quarter = _quarter_sums(o)
    g = _year_counts(by_quarter)
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
    quarterly = _quarterly_from_sums(by_quarter)
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
    for c in share_cols if unknown.any() else []:
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
    grouped = mature.groupby(YEAR_KEY)
    out = grouped[["charged", "assigned"]].sum()
    out.columns = ["charged_recorded_mature", "assigned_recorded_mature"]
    out["recorded_quarters_mature"] = grouped.size()  # one row per force-quarter
    return out.reset_index()


def quarterly_recorded_basis(o: pd.DataFrame) -> pd.DataFrame:
    """Per force, year and quarter on the recorded basis: offences (all types, 0 included),
    not yet assigned (type 0), charged (type 1) and assigned (types 1-22)."""
    return _quarterly_from_sums(_quarter_sums(o))


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
    year_index = {y: periods.fy_start(y) - first for y in set(volumes["financial_year"])}
    qi = (volumes["financial_year"].map(year_index) * 4 + volumes["quarter"] - 1).to_numpy(int)
    fi, names = pd.factorize(volumes["force"], sort=True)
    vol = np.full((len(names), nq), np.nan)
    vol[fi, qi] = volumes["offences"].to_numpy(float)
    by_year = vol.reshape(len(names), span, 4)
    empty = np.isnan(by_year).all(axis=2, keepdims=True)
    fill = np.nanmean(np.where(empty, 0.0, by_year), axis=2, keepdims=True)
    vol = np.where(np.isnan(by_year), fill, by_year).reshape(len(names), nq)
    # spread[c, Q]: the share of recording quarter c's offences closed in quarter Q (a short
    # panel sees only the first delays)
    spread = np.zeros((nq, nq))
    for d, p in enumerate(delays[:nq]):
        idx = np.arange(nq - d)
        spread[idx, idx + d] = p
    flow = vol[:, :, None] * spread[None]  # (force, recording quarter, closing quarter)
    by_cohort_year = flow.reshape(len(names), span, 4, span, 4).sum(
        axis=(2, 4)
    )  # (force, recording year, closing year)
    total = by_cohort_year.sum(axis=1)  # (force, closing year)
    keep = (total > 0) & np.isin(labels, list(years))[None, :]
    f_idx, y_idx = np.nonzero(keep)  # force-major, years in order: the rows' order
    shares = by_cohort_year[f_idx, :, y_idx] / total[f_idx, y_idx][:, None]
    out = pd.DataFrame(shares, columns=labels)
    out.insert(0, "financial_year", np.asarray(labels, dtype=object)[y_idx])
    out.insert(0, "force", np.asarray(names, dtype=object)[f_idx])
    return out
