"""How far recent years' outcomes have matured, and their expected final charge rate (a nowcast).

On the recorded basis a year's charge rate (charges among the offences recorded in the year)
keeps rising edition after edition as slow investigations close, so a recent year's published
rate is not its final one. From the editions a store holds this module estimates how the charges
of a recording cohort (the offences recorded in one quarter) grow with its age, and projects each
recent force-year to its final charge rate, with an interval. Two methods, by what the store has:

- **editions** (two or more dated editions): a chain ladder. Each pair of successive editions
  shows every cohort's charges at two ages (quarters from the end of its quarter of recording to
  the edition's publication date); the ratio of the sums, pooled over forces, is the development
  factor at that age, and their product from a cohort's age on is its factor to final
  (`Lambda`). A force whose charges have grown faster or slower than that between the editions
  gets a multiplier on its remaining charges, shrunk towards 1 by how much the forces really
  differ (empirical Bayes, DerSimonian-Laird between-force variance on an overdispersed
  Poisson). The interval adds the remaining charges' own noise (overdispersed Poisson) to the
  uncertainty of the factors and of the force's multiplier, the factors' errors taken as fully
  correlated across a year's quarters.
- **one edition** (or undated ones): within the edition, each quarter's outcomes not yet
  assigned are projected to end in a charge at the force-year's share of charges among the
  outcomes assigned so far. This assumes that charges take no longer than other outcomes;
  where they take longer (the method study's `slow_charges`) it projects too low, and the
  pages say which method made the figure.

The method study scores both against the generator's eventual charges (`validate-methods
--battery nowcast`). A year is projected (has a row) when England and Wales' expected remaining
charges are at least `MIN_REMAINING` of its expected final charges.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from analysis import outputs
from analysis.domain import forces as force_registry
from analysis.domain import periods, taxonomy
from analysis.sources.store import UNDATED, Store, editions, load_edition
from analysis.stats.measures import NATIONAL, data_source_label

LEVEL = 0.95
MIN_REMAINING = 0.005  # a year is projected while at least 0.5% of its charges are still to come
MIN_EXPECTED = 2.0  # cells expecting fewer new charges than this do not enter the overdispersion
EDITIONS = "editions"
ONE_EDITION = "one_edition"
METHOD_WORDS = {
    EDITIONS: "chain ladder over the editions held",
    ONE_EDITION: "one edition: outcomes not yet assigned, at the share of charges among those assigned",
}
COLUMNS = list(outputs.NOWCAST.columns)  # the catalogue's, one home
_COHORT = ["force", "financial_year", "quarter"]


@dataclass(frozen=True)
class Edition:
    """One edition's outcomes table and its publication date (YYYY-MM-DD, or `UNDATED`)."""

    date: str
    outcomes: pd.DataFrame


def quarter_index(year: pd.Series, quarter: pd.Series) -> np.ndarray:
    """A running quarter number: 4 x the financial year's first calendar year + quarter - 1."""
    start = year.map(periods.fy_start).to_numpy(int)
    return start * 4 + quarter.to_numpy(int) - 1


def as_at_index(edition: str) -> int:
    """The running quarter number (`quarter_index`) of the financial quarter an edition was
    published in: a cohort's age is this minus its own."""
    d = date.fromisoformat(edition)
    fy = d.year if d.month >= 4 else d.year - 1
    return fy * 4 + ((d.month - 4) % 12) // 3


def cohorts(outcomes: pd.DataFrame, offence: str = taxonomy.STALKING) -> pd.DataFrame:
    """Per force and quarter of recording: offences recorded (the recorded basis over every type),
    charges (type 1) and outcomes not yet assigned (type 0) so far; quarters not published left
    out."""
    code = taxonomy.normalise_offence_code(offence)
    o = outcomes[outcomes["offence_code"] == code]
    t = o["outcome_type"]
    parts = {
        "offences": o["recorded_basis"],
        "charged": o["recorded_basis"].where(t.isin(taxonomy.CHARGED), 0),
        "unassigned": o["recorded_basis"].where(t.isin(taxonomy.NOT_YET_ASSIGNED), 0),
    }
    frame = pd.DataFrame({**{k: o[k] for k in _COHORT}, **parts})
    out = frame.groupby(_COHORT, observed=True).sum(min_count=1).dropna().reset_index()
    out = out[out["offences"] > 0]
    for k in ("offences", "charged", "unassigned"):
        out[k] = out[k].astype(float)
    out["qidx"] = quarter_index(out["financial_year"], out["quarter"])
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Development:
    """The chain ladder's national factors to final by age, their log variances, the
    overdispersion and each force's shrunken multiplier on its remaining charges."""

    to_final: pd.Series  # Lambda(age), indexed by age
    log_var: pd.Series  # var(log Lambda(age))
    phi: float
    multiplier: pd.Series  # per force
    multiplier_var: pd.Series
    tau2: float
    min_age: int


