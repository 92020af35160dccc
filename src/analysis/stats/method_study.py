"""Validation against known truth: a simulation study on generated data.

Each replicate simulates the published tables with the generator (seed + replicate, and any
config overrides), runs every estimator (or, with the "primary" battery, the primary link
estimator alone), and compares it with the generator's truth:
- link estimators: bias, RMSE, 95% interval coverage of `link_slope`, and the rejection rate of
  the null at 5% (the false-positive rate when link_slope = 0, power otherwise); placebo
  breaks have a true value of 0;
- funnel flags: recall of the forces given extreme true effects, and the share of the other
  forces flagged, for each method and level;
- shrinkage: mean squared error of shrunken against raw force charge rates, against the true
  charge probabilities.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis import workers
from analysis.demo import editions as demo_editions
from analysis.demo import generator
from analysis.domain import forces, rules, taxonomy
from analysis.errors import InputError
from analysis.sources.homeoffice import OUTCOME_REQUIRED
from analysis.stats import BATTERIES, force_gaps, funnel, headline, link, nowcast, shrinkage
from analysis.stats.link_panel import counted_as, link_panel
from analysis.stats.measures import NATIONAL, data_source_label

FUNNEL_YEAR = "2020/21"
SHRINK_YEAR = "2022/23"
COLUMNS = [
    "estimator",
    "parameter",
    "truth",
    "mean_estimate",
    "bias",
    "rmse",
    "coverage",
    "rejection_rate",
    "reps",
    "bias_mcse",
    "rmse_mcse",
    "coverage_mcse",
    "rejection_rate_mcse",
    "warned_rate",
    "silent_miss_rate",
    "warned_rate_mcse",
    "silent_miss_rate_mcse",
    "mean_width",
    "mean_width_mcse",
    "verdict",
]
# what the estimators read of the outcomes table: stalking, harassment for the combined model,
# and the comparison set for the negative control and the triple difference; the columns
# every outcomes table must have (the readers' required columns)
STUDY_OFFENCES = ("8Q", "8L", *taxonomy.COMPARISON_OFFENCES)
STUDY_COLUMNS = OUTCOME_REQUIRED
NOMINAL_COVERAGE = 0.95
NOMINAL_SIZE = 0.05
TOTAL = "link total (behaviour + case mix)"  # the parameter every dose x post estimator on stalking measures
MAX_SILENT_MISS = 0.05  # the headline's target: intervals that miss with no warning shown, at most 5%
Z = 1.96  # a measured value further than Z Monte Carlo errors from its target is told apart
# The link batteries' tables were made with each year's recorded basis counted a quarter after its
# own end (every year equally immature); the demo data count it to one date as a republication
# does. The nowcast battery needs the latter, and rerunning the link tables under it is open.
LINK_AS_AT = "year"
# Every battery's tables were made with force sizes from population and random recording effects,
# before the demo's sizes were calibrated to the real 2017/18 PFA table: the study keeps that.
STUDY_PINS: dict = {"calibration": {"file": ""}}
NOWCAST_EDITIONS = 3  # the nowcast battery's editions per replicate, a quarter apart


def one_replicate(args: tuple) -> list[dict]:
    """Simulate one dataset and return one record per estimator and parameter (the primary link
    estimator's alone under the "primary" battery). `args`: (replicate, overrides, config,
    scenario, battery) and, optionally, the comparison set (default `link.COMPARISON`)."""
    rep, overrides, config, scenario, battery, *rest = args
    comparison = taxonomy.normalise_offence_codes(rest[0]) if rest else link.COMPARISON
    if battery == "nowcast":
        return _nowcast_records(rep, generator.load_config(config, {**STUDY_PINS, **overrides}, scenario))
    pins = {**STUDY_PINS, "recorded_basis_as_at": LINK_AS_AT}
    cfg = generator.load_config(config, {**pins, **overrides}, scenario)
    # the link panel assumes the count the data were generated with, as it assumes the
    # republication count on published files
    with counted_as(cfg["recorded_basis_as_at"]):
        return _link_battery(rep, cfg, battery, comparison)


def _link_battery(
    rep: int, cfg: dict, battery: str, comparison: tuple[str, ...] = link.COMPARISON
) -> list[dict]:
    """One replicate's records under a link battery ("full", "primary" or "headline"), with
    `comparison` as the negative control's comparison set."""
    primary = battery == "primary"  # the stalking rows alone: no harassment, no comparison set
    # the same stalking rows either way: the generator draws the comparison set's further
    # offences from streams of their own, and keeps only the offences asked for
    wanted = (taxonomy.STALKING,) if primary else (taxonomy.STALKING, taxonomy.HARASSMENT, *comparison)
    data = generator.simulate(cfg, offences=wanted)
    outcomes, recorded = _estimator_tables(data)
    truth = Truths.of(cfg, data.truth, comparison)
    if primary:
        return _link_records(rep, link.primary_only(outcomes, recorded), truth)
    if battery == "headline":
        return _headline_records(rep, outcomes, recorded, truth, comparison)
    res = link.run_link(
        outcomes, recorded, bootstrap_reps=399, permutation_reps=99, seed=rep + 1, comparison=comparison
    )
    headline.attach(res, outcomes, recorded, comparison)
    out = _link_records(rep, res.models, truth, warned=res.primary["headline"]["warned"])
    panel = closed_counts(outcomes, (FUNNEL_YEAR, SHRINK_YEAR))
    out += _funnel_records(rep, panel, data.truth, float(cfg["stalking"]["force_sd"]))
    out += _shrinkage_records(rep, panel, data.truth)
    return out


