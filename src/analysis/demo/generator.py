"""The demo-data generator: files in exactly the published layout, from a model whose true
parameters are known and written to truth.json.

The model, per offence (8Q stalking, 8L harassment, and the link models' comparison set, 46
shoplifting, 105A assault without injury and 58C criminal damage to a vehicle, as offences the
stalking rules do not touch):
- offences recorded per force and quarter: national expected totals (calibrated) shared between
  forces by their real 2017/18 counts (`analysis.demo.calibration`; or, with that turned off,
  population and a random recording effect), with force-specific jumps at the
  April 2018 and April 2020 counting-rule changes, and gamma-Poisson (overdispersed) noise; part
  of each force's 2020 stalking rise is moved out of harassment (reclassification);
- the comparison set beyond shoplifting (`COMPARISON_SERIES`): force effects on recording and
  charging, force-year noise, and the scenarios' shocks and delays shared with every offence,
  each from a random stream of its own;
- each offence's eventual outcome: charge with probability expit(mu_year + force effect +
  link_slope * centred dose * post-2020 + force-year noise), otherwise a non-charge type from a
  force-level Dirichlet mix; mu_year is solved so the national rate matches the calibration;
- each outcome's delay in quarters from a fixed distribution, which makes the recorded basis
  (outcomes so far for offences recorded in the quarter, the rest type 0) and the closed basis
  (outcomes assigned in the quarter) consistent, and the latest quarters censored;
- the published quirks: markers, negative corrections, the Greater Manchester gap, header and
  sheet-name variants, older .ods editions, alias force names, trailing spaces, a total row.
"""

from __future__ import annotations

import copy
import json
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.optimize import brentq
from scipy.special import expit

from analysis import __version__
from analysis.demo import AS_AT, calibration, scenarios
from analysis.demo.publish import (
    OutcomesLayout,
    Sheet,
    cover_sheet,
    outcome_rows,
    write_workbook,
)
from analysis.domain import forces, periods, taxonomy
from analysis.errors import InputError
from analysis.sources.homeoffice import (
    GENERATED_MARKER,
    NUMBER_OF_OUTCOME_HEADERS,
    OLD_OUTCOME_HEADERS,
    PFA_COUNT_HEADERS,
    PFA_HEADERS,
)

SYNTHETIC_PREFIX = "synthetic-"
N_TYPES = 23
GMP = "Greater Manchester"
GMP_GAP = ("2019/20", (2, 3, 4))
SERIES = ("stalking", "harassment", "other")
# The comparison set's further offences (taxonomy.COMPARISON_SET), drawn after the others from
# streams of their own, so that the stalking, harassment and shoplifting data are the same with
# or without them; the publication quirks fall on the first three series alone, as before.
COMPARISON_SERIES = ("assault", "damage")
ALL_SERIES = SERIES + COMPARISON_SERIES
EVENTUAL_DESCRIPTION = (
    "stalking (8Q) charges/summonses (outcome type 1) that the offences recorded in each quarter "
    "(Apr-Jun, Jul-Sep, Oct-Dec, Jan-Mar) eventually get, every delay counted, per force and "
    "financial year: what the recorded basis reaches once every investigation is closed, and what "
    "a nowcast of a recent year's final charge rate is scored against"
)


def default_config() -> dict:
    """The packaged default config (every true parameter)."""
    text = files("analysis.demo").joinpath("config.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _merge(base: dict, over: dict, path: str = "") -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k not in base and not path.endswith("extreme_forces"):
            valid = ", ".join(sorted(base))
            raise InputError(f"config key '{path}{k}' is not a generator parameter (valid here: {valid}).")
        if isinstance(v, dict) and isinstance(base.get(k), dict) and not path.endswith("extreme_forces"):
            out[k] = _merge(base[k], v, f"{path}{k}.")
        else:
            out[k] = v
    return out


def load_config(
    path: Path | str | None = None, overrides: dict | None = None, scenario: str | None = None
) -> dict:
    """The default config, overridden by a named scenario, then a TOML file, then a dict;
    checked."""
    cfg = default_config()
    if scenario is not None:
        cfg = _merge(cfg, scenarios.overlay(scenario))
    if path is not None:
        path = Path(path)
        try:
            user = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"--config {path}: file not found.") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"--config {path}: not valid TOML ({exc}).") from None
        cfg = _merge(cfg, user)
    if overrides:
        cfg = _merge(cfg, overrides)
    _check_config(cfg)
    return cfg


def _check_config(cfg: dict) -> None:
    try:
        first, last = periods.fy_start(cfg["first_year"]), periods.fy_start(cfg["last_year"])
        pfa_first = periods.fy_start(cfg["pfa_first_year"])
    except ValueError as exc:
        raise InputError(f"config: {exc}") from None
    if not 2014 <= first <= 2020 or not 2020 < last <= 2030 or pfa_first > first:
        raise InputError(
            "config: first_year must lie in 2014/15-2020/21, last_year after "
            "2020/21 (the April 2020 change must be inside the data), and "
            "pfa_first_year no later than first_year."
        )
    for s in ALL_SERIES:
        for key in ("recorded", "charge_rate"):
            for y in range(pfa_first if s != "stalking" else max(first, 2014), last + 1):
                if periods.fy_label(y) not in cfg[s][key]:
                    raise InputError(f"config: [{s}].{key} has no value for {periods.fy_label(y)}.")
        for y, r in cfg[s]["charge_rate"].items():
            if not 0 < r < 1:
                raise InputError(f"config: [{s}].charge_rate for {y} must lie between 0 and 1.")
    for name in cfg["stalking"]["extreme_forces"]:
        forces.resolve(name, context="config [stalking.extreme_forces]")
    if not isinstance(cfg["link_slope"], (int, float)):
        raise InputError("config: link_slope must be a number.")
    if cfg["recorded_basis_as_at"] not in AS_AT:
        raise InputError(f"config: recorded_basis_as_at must be one of {', '.join(AS_AT)}.")
    calibration.check(cfg, SERIES)


@dataclass
class SyntheticData:
    """The published tables the generator writes (markers as missing), and the truth."""

    outcomes: pd.DataFrame  # tidy, as the readers should return it
    recorded: pd.DataFrame
    truth: dict


def _years(first: str, last: str) -> list[str]:
    return [periods.fy_label(y) for y in range(periods.fy_start(first), periods.fy_start(last) + 1)]


def _sizes(cfg: dict) -> np.ndarray:
    pops = [
        f.population_thousands
        if f.population_thousands is not None
        else cfg["volumes"]["btp_population_thousands"]
        for f in forces.registry()
    ]
    w = np.asarray(pops, dtype=float)
    return w / w.sum()


def _solve_intercept(target: float, weights: np.ndarray, shifts: np.ndarray) -> float:
    """mu such that the weighted mean of expit(mu + shifts) equals target."""
    w = weights / weights.sum()
    return float(brentq(lambda mu: float(np.dot(w, expit(mu + shifts))) - target, -15, 15))


@dataclass(frozen=True)
class _Grid:
    """The years and forces a simulation covers."""

    forces: tuple[forces.Force, ...]
    all_years: list[str]  # from the first PFA year
    out_years: list[str]  # the years with an outcomes workbook
    start: dict[str, int]  # each year's first calendar year

    @property
    def nf(self) -> int:
        return len(self.forces)

    @property
    def ny(self) -> int:
        return len(self.all_years)

    def index(self, year: str) -> int:
        return self.all_years.index(year)

    def after(self, year: int) -> np.ndarray:
        """Per year: whether it starts in `year` or later."""
        return np.array([self.start[y] >= year for y in self.all_years])


