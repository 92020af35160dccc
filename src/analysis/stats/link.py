"""Did forces whose recorded offences (stalking by default) rose most across April 2020 see
their charge rates fall most?

The dose is each force's log growth in recorded offences from 2019/20 to 2020/21, taken from the
offences recorded (the PFA table). The primary outcome is on the recorded basis, following the
recording cohort: of the outcomes assigned, by the time the data were counted, to the offences
recorded in that year, the share charged (complete years followed at least two years only, under
a republication's count). Dose and outcome share
no count, so the regression is free of the ratio (division) bias that arises when a rate is
regressed on its own denominator's growth (Pearson 1897; Lieberson and Fuguitt 1973); the
closed basis, which mixes recording cohorts, is fitted only as a sensitivity analysis.

Primary estimator (PRIMARY): binomial GLM of those charges with force and year fixed effects and
dose x post-2020; a leave-one-force-out jackknife (CV3) standard error with t(G-1) intervals, a
quasi-binomial dispersion for reference, and a wild cluster score bootstrap p-value (Kline and
Santos 2012, Rademacher weights) because there are only 43 clusters. Also: an event study (dose
x year, reference 2019/20) with the Rambachan-Roth bounds, a first-difference cross-section,
placebo break years before 2020, a permutation test, the closed-basis and cohort variants, dose
thirds and a spline, a negative control and triple difference on a comparison set of offences, and
stalking plus harassment together (reclassification). No force has zero dose, so every estimate
compares forces with larger rises to forces with smaller rises; none is a causal effect of the
counting-rule change.

The panel is built in analysis.stats.link_panel, the cluster-robust GLM machinery is in
analysis.stats.glm, and the words that go with the primary estimate in analysis.reports.link_text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit, logit

from analysis import outputs
from analysis.domain import forces, periods, rules, taxonomy
from analysis.errors import InputError
from analysis.stats import glm, sensitivity
from analysis.stats.link_panel import BREAK, PRE, link_panel

PLACEBO_YEARS = ("2016/17", "2017/18", "2018/19")
# closed years whose closures mix recording cohorts from before and after April 2020 (most of
# 2021/22's closures are post-2020 cohorts, but a quarter are not): left out of the donut
DONUT_YEARS = ("2020/21", "2021/22")
CV3 = "cluster jackknife (CV3) SE, t({df}) interval"
COMPARISON = taxonomy.COMPARISON_OFFENCES  # the negative control's default comparison set
# the columns of the link models table, in order, as the catalogue lists them (the data-source
# label is added when the table is written)
MODEL_COLUMNS = tuple(c for c in outputs.LINK_MODELS.columns if c != "data_source")


def permutation_p(
    d: pd.DataFrame, reps: int = 199, seed: int = 2, success: str = "charged", total: str = "closed"
) -> tuple[float, float]:
    """Randomisation p-value: the primary slope against slopes with doses shuffled between
    forces. Returns (p-value, observed slope)."""
    return glm.permutation_p(d, "dose_c", "post", reps, seed, success, total)


@dataclass(frozen=True)
class Estimate:
    """One row of the link models table: an estimator's estimate, interval, p-value and basis."""

    estimator: str
    specification: str
    estimate: float
    method: str
    ci_low: float = np.nan
    ci_high: float = np.nan
    p_value: float | None = None
    n_forces: int | None = None
    n_obs: int | None = None
    note: str = ""

    @classmethod
    def from_fit(
        cls, estimator: str, specification: str, fit: glm.Fit, method: str, note: str = ""
    ) -> Estimate:
        """The estimate, interval and p-value of a fitted GLM's coefficient of interest."""
        return cls(
            estimator,
            specification,
            fit.estimate,
            method,
            fit.ci_low,
            fit.ci_high,
            fit.p_value,
            fit.n_clusters,
            fit.n_obs,
            note,
        )

    @classmethod
    def other_p_value(
        cls, estimator: str, specification: str, fit: glm.Fit, method: str, p_value: float
    ) -> Estimate:
        """Another test of a fitted coefficient: its estimate again, a p-value, no interval."""
        found = cls.from_fit(estimator, specification, fit, method, note="p-value only")
        return replace(found, ci_low=np.nan, ci_high=np.nan, p_value=p_value)

    def row(self) -> dict:
        """The row, columns in the table's order."""
        return {c: getattr(self, c) for c in MODEL_COLUMNS}


@dataclass
class LinkResult:
    """Every link estimator's result, the primary estimate, and the panel they used."""

    models: pd.DataFrame
    primary: dict
    event_study: pd.DataFrame
    panel: pd.DataFrame
    force_residuals: pd.DataFrame
    dose: pd.Series  # the dose of each force in the primary fit
    influence: pd.DataFrame  # the primary estimate with each force left out
    # the dose-response shape: the spline's curve and the dose thirds (empty without secondary rows)
    dose_spline: pd.DataFrame = field(default_factory=pd.DataFrame)
    dose_thirds: pd.DataFrame = field(default_factory=pd.DataFrame)
    first_difference: pd.DataFrame = field(default_factory=pd.DataFrame)  # its points, per force


FD_PRE, FD_POST = ("2018/19", "2019/20"), ("2020/21", "2021/22")


def first_difference_points(
    d: pd.DataFrame, pre_years: tuple[str, ...] = FD_PRE, post_years: tuple[str, ...] = FD_POST
) -> pd.DataFrame:
    """The first-difference estimator's data, one row per force with both periods: its dose, the
    change in its pooled logit charge rate from the pre to the post years, that change's
    inverse-variance weight, and its investigations closed in the post years (the dose-response
    figure draws these points; outputs.LINK_FIRST_DIFFERENCE)."""

    def pooled(years):
        return d[d["financial_year"].isin(years)].groupby("force")[["charged", "closed"]].sum()

    a, b = pooled(pre_years), pooled(post_years)
    both = a.index.intersection(b.index)
    a, b = a.loc[both], b.loc[both]
    la = logit((a["charged"] + 0.5) / (a["closed"] + 1))
    lb = logit((b["charged"] + 0.5) / (b["closed"] + 1))
    var = (
        1 / (a["charged"] + 0.5)
        + 1 / (a["closed"] - a["charged"] + 0.5)
        + 1 / (b["charged"] + 0.5)
        + 1 / (b["closed"] - b["charged"] + 0.5)
    )
    return pd.DataFrame(
        {
            "force": list(both),
            "dose": d.groupby("force")["dose"].first().loc[both].to_numpy(),
            "change_logit": (lb - la).to_numpy(),
            "weight": (1 / var).to_numpy(),
            "closed_post": b["closed"].to_numpy(),
            "years_from": "+".join(pre_years),
            "years_to": "+".join(post_years),
        }
    )


