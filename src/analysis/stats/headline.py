"""The headline link claim: the number the pages print, the bound that goes with it, and the
diagnostics that, when one fires, the pages print as a warning beside it.

The headline is `trend_adjusted`: the dose x post effect with force trends that may differ
linearly with the dose, the line fixed by the years before the break alone (Rambachan and
Roth's smoothness class at M = 0), with its leave-one-force-out (CV3) jackknife interval and
t(G-1) critical values. It is a total change: what charging did plus what the April 2020 rule
did to the mix of cases counted as stalking; the generator's truth (`truth["link"]["total"]`)
is that sum.

Beside it, reported and never a warning:
- the primary (`link.PRIMARY`, parallel trends) with `breakdown_trend`, the linear dose x year
  trend that would take its interval across 0 (delta x `trend_leverage`, the coefficient on
  dose x post of a weighted regression of dose x year on the primary's design);
- `pre_trend_linear`, the dose x year slope on the pre-break years (the headline allows for it);
- `break_2018`, the primary model replicated on the April 2018 change.

Three diagnostics (`WARNINGS`) look for failures that bias the headline; each is a two-sided
CV3 test at 5%, and the pages print a warning when one fires:
- `exposure_check`: the dose instrumented by harassment (8L) recorded per stalking (8Q)
  offence in 2017/18 (before both rule changes) against the primary, for a mismeasured dose;
- `maturity_check`: the primary on mature quarterly cohorts against the primary, for charge
  delays that changed with the dose;
- `negative_control`: the primary model on the comparison set's charges (taxonomy.COMPARISON_SET,
  counts pooled) with stalking's dose, for force shocks that move charging in general.
The method study scores the headline as printed (battery `headline`): its interval, and
whether a warning fired, so that a miss no warning flags (a silent miss) is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.domain import periods, taxonomy
from analysis.errors import InputError
from analysis.stats import glm, link
from analysis.stats.link_panel import BREAK, link_panel

TREND_ORIGIN = periods.fy_start(link.PRE)  # dose x year counts years from 2019/20
EXPOSURE_YEAR = "2017/18"  # before the April 2018 change, so its jump does not enter the instrument
BREAK_2018 = ("2017/18", "2018/19")  # the April 2018 change: the year before and the year from it
ALPHA = 0.05
# the diagnostics whose firing the pages print as a warning: each looks for a failure that
# biases the headline (the linear pre-trend test does not: the headline allows for such trends)
WARNINGS = ("exposure_check", "maturity_check", "negative_control")


@dataclass(frozen=True)
class Jackknifed:
    """A coefficient with its leave-one-force-out draws, by force."""

    estimate: float
    draws: pd.Series  # index: force
    n_obs: int

    @property
    def n_forces(self) -> int:
        return len(self.draws)

    @property
    def se(self) -> float:
        return float(np.sqrt(link.cv3_covariance(self.draws.to_numpy()[:, None])[0, 0]))

    def estimate_row(
        self, estimator: str, specification: str, level: float = 0.95, note: str = ""
    ) -> link.Estimate:
        """The link models table's row: CV3 interval and t(G-1) p-value."""
        return link.cv3_row(
            estimator, specification, self.estimate, self.se, self.n_forces, self.n_obs, level, note
        )


def jackknifed(
    d: pd.DataFrame, terms: dict[str, np.ndarray], term: str, success: str, total: str
) -> Jackknifed:
    """Coefficient `term` of a binomial GLM with force and year effects and `terms`, with its
    leave-one-force-out refits."""
    X, names = glm.design(d, terms)
    k = names.index(term)
    beta = glm.fe_start(d, X, success, total)
    draws = link.jackknife_coefficients(d, X, [k], beta, success, total)[:, 0]
    return Jackknifed(float(beta[k]), pd.Series(draws, index=pd.unique(d["force"])), len(d))


def difference(a: Jackknifed, b: Jackknifed) -> tuple[float, float, float]:
    """a - b with its CV3 standard error from the paired leave-one-force-out draws (a force
    missing from one fit leaves that fit unchanged), and the t(G-1) p-value."""
    forces = a.draws.index.union(b.draws.index)
    da = a.draws.reindex(forces).fillna(a.estimate).to_numpy()
    db = b.draws.reindex(forces).fillna(b.estimate).to_numpy()
    diff = a.estimate - b.estimate
    se = float(np.sqrt(link.cv3_covariance((da - db)[:, None])[0, 0]))
    p = float(2 * stats.t.sf(abs(diff / se), len(forces) - 1)) if se > 0 else float("nan")
    return diff, se, p


