"""The force-year panel the link estimators use: counts on both bases, the dose, and flags for
the counting-rule periods and censoring."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.demo import AS_AT
from analysis.domain import forces, periods, rules, taxonomy
from analysis.errors import InputError

BREAK = taxonomy.RECLASSIFICATION_BREAK.first_year  # "2020/21"
PRE = "2019/20"

# --- timing by recording cohort --------------------------------------------------------------
# A closed-basis year mixes the offences recorded in it with older ones still open. The helpers
# at the end estimate, for each force and closing year, how its closures split between recording
# years, from the quarterly recorded volumes and a delay distribution read off the recorded
# basis's not-yet-assigned shares.

MATURE_NYA = 0.2  # the recorded basis of a force-year is censored when more than this share is unassigned
# A quarterly cohort is mature when followed at least this many quarters at the snapshot (quarters
# 1 and 2 of a year with a one-quarter lag). Maturity is set by follow-up, never by the cohort's
# own not-yet-assigned share: that share is higher where charges are slower, so selecting on it
# would select on the outcome.
MATURE_FOLLOW_UP = 3
SNAPSHOT_LAG = 1  # quarters between the last year's end and the recorded-basis count (the generator's too)
DELAY_HORIZON = 16  # quarters of delay modelled; the tail beyond is put in the last one

# When the recorded basis was counted, an assumption about the files the data cannot check.
# "edition": every year's outcomes so far up to one date, SNAPSHOT_LAG quarters after the last
# year ends, as each Home Office republication counts them (older years are followed for
# longer). "year": each year up to SNAPSHOT_LAG quarters after its own end (every year followed
# alike), as the method study's link tables were generated (method_study.LINK_AS_AT).
_COUNTED_AS: ContextVar[str] = ContextVar("recorded_basis_as_at", default="edition")


@contextmanager
def counted_as(as_at: str) -> Iterator[None]:
    """Within the block, link panels take the recorded basis to have been counted `as_at` (one
    of AS_AT); outside it, "edition"."""
    if as_at not in AS_AT:
        raise ValueError(f"as_at must be one of {AS_AT}, not {as_at!r}")
    token = _COUNTED_AS.set(as_at)
    try:
        yield
    finally:
        _COUNTED_AS.reset(token)


def follow_ups(years: Sequence[str], lag: int = SNAPSHOT_LAG, last_quarter: int = 4) -> np.ndarray:
    """(years, 4): the quarters each year's quarterly cohorts had been followed when the
    recorded basis was counted (`counted_as`): 4 - k + lag for quarter k of a year counted per
    year; under a republication's count, lag quarters after the last quarter published
    (`last_quarter` of the last year), so 4 more for every year before the last."""
    k = np.arange(1, 5)
    starts = np.array([periods.fy_start(y) for y in years])
    if _COUNTED_AS.get() == "year" or not len(starts):
        return np.tile(4 - k + lag, (len(starts), 1))
    return 4 * (starts.max() - starts)[:, None] + (last_quarter - k + lag)[None, :]


def _cell_follow_ups(cells: _Cells, lag: int = SNAPSHOT_LAG) -> np.ndarray:
    """`follow_ups` of the cube's years, counted from the latest quarter of the last year any
    force's outcomes publish (a republication in the middle of a year publishes part of it)."""
    last = cells.present[:, -1, :].any(axis=0)
    quarter = int(np.flatnonzero(last).max()) + 1 if last.any() else 4
    return follow_ups(list(cells.years), lag, quarter)


def _rule_period(year: str) -> str:
    """The counting-rule period a financial year falls in (labels from the taxonomy)."""
    label = "before 8Q"
    for b in taxonomy.COUNTING_RULE_BREAKS:
        if periods.fy_start(year) >= periods.fy_start(b.first_year):
            label = f"from {b.first_year}: {b.label}"
    return label


@dataclass(frozen=True)
class _Cells:
    """Sums over the outcome rows of each force, year and quarter (a dense cube, force-major):
    for each quantity its sum and whether any row had a count, so that a sum over rows with no
    count can be missing, as pandas' sum(min_count=1) has it."""

    forces: pd.Index  # sorted names (the outcomes' text dtype)
    years: pd.Index  # sorted labels
    present: np.ndarray  # (F, Y, 4): the cell has rows
    sums: dict[str, np.ndarray]  # (F, Y, 4) each
    known: dict[str, np.ndarray]  # (F, Y, 4): some row has a count


