"""Each force's own change in charge odds across April 2020, from a hierarchical link model: the
one link estimate a force page prints.

The primary link model (binomial, force and year effects, the recorded basis) says how the
post-2020 change in a force's charge log-odds goes with its rise in recording: beta x centred
dose. A force's own change is that line plus its gap from it, g_f. Each force's raw gap is read
from the primary fit's working residuals r = (y/n - mu) / (mu (1 - mu)): the mean of its
post-2020 years' residuals less the mean of its earlier years'. Its sampling variance adds,
per year, the binomial part 1 / (n mu (1 - mu)) and a force-year part sigma^2 (charging that
moves from year to year beyond chance, estimated from the residuals' spread within each force's
before and after years, by Paule-Mandel), and the uncertainty of the slope at the force's dose.

The gaps are then pooled by the hierarchical normal model of `shrinkage.normal_hierarchy`
(g_f ~ N(mu, tau^2), flat priors on mu and tau): a force with few cases is drawn towards the
national line, and its interval carries the uncertainty in tau. The method study scores the
intervals against the generator's true gaps (each force's true change less the weighted line
through all forces' changes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from analysis.stats import glm, link

GAP_SEED = 2020  # the posterior draws' seed (the same inputs give the same intervals)


@dataclass(frozen=True)
class ForceGaps:
    """Per force (`table`) and the pooled model's summary."""

    table: pd.DataFrame
    summary: dict


def working_residuals(dp: pd.DataFrame) -> pd.DataFrame:
    """The primary sample's force-years with the primary fit's probability `mu`, working residual
    `r` on the log-odds scale and its binomial variance `v_binomial`."""
    succ, tot = link.PRIMARY.success, link.PRIMARY.total
    X, _ = glm.design(dp, link.dose_x_post(dp))
    mu = expit(X @ glm.fe_start(dp, X, succ, tot))
    n = dp[tot].to_numpy(float)
    info = n * mu * (1 - mu)
    r = (dp[succ].to_numpy(float) - n * mu) / info
    return dp[["force", "financial_year", "dose", "dose_c", "post"]].assign(mu=mu, r=r, v_binomial=1 / info)


def year_variance(res: pd.DataFrame) -> float:
    """sigma^2, the force-year variance beyond chance, by Paule-Mandel within each force's before
    (and after) years: the sigma^2 at which the residuals' weighted spread around their own
    force-period mean, weights 1 / (v_binomial + sigma^2), equals its degrees of freedom (0 if
    chance alone gives that spread). Weighting keeps a small force's noisy years from swamping
    it."""
    keys = res.groupby(["force", "post"], sort=False).ngroup().to_numpy()
    r, vb = res["r"].to_numpy(float), res["v_binomial"].to_numpy(float)
    df = len(r) - keys.max() - 1

    def q_minus_df(s2: float) -> float:
        w = 1 / (vb + s2)
        mean = np.bincount(keys, w * r) / np.bincount(keys, w)
        return float(np.sum(w * (r - mean[keys]) ** 2) - df)

    if df <= 0 or q_minus_df(0.0) <= 0:
        return 0.0
    hi = 1.0
    while q_minus_df(hi) > 0:
        hi *= 10
    return float(optimize.brentq(q_minus_df, 0.0, hi, xtol=1e-10))


def raw_gaps(res: pd.DataFrame, sigma2: float, slope_se: float) -> pd.DataFrame:
    """Per force with years on both sides of the break: its dose, raw gap (after mean less
    before mean of its residuals) and that gap's sampling variance."""
    v = res["v_binomial"] + sigma2
    parts = (
        res.assign(v=v)
        .groupby(["force", "post"], sort=True)
        .agg(r=("r", "mean"), v=("v", "sum"), k=("r", "size"))
    )
    parts["v"] = parts["v"] / parts["k"] ** 2
    wide = parts.unstack("post").dropna()
    out = res.groupby("force")[["dose", "dose_c"]].first().loc[wide.index]
    out["raw_gap"] = wide[("r", 1)] - wide[("r", 0)]
    out["raw_gap_var"] = wide[("v", 1)] + wide[("v", 0)] + (out["dose_c"] * slope_se) ** 2
    out["years_before"] = wide[("k", 0)].astype(int)
    out["years_after"] = wide[("k", 1)].astype(int)
    return out.reset_index()


GRID = 48  # grid points for each of the two standard deviations
DRAWS = 4000


