"""tools/validation_table.py: the developer tool that prints the study's rows for the docs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.stats.method_study import COLUMNS, verdict

TOOL = Path(__file__).resolve().parents[1] / "tools" / "validation_table.py"


def _tool():
    spec = importlib.util.spec_from_file_location("validation_table", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(scenario: str, estimator: str, parameter: str, truth: float, **measures: float) -> dict:
    row = dict.fromkeys(COLUMNS, float("nan"))
    row.update(scenario=scenario, estimator=estimator, parameter=parameter, truth=truth, reps=500)
    row.update(measures)
    row["verdict"] = verdict(row)
    return row


def _scored(
    scenario: str,
    estimator: str,
    truth: float,
    coverage: float,
    rejection: float = float("nan"),
    bias: float = 0.001,
    bias_mcse: float = 0.003,
    parameter: str = "link_slope",
) -> dict:
    """A row of an interval estimator over 500 replicates, its rates' Monte Carlo errors binomial."""
    return _row(
        scenario,
        estimator,
        parameter,
        truth,
        bias=bias,
        bias_mcse=bias_mcse,
        coverage=coverage,
        coverage_mcse=np.sqrt(coverage * (1 - coverage) / 500),
        rejection_rate=rejection,
        rejection_rate_mcse=np.sqrt(rejection * (1 - rejection) / 500),
    )


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        [
            # power of 97.8% at a true -0.4 is not a size; coverage 93% is a miss
            _scored("a", "est", -0.4, coverage=0.93, rejection=0.978),
            _scored("b", "est", -0.4, coverage=0.95, rejection=0.98),
            # a size of 8% at a true 0 is a miss
            _scored("a", "ctrl", 0.0, coverage=0.94, rejection=0.08, bias=0.0, parameter="zero"),
            # an MSE has no target: never listed
            _row("a", "raw", "MSE of force charge rates", 0.0, bias=1e-4, bias_mcse=1e-6),
        ]
    )


def test_misses_lists_the_rows_that_miss_a_target_and_no_mse():
    got = _tool().misses(_table())
    assert list(zip(got["scenario"], got["estimator"])) == [("a", "est"), ("a", "ctrl")]


def test_wide_names_what_each_scenario_misses_and_power_is_not_a_size():
    lines = _tool().wide(_table()).splitlines()
    assert lines[0] == "| estimator | parameter | truth | a | b |"
    assert lines[2] == "| est | link_slope | -0.4 | c 93.0% (1.1) |  |"
    assert lines[3] == "| ctrl | zero | 0 | s 8.0% (1.2) |  |"
    assert len(lines) == 4


def test_wide_keeps_one_row_per_estimator_and_names_a_scenarios_own_truth():
    table = pd.DataFrame(
        [
            _scored("a", "est", -0.4, coverage=0.95, bias=0.02),
            _scored("b", "est", -0.38, coverage=0.95, bias=-0.03, bias_mcse=0.006),
            _scored("c", "est", -0.4, coverage=0.95, bias=0.0),
            _row("a", "curve", "no true value", float("nan"), rejection_rate=0.4, rejection_rate_mcse=0.02),
        ]
    )
    lines = _tool().wide(table).splitlines()
    assert lines[2:] == [  # one row for est; the curve has no true value, so no target to miss
        "| est | link_slope | -0.4 | b +0.0200 (0.0030) | truth -0.38: b -0.0300 (0.0060) |  |"
    ]


def test_wide_without_misses_is_refused(tmp_path):
    path = tmp_path / "validation.csv"
    _table().to_csv(path, index=False)
    run = subprocess.run([sys.executable, str(TOOL), str(path), "--wide"], capture_output=True, text=True)
    assert run.returncode == 2 and "--wide shows the missed targets" in run.stderr


def test_wide_applies_the_filters_and_refuses_an_empty_selection(tmp_path):
    path = tmp_path / "validation.csv"
    _table().to_csv(path, index=False)
    cmd = [sys.executable, str(TOOL), str(path), "--misses", "--wide"]
    run = subprocess.run([*cmd, "--scenario", "a", "--estimator", "ctrl"], capture_output=True, text=True)
    assert run.returncode == 0
    assert run.stdout.splitlines() == [
        "| estimator | parameter | truth | a |",
        "|---|---|---|---|",
        "| ctrl | zero | 0 | s 8.0% (1.2) |",
    ]
    run = subprocess.run([*cmd, "--estimator", "nothing"], capture_output=True, text=True)
    assert run.returncode == 2 and "no rows of" in run.stderr


def test_means_print_the_mean_estimate_and_name_each_rows_parameter(tmp_path):
    """A row scoring a share (the force pages' gap intervals) reads as the share itself."""
    share = "share of forces whose 95% interval holds their true gap"
    rows = [
        _row("heterogeneous", "force_gap", share, 0.95, mean_estimate=0.957, bias=0.007, bias_mcse=0.003),
        _row(
            "heterogeneous",
            "force_gap",
            "MSE of force gaps (pooled)",
            0.0,
            mean_estimate=0.013,
            bias=0.013,
            bias_mcse=0.001,
        ),
    ]
    path = tmp_path / "t.csv"
    pd.DataFrame(rows, columns=COLUMNS).assign(scenario=["heterogeneous"] * 2).to_csv(path, index=False)
    out = subprocess.run(
        [sys.executable, str(TOOL), str(path), "--estimator", "force_gap", "--means"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "| mean (MCSE) |" in out and f"| {share} | 0.95 | +0.9570 (0.0030) |" in out


def test_width_prints_the_mean_width_and_refuses_a_table_without_one(tmp_path):
    path = tmp_path / "t.csv"
    table = _table()
    table.assign(mean_width=0.25, mean_width_mcse=0.002).to_csv(path, index=False)
    cmd = [sys.executable, str(TOOL), str(path), "--estimator", "est", "--width"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "| mean width (MCSE) |" in out.splitlines()[0] and "| 0.2500 (0.0020) |" in out
    table.assign(mean_width=float("nan"), mean_width_mcse=float("nan")).to_csv(path, index=False)
    blank = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "nan" not in blank.splitlines()[2] and blank.splitlines()[2].endswith("|  |")
    table.drop(columns=["mean_width", "mean_width_mcse"]).to_csv(path, index=False)
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 2 and "has no mean_width column" in run.stderr
