"""Print rows of a method-study table (`validate-methods` writes it) as Markdown, each
figure with its Monte Carlo standard error, for docs/methods.md (developer tool; no number in
the docs is typed).

    .venv/bin/python tools/validation_table.py docs/validation/validation_null.csv \
        --estimator primary --estimator donut --scenario baseline --scenario slow_charges
    .venv/bin/python tools/validation_table.py docs/validation/validation.csv --misses
"""

from __future__ import annotations

import argparse
from collections import Counter

import pandas as pd

from analysis.stats.method_study import (
    Z,
    targets,
)  # Z: a value Z Monte Carlo errors from a boundary is told apart


def _with_mcse(value: float, mcse: float, percent: bool = False, sign: str = "+") -> str:
    """'value (MCSE)', in percent for rates; signed unless `sign` is '' (a width); blank when
    the figure is not scored."""
    if pd.isna(value):
        return ""
    if percent:
        return f"{100 * value:.1f}% ({100 * mcse:.1f})"
    return f"{value:{sign}.4f} ({mcse:.4f})"


def _bounds(r) -> str:
    """The Monte Carlo 95% interval of the bias and the lower bound of the coverage's, so that a
    target such as |bias| <= 0.01 or coverage >= 93% is met only where the whole interval is."""
    bias = f"{r.bias - Z * r.bias_mcse:+.4f} to {r.bias + Z * r.bias_mcse:+.4f}"
    cover = "" if pd.isna(r.coverage) else f"{100 * (r.coverage - Z * r.coverage_mcse):.1f}%"
    return f" {bias} | {cover} |"