def _years_from_origin(d: pd.DataFrame) -> np.ndarray:
    return d["financial_year"].map(periods.fy_start).to_numpy(float) - TREND_ORIGIN


def primary(dp: pd.DataFrame) -> Jackknifed:
    """The primary coefficient (dose x post) with its draws (the same fit as `link`'s primary)."""
    return jackknifed(dp, link.dose_x_post(dp), "dose_x_post", link.PRIMARY.success, link.PRIMARY.total)


def trend_adjusted(dp: pd.DataFrame) -> Jackknifed:
    """The dose x post effect allowing force trends that differ linearly with the dose, the
    line fitted on the years before the break alone and carried forward (Rambachan and Roth's
    smoothness class at M = 0): a dose x year term plus one dose term for each year from the
    break (so only the earlier years fix the line), the headline being those years' terms
    averaged with the weights of their assigned outcomes. A shock confined to one later year moves
    that year's term only, not the line."""
    years = _years_from_origin(dp)
    dose = dp["dose_c"].to_numpy()
    post_years = sorted(dp.loc[dp["post"] == 1, "financial_year"].unique(), key=periods.fy_start)
    terms = {"dose_x_year": dose * years}
    for y in post_years:
        terms[f"dose_x_{y}"] = dose * (dp["financial_year"] == y).to_numpy()
    X, names = glm.design(dp, terms)
    ks = [names.index(f"dose_x_{y}") for y in post_years]
    n = dp.groupby("financial_year")[link.PRIMARY.total].sum()
    w = n.reindex(post_years).to_numpy(float)
    w = w / w.sum()
    beta = glm.fe_start(dp, X, link.PRIMARY.success, link.PRIMARY.total)
    draws = link.jackknife_coefficients(dp, X, ks, beta, link.PRIMARY.success, link.PRIMARY.total) @ w
    return Jackknifed(float(beta[ks] @ w), pd.Series(draws, index=pd.unique(dp["force"])), len(dp))


def pre_trend_linear(dp: pd.DataFrame) -> Jackknifed | None:
    """The dose x year slope fitted on the years before the break alone (log-odds a year per
    unit of dose): a test of parallel pre-trends aimed at the violation that biases the
    primary most, a gap that grows steadily with the dose."""
    pre = dp[dp["post"] == 0]
    if pre["financial_year"].nunique() < 3:
        return None
    terms = {"dose_x_year": pre["dose_c"].to_numpy() * _years_from_origin(pre)}
    return jackknifed(pre, terms, "dose_x_year", link.PRIMARY.success, link.PRIMARY.total)


def trend_leverage(dp: pd.DataFrame) -> float:
    """How far the primary moves per unit of a linear dose x year trend in the charge log-odds:
    the dose x post coefficient of a regression of dose x year on the primary's design,
    weighted by the primary fit's working weights n p (1 - p) (the omitted-variable formula
    of the linearised fit)."""
    X, names = glm.design(dp, link.dose_x_post(dp))
    beta = glm.fe_start(dp, X, link.PRIMARY.success, link.PRIMARY.total)
    p = expit(X @ beta)
    w = np.sqrt(dp[link.PRIMARY.total].to_numpy(float) * p * (1 - p))
    trend = dp["dose_c"].to_numpy() * _years_from_origin(dp)
    coef = np.linalg.lstsq(X * w[:, None], trend * w, rcond=None)[0]
    return float(coef[names.index("dose_x_post")])