@dataclass(frozen=True)
class GapPosterior:
    """Draws (draws x forces) of the true gaps, their exact posterior means, and the posterior
    medians of the two standard deviations."""

    draws: np.ndarray
    mean: np.ndarray
    shrinkage: np.ndarray
    tau: float
    tau_slope: float


def gap_posterior(y: np.ndarray, v: np.ndarray, x: np.ndarray, seed: int = GAP_SEED) -> GapPosterior:
    """y_i ~ N(g_i + mu, v_i), g_i ~ N(0, tau^2 + tau_slope^2 x_i^2): forces differ by a gap of
    their own (tau) and by a slope of their own in the dose x (tau_slope), so forces far from
    the average dose may sit further from the line. Flat priors on mu, tau and tau_slope; the
    posterior of the two sds is computed exactly on a grid (as `shrinkage.tau_posterior` does
    for one), and the draws carry their uncertainty and mu's into each gap's interval."""
    top = max(3 * float(np.std(y)), 0.5)
    t0 = (np.arange(GRID) + 0.5) * top / GRID
    t1 = (np.arange(GRID) + 0.5) * top / max(float(np.std(x)), 0.05) / GRID
    a, b = (g.ravel() for g in np.meshgrid(t0, t1, indexing="ij"))
    prior = a[:, None] ** 2 + b[:, None] ** 2 * x[None, :] ** 2
    s = v[None, :] + prior
    w = 1 / s
    mu_hat = (w * y).sum(axis=1) / w.sum(axis=1)
    log_p = (
        -0.5 * np.log(w.sum(axis=1))
        - 0.5 * np.log(s).sum(axis=1)
        - 0.5 * (w * (y - mu_hat[:, None]) ** 2).sum(axis=1)
    )
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    shrink = v[None, :] / s  # 1 pools completely onto mu
    mean = p @ ((1 - shrink) * (y - mu_hat[:, None]))
    rng = np.random.default_rng(seed)
    cell = rng.choice(len(p), size=DRAWS, p=p)
    mu = mu_hat[cell] + rng.standard_normal(DRAWS) / np.sqrt(w[cell].sum(axis=1))
    bc = shrink[cell]
    draws = (1 - bc) * (y - mu[:, None]) + np.sqrt((1 - bc) * v) * rng.standard_normal(bc.shape)
    order = np.argsort(a)  # posterior medians, each sd's margin
    median = float(a[order][np.searchsorted(np.cumsum(p[order]), 0.5)])
    order1 = np.argsort(b)
    median1 = float(b[order1][np.searchsorted(np.cumsum(p[order1]), 0.5)])
    return GapPosterior(draws, mean, p @ shrink, median, median1)


def force_gaps(dp: pd.DataFrame, slope: float, slope_se: float, level: float = 0.95) -> ForceGaps:
    """Each force's own post-2020 change in charge log-odds against the average force
    (`own_change`), the national line's value at its dose (`line`), and its gap from the line
    (`gap`), pooled, with `level` intervals; `slope` and `slope_se` are the primary estimate's."""
    res = working_residuals(dp)
    sigma2 = year_variance(res)
    raw = raw_gaps(res, sigma2, slope_se)
    x = raw["dose_c"].to_numpy()
    post = gap_posterior(raw["raw_gap"].to_numpy(), raw["raw_gap_var"].to_numpy(), x)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    line = slope * x
    table = raw.assign(
        line=line,
        gap=post.mean,
        gap_low=np.quantile(post.draws, lo_q, axis=0),
        gap_high=np.quantile(post.draws, hi_q, axis=0),
        gap_shrinkage=post.shrinkage,
    )
    table["own_change"] = table["line"] + table["gap"]
    table["own_change_low"] = table["line"] + table["gap_low"]
    table["own_change_high"] = table["line"] + table["gap_high"]
    for k, val in (("tau", post.tau), ("tau_slope", post.tau_slope), ("sigma_year", np.sqrt(sigma2))):
        table[f"gap_{k}"] = float(val)
    summary = {
        "tau": post.tau,
        "tau_slope": post.tau_slope,
        "sigma_year": float(np.sqrt(sigma2)),
        "forces": len(table),
        "level": level,
        "slope": slope,
        "slope_se": slope_se,
    }
    return ForceGaps(table, summary)


def of_link(lk: link.LinkResult, level: float = 0.95) -> ForceGaps:
    """The force gaps of a fitted link (its panel's primary sample, its primary slope and SE)."""
    dp = link.primary_sample(link.usable(lk.panel))
    return force_gaps(dp, float(lk.primary["estimate"]), float(lk.primary["se"]), level)
