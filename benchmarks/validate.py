"""Method-study benchmark: CPU-seconds per replicate of the full estimator battery, ours against
a plain statsmodels implementation of the same battery, timed in the same run.

A replicate is `method_study.one_replicate`: simulate the tidy tables, then every link estimator
(primary GLM with its cluster jackknife, wild bootstrap, event study, first difference, three
placebos with their jackknifes, the permutation test, stalking plus harassment, the recorded
basis), the funnels and the shrinkage. The baseline runs the very same replicate with the
fitting machinery swapped for plain statsmodels: every GLM from a cold start, the jackknife as
one statsmodels refit per left-out force, and the permutation test as one statsmodels refit per
permutation. Both sides use the same generator, the same seeds and one BLAS thread; the script
checks that they give the same records (to 1e-6 relative) before it reports.

CPU time is process time (this process, children included), not wall time, so that other work
on a shared machine changes it little. Ends with `cpu_seconds_per_replicate: X`,
`baseline_cpu_seconds_per_replicate: Y` and `ratio: R` (Y / X). Target: X <= 0.5.

Usage: python benchmarks/validate.py [--reps 20] [--baseline-reps 3] [--scenario baseline]
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

from analysis.stats import glm, method_study


def cpu_seconds() -> float:
    """CPU time of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _statsmodels_fit(X: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """A plain statsmodels binomial GLM fit (cold start): the coefficients."""
    return np.asarray(sm.GLM(np.column_stack([y, n - y]), X, family=sm.families.Binomial()).fit().params)


def plain_jackknife_se(
    d: pd.DataFrame, X: np.ndarray, k: int, start: np.ndarray, success: str = "charged", total: str = "closed"
) -> float:
    """The CV3 standard error with one statsmodels refit per left-out force."""
    groups = pd.factorize(d["force"])[0]
    y, n = d[success].to_numpy(float), d[total].to_numpy(float)
    draws = []
    G = int(groups.max()) + 1
    for g in range(G):
        keep = groups != g
        cols = np.flatnonzero(np.abs(X[keep]).sum(axis=0) > 0)  # the left-out force's dummy
        if not X[~keep, 1:G].any():  # the reference force: another force becomes the reference
            cols = cols[cols != cols[1]]
        b = _statsmodels_fit(X[keep][:, cols], y[keep], n[keep])
        draws.append(b[int(np.flatnonzero(cols == k)[0])])
    est = np.asarray(draws)
    G = len(est)
    return float(np.sqrt((G - 1) / G * np.sum((est - est.mean()) ** 2)))


def plain_permutation_p(
    d: pd.DataFrame,
    value: str,
    multiplier: str,
    reps: int = 199,
    seed: int = 2,
    success: str = "charged",
    total: str = "closed",
) -> tuple[float, float]:
    """The permutation test with one statsmodels refit per permutation (same draws)."""
    y, n = d[success].to_numpy(float), d[total].to_numpy(float)
    X, _ = glm.design(d, {"term": np.zeros(len(d))})
    slopes = []
    for values in glm.shuffled_values(d, value, reps, seed):
        X[:, -1] = values * d[multiplier].to_numpy()
        slopes.append(_statsmodels_fit(X, y, n)[-1])
    obs, perm = slopes[0], np.asarray(slopes[1:])
    return float((1 + np.sum(np.abs(perm) >= abs(obs))) / (reps + 1)), float(obs)


def plain_fit(d: pd.DataFrame, X: np.ndarray, success: str = "charged", total: str = "closed"):
    """The statsmodels fit with force-clustered errors from its own cold start."""
    return glm.statsmodels_fit(d, X, success, total)


def plain_params(
    d: pd.DataFrame, X: np.ndarray, success: str = "charged", total: str = "closed"
) -> np.ndarray:
    """Maximum-likelihood coefficients by a cold statsmodels fit."""
    return np.asarray(glm.binomial_glm(d, X, success, total).fit().params)


@contextmanager
def plain_statsmodels() -> Iterator[None]:
    """The battery with plain statsmodels fitting in place of ours."""
    names = ("jackknife_se", "permutation_p", "ClusterFit", "fe_start")
    saved = {name: getattr(glm, name) for name in names}
    for name, plain in zip(names, (plain_jackknife_se, plain_permutation_p, plain_fit, plain_params)):
        setattr(glm, name, plain)
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(glm, name, fn)


def run(reps: int, scenario: str, first: int = 0) -> tuple[float, pd.DataFrame]:
    """CPU-seconds per replicate over `reps` replicates, and their records."""
    records: list[dict] = []
    start = cpu_seconds()
    for r in range(first, first + reps):
        records += method_study.one_replicate((r, {"seed": 1000 + r}, None, scenario, "full"))
    return (cpu_seconds() - start) / reps, pd.DataFrame(records)


def max_relative_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The largest relative difference between two sets of records' numbers."""
    cols = [c for c in ("estimate", "ci_low", "ci_high", "p_value") if c in a]
    x, y = a[cols].to_numpy(float), b[cols].to_numpy(float)
    both = np.isfinite(x) & np.isfinite(y)
    if not np.array_equal(np.isfinite(x), np.isfinite(y)):
        return float("inf")
    return float(np.max(np.abs(x[both] - y[both]) / np.maximum(np.abs(y[both]), 1e-12)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20, help="replicates timed for ours")
    ap.add_argument("--baseline-reps", type=int, default=3, help="replicates timed for the baseline")
    ap.add_argument("--scenario", default="baseline")
    args = ap.parse_args()
    threadpool_limits(1)  # as the study's workers run
    method_study.one_replicate((0, {"seed": 999}, None, args.scenario, "full"))  # imports and caches warm
    ours, ours_records = run(args.reps, args.scenario)
    with plain_statsmodels(), warnings.catch_warnings():
        # cold statsmodels refits warn where a force never charges (no finite intercept)
        warnings.simplefilter("ignore")
        base, base_records = run(args.baseline_reps, args.scenario)
    same = ours_records.iloc[: len(base_records)].reset_index(drop=True)
    diff = max_relative_difference(same, base_records)
    print(f"scenario {args.scenario}: {args.reps} replicates ours, {args.baseline_reps} baseline")
    print(f"largest relative difference between the two batteries' records: {diff:.2g}")
    if not diff <= 1e-6:
        raise SystemExit("the two batteries disagree: the timing compares different work")
    print(f"cpu_seconds_per_replicate: {ours:.3f}")
    print(f"baseline_cpu_seconds_per_replicate: {base:.3f}")
    print(f"ratio: {base / ours:.1f}")


if __name__ == "__main__":
    main()
