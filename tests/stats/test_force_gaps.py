"""The force pages' link estimate: each force's own change across April 2020 and its gap from the
national line, pooled by a hierarchical model (analysis.stats.force_gaps)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.demo import generator
from analysis.domain import taxonomy
from analysis.stats import force_gaps, link, method_study
from analysis.stats.link_panel import link_panel

# the link study's data: counted per year, and so assumed by the panels (conftest)
pytestmark = pytest.mark.usefixtures("study_count")


def _sample(scenario: str, seed: int):
    cfg = generator.load_config(
        None, {"seed": seed, "recorded_basis_as_at": method_study.LINK_AS_AT}, scenario
    )
    data = generator.simulate(cfg, offences=(taxonomy.STALKING,))
    outcomes, recorded = method_study._estimator_tables(data)
    d = link.usable(link_panel(outcomes, recorded, (taxonomy.STALKING,)))
    return data, cfg, link.primary_sample(d), link.primary_only(outcomes, recorded).iloc[0]


@pytest.fixture(scope="module")
def heterogeneous():
    """Forces with slopes of their own (sd 0.3) and a bend in the dose: true gaps that are not 0."""
    data, cfg, dp, primary = _sample("heterogeneous", 1001)
    se = (primary["ci_high"] - primary["ci_low"]) / (2 * 2.02)
    return data, cfg, dp, force_gaps.force_gaps(dp, float(primary["estimate"]), float(se))


def test_the_pooled_gaps_recover_the_true_ones_better_than_the_raw(heterogeneous):
    data, _, _, fg = heterogeneous
    t = fg.table
    true = t["force"].map(lambda f: data.truth["forces"][f]["link_gap"])
    assert true.std() > 0.05  # a scenario where forces really differ
    covered = ((t["gap_low"] <= true) & (true <= t["gap_high"])).mean()
    assert covered >= 0.8
    raw = t["raw_gap"] - np.average(t["raw_gap"], weights=1 / t["raw_gap_var"])
    assert np.mean((t["gap"] - true) ** 2) < np.mean((raw - true) ** 2)
    assert np.allclose(t["own_change"], t["line"] + t["gap"])
    assert (t["own_change_low"] <= t["own_change"]).all() and (t["own_change"] <= t["own_change_high"]).all()


def test_the_force_year_spread_is_the_generators(heterogeneous):
    _, cfg, _, fg = heterogeneous
    assert fg.summary["sigma_year"] == pytest.approx(cfg["stalking"]["force_year_sd"], abs=0.06)


def test_a_force_with_fewer_cases_is_drawn_further_towards_the_line(heterogeneous):
    _, _, dp, fg = heterogeneous
    n = fg.table["force"].map(dp.groupby("force")[link.PRIMARY.total].sum())
    # every force's sampling variance is its own; the shrinkage falls as its cases grow
    assert np.corrcoef(np.log(n), fg.table["gap_shrinkage"])[0, 1] < -0.5


def test_the_same_inputs_give_the_same_intervals(heterogeneous):
    _, _, dp, fg = heterogeneous
    again = force_gaps.force_gaps(dp, fg.summary["slope"], fg.summary["slope_se"])
    assert again.table.equals(fg.table)


def test_a_force_far_from_the_average_dose_may_sit_further_from_the_line():
    """Gaps that grow with the dose (each force its own slope): the model's tau_slope finds them,
    and the intervals of forces at extreme doses are the wider."""
    rng = np.random.default_rng(3)
    x = np.linspace(-1, 1, 43)
    v = np.full(43, 0.01)
    y = 0.4 * x * rng.standard_normal(43) + rng.normal(0, 0.1, 43)
    post = force_gaps.gap_posterior(y, v, x)
    assert post.tau_slope > 0.15
    width = np.quantile(post.draws, 0.975, axis=0) - np.quantile(post.draws, 0.025, axis=0)
    assert width[np.abs(x) > 0.8].mean() > width[np.abs(x) < 0.2].mean()