@dataclass(frozen=True)
class _Recording:
    """Force effects on recording: the level per series, the jumps at the 2018 and 2020 changes,
    and the share of each force's 2020 rise moved out of harassment."""

    effect: dict[str, np.ndarray]
    growth_2018: np.ndarray
    growth_2020: np.ndarray
    reclassified: np.ndarray


@dataclass(frozen=True)
class _Charging:
    """Charge probabilities per series, year and force, with the force effects and the
    year intercepts that produced them."""

    force_effect: dict[str, np.ndarray]
    probability: dict[str, np.ndarray]  # (years, forces)
    intercept: dict[str, dict[str, float]]


# The draws below happen in a fixed order (recording effects, volumes, charge effects and noise,
# outcome mixes, outcomes and delays, then the publication quirks): changing it changes every
# generated file, the references and truth.json.
# The random streams besides the main one (seeded with the seed alone): each draws from
# default_rng([seed, key + i]) for its i-th member, so that adding or switching on one moves no
# other's draws. Keys and their members' ranges must not overlap (tests/demo check it).
STREAMS = {
    "scenario": (2020, 1),
    "recording_practice": (2021, 1),
    "shared_shocks": (2022, 1),
    "comparison": (4600, 100),
}


def stream(cfg: dict, name: str, member: int = 0) -> np.random.Generator:
    """The random stream `name` (its `member`-th, for a stream with several) for this seed."""
    key, size = STREAMS[name]
    if not 0 <= member < size:
        raise ValueError(f"stream {name!r}: no member {member} (members 0 to {size - 1})")
    return np.random.default_rng([int(cfg["seed"]), key + member])


def simulate(cfg: dict, offences: tuple[str, ...] | None = None) -> SyntheticData:
    """Simulate the published tables from the config's true parameters (no files written).

    `offences` keeps only those offence codes' rows in the tables (the same rows as cutting
    the whole tables down, for less work: the method study uses it); the truth is unchanged."""
    rng = np.random.default_rng(cfg["seed"])
    cal = calibration.load(cfg, SERIES)
    cal_before: dict[str, float] = {}
    if cal is not None:
        cfg, cal_before = calibration.apply(cfg, cal)
    all_years = _years(cfg["pfa_first_year"], cfg["last_year"])
    grid = _Grid(
        forces.registry(),
        all_years,
        _years(cfg["first_year"], cfg["last_year"]),
        {y: periods.fy_start(y) for y in all_years},
    )
    recording = _recording_effects(cfg, rng, grid.nf, cal)
    expected, expected_dose = _expected_volumes(cfg, grid, recording)
    practice = _recording_practice(cfg, grid.nf)
    expected["stalking"] = expected["stalking"] * np.exp(np.outer(grid.after(2020), practice))
    volumes = _recorded_volumes(cfg, rng, grid, expected)
    dose = _dose(volumes, grid)
    true_dose = dose - practice  # the change in recording the charge effect follows
    doses = _Doses(true_dose - true_dose.mean(), _dose_2018(volumes, grid))
    reclassified = _reclassified_share(recording, expected_dose)
    scenario = _scenario_effects(cfg, grid, doses.true_c, reclassified)
    charging = _charge_probabilities(cfg, rng, grid, expected, doses, scenario)
    mixes = _outcome_mixes(cfg, rng, grid.nf)
    sims = {
        s: (
            volumes[s],
            _outcomes_by_delay(
                cfg, rng, grid, volumes[s], charging.probability[s], mixes[s], scenario.delays(grid)
            ),
        )
        for s in SERIES
    }
    sims |= _comparison_sims(cfg, grid, scenario, offences)
    outcomes, recorded = _publish(cfg, sims, grid.all_years, grid.out_years, rng, offences)
    outcomes = _drop_force_years(outcomes, scenario.missing)
    truth = _truth(cfg, grid, recording, expected, expected_dose, dose, charging, sims)
    truth["scenario"] = scenario.record(grid)
    truth["link"] = _link_truth(cfg, grid, expected, doses, scenario)
    truth["eventual_charges"] = _eventual_charges(cfg, grid, sims["stalking"][1])
    truth["calibration"] = cal.record(cal_before) if cal is not None else None
    gaps = link_gaps(cfg, grid, expected, doses, scenario)
    for j, f in enumerate(grid.forces):
        truth["forces"][f.name]["link_gap"] = round(float(gaps[j]), 6)
        truth["forces"][f.name]["true_dose"] = round(float(true_dose[j]), 6)
        truth["forces"][f.name]["dose_2018"] = round(float(doses.d2018[j]), 6)
    return SyntheticData(outcomes, recorded, truth)


@dataclass(frozen=True)
class _Doses:
    """The doses the charge effects follow, per force: the true change in recorded stalking
    across April 2020 (centred; the published dose unless `dose_error` adds recording-practice
    noise to it), and the published log growth across April 2018 (uncentred)."""

    true_c: np.ndarray
    d2018: np.ndarray

    @property
    def d2018_c(self) -> np.ndarray:
        return self.d2018 - self.d2018.mean()


def _recording_practice(cfg: dict, nf: int) -> np.ndarray:
    """dose_error: per force, a lasting log shift in how much stalking it records from April
    2020 (recording practice), which the published dose sees and the charge effect does not
    (classical measurement error in the dose); zeros otherwise. From a stream of its own, so
    no other draw changes."""
    sd = float(cfg["scenario"]["dose_error_sd"])
    if not sd:
        return np.zeros(nf)
    return stream(cfg, "recording_practice").normal(0, sd, nf)


def information_weights(expected: np.ndarray, grid: _Grid, years: list[str], from_year: int) -> np.ndarray:
    """Per force, the weight a before/after comparison with force effects gives it: the
    harmonic combination n_pre n_post / (n_pre + n_post) of its expected offences before and
    from `from_year` within `years`. A binomial GLM's information also carries p(1 - p), which
    falls about threefold across the break; weighting by it was tried (commit 899f6c9) and took
    the truth further from what the primary estimates under `heterogeneous` (docs/methods.md,
    "The generator"), so the offences alone are kept: an approximation to the estimator's target,
    not its exact value."""
    rows = [grid.index(y) for y in years]
    post = grid.after(from_year)[rows]
    n_pre, n_post = expected[rows][~post].sum(axis=0), expected[rows][post].sum(axis=0)
    return n_pre * n_post / np.maximum(n_pre + n_post, 1e-9)


def weighted_slope(effect: np.ndarray, dose_c: np.ndarray, weights: np.ndarray) -> float:
    """The weighted least-squares slope of a per-force effect on the dose."""
    return float(np.polyfit(dose_c, effect, 1, w=np.sqrt(weights))[0])


