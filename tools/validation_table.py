"""Print rows of a method-study table (`validate-methods`' validation.csv) as Markdown, each
figure with its Monte Carlo standard error, for docs/methods.md (developer tool; no number in
the docs is typed).

    .venv/bin/python tools/validation_table.py docs/validation/validation_null.csv \
        --estimator primary --estimator donut --scenario baseline --scenario slow_charges
"""

from __future__ import annotations

import argparse

import pandas as pd

from analysis.stats.method_study import Z  # a value Z Monte Carlo errors from a boundary is told apart


def _with_mcse(value: float, mcse: float, percent: bool = False) -> str:
    """'value (MCSE)', in percent for rates; blank when the figure is not scored."""
    if pd.isna(value):
        return ""
    if percent:
        return f"{100 * value:.1f}% ({100 * mcse:.1f})"
    return f"{value:+.4f} ({mcse:.4f})"


def _bounds(r) -> str:
    """The Monte Carlo 95% interval of the bias and the lower bound of the coverage's, so that a
    target such as |bias| <= 0.01 or coverage >= 93% is met only where the whole interval is."""
    bias = f"{r.bias - Z * r.bias_mcse:+.4f} to {r.bias + Z * r.bias_mcse:+.4f}"
    cover = "" if pd.isna(r.coverage) else f"{100 * (r.coverage - Z * r.coverage_mcse):.1f}%"
    return f" {bias} | {cover} |"


def markdown(
    table: pd.DataFrame, estimators: list[str], scenarios: list[str] | None, bounds: bool = False
) -> str:
    """The chosen rows in the order asked for (scenario, then estimator), as a Markdown table;
    with `bounds`, two more columns: the bias's Monte Carlo interval and the coverage's lower
    bound."""
    rows = table[table["estimator"].isin(estimators)]
    if scenarios:
        rows = rows[rows["scenario"].isin(scenarios)]
    order = {e: i for i, e in enumerate(estimators)}
    rows = rows.assign(_o=rows["estimator"].map(order)).sort_values(["scenario", "_o"], kind="stable")
    head = "| scenario | estimator | truth | bias (MCSE) | coverage (MCSE) | rejection (MCSE) | reps |"
    rule = "|---|---|---|---|---|---|---|"
    if bounds:
        head += " bias ± 1.96 MCSE | coverage − 1.96 MCSE |"
        rule += "---|---|"
    lines = [head, rule]
    for r in rows.itertuples():
        lines.append(
            f"| {r.scenario} | {r.estimator} | {r.truth:g} | {_with_mcse(r.bias, r.bias_mcse)} | "
            f"{_with_mcse(r.coverage, r.coverage_mcse, True)} | "
            f"{_with_mcse(r.rejection_rate, r.rejection_rate_mcse, True)} | {r.reps} |"
            + (_bounds(r) if bounds else "")
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table", help="a validation.csv written by validate-methods")
    p.add_argument("--estimator", action="append", required=True, help="repeatable; the rows' order")
    p.add_argument("--scenario", action="append", help="repeatable (default: every scenario)")
    p.add_argument(
        "--bounds",
        action="store_true",
        help="add the bias's Monte Carlo 95%% interval and the coverage's lower bound",
    )
    a = p.parse_args()
    print(markdown(pd.read_csv(a.table), a.estimator, a.scenario, a.bounds))


if __name__ == "__main__":
    main()