def development(held: Sequence[Edition], offence: str = taxonomy.STALKING) -> Development:
    """The chain ladder from successive dated editions (oldest first)."""
    pairs = []
    for old, new in itertools.pairwise(held):
        step = as_at_index(new.date) - as_at_index(old.date)
        if step <= 0:
            continue
        a, b = cohorts(old.outcomes, offence), cohorts(new.outcomes, offence)
        both = a.merge(b[[*_COHORT, "charged"]], on=_COHORT, suffixes=("", "_new"))
        both["age"] = as_at_index(old.date) - both["qidx"]
        both["step"] = step
        pairs.append(both[["force", "age", "step", "charged", "charged_new"]])
    cells = pd.concat(pairs, ignore_index=True)
    sums = cells.groupby(["age", "step"])[["charged", "charged_new"]].sum()
    sums = sums[sums["charged"] > 0]
    # per age the step with the most charges behind it (successive quarterly editions: 1)
    best = sums.sort_values("charged", ascending=False).reset_index().drop_duplicates("age")
    best = best.set_index("age").sort_index()
    lam = best["charged_new"] / best["charged"]
    added = (best["charged_new"] - best["charged"]).clip(lower=0)
    cells = cells.merge(
        lam.rename("lam").reset_index().assign(step=best["step"].to_numpy()), on=["age", "step"]
    )
    cells["expected"] = cells["charged"] * (cells["lam"] - 1)
    cells["observed"] = cells["charged_new"] - cells["charged"]
    by_force = cells.groupby("force")[["observed", "expected"]].sum()
    phi = _overdispersion(cells, by_force)
    lam_log_var = phi * added / best["charged_new"].clip(lower=1) ** 2
    to_final, log_var = _to_final(lam, lam_log_var, best["step"])
    mult, mult_var, tau2 = _multipliers(by_force, phi)
    return Development(to_final, log_var, phi, mult, mult_var, tau2, int(lam.index.min()))


def _overdispersion(cells: pd.DataFrame, by_force: pd.DataFrame) -> float:
    """Pearson's X2 over dof of the charges added between editions against the force's own
    multiplier times the national development (cells expecting at least MIN_EXPECTED); 1 when
    that is less or there are too few cells."""
    ratio = (by_force["observed"] / by_force["expected"]).where(by_force["expected"] > 0, 1.0)
    c = cells[cells["expected"] >= MIN_EXPECTED]
    fit = c["expected"] * c["force"].map(ratio).clip(lower=0.05)
    dof = len(c) - c["force"].nunique()
    if dof < 5:
        return 1.0
    return max(1.0, float((((c["observed"] - fit) ** 2) / fit).sum() / dof))