@dataclass(frozen=True)
class Truths:
    """What each link estimator is scored against in one replicate (truth.json's `link`): the
    total link (behaviour plus case mix, the change in the charge rate of what is recorded as
    stalking, which every dose x post estimator on stalking's own counts measures), the 2018
    link for the 2018 replication, and which diagnostics have a true value of 0 under this
    scenario (none where the scenario plants the very problem a diagnostic looks for: its
    rejection rate is then its power)."""

    total: float
    slope_2018: float
    pre_trend_free: bool  # no dose-related pre-2020 trend and no 2018 link inside the pre years
    dose_exact: bool  # the published dose is the change charging follows (no recording-practice error)
    delays_flat: bool  # post-2020 charging delays do not grow with the dose
    shocks_unrelated: bool  # no charging shock shared with the comparison set tracks the dose
    bent: bool  # the link is curved in the dose (heterogeneous's slope_curvature)
    gaps: dict[str, float]  # each force's true gap from the national line (the force pages' estimand)
    comparison: str  # what the negative control pools, in the tables' words

    @classmethod
    def of(cls, cfg: dict, truth: dict, comparison: tuple[str, ...] = link.COMPARISON) -> Truths:
        """The truths of one replicate; `comparison` the negative control's set (one offence
        keeps the words of the tables made with 46 alone)."""
        sc, link_truth = cfg["scenario"], truth["link"]
        return cls(
            total=float(link_truth["total"]),
            slope_2018=float(link_truth["slope_2018"]),
            pre_trend_free=not (sc["pretrend_sd"] and sc["pretrend_dose_corr"])
            and not link_truth["slope_2018"],
            dose_exact=not sc["dose_error_sd"],
            delays_flat=not sc["charge_delay_post_per_dose"] and not sc["charge_delay_per_dose"],
            shocks_unrelated=not (sc["backlog_2020"] and sc["backlog_dose_corr"]),
            bent=bool(sc["slope_curvature"]),
            gaps={f: float(t["link_gap"]) for f, t in truth["forces"].items()},
            comparison="comparison offence" if len(comparison) == 1 else "comparison set",
        )

    def of_estimator(self, name: str) -> tuple[float, str]:
        """(true value, what it is) for one row of the link models table."""
        zero_unless = {
            "pre_trend_linear": (self.pre_trend_free, "no dose-related pre-trend"),
            "exposure_check": (self.dose_exact, "the published dose exact"),
            "maturity_check": (self.delays_flat, "delays that do not grow with the dose"),
            # the comparison set shares the scenarios' courts and delays
            "negative_control": (
                self.shocks_unrelated and self.delays_flat,
                f"no shock or delay shared with the {self.comparison} that tracks the dose",
            ),
        }
        zero_unless["negative_control_check"] = zero_unless["negative_control"]  # the headline's row of it
        if name.startswith("placebo") or name.startswith("event_study_pre_trend"):
            zero_unless[name] = (self.pre_trend_free, "no effect before 2020")
        if name in zero_unless:
            holds, why = zero_unless[name]
            if holds:
                return 0.0, f"zero ({why})"
            return np.nan, f"not zero here: this scenario plants what it looks for (power; {why} fails)"
        if name == "break_2018":
            return self.slope_2018, "link_slope_2018"
        if name.startswith("dose_tercile"):
            # a log-odds difference between dose thirds: the slope times their dose gap, not set here
            return np.nan, "dose third against the bottom third (no true value)"
        if name == "dose_spline_nonlinearity":
            # the generator's link is a straight line in the dose unless a scenario bends it
            return (
                (np.nan, "spline's change in slope (bent: no true value)")
                if self.bent
                else (0.0, "spline's change in slope (0: linear)")
            )
        if name == "combined_8Q_8L":
            return np.nan, "slope on the 8Q + 8L dose: a different estimand (no true value)"
        return self.total, TOTAL