def _cells(o: pd.DataFrame) -> _Cells:
    """One pass over the outcome rows for everything the panel needs: closed-basis charged and
    closed, recorded-basis charged, assigned and all offences, any closed-basis count, and the
    recorded-basis counts of `quarterly_recorded_basis` (types outside a group count 0, so those
    are missing only where every row of the cell is). The panel is rebuilt for every offence
    and replicate in the method study, where pandas groupings were most of its cost."""
    t = o["outcome_type"].to_numpy()
    # (np.isin needs sequences: the taxonomy's groups are sets)
    charged, closed, nya = (
        np.isin(t, list(group)) for group in (taxonomy.CHARGED, taxonomy.CLOSED, taxonomy.NOT_YET_ASSIGNED)
    )
    c, r = (_values_and_mask(o[col]) for col in ("closed_basis", "recorded_basis"))
    fi, force_names = pd.factorize(o["force"], sort=True)
    yi, year_names = pd.factorize(o["financial_year"], sort=True)
    shape = (len(force_names), len(year_names), 4)
    cell = (fi * shape[1] + yi) * 4 + o["quarter"].to_numpy(int) - 1
    size = int(np.prod(shape))

    def add(values: np.ndarray) -> np.ndarray:
        return np.bincount(cell, values, size).reshape(shape)

    every = np.ones(len(t), bool)
    sums: dict[str, np.ndarray] = {}
    known: dict[str, np.ndarray] = {}
    for name, (values, has), rows, outside_zero in (
        ("charged", c, charged, False),
        ("closed", c, closed, False),
        ("charged_recorded", r, charged, False),
        ("assigned_recorded", r, closed, False),
        ("offences_recorded_basis", r, every, False),
        ("any_closed_basis", c, every, False),
        ("q_not_yet_assigned", r, nya, True),
        ("q_charged", r, charged, True),
        ("q_assigned", r, closed, True),
    ):
        use = has & rows
        sums[name] = add(np.where(use, values, 0.0))
        known[name] = add((has | ~rows) if outside_zero else use) > 0
    return _Cells(
        force_names,
        year_names,
        add(every) > 0,
        sums,
        known,
    )