def first_difference(
    d: pd.DataFrame,
    pre_years: tuple[str, ...] = FD_PRE,
    post_years: tuple[str, ...] = FD_POST,
    level: float = 0.95,
) -> Estimate:
    """Cross-section: change in pooled logit charge rate (post years vs pre years) on the dose,
    weighted by inverse variance, HC3 errors."""
    pts = first_difference_points(d, pre_years, post_years)
    X = sm.add_constant(pts["dose"].to_numpy())
    res = sm.WLS(pts["change_logit"].to_numpy(), X, weights=pts["weight"].to_numpy()).fit(cov_type="HC3")
    est, se = float(res.params[1]), float(res.bse[1])
    both = pts["force"]
    tq = stats.t.ppf(0.5 + level / 2, len(both) - 2)
    return Estimate(
        "first_difference",
        f"change in pooled logit charge rate {'-'.join(pre_years)} to {'-'.join(post_years)} on "
        "dose, inverse-variance weights",
        est,
        "HC3 SE (the CV3 jackknife's analogue with one observation per force), t(G-2) interval",
        ci_low=est - tq * se,
        ci_high=est + tq * se,
        p_value=float(2 * stats.t.sf(abs(est / se), len(both) - 2)),
        n_forces=len(both),
        n_obs=len(both),
    )


def jackknife_coefficients(
    d: pd.DataFrame,
    X: np.ndarray,
    ks: list[int],
    start: np.ndarray,
    success: str = "charged",
    total: str = "closed",
) -> np.ndarray:
    """Leave-one-force-out refits: the coefficients `ks` with each force left out, (G, len(ks)).

    All G refits in one batch (`glm.jackknife_draws`, exact maximum likelihood); `ks` must be
    columns after the force dummies."""
    G = int(pd.factorize(d["force"])[0].max()) + 1
    return glm.jackknife_draws(d, X, start, success, total)[:, [k - G for k in ks]]


def cv3_covariance(draws: np.ndarray) -> np.ndarray:
    """The cluster jackknife (CV3) covariance from leave-one-cluster-out draws: (G-1)/G sum of
    outer products of the deviations from their mean."""
    g = len(draws)
    dev = draws - draws.mean(axis=0)
    return (g - 1) / g * dev.T @ dev


def joint_wald(est: np.ndarray, cov: np.ndarray, n_clusters: int) -> tuple[float, float, int]:
    """Joint test that every coefficient is 0: Wald F = b' V^-1 b / k against F(k, G-1)
    (the small-cluster reference distribution). Returns (F, p-value, k)."""
    k = len(est)
    f = float(est @ np.linalg.solve(cov, est)) / k
    return f, float(stats.f.sf(f, k, n_clusters - 1)), k


@dataclass
class EventStudy:
    """Dose x year coefficients (CV3 intervals) and the joint test of the pre-period ones."""

    table: pd.DataFrame
    pre_test: dict
    covariance: np.ndarray  # CV3, over the non-reference years in table order


def event_study(
    d: pd.DataFrame,
    reference: str = PRE,
    level: float = 0.95,
    success: str = "charged",
    total: str = "closed",
    bootstrap_reps: int = 0,
    seed: int = 1,
) -> EventStudy:
    """Dose x year coefficients (reference year omitted), force and year effects, with
    cluster jackknife (CV3) intervals and a joint CV3 Wald test of the years before `reference`;
    with `bootstrap_reps`, also the joint wild cluster score bootstrap test of them."""
    years = sorted(y for y in d["financial_year"].unique() if y != reference)
    terms = {f"dose_x_{y}": d["dose_c"].to_numpy() * (d["financial_year"] == y).to_numpy() for y in years}
    X, names = glm.design(d, terms)
    beta = glm.fe_start(d, X, success, total)
    ks = [names.index(f"dose_x_{y}") for y in years]
    cov = cv3_covariance(jackknife_coefficients(d, X, ks, beta, success, total))
    g = d["force"].nunique()
    tq = stats.t.ppf(0.5 + level / 2, g - 1)
    est, se = beta[ks], np.sqrt(np.diag(cov))
    rows = [
        {
            "financial_year": reference,
            "estimate": 0.0,
            "ci_low": 0.0,
            "ci_high": 0.0,
            "p_value": np.nan,
            "reference": True,
        }
    ]
    for y, e, s in zip(years, est, se):
        rows.append(
            {
                "financial_year": y,
                "estimate": float(e),
                "ci_low": float(e - tq * s),
                "ci_high": float(e + tq * s),
                "p_value": float(2 * stats.t.sf(abs(e / s), g - 1)),
                "reference": False,
            }
        )
    out = pd.DataFrame(rows).sort_values("financial_year").reset_index(drop=True)
    out["post"] = out["financial_year"].map(periods.fy_start) >= periods.fy_start(BREAK)
    out["method"] = CV3.format(df=g - 1)
    pre = [i for i, y in enumerate(years) if periods.fy_start(y) < periods.fy_start(reference)]
    test = {"years": [years[i] for i in pre], "statistic": np.nan, "p_value": np.nan, "df1": 0, "df2": g - 1}
    if pre:
        f, p, k = joint_wald(est[pre], cov[np.ix_(pre, pre)], g)
        test.update(statistic=f, p_value=p, df1=k)
        if bootstrap_reps:
            stat, p_wild = glm.wild_score_joint(
                d, X, [ks[i] for i in pre], bootstrap_reps, seed, success, total
            )
            test.update(wild_statistic=stat, wild_p_value=p_wild, wild_reps=bootstrap_reps)
    test["method"] = f"joint Wald F test of the pre-{reference} coefficients, CV3 covariance, F(k, {g - 1})"
    test["wild_method"] = (
        f"joint wild cluster score bootstrap of the pre-{reference} coefficients (Rademacher, "
        f"{bootstrap_reps} reps)"
    )
    return EventStudy(out, test, cov)


def pre_trend_sensitivity(es: EventStudy, mbar: float = 1.0, level: float = 0.95) -> dict:
    """Rambachan-Roth sensitivity of the event study's mean post-break coefficient (the
    `event_study_mean_post` row) to violations of parallel trends, under relative magnitudes:
    the robust interval at `mbar` and the breakdown Mbar for excluding 0
    (analysis.stats.sensitivity), with the years behind them."""
    t = es.table[~es.table["reference"]].reset_index(drop=True)
    post = t["post"].to_numpy(bool)
    n_pre = int((~post).sum())
    if n_pre == 0 or not post.any() or not post[n_pre:].all():
        return {
            "computed": False,
            "reason": f"the event study has no years before {PRE} or none from {BREAK} on",
        }
    if not (np.isfinite(es.covariance).all() and np.isfinite(t["estimate"]).all()):
        return {"computed": False, "reason": "the event study's coefficients or covariance are not finite"}
    years = t["financial_year"].tolist()
    n_post = len(years) - n_pre
    out = sensitivity.summary(
        t["estimate"].to_numpy(), es.covariance, n_pre, np.full(n_post, 1 / n_post), mbar, level
    )
    # the pre-period changes, the last into the reference year (whose coefficient is 0)
    ladder = [*years[:n_pre], es.table.loc[es.table["reference"], "financial_year"].iloc[0]]
    changes = np.diff([*t["estimate"].to_numpy()[:n_pre], 0.0])
    j = int(np.abs(changes).argmax())
    return {
        "computed": True,
        "parameter": f"mean of the dose x year coefficients from {BREAK} on (event_study_mean_post)",
        "pre_years": years[:n_pre],
        "post_years": years[n_pre:],
        "largest_pre_change_years": [ladder[j], ladder[j + 1]],
        **out,
    }