def _headline_records(
    rep: int,
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    truth: Truths,
    comparison: tuple[str, ...] = link.COMPARISON,
) -> list[dict]:
    """The headline battery: the primary, the headline as printed and its diagnostics, the 2018
    replication (about a tenth of the full battery's cost)."""
    d = link.usable(link_panel(outcomes, recorded))
    summary, rows = headline.assess(outcomes, recorded, d, comparison)
    primary = link.primary_only(outcomes, recorded)
    models = pd.concat([primary, pd.DataFrame([r.row() for r in rows])])
    out = _link_records(rep, models, truth, warned=summary["warned"])
    return out + _force_gap_records(rep, link.primary_sample(d), primary.iloc[0], truth.gaps)


def _force_gap_records(rep: int, dp: pd.DataFrame, primary: pd.Series, gaps: dict[str, float]) -> list[dict]:
    """The force pages' link estimate (analysis.stats.force_gaps) scored against each force's
    true gap from the national line: the share of forces whose 95% interval holds it (target at
    least 90%), the mean squared error of the pooled gaps and of the raw ones, and the intervals'
    median width."""
    level = 0.95
    tq = stats.t.ppf(0.5 + level / 2, int(primary["n_forces"]) - 1)
    se = (primary["ci_high"] - primary["ci_low"]) / (2 * tq)  # the primary's CV3 SE, from its interval
    t = force_gaps.force_gaps(dp, float(primary["estimate"]), float(se), level).table
    true = t["force"].map(gaps).to_numpy(float)
    raw = t["raw_gap"] - np.average(t["raw_gap"], weights=1 / t["raw_gap_var"])  # against the line's level
    rows = [
        (
            "share of forces whose 95% interval holds their true gap",
            NOMINAL_COVERAGE,
            float(((t["gap_low"] <= true) & (true <= t["gap_high"])).mean()),
        ),
        ("MSE of force gaps (pooled)", 0.0, float(np.mean((t["gap"] - true) ** 2))),
        ("MSE of force gaps (raw)", 0.0, float(np.mean((raw - true) ** 2))),
        ("median width of the 95% gap intervals", np.nan, float(np.median(t["gap_high"] - t["gap_low"]))),
    ]
    return [
        {"rep": rep, "estimator": "force_gap", "parameter": par, "truth": tr, "estimate": est}
        for par, tr, est in rows
    ]


