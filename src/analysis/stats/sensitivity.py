"""How large may a violation of parallel trends be before an event study's conclusion changes?

Rambachan and Roth (2023), "A More Credible Approach to Parallel Trends", Review of Economic
Studies 90(5), 2555-2591, under their relative-magnitudes restriction.

**Model.** The event-study coefficients `betahat` (the pre-period ones first, oldest first, the
reference period omitted, then the post-period ones) are normal with covariance `sigma` around
`tau + delta`: `tau` is the effect (zero before the break) and `delta` the difference in trends
(zero in the reference period). The parameter is `theta = l' tau_post`: the mean of the
post-period effects (`l` = 1/P each) or the first post-period effect (`l` = e1).

**Restriction Delta^RM(Mbar).** Each post-period change in `delta` between consecutive periods
is at most Mbar times the largest pre-period one, the last of which is the change into the
reference period:

    |delta_t - delta_{t-1}| <= Mbar * max_{s <= 0} |delta_s - delta_{s-1}|   for every t >= 1.

Mbar = 1 allows the trends to drift apart after the break as fast as they did in the worst
pre-period step, and no faster. The restriction is on the true `delta`: the pre-period
coefficients estimate it with error, which the test accounts for.

**Inference (the paper's recommendation for Delta^RM, HonestDiD's default "C-LF").** Delta^RM
is not convex, but it is the union of 2 x n_pre polyhedra, one for each location s of the largest
pre-period change and its sign: {|delta_t - delta_{t-1}| <= Mbar * sign * (delta_s - delta_{s-1}),
t >= 1}. A value of theta is in the robust confidence set if the test for any polyhedron accepts
it. Each polyhedron is tested, as in HonestDiD, on its post-period moments only (the pre-period
rows would only say which change is the largest, which the union already covers), with the
other directions of tau_post as nuisance parameters, by the conditional-least-favourable hybrid
test of Andrews, Roth and Pakes (2023): a first-stage least-favourable test of size kappa =
alpha/10 (its critical value the 1 - kappa quantile of the test statistic under the least
favourable null, from 1,000 normal draws), then the conditional test of size
(alpha - kappa)/(1 - kappa), truncated above at that critical value. Not a conservative
shortcut: the robust set is the paper's.

**How it is computed (differences from HonestDiD, none in the method).** The test statistic
(min over the nuisance of the largest standardised moment) is a linear program whose optimum is
the largest of gamma' y over the vertices of its dual. The moments' nuisance directions are the
same for every polyhedron and every Mbar, so the vertices are found once (by enumerating bases:
there are few post periods; tests/stats/test_sensitivity.py checks them against
scipy.optimize.linprog), and the program, the least-favourable draws and ARP's truncation points
(v_lo, v_up: how far the maximising vertex's value can move and stay the maximum) become matrix
products. HonestDiD solves a linear program for each, and in degenerate cases finds v_lo and
v_up by bisection. The confidence set is scanned on a grid around the estimate and its ends
refined; HonestDiD reports the smallest and largest accepted of 1,000 points on +-20 standard
errors of theta around 0. The least-favourable draws come from numpy's generator (fixed seed),
so that critical value differs from HonestDiD's by simulation error. The breakdown value is
found by bisection on Mbar, assuming, as Delta^RM's nesting suggests, that the robust set grows
with Mbar.

Normal approximation throughout, as in the paper; this package's other intervals use t(G - 1)
critical values, about 3% wider with 43 clusters.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri, ndtri_exp

KAPPA_SHARE = 0.1  # the first-stage (least-favourable) test's size, as a share of alpha
LF_DRAWS = 1000  # draws for the least-favourable critical value, as in HonestDiD
GRID_POINTS = 129  # first scan of the confidence set; its end points are then refined
REFINE_ROUNDS, REFINE_POINTS = 3, 16  # each round narrows an end point 16-fold
BREAKDOWN_TOL = 1e-3  # the breakdown Mbar is found to this absolute precision
BREAKDOWN_MAX = 64.0  # beyond this Mbar the breakdown is reported as not reached
METHOD = (
    "Rambachan and Roth (2023) relative magnitudes, Delta^RM(Mbar): post-period changes in the "
    "difference in trends at most Mbar times the largest pre-period change; conditional-least-"
    "favourable hybrid test of Andrews, Roth and Pakes (kappa = alpha/10, 1,000 draws), the union "
    "over the location and sign of the largest pre-period change; normal approximation with the "
    "event study's covariance"
)


@dataclass(frozen=True)
class RobustInterval:
    """The robust confidence interval for theta at one Mbar (the hull of the accepted values)."""

    mbar: float
    low: float
    high: float

    def excludes(self, value: float = 0.0) -> bool:
        return bool(value < self.low or value > self.high)


def post_differences(n_post: int) -> np.ndarray:
    """(n_post, n_post): row t takes tau_t - tau_{t-1}, with tau_0 = 0 (the reference period)."""
    return np.eye(n_post) - np.eye(n_post, k=-1)


def pre_differences(n_pre: int) -> np.ndarray:
    """(n_pre, n_pre): row j takes beta_{j+1} - beta_j of the pre-period coefficients (oldest
    first); the last row is the change into the reference period, 0 - beta_{-1}."""
    return np.eye(n_pre, k=1) - np.eye(n_pre)


def post_moments(n_post: int) -> np.ndarray:
    """(2 n_post, n_post): the post-period changes, each with both signs (the moments' post part)."""
    d = post_differences(n_post)
    return np.vstack([d, -d])


def extreme_rays(x: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """The extreme rays of the cone {g >= 0 : x'g = 0}, one a row, each scaled to sum to 1.

    They are the basic feasible solutions of {g >= 0 : [1, x]'g = e1}, found by trying every
    basis of rows (C(2P, P) of them for P post periods: 252 for P = 5)."""
    k, q = x.shape
    w = np.column_stack([np.ones(k), x])
    bases = np.array(list(itertools.combinations(range(k), q + 1)))
    wb = w[bases]  # (bases, q+1, q+1): the rows of each basis
    sv = np.linalg.svd(wb, compute_uv=False)
    bases, wb = bases[sv[:, -1] > 1e-9 * sv[:, 0]], wb[sv[:, -1] > 1e-9 * sv[:, 0]]
    e1 = np.zeros((len(bases), q + 1, 1))
    e1[:, 0] = 1.0
    g = np.linalg.solve(np.transpose(wb, (0, 2, 1)), e1)[..., 0]
    keep = (g >= -tol).all(axis=1)
    rays = np.zeros((int(keep.sum()), k))
    rays[np.arange(len(rays))[:, None], bases[keep]] = np.clip(g[keep], 0.0, None)
    # a degenerate vertex is reached from several bases: keep one copy
    return np.unique(np.round(rays, 12), axis=0)


def truncnorm_quantile(p: float, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The p-quantile of a standard normal truncated to [low, high], elementwise. Where the
    truncation is in the upper tail (low > 0) it is computed from log survival probabilities,
    which keep their precision far out."""
    low, high = np.broadcast_arrays(np.asarray(low, float), np.asarray(high, float))
    out = np.empty(low.shape)
    up = low > 0
    a, b = ndtr(low[~up]), ndtr(high[~up])
    out[~up] = ndtri(a + p * (b - a))
    la, lb = log_ndtr(-low[up]), log_ndtr(-high[up])
    # survival at the quantile = sf(low) * (1 - p * (1 - sf(high) / sf(low)))
    out[up] = -ndtri_exp(la + np.log1p(p * np.expm1(lb - la)))
    return out


def quantile_r7(x: np.ndarray, q: float) -> np.ndarray:
    """np.quantile(x, q, axis=0) (linear interpolation, R's type 7) from a partial sort, which is
    several times faster for one quantile of a thousand draws."""
    h = (len(x) - 1) * q
    i = int(np.floor(h))
    j = min(i + 1, len(x) - 1)
    part = np.partition(x, [i, j], axis=0)
    return part[i] + (h - i) * (part[j] - part[i])


def hybrid_accepts(
    stat: np.ndarray, vertex_cov: np.ndarray, piece: np.ndarray, lf_cv: np.ndarray, alpha: float
) -> np.ndarray:
    """The conditional-least-favourable hybrid test, one column per case: True where it does
    not reject.

    `stat` (vertices x cases): each dual vertex's value gamma' y, whose largest is the test
    statistic (the linear program's optimum); `vertex_cov` (vertices x vertices x pieces): the
    covariances of those values; `piece` (cases): which piece's covariance and least-favourable
    critical value `lf_cv` (pieces) each case uses."""
    cases = np.arange(stat.shape[1])
    top = stat.argmax(axis=0)
    eta = stat[top, cases]
    var = vertex_cov[top, top, piece]
    # ARP: given the maximising vertex and the part of the moments independent of its value,
    # that value is normal truncated to where the vertex stays the maximum: [v_lo, v_up]
    rho = vertex_cov[:, top, piece] / np.where(var > 0, var, 1.0)
    num, den = stat - rho * eta, 1.0 - rho
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    vlo = np.where(den > 1e-10, ratio, -np.inf).max(axis=0)
    vup = np.where(den < -1e-10, ratio, np.inf).min(axis=0)
    sd = np.sqrt(np.maximum(var, 0.0))
    degenerate = sd < 1e-12
    sd = np.where(degenerate, 1.0, sd)
    lf = lf_cv[piece]
    # the least-favourable first stage rejects above lf_cv, so the second stage is truncated there
    zlo, zup, z = vlo / sd, np.minimum(vup, lf) / sd, eta / sd
    inside = (zlo <= z) & (z <= zup) & (zlo < zup)
    size = (alpha - KAPPA_SHARE * alpha) / (1.0 - KAPPA_SHARE * alpha)
    cv = np.zeros(len(cases))
    cv[inside] = np.maximum(0.0, truncnorm_quantile(1.0 - size, zlo[inside], zup[inside]))
    reject = (eta > lf) | (inside & (z > cv))
    return ~np.where(degenerate, eta > 0, reject)


@dataclass(frozen=True)
class _Pieces:
    """The polyhedra of Delta^RM at one Mbar (one per location and sign of the largest
    pre-period change), ready to test; the last axis of each array is the polyhedron."""

    scale: np.ndarray  # 1 / (ray' sd of the moments): turns the rays into dual vertices
    ray_y: np.ndarray  # ray' (A betahat)
    ray_theta: np.ndarray  # ray' a: how each ray's value falls per unit of theta (all pieces)
    vertex_cov: np.ndarray  # gamma_v' Sigma_moments gamma_w
    lf_cv: np.ndarray
    alpha: float

    def accepts(self, theta: np.ndarray) -> np.ndarray:
        """Whether each theta is accepted by the test of any polyhedron (is in the union's set)."""
        q = self.scale.shape[1]
        y = self.ray_y[:, None, :] - self.ray_theta[:, None, None] * theta[None, :, None]
        stat = (self.scale[:, None, :] * y).reshape(len(self.scale), -1)
        piece = np.tile(np.arange(q), len(theta))
        ok = hybrid_accepts(stat, self.vertex_cov, piece, self.lf_cv, self.alpha)
        return np.asarray(ok.reshape(len(theta), q).any(axis=1))


class RelativeMagnitudes:
    """Delta^RM sensitivity for theta = l' tau_post from one event study.

    `betahat`: the non-reference coefficients, the `n_pre` pre-period ones first (oldest first,
    the last adjacent to the reference period), then the post-period ones; `sigma` their
    covariance; `weights` the vector l of weights on the post-period effects."""

    def __init__(
        self,
        betahat: np.ndarray,
        sigma: np.ndarray,
        n_pre: int,
        weights: np.ndarray,
        alpha: float = 0.05,
        draws: int = LF_DRAWS,
        seed: int = 0,
    ) -> None:
        betahat, sigma, w = np.asarray(betahat, float), np.asarray(sigma, float), np.asarray(weights, float)
        n_post = len(betahat) - n_pre
        if n_pre < 1 or n_post < 1 or len(w) != n_post or sigma.shape != (len(betahat),) * 2:
            raise ValueError(
                f"sensitivity: need >= 1 pre- and post-period coefficient, weights of length {n_post} "
                f"and a {len(betahat)}x{len(betahat)} covariance."
            )
        self.alpha, self.n_pre, self.weights = alpha, n_pre, w
        self.theta_hat = float(w @ betahat[n_pre:])
        self.theta_sd = float(np.sqrt(w @ sigma[n_pre:, n_pre:] @ w))
        post = post_moments(n_post)
        # nuisance directions: tau_post = l theta / l'l + null(l') t; they leave theta unchanged
        null = np.linalg.svd(w[None, :])[2][1:].T
        self.rays = extreme_rays(post @ null)
        ray_post = self.rays @ post
        pre = pre_differences(n_pre)
        s_pp, s_pq, s_qq = sigma[n_pre:, n_pre:], sigma[n_pre:, :n_pre], sigma[:n_pre, :n_pre]
        # pieces of each polyhedron's moment covariance that do not depend on it
        self._pre_change = pre @ betahat[:n_pre]
        self._pre_change_var = np.diag(pre @ s_qq @ pre.T)
        self._moment_var = np.einsum("ij,jk,ik->i", post, s_pp, post)
        self._moment_pre_cov = post @ s_pq @ pre.T
        self._ray_y = ray_post @ betahat[n_pre:]
        self._ray_theta = ray_post @ w / (w @ w)
        self._ray_cov = ray_post @ s_pp @ ray_post.T
        self._ray_pre_cov = ray_post @ s_pq @ pre.T
        # common draws of the coefficients' noise for every polyhedron and Mbar, so the
        # least-favourable critical values (and the breakdown search) move smoothly with Mbar
        vals, vecs = np.linalg.eigh(sigma)
        noise = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ np.random.default_rng(seed).standard_normal(
            (len(betahat), draws)
        )
        self._ray_noise = ray_post @ noise[n_pre:]
        self._pre_noise = pre @ noise[:n_pre]
        self._built: dict[float, _Pieces] = {}

    def largest_pre_change(self) -> float:
        """The largest absolute change between consecutive pre-period coefficients (into the
        reference period included): the scale Mbar multiplies, as estimated."""
        return float(np.abs(self._pre_change).max())

    def pieces(self, mbar: float) -> _Pieces:
        """The polyhedra whose union is Delta^RM(Mbar): in polyhedron (j, sign) the moments are
        each post-period change, either sign, minus Mbar x sign x pre-period change j, all <= 0.
        Kept per Mbar: an interval's scans test the same polyhedra many times."""
        if mbar in self._built:
            return self._built[mbar]
        # at Mbar = 0 every polyhedron is the same: delta_post = 0
        j = np.zeros(1, int) if mbar == 0 else np.repeat(np.arange(self.n_pre), 2)
        c = mbar * np.where(np.arange(len(j)) % 2 == 0, 1.0, -1.0)
        var_j = self._pre_change_var[j]
        var = self._moment_var[:, None] - 2 * c * self._moment_pre_cov[:, j] + c**2 * var_j
        sd = np.sqrt(np.maximum(var, 0.0))  # a variance; rounding must not make it negative
        scale = 1.0 / (self.rays @ sd)
        # every ray's weights sum to 1, so the pre-period term enters each ray's value once
        cross = self._ray_pre_cov[:, j]
        ray_cov = self._ray_cov[:, :, None] - c * (cross[:, None, :] + cross[None, :, :]) + c**2 * var_j
        # the statistic under the least favourable null (all moments' means 0) in each draw;
        # laid out polyhedron x ray x draw, which numpy broadcasts several times faster
        draws = self._ray_noise[None, :, :] - c[:, None, None] * self._pre_noise[j][:, None, :]
        draws *= scale.T[:, :, None]
        built = _Pieces(
            scale=scale,
            ray_y=self._ray_y[:, None] - c * self._pre_change[j],
            ray_theta=self._ray_theta,
            vertex_cov=scale[:, None, :] * ray_cov * scale[None, :, :],
            lf_cv=quantile_r7(draws.max(axis=1).T, 1.0 - KAPPA_SHARE * self.alpha),
            alpha=self.alpha,
        )
        self._built[mbar] = built
        return built

    def accepts(self, theta: np.ndarray | float, mbar: float) -> np.ndarray:
        """Whether each theta is in the robust confidence set at Mbar."""
        return self.pieces(mbar).accepts(np.atleast_1d(np.asarray(theta, float)))

    def interval(self, mbar: float) -> RobustInterval:
        """The robust confidence interval at Mbar: the smallest and largest accepted theta (the
        hull, as HonestDiD reports), each end refined to a small share of the first scan's step."""
        # the estimate +- the identified set's half-width at the estimated pre-trend, widened
        half = mbar * self._bias_weight() * self._pre_change_bound() + 5 * self.theta_sd
        for _ in range(12):
            grid = np.linspace(self.theta_hat - half, self.theta_hat + half, GRID_POINTS)
            ok = self.accepts(grid, mbar)
            if ok.any() and not ok[0] and not ok[-1]:
                break
            half *= 2
        else:
            return RobustInterval(mbar, -np.inf if ok[0] else np.nan, np.inf if ok[-1] else np.nan)
        first, last = int(np.argmax(ok)), len(ok) - 1 - int(np.argmax(ok[::-1]))
        return RobustInterval(
            mbar,
            self._refine(grid[first - 1], grid[first], mbar),
            self._refine(grid[last + 1], grid[last], mbar),
        )

    def _refine(self, rejected: float, accepted: float, mbar: float) -> float:
        """Narrow the end point between a rejected and an accepted theta; returns an accepted one."""
        for _ in range(REFINE_ROUNDS):
            sub = np.linspace(rejected, accepted, REFINE_POINTS + 1)
            k = int(np.argmax(self.accepts(sub, mbar)))
            rejected, accepted = sub[k - 1], sub[k]
        return float(accepted)

    def _bias_weight(self) -> float:
        """How much l' delta_post can move per unit bound on each post-period change."""
        return float(np.abs(np.cumsum(self.weights[::-1])).sum())

    def _pre_change_bound(self) -> float:
        """A generous upper value for the largest pre-period change (the search's start only)."""
        return float((np.abs(self._pre_change) + 3 * np.sqrt(self._pre_change_var)).max())

    def breakdown(self, value: float = 0.0, tol: float = BREAKDOWN_TOL) -> float:
        """The largest Mbar at which `value` is outside the robust confidence set: 0.0 if it is
        inside even at Mbar = 0, inf if still outside at BREAKDOWN_MAX."""
        if self.accepts(value, 0.0)[0]:
            return 0.0
        low, high = 0.0, 1.0
        while not self.accepts(value, high)[0]:
            low, high = high, 2 * high
            if high > BREAKDOWN_MAX:
                return float("inf")
        while high - low > tol:
            mid = (low + high) / 2
            if self.accepts(value, mid)[0]:
                high = mid
            else:
                low = mid
        return low


def summary(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    weights: np.ndarray,
    mbar: float = 1.0,
    level: float = 0.95,
) -> dict:
    """The robust interval for l' tau_post at `mbar`, the breakdown Mbar for excluding 0, and the
    method, as plain numbers (the breakdown is None when not reached by BREAKDOWN_MAX)."""
    rm = RelativeMagnitudes(betahat, sigma, n_pre, weights, alpha=1 - level)
    ci = rm.interval(mbar)
    bd = rm.breakdown(0.0)
    return {
        "mbar": mbar,
        "level": level,
        "estimate": rm.theta_hat,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "excludes_zero": ci.excludes(0.0),
        "breakdown_mbar": None if np.isinf(bd) else bd,
        "breakdown_searched_up_to": BREAKDOWN_MAX,
        "largest_pre_change": rm.largest_pre_change(),
        "n_pre": n_pre,
        "n_post": len(weights),
        "method": METHOD,
    }
