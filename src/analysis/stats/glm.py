"""Cluster-robust inference for binomial GLMs with force (cluster) and year fixed effects.

General machinery, used by the link estimators and the method study: the design matrix; the
fit with CR1 errors (`ClusterFit`, equal to statsmodels' and falling back to it for anything
else); the leave-one-cluster-out jackknife (CV3) standard error with t(G-1) intervals; the
permutation test; and the wild cluster score bootstrap. Clusters are the panel's `force` column
throughout.

Speed: the method study refits these models hundreds of times per replicate. `fe_logit` fits a
whole batch of them at once (the 43 leave-one-out fits of a jackknife, or the 100 fits of a
permutation test) by Newton steps with the force intercepts absorbed, warm-started at the full
fit. Every refit is still exact maximum likelihood; tests hold each fast path to the plain one
it replaced (`irls` per refit, statsmodels, pd.get_dummies) to 1e-8.
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
    """The design matrix and its column names: intercept, force and year dummies (first level dropped) and the given terms.

    The dummies are those of pd.get_dummies(drop_first=True), built from sorted factor codes
    (a test holds the two equal; get_dummies on text columns is the slower part of a fit)."""
    blocks, names = [np.ones((len(d), 1))], ["const"]
    for col in ("force", "financial_year"):
        codes, levels = pd.factorize(d[col], sort=True)
        blocks.append((codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float))
        names += [f"{col}_{level}" for level in levels[1:]]
    X = np.column_stack([*blocks, *terms.values()])
    return X, [*names, *terms]


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


def fe_logit(
    groups: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    n: np.ndarray,
    weights: np.ndarray | None = None,
    alpha: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Binomial-logit maximum likelihood with cluster intercepts absorbed, for a batch of fits.

    The model is logit P(y_i) = alpha[groups_i] + X_i beta. Each fit j of the batch has its own
    row weights (`weights[j]`, 0 drops a row: the jackknife) or its own columns (`X[j]`, the
    permutation test). Newton steps solve the cluster block through its diagonal (a Schur
    complement on the few other columns), so a step costs O(rows x columns^2), not
    O(rows x (clusters + columns)^2), and all fits of the batch take their steps together.
    A cluster with no weight keeps its starting intercept and plays no part. Returns
    (alpha (J, G), beta (J, p)); iterates until no coefficient moves by `tol`, as `irls` does
    (see the loop for forces with vanishing information).
    """
    order = np.argsort(groups, kind="stable")  # each cluster's rows together: sums by reduceat
    g = groups[order]
    starts = np.flatnonzero(np.diff(g, prepend=-1))
    G = len(starts)
    Xb = (X if X.ndim == 3 else X[None])[:, order]
    y, n = y[order], n[order]
    w_rows = np.ones((1, len(y))) if weights is None else np.atleast_2d(weights)[:, order]
    J = max(Xb.shape[0], w_rows.shape[0])
    p = Xb.shape[2]
    a = np.zeros((J, G)) if alpha is None else np.broadcast_to(alpha, (J, G)).copy()
    b = np.zeros((J, p)) if beta is None else np.broadcast_to(beta, (J, p)).copy()
    for _ in range(max_iter):
        mu = expit(a[:, g] + (Xb @ b[:, :, None])[:, :, 0])
        resid = w_rows * (y - n * mu)  # score contributions
        w = w_rows * n * mu * (1 - mu)  # Fisher weights
        wx = w[:, :, None] * Xb  # (J, n, p)
        A = np.add.reduceat(w, starts, axis=1)  # (J, G): the diagonal cluster block
        B = np.add.reduceat(wx, starts, axis=1)  # (J, G, p)
        D = np.matmul(Xb.transpose(0, 2, 1), wx)  # (J, p, p)
        ga = np.add.reduceat(resid, starts, axis=1)
        gb = (resid[:, None, :] @ Xb)[:, 0, :]
        inv_a = np.divide(1.0, A, out=np.zeros_like(A), where=A > 0)
        schur = D - np.matmul(B.transpose(0, 2, 1), B * inv_a[:, :, None])
        rhs = gb - np.einsum("jgp,jg->jp", B, inv_a * ga)
        try:
            db = np.linalg.solve(schur, rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # a column with no weight left: least squares, as irls
            db = (np.linalg.pinv(schur) @ rhs[:, :, None])[:, :, 0]
        da = inv_a * (ga - np.einsum("jgp,jp->jg", B, db))
        a += da
        b += db
        # converged when no coefficient moves by tol; a force's intercept step counts in
        # proportion to its information when that is below 1, so a force that never charges
        # (intercept running off to minus infinity, weight vanishing) does not keep every fit
        # of the batch iterating to max_iter
        if max(np.max(np.abs(da) * np.minimum(A, 1.0)), np.max(np.abs(db))) < tol:
            break
    return a, b


def split_design(X: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A `design` matrix split into its cluster intercepts and its other columns.

    `design` lays out the intercept, then the G - 1 force dummies, then the rest; the intercept
    plus the dummies give each cluster its own intercept, alpha_g. Returns (alpha's map from a
    full coefficient vector: a (G, K) matrix, other columns X[:, G:])."""
    G = int(groups.max()) + 1
    first = np.array([np.flatnonzero(groups == g)[0] for g in range(G)])
    to_alpha = np.zeros((G, X.shape[1]))
    to_alpha[:, :G] = X[first, :G]  # row of a cluster: 1 for the intercept and its own dummy
    if not np.array_equal(to_alpha[groups, :G], X[:, :G]):
        raise ValueError("design: the first G columns are not the intercept and the force dummies.")
    return to_alpha, X[:, G:]


def jackknife_draws(
    d: pd.DataFrame, X: np.ndarray, start: np.ndarray, success: str = "charged", total: str = "closed"
) -> np.ndarray:
    """The full coefficient vector's non-cluster part refitted without each force in turn:
    (G, K - G), exact maximum likelihood, all G refits in one batch warm-started at `start`."""
    groups = pd.factorize(d["force"])[0]
    to_alpha, other = split_design(X, groups)
    G = to_alpha.shape[0]
    keep = (groups[None, :] != np.arange(G)[:, None]).astype(float)
    y, n = d[success].to_numpy(float), d[total].to_numpy(float)
    _, beta = fe_logit(groups, other, y, n, keep, to_alpha @ start, start[G:])
    return beta


def jackknife_se(
    d: pd.DataFrame, X: np.ndarray, k: int, start: np.ndarray, success: str = "charged", total: str = "closed"
) -> float:
    """Leave-one-force-out (CV3) standard error of coefficient k: sqrt((G-1)/G sum (b_g - b)^2).

    With 43 clusters and ~55 parameters the usual cluster-robust (CR1) errors are too small;
    the cluster jackknife is the recommended remedy (MacKinnon, Nielsen and Webb 2023).
    Each refit is exact (see `fe_logit`); `jackknife_se_refit` is the plain refit-per-cluster
    version a test holds this to. k must be a non-cluster column (after the force dummies).
    """
    G = int(pd.factorize(d["force"])[0].max()) + 1
    draws = jackknife_draws(d, X, start, success, total)[:, k - G]
    return float(np.sqrt((G - 1) / G * np.sum((draws - draws.mean()) ** 2)))


def jackknife_se_refit(
    d: pd.DataFrame, X: np.ndarray, k: int, start: np.ndarray, success: str = "charged", total: str = "closed"
) -> float:
    """`jackknife_se` by refitting the whole design with `irls` once per left-out force (slow;
    the reference the fast version is tested against)."""
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


def fe_wls_jackknife(
    groups: np.ndarray, X: np.ndarray, y: np.ndarray, w: np.ndarray, k: int
) -> tuple[float, np.ndarray]:
    """Weighted least squares on a `design` matrix (cluster intercepts first): coefficient k,
    and its refits without each cluster in turn, (G,).

    The cluster intercepts are absorbed by weighted within-cluster demeaning, which leaving a
    cluster out does not change for the others; each refit then subtracts the left-out
    cluster's cross-products from the totals. Columns left with no weight (a year only the
    left-out cluster had) are dropped as least squares would."""
    G = int(groups.max()) + 1
    Z = X[:, G:]
    sw = np.bincount(groups, w, G)
    Zd = Z - _cluster_sums(Z * w[:, None], groups, G)[groups] / sw[groups, None]
    yd = y - np.bincount(groups, w * y, G)[groups] / sw[groups]
    zw = Zd * w[:, None]
    A_g = np.einsum("ip,iq->ipq", zw, Zd)
    per_A = np.zeros((G, *A_g.shape[1:]))
    np.add.at(per_A, groups, A_g)
    per_c = _cluster_sums(zw * yd[:, None], groups, G)
    present = _cluster_sums((np.abs(Z) > 0).astype(float), groups, G)
    A, c = per_A.sum(axis=0), per_c.sum(axis=0)
    kz = k - G

    def solve(A_: np.ndarray, c_: np.ndarray, cols: np.ndarray) -> float:
        b = np.linalg.lstsq(A_[np.ix_(cols, cols)], c_[cols], rcond=None)[0]
        return float(b[int(np.flatnonzero(cols == kz)[0])])

    every = np.arange(Z.shape[1])
    est = solve(A, c, every)
    draws = np.array(
        [
            solve(A - per_A[g], c - per_c[g], np.flatnonzero(present.sum(axis=0) - present[g] > 0))
            for g in range(G)
        ]
    )
    return est, draws


def fe_start(d: pd.DataFrame, X: np.ndarray, success: str = "charged", total: str = "closed") -> np.ndarray:
    """The maximum-likelihood coefficients of a `design` matrix, by `fe_logit` (the force
    intercepts absorbed), mapped back to the design's intercept and force dummies."""
    groups = pd.factorize(d["force"])[0]
    to_alpha, other = split_design(X, groups)
    G = to_alpha.shape[0]
    alpha, beta = fe_logit(groups, other, d[success].to_numpy(float), d[total].to_numpy(float))
    # alpha_g = const + dummy_g: solve for (const, dummies) from the clusters' rows
    head = np.linalg.lstsq(to_alpha[:, :G], alpha[0], rcond=None)[0]
    return np.concatenate([head, beta[0]])


def term_refits(
    d: pd.DataFrame, columns: np.ndarray, success: str = "charged", total: str = "closed"
) -> np.ndarray:
    """The coefficient of one extra term in the force and year effects model, refitted for each
    row of `columns` (J, n): exact maximum likelihood, all J fits in one batch, each started at
    the fit without the term."""
    X, _ = design(d, {})
    groups = pd.factorize(d["force"])[0]
    _, years = split_design(X, groups)
    y, n = d[success].to_numpy(float), d[total].to_numpy(float)
    alpha, beta = fe_logit(groups, years, y, n)  # without the term
    batch = np.concatenate(
        [np.broadcast_to(years, (len(columns), *years.shape)), columns[:, :, None]], axis=2
    )
    start = np.append(beta[0], 0.0)
    return fe_logit(groups, batch, y, n, alpha=alpha[0], beta=start)[1][:, -1]


def shuffled_values(d: pd.DataFrame, value: str, reps: int, seed: int) -> np.ndarray:
    """Each row's force-level `value` (rep 0) and `reps` shuffles of the values between forces
    (forces in order of appearance, one numpy permutation each): (reps + 1, rows)."""
    forces_ = d["force"].unique()
    values = d.groupby("force")[value].first().reindex(forces_).to_numpy()
    rng = np.random.default_rng(seed)
    shuffled = np.stack([values, *(rng.permutation(values) for _ in range(reps))])
    return shuffled[:, pd.Index(forces_).get_indexer(d["force"])]


def permutation_p(
    d: pd.DataFrame,
    value: str,
    multiplier: str,
    reps: int = 199,
    seed: int = 2,
    success: str = "charged",
    total: str = "closed",
) -> tuple[float, float]:
    """Randomisation p-value for the slope of value x multiplier (value constant within a force):
    the observed slope against slopes with the forces' values shuffled between forces.
    Returns (p-value, observed slope)."""
    columns = shuffled_values(d, value, reps, seed) * d[multiplier].to_numpy(float)[None, :]
    slopes = term_refits(d, columns, success, total)
    obs, perm = slopes[0], slopes[1:]
    p = (1 + np.sum(np.abs(perm) >= abs(obs))) / (reps + 1)
    return float(p), float(obs)


def _cluster_sums(values: np.ndarray, groups: np.ndarray, G: int) -> np.ndarray:
    """Column sums of `values` (rows, columns) within each cluster: (G, columns)."""
    out = np.zeros((G, values.shape[1]))
    np.add.at(out, groups, values)
    return out


class ClusterFit:
    """What the estimators read of a fitted binomial GLM with force-clustered (CR1) errors,
    computed straight from the exact fit: `params`, `bse`, `fittedvalues` (probabilities),
    `pearson_chi2`, `df_resid`, `cov_params()`. They equal statsmodels' GLM fit with
    cov_type="cluster" (a test holds them to it); any other attribute of that statsmodels result
    is served by one, fitted from these coefficients on first use."""

    def __init__(self, d: pd.DataFrame, X: np.ndarray, success: str = "charged", total: str = "closed"):
        self._d, self._X, self._success, self._total = d, X, success, total
        self._statsmodels = None
        groups = pd.factorize(d["force"])[0]
        y, n = d[success].to_numpy(float), d[total].to_numpy(float)
        self.params = fe_start(d, X, success, total)
        mu = expit(X @ self.params)
        w = n * mu * (1 - mu)
        resid = y - n * mu
        G, N, K = int(groups.max()) + 1, len(y), X.shape[1]
        # statsmodels' small-sample correction for CR1: G/(G-1) x (N-1)/(N-K)
        scale = G / (G - 1) * (N - 1) / (N - K)
        scores = _cluster_sums(X * resid[:, None], groups, G)
        bread = np.linalg.inv(X.T @ (X * w[:, None]))
        self._cov = scale * bread @ (scores.T @ scores) @ bread
        # The non-force columns again through the absorbed force block: the same numbers, but
        # stable when a force has no finite intercept (no charges at all), where the full
        # inverse is not. A force's own intercept then has no finite error (NaN).
        other = X[:, G:]
        A = np.bincount(groups, w, G)
        B = _cluster_sums(other * w[:, None], groups, G)
        inv_a = np.divide(1.0, A, out=np.zeros_like(A), where=A > 0)
        schur_inv = np.linalg.inv(other.T @ (other * w[:, None]) - B.T @ (B * inv_a[:, None]))
        u = (
            _cluster_sums(other * resid[:, None], groups, G)
            - B * (inv_a * np.bincount(groups, resid, G))[:, None]
        )
        self._cov[G:, G:] = scale * schur_inv @ (u.T @ u) @ schur_inv
        with np.errstate(invalid="ignore"):
            self.bse = np.sqrt(np.diag(self._cov))
        self.fittedvalues = mu
        self.pearson_chi2 = float(np.sum(resid**2 / w))
        self.df_resid = float(N - K)

    def cov_params(self) -> np.ndarray:
        """The CR1 covariance matrix of the coefficients."""
        return self._cov

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._statsmodels is None:
            self._statsmodels = statsmodels_fit(self._d, self._X, self._success, self._total, self.params)
        return getattr(self._statsmodels, name)


def statsmodels_fit(
    d: pd.DataFrame,
    X: np.ndarray,
    success: str = "charged",
    total: str = "closed",
    start: np.ndarray | None = None,
):
    """statsmodels' binomial GLM fit with force-clustered (CR1) errors, from `start` if given."""
    groups = pd.factorize(d["force"])[0]
    model = binomial_glm(d, X, success, total)
    return model.fit(start_params=start, cov_type="cluster", cov_kwds={"groups": groups})


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
    res = ClusterFit(d, X, success, total)
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


def wild_score_joint(
    d: pd.DataFrame,
    X: np.ndarray,
    tested: list[int],
    reps: int = 999,
    seed: int = 1,
    success: str = "charged",
    total: str = "closed",
) -> tuple[float, float]:
    """Wild cluster score bootstrap test that the coefficients `tested` of design X are all 0
    (Kline and Santos 2012, the joint version of `wild_score_bootstrap`).

    Fit the model without them; take each cluster's score for the tested coefficients with the
    other coefficients partialled out (the efficient score at the restricted fit); the
    statistic is S' V^-1 S, S their sum and V the sum of their outer products. Rademacher sign
    flips of the clusters' scores give its null distribution, with V held fixed (a sign flip
    leaves it unchanged). Unlike the CV3 Wald test with an F(k, G - 1) reference, it needs no
    estimate of a k x k covariance's sampling error, which with 43 clusters is large.
    Returns (statistic, p-value)."""
    keep = [i for i in range(X.shape[1]) if i not in set(tested)]
    y, n = d[success].to_numpy(float), d[total].to_numpy(float)
    mu = expit(X[:, keep] @ fe_start(d, X[:, keep], success, total))
    groups = pd.factorize(d["force"])[0]
    G = int(groups.max()) + 1
    sg = _cluster_sums(X * (y - n * mu)[:, None], groups, G)
    hess = X.T @ (X * (n * mu * (1 - mu))[:, None])
    # efficient score: the tested scores minus their projection on the nuisance scores
    proj = hess[np.ix_(tested, keep)] @ np.linalg.pinv(hess[np.ix_(keep, keep)])
    eff = sg[:, tested] - sg[:, keep] @ proj.T  # (G, k)
    v_inv = np.linalg.pinv(eff.T @ eff)
    total_score = eff.sum(axis=0)
    stat = float(total_score @ v_inv @ total_score)
    rng = np.random.default_rng(seed)
    flipped = rng.choice([-1.0, 1.0], size=(reps, G)) @ eff  # (reps, k)
    stars = np.einsum("bi,ij,bj->b", flipped, v_inv, flipped)
    return stat, float((1 + np.sum(stars >= stat * (1 - 1e-12))) / (reps + 1))


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
    n = d[total].to_numpy(float)
    y = d[success].to_numpy(float)
    mu = expit(X[:, keep] @ fe_start(d, X[:, keep], success, total))  # the restricted fit
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