def weighted_gaps(effect: np.ndarray, dose_c: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each force's effect less the weighted least-squares line through every force's effect
    on the dose: its true gap from the national line."""
    return effect - np.polyval(np.polyfit(dose_c, effect, 1, w=np.sqrt(weights)), dose_c)


def link_gaps(
    cfg: dict, grid: _Grid, expected: dict[str, np.ndarray], doses: _Doses, scenario: _Scenario
) -> np.ndarray:
    """Per force, the true gap a force page's link estimate measures: its post-2020 change in
    stalking charge log-odds (behaviour and case mix) less the line `_link_truth`'s total is
    the slope of."""
    w = information_weights(expected["stalking"], grid, grid.out_years, 2020)
    effect = float(cfg["link_slope"]) * doses.true_c + scenario.link + scenario.case_mix
    return weighted_gaps(effect, doses.true_c, w)


def _link_truth(
    cfg: dict, grid: _Grid, expected: dict[str, np.ndarray], doses: _Doses, scenario: _Scenario
) -> dict:
    """The link's true value in two parts, each the information-weighted least-squares slope
    across forces of a per-force post-2020 change in stalking charge log-odds on the true dose
    (the weights the primary estimator gives forces, to first order):
    - behaviour: how a force's charging changed with its rise (link_slope, or the average of
      force-varying slopes under `heterogeneous`);
    - composition: the case-mix route, reclassified ex-partner harassment charged at its own
      log-odds (`reclassified_charge_logodds`) times each force's reclassified share.
    An estimator of the change in the stalking charge rate measures their sum (`total`)."""
    w = information_weights(expected["stalking"], grid, grid.out_years, 2020)
    behaviour_effect = float(cfg["link_slope"]) * doses.true_c + scenario.link
    behaviour = weighted_slope(behaviour_effect, doses.true_c, w)
    composition = weighted_slope(scenario.case_mix, doses.true_c, w) if scenario.case_mix.any() else 0.0
    pre18 = [y for y in grid.out_years if grid.start[y] < 2020]
    w18 = information_weights(expected["stalking"], grid, pre18, 2018)
    slope18 = float(cfg["link_slope_2018"])
    return {
        "behaviour": round(behaviour, 6),
        "composition": round(composition, 6),
        "total": round(behaviour + composition, 6),
        "slope_2018": round(weighted_slope(slope18 * doses.d2018_c, doses.d2018_c, w18), 6)
        if doses.d2018.any()
        else 0.0,
        "definition": (
            "slopes of the post-2020 change in stalking charge log-odds on each force's true log "
            "growth in recorded stalking from 2019/20 to 2020/21 (centred), least squares across "
            "forces weighted by n_pre n_post / (n_pre + n_post) of expected offences: behaviour "
            "(charging changing with the rise), composition (reclassified cases' own charge "
            "propensity times their share), total = behaviour + composition; slope_2018 is the "
            "same for the April 2018 change, on the 2018 dose, from 2018/19, before 2020/21"
        ),
    }


@dataclass(frozen=True)
class _Scenario:
    """What a method-study scenario adds to the baseline, per force (zeros in the baseline)."""

    charge_delay: np.ndarray  # extra quarters before a charge, per force
    charge_delay_post: np.ndarray  # and more for offences recorded from April 2020, per force
    trend: np.ndarray  # charge log-odds per year, per force, around 2019/20
    backlog: np.ndarray  # shock to every series' charge log-odds for the 2020/21 cohort, per force
    link: np.ndarray  # the post-2020 change in stalking charge log-odds beyond link_slope x dose
    case_mix: np.ndarray  # the post-2020 change in stalking charge log-odds from reclassified cases
    missing: list[tuple[str, str]]  # (force, year) outcomes published as "data not provided"
    shared: np.ndarray  # (years, forces): shocks to every offence's charge log-odds (shared_shocks)

    def record(self, grid: _Grid) -> dict:
        """The scenario's true effects, for truth.json (the shared shocks only where drawn)."""
        shared = (
            {
                "shared_shocks": {
                    y: {f.name: round(float(self.shared[i, j]), 6) for j, f in enumerate(grid.forces)}
                    for i, y in enumerate(grid.all_years)
                }
            }
            if self.shared.any()
            else {}
        )
        return shared | {
            "forces": {
                f.name: {
                    "charge_delay_quarters": round(float(self.charge_delay[j]), 6),
                    "charge_delay_post_2020_extra": round(float(self.charge_delay_post[j]), 6),
                    "charge_trend_per_year": round(float(self.trend[j]), 6),
                    "backlog_2020_shock": round(float(self.backlog[j]), 6),
                    "link_effect_beyond_slope": round(float(self.link[j]), 6),
                    "case_mix_effect": round(float(self.case_mix[j]), 6),
                }
                for j, f in enumerate(grid.forces)
            },
            "missing_force_years": [list(fy) for fy in self.missing],
        }

    def delays(self, grid: _Grid) -> np.ndarray:
        """(quarters, forces): the extra quarters before a charge for each recorded quarter."""
        post = np.repeat(grid.after(2020), 4)
        return self.charge_delay[None, :] + np.outer(post, self.charge_delay_post)


def _reclassified_share(rec: _Recording, expected_dose: np.ndarray) -> np.ndarray:
    """Per force, the expected share of its post-2020 stalking that is reclassified harassment:
    its reclassified share of the rise, the rise being 1 - exp(-dose) of the post-2020 volume."""
    return rec.reclassified * (1 - np.exp(-np.clip(expected_dose, 0, None)))


def _scenario_effects(cfg: dict, grid: _Grid, dose_c: np.ndarray, reclassified: np.ndarray) -> _Scenario:
    """Draw a scenario's effects from a random stream of its own (the baseline's draws, and so
    its data, are the same whatever the scenario settings). `reclassified` is each force's
    share of post-2020 stalking that is reclassified harassment (the case-mix route)."""
    sc = cfg["scenario"]
    rng = stream(cfg, "scenario")
    nf = grid.nf
    delay = sc["charge_delay_quarters"] + sc["charge_delay_per_dose"] * np.clip(dose_c, 0, None)
    delay_post = sc["charge_delay_post_per_dose"] * np.clip(dose_c, 0, None)
    z = (dose_c - dose_c.mean()) / (dose_c.std() or 1.0)
    rho = float(sc["pretrend_dose_corr"])
    trend = sc["pretrend_sd"] * (rho * z + np.sqrt(max(0.0, 1 - rho**2)) * rng.standard_normal(nf))
    court = np.ones(nf)
    if sc["backlog_court_sd"] > 0:
        rho_b = float(sc["backlog_dose_corr"])
        court = np.exp(sc["backlog_court_sd"] * (rho_b * z + np.sqrt(1 - rho_b**2) * rng.standard_normal(nf)))
    backlog = sc["backlog_2020"] * court / court.mean()
    candidates = [(f.name, y) for f in grid.forces if f.name not in (forces.BTP, GMP) for y in grid.out_years]
    picks = rng.choice(len(candidates), size=int(sc["missing_force_years"]), replace=False)
    missing = sorted(candidates[i] for i in picks)
    link = _behaviour_beyond_slope(cfg, rng, dose_c)
    # the case-mix route: reclassified cases (ex-partner harassment) charged at their own
    # log-odds, relative to other stalking, times each force's reclassified share (the mixture,
    # to first order): the rise moves the charge rate without any change in charging
    case_mix = float(sc["reclassified_charge_logodds"]) * reclassified
    return _Scenario(
        charge_delay=np.asarray(delay, dtype=float),
        charge_delay_post=np.asarray(delay_post, dtype=float),
        trend=trend,
        backlog=backlog,
        link=link,
        case_mix=case_mix,
        missing=missing,
        shared=_shared_shocks(cfg, grid),
    )