def misses(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that miss a target (bias 0, coverage 95%, size 5%) beyond Monte Carlo error, as
    the study decides it (method_study.targets). A mean squared error is left out: it has no
    target of its own (its "bias" is the MSE itself; the study compares shrunken with raw rates
    by their ratio)."""
    missed = table.apply(lambda r: targets(r).missed, axis=1).astype(bool)
    return table[missed & ~table["parameter"].str.startswith("MSE of")]


def _missed_cell(r) -> str:
    """What a row misses, each with its Monte Carlo error: b = mean estimate minus truth,
    c = coverage, s = size."""
    t = targets(r._asdict())
    parts = []
    if t.bias_distinguishable:
        parts.append(f"b {_with_mcse(r.bias, r.bias_mcse)}")
    if t.coverage:
        parts.append(f"c {_with_mcse(r.coverage, r.coverage_mcse, True)}")
    if t.size:
        parts.append(f"s {_with_mcse(r.rejection_rate, r.rejection_rate_mcse, True)}")
    return "; ".join(parts)


def wide(table: pd.DataFrame) -> str:
    """The missed targets as one Markdown row per estimator and parameter, one column per
    scenario: b = mean estimate minus truth, c = coverage, s = size (rejection rate at a true
    0), each with its Monte Carlo error; blank where that scenario meets every target. The truth
    column is the one most scenarios share; a cell whose scenario has another names it."""
    scenarios = sorted(table["scenario"].unique())
    rows = misses(table)
    cells = {(r.estimator, r.parameter, r.scenario): _missed_cell(r) for r in rows.itertuples()}
    truths = {(r.estimator, r.parameter, r.scenario): r.truth for r in table.itertuples()}
    missed = set(zip(rows["estimator"], rows["parameter"]))
    keys = [k for k in dict.fromkeys(zip(table["estimator"], table["parameter"])) if k in missed]
    lines = [
        "| estimator | parameter | truth | " + " | ".join(scenarios) + " |",
        "|---|---|---|" + "---|" * len(scenarios),
    ]
    for est, par in keys:
        # the truth most scenarios share; on a tie, the one first met in the table's own order
        seen = [r.truth for r in table.itertuples() if (r.estimator, r.parameter) == (est, par)]
        common = float(Counter(seen).most_common(1)[0][0])
        got = []
        for sc in scenarios:
            cell, truth = cells.get((est, par, sc), ""), truths.get((est, par, sc), common)
            own = cell and not (truth == common or (pd.isna(truth) and pd.isna(common)))
            got.append(f"truth {truth:.4g}: {cell}" if own else cell)
        lines.append(f"| {est} | {par} | {common:g} | " + " | ".join(got) + " |")
    return "\n".join(lines)


def markdown(
    table: pd.DataFrame,
    estimators: list[str] | None,
    scenarios: list[str] | None,
    bounds: bool = False,
    parameter: bool = False,
    silent: bool = False,
    means: bool = False,
    width: bool = False,
) -> str:
    """The chosen rows (every estimator's if `estimators` is None) in the order asked for
    (scenario, then estimator), as a Markdown table; with `bounds`, two more columns: the bias's
    Monte Carlo interval and the coverage's lower bound; with `parameter`, the parameter scored
    and the verdict (for estimators with several rows, such as the funnels); with `silent`, the
    headline's warned and silent-miss rates; with `means`, the mean estimate in place of the
    bias (for rows that score a share or an error, whose Monte Carlo error is the bias's); with
    `width`, the intervals' mean width (tables made before it was scored have none)."""
    rows = table if estimators is None else table[table["estimator"].isin(estimators)]
    if scenarios:
        rows = rows[rows["scenario"].isin(scenarios)]
    if estimators is not None:
        order = {e: i for i, e in enumerate(estimators)}
        rows = rows.assign(_o=rows["estimator"].map(order)).sort_values(["scenario", "_o"], kind="stable")
    head = "| scenario | estimator |" + (" parameter |" if parameter else "")
    head += f" truth | {'mean' if means else 'bias'} (MCSE) | coverage (MCSE) | rejection (MCSE) | reps |"
    rule = "|---|---|" + ("---|" if parameter else "") + "---|---|---|---|---|"
    if silent:
        head += " warned (MCSE) | silent miss (MCSE) |"
        rule += "---|---|"
    if width:
        head += " mean width (MCSE) |"
        rule += "---|"
    if bounds:
        head += " bias ± 1.96 MCSE | coverage − 1.96 MCSE |"
        rule += "---|---|"
    if parameter:
        head += " verdict |"
        rule += "---|"
    lines = [head, rule]
    for r in rows.itertuples():
        lines.append(
            f"| {r.scenario} | {r.estimator} |"
            + (f" {r.parameter} |" if parameter else "")
            + f" {r.truth:g} | {_with_mcse(r.mean_estimate if means else r.bias, r.bias_mcse)} | "
            f"{_with_mcse(r.coverage, r.coverage_mcse, True)} | "
            f"{_with_mcse(r.rejection_rate, r.rejection_rate_mcse, True)} | {r.reps} |"
            + (
                f" {_with_mcse(r.warned_rate, r.warned_rate_mcse, True)} |"
                f" {_with_mcse(r.silent_miss_rate, r.silent_miss_rate_mcse, True)} |"
                if silent
                else ""
            )
            + (f" {_with_mcse(r.mean_width, r.mean_width_mcse, sign='')} |" if width else "")
            + (_bounds(r) if bounds else "")
            + (f" {r.verdict} |" if parameter else "")
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table", help="a method-study table written by validate-methods")
    p.add_argument("--estimator", action="append", help="repeatable; the rows' order (default: every one)")
    p.add_argument("--scenario", action="append", help="repeatable (default: every scenario)")
    p.add_argument(
        "--bounds",
        action="store_true",
        help="add the bias's Monte Carlo 95%% interval and the coverage's lower bound",
    )
    p.add_argument(
        "--silent",
        action="store_true",
        help="add the headline's warned and silent-miss rates (a --battery headline table)",
    )
    p.add_argument(
        "--width",
        action="store_true",
        help="add the intervals' mean width, with its Monte Carlo error",
    )
    p.add_argument(
        "--means",
        action="store_true",
        help="the mean estimate in place of the bias (rows scoring a share or an error)",
    )
    p.add_argument(
        "--misses",
        action="store_true",
        help="only the rows that miss a target beyond Monte Carlo error, with their parameter and verdict",
    )
    p.add_argument(
        "--wide",
        action="store_true",
        help="with --misses: one row per estimator and parameter, one column per scenario",
    )
    a = p.parse_args()
    if a.wide and not a.misses:
        p.error("--wide shows the missed targets: use it with --misses")
    if not a.estimator and not a.misses:
        p.error("name at least one --estimator, or ask for --misses")
    table = pd.read_csv(a.table)
    if a.width and "mean_width" not in table:
        p.error(f"{a.table} has no mean_width column: it was made before interval widths were scored")
    if a.estimator:
        table = table[table["estimator"].isin(a.estimator)]
    if a.scenario:
        table = table[table["scenario"].isin(a.scenario)]
    if table.empty:
        p.error(f"no rows of {a.table} match the --estimator and --scenario given")
    if a.misses and a.wide:
        print(wide(table))
        return
    if a.misses:
        table = misses(table)
    several = bool((table.groupby("estimator")["parameter"].nunique() > 1).any())  # name what each row scores
    print(
        markdown(
            table,
            a.estimator,
            a.scenario,
            a.bounds,
            parameter=a.misses or several,
            silent=a.silent,
            means=a.means,
            width=a.width,
        )
    )


if __name__ == "__main__":
    main()