@dataclass(frozen=True)
class Basis:
    """Which force-years and counts an estimator of the dose x post model uses."""

    name: str
    specification: str
    success: str
    total: str
    drop_years: tuple[str, ...] = ()
    complete_years_only: bool = False
    min_follow_up: int = 0  # quarters; see `sample`

    def sample(self, d: pd.DataFrame) -> pd.DataFrame:
        """The usable force-years on this basis."""
        keep = ~d["financial_year"].isin(self.drop_years) & rules.comparable(d[self.success], d[self.total])
        if self.complete_years_only:
            # a year missing quarters holds other quarterly cohorts, followed for other lengths of
            # time, than the force's complete years: its censoring differs, so it is left out
            keep &= d["complete_year"]
        if self.min_follow_up and "cohort_follow_up" in d and d["cohort_follow_up"].nunique() > 1:
            # years followed for different lengths (a republication's count: older years are
            # more complete): a force whose charges come later would look less charged in the
            # recent years alone, so only years whose every cohort has had min_follow_up
            # quarters enter. Followed alike (a count per year), their censoring is alike.
            keep &= d["cohort_follow_up"] >= self._follow_up_needed(d[keep])
        return d[keep]

    def _follow_up_needed(self, d: pd.DataFrame) -> int:
        """min_follow_up, or, where no year after the break has been followed that long yet (a
        store with a year or two after it), the longest follow-up of one, so that the
        best-followed year after the break is compared (the page names the years left out)."""
        post = d.loc[d["post"] == 1, "cohort_follow_up"]
        return int(min(self.min_follow_up, post.max())) if len(post) else self.min_follow_up


# Under a republication's count, a year enters the primary once its last quarter's offences have
# been followed two years (the last two years are left out): measured in docs/methods.md, "The
# recorded basis the link estimators assume".
PRIMARY_FOLLOW_UP = 8
RECORDED = Basis(
    "recorded_basis",
    "binomial GLM, force + year effects, dose x post-2020, recorded basis (charged of outcomes assigned "
    "by the count, timed by the year recorded; years followed at least two years)",
    "charged_recorded",
    "assigned_recorded",
    complete_years_only=True,
    min_follow_up=PRIMARY_FOLLOW_UP,
)
# the sensitivity function that would repeat the primary (its row is not fitted twice)
_PRIMARY_FUNCTION = {"recorded_basis": "recorded_all"}
# Chosen by the method study's scenarios (docs/methods.md): the recorded basis is timed by the
# year an offence was recorded, as the effect is; its censoring is made alike by the follow-up rule.
PRIMARY = RECORDED
PRIMARY_SPECIFICATION = PRIMARY.specification


def primary_sample(d: pd.DataFrame) -> pd.DataFrame:
    """The primary estimator's force-years."""
    return PRIMARY.sample(d)


def cv3_row(
    estimator: str,
    specification: str,
    est: float,
    se: float,
    n_forces: int,
    n_obs: int | None,
    level: float = 0.95,
    note: str = "",
) -> Estimate:
    """A row with a CV3 standard error: t(G-1) interval and two-sided p-value."""
    tq = stats.t.ppf(0.5 + level / 2, n_forces - 1)
    p = float(2 * stats.t.sf(abs(est / se), n_forces - 1)) if se > 0 else float("nan")
    return Estimate(
        estimator,
        specification,
        est,
        CV3.format(df=n_forces - 1),
        est - tq * se,
        est + tq * se,
        p,
        n_forces,
        n_obs,
        note,
    )


def cv3_estimate(
    estimator: str,
    specification: str,
    d: pd.DataFrame,
    X: np.ndarray,
    k: int,
    level: float = 0.95,
    success: str = "charged",
    total: str = "closed",
    note: str = "",
) -> Estimate:
    """Coefficient k of a binomial GLM on design X (exact fit, force intercepts absorbed), with the leave-one-force-out
    jackknife (CV3) SE and a t(G-1) interval: the inference every cohort-timed estimator uses."""
    if d.empty or not np.any(X[:, k]) or np.all(X[:, k] == X[0, k]):
        # e.g. a donut on a panel that ends before its post years: nothing to compare
        return Estimate(
            estimator, specification, float("nan"), "not fitted", note="no variation in the exposure"
        )
    beta = glm.fe_start(d, X, success, total)
    se = glm.jackknife_se(d, X, k, beta, success, total)
    return cv3_row(estimator, specification, float(beta[k]), se, d["force"].nunique(), len(d), level, note)


def dose_x_post_estimate(
    estimator: str,
    specification: str,
    d: pd.DataFrame,
    level: float = 0.95,
    success: str = "charged",
    total: str = "closed",
    note: str = "",
) -> Estimate:
    """The dose x post slope of a binomial GLM with force and year effects on `d`, with CV3."""
    X, names = glm.design(d, dose_x_post(d))
    return cv3_estimate(
        estimator, specification, d, X, names.index("dose_x_post"), level, success, total, note
    )


def donut(d: pd.DataFrame, level: float = 0.95, years: tuple[str, ...] = DONUT_YEARS) -> Estimate:
    """The closed-basis model without the closed years whose closures mix pre- and post-2020
    recording cohorts: before-years against the years when nearly all closures are of
    offences recorded from April 2020."""
    return dose_x_post_estimate(
        "donut",
        f"binomial GLM, force + year effects, dose x post-2020, closed basis without {', '.join(years)}",
        d[~d["financial_year"].isin(years)],
        level,
    )


def cohort_share(d: pd.DataFrame, level: float = 0.95) -> Estimate:
    """Closed basis, every year, with the exposure the estimated share of the year's closures
    that come from offences recorded from April 2020 (times the dose)."""
    term = {"dose_x_cohort_share": d["dose_c"].to_numpy() * d["post_cohort_share"].to_numpy()}
    X, names = glm.design(d, term)
    return cv3_estimate(
        "cohort_share",
        "binomial GLM, force + closing-year effects, dose x estimated post-2020 cohort share of closures",
        d,
        X,
        names.index("dose_x_cohort_share"),
        level,
    )


