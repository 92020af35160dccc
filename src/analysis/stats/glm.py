"""Cluster-robust inference for binomial GLMs with force (cluster) and year fixed effects.

General machinery, used by the link estimators and the method study: the design matrix, a lean
IRLS fit for the many refits, the leave-one-cluster-out jackknife (CV3) standard error, the
statsmodels fit with CR1 and CV3 errors and t(G-1) intervals, and the wild cluster score bootstrap.
Clusters are the panel's `force` column throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit


@dataclass
class Fit:
    """One fitted binomial GLM with its cluster-robust inference for the coefficient of interest."""

    estimate: float
    se: float  # cluster jackknife (CV3) unless stated
    ci_low: float
    ci_high: float
    p_value: float
    dispersion: float
    n_obs: int
    n_clusters: int
    result: Any = field(repr=False, default=None)
    X: np.ndarray | None = field(repr=False, default=None)
    names: list = field(repr=False, default_factory=list)
    se_cr1: float = float("nan")


def design(d: pd.DataFrame, terms: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """The design matrix and its column names: intercept, force and year dummies (first level dropped) and the given terms."""
    fe = pd.get_dummies(d[["force", "financial_year"]], drop_first=True, dtype=float)
    names = ["const", *fe.columns, *terms]
    X = np.column_stack([np.ones(len(d)), fe.to_numpy(), *terms.values()])
    return X, names


def binomial_glm(d: pd.DataFrame, X: np.ndarray, success: str = "charged", total: str = "closed"):
    """The statsmodels binomial GLM of `success` out of `total` on X (not yet fitted)."""
    y = np.column_stack([d[success].to_numpy(float), (d[total] - d[success]).to_numpy(float)])
    return sm.GLM(y, X, family=sm.families.Binomial())


def irls(
    X: np.ndarray,
    y: np.ndarray,
    n: np.ndarray,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> np.ndarray:
    """Binomial-logit maximum likelihood by iteratively reweighted least squares.

    A lean fit for the many refits of the jackknife and the permutation test; the reported
    primary fit uses statsmodels, and a test checks the two agree.
    """
    beta = np.zeros(X.shape[1]) if start is None else start.copy()
    for _ in range(max_iter):
        eta = X @ beta
        mu = expit(eta)
        w = n * mu * (1 - mu)
        z = eta + (y - n * mu) / np.where(w > 0, w, 1)
        xtw = X.T * w
        new = np.linalg.lstsq(xtw @ X, xtw @ z, rcond=None)[0]
        if np.max(np.abs(new - beta)) < tol:
            return new
        beta = new
    return beta


def jackknife_se(
    d: pd.DataFrame, X: np.ndarray, k: int, start: np.ndarray, success: str = "charged", total: str = "closed"
) -> float:
    """Leave-one-force-out (CV3) standard error of coefficient k: sqrt((G-1)/G sum (b_g - b)^2).

    With 43 clusters and ~55 parameters the usual cluster-robust (CR1) errors are too small;
    the cluster jackknife is the recommended remedy (MacKinnon, Nielsen and Webb 2023).
    """
    groups = pd.factorize(d["force"])[0]
    y, n = d[success].to_numpy(float), d[total].to_numpy(float)
    est: list[float] = []
    for g in range(int(groups.max()) + 1):
        keep = groups != g
        Xg = X[keep]
        cols = np.flatnonzero(np.abs(Xg).sum(axis=0) > 0)  # the left-out force's dummy is all zero
        b = irls(Xg[:, cols], y[keep], n[keep], start[cols])
        est.append(float(b[int(np.flatnonzero(cols == k)[0])]))
    draws = np.asarray(est)
    G = len(draws)
    return float(np.sqrt((G - 1) / G * np.sum((draws - draws.mean()) ** 2)))


def fit_glm(
    d: pd.DataFrame,
    terms: dict[str, np.ndarray],
    coef: str,
    level: float = 0.95,
    success: str = "charged",
    total: str = "closed",
    jackknife: bool = True,
) -> Fit:
    """Binomial GLM with force and year effects. The interval uses the cluster jackknife (CV3)
    standard error with t(G-1) critical values; the CR1 cluster-robust SE is kept too."""
    X, names = design(d, terms)
    model = binomial_glm(d, X, success, total)
    groups = pd.factorize(d["force"])[0]
    res = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    k = names.index(coef)
    g = d["force"].nunique()
    est, se_cr1 = float(res.params[k]), float(res.bse[k])
    se = jackknife_se(d, X, k, np.asarray(res.params), success, total) if jackknife else se_cr1
    tq = stats.t.ppf(0.5 + level / 2, g - 1)
    p = float(2 * stats.t.sf(abs(est / se), g - 1))
    dispersion = float(res.pearson_chi2 / res.df_resid)
    fit = Fit(est, se, est - tq * se, est + tq * se, p, dispersion, len(d), g, res, X, names)
    fit.se_cr1 = se_cr1
    return fit


def wild_score_bootstrap(
    d: pd.DataFrame,
    terms: dict[str, np.ndarray],
    coef: str,
    reps: int = 999,
    seed: int = 1,
    success: str = "charged",
    total: str = "closed",
) -> float:
    """Wild cluster score bootstrap p-value for H0: coef = 0 (Kline and Santos 2012).

    Fit the model without `coef`; cluster score sums S_g at that restricted fit; perturb them
    with Rademacher weights; compare |t*| with |t| for the coefficient's score statistic.
    """
    X, names = design(d, terms)
    k = names.index(coef)
    keep = [i for i in range(X.shape[1]) if i != k]
    restricted = binomial_glm(d, X[:, keep], success, total).fit()
    n = d[total].to_numpy(float)
    y = d[success].to_numpy(float)
    mu = expit(X[:, keep] @ restricted.params)
    scores = X * (y - n * mu)[:, None]
    groups = pd.factorize(d["force"])[0]
    sg = np.zeros((groups.max() + 1, X.shape[1]))
    np.add.at(sg, groups, scores)
    hess = X.T @ (X * (n * mu * (1 - mu))[:, None])
    hinv = np.linalg.pinv(hess)
    a = hinv[k]  # the k-th row of H^-1 maps scores to the one-step coefficient
    contrib = sg @ a  # per-cluster contribution to the one-step estimate
    denom = np.sqrt(np.sum(contrib**2))
    if denom == 0:
        return float("nan")
    t0 = contrib.sum() / denom
    rng = np.random.default_rng(seed)
    w = rng.choice([-1.0, 1.0], size=(reps, len(contrib)))
    tstar = (w @ contrib) / denom
    return float((1 + np.sum(np.abs(tstar) >= abs(t0))) / (reps + 1))