def _nowcast_records(rep: int, cfg: dict) -> list[dict]:
    """The nowcast battery: NOWCAST_EDITIONS successive editions of one replicate (the demo's
    editions, recorded basis counted to each edition's date), the nowcast from all of them and
    from the latest alone, and the rate as published, each scored per force-year against the
    generator's eventual charges (the published quarters' truth.json `eventual_charges`) over
    the offences recorded: the share of force-years whose 95% interval holds the eventual rate
    (target at least 90%), and the rates' mean error and mean squared error."""
    dates = demo_editions.edition_dates(cfg, NOWCAST_EDITIONS)
    datas = [
        generator.simulate(demo_editions.edition_config(cfg, k + 1, d), offences=(taxonomy.STALKING,))
        for k, d in enumerate(dates)
    ]
    held = [nowcast.Edition(d.isoformat(), data.outcomes) for d, data in zip(dates, datas)]
    eventual = _eventual_rates(held[-1], datas[0].truth["eventual_charges"]["forces"])
    out: list[dict] = []
    for name, chain in (("nowcast_editions", held), ("nowcast_one_edition", held[-1:])):
        t = nowcast.nowcast(chain)
        t = t[t["force"] != NATIONAL].merge(eventual, on=["force", "financial_year"])
        true = t["eventual_rate"]
        rows = [
            (
                "share of force-years whose 95% interval holds the eventual charge rate",
                NOMINAL_COVERAGE,
                float(
                    (
                        (t["charge_rate_expected_low"] <= true) & (true <= t["charge_rate_expected_high"])
                    ).mean()
                ),
            ),
            (
                "mean error of the expected final charge rate (points)",
                0.0,
                float(100 * (t["charge_rate_expected"] - true).mean()),
            ),
            (
                "MSE of the expected final charge rate (points squared)",
                0.0,
                float(((100 * (t["charge_rate_expected"] - true)) ** 2).mean()),
            ),
            (
                "mean error of the rate as published (points)",
                0.0,
                float(100 * (t["charge_rate_recorded"] - true).mean()),
            ),
            (
                "MSE of the rate as published (points squared)",
                0.0,
                float(((100 * (t["charge_rate_recorded"] - true)) ** 2).mean()),
            ),
            ("force-years projected", np.nan, float(len(t))),
        ]
        out += [
            {"rep": rep, "estimator": name, "parameter": par, "truth": tr, "estimate": est}
            for par, tr, est in rows
        ]
    return out


def _eventual_rates(latest: nowcast.Edition, charges: dict[str, dict[str, list[int]]]) -> pd.DataFrame:
    """Per force and year: the eventual charges of the quarters the latest edition publishes
    over the offences recorded in them (the nowcast's estimand)."""
    coh = nowcast.cohorts(latest.outcomes)
    coh["eventual"] = [
        charges[f][y][q - 1] for f, y, q in zip(coh["force"], coh["financial_year"], coh["quarter"])
    ]
    sums = coh.groupby(["force", "financial_year"])[["eventual", "offences"]].sum()
    return (sums["eventual"] / sums["offences"]).rename("eventual_rate").reset_index()


def _link_records(rep: int, models: pd.DataFrame, truth: Truths, warned: bool | None = None) -> list[dict]:
    """One record per row of the link models table, with that estimator's true value; the
    `headline` row also records whether any warning shown beside it fired."""
    out: list[dict] = []
    for row in models.to_dict("records"):
        name = row["estimator"]
        value, parameter = truth.of_estimator(name)
        record = {
            "rep": rep,
            "estimator": name,
            "parameter": parameter,
            "truth": value,
            "estimate": row["estimate"],
            "ci_low": row["ci_low"],
            "ci_high": row["ci_high"],
            "p_value": row["p_value"],
        }
        if name == "headline":
            record["warned"] = warned
        out.append(record)
    return out