def cohort_mix(d: pd.DataFrame, level: float = 0.95) -> Estimate:
    """As cohort_share, with the year effects also following the recording cohort: each
    force-year's effect is the mix of recording-year effects in its closures (estimated shares),
    so a national fall by cohort does not load onto forces that close more new cases."""
    shares = [c for c in d.columns if c.startswith("closed_from_") and d[c].abs().sum() > 0]
    fe = pd.get_dummies(d["force"], drop_first=True, dtype=float)
    exposure = d["dose_c"].to_numpy() * d["post_cohort_share"].to_numpy()
    X = np.column_stack([np.ones(len(d)), fe.to_numpy(), d[shares[1:]].to_numpy(float), exposure])
    return cv3_estimate(
        "cohort_mix",
        "binomial GLM, force effects + recording-year effects mixed by each year's estimated cohort "
        "shares, dose x post-2020 cohort share",
        d,
        X,
        X.shape[1] - 1,
        level,
    )


MATURE = Basis(
    "recorded_mature",
    "as primary on the recorded basis, mature quarterly cohorts only (charged of outcomes assigned)",
    "charged_recorded_mature",
    "assigned_recorded_mature",
    complete_years_only=True,
)


def on_basis(basis: Basis, d: pd.DataFrame, level: float = 0.95, note: str = "") -> Estimate:
    """The dose x post model on `basis`'s force-years and counts, with CV3."""
    return dose_x_post_estimate(
        basis.name, basis.specification, basis.sample(d), level, basis.success, basis.total, note
    )


def recorded_mature(d: pd.DataFrame, level: float = 0.95) -> Estimate:
    """Recorded basis (timed by the year recorded), mature quarterly cohorts only: charged of
    outcomes assigned so far, over the quarterly cohorts followed longest (link_panel.MATURE_FOLLOW_UP)."""
    return on_basis(
        MATURE, d, level, "quarters 1-2 of each year: followed 3 or more quarters at the snapshot"
    )


def recorded_all(d: pd.DataFrame, level: float = 0.95) -> Estimate:
    """Recorded basis, every quarterly cohort of the years the primary keeps."""
    return on_basis(
        RECORDED, d, level, "recent quarters' outcomes incomplete; years followed under two years left out"
    )


def closed_all_years(d: pd.DataFrame, level: float = 0.95) -> Estimate:
    """The former primary: closed basis, every year, post timed by the closing year."""
    return dose_x_post_estimate(
        "closed_basis_all_years",
        "binomial GLM, force + year effects, dose x post-2020 by closing year, closed basis",
        d,
        level,
    )


COHORT_CANDIDATES = (closed_all_years, donut, cohort_share, cohort_mix, recorded_all, recorded_mature)


def dose_thirds(dose: pd.Series) -> pd.Series:
    """Each force's third of the dose (0 bottom, 1 middle, 2 top), ties broken by order."""
    return pd.qcut(dose.rank(method="first"), 3, labels=False)


def dose_terciles(d: pd.DataFrame, level: float = 0.95) -> list[Estimate]:
    """The dose-response shape: forces in the middle and top thirds of the dose against the
    bottom third (the comparison), each x post, on the primary's basis, with CV3 intervals."""
    dp = PRIMARY.sample(d)
    dose = dp.groupby("force")["dose"].first()
    third = dose_thirds(dose)
    group = dp["force"].map(third).to_numpy()
    post = dp["post"].to_numpy()
    terms = {"middle_x_post": (group == 1) * post * 1.0, "top_x_post": (group == 2) * post * 1.0}
    X, names = glm.design(dp, terms)
    beta = glm.fe_start(dp, X, PRIMARY.success, PRIMARY.total)
    ks = [names.index(t) for t in terms]
    cov = cv3_covariance(jackknife_coefficients(dp, X, ks, beta, PRIMARY.success, PRIMARY.total))
    rows = []
    for i, label in enumerate(("middle", "top")):
        lo, hi = dose[third == i + 1].min(), dose[third == i + 1].max()
        rows.append(
            cv3_row(
                f"dose_tercile_{label}",
                f"as primary with dose thirds: {label} third (dose {lo:.2f} to {hi:.2f}) x post against "
                f"the bottom third (dose {dose[third == 0].min():.2f} to {dose[third == 0].max():.2f})",
                float(beta[ks[i]]),
                float(np.sqrt(cov[i, i])),
                dp["force"].nunique(),
                len(dp),
                level,
                "log-odds difference from the bottom third, not a slope",
            )
        )
    return rows


SPLINE_KNOTS = (0.1, 0.5, 0.9)  # quantiles of the forces' doses (Harrell's choice for 3 knots)
SPLINE_GRID = 25  # evenly spaced doses on the curve table, besides the knots and the mean


def spline_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """The non-linear columns of a natural (restricted) cubic spline in x with the given knots:
    (len(x), len(knots) - 2). With x itself they span the cubic splines that are linear beyond
    the outer knots (Harrell's truncated-power form, divided by the squared knot span so that
    each column is on the scale of x)."""
    t = np.sort(np.asarray(knots, float))
    k = len(t)
    if k < 3:
        raise ValueError("spline_basis: a natural cubic spline needs at least 3 knots.")

    def cube(v: np.ndarray) -> np.ndarray:
        return np.clip(v, 0, None) ** 3

    x = np.asarray(x, float)[:, None]
    tj = t[None, : k - 2]
    span = t[-1] - t[-2]
    cols = cube(x - tj) - cube(x - t[-2]) * (t[-1] - tj) / span + cube(x - t[-1]) * (t[-2] - tj) / span
    return cols / (t[-1] - t[0]) ** 2


# the columns the spline reads: the panel is wide, and selecting the primary sample's rows from
# these alone is several times cheaper
# (cohort_follow_up: so that the primary's follow-up rule applies to the spline's sample too)
_SPLINE_COLUMNS = [
    "force",
    "financial_year",
    "dose",
    "post",
    "complete_year",
    "cohort_follow_up",
    PRIMARY.success,
    PRIMARY.total,
]


@dataclass
class DoseSpline:
    """The dose-response as a spline: the link models table's row, the curve on a dose grid, and the
    numbers the sentence quotes."""

    rows: list[Estimate]
    curve: pd.DataFrame
    summary: dict


def _spline_gradient(x: np.ndarray, knots: np.ndarray, reference: float) -> np.ndarray:
    """The spline's columns at doses x minus their values at the reference dose: the map from the
    coefficients to the effect relative to the reference, (len(x), len(knots) - 1)."""
    at = np.column_stack([x, spline_basis(x, knots)])
    return at - np.append(reference, spline_basis(np.array([reference]), knots)[0])[None, :]


