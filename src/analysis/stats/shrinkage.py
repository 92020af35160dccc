"""Shrunken force rates on the logit scale, shrinkage factors, and rank intervals.

Each force's observed logit rate y_i (with a 0.5 continuity correction) has sampling variance
v_i = 1/(x_i + 0.5) + 1/(n_i - x_i + 0.5), and the forces' true logits theta_i ~ N(mu, tau^2).
Given mu and tau^2 the shrunken estimate is
    theta_i = B_i * mu + (1 - B_i) * y_i,   B_i = v_i / (v_i + tau^2).
Method "hb" (the default) is the hierarchical normal model with a flat prior on mu and a uniform
prior on tau (Gelman 2006; Gelman et al., Bayesian Data Analysis, ch. 5): tau's posterior is
computed exactly on a grid, and the draws of tau, then mu given tau, then every theta_i given
both carry the uncertainty in tau^2 and in the overall mean into the intervals, and into the rank
draws, which share each draw's mu and tau (plug-in ranks treat forces as independent). Methods
"dl" and "pm" plug in the DerSimonian-Laird or Paule-Mandel estimate of tau^2 instead (empirical
Bayes: intervals too narrow when tau^2 is poorly known). Rankability is
tau^2 / (tau^2 + median v_i) at the posterior median of tau^2 (Lingsma et al. 2010): near 1 the
ranking reflects real differences, near 0 mostly chance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit, logit

from analysis.errors import InputError
from analysis.stats.measures import checked_counts, proportion_ci

TAU2_METHODS = ("hb", "dl", "pm")
TAU_GRID = 600  # grid points for the posterior of tau


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


def tau_posterior(y: np.ndarray, v: np.ndarray, grid: int = TAU_GRID) -> tuple[np.ndarray, np.ndarray]:
    """(tau grid, posterior probabilities) under flat priors on mu and tau: p(tau | y) is
    proportional to V_mu^(1/2) prod (v_i + tau^2)^(-1/2) exp(-(y_i - mu_hat)^2 / 2(v_i + tau^2))."""
    top = max(3 * float(np.std(y)), 4 * np.sqrt(tau2_dl(y, v)), 0.5)
    tau = (np.arange(grid) + 0.5) * top / grid  # cell midpoints: tau = 0 has no width
    s = v[None, :] + tau[:, None] ** 2
    w = 1 / s
    mu = (w * y).sum(axis=1) / w.sum(axis=1)
    log_p = (
        -0.5 * np.log(w.sum(axis=1))
        - 0.5 * np.log(s).sum(axis=1)
        - 0.5 * (w * (y - mu[:, None]) ** 2).sum(axis=1)
    )
    p = np.exp(log_p - log_p.max())
    return tau, p / p.sum()


def _tau2_grid(y: np.ndarray, v: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray, float]:
    """tau^2 values with their probabilities (one value, probability 1, for a plug-in method),
    and the width of a grid cell in tau (0 for a plug-in)."""
    if method == "hb":
        tau, p = tau_posterior(y, v)
        return tau**2, p, float(tau[1] - tau[0])
    return np.array([tau2_dl(y, v) if method == "dl" else tau2_pm(y, v)]), np.ones(1), 0.0


def _conditional(y: np.ndarray, v: np.ndarray, t2: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each tau^2 (rows): mu's mean and sd given tau^2, and each unit's shrinkage factor."""
    w = 1 / (v[None, :] + t2[:, None])
    mu_hat = (w * y).sum(axis=1) / w.sum(axis=1)
    b = v[None, :] / (v[None, :] + t2[:, None])
    return mu_hat, 1 / np.sqrt(w.sum(axis=1)), b


def _draws(y: np.ndarray, v: np.ndarray, grid: tuple, draws: int, rng: np.random.Generator):
    """Joint draws (draws x units) of the true logits, and the draws of tau^2 and mu."""
    t2_grid, p, width = grid
    tau = np.sqrt(t2_grid)[rng.choice(len(p), size=draws, p=p)]
    t2 = (tau + rng.uniform(-width / 2, width / 2, draws)) ** 2 if width else tau**2
    mu_hat, mu_sd, b = _conditional(y, v, t2)
    mu = mu_hat + mu_sd * rng.standard_normal(draws)
    # given tau^2 and mu: theta_i ~ N(b mu + (1 - b) y_i, (1 - b) v_i); b = 1 pools completely
    theta = b * mu[:, None] + (1 - b) * y + np.sqrt((1 - b) * v) * rng.standard_normal(b.shape)
    return theta, t2, mu


@dataclass(frozen=True)
class Posterior:
    """The hierarchical normal model's posterior for units with estimates y_i and sampling
    variances v_i: joint draws of the true values, the exact posterior means, mu, tau^2."""

    sims: np.ndarray  # draws x units
    tau2_draws: np.ndarray
    theta: np.ndarray  # posterior means, summed over the tau grid (no simulation noise)
    shrinkage: np.ndarray  # each unit's mean shrinkage factor B_i
    mu: float
    tau2: float  # posterior median


def normal_hierarchy(
    y: np.ndarray, v: np.ndarray, method: str = "hb", draws: int = 4000, seed: int = 2020
) -> Posterior:
    """y_i ~ N(theta_i, v_i), theta_i ~ N(mu, tau^2), with tau^2 from `method` (see the module
    docstring); the one home of the model for force rates and for the link's force gaps."""
    grid = _tau2_grid(y, v, method)
    sims, t2_draws, _ = _draws(y, v, grid, draws, np.random.default_rng(seed))
    t2_grid, p, _ = grid
    mu_hat, _, b_grid = _conditional(y, v, t2_grid)
    return Posterior(
        sims=sims,
        tau2_draws=t2_draws,
        theta=p @ (b_grid * mu_hat[:, None] + (1 - b_grid) * y),
        shrinkage=p @ b_grid,
        mu=float(p @ mu_hat),
        tau2=float(t2_grid[np.searchsorted(np.cumsum(p), 0.5)]),
    )


def shrink(
    frame: pd.DataFrame,
    unit: str = "force",
    count: str = "charged_closed",
    n: str = "outcomes_closed",
    method: str = "hb",
    level: float = 0.95,
    draws: int = 4000,
    seed: int = 2020,
) -> ShrinkageResult:
    """Shrinkage of unit proportions with intervals and rank intervals from joint draws.

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
    post = normal_hierarchy(y, v, method, draws, seed)
    sims, t2_draws, theta, mu, tau2 = post.sims, post.tau2_draws, post.theta, post.mu, post.tau2
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    units = pd.DataFrame({unit: d["unit"], "n": m, "count": x, "raw_rate": x / m})
    units["raw_low"], units["raw_high"] = proportion_ci(x, m, level=level)
    units["shrinkage_factor"] = post.shrinkage
    units["shrunk_rate"] = expit(theta)
    units["shrunk_low"] = expit(np.quantile(sims, lo_q, axis=0))
    units["shrunk_high"] = expit(np.quantile(sims, hi_q, axis=0))
    ranks = (-sims).argsort(axis=1).argsort(axis=1) + 1  # rank 1 = highest
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
        "tau2_low": float(np.quantile(t2_draws, lo_q)),
        "tau2_high": float(np.quantile(t2_draws, hi_q)),
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
