"""pyfixest against the package's hand-written binomial logit machinery (issue 11, item 7).

On the demo data's primary sample (recorded basis, complete force-years), fits the primary link
model, charges out of outcomes assigned on force and year fixed effects and the centred dose x
post-2020, both ways, and prints the estimate, the cluster-robust (CR1) and leave-one-force-out
jackknife (CV3) standard errors, the wild cluster bootstrap p-value and the time each took.

pyfixest is not a dependency of the package: this script runs only where it is importable
(`.venv/bin/pip install pyfixest`; its wild bootstrap also needs `wildboottest`). pyfixest's
`feglm(family="logit")` takes a 0/1 outcome and no weights, so the grouped counts are expanded to
one row per outcome assigned. `--skip-slow` leaves out pyfixest's CRV3 (about a minute: it
refits the model on the expanded rows once per force) and its wild bootstrap.

    .venv/bin/python benchmarks/pyfixest_compare.py [--skip-slow]

docs/methods.md quotes its output and the decision taken on it.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.demo import generator
from analysis.stats import glm, link
from analysis.stats.link_panel import link_panel


def timed(f, *args, **kwargs):
    """(result, wall seconds, CPU seconds of the process: every thread counts)."""
    w, c = time.perf_counter(), time.process_time()
    out = f(*args, **kwargs)
    return out, time.perf_counter() - w, time.process_time() - c


def primary_panel() -> pd.DataFrame:
    """The primary estimator's force-years on the default demo data, with its term and an
    integer force id (wildboottest needs numeric cluster ids)."""
    sim = generator.simulate(generator.load_config())
    dp = link.primary_sample(link.usable(link_panel(sim.outcomes, sim.recorded)))
    return dp.assign(dose_x_post=dp["dose_c"] * dp["post"], force_id=pd.factorize(dp["force"])[0])


def one_row_per_outcome(dp: pd.DataFrame) -> pd.DataFrame:
    """The grouped counts as one 0/1 row per outcome assigned (feglm takes no binomial trials)."""
    s, n = link.PRIMARY.success, link.PRIMARY.total
    cols = ["force", "force_id", "financial_year", "dose_x_post"]
    both = pd.concat([dp[cols].assign(y=1), dp[cols].assign(y=0)], ignore_index=True)
    times = np.concatenate([dp[s].to_numpy(int), (dp[n] - dp[s]).to_numpy(int)])
    return both.loc[np.repeat(np.arange(len(both)), times)].reset_index(drop=True)


def ours(dp: pd.DataFrame, reps: int) -> dict:
    """The package's primary fit (CR1, CV3 from the batched jackknife) and wild score bootstrap,
    on one BLAS thread as `analyse` and the method study run them."""
    basis = (link.PRIMARY.success, link.PRIMARY.total)
    with threadpool_limits(1):
        (fit, influence), wall, cpu = timed(link._fit_primary, dp, 0.95)
        p, bwall, bcpu = timed(
            glm.wild_score_bootstrap,
            dp,
            {"dose_x_post": dp["dose_x_post"].to_numpy()},
            "dose_x_post",
            reps,
            1,
            *basis,
        )
    draws = influence["estimate_without"].to_numpy()
    g, n, k = fit.n_clusters, fit.n_obs, len(fit.names)
    return {
        "estimate": fit.estimate,
        "cr1": fit.se_cr1,
        # statsmodels' CR1 correction is G/(G-1) (N-1)/(N-K) over force-year rows; pyfixest's N
        # is the expanded rows, where (N-1)/(N-K) is 1: compare on G/(G-1) alone
        "cr1_cluster_adj_only": fit.se_cr1 / np.sqrt((n - 1) / (n - k)),
        "cv3_mean": fit.se,  # centred at the mean of the leave-one-out estimates (the package's)
        "cv3_estimate": float(np.sqrt((g - 1) / g * np.sum((draws - fit.estimate) ** 2))),
        "wild_p": p,
        "fit_wall": wall,
        "fit_cpu": cpu,
        "boot_wall": bwall,
        "boot_cpu": bcpu,
        "draws": draws,
    }


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--skip-slow", action="store_true", help="leave out pyfixest's CRV3 and wild bootstrap")
    args.add_argument("--reps", type=int, default=999, help="wild bootstrap replications")
    opts = args.parse_args(argv)
    if importlib.util.find_spec("pyfixest") is None:
        print("pyfixest is not installed: nothing to compare (.venv/bin/pip install pyfixest)")
        return 0
    import pyfixest as pf

    warnings.filterwarnings("ignore")
    dp = primary_panel()
    o = ours(dp, opts.reps)
    s, n = link.PRIMARY.success, link.PRIMARY.total
    g = dp["force"].nunique()
    print(f"pyfixest {pf.__version__}; demo primary sample: {len(dp)} force-years, {g} forces")
    print(f"ours: estimate {o['estimate']:.10f}")
    print(f"ours: CR1 SE {o['cr1']:.6f} (G/(G-1) only: {o['cr1_cluster_adj_only']:.6f})")
    print(f"ours: CV3 SE {o['cv3_mean']:.6f} (centred at the estimate: {o['cv3_estimate']:.6f})")
    print(f"ours: fit + CR1 + CV3 {o['fit_cpu']:.3f} CPU-s ({o['fit_wall']:.3f} s wall)")
    print(
        f"ours: wild cluster score bootstrap p {o['wild_p']:.4f}, {opts.reps} reps, {o['boot_cpu']:.3f} CPU-s"
    )

    long = one_row_per_outcome(dp)
    fml = "y ~ dose_x_post | force + financial_year"
    print(f"feglm needs one row per outcome: {len(long):,} rows")
    cr1, wall, cpu = timed(pf.feglm, fml, data=long, family="logit", vcov={"CRV1": "force_id"})
    est = float(cr1.coef().iloc[0])
    print(f"feglm logit: estimate {est:.10f} (difference {est - o['estimate']:+.1e})")
    print(f"feglm logit: CRV1 SE {float(cr1.se().iloc[0]):.6f}, {cpu:.2f} CPU-s ({wall:.2f} s wall)")
    adj = pf.feglm(
        fml, data=long, family="logit", vcov={"CRV1": "force_id"}, ssc=pf.ssc(k_adj=False, G_adj=True)
    )
    print(f"feglm logit: CRV1 SE, G/(G-1) only {float(adj.se().iloc[0]):.6f}")

    pois, wall, cpu = timed(
        pf.fepois,
        f"{s} ~ dose_x_post | force + financial_year",
        data=dp.assign(log_n=np.log(dp[n])),
        offset="log_n",
        vcov={"CRV1": "force_id"},
    )
    print(
        f"fepois on the grouped counts, offset log(outcomes): estimate {float(pois.coef().iloc[0]):.6f} "
        f"(a log-rate model, not the logit), CRV1 SE {float(pois.se().iloc[0]):.6f}, {cpu:.3f} CPU-s"
    )
    if opts.skip_slow:
        return 0

    crv3, wall, cpu = timed(pf.feglm, fml, data=long, family="logit", vcov={"CRV3": "force_id"})
    print(f"feglm logit: CRV3 SE {float(crv3.se().iloc[0]):.6f}, {cpu:.1f} CPU-s ({wall:.1f} s wall)")
    # what its leave-one-out refits are: Poisson fits (pyfixest 0.60 refits every non-OLS model
    # with fepois), i.e. the grouped Poisson with offset, centred at the logit estimate
    loo = np.array(
        [
            float(
                pf.fepois(
                    f"{s} ~ dose_x_post | force + financial_year",
                    data=dp[dp["force"] != f].assign(log_n=lambda t: np.log(t[n])),
                    offset="log_n",
                    vcov="iid",
                )
                .coef()
                .iloc[0]
            )
            for f in dp["force"].unique()
        ]
    )
    print(
        "  Poisson leave-one-force-out refits about the logit estimate, x G/(G-1): "
        f"{np.sqrt(g / (g - 1) * np.sum((loo - est) ** 2)):.6f}"
    )
    if importlib.util.find_spec("wildboottest") is None:
        print("wildboottest is not installed: no pyfixest wild bootstrap")
        return 0
    boot, wall, cpu = timed(cr1.wildboottest, reps=opts.reps, param="dose_x_post", seed=1)
    print(
        f"feglm logit .wildboottest: t {float(boot['t value']):.3f}, p {float(boot['Pr(>|t|)']):.4f}, "
        f"{cpu:.1f} CPU-s (first call compiles with numba)"
    )
    lpm = pf.feols(fml, data=long, vcov={"CRV1": "force_id"})
    boot = lpm.wildboottest(reps=opts.reps, param="dose_x_post", seed=1)
    print(
        f"feols linear probability model .wildboottest: t {float(boot['t value']):.3f}, "
        f"p {float(boot['Pr(>|t|)']):.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
