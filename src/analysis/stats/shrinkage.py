"""Empirical-Bayes force rates on the logit scale, shrinkage factors, and rank intervals.

Each force's observed logit rate y_i (with a 0.5 continuity correction) has sampling variance
v_i = 1/(x_i + 0.5) + 1/(n_i - x_i + 0.5). Between-force variance tau^2 is estimated by
DerSimonian-Laird or Paule-Mandel; the shrunken estimate is
    theta_i = B_i * mu + (1 - B_i) * y_i,   B_i = v_i / (v_i + tau^2),
with posterior variance (1 - B_i) v_i + B_i^2 / sum(w) (the second term carries the uncertainty
in mu). Ranks are simulated from the posteriors; rankability is tau^2 / (tau^2 + median v_i)
(Lingsma et al. 2010): near 1 the ranking reflects real differences, near 0 mostly chance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit, logit

from analysis.errors import InputError
from analysis.stats.measures import checked_counts, proportion_ci

TAU2_METHODS = ("dl", "pm")


def tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    """DerSimonian-Laird moment estimate of the between-unit variance."""
    w = 1 / v
    mu = np.sum(w * y) / w.sum()
    q = np.sum(w * (y - mu) ** 2)
    c = w.sum() - np.sum(w**2) / w.sum()
    return float(max(0.0, (q - (len(y) - 1)) / c))


def tau2_pm(y: np.ndarray, v: np.ndarray) -> float:
    """Paule-Mandel estimate: tau^2 such that the generalised Q equals its degrees of freedom."""

    def q_minus_df(t2: float) -> float:
        w = 1 / (v + t2)
        mu = np.sum(w * y) / w.sum()
        return float(np.sum(w * (y - mu) ** 2) - (len(y) - 1))

    if q_minus_df(0.0) <= 0:
        return 0.0
    hi = max(1.0, np.var(y) * 10)
    while q_minus_df(hi) > 0:
        hi *= 10
    return float(optimize.brentq(q_minus_df, 0.0, hi, xtol=1e-12))


@dataclass
class ShrinkageResult:
    """Raw and shrunken rates per unit, ranks, and the summary (mu, tau^2, rankability)."""

    units: pd.DataFrame
    summary: dict = field(default_factory=dict)


def shrink(
    frame: pd.DataFrame,
    unit: str = "force",
    count: str = "charged_closed",
    n: str = "outcomes_closed",
    method: str = "dl",
    level: float = 0.95,
    draws: int = 4000,
    seed: int = 2020,
) -> ShrinkageResult:
    """Empirical-Bayes shrinkage of unit proportions with simulated rank intervals.

    Rank 1 is the highest rate. Units with n < 1 are left out (listed in summary['excluded']).
    """
    if method not in TAU2_METHODS:
        raise InputError(f"shrinkage: method {method!r}; use one of {', '.join(TAU2_METHODS)}.")
    d = checked_counts(frame, unit, count, n, "shrinkage", InputError).rename(columns={"count": "x"})
    excluded = d.loc[d["n"] < 1, "unit"].astype(str).tolist()
    d = d[d["n"] >= 1].reset_index(drop=True)
    if len(d) < 3:
        raise InputError(f"shrinkage: need at least 3 units with n >= 1, have {len(d)}.")
    x, m = d["x"].to_numpy(), d["n"].to_numpy()
    y = logit((x + 0.5) / (m + 1))
    v = 1 / (x + 0.5) + 1 / (m - x + 0.5)
    tau2 = tau2_dl(y, v) if method == "dl" else tau2_pm(y, v)
    w = 1 / (v + tau2)
    mu = float(np.sum(w * y) / w.sum())
    b = v / (v + tau2) if tau2 > 0 else np.ones_like(v)
    theta = b * mu + (1 - b) * y
    post_var = (1 - b) * v + b**2 / w.sum()
    zq = stats.norm.ppf(0.5 + level / 2)
    units = pd.DataFrame({unit: d["unit"], "n": m, "count": x, "raw_rate": x / m})
    units["raw_low"], units["raw_high"] = proportion_ci(x, m, level=level)
    units["shrinkage_factor"] = b
    units["shrunk_rate"] = expit(theta)
    units["shrunk_low"] = expit(theta - zq * np.sqrt(post_var))
    units["shrunk_high"] = expit(theta + zq * np.sqrt(post_var))
    rng = np.random.default_rng(seed)
    sims = rng.normal(theta, np.sqrt(post_var), size=(draws, len(theta)))
    ranks = (-sims).argsort(axis=1).argsort(axis=1) + 1  # rank 1 = highest
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    units["rank_point"] = (-theta).argsort().argsort() + 1
    units["rank_median"] = np.median(ranks, axis=0)
    units["rank_low"] = np.quantile(ranks, lo_q, axis=0, method="lower").astype(int)
    units["rank_high"] = np.quantile(ranks, hi_q, axis=0, method="higher").astype(int)
    units["prob_top_quarter"] = (ranks <= max(1, len(theta) // 4)).mean(axis=0)
    units["prob_bottom_quarter"] = (ranks > len(theta) - max(1, len(theta) // 4)).mean(axis=0)
    units = units.sort_values("shrunk_rate", ascending=False, kind="stable").reset_index(drop=True)
    rankability = float(tau2 / (tau2 + np.median(v))) if tau2 > 0 else 0.0
    summary = {
        "method": method,
        "mu_logit": mu,
        "pooled_rate": float(expit(mu)),
        "tau2": tau2,
        "tau": float(np.sqrt(tau2)),
        "rankability": rankability,
        "units": len(units),
        "excluded": excluded,
        "level": level,
        "draws": draws,
        "seed": seed,
        "tau2_dl": tau2_dl(y, v),
        "tau2_pm": tau2_pm(y, v),
    }
    return ShrinkageResult(units, summary)
