"""Screen the cohort-timed link estimators on the method study's scenarios (developer tool).

Runs only the candidate estimators of analysis.stats.link.COHORT_CANDIDATES (each with CV3
inference) on generated data, so a screening costs ~0.5 s a replicate instead of the whole
battery's; the seeds are the method study's (seed + replicate), and the table is its summary
(bias, RMSE, coverage, rejection rate, each with its Monte Carlo error).

    .venv/bin/python tools/screen_link.py --scenario baseline --slope 0 --reps 60
"""

from __future__ import annotations

import argparse

import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.demo import generator
from analysis.stats import link, method_study
from analysis.stats.link_panel import link_panel
from analysis.stats.method_study import summarise


def pre_trend_test(d: pd.DataFrame) -> link.Estimate:
    """The joint CV3 Wald test of the primary basis's pre-period event-study coefficients
    (truth: no pre-trend; its rejection rate is the test's size, or its power under `pretrend`)."""
    b = link.PRIMARY
    es = link.event_study(b.sample(d), success=b.success, total=b.total)
    return link.Estimate(
        "pre_trend_test", es.pre_test["method"], float("nan"), "Wald", p_value=es.pre_test["p_value"]
    )


def replicate(rep: int, scenario: str, slope: float, seed: int, names: set[str] | None = None) -> list[dict]:
    """One generated dataset, every candidate's estimate against the scenario's truth."""
    cfg = generator.load_config(
        None, {**method_study.STUDY_PINS, "link_slope": slope, "seed": seed + rep}, scenario
    )
    data = generator.simulate(cfg)
    truth = float(data.truth["link"]["total"])  # behaviour + case mix, what these estimators measure
    d = link.usable(link_panel(data.outcomes, data.recorded))
    rows = []
    for fn in (*link.COHORT_CANDIDATES, pre_trend_test):
        if names and fn.__name__ not in names:
            continue
        e = fn(d)
        zero = fn is pre_trend_test
        rows.append(
            {
                "rep": rep,
                "estimator": e.estimator,
                "parameter": "no pre-trend" if zero else "link_slope",
                "truth": float("nan") if zero else truth,
                "estimate": e.estimate,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "p_value": e.p_value,
            }
        )
    return rows


def combine(paths: list[str], out: str) -> str:
    """Concatenate screening CSVs (later files replace earlier rows of the same scenario, slope
    and estimator), write them to `out`, and return them as a Markdown table."""
    t = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    t = t.drop_duplicates(["scenario", "link_slope", "estimator"], keep="last")
    t = t.sort_values(["link_slope", "scenario", "estimator"], ascending=[False, True, True], kind="stable")
    t.to_csv(out, index=False)

    def cell(v: float, se: float, pct: bool = False) -> str:
        return f"{100 * v:.1f}% ({100 * se:.1f})" if pct else f"{v:+.3f} ({se:.3f})"

    lines = [
        "| scenario | link_slope | estimator | bias (MCSE) | coverage (MCSE) | rejection (MCSE) | reps |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in t.itertuples():
        lines.append(
            f"| {r.scenario} | {r.link_slope:g} | {r.estimator} | {cell(r.bias, r.bias_mcse)} | "
            f"{cell(r.coverage, r.coverage_mcse, True)} | {cell(r.rejection_rate, r.rejection_rate_mcse, True)} | "
            f"{r.reps} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--slope", type=float, default=0.0)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--out", default=None, help="CSV of the summary")
    ap.add_argument("--estimators", default="", help="comma-separated function names (default: all)")
    ap.add_argument(
        "--combine", nargs="+", default=None, help="screening CSVs to join into --out (no simulation)"
    )
    a = ap.parse_args()
    if a.combine:
        print(combine(a.combine, a.out))
        return
    threadpool_limits(1)
    recs = pd.DataFrame(
        [
            r
            for i in range(a.reps)
            for r in replicate(i, a.scenario, a.slope, a.seed, set(filter(None, a.estimators.split(","))))
        ]
    )
    table = summarise(recs)
    table.insert(0, "link_slope", a.slope)
    table.insert(0, "scenario", a.scenario)
    cols = ["scenario", "link_slope", "estimator", "truth", "bias", "bias_mcse", "coverage", "coverage_mcse"]
    cols += ["rejection_rate", "rejection_rate_mcse", "rmse", "reps"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if a.out:
        table.to_csv(a.out, index=False)


if __name__ == "__main__":
    main()