def dose_spline(
    d: pd.DataFrame,
    level: float = 0.95,
    knot_quantiles: tuple[float, ...] = SPLINE_KNOTS,
    grid: int = SPLINE_GRID,
) -> DoseSpline:
    """The dose-response shape as a natural cubic spline in the dose, x post-2020, in the
    primary model (force and year effects, primary basis), CV3 inference.

    Knots at the 10%, 50% and 90% quantiles of the forces' doses (each force once;
    `knot_quantiles` sets others): the linear dose and one non-linear term, each x post. Returns
    - the row `dose_spline_nonlinearity`: the joint CV3 Wald test that the non-linear terms are
      all 0, F(K - 2, G - 1) (a straight line on the log-odds scale, as the primary assumes);
      its estimate is the change in slope from below the middle knot to above it (log-odds per
      unit dose, 0 for a straight line) with a CV3 t(G - 1) interval;
    - the curve: on a grid of doses (and at the knots and the mean dose), the change in charge
      log-odds from 2020/21 relative to a force at the mean dose of the forces in the fit, its
      CV3 pointwise interval, and the same in percentage points at the national base rate (the
      pooled charge rate of the post-2020 force-years on the primary basis).
    Only differences between doses are identified (the force effects absorb any constant), so
    the curve is 0 at the mean dose by construction. One fit and one batch of leave-one-force-out
    refits (`glm.jackknife_draws`)."""
    dp = PRIMARY.sample(d[[c for c in _SPLINE_COLUMNS if c in d]])
    dose = dp.groupby("force")["dose"].first()
    t = np.quantile(dose.to_numpy(), knot_quantiles)
    reference = float(dose.mean())
    post = dp["post"].to_numpy(float)
    cols = _spline_gradient(dp["dose"].to_numpy(float), t, reference) * post[:, None]
    names = ["dose_x_post", *(f"spline{j + 1}_x_post" for j in range(len(t) - 2))]
    X, all_names = glm.design(dp, dict(zip(names, cols.T)))
    beta = glm.fe_start(dp, X, PRIMARY.success, PRIMARY.total)
    ks = [all_names.index(name) for name in names]
    b = beta[ks]
    cov = cv3_covariance(jackknife_coefficients(dp, X, ks, beta, PRIMARY.success, PRIMARY.total))
    g = dp["force"].nunique()
    tq = stats.t.ppf(0.5 + level / 2, g - 1)
    y, n = dp[PRIMARY.success].to_numpy(float), dp[PRIMARY.total].to_numpy(float)
    base = float(y[post == 1].sum() / n[post == 1].sum())

    points = {
        "lowest dose": float(dose.min()),
        **{f"{100 * q:g}% knot": float(v) for q, v in zip(knot_quantiles, t)},
        "mean dose": reference,
        "highest dose": float(dose.max()),
    }
    x = np.unique(np.concatenate([np.linspace(dose.min(), dose.max(), grid), list(points.values())]))
    named = [next((p for p, v in points.items() if v == xi), "") for xi in x]
    grad = _spline_gradient(x, t, reference)
    effect = grad @ b
    se = np.sqrt(np.einsum("ij,jk,ik->i", grad, cov, grad))

    def points_pp(v: np.ndarray) -> np.ndarray:
        return 100 * (expit(logit(base) + v) - base)

    columns = {
        "dose": x,
        "growth": np.exp(x),
        "log_odds": effect,
        "ci_low": effect - tq * se,
        "ci_high": effect + tq * se,
        "pp": points_pp(effect),
        "pp_low": points_pp(effect - tq * se),
        "pp_high": points_pp(effect + tq * se),
    }
    curve = pd.DataFrame({"point": named, **columns, "base_rate": base, "reference_dose": reference})
    row, test = _nonlinearity_row(b, cov, t, knot_quantiles, g, len(dp), level)
    summary = {
        "knots": [float(v) for v in t],
        "knot_quantiles": list(knot_quantiles),
        "reference_dose": reference,
        "base_rate": base,
        "nonlinearity_test": test,
        # the curve at its named points (read from the arrays: pandas look-ups cost more than the fit)
        "at": {
            p: {c: float(v[named.index(p)]) for c, v in columns.items()} for p in points if p != "mean dose"
        },
    }
    return DoseSpline([row], curve, summary)