def _estimator_tables(data: generator.SyntheticData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tidy tables cut to the rows and columns the estimators read (stalking and harassment;
    no descriptions), which makes their selections and group sums several times cheaper and
    changes no estimate (a test checks)."""
    keep_o = data.outcomes["offence_code"].isin(STUDY_OFFENCES).to_numpy()
    keep_r = data.recorded["offence_code"].isin(STUDY_OFFENCES).to_numpy()
    if keep_o.all() and keep_r.all():  # simulated with only these offences: no rows to drop
        return data.outcomes[list(STUDY_COLUMNS)], data.recorded
    outcomes = data.outcomes.loc[keep_o, list(STUDY_COLUMNS)].reset_index(drop=True)
    return outcomes, data.recorded[keep_r].reset_index(drop=True)


def closed_counts(outcomes: pd.DataFrame, years: tuple[str, ...], offence: str = "8Q") -> pd.DataFrame:
    """The rows and columns of `measures.force_year` the funnel and shrinkage scores read
    (financial_year, force, outcomes_closed, charged_closed) for the given years, in its order,
    summed straight from the outcomes (the whole panel with its intervals costs more than every
    funnel and shrinkage fit together; a test holds the two equal)."""
    o = outcomes[
        (outcomes["offence_code"] == offence)
        & outcomes["financial_year"].isin(years)
        & outcomes["outcome_type"].isin(taxonomy.CLOSED)
    ]
    key = ["financial_year", "force"]
    charged = o["closed_basis"].where(o["outcome_type"].isin(taxonomy.CHARGED))
    panel = pd.DataFrame(
        {
            "outcomes_closed": o.groupby(key)["closed_basis"].sum(min_count=1),
            "charged_closed": charged.groupby([o[k] for k in key]).sum(min_count=1),
        }
    ).reset_index()
    order = {name: i for i, name in enumerate(forces.names())}
    return panel.sort_values(key, key=lambda s: s.map(order) if s.name == "force" else s).reset_index(
        drop=True
    )


def _shrinkage_records(rep: int, panel: pd.DataFrame, truth: dict) -> list[dict]:
    """Shrinkage scored against the right target: the true charge probability of the cases
    closed in the year (each recording cohort's probability weighted by its closures that
    year), since a closed-basis rate estimates that, not one cohort's probability. Mean squared
    error (shrunken and raw), the coverage of the 95% intervals, and of the rank intervals
    (the force's true rank among forces by that target)."""
    sh = shrinkage.shrink(rules.closed_in_year(panel, SHRINK_YEAR).rows)
    u = sh.units
    target = u["force"].map(lambda f: truth["forces"][f]["charge_probability_closed"][SHRINK_YEAR])
    true_rank = (-target).rank(method="first").astype(int)  # 1 = highest, as the rank intervals
    mse_raw = float(np.mean((u["raw_rate"] - target) ** 2))
    mse_shr = float(np.mean((u["shrunk_rate"] - target) ** 2))
    year = f"{SHRINK_YEAR}, cases closed that year"
    rows = [
        ("raw_rates", f"MSE of force charge rates {year}", 0.0, mse_raw),
        ("shrinkage_hb", f"MSE of force charge rates {year}", 0.0, mse_shr),
        ("shrinkage_hb", "MSE ratio shrunken / raw", np.nan, mse_shr / mse_raw),
        (
            "shrinkage_hb",
            "share of forces whose 95% interval holds the true rate",
            0.95,
            float(((u["shrunk_low"] <= target) & (target <= u["shrunk_high"])).mean()),
        ),
        (
            "shrinkage_hb",
            "share of forces whose 95% rank interval holds the true rank",
            0.95,
            float(((u["rank_low"] <= true_rank) & (true_rank <= u["rank_high"])).mean()),
        ),
    ]
    return [
        {"rep": rep, "estimator": e, "parameter": par, "truth": tr, "estimate": est}
        for e, par, tr, est in rows
    ]


def _funnel_records(rep: int, panel: pd.DataFrame, truth: dict, force_sd: float) -> list[dict]:
    """Funnel flags scored against two truths, which differ:
    - "unusual among forces": the force's true charge effect lies outside the central `level`
      of the forces' true random-effects distribution N(0, force_sd^2), the question funnel
      limits that allow for overdispersion answer (ideal: recall 1, ordinary forces flagged 0);
    - "different from the target": every force with a non-zero true effect differs from the
      pooled rate, so flagging an ordinary force is not an error in this sense; the share
      flagged is reported without a target, beside the recall of the configured extreme forces.
    """
    year = rules.closed_in_year(panel, FUNNEL_YEAR).rows
    fun = funnel.funnel(year)
    present = set(fun.units["force"])
    effect = {f: t["charge_effect"] for f, t in truth["forces"].items() if f in present}
    extreme = {f for f, t in truth["forces"].items() if t["extreme"]} & present
    out = []
    for method in funnel.METHODS:
        direction, flag_level = funnel.flag_columns(method)
        for level in fun.summary["levels"]:
            # flagged at this level or beyond: crossing a wider limit crosses this one too
            hit = (fun.units[direction] != "within") & (fun.units[flag_level] >= level)
            flagged = set(fun.units.loc[hit, "force"])
            bound = float(stats.norm.ppf(0.5 + level / 2)) * force_sd
            unusual = {f for f, e in effect.items() if abs(e) > bound}
            usual = present - unusual
            scores = [
                ("recall of forces unusual among forces", 1.0, flagged, unusual),
                ("share of ordinary forces flagged (not unusual among forces)", 0.0, flagged, usual),
                ("recall of true extreme forces (different from the target)", 1.0, flagged, extreme),
                (
                    "share of other forces flagged (all differ from the target)",
                    np.nan,
                    flagged,
                    present - extreme,
                ),
            ]
            for parameter, target, got, among in scores:
                if among:
                    out.append(
                        {
                            "rep": rep,
                            "estimator": f"funnel_{method}_{100 * level:.3g}%",
                            "parameter": parameter,
                            "truth": target,
                            "estimate": len(got & among) / len(among),
                        }
                    )
    return out


def _proportion_mcse(p: float, reps: int) -> float:
    return float(np.sqrt(p * (1 - p) / reps)) if np.isfinite(p) and reps else np.nan


@dataclass(frozen=True)
class Targets:
    """Where one row of the method-study table stands against each target, by Monte Carlo
    error (Morris, White and Crowther 2019): None where the row does not measure it; for
    coverage and size, "below", "above" (missed beyond Monte Carlo error) or "" (met)."""

    bias_distinguishable: bool | None
    coverage: str | None
    size: str | None
    size_band: float  # how far a method with exactly 5% size would wander (2 MC errors)
    # the headline's silent-miss rate against its 5% ceiling: "below" or "above" it beyond Monte
    # Carlo error, or "" (cannot be told from 5% at this number of replicates: not shown met)
    silent: str | None = None

    @property
    def missed(self) -> bool:
        """Whether any target is missed beyond Monte Carlo error."""
        return (
            bool(self.bias_distinguishable)
            or bool(self.coverage)
            or bool(self.size)
            or self.silent == "above"
        )


def targets(row) -> Targets:
    """The one place the study decides, from a row's numbers, which targets (bias 0, coverage
    95%, size 5%) it meets, misses, or cannot tell apart at its number of replicates: the
    verdict's words, the method page's judgements and tools/validation_table.py all read this."""
    reps = row["reps"]
    bias = None
    if np.isfinite(row["bias"]) and np.isfinite(row["bias_mcse"]):
        bias = bool(abs(row["bias"]) > Z * row["bias_mcse"])
    coverage = None
    if np.isfinite(row["coverage"]):
        # the target's own Monte Carlo error: how far a method with exactly 95% would wander
        gap = row["coverage"] - NOMINAL_COVERAGE
        coverage = (
            ""
            if abs(gap) <= Z * _proportion_mcse(NOMINAL_COVERAGE, reps)
            else ("below" if gap < 0 else "above")
        )
    size, band = None, Z * _proportion_mcse(NOMINAL_SIZE, reps)
    if np.isfinite(row["rejection_rate"]) and row["truth"] == 0:
        gap = row["rejection_rate"] - NOMINAL_SIZE
        size = "" if abs(gap) <= band else ("above" if gap > 0 else "below")
    silent = None
    if np.isfinite(row.get("silent_miss_rate", np.nan)):
        gap = row["silent_miss_rate"] - MAX_SILENT_MISS
        silent = "" if abs(gap) <= band else ("above" if gap > 0 else "below")
    return Targets(bias, coverage, size, band, silent)


def verdict(row) -> str:
    """What the replicates can and cannot tell about this row, at their number, in words (from
    `targets`)."""
    t = targets(row)
    parts = []
    if t.bias_distinguishable is not None:
        parts.append(
            f"bias {'distinguishable from 0' if t.bias_distinguishable else 'not distinguishable from 0'}"
        )
    if t.coverage is not None:
        parts.append(
            f"coverage {t.coverage} 95% beyond Monte Carlo error"
            if t.coverage
            else "coverage consistent with 95%"
        )
    if t.size is not None:
        parts.append(
            f"size {t.size} 5% beyond Monte Carlo error"
            if t.size
            else f"size consistent with 5% (within ±{100 * t.size_band:.1f} points)"
        )
    if t.silent is not None:
        parts.append(
            {
                "above": "silent misses above 5% beyond Monte Carlo error (target missed)",
                "below": "silent misses below 5% beyond Monte Carlo error (target met)",
                "": f"silent misses not distinguishable from 5% (within ±{100 * t.size_band:.1f} points: not shown met)",
            }[t.silent]
        )
    return "; ".join(parts)


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """The method-study table (validate-methods): one row per estimator and parameter, each performance measure with its
    Monte Carlo standard error, and a verdict against the targets.

    Each replicate is scored against its own truth (under `heterogeneous` the average slope is
    drawn afresh in each); `truth` is their mean."""
    rows = []
    for (est, par), g in records.groupby(["estimator", "parameter"], sort=False):
        t = g["truth"].astype(float)
        e = g["estimate"].astype(float)
        reps = len(g)
        has_ci = "ci_low" in g and g["ci_low"].notna().any()
        has_p = "p_value" in g and g["p_value"].notna().any()
        known = bool(np.isfinite(t).all())
        err = e - t
        sq = err**2
        rmse = float(np.sqrt(sq.mean())) if known else np.nan
        coverage = float(((g["ci_low"] <= t) & (t <= g["ci_high"])).mean()) if has_ci and known else np.nan
        rejection = float((g["p_value"] < 0.05).mean()) if has_p else np.nan
        row = {
            "estimator": est,
            "parameter": par,
            "truth": float(t.mean()) if known else np.nan,
            "mean_estimate": e.mean(),
            "bias": float(err.mean()) if known else np.nan,
            "rmse": rmse,
            "coverage": coverage,
            "rejection_rate": rejection,
            "reps": reps,
            "bias_mcse": float(err.std(ddof=1) / np.sqrt(reps)) if known and reps > 1 else np.nan,
            # delta method on the MSE's own standard error
            "rmse_mcse": float(sq.std(ddof=1) / np.sqrt(reps) / (2 * rmse))
            if known and reps > 1 and rmse > 0
            else np.nan,
            "coverage_mcse": _proportion_mcse(coverage, reps),
            "rejection_rate_mcse": _proportion_mcse(rejection, reps),
            **_warning_rates(g, t, has_ci and known),
            **(_width(g) if has_ci else {"mean_width": np.nan, "mean_width_mcse": np.nan}),
        }
        row["verdict"] = verdict(row)
        rows.append(row)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["data_source"] = data_source_label(True)  # every replicate is generated data
    return out


def _warning_rates(g: pd.DataFrame, t: pd.Series, scored: bool) -> dict[str, float]:
    """For the headline (records carrying `warned`): the share of replicates in which a warning
    shown to readers fired, and the share whose interval misses the truth with no warning shown
    (a silent miss), each with its Monte Carlo error; NaN for every other estimator."""
    reps = len(g)
    if "warned" not in g or g["warned"].isna().all():
        return {
            k: np.nan
            for k in ("warned_rate", "silent_miss_rate", "warned_rate_mcse", "silent_miss_rate_mcse")
        }
    warned = g["warned"].astype(bool)
    miss = ~((g["ci_low"] <= t) & (t <= g["ci_high"])) if scored else pd.Series(np.nan, index=g.index)
    silent = float((miss.astype(bool) & ~warned).mean()) if scored else np.nan
    rate = float(warned.mean())
    return {
        "warned_rate": rate,
        "silent_miss_rate": silent,
        "warned_rate_mcse": _proportion_mcse(rate, reps),
        "silent_miss_rate_mcse": _proportion_mcse(silent, reps),
    }


def _width(g: pd.DataFrame) -> dict[str, float]:
    """The mean width of the 95% intervals (upper less lower, on the estimate's scale) and its
    Monte Carlo error: what a bound's coverage is bought with (an interval that covers by being
    wide says little). Replicates whose interval could not be computed are left out."""
    w = (g["ci_high"].astype(float) - g["ci_low"].astype(float)).dropna()
    n = len(w)
    return {
        "mean_width": float(w.mean()) if n else np.nan,
        "mean_width_mcse": float(w.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
    }


def _with_error(value: float, mcse: float) -> str:
    if not np.isfinite(value):
        return ""
    return f"{value:.4g} ({mcse:.2g})" if np.isfinite(mcse) else f"{value:.4g}"


def summary_text(table: pd.DataFrame) -> str:
    """The printed study: each measure with its Monte Carlo standard error in brackets, and
    the verdict against the targets."""
    shown = pd.DataFrame(
        {
            "estimator": table["estimator"],
            "parameter": table["parameter"],
            "truth": table["truth"].map(lambda v: "" if v != v else f"{v:.4g}"),
            "mean": table["mean_estimate"].map(lambda v: "" if v != v else f"{v:.4g}"),
            **{
                name: [_with_error(v, s) for v, s in zip(table[col], table[f"{col}_mcse"])]
                for name, col in (
                    ("bias (MCSE)", "bias"),
                    ("RMSE (MCSE)", "rmse"),
                    ("coverage (MCSE)", "coverage"),
                    ("rejection (MCSE)", "rejection_rate"),
                    ("warned (MCSE)", "warned_rate"),
                    ("silent miss (MCSE)", "silent_miss_rate"),
                    ("mean width (MCSE)", "mean_width"),
                )
            },
            "reps": table["reps"],
            "verdict": table["verdict"],
        }
    )
    return shown.to_string(index=False)


def validate_methods(
    reps: int,
    config: Path | None = None,
    seed: int = 1000,
    overrides: dict | None = None,
    jobs: int | None = None,
    progress: bool = False,
    scenario: str = "baseline",
    executor: str = "local",
    scheduler: str | None = None,
    battery: str = "full",
    comparison: tuple[str, ...] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the simulation study under one named scenario (its settings, then `config`, then
    `overrides`); return (validation table, per-replicate records), both with the scenario.
    `battery` is "full" (every estimator) or "primary" (the primary link estimator alone);
    `comparison` the negative control's comparison set (the tables made before the set was
    chosen used shoplifting, 46, alone)."""
    base = dict(overrides or {})
    cfg = generator.load_config(config, base, scenario)  # fail fast on a bad config or scenario
    if battery not in BATTERIES:
        raise ValueError(f"battery must be one of {BATTERIES}, not {battery!r}")
    codes = taxonomy.comparison_for(taxonomy.STALKING, comparison)
    made = [cfg[s]["code"] for s in generator.ALL_SERIES if cfg[s]["code"] != taxonomy.STALKING]
    if odd := [c for c in codes if c not in made]:
        raise InputError(
            f"--comparison {','.join(codes)}: the generator makes no {', '.join(odd)} to compare "
            f"stalking with (it makes {', '.join(made)}); give codes from those."
        )
    tasks = [(r, dict(base, seed=seed + r), config, scenario, battery, codes) for r in range(reps)]
    jobs = jobs or min(os.cpu_count() or 1, reps)
    # the records in task order whatever the executor, so they do not depend on which worker
    # finished first
    if executor == "dask":
        iterator = workers.dask_map(one_replicate, tasks, jobs, scheduler, setup=workers.limit_threads)
    elif jobs <= 1:
        workers.limit_threads()  # one BLAS thread here too, as in the workers
        iterator = map(one_replicate, tasks)
    else:
        iterator = workers.pool_map(one_replicate, tasks, jobs)
    records = pd.DataFrame(_collect(iterator, reps, progress))
    records.insert(0, "scenario", scenario)
    records["data_source"] = data_source_label(True)
    table = summarise(records)
    table.insert(0, "scenario", scenario)
    return table, records


def run_scenarios(
    names: list[str], reps: int, seed: int = 1000, overrides: dict | None = None, jobs: int | None = None
) -> pd.DataFrame:
    """The validation tables of several scenarios, one after another, in one table (the
    scenario in its first column)."""
    tables = [validate_methods(reps, seed=seed, overrides=overrides, jobs=jobs, scenario=n)[0] for n in names]
    return pd.concat(tables, ignore_index=True)


def _collect(iterator: Iterable[list[dict]], reps: int, progress: bool) -> list[dict]:
    """Every replicate's records, in the order given, with a progress bar if asked."""
    out: list[dict] = []
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=reps, desc="replicates", unit="rep")
    for recs in iterator:
        out.extend(recs)
    return out