def _shared_shocks(cfg: dict, grid: _Grid) -> np.ndarray:
    """shared_shocks: force-year shocks to the charge log-odds of every offence alike (stalking,
    harassment and the comparison set), independent of the dose: the force-wide charging noise
    a comparison set is meant to share with stalking. From a stream of its own, so no other
    draw moves; zeros when the scenario's sd is 0."""
    sd = float(cfg["scenario"]["shared_shock_sd"])
    if not sd:
        return np.zeros((grid.ny, grid.nf))
    return stream(cfg, "shared_shocks").normal(0, sd, (grid.ny, grid.nf))


def _behaviour_beyond_slope(cfg: dict, rng: np.random.Generator, dose_c: np.ndarray) -> np.ndarray:
    """heterogeneous: the post-2020 charge effect beyond link_slope x dose when each force has
    its own slope (sd `slope_sd`) and the effect bends with the dose (a quadratic term); zeros
    otherwise. The truth is then the weighted least-squares slope of the whole effect
    (`_link_truth`)."""
    sc = cfg["scenario"]
    extra = np.zeros_like(dose_c)
    if sc["slope_sd"] or sc["slope_curvature"]:
        extra += rng.normal(0, sc["slope_sd"], len(dose_c)) * dose_c
        extra += sc["slope_curvature"] * (dose_c**2 - np.mean(dose_c**2))
    return extra


def _drop_force_years(out: pd.DataFrame, missing: list[tuple[str, str]]) -> pd.DataFrame:
    """Whole force-years of outcomes published as "data not provided"."""
    if not missing:
        return out
    hit = np.zeros(len(out), dtype=bool)
    for force, year in missing:
        hit |= ((out["force"] == force) & (out["financial_year"] == year)).to_numpy()
    out = out.copy()
    out.loc[hit, ["recorded_basis", "closed_basis"]] = pd.NA
    out.loc[hit, "not_provided"] = True
    return out


def _recording_effects(
    cfg: dict, rng: np.random.Generator, nf: int, cal: calibration.Calibration | None
) -> _Recording:
    """Draw the force effects on recording and the reclassified shares; with a calibration, the
    recording effects are the real counts' (drawn all the same, so no other draw moves)."""
    st = cfg["stalking"]
    effect = {s: rng.normal(0, cfg[s]["recording_sd"], nf) for s in SERIES}
    if cal is not None:
        effect = calibration.recording_effects(cal, _sizes(cfg))
    g18 = rng.normal(0, st["growth_2018_sd"], nf)
    g20 = rng.normal(0, st["growth_2020_sd"], nf)
    rho = float(cfg["scenario"]["jumps_correlation"])
    if rho:  # the same draws, mixed: a force that jumped in 2018 jumps in 2020 too
        g20 = rho * g18 * st["growth_2020_sd"] / st["growth_2018_sd"] + np.sqrt(1 - rho**2) * g20
    # the April 2020 rule moved ex-partner harassment into stalking, so a force that recorded
    # more harassment for each stalking offence beforehand had more to move: its 2020 jump
    # follows that pre-determined exposure (the instrument the exposure estimator uses)
    exposure = effect["harassment"] - effect["stalking"]
    rho_x = float(st["exposure_dose_corr"])
    if rho_x:
        z = (exposure - exposure.mean()) / exposure.std()
        g20 = rho_x * st["growth_2020_sd"] * z + np.sqrt(1 - rho_x**2) * g20
    reclass = rng.beta(
        st["reclassified_share_mean"] * st["reclassified_share_concentration"],
        (1 - st["reclassified_share_mean"]) * st["reclassified_share_concentration"],
        nf,
    )
    return _Recording(effect, g18, g20, reclass)


def _expected_volumes(cfg: dict, grid: _Grid, rec: _Recording) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Expected offences recorded per year and force for each series, and the expected dose.

    Stalking: the national total shared by force size and recording effect, with the force
    jumps at the 2018 and 2020 changes. Harassment loses each force's reclassified share of its
    2020 stalking rise (the rise over stalking frozen at its 2019/20 level without the jumps).
    """
    post18, post20 = grid.after(2018), grid.after(2020)
    size = _sizes(cfg)

    def national(series: str) -> np.ndarray:
        return np.array([float(cfg[series]["recorded"].get(y, 0.0)) for y in grid.all_years])

    base_q = size * np.exp(rec.effect["stalking"])
    share = base_q[None, :] * np.exp(np.outer(post18, rec.growth_2018) + np.outer(post20, rec.growth_2020))
    share /= share.sum(axis=1, keepdims=True)
    e_stalk = national("stalking")[:, None] * share
    i19, i20 = grid.index("2019/20"), grid.index("2020/21")
    expected_dose = np.log(e_stalk[i20] / e_stalk[i19])
    share_cf = base_q[None, :] * np.exp(np.outer(post18, rec.growth_2018))
    share_cf /= share_cf.sum(axis=1, keepdims=True)
    growth_cf = national("stalking")[i19] * share_cf[i19]  # stalking frozen at its 2019/20 level
    rise = np.where(post20[:, None], np.clip(e_stalk - growth_cf[None, :], 0, None), 0.0)
    hshare = size * np.exp(rec.effect["harassment"])
    e_har = national("harassment")[:, None] * (hshare / hshare.sum())[None, :]
    e_har = np.maximum(e_har - rec.reclassified[None, :] * rise, 0.3 * e_har)
    oshare = size * np.exp(rec.effect["other"])
    e_oth = national("other")[:, None] * (oshare / oshare.sum())[None, :]
    return {"stalking": e_stalk, "harassment": e_har, "other": e_oth}, expected_dose


def _recorded_volumes(
    cfg: dict, rng: np.random.Generator, grid: _Grid, expected: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Offences recorded per quarter and force (gamma-Poisson around the expected volumes)."""
    volumes = {}
    for s in SERIES:
        n_rec = _quarterly_volumes(cfg, rng, grid, expected[s])
        if s == "stalking":
            n_rec[: max(0, (2014 - grid.start[grid.all_years[0]]) * 4)] = 0  # 8Q exists from April 2014
        volumes[s] = n_rec
    return volumes


def _quarterly_volumes(cfg: dict, rng: np.random.Generator, grid: _Grid, expected: np.ndarray) -> np.ndarray:
    """One series' offences recorded per quarter and force: (quarters, forces), gamma-Poisson
    around its expected yearly volumes (years, forces) split by season."""
    season = np.asarray(cfg["volumes"]["seasonal"], dtype=float)
    season = season / season.mean() / 4
    k = cfg["volumes"]["dispersion"]
    lam = np.repeat(expected, 4, axis=0) * np.tile(season, grid.ny)[:, None]  # (quarters, forces)
    lam = rng.gamma(k, lam / k) if k > 0 else lam
    return rng.poisson(lam)


def _dose(
    volumes: dict[str, np.ndarray], grid: _Grid, pre: str = "2019/20", post: str = "2020/21"
) -> np.ndarray:
    """Each force's realised log growth in recorded stalking from `pre` to `post` (by default
    across April 2020)."""
    annual = volumes["stalking"].reshape(grid.ny, 4, grid.nf).sum(axis=1)
    i0, i1 = grid.index(pre), grid.index(post)
    return np.log(np.maximum(annual[i1], 1) / np.maximum(annual[i0], 1))


def _dose_2018(volumes: dict[str, np.ndarray], grid: _Grid) -> np.ndarray:
    """Each force's log growth in recorded stalking across April 2018 (zeros, and so no 2018
    link, when a configuration's years do not span that change)."""
    if not {"2017/18", "2018/19"} <= set(grid.all_years):
        return np.zeros(grid.nf)
    return _dose(volumes, grid, "2017/18", "2018/19")