def _nonlinearity_row(
    b: np.ndarray,
    cov: np.ndarray,
    knots: np.ndarray,
    quantiles: tuple[float, ...],
    g: int,
    n_obs: int,
    level: float,
) -> tuple[Estimate, dict]:
    """The joint CV3 Wald test that the spline's non-linear coefficients are 0, as a row whose
    estimate is the change in slope across the middle knot (the curve's secant slope from the
    middle to the top knot minus that from the bottom to the middle knot), with its CV3 interval."""
    lo, mid, hi = knots[0], knots[len(knots) // 2], knots[-1]
    at = _spline_gradient(np.array([lo, mid, hi]), knots, float(mid))
    contrast = at[2] / (hi - mid) + at[0] / (mid - lo)  # slope above minus slope below the middle
    est, se = float(contrast @ b), float(np.sqrt(contrast @ cov @ contrast))
    try:
        f, p, k = joint_wald(b[1:], cov[1:, 1:], g)
    except np.linalg.LinAlgError:  # no variation between the leave-one-out fits: nothing to test
        f, p, k = float("nan"), float("nan"), len(b) - 1
    test = {"statistic": f, "p_value": p, "df1": k, "df2": g - 1}
    tq = stats.t.ppf(0.5 + level / 2, g - 1)
    at_doses = ", ".join(f"{v:.2f}" for v in knots)
    at_quantiles = "/".join(f"{100 * q:g}%" for q in quantiles)
    row = Estimate(
        "dose_spline_nonlinearity",
        f"as primary with a natural cubic spline in the dose x post-2020 (knots at doses {at_doses}: "
        f"the {at_quantiles} quantiles of the forces' doses): change in slope across the middle knot; "
        "p-value of the joint test that the non-linear terms are 0",
        est,
        f"joint Wald F test of the non-linear spline terms, CV3 covariance, F({k}, {g - 1}); "
        f"interval: CV3 SE, t({g - 1})",
        est - tq * se,
        est + tq * se,
        p,
        g,
        n_obs,
        f"F = {f:.2f} on {k} and {g - 1} df; log-odds per unit dose, 0 for a straight line; "
        "the curve is in the dose-spline table",
    )
    return row, test


def dose_thirds_table(dose: pd.Series, models: pd.DataFrame) -> pd.DataFrame:
    """The dose thirds of the link models table as a table: each third's forces, dose range and median,
    and its log-odds difference from the bottom third (0 for the bottom third itself). `dose`:
    each force's dose in the primary fit, by force."""
    dose = dose.sort_index()  # in dose_terciles' order, which breaks ties
    third, values = dose_thirds(dose).to_numpy(), dose.to_numpy()
    # plain arrays: run_link builds this table in every replicate of the method study
    found = dict(zip(models["estimator"], models[["estimate", "ci_low", "ci_high"]].to_numpy(float)))
    rows = []
    for i, label in enumerate(("bottom", "middle", "top")):
        v = values[third == i]
        est, lo, hi = found.get(f"dose_tercile_{label}", (0.0, 0.0, 0.0))
        rows.append(
            {
                "third": label,
                "n_forces": len(v),
                "dose_low": float(v.min()),
                "dose_median": float(np.median(v)),
                "dose_high": float(v.max()),
                "log_odds": float(est),
                "ci_low": float(lo),
                "ci_high": float(hi),
            }
        )
    return pd.DataFrame(rows)


def average_marginal_effect(fit: glm.Fit, dp: pd.DataFrame) -> dict:
    """The primary slope as an average marginal effect in percentage points: the change in the
    charge probability per unit of dose, averaged over the post-2020 force-years (weighted by
    their outcomes) at the fitted probabilities, and per doubling of recorded stalking. The
    interval scales the CV3 interval by the same factor (the fitted probabilities held fixed)."""
    mu = fit.result.fittedvalues if np.ndim(fit.result.fittedvalues) == 1 else fit.result.fittedvalues[:, 0]
    post = dp["post"].to_numpy() == 1
    w = dp[PRIMARY.total].to_numpy(float)[post]
    factor = float(np.average(mu[post] * (1 - mu[post]), weights=w))
    per_unit = [100 * factor * v for v in (fit.estimate, fit.ci_low, fit.ci_high)]
    return {
        "per_unit_dose_pp": per_unit[0],
        "per_unit_dose_pp_ci": per_unit[1:],
        "per_doubling_pp": per_unit[0] * np.log(2),
        "per_doubling_pp_ci": [v * np.log(2) for v in per_unit[1:]],
        "mean_charge_rate_post": float(np.average(mu[post], weights=w)),
    }


# what the 8Q + 8L row measures, as its note and the caveat say it
COMBINED_NOTE = (
    "charging across stalking and harassment together, which the reclassification between them "
    "does not move: a different quantity from the headline, not a check on it"
)


def with_dose(other: pd.DataFrame, d: pd.DataFrame) -> pd.DataFrame:
    """Another offence's panel with the analysed offence's dose (the exposure is its rise in recording)."""
    dose = d.groupby("force")[["dose", "dose_c"]].first()
    o = other.drop(columns=["dose", "dose_c"]).merge(dose, left_on="force", right_index=True)
    return o[o["usable"]]


def held_comparison(outcomes: pd.DataFrame, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The comparison set's offences the outcomes table holds for the territorial forces (the
    link models' forces), in the set's order (`codes` as `taxonomy.normalise_offence_codes`
    takes them)."""
    terr = {f.name for f in forces.territorial()}
    present = set(outcomes.loc[outcomes["force"].isin(terr), "offence_code"].unique())
    return tuple(c for c in taxonomy.normalise_offence_codes(codes) if c in present)


def set_label(codes: tuple[str, ...]) -> str:
    """'offence 46' for one code, 'offences 46, 105A and 58C pooled' for several."""
    if not codes:
        return "no offences"
    if len(codes) == 1:
        return f"offence {codes[0]}"
    return f"offences {', '.join(codes[:-1])} and {codes[-1]} pooled"


def negative_control(
    other: pd.DataFrame, d: pd.DataFrame, codes: tuple[str, ...], level: float = 0.95, noun: str = "stalking"
) -> Estimate:
    """The primary model on the comparison set's charge rate (`other`: the set's panel, counts
    pooled over `codes`), with the analysed offence's (`noun`'s) dose: a slope where no link is
    expected (a force-wide shock to charging correlated with the dose shows here)."""
    return dose_x_post_estimate(
        "negative_control",
        f"as primary on the charges of {set_label(codes)}, with {noun}'s dose (no link expected)",
        PRIMARY.sample(with_dose(other, d)),
        level,
        PRIMARY.success,
        PRIMARY.total,
        note=f"true value 0 if charging changed with the dose only for {noun}",
    )


def _empirical_logit(x: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """log((x + 1/2) / (n - x + 1/2)) and its variance (Haldane-Anscombe)."""
    return np.log((x + 0.5) / (n - x + 0.5)), 1 / (x + 0.5) + 1 / (n - x + 0.5)


def triple_difference(
    other: pd.DataFrame, d: pd.DataFrame, codes: tuple[str, ...], level: float = 0.95, noun: str = "stalking"
) -> Estimate:
    """The analysed offence (`noun`) against the comparison set (counts pooled over `codes`) within force-year: the log odds ratio of charge
    (stalking over the comparison set, primary basis) regressed on force and year effects and
    dose x post, inverse-variance weights; force-year shocks common to both offences cancel.
    CV3 (leave-one-force-out) SE with t(G-1)."""
    s, n = PRIMARY.success, PRIMARY.total
    a = PRIMARY.sample(d)
    b = PRIMARY.sample(with_dose(other, d))
    both = a.merge(
        b[["force", "financial_year", s, n]], on=["force", "financial_year"], suffixes=("", "_other")
    )
    la, va = _empirical_logit(both[s], both[n])
    lb, vb = _empirical_logit(both[f"{s}_other"], both[f"{n}_other"])
    y, w = (la - lb).to_numpy(), 1 / (va + vb).to_numpy()
    X, names = glm.design(both, dose_x_post(both))
    groups = pd.factorize(both["force"])[0]
    est, draws = glm.fe_wls_jackknife(groups, X, y, w, names.index("dose_x_post"))
    return cv3_row(
        "triple_difference",
        f"log odds ratio of charge, {noun} over {set_label(codes)}, within force-year: force + year "
        "effects, dose x post-2020, inverse-variance weights",
        est,
        float(np.sqrt(cv3_covariance(draws[:, None])[0, 0])),
        len(draws),
        len(both),
        level,
        "absorbs force-year shocks common to the offence and the comparison set",
    )


def comparison_estimates(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    d: pd.DataFrame,
    codes: tuple[str, ...],
    level: float = 0.95,
    offence: str = taxonomy.STALKING,
) -> list[Estimate]:
    """The negative control and the triple difference on the comparison set `codes` (those the
    store holds, counts pooled), or one row saying none of them is in the store."""
    codes = taxonomy.normalise_offence_codes(codes)
    held = held_comparison(outcomes, codes)
    if not held:
        return [
            Estimate(
                "negative_control",
                f"{set_label(codes).replace(' pooled', '')}: not in the store",
                float("nan"),
                "not fitted",
                note=f"ingest with --offences {offence},{','.join(codes)} (and the others wanted) to fit the negative control and triple difference",
            )
        ]
    other = link_panel(outcomes, recorded, held)
    noun = rules.offence_noun(offence)
    rows = [negative_control(other, d, held, level, noun), triple_difference(other, d, held, level, noun)]
    missing = [c for c in codes if c not in held]
    extra = ""
    if missing:  # said on both rows: the set is smaller than the one chosen
        extra += f"; not in the store, so not pooled: {', '.join(missing)}"
    if n := other.attrs.get("incomplete_cells"):
        years = other.attrs["incomplete_force_years"]
        extra += (
            f"; {n} force-quarter{'s' if n > 1 else ''} lacking one of the set left out, "
            "so the mix of offences pooled is the same in every quarter used (on the primary's "
            f"basis, complete years only, that leaves out {years} force-year{'s' if years > 1 else ''})"
        )
    fixed = set(taxonomy.COMPARISON_OFFENCES)
    if offence in fixed and offence not in codes and set(codes) <= fixed:
        extra += f"; {offence}, the offence analysed, is left out of its own comparison set"
    return [replace(r, note=r.note + extra) for r in rows] if extra else rows


def usable(panel: pd.DataFrame) -> pd.DataFrame:
    """The usable force-years, with force and year as plain Python text: each estimator selects
    and factorises these columns many times over, and Arrow-backed text makes each of those
    steps cost tenths of a millisecond on a few hundred rows."""
    d = panel[panel["usable"]].astype({"force": object, "financial_year": object})
    if d["force"].nunique() < 5:
        raise InputError("link: fewer than 5 forces with a dose and closed investigations.")
    if not ((d["post"] == 1).any() and (d["post"] == 0).any()):
        raise InputError(f"link: the data must include years before and after {BREAK}.")
    return d


def run_link(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    level: float = 0.95,
    bootstrap_reps: int = 999,
    permutation_reps: int = 199,
    seed: int = 1,
    include_secondary: bool = True,
    comparison: tuple[str, ...] | None = None,
    offence: str = taxonomy.STALKING,
) -> LinkResult:
    """Fit every link estimator on `offence` (its dose is its own rise in recording); return the
    models table, the primary estimate and the panel. `comparison` is the negative control's
    comparison set (offence codes; None: `taxonomy.comparison_for(offence)`)."""
    comparison = taxonomy.comparison_for(offence, comparison)
    panel = link_panel(outcomes, recorded, (offence,))
    d = usable(panel)
    dp = primary_sample(d)
    basis = (PRIMARY.success, PRIMARY.total)
    prim, influence = _fit_primary(dp, level)
    wild_p = glm.wild_score_bootstrap(dp, dose_x_post(dp), "dose_x_post", bootstrap_reps, seed, *basis)
    es = event_study(
        PRIMARY.sample(d),
        level=level,
        success=PRIMARY.success,
        total=PRIMARY.total,
        bootstrap_reps=bootstrap_reps,
        seed=seed,
    )
    rows = [
        *_primary_estimates(prim, wild_p, bootstrap_reps),
        *_event_study_estimates(es, level),
    ]
    spline = None
    if include_secondary:
        rows += _secondary_estimates(outcomes, recorded, d, prim, level, permutation_reps, seed)
        rows += comparison_estimates(outcomes, recorded, d, comparison, level, offence)
        rows += dose_terciles(d, level)
        spline = dose_spline(d, level)
        rows += spline.rows
    models = pd.DataFrame([r.row() for r in rows])
    dose = d.groupby("force")["dose"].first()
    primary = _primary_summary(prim, wild_p, panel, dose, level)
    primary["offence"] = offence
    primary["comparison"] = list(held_comparison(outcomes, comparison))  # the set the controls pooled
    primary["pre_trend_test"] = es.pre_test
    if include_secondary:  # the method study's fast path (include_secondary=False) skips it
        primary["pre_trend_sensitivity"] = pre_trend_sensitivity(es, level=level)
    primary["influence"] = influence_summary(influence, prim.estimate)
    primary["marginal_effect"] = average_marginal_effect(prim, dp)
    residuals = _force_residuals(d)
    result = LinkResult(models, primary, es.table, panel, residuals, dose, influence)
    result.first_difference = first_difference_points(d)
    if spline is not None:
        primary["dose_spline"] = spline.summary
        forces = influence.set_index("force")["dose"]  # the primary fit's forces and doses
        result.dose_spline, result.dose_thirds = spline.curve, dose_thirds_table(forces, models)
    return result


def primary_only(outcomes: pd.DataFrame, recorded: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The primary estimator's row of the link models table alone, as `run_link` fits it (the method
    study's `--battery primary`, for the thousands of replicates its targets need)."""
    d = usable(link_panel(outcomes, recorded, (taxonomy.STALKING,)))
    prim, _ = _fit_primary(primary_sample(d), level)
    return pd.DataFrame([_primary_estimates(prim, np.nan, 0)[0].row()])


