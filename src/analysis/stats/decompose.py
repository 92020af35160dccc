"""Between/within decomposition of the national change in a rate between two years.

The national rate is R = sum_u s_u r_u, with s_u a unit's (force's, or offence's) share of the
denominator and r_u its rate. Kitagawa's midpoint decomposition splits R2 - R1 exactly into
    between (mix)   = sum_u (s2_u - s1_u) (r1_u + r2_u) / 2
    within (rate)   = sum_u (r2_u - r1_u) (s1_u + s2_u) / 2
Choices, each so that the terms mean what their names say:
- A unit present in one year only (entering or exiting) has no rate change to speak of: it
  takes its one observed rate in both years, so its whole contribution is mix (s r), none rate.
- A force-year with outcomes published for fewer than four quarters is annualised (counts and
  denominator times 4 / quarters) before shares are taken, so a missing quarter cannot move a
  force's share and flip the mix term (Greater Manchester 2019/20 holds one quarter). The
  summary's national rates are then of the annualised panel, and the rows say which were.
- Intervals come from a parametric bootstrap of each unit's count with its denominator fixed
  (the units are the population; the uncertainty is in the rates). The draws are beta-binomial
  with the overdispersion phi measured from quarter-to-quarter variation within force-years
  (`quarterly_dispersion`), not binomial: investigations cluster (one suspect, several
  offences), and binomial draws would understate the spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.domain import taxonomy
from analysis.errors import InputError

COMPONENTS = ("total change", "between (mix)", "within (rate)")


@dataclass
class Decomposition:
    """The national change, its exact split, per-unit contributions, and bootstrap intervals."""

    summary: pd.DataFrame  # one row per component: estimate, ci_low, ci_high
    forces: pd.DataFrame  # per-unit contributions (named for the usual unit, forces)


def _rates(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.divide(x, n, out=np.full(x.shape, np.nan), where=n > 0)


def _parts(x1, n1, x2, n2) -> tuple[np.ndarray, ...]:
    """Shares, rates (a one-year unit's rate carried to the other year) and the two terms; the
    last axis is the unit, so bootstrap draws (reps x units) go through in one call."""
    s1 = n1 / n1.sum(axis=-1, keepdims=True)
    s2 = n2 / n2.sum(axis=-1, keepdims=True)
    r1, r2 = _rates(x1, n1), _rates(x2, n2)
    r1, r2 = np.where(np.isnan(r1), r2, r1), np.where(np.isnan(r2), r1, r2)
    r1, r2 = np.nan_to_num(r1), np.nan_to_num(r2)  # a unit absent in both years adds nothing
    between = (s2 - s1) * (r1 + r2) / 2
    within = (r2 - r1) * (s1 + s2) / 2
    return r1, r2, s1, s2, between, within


def _draw(rng: np.random.Generator, n: np.ndarray, r: np.ndarray, phi: float, reps: int) -> np.ndarray:
    """Counts redrawn (reps x units): beta-binomial with variance phi times the binomial's,
    binomial when phi = 1."""
    size = np.rint(n).astype(np.int64)
    p = np.broadcast_to(r, (reps, len(r)))
    if phi > 1:
        # intra-cluster correlation giving variance factor phi = 1 + (n - 1) rho
        rho = np.clip((phi - 1) / np.maximum(size - 1, 1), 1e-9, 1 - 1e-9)
        inner = (r > 0) & (r < 1)
        conc = 1 / rho - 1
        a = np.where(inner, r * conc, 1.0)
        b = np.where(inner, (1 - r) * conc, 1.0)
        beta = rng.beta(np.broadcast_to(a, p.shape), np.broadcast_to(b, p.shape))
        p = np.where(inner, beta, p)
    return rng.binomial(np.broadcast_to(size, p.shape), p).astype(float)


def _year(
    panel: pd.DataFrame, year: str, unit: str, count: str, n: str, quarters: str | None
) -> pd.DataFrame:
    """One year's units with count and denominator, annualised where quarters are missing."""
    rows = panel[panel["financial_year"] == year].set_index(unit)
    out = rows[[count, n]].astype(float).rename(columns={count: "x", n: "n"})
    q = rows[quarters].astype(float) if quarters and quarters in rows else pd.Series(4.0, index=rows.index)
    factor = np.where((q > 0) & (q < 4), 4 / q.where(q > 0, 4), 1.0)
    out["x"], out["n"] = out["x"] * factor, out["n"] * factor
    out["quarters"] = q
    out.loc[out["n"] <= 0, ["x", "n"]] = np.nan  # nothing closed: absent that year
    return out


def decompose(
    panel: pd.DataFrame,
    year_from: str,
    year_to: str,
    count: str = "charged_closed",
    n: str = "outcomes_closed",
    unit: str = "force",
    quarters: str | None = "quarters_with_outcomes",
    phi: float = 1.0,
    reps: int = 2000,
    seed: int = 3,
    level: float = 0.95,
) -> Decomposition:
    """Split the change in the national rate count/n between two years into mix and rate parts."""
    years = set(panel["financial_year"])
    for y in (year_from, year_to):
        if y not in years:
            raise InputError(f"decomposition: year {y} is outside the data ({min(years)} to {max(years)}).")
    if not phi >= 1:
        raise InputError(f"decomposition: phi {phi} must be 1 (binomial) or more.")
    a = _year(panel, year_from, unit, count, n, quarters)
    b = _year(panel, year_to, unit, count, n, quarters)
    idx = a.index.union(b.index)
    a, b = a.reindex(idx), b.reindex(idx)
    n1, n2 = a["n"].fillna(0).to_numpy(), b["n"].fillna(0).to_numpy()
    # negative corrections cannot be redrawn, nor make a rate below 0
    x1, x2 = np.clip(a["x"].fillna(0).to_numpy(), 0, n1), np.clip(b["x"].fillna(0).to_numpy(), 0, n2)
    r1, r2, s1, s2, between, within = _parts(x1, n1, x2, n2)
    rate_from, rate_to = x1.sum() / n1.sum(), x2.sum() / n2.sum()
    total = rate_to - rate_from

    rng = np.random.default_rng(seed)
    bx1, bx2 = _draw(rng, n1, r1, phi, reps), _draw(rng, n2, r2, phi, reps)
    *_, bb, bw = _parts(np.where(n1 > 0, bx1, 0), n1, np.where(n2 > 0, bx2, 0), n2)
    boot = np.column_stack([bb.sum(axis=1) + bw.sum(axis=1), bb.sum(axis=1), bw.sum(axis=1)])
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    est = (total, between.sum(), within.sum())
    summary = pd.DataFrame(
        {
            "unit": unit,
            "component": list(COMPONENTS),
            "year_from": year_from,
            "year_to": year_to,
            "estimate": est,
            "ci_low": np.quantile(boot, lo_q, axis=0),
            "ci_high": np.quantile(boot, hi_q, axis=0),
            "share_of_change": [1.0, *(e / total if total else np.nan for e in est[1:])],
        }
    )
    summary["rate_from"], summary["rate_to"], summary["phi"] = rate_from, rate_to, phi
    annualised = [
        f"{u} {y} ({int(q)} of 4 quarters)"
        for y, t in ((year_from, a), (year_to, b))
        for u, q in t["quarters"].dropna().items()
        if 0 < q < 4
    ]
    summary["annualised"] = "; ".join(annualised)
    per = pd.DataFrame(
        {
            unit: idx,
            "present": np.select(
                [(n1 > 0) & (n2 > 0), n1 > 0], ["both years", f"{year_from} only"], f"{year_to} only"
            ),
            "quarters_from": a["quarters"].to_numpy(),
            "quarters_to": b["quarters"].to_numpy(),
            "share_from": s1,
            "share_to": s2,
            "rate_from": r1,
            "rate_to": r2,
            "between": between,
            "within": within,
        }
    )
    per["total"] = per["between"] + per["within"]
    return Decomposition(summary, per.sort_values("total", kind="stable").reset_index(drop=True))


def quarterly_dispersion(
    outcomes: pd.DataFrame,
    offence: str,
    years: tuple[str, ...],
    charged: frozenset[int] = taxonomy.CHARGED,
    closed: frozenset[int] = taxonomy.CLOSED,
) -> float:
    """Overdispersion of the closed-basis charge rate: the pooled Pearson chi-square of quarterly
    rates about each force-year's rate, over its degrees of freedom (quarters - 1); 1 if the data
    show none. Measures how much more than binomial a force's rate varies for a fixed force."""
    d = outcomes[(outcomes["offence_code"] == offence) & outcomes["financial_year"].isin(years)]
    key = ["force", "financial_year", "quarter"]
    n = d[d["outcome_type"].isin(closed)].groupby(key)["closed_basis"].sum(min_count=1)
    x = d[d["outcome_type"].isin(charged)].groupby(key)["closed_basis"].sum(min_count=1)
    q = pd.concat([x.rename("x"), n.rename("n")], axis=1).dropna().astype(float)
    q = q[(q["n"] > 0) & (q["x"] >= 0) & (q["x"] <= q["n"])]
    fy = q.groupby(level=["force", "financial_year"]).agg(x=("x", "sum"), n=("n", "sum"), k=("n", "size"))
    r = (fy["x"] / fy["n"]).reindex(q.index.droplevel("quarter")).to_numpy()
    ok = (r > 0) & (r < 1)
    xq, nq, rq = q["x"].to_numpy()[ok], q["n"].to_numpy()[ok], r[ok]
    chi2 = ((xq - nq * rq) ** 2 / (nq * rq * (1 - rq))).sum()
    df = (fy.loc[(fy["x"] > 0) & (fy["x"] < fy["n"]), "k"] - 1).sum()
    return float(max(1.0, chi2 / df)) if df > 0 else 1.0


def by_offence(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    year_from: str,
    year_to: str,
    codes: tuple[str, ...] = (taxonomy.STALKING, taxonomy.HARASSMENT),
    phi: float = 1.0,
    reps: int = 2000,
) -> Decomposition | None:
    """The change in the charge rate of the offences together (stalking and harassment by
    default), split into mix between offences (the April 2020 reclassification moved cases from
    harassment to stalking) and rate within each; None when the store lacks an offence or year."""
    from analysis.stats.measures import force_year, national_year

    if not set(codes) <= set(outcomes["offence_code"]):
        return None
    national = [
        national_year(force_year(outcomes, recorded, code)).assign(offence_code=code) for code in codes
    ]
    panel = pd.concat(national, ignore_index=True)
    if not {year_from, year_to} <= set(panel["financial_year"]):
        return None
    return decompose(panel, year_from, year_to, unit="offence_code", quarters=None, phi=phi, reps=reps)
