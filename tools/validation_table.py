"""Print rows of a method-study table (`validate-methods`' validation.csv) as Markdown, each
figure with its Monte Carlo standard error, for docs/methods.md (developer tool; no number in
the docs is typed).

    .venv/bin/python tools/validation_table.py docs/validation/validation_null.csv \
        --estimator primary --estimator donut --scenario baseline --scenario slow_charges
"""

from __future__ import annotations

import argparse

import pandas as pd


def _with_mcse(value: float, mcse: float, percent: bool = False) -> str:
    """'value (MCSE)', in percent for rates; blank when the figure is not scored."""
    if pd.isna(value):
        return ""
    if percent:
        return f"{100 * value:.1f}% ({100 * mcse:.1f})"
    return f"{value:+.4f} ({mcse:.4f})"


def markdown(table: pd.DataFrame, estimators: list[str], scenarios: list[str] | None) -> str:
    """The chosen rows in the order asked for (scenario, then estimator), as a Markdown table."""
    rows = table[table["estimator"].isin(estimators)]
    if scenarios:
        rows = rows[rows["scenario"].isin(scenarios)]
    order = {e: i for i, e in enumerate(estimators)}
    rows = rows.assign(_o=rows["estimator"].map(order)).sort_values(["scenario", "_o"], kind="stable")
    lines = [
        "| scenario | estimator | truth | bias (MCSE) | coverage (MCSE) | rejection (MCSE) | reps |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows.itertuples():
        lines.append(
            f"| {r.scenario} | {r.estimator} | {r.truth:g} | {_with_mcse(r.bias, r.bias_mcse)} | "
            f"{_with_mcse(r.coverage, r.coverage_mcse, True)} | "
            f"{_with_mcse(r.rejection_rate, r.rejection_rate_mcse, True)} | {r.reps} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table", help="a validation.csv written by validate-methods")
    p.add_argument("--estimator", action="append", required=True, help="repeatable; the rows' order")
    p.add_argument("--scenario", action="append", help="repeatable (default: every scenario)")
    a = p.parse_args()
    print(markdown(pd.read_csv(a.table), a.estimator, a.scenario))


if __name__ == "__main__":
    main()