def _fit_primary(dp: pd.DataFrame, level: float) -> tuple[glm.Fit, pd.DataFrame]:
    """The primary fit (statsmodels, for CR1 and the dispersion) with its CV3 interval from the
    leave-one-force-out refits, which also give the influence table: each force's estimate
    without it, and the change."""
    fit = glm.fit_glm(
        dp, dose_x_post(dp), "dose_x_post", level, PRIMARY.success, PRIMARY.total, jackknife=False
    )
    assert fit.X is not None
    k = fit.names.index("dose_x_post")
    draws = jackknife_coefficients(
        dp, fit.X, [k], np.asarray(fit.result.params), PRIMARY.success, PRIMARY.total
    )
    se = float(np.sqrt(cv3_covariance(draws)[0, 0]))
    g = fit.n_clusters
    tq = stats.t.ppf(0.5 + level / 2, g - 1)
    fit = replace(
        fit,
        se=se,
        ci_low=fit.estimate - tq * se,
        ci_high=fit.estimate + tq * se,
        p_value=float(2 * stats.t.sf(abs(fit.estimate / se), g - 1)),
    )
    influence = pd.DataFrame({"force": pd.unique(dp["force"]), "estimate_without": draws[:, 0]})
    influence["change"] = influence["estimate_without"] - fit.estimate
    influence["dose"] = influence["force"].map(dp.groupby("force")["dose"].first())
    order = influence["change"].abs().sort_values(ascending=False, kind="stable").index
    return fit, influence.loc[order].reset_index(drop=True)


def influence_summary(influence: pd.DataFrame, estimate: float, top: int = 3) -> dict:
    """The forces that move the primary estimate most when left out, and the estimate without
    the force with the largest dose."""
    biggest = influence.loc[influence["dose"].idxmax()]
    return {
        "most_influential": influence.head(top)[["force", "estimate_without", "change"]].to_dict("records"),
        "largest_dose_force": biggest["force"],
        "estimate_without_largest_dose_force": float(biggest["estimate_without"]),
        "range_without_one_force": [
            float(influence["estimate_without"].min()),
            float(influence["estimate_without"].max()),
        ],
    }


def dose_x_post(d: pd.DataFrame) -> dict[str, np.ndarray]:
    """The primary term: the centred dose in the years from the break on."""
    return {"dose_x_post": d["dose_c"].to_numpy() * d["post"].to_numpy()}


def _primary_estimates(prim: glm.Fit, wild_p: float, bootstrap_reps: int) -> list[Estimate]:
    """The primary estimate, and its wild cluster bootstrap p-value."""
    return [
        Estimate.from_fit(
            "primary",
            PRIMARY_SPECIFICATION,
            prim,
            CV3.format(df=prim.n_clusters - 1),
            note=f"CR1 cluster-robust SE {prim.se_cr1:.3f}; Pearson dispersion {prim.dispersion:.2f}",
        ),
        Estimate.other_p_value(
            "primary_wild_bootstrap",
            "as primary",
            prim,
            f"wild cluster score bootstrap (Rademacher, {bootstrap_reps} reps), p-value only",
            wild_p,
        ),
    ]