def exposure(recorded: pd.DataFrame, year: str = EXPOSURE_YEAR) -> pd.Series:
    """Per force: the log of harassment (8L) recorded per stalking (8Q) offence in `year`, from
    the PFA table. The April 2020 rule moved harassment between ex-partners into stalking, so a
    force with more harassment for each stalking offence had more to move: a predictor of its
    rise fixed before it, and not made from the charge outcomes or the dose's own counts."""
    r = recorded[
        (recorded["financial_year"] == year) & recorded["offence_code"].isin(["8L", taxonomy.STALKING])
    ]
    counts = r.pivot_table(
        index="force", columns="offence_code", values="offences", aggfunc="sum", observed=True
    )
    if not {"8L", taxonomy.STALKING} <= set(counts.columns):
        return pd.Series(dtype=float)
    ok = (counts["8L"] > 0) & (counts[taxonomy.STALKING] > 0)
    return np.log(counts.loc[ok, "8L"] / counts.loc[ok, taxonomy.STALKING]).astype(float)


@dataclass(frozen=True)
class Instrumented:
    """The exposure estimator: reduced form / first stage, with both refitted without each force."""

    fit: Jackknifed
    first_stage: float
    first_stage_f: float


def exposure_iv(dp: pd.DataFrame, x: pd.Series) -> Instrumented | None:
    """The dose x post slope with the dose instrumented by the exposure: the reduced form
    (exposure x post in the primary model) over the first stage (the forces' dose on their
    exposure, least squares), which equals the primary model's slope on the exposure-predicted
    dose. Each leave-one-force-out draw refits both."""
    d = dp[dp["force"].isin(x.index)]
    if d["force"].nunique() < 5:
        return None
    xc = d["force"].map(x).to_numpy(float)
    xc = xc - x[pd.unique(d["force"])].mean()
    rf = jackknifed(
        d,
        {"exposure_x_post": xc * d["post"].to_numpy()},
        "exposure_x_post",
        link.PRIMARY.success,
        link.PRIMARY.total,
    )
    per_force = d.groupby("force", sort=False)["dose_c"].first()
    z = x[per_force.index].to_numpy(float)
    dose = per_force.to_numpy(float)

    def slope(keep: np.ndarray) -> float:
        zk, dk = z[keep], dose[keep]
        return float(np.polyfit(zk, dk, 1)[0])

    pi = slope(np.ones(len(z), dtype=bool))
    pis = pd.Series([slope(per_force.index != f) for f in per_force.index], index=per_force.index)
    resid = dose - np.polyval(np.polyfit(z, dose, 1), z)
    f_stat = float(pi**2 / (resid @ resid / (len(z) - 2) / np.sum((z - z.mean()) ** 2)))
    draws = rf.draws / pis.reindex(rf.draws.index)
    return Instrumented(Jackknifed(rf.estimate / pi, draws, rf.n_obs), pi, f_stat)


def mature(d: pd.DataFrame) -> Jackknifed | None:
    """The primary model on mature quarterly cohorts only (`link.MATURE`)."""
    dm = link.MATURE.sample(d)
    if dm.empty or dm["post"].nunique() < 2:
        return None
    return jackknifed(dm, link.dose_x_post(dm), "dose_x_post", link.MATURE.success, link.MATURE.total)


def negative_control(
    outcomes: pd.DataFrame, recorded: pd.DataFrame, d: pd.DataFrame, codes: tuple[str, ...]
) -> Jackknifed | None:
    """The primary model on the comparison set's charges (the offences of `codes` the store
    holds, counts pooled) with the analysed offence's dose."""
    held = link.held_comparison(outcomes, codes)
    if not held:
        return None
    o = link.PRIMARY.sample(link.with_dose(link_panel(outcomes, recorded, held), d))
    if o.empty:
        return None
    return jackknifed(o, link.dose_x_post(o), "dose_x_post", link.PRIMARY.success, link.PRIMARY.total)


def break_2018(
    outcomes: pd.DataFrame, recorded: pd.DataFrame, offence: str = taxonomy.STALKING
) -> Jackknifed | None:
    """The primary model replicated on the April 2018 change: each force's log growth in
    recorded stalking from 2017/18 to 2018/19 as the dose, years before 2020/21 only (the 2020
    change is a different experiment), on the primary's basis."""
    pre, post = BREAK_2018
    try:
        panel = link_panel(outcomes, recorded, (offence,), pre=pre, post=post)
    except InputError:  # no offences recorded in both years: no replication
        return None
    d = panel[panel["usable"]].astype({"force": object, "financial_year": object})
    d = link.PRIMARY.sample(d[d["financial_year"].map(periods.fy_start) < periods.fy_start(BREAK)])
    d = d[np.isfinite(d["dose_c"])]
    if d["force"].nunique() < 5 or d["post"].nunique() < 2:
        return None
    return jackknifed(d, link.dose_x_post(d), "dose_x_post", link.PRIMARY.success, link.PRIMARY.total)