def _to_final(lam: pd.Series, log_var: pd.Series, step: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Lambda(age) = lambda(age, k) x Lambda(age + k), from the oldest age down; an age with no
    pair of its own takes the next one's (no development seen there); past the oldest, 1."""
    ages = range(int(lam.index.min()), int(lam.index.max()) + 1)
    to_final: dict[int, float] = {}
    var: dict[int, float] = {}
    for a in reversed(ages):
        if a in lam.index:
            k = int(step[a])
            to_final[a] = float(lam[a]) * to_final.get(a + k, 1.0)
            var[a] = float(log_var[a]) + var.get(a + k, 0.0)
        else:
            to_final[a], var[a] = to_final.get(a + 1, 1.0), var.get(a + 1, 0.0)
    return pd.Series(to_final).sort_index(), pd.Series(var).sort_index()


def _multipliers(by_force: pd.DataFrame, phi: float) -> tuple[pd.Series, pd.Series, float]:
    """Each force's multiplier on its remaining charges (observed over expected new charges
    between editions), shrunk towards 1 with the DerSimonian-Laird between-force variance."""
    e = by_force["expected"].clip(lower=0)
    has = e > 0
    raw = (by_force["observed"] / e).where(has, 1.0)
    v = (phi / e).where(has, np.inf)
    w = (1 / v).where(has, 0.0)
    centre = 1.0  # the national factors are the forces' pooled ratio: their weighted mean is 1
    q = float((w * (raw - centre) ** 2).sum())
    denom = float(w.sum() - (w**2).sum() / w.sum()) if w.sum() > 0 else 0.0
    tau2 = max(0.0, (q - (int(has.sum()) - 1)) / denom) if denom > 0 else 0.0
    b = (tau2 / (tau2 + v)).where(has, 0.0)
    mult = (centre + b * (raw - centre)).clip(lower=0)
    mult_var = (b * v).where(has, tau2)
    return mult, mult_var, tau2


def from_store(st: Store, offence: str = taxonomy.STALKING, level: float = LEVEL) -> pd.DataFrame:
    """The nowcast from every edition a loaded store holds, up to the loaded one (its latest)."""
    held = [e for e in editions(st.path) if e < st.edition] if st.edition != UNDATED else []
    chain = [Edition(e, load_edition(st.path, e).outcomes) for e in held]
    return nowcast([*chain, Edition(st.edition, st.outcomes)], offence, level, st.synthetic)


def nowcast(
    held: Sequence[Edition],
    offence: str = taxonomy.STALKING,
    level: float = LEVEL,
    synthetic: bool = False,
) -> pd.DataFrame:
    """Each force's (and England and Wales') projected years in the latest edition: the charge
    rate as published, the expected final charge rate with its interval, the share of its final
    charges already published and the method (`EDITIONS` with two or more dated editions,
    `ONE_EDITION` otherwise). Columns as `outputs.NOWCAST`."""
    latest = held[-1]
    dated = [e for e in held if e.date != UNDATED]
    coh = cohorts(latest.outcomes, offence)
    if coh.empty:
        return pd.DataFrame(columns=COLUMNS)
    if len(dated) >= 2 and latest.date != UNDATED:
        dev = development(dated, offence)
        parts = _chain_ladder(coh, dev, as_at_index(latest.date))
        method = EDITIONS
        if parts["remaining"].isna().any():  # cohorts younger than any pair shows: one edition's way
            fallback = _one_edition(coh)
            parts = parts.fillna(fallback)
    else:
        parts, method = _one_edition(coh), ONE_EDITION
    table = _years(parts, level)
    table["method"] = method
    table["editions_used"] = len(dated) if method == EDITIONS else 1
    table["edition"] = latest.date
    table["offence_code"] = taxonomy.normalise_offence_code(offence)
    table["force_code"] = table["force"].map({f.name: f.code for f in force_registry.registry()})
    table["data_source"] = data_source_label(synthetic)
    return table[COLUMNS]


def _chain_ladder(coh: pd.DataFrame, dev: Development, as_at: int) -> pd.DataFrame:
    """Per cohort: the expected remaining charges and their variance parts (process, force
    multiplier, national factors) under the chain ladder; NaN for cohorts younger than any
    pair of editions shows."""
    age = as_at - coh["qidx"]
    too_young = age < dev.min_age
    lam = age.clip(upper=int(dev.to_final.index.max()) + 1).map(dev.to_final).fillna(1.0)
    log_var = age.map(dev.log_var).fillna(0.0)
    mult = coh["force"].map(dev.multiplier).fillna(1.0)
    mult_var = coh["force"].map(dev.multiplier_var).fillna(dev.tau2)
    base = coh["charged"] * (lam - 1)
    out = coh[[*_COHORT, "offences", "charged"]].copy()
    out["remaining"] = base * mult
    out["process_var"] = dev.phi * out["remaining"]
    out["mult_sd"] = base * np.sqrt(mult_var)  # shared by the force's quarters
    out["factor_sd"] = coh["charged"] * mult * lam * np.sqrt(log_var)  # shared by every cohort
    out["multiplier"] = mult
    out.loc[too_young, ["remaining", "process_var", "mult_sd", "factor_sd"]] = np.nan
    return out


def _one_edition(coh: pd.DataFrame) -> pd.DataFrame:
    """Per cohort: the outcomes not yet assigned times the force-year's share of charges among
    the outcomes assigned so far, and the variance parts (the share's own uncertainty as the
    force-year's, shared by its quarters)."""
    assigned = coh["offences"] - coh["unassigned"]
    key = ["force", "financial_year"]
    share = coh.groupby(key)["charged"].transform("sum") / assigned.groupby([coh[k] for k in key]).transform(
        "sum"
    )
    share = share.fillna(0.0).clip(0, 1)
    out = coh[[*_COHORT, "offences", "charged"]].copy()
    out["remaining"] = coh["unassigned"] * share
    out["process_var"] = coh["unassigned"] * share * (1 - share)
    sum_assigned = assigned.groupby([coh[k] for k in key]).transform("sum").clip(lower=1)
    out["mult_sd"] = coh["unassigned"] * np.sqrt(share * (1 - share) / sum_assigned)
    out["factor_sd"] = 0.0
    out["multiplier"] = np.nan
    return out


def _years(parts: pd.DataFrame, level: float) -> pd.DataFrame:
    """Per force and year, and for England and Wales, the expected final charges with their
    interval, for the years still maturing."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    key = ["financial_year", "force"]
    g = parts.groupby(key)
    forces = pd.DataFrame(
        {
            "quarters": g.size(),
            "offences": g["offences"].sum(),
            "charged": g["charged"].sum(),
            "remaining": g["remaining"].sum(),
            "process_var": g["process_var"].sum(),
            "mult_sd": g["mult_sd"].sum(),
            "factor_sd": g["factor_sd"].sum(),
            "multiplier": g["multiplier"].first(),
        }
    ).reset_index()
    forces["var"] = forces["process_var"] + forces["mult_sd"] ** 2 + forces["factor_sd"] ** 2
    n = forces.groupby("financial_year")
    national = pd.DataFrame(
        {
            "quarters": n["quarters"].sum(),
            "offences": n["offences"].sum(),
            "charged": n["charged"].sum(),
            "remaining": n["remaining"].sum(),
            # forces' multipliers independent; the national factors shared by every force
            "var": n["process_var"].sum()
            + n["mult_sd"].apply(lambda s: float((s**2).sum()))
            + n["factor_sd"].sum() ** 2,
            "multiplier": np.nan,
        }
    ).reset_index()
    national["force"] = NATIONAL
    maturing = national.loc[
        national["remaining"] >= MIN_REMAINING * (national["charged"] + national["remaining"]),
        "financial_year",
    ]
    table = pd.concat([forces, national], ignore_index=True)
    table = table[table["financial_year"].isin(set(maturing))]
    expected = table["charged"] + table["remaining"]
    sd = np.sqrt(table["var"].clip(lower=0))
    out = pd.DataFrame(
        {
            "financial_year": table["financial_year"],
            "force": table["force"],
            "quarters": table["quarters"].astype(int),
            "offences_recorded_outcomes_file": table["offences"],
            "charged_recorded": table["charged"],
            "charge_rate_recorded": table["charged"] / table["offences"],
            "charged_expected": expected,
            "charged_expected_low": np.maximum(table["charged"], expected - z * sd),
            "charged_expected_high": expected + z * sd,
            "share_published": (table["charged"] / expected).where(expected > 0, 1.0),
            "force_multiplier": table["multiplier"],
        }
    )
    for k in ("", "_low", "_high"):
        out[f"charge_rate_expected{k}"] = out[f"charged_expected{k}"] / out["offences_recorded_outcomes_file"]
    out["interval"] = f"{level:.0%}"
    order = {n: i for i, n in enumerate([*force_registry.names(), NATIONAL])}
    out = out.sort_values(["financial_year", "force"], key=lambda s: s.map(order) if s.name == "force" else s)
    return out.reset_index(drop=True)