def _event_study_estimates(es: EventStudy, level: float) -> list[Estimate]:
    """The event study's mean post-break coefficient (CV3 interval), and the joint CV3 Wald
    test of its pre-period coefficients (the row's estimate is their mean)."""
    t = es.table[~es.table["reference"]].reset_index(drop=True)
    g = es.pre_test["df2"] + 1
    a = t["post"].to_numpy(float) / t["post"].sum()
    rows = [
        cv3_row(
            "event_study_mean_post",
            f"dose x year, reference {PRE}: mean of post-2020 coefficients",
            float(a @ t["estimate"].to_numpy()),
            float(np.sqrt(a @ es.covariance @ a)),
            g,
            None,
            level,
            "see the event-study table for each year",
        )
    ]
    pre = t[~t["post"]]
    if len(pre):
        rows.append(
            Estimate(
                "event_study_pre_trend",
                f"dose x year before {PRE}: mean coefficient; p-value of the joint test that all are 0",
                float(pre["estimate"].mean()),
                es.pre_test["method"],
                p_value=es.pre_test["p_value"],
                n_forces=g,
                note=f"F = {es.pre_test['statistic']:.2f} on {es.pre_test['df1']} and {es.pre_test['df2']} df",
            )
        )
        if "wild_p_value" in es.pre_test:
            rows.append(
                Estimate(
                    "event_study_pre_trend_wild",
                    "as event_study_pre_trend; p-value of the joint wild bootstrap test that all are 0",
                    float(pre["estimate"].mean()),
                    es.pre_test["wild_method"],
                    p_value=es.pre_test["wild_p_value"],
                    n_forces=g,
                    note=f"score statistic {es.pre_test['wild_statistic']:.2f}",
                )
            )
    return rows


def _placebo_estimates(d: pd.DataFrame, level: float) -> list[Estimate]:
    """The dose x post model with a fake break in an earlier year, on the years before the real
    one: on the closed basis (placebo_<year>, the check on the closed-basis rows, whose timing
    mixes recording cohorts: charges that take longer where recording grew most show there as
    a pre-trend) and on the primary's basis (placebo_primary_<year>)."""
    rows = []
    for prefix, basis, base, success, total in (
        ("placebo", "closed basis", d, "charged", "closed"),
        ("placebo_primary", "the primary's basis", PRIMARY.sample(d), PRIMARY.success, PRIMARY.total),
    ):
        start = base["financial_year"].map(periods.fy_start).to_numpy()
        pre = start < periods.fy_start(BREAK)
        pre_only, pre_start = base[pre].copy(), start[pre]
        years = set(pre_only["financial_year"])
        for py in PLACEBO_YEARS:
            if py not in years or len(years) < 2:
                continue
            fake_post = pre_start >= periods.fy_start(py)
            if fake_post.all() or not fake_post.any():
                continue
            X, names = glm.design(pre_only, {"dose_x_fake_post": pre_only["dose_c"].to_numpy() * fake_post})
            rows.append(
                cv3_estimate(
                    f"{prefix}_{py[:4]}",
                    f"placebo break at {py}, years before {BREAK} only, {basis}",
                    pre_only,
                    X,
                    names.index("dose_x_fake_post"),
                    level,
                    success,
                    total,
                    note="true value 0 if no pre-trend",
                )
            )
    return rows


def _secondary_estimates(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    d: pd.DataFrame,
    prim: glm.Fit,
    level: float,
    permutation_reps: int,
    seed: int,
) -> list[Estimate]:
    """The robustness checks: first differences, placebo breaks, the permutation test, stalking
    plus harassment together, and the other ways of timing the exposure (closed basis in every
    year, estimated cohort shares, the recorded basis)."""
    rows = [first_difference(d, level=level), *_placebo_estimates(d, level)]
    if permutation_reps:
        perm_p, _ = permutation_p(
            primary_sample(d), permutation_reps, seed + 1, PRIMARY.success, PRIMARY.total
        )
        rows.append(
            Estimate.other_p_value(
                "permutation",
                "as primary, doses shuffled between forces",
                prim,
                f"randomisation test ({permutation_reps} permutations), p-value only",
                perm_p,
            )
        )
    both = primary_sample(usable(link_panel(outcomes, recorded, (taxonomy.STALKING, taxonomy.HARASSMENT))))
    rows.append(
        dose_x_post_estimate(
            "combined_8Q_8L",
            "as primary on stalking + harassment, dose from 8Q + 8L",
            both,
            level,
            PRIMARY.success,
            PRIMARY.total,
            note=COMBINED_NOTE,
        )
    )
    others = (closed_all_years, donut, cohort_share, cohort_mix, recorded_all, recorded_mature)
    rows += [e for e in (fn(d, level) for fn in others if fn.__name__ != _PRIMARY_FUNCTION[PRIMARY.name])]
    return rows


def _force_residuals(d: pd.DataFrame) -> pd.DataFrame:
    """Per force: dose and the mean Pearson residual in post-2020 years from the closed-basis
    model on every year (the force report compares its closed-basis charge rate with it)."""
    X, _ = glm.design(d, dose_x_post(d))
    n = d["closed"].to_numpy(float)
    mu = expit(X @ glm.fe_start(d, X))
    pearson = (d["charged"].to_numpy(float) - n * mu) / np.sqrt(n * mu * (1 - mu))
    t = d.assign(pearson=pearson, fitted_rate=mu)
    post = (
        t[t["post"] == 1]
        .groupby("force")
        .agg(
            dose=("dose", "first"),
            observed_rate_post=("rate", "mean"),
            fitted_rate_post=("fitted_rate", "mean"),
            pearson_residual_post=("pearson", "mean"),
        )
    )
    return post.reset_index()


def _primary_summary(fit: glm.Fit, wild_p: float, panel: pd.DataFrame, dose: pd.Series, level: float) -> dict:
    """The primary estimate on truth.json's link_slope scale (the words are in
    analysis.reports.link_text)."""
    return {
        "parameter": "link_slope",
        "estimate": fit.estimate,
        "se": fit.se,
        "ci_low": fit.ci_low,
        "ci_high": fit.ci_high,
        "level": level,
        "p_value_cluster": fit.p_value,
        "p_value_wild_bootstrap": wild_p,
        "dispersion": fit.dispersion,
        "n_forces": fit.n_clusters,
        "n_obs": fit.n_obs,
        "scale": (
            "change in the charge log-odds per unit of the force's log growth in recorded "
            f"stalking from {PRE} to {BREAK} (dose centred), from {BREAK} on"
        ),
        "specification": PRIMARY_SPECIFICATION,
        "inference": CV3.format(df=fit.n_clusters - 1),
        "dose_source": panel.attrs.get("dose_source", ""),
        "dose_min": float(dose.min()),
        "dose_max": float(dose.max()),
    }