def _values_and_mask(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A count column as floats (exact below 2^53, far above any plausible count) and where it is known."""
    known = col.notna().to_numpy()
    return col.to_numpy(float, na_value=0.0), known


def _int_array(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype(np.int64), missing)


def _quarterly_from_cells(cells: _Cells) -> pd.DataFrame:
    """`quarterly_recorded_basis`'s table: one row per force, year and quarter with rows."""
    f, y, q = np.nonzero(cells.present)
    names = {
        "offences_recorded_basis": "offences",
        "q_not_yet_assigned": "not_yet_assigned",
        "q_charged": "charged",
        "q_assigned": "assigned",
    }
    columns = {
        "force": cells.forces[f].array,
        "financial_year": cells.years[y].array,
        "quarter": q + 1,
        **{
            new: _int_array(cells.sums[old][f, y, q], ~cells.known[old][f, y, q])
            for old, new in names.items()
        },
    }
    return pd.DataFrame(columns)


def _annual_offences(
    rec: pd.DataFrame, forces_: np.ndarray, years: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Offences recorded per force and year, annualised (x 4 / quarters with data), from rows of
    force, financial_year, quarter (offence_code) and offences: a quarter counts when at least
    `n_codes` of its rows have a count (every offence, in a store, whose keys are unique). Returns (annual (F, Y), the quarters' sums
    (F, Y, 4), missing where a quarter does not count)."""
    fi = pd.Index(forces_).get_indexer(rec["force"])
    yi = pd.Index(years).get_indexer(rec["financial_year"])
    shape = (len(forces_), len(years), 4)
    cell = (fi * shape[1] + yi) * 4 + rec["quarter"].to_numpy(int) - 1
    values, has = _values_and_mask(rec["offences"])
    size = int(np.prod(shape))
    per_q = np.bincount(cell, np.where(has, values, 0.0), size).reshape(shape)
    counted = np.bincount(cell, has, size).reshape(shape) >= n_codes  # sum(min_count=n_codes)
    per_q = np.where(counted, per_q, np.nan)
    quarters = counted.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        annual = np.where(quarters > 0, np.nansum(per_q, axis=2) * 4 / quarters, np.nan)
    return annual, per_q


def _complete_cells(o: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """The outcome rows of the force-quarters where every offence pooled in `o` has a count on
    each basis that any of them has there, and how many force-quarters (and force-years) lacked
    one: a quarter missing one offence of a set (no rows, or published as 'data not provided')
    would change the mix of offences behind the pooled charge rate, and read as a change in
    charging."""
    code, codes = pd.factorize(o["offence_code"])
    n = len(codes)  # the offences present (a code with no rows here cannot be waited for)
    if n < 2:
        return o, 0, 0
    fi, yi = (pd.factorize(o[c])[0] for c in ("force", "financial_year"))
    cell = (fi * (yi.max() + 1) + yi) * 4 + o["quarter"].to_numpy(int) - 1
    short = np.zeros(cell.max() + 1, bool)
    for basis in ("closed_basis", "recorded_basis"):
        seen = np.zeros((cell.max() + 1) * n, bool)
        seen[(cell * n + code)[o[basis].notna().to_numpy()]] = True  # each (cell, offence) once
        held = seen.reshape(-1, n).sum(axis=1)
        short |= (held > 0) & (held < n)  # some offences counted on this basis, not all
    if not short.any():
        return o, 0, 0
    years = np.unique(np.flatnonzero(short) // 4)
    return o[~short[cell]], int(short.sum()), len(years)


def link_panel(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    offences: tuple[str, ...] = (taxonomy.STALKING,),
    pre: str = PRE,
    post: str = BREAK,
) -> pd.DataFrame:
    """Force-year panel for the link models: counts on both bases, the dose, and flags.

    Only the 43 territorial forces (BTP has no recorded-crime series after 2014/15). The dose is
    log(annualised offences recorded in `post` / annualised in `pre`) from the PFA table (or, if
    that is missing, from the recorded-basis totals in the outcomes files), summed over
    `offences`; annualising (x 4 / quarters with data) keeps the Greater Manchester gap from
    inflating its dose.
    """
    codes = [taxonomy.normalise_offence_code(o) for o in offences]
    terr = sorted(f.name for f in forces.territorial())
    o = outcomes[outcomes["offence_code"].isin(codes) & outcomes["force"].isin(terr)]
    if o.empty:
        raise InputError(f"link: no outcomes for {', '.join(codes)} in the store.")
    if absent := sorted(set(codes) - set(o["offence_code"])):
        # pooled, an offence with no rows would leave every quarter short of it
        raise InputError(
            f"link: no outcomes for {', '.join(absent)} in the territorial forces; pool only "
            "offences the store holds for them."
        )
    o, incomplete, incomplete_years = _complete_cells(o)
    cells = _cells(o)
    rec = recorded[recorded["offence_code"].isin(codes) & recorded["force"].isin(terr)]
    source = "PFA recorded offences"
    rec_years = pd.unique(rec["financial_year"])
    if rec.empty or not {pre, post} <= set(rec_years):
        # the recorded basis of each offence (every outcome type) in each force-quarter
        rec = (
            o.groupby(["force", "financial_year", "quarter", "offence_code"])["recorded_basis"]
            .sum(min_count=1)
            .rename("offences")
            .reset_index()
        )
        rec_years = pd.unique(rec["financial_year"])
        source = "recorded-basis totals in the outcomes files"
    rec_years = sorted(rec_years, key=periods.fy_start)
    annual, per_q = _annual_offences(
        rec, np.asarray(terr, dtype=object), np.asarray(rec_years, dtype=object), len(codes)
    )
    dose_terr = _dose(annual, rec_years, pre, post)
    at = pd.Index(terr).get_indexer(cells.forces)  # the outcomes' forces are territorial
    if not np.isfinite(dose_terr[at]).any():
        raise InputError(
            f"link: no force has offences recorded in both {pre} and {post} for {', '.join(codes)}; "
            "the dose (the growth in recorded offences) cannot be computed."
        )
    g = _year_table(cells, dose_terr[at])
    g["dose_c"] = g["dose"] - np.mean(dose_terr[np.isfinite(dose_terr)])
    starts = {y: periods.fy_start(y) for y in cells.years}
    g["post"] = (g["financial_year"].map(starts) >= periods.fy_start(post)).astype(int)
    g["counting_rule_period"] = g["financial_year"].map({y: _rule_period(y) for y in cells.years})
    last = cells.years[g["_y"].max()]  # labels sort as the years do
    g["not_yet_assigned_share"] = 1 - g["assigned_recorded"] / g["offences_recorded_basis"]
    rows = g["_f"].to_numpy(), g["_y"].to_numpy()
    for name, values in _mature_counts(cells).items():
        g[name] = values[rows]
    # its last quarter's, the least (negative: a quarter not yet published)
    g["cohort_follow_up"] = _cell_follow_ups(cells)[rows[1], 3]
    g["recorded_basis_censored"] = (g["financial_year"] == last) | (g["not_yet_assigned_share"] > MATURE_NYA)
    counted = [i for i in range(len(rec_years)) if not np.isnan(per_q[:, i]).all()]  # years with volumes
    labels = _span([rec_years[i] for i in counted] + list(cells.years[np.unique(rows[1])]))
    volumes = np.full((len(terr), len(labels), 4), np.nan)
    volumes[:, [labels.index(rec_years[i]) for i in counted]] = per_q[:, counted]
    shares = cohort_shares(volumes.reshape(len(terr), -1), _delays_from_cells(cells))
    closing = np.array([labels.index(y) for y in cells.years])[rows[1]]
    g = _with_cohort_shares(g, shares[at[rows[0]], closing], labels, closing, post)
    g["complete_year"] = rules.complete_year(g["quarters"])
    g["usable"] = rules.comparable(g["charged"], g["closed"])
    g["rate"] = g["charged"] / g["closed"]
    g = g.drop(columns=["_f", "_y"])
    g.attrs["dose_source"] = source
    g.attrs["offences"] = codes
    g.attrs["incomplete_cells"] = incomplete
    g.attrs["incomplete_force_years"] = incomplete_years
    return g


def _span(years: list[str]) -> list[str]:
    """Every financial year from the earliest of `years` to the latest."""
    first, last = min(map(periods.fy_start, years)), max(map(periods.fy_start, years))
    return [periods.fy_label(first + i) for i in range(last - first + 1)]


def _dose(annual: np.ndarray, years: list[str], pre: str, post: str) -> np.ndarray:
    """Each force's log growth in annualised offences from `pre` to `post` (F,), NaN where
    either year has none."""
    if pre not in years or post not in years:
        return np.full(annual.shape[0], np.nan)
    a, b = annual[:, years.index(pre)], annual[:, years.index(post)]
    ok = (a > 0) & (b > 0)
    return np.where(ok, np.log(np.where(ok, b, 1.0) / np.where(ok, a, 1.0)), np.nan)


def _year_table(cells: _Cells, dose: np.ndarray) -> pd.DataFrame:
    """One row per force-year with outcome rows and a dose, force-major, years in order: the
    year's counts (missing where no row had one), the quarters with closed-basis counts and
    the dose; `_f` and `_y` index the cube."""
    has = cells.present.any(axis=2) & np.isfinite(dose)[:, None]
    f, y = np.nonzero(has)
    columns: dict[str, object] = {"force": cells.forces[f].array, "financial_year": cells.years[y].array}
    for name in ("charged", "closed", "charged_recorded", "assigned_recorded", "offences_recorded_basis"):
        known_year = np.asarray(cells.known[name].any(axis=2))
        columns[name] = _int_array(cells.sums[name].sum(axis=2)[f, y], ~known_year[f, y])
    # 8Q and 8L rows for one force-quarter come from one file, so a quarter with any count has all
    columns["quarters"] = (cells.present & cells.known["any_closed_basis"]).sum(axis=2)[f, y].astype(np.int64)
    columns["dose"] = dose[f]
    columns["_f"], columns["_y"] = f, y
    return pd.DataFrame(columns)


def _mature_counts(cells: _Cells, lag: int = SNAPSHOT_LAG) -> dict[str, np.ndarray]:
    """Per force-year (F, Y): charged and assigned on the recorded basis summed over its mature
    quarterly cohorts only (followed MATURE_FOLLOW_UP quarters or more), and how many there were."""
    offences = cells.sums["offences_recorded_basis"]
    mature = (
        cells.present
        & cells.known["offences_recorded_basis"]
        & (offences > 0)
        & (_cell_follow_ups(cells, lag) >= MATURE_FOLLOW_UP)[None, :, :]
    )
    out = {}
    for name, source in (
        ("charged_recorded_mature", "q_charged"),
        ("assigned_recorded_mature", "q_assigned"),
    ):
        out[name] = (
            np.where(mature & cells.known[source], cells.sums[source], 0.0).sum(axis=2).astype(np.int64)
        )
    out["recorded_quarters_mature"] = mature.sum(axis=2).astype(np.int64)
    return out


def _with_cohort_shares(
    g: pd.DataFrame, shares: np.ndarray, labels: list[str], closing: np.ndarray, post: str
) -> pd.DataFrame:
    """The panel with each row's estimated share of closures from each recording year
    (closed_from_<year>; `shares` (rows, years), NaN where nothing was recorded to spread) and
    from the years from `post` on (post_cohort_share)."""
    unknown = np.isnan(shares).all(axis=1)
    shares = np.nan_to_num(shares)
    # a force-year with no recorded volumes to spread (none in the years before it) closes its own year's cases
    shares[np.flatnonzero(unknown), closing[unknown]] = 1.0
    after = np.array([periods.fy_start(y) >= periods.fy_start(post) for y in labels])
    columns = {f"closed_from_{y}": shares[:, i] for i, y in enumerate(labels)}
    columns["post_cohort_share"] = shares[:, after].sum(axis=1)
    g = pd.concat([g, pd.DataFrame(columns, index=g.index)], axis=1)
    return g


def quarterly_recorded_basis(o: pd.DataFrame) -> pd.DataFrame:
    """Per force, year and quarter on the recorded basis: offences (all types, 0 included),
    not yet assigned (type 0), charged (type 1) and assigned (types 1-22)."""
    return _quarterly_from_cells(_cells(o))


def delay_distribution(q: pd.DataFrame, lag: int = SNAPSHOT_LAG, horizon: int = DELAY_HORIZON) -> np.ndarray:
    """P(an outcome is assigned d quarters after recording), d = 0..horizon-1.

    A year's recorded basis is a snapshot `lag` quarters after the year ends, so its quarter k
    cohort has been followed for 4 - k + lag quarters: one minus its pooled not-yet-assigned
    share is the cumulative distribution F at that follow-up. Outside the observed follow-ups
    F is extended with the hazard of the nearest observed step (constant hazard), the one
    assumption the recorded basis cannot check.
    """
    q = q[(q["offences"] > 0) & q["not_yet_assigned"].notna()]
    years = sorted(set(q["financial_year"]), key=periods.fy_start)
    m = follow_ups(years, lag)[
        pd.Index(years).get_indexer(q["financial_year"]), q["quarter"].to_numpy(int) - 1
    ]
    return _delays_from_pooled(
        m, q["not_yet_assigned"].to_numpy(float), q["offences"].to_numpy(float), horizon
    )


def _delays_from_cells(cells: _Cells, lag: int = SNAPSHOT_LAG, horizon: int = DELAY_HORIZON) -> np.ndarray:
    """`delay_distribution` of `quarterly_recorded_basis`'s table, from the cube."""
    offences = cells.sums["offences_recorded_basis"]
    use = cells.known["offences_recorded_basis"] & (offences > 0) & cells.known["q_not_yet_assigned"]
    m = np.broadcast_to(_cell_follow_ups(cells, lag)[None, :, :], offences.shape)
    return _delays_from_pooled(m[use], cells.sums["q_not_yet_assigned"][use], offences[use], horizon)


def _delays_from_pooled(
    follow_up: np.ndarray, nya: np.ndarray, offences: np.ndarray, horizon: int
) -> np.ndarray:
    """`delay_distribution` from cohorts' follow-ups (quarters), not-yet-assigned counts and
    offences: one minus the pooled not-yet-assigned share at each follow-up seen is F there."""
    fu = follow_up.astype(int)
    if not len(fu) or fu.max() < 0:
        raise InputError("link: the recorded basis has no quarter with offences to estimate the delays from.")
    fu, nya, offences = fu[fu >= 0], nya[fu >= 0], offences[fu >= 0]
    pooled_nya = np.bincount(fu, nya, fu.max() + 1)
    pooled = np.bincount(fu, offences, fu.max() + 1)
    follow = {int(a): 1 - pooled_nya[a] / pooled[a] for a in np.unique(fu) if a < horizon and pooled[a] > 0}
    ms = sorted(follow)
    if len(ms) < 2:
        raise InputError("link: the recorded basis needs at least two quarters to estimate the delays.")
    cdf = np.full(horizon, np.nan)
    # F at each follow-up seen; one no cohort had (a year missing everywhere) read between its neighbours
    inside = np.arange(ms[0], ms[-1] + 1)
    cdf[inside] = np.interp(inside, ms, [follow[a] for a in ms])
    cdf[ms[0] : ms[-1] + 1] = np.maximum.accumulate(np.clip(cdf[ms[0] : ms[-1] + 1], 0, 1 - 1e-9))

    def hazard(a: int) -> float:
        return float(np.clip((cdf[a + 1] - cdf[a]) / (1 - cdf[a]), 0.01, 0.99))

    h_first, h_last = hazard(ms[0]), hazard(ms[-1] - 1)
    for m in range(ms[0] - 1, -1, -1):
        cdf[m] = max(0.0, 1 - (1 - cdf[m + 1]) / (1 - h_first))
    for m in range(ms[-1] + 1, horizon):
        cdf[m] = 1 - (1 - cdf[m - 1]) * (1 - h_last)
    cdf[-1] = 1.0
    return np.diff(np.concatenate([[0.0], cdf]))


def cohort_shares(volumes: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """For each force (rows of `volumes`, offences recorded in each quarter of consecutive
    years, NaN where unknown), the estimated share of each closing year's closures from each
    recording year: (force, closing year, recording year), NaN where nothing closes that year.
    Each quarter's volume is spread over later quarters by `delays`; a missing quarter is filled
    with the mean of the force's other quarters that year (a year with none counts 0)."""
    n_forces, nq = volumes.shape
    span = nq // 4
    by_year = volumes.reshape(n_forces, span, 4)
    empty = np.isnan(by_year).all(axis=2, keepdims=True)
    fill = np.nanmean(np.where(empty, 0.0, by_year), axis=2, keepdims=True)
    vol = np.where(np.isnan(by_year), fill, by_year).reshape(n_forces, nq)
    # spread[c, Q]: the share of recording quarter c's offences closed in quarter Q (a short
    # panel sees only the first delays)
    spread = np.zeros((nq, nq))
    for d, p in enumerate(delays[:nq]):
        idx = np.arange(nq - d)
        spread[idx, idx + d] = p
    # closures by (force, recording year, closing year): each recording quarter's volume times
    # the share of it closed in each closing year
    to_year = spread.reshape(span, 4, span, 4).sum(axis=3)  # (recording year, quarter, closing year)
    by_cohort_year = np.einsum("frk,rkc->frc", vol.reshape(n_forces, span, 4), to_year)
    total = by_cohort_year.sum(axis=1)  # (force, closing year)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = by_cohort_year.transpose(0, 2, 1) / np.where(total > 0, total, np.nan)[:, :, None]
    return shares


def cohort_weights(volumes: pd.DataFrame, delays: np.ndarray, years: list[str]) -> pd.DataFrame:
    """Per force and closing year in `years`: the estimated share of its closures from each
    recording year (columns), by `cohort_shares`. `volumes` has force, financial_year, quarter,
    offences (missing quarters are filled with the mean of the force's other quarters that year)."""
    labels = _span(list(volumes["financial_year"].unique()) + list(years))
    names = sorted(volumes["force"].unique())
    vol = np.full((len(names), len(labels), 4), np.nan)
    fi = pd.Index(names).get_indexer(volumes["force"])
    yi = pd.Index(labels).get_indexer(volumes["financial_year"])
    vol[fi, yi, volumes["quarter"].to_numpy(int) - 1] = volumes["offences"].to_numpy(float)
    shares = cohort_shares(vol.reshape(len(names), -1), delays)
    keep = ~np.isnan(shares).all(axis=2) & np.isin(labels, list(years))[None, :]
    f_idx, y_idx = np.nonzero(keep)  # force-major, years in order: the rows' order
    out = pd.DataFrame(shares[f_idx, y_idx], columns=labels)
    out.insert(0, "financial_year", np.asarray(labels, dtype=object)[y_idx])
    out.insert(0, "force", np.asarray(names, dtype=object)[f_idx])
    return out
