"""Between/within decomposition of the national change in a rate between two years.

The national rate is R = sum_f s_f r_f, with s_f the force's share of the denominator and r_f its
rate. Kitagawa's midpoint decomposition splits R2 - R1 exactly into
    between (mix)   = sum_f (s2_f - s1_f) (r1_f + r2_f) / 2
    within (rate)   = sum_f (r2_f - r1_f) (s1_f + s2_f) / 2
A force present in only one year contributes to the mix term with a rate of 0 in the other.
Intervals come from a parametric bootstrap: each force's count is redrawn as Binomial(n, r) with
its denominators fixed (sampling uncertainty in the rates; the forces are the population).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError


@dataclass
class Decomposition:
    """The national change, its exact split, per-force contributions, and bootstrap intervals."""

    summary: pd.DataFrame  # one row per component: estimate, ci_low, ci_high
    forces: pd.DataFrame  # per-force contributions


def _parts(x1, n1, x2, n2):
    s1, s2 = n1 / n1.sum(), n2 / n2.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        r1 = np.where(n1 > 0, x1 / np.where(n1 > 0, n1, 1), 0.0)
        r2 = np.where(n2 > 0, x2 / np.where(n2 > 0, n2, 1), 0.0)
    between = (s2 - s1) * (r1 + r2) / 2
    within = (r2 - r1) * (s1 + s2) / 2
    return r1, r2, s1, s2, between, within


def decompose(
    panel: pd.DataFrame,
    year_from: str,
    year_to: str,
    count: str = "charged_closed",
    n: str = "outcomes_closed",
    unit: str = "force",
    reps: int = 2000,
    seed: int = 3,
    level: float = 0.95,
) -> Decomposition:
    """Split the change in the national rate count/n between two years into mix and rate parts."""
    years = set(panel["financial_year"])
    for y in (year_from, year_to):
        if y not in years:
            raise InputError(f"decomposition: year {y} is outside the data ({min(years)} to {max(years)}).")
    a = panel[panel["financial_year"] == year_from].set_index(unit)[[count, n]]
    b = panel[panel["financial_year"] == year_to].set_index(unit)[[count, n]]
    idx = a.index.union(b.index)
    a, b = a.reindex(idx).fillna(0).astype(float), b.reindex(idx).fillna(0).astype(float)
    x1, n1, x2, n2 = a[count].to_numpy(), a[n].to_numpy(), b[count].to_numpy(), b[n].to_numpy()
    x1, x2 = np.clip(x1, 0, n1), np.clip(x2, 0, n2)  # negative corrections cannot be redrawn
    r1, r2, s1, s2, between, within = _parts(x1, n1, x2, n2)
    total = x2.sum() / n2.sum() - x1.sum() / n1.sum()
    rng = np.random.default_rng(seed)
    boot = np.empty((reps, 3))
    for i in range(reps):
        bx1, bx2 = rng.binomial(n1.astype(int), r1), rng.binomial(n2.astype(int), r2)
        _, _, _, _, bb, bw = _parts(bx1, n1, bx2, n2)
        boot[i] = (bb.sum() + bw.sum(), bb.sum(), bw.sum())
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    est = (total, between.sum(), within.sum())
    summary = pd.DataFrame(
        {
            "component": ["total change", "between forces (mix)", "within forces (rate)"],
            "year_from": year_from,
            "year_to": year_to,
            "estimate": est,
            "ci_low": np.quantile(boot, lo_q, axis=0),
            "ci_high": np.quantile(boot, hi_q, axis=0),
            "share_of_change": [
                1.0,
                est[1] / total if total else np.nan,
                est[2] / total if total else np.nan,
            ],
        }
    )
    summary["rate_from"], summary["rate_to"] = x1.sum() / n1.sum(), x2.sum() / n2.sum()
    per = pd.DataFrame(
        {
            unit: idx,
            "share_from": s1,
            "share_to": s2,
            "rate_from": r1,
            "rate_to": r2,
            "between": between,
            "within": within,
        }
    )
    per["total"] = per["between"] + per["within"]
    return Decomposition(summary, per.sort_values("total").reset_index(drop=True))