def _charge_probabilities(
    cfg: dict,
    rng: np.random.Generator,
    grid: _Grid,
    expected: dict[str, np.ndarray],
    doses: _Doses,
    scenario: _Scenario,
) -> _Charging:
    """Charge probabilities per series, year and force: expit(year intercept + force effect +
    link_slope x centred dose after 2020 (stalking) + force-year noise), the intercepts solved
    so that the national rates match the config; then a scenario's trends (stalking) and
    2020/21 shock (every series), which the intercepts do not absorb."""
    names = [f.name for f in grid.forces]
    post18, post20 = grid.after(2018), grid.after(2020)
    u = {s: rng.normal(0, cfg[s]["force_sd"], grid.nf) for s in SERIES}
    u["harassment"] = 0.6 * u["stalking"] + 0.8 * u["harassment"]
    for name, eff in cfg["stalking"]["extreme_forces"].items():
        u["stalking"][names.index(forces.resolve(name).name)] = eff
    slope, slope18 = float(cfg["link_slope"]), float(cfg["link_slope_2018"])
    p_charge: dict[str, np.ndarray] = {}
    mu: dict[str, dict[str, float]] = {}
    for s in SERIES:
        p = np.zeros((grid.ny, grid.nf))
        mu[s] = {}
        noise = rng.normal(0, cfg[s]["force_year_sd"], (grid.ny, grid.nf))
        for i, y in enumerate(grid.all_years):
            if y not in cfg[s]["charge_rate"]:
                continue
            shift = u[s]
            if s == "stalking":
                shift = shift + slope * doses.true_c * post20[i] + slope18 * doses.d2018_c * post18[i]
            m = _solve_intercept(cfg[s]["charge_rate"][y], expected[s][i] + 1e-9, shift)
            mu[s][y] = m
            extra = scenario.backlog * (y == "2020/21") + scenario.shared[i]
            if s == "stalking":
                extra = extra + scenario.trend * (grid.start[y] - 2019)
                extra = extra + (scenario.link + scenario.case_mix) * post20[i]
            p[i] = expit(m + shift + noise[i] + extra)
        p_charge[s] = p
    return _Charging(u, p_charge, mu)


def _outcome_mixes(cfg: dict, rng: np.random.Generator, nf: int) -> dict[str, np.ndarray]:
    """Each force's mix of non-charge outcome types per series (Dirichlet around the configured
    shares)."""
    return {s: _outcome_mix(cfg, rng, nf, cfg[s]["code"]) for s in SERIES}


def _outcome_mix(cfg: dict, rng: np.random.Generator, nf: int, code: str) -> np.ndarray:
    """One offence's mix of non-charge outcome types per force: (forces, types)."""
    base = np.zeros(N_TYPES)
    for k, v in cfg["outcome_mix"][code].items():
        base[int(k)] = v
    base /= base.sum()
    mix = np.zeros((nf, N_TYPES))
    nz = base > 0
    mix[:, nz] = rng.dirichlet(base[nz] * cfg["outcome_mix"]["concentration"], nf)
    return mix