def _check(fired_p: float, **values: float) -> dict:
    """A diagnostic's numbers and whether it fired (p < ALPHA); not run when p is missing."""
    ran = bool(np.isfinite(fired_p))
    return {"ran": ran, "fired": ran and fired_p < ALPHA, "p_value": fired_p, **values}


def breakdown_trend(estimate: float, ci_low: float, ci_high: float, leverage: float) -> float:
    """The linear dose x year trend (log-odds a year per unit of dose, signed) that would move the
    primary's interval to touch 0 (the truth is the primary less trend x leverage); 0 when the
    interval already holds 0, nan when the primary does not respond to such a trend."""
    if ci_low <= 0 <= ci_high:
        return 0.0
    if not leverage:
        return float("nan")
    return (ci_high if estimate < 0 else ci_low) / leverage


def _interval(j: Jackknifed, tq: float) -> dict:
    return {
        "estimate": j.estimate,
        "se": j.se,
        "ci_low": j.estimate - tq * j.se,
        "ci_high": j.estimate + tq * j.se,
        "p_value": _p_of(j),
        "n_forces": j.n_forces,
    }


def _p_of(j: Jackknifed | None) -> float:
    if j is None or not j.se > 0:
        return float("nan")
    return float(2 * stats.t.sf(abs(j.estimate / j.se), j.n_forces - 1))


def _years_used(d: pd.DataFrame, dp: pd.DataFrame) -> dict:
    """The recording years after the break the estimate compares (`post_years`), and the years
    left out because their cohorts had not yet been followed long enough (`maturing_left_out`)."""
    after = dp[dp["post"] == 1]
    post = sorted(after["financial_year"].unique(), key=periods.fy_start)
    if "cohort_follow_up" not in d:  # a panel without follow-ups: every year followed alike
        return {"post_years": post, "maturing_left_out": [], "post_follow_up": None}
    young = d["cohort_follow_up"] < link.PRIMARY_FOLLOW_UP
    left = set(d.loc[young, "financial_year"]) - set(dp["financial_year"])
    return {
        "post_years": post,
        "maturing_left_out": sorted(left, key=periods.fy_start),
        # under PRIMARY_FOLLOW_UP: too few years after the break, the best-followed one compared
        "post_follow_up": int(after["cohort_follow_up"].min()) if len(after) else None,
    }


def assess(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    d: pd.DataFrame,
    comparison: tuple[str, ...] | None = None,
    offence: str = taxonomy.STALKING,
    level: float = 0.95,
) -> tuple[dict, list[link.Estimate]]:
    """The headline as printed: the trend-adjusted estimate and interval, the parallel-trends
    primary beside it with the linear trend that would take its interval across 0, the
    diagnostics (and which fired), and the 2018 replication; with their rows for the link
    models table."""
    dp = link.primary_sample(d)
    prim, head = primary(dp), trend_adjusted(dp)
    tq = stats.t.ppf(0.5 + level / 2, prim.n_forces - 1)
    pre, lev = pre_trend_linear(dp), trend_leverage(dp)
    iv = exposure_iv(dp, exposure(recorded)) if offence == taxonomy.STALKING else None
    mat = mature(d)
    held = link.held_comparison(outcomes, taxonomy.comparison_for(offence, comparison))
    nc = negative_control(outcomes, recorded, d, held)
    b18 = break_2018(outcomes, recorded, offence) if offence == taxonomy.STALKING else None
    nan = float("nan")
    iv_diff = difference(iv.fit, prim) if iv is not None else (nan, nan, nan)
    mat_diff = difference(mat, prim) if mat is not None else (nan, nan, nan)
    checks = {
        "pre_trend_linear": _check(
            _p_of(pre), estimate=pre.estimate if pre else nan, se=pre.se if pre else nan
        ),
        "exposure_check": _check(
            iv_diff[2],
            difference=iv_diff[0],
            se=iv_diff[1],
            estimate=iv.fit.estimate if iv else nan,
            first_stage_f=iv.first_stage_f if iv else nan,
        ),
        "maturity_check": _check(
            mat_diff[2], difference=mat_diff[0], se=mat_diff[1], estimate=mat.estimate if mat else nan
        ),
        "negative_control": {
            **_check(_p_of(nc), estimate=nc.estimate if nc else nan, se=nc.se if nc else nan),
            "offences": list(held),  # the comparison set's offences pooled
        },
    }
    fired = [name for name in WARNINGS if checks[name]["fired"]]
    parallel = _interval(prim, tq)
    summary = {
        **_interval(head, tq),
        "level": level,
        **_years_used(d, dp),
        "estimator": "trend_adjusted",
        "checks": checks,
        "fired": fired,
        "warned": bool(fired),
        "parallel_trends": {
            **parallel,
            "trend_leverage": lev,
            "breakdown_trend": breakdown_trend(prim.estimate, parallel["ci_low"], parallel["ci_high"], lev),
        },
        # its own t(G-1): the 2018 fit can hold fewer forces than the primary
        "break_2018": _interval(b18, stats.t.ppf(0.5 + level / 2, b18.n_forces - 1))
        if b18 is not None
        else None,
    }
    return summary, _rows(summary, prim, head, pre, iv, b18, level)


