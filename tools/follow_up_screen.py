"""How the primary link estimator fares under a republication's count of the recorded basis when
the least-followed years are left out (developer tool): data generated with
`recorded_basis_as_at = "edition"`, the primary fitted with the last D = 0..3 years dropped by
hand (the panel told the count is per year, so that no year is dropped for it), seeds 1000 +
replicate (the method study's), uncalibrated force sizes (method_study.STUDY_PINS).

    .venv/bin/python tools/follow_up_screen.py slow_charges 300

Prints, per D, the bias against the true link total with its Monte Carlo standard error, the
coverage of the 95% interval with its, and the mean interval width. It chose
link.PRIMARY_FOLLOW_UP (docs/methods.md, "The recorded basis the link estimators assume").
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis import workers
from analysis.demo import generator
from analysis.stats import link, method_study
from analysis.stats.link_panel import counted_as

DROPS = (0, 1, 2, 3)


def one(args: tuple[str, int]) -> list[tuple[int, int, float, float, float, float]]:
    """One replicate: (rep, D, truth, estimate, ci_low, ci_high) for each D."""
    scenario, rep = args
    overrides = {**method_study.STUDY_PINS, "recorded_basis_as_at": "edition", "seed": 1000 + rep}
    with threadpool_limits(1), counted_as("year"):
        cfg = generator.load_config(None, overrides, scenario)
        data = generator.simulate(cfg, offences=("8Q",))
        outcomes, recorded = method_study._estimator_tables(data)
        truth, _ = method_study.Truths.of(cfg, data.truth).of_estimator("primary")
        years = sorted(outcomes["financial_year"].unique())
        out = []
        for d in DROPS:
            kept = outcomes[outcomes["financial_year"].isin(years[: len(years) - d])]
            row = link.primary_only(kept, recorded).iloc[0]
            out.append((rep, d, truth, row["estimate"], row["ci_low"], row["ci_high"]))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("reps", type=int)
    args = parser.parse_args()
    tasks = [(args.scenario, r) for r in range(args.reps)]
    records = [x for xs in workers.pool_map(one, tasks, 2) for x in xs]
    df = pd.DataFrame(records, columns=["rep", "drop", "truth", "est", "lo", "hi"])
    df["err"], df["cov"], df["width"] = (
        df.est - df.truth,
        (df.lo <= df.truth) & (df.truth <= df.hi),
        df.hi - df.lo,
    )
    g = df.groupby("drop")
    n = args.reps
    res = pd.DataFrame(
        {
            "bias": g["err"].mean(),
            "bias_se": g["err"].std() / np.sqrt(n),
            "coverage": g["cov"].mean(),
            "coverage_se": np.sqrt(g["cov"].mean() * (1 - g["cov"].mean()) / n),
            "width": g["width"].mean(),
        }
    )
    print(f"{args.scenario}, {n} replicates, recorded basis counted to one date (edition)")
    print(res.round(4).to_string())


if __name__ == "__main__":
    main()