def _comparison_sims(
    cfg: dict, grid: _Grid, scenario: _Scenario, offences: tuple[str, ...] | None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The comparison set's further offences (`COMPARISON_SERIES`; those in `offences`, or all):
    offences recorded per quarter and force, and their outcomes by delay, as `simulate` makes
    them for the others. Force shares from population and a random recording effect, charge
    probabilities expit(year intercept + force effect + force-year noise), with the scenarios'
    2020/21 backlog shock, shared force-year shocks and charge delays, which reach every offence; no recording jumps and
    no link. Each from a stream of its own (`stream(cfg, "comparison", its position)`)."""
    sims: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, s in enumerate(COMPARISON_SERIES):
        c = cfg[s]
        if offences is not None and c["code"] not in offences:
            continue
        rng = stream(cfg, "comparison", i)
        share = _sizes(cfg) * np.exp(rng.normal(0, c["recording_sd"], grid.nf))
        national = np.array([float(c["recorded"][y]) for y in grid.all_years])
        expected = national[:, None] * (share / share.sum())[None, :]
        n_rec = _quarterly_volumes(cfg, rng, grid, expected)
        u = rng.normal(0, c["force_sd"], grid.nf)
        noise = rng.normal(0, c["force_year_sd"], (grid.ny, grid.nf))
        p = np.zeros((grid.ny, grid.nf))
        for iy, y in enumerate(grid.all_years):
            m = _solve_intercept(c["charge_rate"][y], expected[iy] + 1e-9, u)
            p[iy] = expit(m + u + noise[iy] + scenario.backlog * (y == "2020/21") + scenario.shared[iy])
        mix = _outcome_mix(cfg, rng, grid.nf, c["code"])
        sims[s] = (n_rec, _outcomes_by_delay(cfg, rng, grid, n_rec, p, mix, scenario.delays(grid)))
    return sims


def _outcomes_by_delay(
    cfg: dict,
    rng: np.random.Generator,
    grid: _Grid,
    n_rec: np.ndarray,
    p_charge: np.ndarray,
    mixes: np.ndarray,
    charge_delay: np.ndarray,
) -> np.ndarray:
    """One series' offences recorded per quarter and force, split by eventual outcome type and
    by the delay in quarters before the outcome: (quarters, forces, types, delays). A force's
    charges wait `charge_delay` quarters more than its other outcomes, per recorded quarter
    and force (0 in the baseline)."""
    delays = np.asarray(cfg["delays"]["quarters"], dtype=float)
    delays /= delays.sum()
    type_first = np.array([periods.fy_start(o.first_year) for o in taxonomy.OUTCOME_TYPES])
    nq = grid.ny * 4
    probs = np.zeros((nq, grid.nf, N_TYPES))
    for qi in range(nq):
        y = grid.all_years[qi // 4]
        mix = mixes * (type_first <= max(grid.start[y], 2014))[None, :]  # types that exist yet
        mix = mix / mix.sum(axis=1, keepdims=True)
        pc = p_charge[qi // 4]
        probs[qi] = mix * (1 - pc)[:, None]
        probs[qi, :, 1] = pc
    by_type = rng.multinomial(n_rec, probs)  # (nq, nf, types)
    if not charge_delay.any():
        return rng.multinomial(by_type, np.broadcast_to(delays, (*by_type.shape, len(delays))))
    return rng.multinomial(by_type, _shifted_delays(delays, charge_delay, by_type.shape))


def _shifted_delays(delays: np.ndarray, shift: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Delay probabilities per (quarter, force, type): charges' (type 1) moved later by the
    (quarter, force) `shift` in quarters (a fraction split between the two neighbouring whole
    shifts)."""
    width = len(delays) + int(np.ceil(shift.max()))
    base = np.zeros(width)
    base[: len(delays)] = delays
    out = np.broadcast_to(base, (*shape, width)).copy()
    moved: dict[float, np.ndarray] = {}
    for (q, j), k in np.ndenumerate(shift):
        if k not in moved:
            whole, frac = int(np.floor(k)), float(k - np.floor(k))
            m = np.zeros(width)
            m[whole : whole + len(delays)] += (1 - frac) * delays
            if frac:
                m[whole + 1 : whole + 1 + len(delays)] += frac * delays
            moved[k] = m
        out[q, j, 1] = moved[k]
    return out


def _closed_charge_probability(grid: _Grid, by_delay: np.ndarray, p_charge: np.ndarray) -> np.ndarray:
    """(years, forces): the true charge probability of the investigations closed in each year,
    that is, each recording cohort's probability weighted by how many of the year's closures it
    supplied. This, not one cohort's probability, is what a closed-basis rate estimates."""
    nq, nf, _, nd = by_delay.shape
    closures = by_delay.sum(axis=2)  # (recorded quarter, force, delay)
    weight = np.zeros((grid.ny, nq, nf))  # closed in year, from recorded quarter
    for d in range(nd):
        for q in range(nq - d):
            weight[(q + d) // 4, q] += closures[q, :, d]
    p_q = np.repeat(p_charge, 4, axis=0)  # each recorded quarter's cohort probability
    total = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (weight * p_q[None, :, :]).sum(axis=1) / total, np.nan)


def _truth(
    cfg: dict,
    grid: _Grid,
    rec: _Recording,
    expected: dict[str, np.ndarray],
    expected_dose: np.ndarray,
    dose: np.ndarray,
    charging: _Charging,
    sims: dict,
) -> dict:
    """truth.json: every true parameter, per force and national."""
    dose_c = dose - dose.mean()
    closed_p = _closed_charge_probability(grid, sims["stalking"][1], charging.probability["stalking"])
    extreme = {forces.resolve(n).name for n in cfg["stalking"]["extreme_forces"]}
    yidx = {y: i for i, y in enumerate(grid.all_years)}
    return {
        "synthetic": True,
        "generator": f"stalking-outcomes {__version__}",
        "seed": cfg["seed"],
        "link_slope": float(cfg["link_slope"]),
        "link_slope_definition": (
            "change in the charge log-odds of stalking (8Q) investigations per unit of the "
            "force's log growth in recorded stalking (all offences recorded in the year, as simulated "
            "before any publication gap) from 2019/20 to 2020/21 (the dose, centred on its mean "
            "over all 44 forces), applying to offences recorded from 2020/21 on"
        ),
        "config": cfg,
        "forces": {
            f.name: {
                "slug": f.slug,
                "charge_effect": round(float(charging.force_effect["stalking"][j]), 6),
                "extreme": f.name in extreme,
                "dose": round(float(dose[j]), 6),
                "dose_centred": round(float(dose_c[j]), 6),
                "expected_dose": round(float(expected_dose[j]), 6),
                "recording_effect": round(float(rec.effect["stalking"][j]), 6),
                "growth_2018": round(float(rec.growth_2018[j]), 6),
                "growth_2020": round(float(rec.growth_2020[j]), 6),
                "reclassified_share": round(float(rec.reclassified[j]), 6),
                "charge_probability": {
                    y: round(float(charging.probability["stalking"][yidx[y], j]), 6) for y in grid.out_years
                },
                "charge_probability_closed": {
                    y: round(float(closed_p[yidx[y], j]), 6)
                    for y in grid.out_years
                    if np.isfinite(closed_p[yidx[y], j])
                },
            }
            for j, f in enumerate(grid.forces)
        },
        "national": {
            "charge_logit_intercept": {
                s: {y: round(v, 6) for y, v in charging.intercept[s].items()} for s in SERIES
            },
            "expected_recorded": {
                cfg[s]["code"]: {y: round(float(expected[s][yidx[y]].sum()), 1) for y in grid.all_years}
                for s in SERIES
            },
            "simulated_recorded": {
                cfg[s]["code"]: {
                    y: int(sims[s][0][yidx[y] * 4 : yidx[y] * 4 + 4].sum()) for y in grid.all_years
                }
                for s in SERIES  # the truth is the same whichever offences were asked for
            },
        },
    }


def _eventual_charges(cfg: dict, grid: _Grid, by_delay: np.ndarray) -> dict:
    """truth.json's `eventual_charges`: each stalking recording quarter's charges, every delay
    counted, per force and financial year of the outcomes files."""
    charges = by_delay[:, :, 1, :].sum(axis=-1)  # (quarter, force)
    q0 = {y: grid.all_years.index(y) * 4 for y in grid.out_years}
    return {
        "description": EVENTUAL_DESCRIPTION,
        "offence_code": cfg["stalking"]["code"],
        "forces": {
            f.name: {y: [int(v) for v in charges[q0[y] : q0[y] + 4, j]] for y in grid.out_years}
            for j, f in enumerate(grid.forces)
        },
    }


def _published_types(year: str) -> list[int]:
    """The outcome types a year's outcomes file lists (type 19 was withdrawn after 2017/18)."""
    start = periods.fy_start(year)
    return [
        o.code
        for o in taxonomy.OUTCOME_TYPES
        if periods.fy_start(o.first_year) <= start and (o.code != 19 or start <= 2017)
    ]


def _basis_counts(
    by_delay: np.ndarray, n_rec: np.ndarray, lag: int, as_at: str = "year"
) -> tuple[np.ndarray, np.ndarray]:
    """(closed, recorded basis) per quarter, force and type from outcomes by delay: outcomes
    assigned in the quarter whenever recorded, and outcomes so far (by the snapshot, `lag`
    quarters after the end of the quarter's own year, or with `as_at` "edition" of the last
    year) of the offences recorded in the quarter, the rest type 0."""
    nq, nf, nt, nd = by_delay.shape
    closed = np.zeros((nq, nf, nt), dtype=np.int64)
    for d in range(nd):
        closed[d:] += by_delay[: nq - d, :, :, d]
    recorded_basis = np.zeros((nq, nf, nt), dtype=np.int64)
    for qi in range(nq):
        snapshot = (qi // 4) * 4 + 3 + lag if as_at == "year" else nq - 1 + lag
        recorded_basis[qi] = by_delay[qi, :, :, : max(0, min(nd, snapshot - qi + 1))].sum(axis=-1)
    recorded_basis[:, :, 0] = n_rec - recorded_basis[:, :, 1:].sum(axis=-1)
    return closed, recorded_basis


def _outcome_cells(
    cfg: dict, sims: dict, all_years: list[str], out_years: list[str]
) -> dict[str, np.ndarray]:
    """Every outcomes cell the files publish, as columns of arrays in publication order (series,
    quarter, force, outcome type); `block` numbers each series-quarter-force block."""
    nf = len(forces.registry())
    lag = int(cfg["snapshot_lag_quarters"])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("series", "year", "quarter", "force", "type")}
    parts |= {"recorded_basis": [], "closed_basis": [], "block": []}
    blocks = 0
    for si, s in enumerate(ALL_SERIES):
        if s not in sims:
            continue
        n_rec, by_delay = sims[s]
        closed, recorded_basis = _basis_counts(by_delay, n_rec, lag, cfg["recorded_basis_as_at"])
        for y in out_years:
            if cfg[s]["code"] == "8Q" and periods.fy_start(y) < 2014:
                continue
            types = _published_types(y)
            q0, nt = all_years.index(y) * 4, len(types)
            size = 4 * nf * nt
            parts["series"].append(np.full(size, si))
            parts["year"].append(np.full(size, all_years.index(y)))
            parts["quarter"].append(np.repeat(np.arange(1, 5), nf * nt))
            parts["force"].append(np.tile(np.repeat(np.arange(nf), nt), 4))
            parts["type"].append(np.tile(types, 4 * nf))
            parts["recorded_basis"].append(recorded_basis[q0 : q0 + 4][:, :, types].ravel())
            parts["closed_basis"].append(closed[q0 : q0 + 4][:, :, types].ravel())
            parts["block"].append(blocks + np.repeat(np.arange(4 * nf), nt))
            blocks += 4 * nf
    return {k: np.concatenate(v) for k, v in parts.items()}


def _gmp_gap(cells: dict[str, np.ndarray], all_years: list[str]) -> np.ndarray:
    """Rows in the Greater Manchester gap (quarters not published)."""
    gmp = [f.name for f in forces.registry()].index(GMP)
    return (
        (cells["force"] == gmp)
        & (cells["year"] == all_years.index(GMP_GAP[0]))
        & np.isin(cells["quarter"], GMP_GAP[1])
    )


def _publish(
    cfg: dict,
    sims: dict,
    all_years: list[str],
    out_years: list[str],
    rng: np.random.Generator,
    offences: tuple[str, ...] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn simulated outcomes into the published tables (both bases, with the quirks).

    The cells are built as arrays and the tables once at the end; the random quirks draw on the
    cells in publication order (series, quarter, force, type), as the files were once built."""
    reg = forces.registry()
    q = cfg["quirks"]
    cells = _outcome_cells(cfg, sims, all_years, out_years)
    if q["gmp_gap"] and GMP_GAP[0] in out_years:
        keep = ~_gmp_gap(cells, all_years)
        cells = {k: v[keep] for k, v in cells.items()}
    closed = cells["closed_basis"].copy()
    quirky = cells["series"] < len(SERIES)  # the comparison series came later: no quirks
    # Negative corrections: small negative counts in cells that were zero, on the closed basis.
    zero = np.flatnonzero((closed == 0) & (cells["type"] > 1) & quirky)
    if len(zero) and q["negative_cells"]:
        pick = rng.choice(zero, size=min(q["negative_cells"], len(zero)), replace=False)
        closed[np.sort(pick)] = -rng.integers(1, 3, size=len(pick))
    # Whole force-quarter-offence blocks published as "data not provided".
    btp = [f.name for f in reg].index(forces.BTP)
    first = np.flatnonzero(np.diff(cells["block"], prepend=-1) != 0)  # each block's first row
    candidates = cells["block"][first][(cells["force"][first] != btp) & quirky[first]]
    mark = np.zeros(len(closed), dtype=bool)
    if q["not_provided_blocks"]:
        picked = np.sort(rng.choice(len(candidates), q["not_provided_blocks"], replace=False))
        mark = np.isin(cells["block"], candidates[picked])
    # only now, after every draw over all the cells, the offences asked for
    series = [
        i for i, s in enumerate(ALL_SERIES) if s in sims and (offences is None or cfg[s]["code"] in offences)
    ]
    wanted = np.isin(cells["series"], series)
    cells = {k: v[wanted] for k, v in cells.items()}
    out = _outcomes_frame(cfg, cells, closed[wanted], mark[wanted], all_years)
    return out, _recorded_frame(cfg, sims, all_years, series)


def _text_column(values: list[str], codes: np.ndarray) -> pd.Series:
    """A text column from a list of values and each row's index into it (taken in Arrow, the
    text columns' storage, which is ten times faster than from Python strings)."""
    return pd.Series(pd.array(pa.array(values, type=pa.large_string()).take(pa.array(codes)), dtype="str"))


def _sort_order(*keys: np.ndarray) -> np.ndarray:
    """Row order sorted by the keys, first key first (ties keep their order)."""
    return np.lexsort(keys[::-1])


def _rank(values: list[str]) -> np.ndarray:
    """Each value's position in sorted order (to sort text columns by integer codes)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank


def _outcomes_frame(
    cfg: dict, cells: dict[str, np.ndarray], closed: np.ndarray, mark: np.ndarray, all_years: list[str]
) -> pd.DataFrame:
    """The tidy outcomes table, sorted by year, quarter, force, offence and type."""
    reg = forces.registry()
    names, codes = [f.name for f in reg], [f.code for f in reg]
    offences = [cfg[s]["code"] for s in ALL_SERIES]
    order = _sort_order(
        cells["year"],
        cells["quarter"],
        _rank(names)[cells["force"]],
        _rank(offences)[cells["series"]],
        cells["type"],
    )
    c = {k: v[order] for k, v in cells.items()}
    closed, mark = closed[order], mark[order]
    type_group = {o.code: o.group for o in taxonomy.OUTCOME_TYPES}
    groups = [type_group.get(t, "") for t in range(N_TYPES)]
    recorded_basis = pd.array(c["recorded_basis"], dtype="Int64")
    recorded_basis[mark] = pd.NA
    closed_basis = pd.array(closed, dtype="Int64")
    closed_basis[mark | (c["type"] == 0)] = pd.NA
    return pd.DataFrame(
        {
            "financial_year": _text_column(all_years, c["year"]),
            "quarter": c["quarter"].astype(np.int64),
            "force": _text_column(names, c["force"]),
            "force_code": _text_column(codes, c["force"]),
            "offence_code": _text_column(offences, c["series"]),
            "outcome_type": c["type"].astype(np.int64),
            "recorded_basis": recorded_basis,
            "closed_basis": closed_basis,
            "not_provided": mark,
            "offence_description": _text_column(
                [taxonomy.OFFENCE_BY_CODE[o].description for o in offences], c["series"]
            ),
            "offence_code_expired": np.zeros(len(closed), dtype=bool),
            "outcome_group": _text_column(groups, c["type"]),
        }
    )


def _recorded_frame(cfg: dict, sims: dict, all_years: list[str], series: list[int]) -> pd.DataFrame:
    """PFA recorded offences: every offence's count per force and quarter, all years from
    pfa_first_year (stalking from 2014/15; BTP only up to 2014/15; the Greater Manchester gap)."""
    reg = forces.registry()
    names, codes = [f.name for f in reg], [f.code for f in reg]
    nf = len(reg)
    offences = [cfg[s]["code"] for s in ALL_SERIES]
    start = np.array([periods.fy_start(y) for y in all_years])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("series", "quarter", "force", "offences")}
    for si in series:
        n_rec = sims[ALL_SERIES[si]][0]
        nq = n_rec.shape[0]
        qi = np.repeat(np.arange(nq), nf)
        keep = np.ones(len(qi), dtype=bool) if offences[si] != "8Q" else start[qi // 4] >= 2014
        parts["series"].append(np.full(keep.sum(), si))
        parts["quarter"].append(qi[keep])
        parts["force"].append(np.tile(np.arange(nf), nq)[keep])
        parts["offences"].append(n_rec.ravel()[keep])
    c = {k: np.concatenate(v) for k, v in parts.items()}
    year = c["quarter"] // 4
    keep = (c["force"] != names.index(forces.BTP)) | (start[year] <= 2014)
    if cfg["quirks"]["gmp_gap"]:
        keep &= ~(
            (c["force"] == names.index(GMP))
            & (np.asarray(all_years, dtype=object)[year] == GMP_GAP[0])
            & np.isin(c["quarter"] % 4 + 1, GMP_GAP[1])
        )
    c = {k: v[keep] for k, v in c.items()}
    order = _sort_order(c["quarter"], _rank(names)[c["force"]], _rank(offences)[c["series"]])
    c = {k: v[order] for k, v in c.items()}
    return pd.DataFrame(
        {
            "financial_year": _text_column(all_years, c["quarter"] // 4),
            "quarter": (c["quarter"] % 4 + 1).astype(np.int64),
            "force": _text_column(names, c["force"]),
            "force_code": _text_column(codes, c["force"]),
            "offence_code": _text_column(offences, c["series"]),
            "offences": pd.array(c["offences"], dtype="Int64"),
        }
    )


# --- the published layout, year by year --------------------------------------------------------


def layout_for(year: str) -> tuple[str, OutcomesLayout]:
    """The file suffix and layout the demo uses for a year: the published variants, spread
    over the years so every one is exercised."""
    y = periods.fy_start(year)
    tag = f"{y}_{(y + 1) % 100:02d}"
    if y <= 2015:
        return ".ods", OutcomesLayout(
            f"Outcomes_open_data_{y}-{(y + 1) % 100:02d}",
            dict(OLD_OUTCOME_HEADERS),
            year_style="dash" if y == 2014 else "slash",
            quarter_style="q" if y == 2015 else "int",
        )
    if y == 2016:
        return ".xlsx", OutcomesLayout(
            f"Outcomes_open_data_{y}-{(y + 1) % 100:02d}", dict(NUMBER_OF_OUTCOME_HEADERS)
        )
    if y <= 2019:
        return ".xlsx", OutcomesLayout(
            f"Outcomes_open_data_{tag}", year_style="long" if y == 2017 else "slash"
        )
    lay = OutcomesLayout(f"Outcomes open data {tag}", quarter_style="word" if y == 2020 else "int")
    if y == 2022:
        lay.force_names = {
            "Devon and Cornwall": "Devon & Cornwall",
            "Hampshire": "Hampshire and Isle of Wight",
        }
    if y == 2023:
        lay.trailing_spaces = True
    if y >= 2024:
        lay.total_row = True
    return ".xlsx", lay


def outcome_file_name(year: str, edition: str, suffix: str) -> str:
    """'synthetic-prc-outcomes-open-data-mar2021-tables-311225.xlsx' for 2020/21."""
    return (
        f"{SYNTHETIC_PREFIX}prc-outcomes-open-data-mar{periods.year_ending_march(year)}"
        f"-tables-{edition}{suffix}"
    )


def pfa_file_name(cfg: dict) -> str:
    """'synthetic-prc-pfa-mar2013-onwards-tables-311225.ods'."""
    return (
        f"{SYNTHETIC_PREFIX}prc-pfa-mar{periods.year_ending_march(cfg['pfa_first_year'])}"
        f"-onwards-tables-{cfg['edition']}.ods"
    )


def _cover(cfg: dict, title: str) -> Sheet:
    return cover_sheet(
        f"{GENERATED_MARKER} - {title}",
        [
            "These are generated data, NOT Home Office statistics.",
            f"Generated by stalking-outcomes {__version__} with seed {cfg['seed']}; the true parameters "
            "are in truth.json beside this file.",
            "Laid out like the Home Office 'Police recorded crime and outcomes open data tables' so "
            "that the package's readers can be tested; figures are calibrated to published national "
            "totals but describe no real force.",
        ],
    )


def _published_records(block: pd.DataFrame, total_row: bool) -> list[dict]:
    """Records for the data sheet: markers in place of missing values, descriptions added."""
    block = block.copy()
    if total_row:
        tot = (
            block.groupby(["financial_year", "quarter", "offence_code", "outcome_type"], sort=False)[
                ["recorded_basis", "closed_basis"]
            ]
            .sum(min_count=1)
            .reset_index()
        )
        tot["force"], tot["not_provided"], tot["offence_code_expired"] = "England and Wales", False, False
        block = pd.concat([block, tot], ignore_index=True)
    recs = []
    for r in block.to_dict("records"):
        o = taxonomy.BY_CODE[r["outcome_type"]]
        off = taxonomy.OFFENCE_BY_CODE[r["offence_code"]]
        rec = dict(
            r,
            offence_description=off.description,
            offence_group=off.group,
            offence_subgroup=off.subgroup,
            outcome_description=o.description,
            outcome_group=o.group,
        )
        for basis in ("recorded_basis", "closed_basis"):
            v = r[basis]
            if v is pd.NA or v is None:
                rec[basis] = "N/A - data not provided" if r["not_provided"] else "N/A"
            else:
                rec[basis] = int(v)
        recs.append(rec)
    return recs


def _pfa_sheets(cfg: dict, rec: pd.DataFrame) -> list[Sheet]:
    sheets = [
        _cover(cfg, "Police recorded crime by Police Force Area"),
        Sheet("Notes", [["Notes"], ["Offence counts by force and quarter (synthetic)."]]),
    ]
    for y, block in rec.groupby("financial_year", sort=True):
        old = periods.fy_start(y) <= 2016
        cols = (
            [
                "financial_year",
                "quarter",
                "force",
                "offence_description",
                "offence_group",
                "offence_subgroup",
                "offence_code",
                "offences",
            ]
            if old
            else [
                "financial_year",
                "quarter",
                "force",
                "offence_code",
                "offence_description",
                "offence_group",
                "offence_subgroup",
                "offences",
            ]
        )
        labels = PFA_HEADERS | {"offences": PFA_COUNT_HEADERS[0] if old else PFA_COUNT_HEADERS[1]}
        rows: list[list[object]] = [[labels[c] for c in cols]]
        for r in block.to_dict("records"):
            off = taxonomy.OFFENCE_BY_CODE[r["offence_code"]]
            full = dict(
                r,
                offence_description=off.description,
                offence_group=off.group,
                offence_subgroup=off.subgroup,
                offences=int(r["offences"]),
            )
            rows.append([full[c] for c in cols])
        sheets.append(Sheet(y.replace("/", "_"), rows))
    return sheets


def write_demo(out: Path | str, cfg: dict) -> SyntheticData:
    """Simulate and write the demo files and truth.json into `out`; return what was written.
    (`analysis.demo.editions.write_editions` writes several editions of them.)"""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = simulate(cfg)
    names = write_source(out, cfg, data)
    data.truth["files"] = names
    write_truth(out, data.truth)
    data.outcomes = data.outcomes.drop(columns="not_provided")
    return data


def write_source(out: Path, cfg: dict, data: SyntheticData) -> list[str]:
    """Write simulated tables as a source folder in the published layout (one outcomes workbook
    per year and the PFA table, named with the config's edition suffix); return the file names."""
    names = []
    for year in _years(cfg["first_year"], cfg["last_year"]):
        suffix, lay = layout_for(year)
        block = data.outcomes[data.outcomes["financial_year"] == year]
        name = outcome_file_name(year, cfg["edition"], suffix)
        sheets = [
            _cover(cfg, f"Outcomes open data, year ending March {periods.year_ending_march(year)}"),
            Sheet("Notes", [["Notes"], ["Outcome types 0-22; counts on two bases."]]),
            Sheet(lay.sheet_name, outcome_rows(_published_records(block, lay.total_row), lay)),
        ]
        _write_atomic(out / name, sheets)
        names.append(name)
    pfa = pfa_file_name(cfg)
    _write_atomic(out / pfa, _pfa_sheets(cfg, data.recorded))
    names.append(pfa)
    return names


def write_truth(out: Path, truth: dict) -> None:
    """Write truth.json into a folder."""
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _write_atomic(path: Path, sheets: list[Sheet]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    write_workbook(tmp, sheets)
    tmp.replace(path)