def attach(
    result: link.LinkResult,
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    comparison: tuple[str, ...] | None = None,
    offence: str = taxonomy.STALKING,
    level: float = 0.95,
) -> None:
    """Add the headline (`assess`) to a link result: its rows to the models table, its summary
    to the primary summary as `headline`."""
    summary, rows = assess(outcomes, recorded, link.usable(result.panel), comparison, offence, level)
    result.models = pd.concat([result.models, pd.DataFrame([r.row() for r in rows])], ignore_index=True)
    result.primary["headline"] = summary


def _rows(
    summary: dict,
    prim: Jackknifed,
    head: Jackknifed,
    pre: Jackknifed | None,
    iv: Instrumented | None,
    b18: Jackknifed | None,
    level: float,
) -> list[link.Estimate]:
    """The headline's rows of the link models table."""
    fired = ", ".join(summary["fired"]) or "none"
    rows = [
        head.estimate_row(
            "headline",
            "the estimate the pages print: as primary, with a dose x year term (force trends "
            "differing linearly with the dose), and the warnings shown beside it",
            level,
            f"warnings fired: {fired}",
        ),
    ]
    if pre is not None:
        rows.append(
            pre.estimate_row(
                "pre_trend_linear",
                f"dose x year slope, years before {BREAK} only (log-odds a year per unit of dose)",
                level,
                "true value 0 if trends are parallel",
            )
        )
    if iv is not None:
        rows.append(
            iv.fit.estimate_row(
                "exposure_iv",
                f"as primary, the dose instrumented by log harassment per stalking offence in {EXPOSURE_YEAR}",
                level,
                f"first-stage slope {iv.first_stage:.3f}, F = {iv.first_stage_f:.1f}",
            )
        )
    tq = stats.t.ppf(0.5 + level / 2, prim.n_forces - 1)
    for row_name, name, spec, value in (
        ("exposure_check", "exposure_check", "exposure_iv minus primary (paired jackknife)", "difference"),
        (
            "maturity_check",
            "maturity_check",
            "recorded_mature minus primary (paired jackknife)",
            "difference",
        ),
        # named apart from the link table's own negative_control row (the same fit) so that
        # attach() adds no second row of that name
        (
            "negative_control_check",
            "negative_control",
            "primary model on the comparison set's charges, the analysed offence's dose",
            "estimate",
        ),
    ):
        c = summary["checks"][name]
        if c["ran"]:
            rows.append(
                link.Estimate(
                    row_name,
                    spec,
                    c[value],
                    link.CV3.format(df=prim.n_forces - 1),
                    c[value] - tq * c["se"],
                    c[value] + tq * c["se"],
                    c["p_value"],
                    prim.n_forces,
                    None,
                    "true value 0 if the primary's assumptions hold",
                )
            )
    if b18 is not None:
        pre18, post18 = BREAK_2018
        rows.append(
            b18.estimate_row(
                "break_2018",
                f"as primary on the April 2018 change: dose = log growth {pre18} to {post18}, years before {BREAK}",
                level,
                "the 2018 replication",
            )
        )
    return rows
