"""The words about which estimators hold up are computed from the table, by a stated rule."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.reports import plots, site, validation_text
from analysis.reports.display import Prose


def _row(scenario, estimator, reps, bias, bias_mcse, coverage, truth=-0.4):
    cover_se = np.sqrt(coverage * (1 - coverage) / reps)
    return {
        "scenario": scenario,
        "estimator": estimator,
        "parameter": "link_slope",
        "truth": truth,
        "mean_estimate": truth + bias,
        "bias": bias,
        "bias_mcse": bias_mcse,
        "coverage": coverage,
        "coverage_mcse": cover_se,
        "rejection_rate": 0.9,
        "rejection_rate_mcse": np.sqrt(0.09 / reps),
        "reps": reps,
    }


TABLE = pd.DataFrame(
    [
        _row("baseline", "primary", 500, 0.001, 0.004, 0.95),
        _row("baseline", "recorded_basis", 500, 0.05, 0.004, 0.94),  # biased
        _row("pretrend", "primary", 500, 0.002, 0.004, 0.90),  # undercovers
        _row("pretrend", "first_difference", 100, 0.002, 0.01, 0.95),  # too few to settle
        _row("slow_charges", "primary", 5, 0.3, 0.01, 0.2),  # too few to judge at all
        {**_row("baseline", "combined_8Q_8L", 500, np.nan, np.nan, np.nan), "truth": np.nan},
    ]
)


def test_each_estimator_is_judged_by_the_rule():
    judged = validation_text.judgements(TABLE).set_index(["scenario", "estimator"])["judgement"]
    assert judged[("baseline", "primary")] == "holds up"
    assert judged[("baseline", "recorded_basis")] == "fails"
    assert judged[("pretrend", "primary")] == "fails"
    assert judged[("pretrend", "first_difference")] == "not settled"
    assert judged[("slow_charges", "primary")] == "not settled"
    assert ("baseline", "combined_8Q_8L") not in judged.index  # no truth, no judgement


def test_the_words_name_each_scenario_and_give_failures_with_their_monte_carlo_errors():
    text = validation_text.summary(TABLE).markdown
    assert "**baseline** — holds up: primary; fails: recorded_basis (bias +0.050 ± 0.004" in text
    assert "**pretrend** — fails: primary (bias +0.002 ± 0.004, coverage 90.0% ± 1.3)" in text
    assert "not settled: first_difference" in text
    assert "below 20 replicates nothing is judged" in text  # the smallest study sets the caveat


def test_the_words_say_when_the_study_is_large_enough():
    text = validation_text.summary(TABLE[TABLE["reps"] == 500]).markdown
    assert "At 500 replicates a method with exactly 95% coverage lands within ±1.9 points of it." in text


def test_scenario_table_and_figure(tmp_path):
    shown = validation_text.scenario_table(TABLE)
    assert list(shown.frame.columns[:2]) == ["Scenario", "Estimator"] and "Holds up?" in shown.frame
    assert "Bias: Monte Carlo SE" in shown.frame and "Coverage: Monte Carlo SE" in shown.frame
    fig = plots.validation_plot(validation_text.judgements(TABLE))
    assert any(plots.DEMO_LABEL in t.get_text() for t in fig.texts)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["baseline", "pretrend", "slow_charges"]
    plt.close(fig)


def _folder(tmp_path: Path, tables: dict[str, pd.DataFrame], commands: dict[str, str]) -> Path:
    """A folder of method-study tables, as validate-methods writes them, with command files."""
    folder = tmp_path / "study"
    folder.mkdir()
    for name, table in tables.items():
        table.to_csv(folder / name, index=False)
    for stem, text in commands.items():
        (folder / f"{stem}_command.txt").write_text(text, encoding="utf-8")
    return folder


def test_the_committed_tables_are_read_in_order_with_their_commands(tmp_path):
    primary = pd.DataFrame(
        [_row(sc, "primary", 2000, 0.0023, 0.0015, 0.938) for sc in ("baseline", "missing_years")]
    )
    folder = _folder(
        tmp_path,
        {
            "validation_republication_primary.csv": primary,
            "validation_republication.csv": TABLE,
            "validation_republication_null.csv": TABLE,
        },
        {
            "validation_republication_primary": "stalking-outcomes validate-methods --battery primary\n"
            "seeds 1000-2999\n"
        },
    )
    (folder / "validation_replicates.csv").write_text("not a table of results\n")
    study = validation_text.read_study(str(folder))
    assert [t.name for t in study] == [
        "validation_republication.csv",
        "validation_republication_null.csv",
        "validation_republication_primary.csv",
    ]
    assert study[2].command == ["stalking-outcomes validate-methods --battery primary", "seeds 1000-2999"]
    assert study[2].primary_battery and not study[0].primary_battery
    opening = validation_text.opening(study).markdown
    assert "GENERATED DATA" in opening
    assert (
        "validation_republication_primary.csv, baseline scenario, true link_slope -0.4, 2,000 replicates: bias "
        "+0.0023 (Monte Carlo SE 0.0015), 95% interval coverage 93.8% (Monte Carlo SE 0.5 points)"
    ) in opening
    shown = validation_text.study_table(study[2])
    assert "seeds 1000-2999" in shown[0].markdown and "2,000 replicates" in shown[0].markdown
    frame = shown[1].frame
    for header in (
        "Bias",
        "Bias: Monte Carlo SE",
        "Interval coverage",
        "Coverage: Monte Carlo SE",
        "Replicates",
    ):
        assert header in frame.columns
    assert list(frame.columns).index("Bias: Monte Carlo SE") == list(frame.columns).index("Bias") + 1
    assert frame["Bias"].iloc[0] == "0.0023" and frame["Replicates"].iloc[0] == "2,000"
    assert "(no command file beside it)" in validation_text.study_table(study[0])[0].markdown
    # the words and the figure come from the full battery, not the primary's own tables
    assert validation_text.holds_up(study).markdown.count("### validation") == 2
    assert isinstance(validation_text.study_figure(study), plots.Shown)


def test_records_of_an_earlier_generator_are_said_so_and_not_judged(tmp_path):
    """A superseded table (validation.csv, made by an earlier generator) comes after the current
    ones, says why it is kept, and is neither judged nor drawn while a current table is there."""
    folder = _folder(tmp_path, {"validation.csv": TABLE, "validation_republication.csv": TABLE}, {})
    study = validation_text.read_study(str(folder))
    assert [t.name for t in study] == ["validation_republication.csv", "validation.csv"]
    assert not study[0].superseded and "before commit 0513991" in study[1].superseded
    words = validation_text.holds_up(study).markdown
    assert words.count("### validation") == 1 and "### validation_republication.csv" in words
    assert "Not judged here, being records of an earlier generator or count" in words
    assert "**Superseded**: a record" in validation_text.study_table(study[1])[0].markdown
    assert "Superseded" not in validation_text.study_table(study[0])[0].markdown
    assert "validation_republication.csv, baseline scenario" in validation_text.opening(study).markdown
    assert "validation.csv, baseline" not in validation_text.opening(study).markdown
    figure = validation_text.study_figure(study)
    assert isinstance(figure, plots.Shown) and "in validation_republication.csv," in figure.alt
    # with only the record, it is drawn and said to be one
    (tmp_path / "old").mkdir()
    only = validation_text.read_study(str(_folder(tmp_path / "old", {"validation.csv": TABLE}, {})))
    assert "a record of an earlier generator" in validation_text.study_figure(only).alt
    assert "validation.csv, baseline scenario" in validation_text.opening(only).markdown  # nothing current


def test_rates_from_fewer_than_100_replicates_are_never_shown(tmp_path):
    thin = pd.DataFrame(
        [
            _row("baseline", "primary", 40, 0.01, 0.011, 1.0),
            _row("baseline", "donut", 40, 0.01, 0.011, 1.0),
            _row("backlog", "primary", 500, 0.0, 0.003, 0.95),
        ]
    )
    thin["verdict"] = "coverage consistent with 95%; size consistent with 5% (within ±6.8 points)"
    study = validation_text.read_study(str(_folder(tmp_path, {"validation_republication.csv": thin}, {})))
    table = (
        study[0]
        .table.set_index(["scenario", "estimator"])
        .loc[[("baseline", "primary"), ("backlog", "primary")]]
        .reset_index("estimator")
    )
    for col in validation_text.RATE_COLUMNS:
        assert np.isnan(table.loc["baseline", col]) and not np.isnan(table.loc["backlog", col])
    assert table.loc["baseline", "verdict"] == "bias not distinguishable from 0"  # no rate restated
    assert table.loc["baseline", "bias"] == 0.01  # the bias stays, with its own Monte Carlo error
    note = validation_text.thin_note(study[0])
    assert "not shown for 2 row(s) with fewer than 100 replicates (as few as 40)" in note
    shown = validation_text.study_table(study[0])
    assert note in shown[0].markdown
    row = shown[1].frame.iloc[0]
    assert row["Interval coverage"] == "–" and row["Rejected at 5%"] == "–"
    opening = validation_text.opening(study).markdown
    assert "100.0%" not in repr(shown[1]) and "100.0%" not in opening
    assert "40 replicates: bias +0.0100 (Monte Carlo SE 0.0110), 95% interval coverage not shown" in opening
    words = validation_text.holds_up(study).markdown
    assert "**baseline**" not in words and "**backlog**" in words and note in words
    # a table with every rate blanked: nothing judged, and why
    (tmp_path / "all_thin").mkdir()
    thin.iloc[:2].to_csv(tmp_path / "all_thin" / "validation_republication.csv", index=False)
    words = validation_text.holds_up(validation_text.read_study(str(tmp_path / "all_thin"))).markdown
    assert "Nothing is judged here. Coverage and rejection rates are not shown for 2 row(s)" in words


def test_the_project_tables_are_found_from_anywhere_in_a_checkout(tmp_path, monkeypatch):
    root = Path(__file__).resolve().parents[2]
    if not (root / "docs" / "validation" / "validation.csv").exists():
        pytest.skip("an installed package without its docs/")
    monkeypatch.chdir(tmp_path)  # no docs/ here: the checkout's own, as for the methods page
    study = validation_text.read_study()
    names = [t.name for t in study]
    assert "validation.csv" in names and all(t.table["reps"].min() >= 100 for t in study)
    # the current tables first, every record after them
    kinds = [bool(t.superseded) for t in study]
    assert kinds == sorted(kinds) and not kinds[0]
    assert all(t.command for t in study)  # each committed table beside the command that made it


def test_a_folder_named_without_tables_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"no method-study tables at .*missing: it is not a folder"):
        validation_text.read_study(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no method-study table"):
        validation_text.read_study(str(tmp_path / "empty"))


def test_an_installed_package_without_docs_says_where_the_tables_are(tmp_path, monkeypatch):
    """As the methods page does without docs/methods.md: the page says where to find them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(site, "__file__", str(tmp_path / "lib" / "analysis" / "reports" / "site.py"))
    study = validation_text.read_study()
    assert study == [] and validation_text.study_tables(study) == []
    assert "docs/validation/ of the stalking-outcomes source" in validation_text.opening(study).markdown
    assert isinstance(validation_text.study_figure(study), Prose)


def test_pretrend_power_is_reported_beside_the_false_alarm_rate():
    rows = []
    for scenario, rate in (("baseline", 0.05), ("pretrend", 0.62)):
        r = _row(scenario, "placebo_2018", 500, 0.0, 0.004, 0.95, truth=0.0)
        rows.append({**r, "rejection_rate": rate, "rejection_rate_mcse": np.sqrt(rate * (1 - rate) / 500)})
    text = validation_text.pretrend_power(pd.DataFrame(rows))
    assert "placebo_2018 62.0% ± 2.2 (baseline 5.0% ± 1.0)" in text
    assert validation_text.pretrend_power(pd.DataFrame(rows[:1])) == ""
    assert "Power of the pre-trend checks" in validation_text.summary(pd.DataFrame(rows)).markdown
