"""Did forces whose recorded stalking rose most across April 2020 see their charge rates fall most?

The force-year panel flags the counting-rule periods and censoring. The dose is each force's log
growth in recorded stalking from 2019/20 to 2020/21, taken from the offences recorded (the PFA
table), while the outcome is the share of investigations closed in the year that ended in a
charge (closed basis): the two share no count, so the regression is free of the ratio
(division) bias that arises when a rate is regressed on its own denominator's growth
(Pearson 1897; Lieberson and Fuguitt 1973).

Primary estimator: binomial GLM of charges out of closed investigations with force and year
fixed effects and dose x post-2020, force-clustered standard errors with t(G-1) intervals, a
quasi-binomial dispersion for reference, and a wild cluster score bootstrap p-value (Kline and
Santos 2012, Rademacher weights) because there are only 43 clusters. Also: an event study (dose x
year, reference 2019/20), a first-difference cross-section, placebo break years before 2020, a
permutation test, and the same on stalking plus harassment together (reclassification).
No force has zero dose, so every estimate compares forces with larger rises to forces with
smaller rises; none is a causal effect of the counting-rule change.

The panel is built in analysis.stats.link_panel, the cluster-robust GLM machinery is in
analysis.stats.glm, and the words that go with the primary estimate in analysis.reports.link_text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import logit

from analysis.domain import periods, taxonomy
from analysis.errors import InputError
from analysis.stats import glm
from analysis.stats.link_panel import BREAK, PRE, link_panel

PLACEBO_YEARS = ("2016/17", "2017/18", "2018/19")
# link_models.csv's columns, in order
MODEL_COLUMNS = (
    "estimator",
    "specification",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "method",
    "n_forces",
    "n_obs",
    "note",
)


def permutation_p(
    d: pd.DataFrame, reps: int = 199, seed: int = 2, success: str = "charged", total: str = "closed"
) -> tuple[float, float]:
    """Randomisation p-value: the primary slope against slopes with doses shuffled between
    forces. Returns (p-value, observed slope)."""
    return glm.permutation_p(d, "dose_c", "post", reps, seed, success, total)


@dataclass(frozen=True)
class Estimate:
    """One row of link_models.csv: an estimator's estimate, interval, p-value and basis."""

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


def first_difference(
    d: pd.DataFrame,
    pre_years: tuple[str, ...] = ("2018/19", "2019/20"),
    post_years: tuple[str, ...] = ("2020/21", "2021/22"),
    level: float = 0.95,
) -> Estimate:
    """Cross-section: change in pooled logit charge rate (post years vs pre years) on the dose,
    weighted by inverse variance, HC3 errors."""

    def pooled(years):
        s = d[d["financial_year"].isin(years)].groupby("force")[["charged", "closed"]].sum()
        return s

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
    dose = d.groupby("force")["dose"].first().loc[both]
    X = sm.add_constant(dose.to_numpy())
    res = sm.WLS((lb - la).to_numpy(), X, weights=1 / var.to_numpy()).fit(cov_type="HC3")
    est, se = float(res.params[1]), float(res.bse[1])
    tq = stats.t.ppf(0.5 + level / 2, len(both) - 2)
    return Estimate(
        "first_difference",
        f"change in pooled logit charge rate {'-'.join(pre_years)} to {'-'.join(post_years)} on "
        "dose, inverse-variance weights",
        est,
        "HC3 SE",
        ci_low=est - tq * se,
        ci_high=est + tq * se,
        p_value=float(2 * stats.t.sf(abs(est / se), len(both) - 2)),
        n_forces=len(both),
        n_obs=len(both),
    )


def event_study(d: pd.DataFrame, reference: str = PRE, level: float = 0.95) -> pd.DataFrame:
    """Dose x year coefficients (reference year omitted), force and year effects, clustered."""
    years = sorted(y for y in d["financial_year"].unique() if y != reference)
    terms = {f"dose_x_{y}": d["dose_c"].to_numpy() * (d["financial_year"] == y).to_numpy() for y in years}
    fit = glm.fit_glm(d, terms, f"dose_x_{years[0]}", level, jackknife=False)
    res = fit.result
    g = fit.n_clusters
    tq = stats.t.ppf(0.5 + level / 2, g - 1)
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
    for y in years:
        k = fit.names.index(f"dose_x_{y}")
        est, se = float(res.params[k]), float(res.bse[k])
        rows.append(
            {
                "financial_year": y,
                "estimate": est,
                "ci_low": est - tq * se,
                "ci_high": est + tq * se,
                "p_value": float(2 * stats.t.sf(abs(est / se), g - 1)),
                "reference": False,
            }
        )
    out = pd.DataFrame(rows).sort_values("financial_year").reset_index(drop=True)
    out["post"] = out["financial_year"].map(periods.fy_start) >= periods.fy_start(BREAK)
    return out


def _usable(panel: pd.DataFrame) -> pd.DataFrame:
    d = panel[panel["usable"]].copy()
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
) -> LinkResult:
    """Fit every link estimator; return the models table, the primary estimate and the panel."""
    panel = link_panel(outcomes, recorded, (taxonomy.STALKING,))
    d = _usable(panel)
    prim = glm.fit_glm(d, _dose_x_post(d), "dose_x_post", level)
    wild_p = glm.wild_score_bootstrap(d, _dose_x_post(d), "dose_x_post", bootstrap_reps, seed)
    es = event_study(d, level=level)
    rows = [
        *_primary_estimates(prim, wild_p, bootstrap_reps),
        *_event_study_estimates(es, prim),
    ]
    if include_secondary:
        rows += _secondary_estimates(outcomes, recorded, d, prim, level, permutation_reps, seed)
    models = pd.DataFrame([r.row() for r in rows])
    dose = d.groupby("force")["dose"].first()
    primary = _primary_summary(prim, wild_p, panel, dose, level)
    return LinkResult(models, primary, es, panel, _force_residuals(d, prim), dose)


def _dose_x_post(d: pd.DataFrame) -> dict[str, np.ndarray]:
    """The primary term: the centred dose in the years from the break on."""
    return {"dose_x_post": d["dose_c"].to_numpy() * d["post"].to_numpy()}


def _primary_estimates(prim: glm.Fit, wild_p: float, bootstrap_reps: int) -> list[Estimate]:
    """The primary estimate, and its wild cluster bootstrap p-value."""
    return [
        Estimate.from_fit(
            "primary",
            "binomial GLM, force + year effects, dose x post-2020, closed basis",
            prim,
            f"cluster jackknife (CV3) SE, t({prim.n_clusters - 1}) interval",
            note=f"CR1 cluster-robust SE {prim.se_cr1:.3f}; Pearson dispersion {prim.dispersion:.2f}",
        ),
        Estimate.other_p_value(
            "primary_wild_bootstrap",
            "as primary",
            prim,
            f"wild cluster score bootstrap (Rademacher, {bootstrap_reps} reps)",
            wild_p,
        ),
    ]


def _event_study_estimates(es: pd.DataFrame, prim: glm.Fit) -> list[Estimate]:
    """The event study's mean post-break coefficient, and its mean pre-trend if it has one."""
    post_es = es[es["post"] & ~es["reference"]]
    rows = [
        Estimate(
            "event_study_mean_post",
            "dose x year, reference 2019/20: mean of post-2020 coefficients",
            float(post_es["estimate"].mean()),
            "force-clustered SE per year",
            n_forces=prim.n_clusters,
            n_obs=prim.n_obs,
            note="see event_study.csv for each year",
        )
    ]
    pre_es = es[~es["post"] & ~es["reference"]]
    if len(pre_es):
        rows.append(
            Estimate(
                "event_study_pre_trend",
                "dose x year before 2019/20: mean coefficient",
                float(pre_es["estimate"].mean()),
                "force-clustered SE per year",
                n_forces=prim.n_clusters,
                n_obs=prim.n_obs,
                note="should be near 0",
            )
        )
    return rows


def _placebo_estimates(d: pd.DataFrame, level: float) -> list[Estimate]:
    """The dose x post model with a fake break in an earlier year, on the years before the real one."""
    rows = []
    for py in PLACEBO_YEARS:
        pre_only = d[d["financial_year"].map(periods.fy_start) < periods.fy_start(BREAK)].copy()
        if py not in set(pre_only["financial_year"]) or pre_only["financial_year"].nunique() < 2:
            continue
        fake_post = (pre_only["financial_year"].map(periods.fy_start) >= periods.fy_start(py)).to_numpy()
        if fake_post.all() or not fake_post.any():
            continue
        f = glm.fit_glm(
            pre_only,
            {"dose_x_fake_post": pre_only["dose_c"].to_numpy() * fake_post},
            "dose_x_fake_post",
            level,
        )
        rows.append(
            Estimate.from_fit(
                f"placebo_{py[:4]}",
                f"placebo break at {py}, years before {BREAK} only",
                f,
                "force-clustered SE",
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
    plus harassment together, and the recorded basis."""
    rows = [first_difference(d, level=level), *_placebo_estimates(d, level)]
    if permutation_reps:
        perm_p, _ = permutation_p(d, permutation_reps, seed + 1)
        rows.append(
            Estimate.other_p_value(
                "permutation",
                "as primary, doses shuffled between forces",
                prim,
                f"randomisation test ({permutation_reps} permutations)",
                perm_p,
            )
        )
    both = _usable(link_panel(outcomes, recorded, (taxonomy.STALKING, taxonomy.HARASSMENT)))
    if len(both):
        fb = glm.fit_glm(both, _dose_x_post(both), "dose_x_post", level)
        rows.append(
            Estimate.from_fit(
                "combined_8Q_8L",
                "as primary on stalking + harassment, dose from 8Q + 8L",
                fb,
                "force-clustered SE",
                note="robustness to reclassification",
            )
        )
    rec = d.dropna(subset=["assigned_recorded", "charged_recorded"])
    rec = rec[
        (rec["assigned_recorded"] > 0)
        & (rec["charged_recorded"] >= 0)
        & (rec["charged_recorded"] <= rec["assigned_recorded"])
    ]
    fr = glm.fit_glm(
        rec,
        _dose_x_post(rec),
        "dose_x_post",
        level,
        success="charged_recorded",
        total="assigned_recorded",
    )
    rows.append(
        Estimate.from_fit(
            "recorded_basis",
            "as primary on the recorded basis (charged of outcomes assigned so far)",
            fr,
            "force-clustered SE",
            note="censored: recent quarters' outcomes incomplete",
        )
    )
    return rows


def _force_residuals(d: pd.DataFrame, fit: glm.Fit) -> pd.DataFrame:
    """Per force: dose and the mean Pearson residual in post-2020 years from the primary fit."""
    res = fit.result
    mu = res.fittedvalues if np.ndim(res.fittedvalues) == 1 else res.fittedvalues[:, 0]
    n = d["closed"].to_numpy(float)
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
        "dose_source": panel.attrs.get("dose_source", ""),
        "dose_min": float(dose.min()),
        "dose_max": float(dose.max()),
    }
