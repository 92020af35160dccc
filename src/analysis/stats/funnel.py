"""Funnel plots for proportions (Spiegelhalter 2005), with overdispersion handled two ways.

- Exact binomial control limits around a target, with Spiegelhalter's interpolation between the
  discrete binomial quantiles, at 95% and 99.8% by default (levels settable; optional
  Bonferroni or Benjamini-Hochberg adjustment for the number of forces compared).
- Overdispersion from Winsorised z-scores on the variance-stabilising arcsine-square-root scale
  (10% each end by default): phi (multiplicative) with its chi-squared test, and tau^2
  (additive random effect, DerSimonian-Laird). Limits are given for both, so a reader can see
  how much of the spread between forces is beyond chance.
- A per-force table (n, count, rate, Wilson interval, z, Winsorised z, limits, a directional
  two-tier flag for each method, as a direction and a level column) and a limits table for drawing.

Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance. Stat Med 24:1185-1202.
Spiegelhalter DJ et al. (2012). Statistical methods for healthcare regulation: rating,
screening and surveillance. JRSS A 175:1-47.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.domain import rules
from analysis.errors import InputError
from analysis.stats.measures import checked_counts, proportion_ci

DEFAULT_LEVELS = (0.95, 0.998)
METHODS = ("exact", "phi", "tau2")


class FunnelInputError(InputError):
    """Counts or denominators that cannot be compared in a funnel."""


def exact_limit(target: float, n, prob: float) -> np.ndarray:
    """Exact binomial control limit for a proportion at cumulative probability `prob`.

    Spiegelhalter (2005), appendix: r is the smallest count with P(X <= r) >= prob; the limit is
    (r - alpha) / n with alpha = (P(X <= r) - prob) / (P(X <= r) - P(X <= r - 1)), which
    interpolates smoothly between the discrete quantiles.
    """
    n = np.asarray(n, dtype=float)
    out = np.full(n.shape, np.nan)
    ok = n >= 1
    nn = np.floor(n[ok])
    r = stats.binom.ppf(prob, nn, target)
    cdf_r = stats.binom.cdf(r, nn, target)
    cdf_r1 = stats.binom.cdf(r - 1, nn, target)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(cdf_r - cdf_r1 > 0, (cdf_r - prob) / (cdf_r - cdf_r1), 0.0)
    out[ok] = np.clip((r - alpha) / nn, 0.0, 1.0)
    return out


def winsorise(z: np.ndarray, fraction: float) -> np.ndarray:
    """Pull the lowest and highest `fraction` of values in to the nearest remaining value."""
    z = np.asarray(z, dtype=float)
    k = len(z)
    if k == 0 or fraction <= 0:
        return z.copy()
    cut = int(np.floor(k * fraction))
    if cut == 0:
        return z.copy()
    order = np.sort(z)
    return np.clip(z, order[cut], order[k - cut - 1])


def _adjusted_levels(levels: tuple[float, ...], k: int, adjust: str | None) -> list[float]:
    if adjust == "bonferroni":
        return [1 - (1 - lv) / k for lv in levels]
    return list(levels)


def _validate(frame: pd.DataFrame, unit: str, count: str, n: str) -> pd.DataFrame:
    return checked_counts(frame, unit, count, n, "funnel", FunnelInputError)


def flag_columns(method: str) -> tuple[str, str]:
    """The (direction, level) column names of a method's flags in a units table."""
    return f"direction_{method}", f"level_{method}"


def flag_label(direction: str, level: float) -> str:
    """A flag for people: 'high (beyond 99.8%)', 'low (beyond 95%)' or 'within'."""
    return "within" if direction == "within" else f"{direction} (beyond {_pct(level)})"


def _flag(y: np.ndarray, limits: dict[float, tuple[np.ndarray, np.ndarray]]) -> tuple[list[str], list[float]]:
    """Each unit's direction ('high', 'low' or 'within') and the widest level whose limit it
    crosses (NaN when within)."""
    directions, levels = [], []
    ordered = sorted(limits, reverse=True)
    for i, v in enumerate(y):
        direction, level = "within", np.nan
        for lv in ordered:
            lo, hi = limits[lv][0][i], limits[lv][1][i]
            if np.isfinite(hi) and v > hi:
                direction, level = "high", lv
                break
            if np.isfinite(lo) and v < lo:
                direction, level = "low", lv
                break
        directions.append(direction)
        levels.append(level)
    return directions, levels


def _put_flags(units: pd.DataFrame, method: str, flags: tuple[list[str], list[float]]) -> None:
    d, lv = flag_columns(method)
    units[d], units[lv] = flags


def _pct(level: float) -> str:
    return f"{100 * level:.3g}%"


@dataclass
class FunnelResult:
    """A funnel comparison: the per-unit table, the limits table, and the summary."""

    units: pd.DataFrame
    limits: pd.DataFrame
    summary: dict = field(default_factory=dict)

    def sensitivity(self) -> str:
        """One line: how many units each method flags at each level."""
        parts = []
        for m in METHODS:
            d, lv = flag_columns(m)
            labels = [flag_label(a, b) for a, b in zip(self.units[d], self.units[lv])]
            counts = pd.Series(labels).value_counts()
            flagged = ", ".join(f"{counts[k]} {k}" for k in sorted(counts.index) if k != "within") or "none"
            parts.append(f"{m}: {flagged}")
        return (
            f"Flags out of {len(self.units)} ({self.summary['levels_label']}): "
            + "; ".join(parts)
            + f". phi = {self.summary['phi']:.2f} (p = {self.summary['phi_p_value']:.3g}), "
            f"tau = {np.sqrt(self.summary['tau2']):.3f} on the arcsine scale."
        )


def _overdispersion(y_t: np.ndarray, target_t: np.ndarray, se: np.ndarray, winsor: float, df: int) -> dict:
    """phi with its chi-squared test and the DerSimonian-Laird tau^2, from Winsorised z."""
    z = (y_t - target_t) / se
    zw = winsorise(z, winsor)
    k = len(z)
    phi = float(np.mean(zw**2)) if k else np.nan
    chi2 = k * phi
    p = float(stats.chi2.sf(chi2, df)) if k and df > 0 else np.nan
    w = 1 / se**2
    denom = w.sum() - (w**2).sum() / w.sum() if k else np.nan
    tau2 = float(max(0.0, (chi2 - df) / denom)) if k and denom > 0 else 0.0
    return {
        "z": z,
        "z_winsorised": zw,
        "phi": phi,
        "phi_chi2": chi2,
        "phi_df": df,
        "phi_p_value": p,
        "tau2": tau2,
    }


def funnel(
    frame: pd.DataFrame,
    unit: str = "force",
    count: str = "charged_closed",
    n: str = "outcomes_closed",
    target: float | None = None,
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    adjust: str | None = None,
    winsor: float = 0.1,
    min_n: float = 1.0,
    label: str = "",
) -> FunnelResult:
    """Compare proportions count/n between units against a target (pooled unless given).

    `adjust` is None, 'bonferroni' (limits widened for the number of units) or 'fdr'
    (Benjamini-Hochberg q-values on each method's own two-sided p-values, flags at
    q < 1 - level: exact binomial, phi-inflated and random-effects, so that with overdispersion
    the adjusted methods' flags control false discoveries too).
    Units with n < min_n cannot be compared and are listed in summary['excluded'].
    """
    if adjust not in (None, "bonferroni", "fdr"):
        raise FunnelInputError(f"funnel: adjust={adjust!r}; use None, 'bonferroni' or 'fdr'.")
    if not levels or any(not 0.5 < lv < 1 for lv in levels):
        raise FunnelInputError("funnel: levels must lie between 0.5 and 1, e.g. (0.95, 0.998).")
    d = _validate(frame, unit, count, n)
    excluded = d.loc[d["n"] < min_n, "unit"].astype(str).tolist()
    d = d[d["n"] >= min_n].reset_index(drop=True)
    if len(d) < 3:
        raise FunnelInputError(f"funnel: only {len(d)} units with n >= {min_n}; need at least 3.")
    pooled = d["count"].sum() / d["n"].sum()
    theta = pooled if target is None else float(target)
    if not 0 < theta < 1:
        raise FunnelInputError(f"funnel: target {theta} must lie strictly between 0 and 1.")
    x, m = d["count"].to_numpy(), d["n"].to_numpy()
    y = x / m
    k = len(d)
    lv_adj = _adjusted_levels(tuple(levels), k, adjust)

    # overdispersion on the arcsine-square-root scale (variance 1/(4n))
    y_t, t_t, se = np.arcsin(np.sqrt(y)), np.arcsin(np.sqrt(theta)), 1 / (2 * np.sqrt(m))
    od = _overdispersion(y_t, np.full(k, t_t), se, winsor, k - 1 if target is None else k)
    phi_eff = max(od["phi"], 1.0)

    def back(v):
        return np.sin(np.clip(v, 0, np.pi / 2)) ** 2

    limits_u: dict[str, dict[float, tuple[np.ndarray, np.ndarray]]] = {mth: {} for mth in METHODS}
    units = pd.DataFrame({"unit": d["unit"], "n": m, "count": x, "rate": y})
    units["ci_low"], units["ci_high"] = proportion_ci(x, m)
    units["z"] = od["z"]
    units["z_winsorised"] = od["z_winsorised"]
    for lv, la in zip(levels, lv_adj):
        zq = stats.norm.ppf(0.5 + la / 2)
        lo, hi = exact_limit(theta, m, (1 - la) / 2), exact_limit(theta, m, 1 - (1 - la) / 2)
        limits_u["exact"][lv] = (lo, hi)
        limits_u["phi"][lv] = (back(t_t - zq * np.sqrt(phi_eff) * se), back(t_t + zq * np.sqrt(phi_eff) * se))
        s_re = np.sqrt(se**2 + od["tau2"])
        limits_u["tau2"][lv] = (back(t_t - zq * s_re), back(t_t + zq * s_re))
        tag = _pct(lv)
        units[f"lower_{tag}"], units[f"upper_{tag}"] = lo, hi
        units[f"lower_{tag}_phi"], units[f"upper_{tag}_phi"] = limits_u["phi"][lv]
        units[f"lower_{tag}_tau2"], units[f"upper_{tag}_tau2"] = limits_u["tau2"][lv]

    # two-sided p-value of each unit against the target, one per method: exact binomial (mid-p),
    # and the normal ones on the arcsine scale with the variance each method allows
    below = stats.binom.cdf(x - 1, m, theta) + 0.5 * stats.binom.pmf(x, m, theta)
    dev = y_t - t_t
    p_values = {
        "exact": np.clip(2 * np.minimum(below, 1 - below), 0, 1),
        "phi": 2 * stats.norm.sf(np.abs(dev) / (np.sqrt(phi_eff) * se)),
        "tau2": 2 * stats.norm.sf(np.abs(dev) / np.sqrt(se**2 + od["tau2"])),
    }
    for mth in METHODS:
        suffix = "" if mth == "exact" else f"_{mth}"
        units[f"p_value{suffix}"] = p_values[mth]
        if adjust == "fdr":
            # Benjamini-Hochberg on each method's own p-values: with overdispersion the binomial
            # ones are far too small, and only the adjusted ones control the false discoveries
            units[f"q_value{suffix}"] = _bh(p_values[mth])
            _put_flags(units, mth, _fdr_flags(units[f"q_value{suffix}"].to_numpy(), dev, levels))
        else:
            _put_flags(units, mth, _flag(y, limits_u[mth]))
    units = units.rename(columns={"unit": unit})

    grid = np.unique(np.concatenate([np.geomspace(max(min_n, m.min() * 0.8), m.max() * 1.2, 200), m]))
    rows = []
    for lv, la in zip(levels, lv_adj):
        zq = stats.norm.ppf(0.5 + la / 2)
        se_g = 1 / (2 * np.sqrt(grid))
        for mth, (lo, hi) in {
            "exact": (exact_limit(theta, grid, (1 - la) / 2), exact_limit(theta, grid, 1 - (1 - la) / 2)),
            "phi": (back(t_t - zq * np.sqrt(phi_eff) * se_g), back(t_t + zq * np.sqrt(phi_eff) * se_g)),
            "tau2": (
                back(t_t - zq * np.sqrt(se_g**2 + od["tau2"])),
                back(t_t + zq * np.sqrt(se_g**2 + od["tau2"])),
            ),
        }.items():
            rows.append(pd.DataFrame({"method": mth, "level": lv, "n": grid, "lower": lo, "upper": hi}))
    limits = pd.concat(rows, ignore_index=True)
    summary = {
        "label": label,
        "target": theta,
        "target_kind": "pooled" if target is None else "given",
        "units": k,
        "excluded": excluded,
        "levels": list(levels),
        "levels_adjusted": lv_adj,
        "levels_label": ", ".join(_pct(lv) for lv in levels) + (f", {adjust}-adjusted" if adjust else ""),
        "adjust": adjust,
        **_dispersion_summary(od, winsor),
        "scale": "arcsine square root (overdispersion)",
        "total_count": float(x.sum()),
        "total_n": float(m.sum()),
    }
    return FunnelResult(units, limits, summary)


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values."""
    k = len(p)
    order = np.argsort(p)
    q = np.empty(k)
    running = 1.0
    for rank, i in enumerate(order[::-1]):
        pos = k - rank
        running = min(running, p[i] * k / pos)
        q[i] = running
    return q


def _fdr_flags(q_values: np.ndarray, dev: np.ndarray, levels) -> tuple[list[str], list[float]]:
    """Direction and level per unit from its q-value: flagged at the widest level whose
    false-discovery rate 1 - level its q-value meets."""
    directions, out = [], []
    for q, z in zip(q_values, dev):
        direction, level = "within", np.nan
        for lv in sorted(levels, reverse=True):
            if q < 1 - lv:
                direction, level = ("high" if z > 0 else "low"), lv
                break
        directions.append(direction)
        out.append(level)
    return directions, out


def _dispersion_summary(od: dict, winsor: float) -> dict:
    """The overdispersion figures every funnel summary reports (phi with its test, tau^2)."""
    return {
        "winsor": winsor,
        "phi": od["phi"],
        "phi_chi2": od["phi_chi2"],
        "phi_df": od["phi_df"],
        "phi_p_value": od["phi_p_value"],
        "tau2": od["tau2"],
    }


def change_funnel(
    panel: pd.DataFrame,
    year_from: str,
    year_to: str,
    unit: str = "force",
    count: str = "charged_closed",
    n: str = "outcomes_closed",
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    winsor: float = 0.1,
) -> FunnelResult:
    """Funnel for the change in a proportion between two years (Spiegelhalter 2005, sec. 5).

    The target is the pooled change; each force's precision is 1/s^2 with
    s^2 = p1(1-p1)/n1 + p2(1-p2)/n2 at the pooled rates, so precision depends only on the
    denominators. Limits are normal; phi and tau^2 as in `funnel`, on the difference scale.
    """
    # the comparison rule, applied to both years: a force enters when both are comparable
    ok = panel[rules.comparable(panel[count], panel[n])]
    a = ok[ok["financial_year"] == year_from].set_index(unit)
    b = ok[ok["financial_year"] == year_to].set_index(unit)
    both = a.index.intersection(b.index)
    if len(both) < 3:
        raise FunnelInputError(f"change funnel: fewer than 3 forces have both {year_from} and {year_to}.")
    d1 = _validate(a.loc[both].reset_index(), unit, count, n)
    d2 = _validate(b.loc[both].reset_index(), unit, count, n)
    p1, p2 = d1["count"].sum() / d1["n"].sum(), d2["count"].sum() / d2["n"].sum()
    theta = p2 - p1
    se = np.sqrt(p1 * (1 - p1) / d1["n"].to_numpy() + p2 * (1 - p2) / d2["n"].to_numpy())
    diff = (d2["count"] / d2["n"] - d1["count"] / d1["n"]).to_numpy()
    od = _overdispersion(diff, np.full(len(diff), theta), se, winsor, len(diff) - 1)
    phi_eff = max(od["phi"], 1.0)
    units = pd.DataFrame(
        {
            unit: d1["unit"],
            "n_from": d1["n"],
            "n_to": d2["n"],
            "rate_from": d1["count"] / d1["n"],
            "rate_to": d2["count"] / d2["n"],
            "change": diff,
            "se": se,
            "precision": 1 / se**2,
            "z": od["z"],
            "z_winsorised": od["z_winsorised"],
        }
    )
    lim: dict[str, dict[float, tuple[np.ndarray, np.ndarray]]] = {mth: {} for mth in METHODS}
    for lv in levels:
        zq = stats.norm.ppf(0.5 + lv / 2)
        tag = _pct(lv)
        for mth, s in (("exact", se), ("phi", se * np.sqrt(phi_eff)), ("tau2", np.sqrt(se**2 + od["tau2"]))):
            lim[mth][lv] = (theta - zq * s, theta + zq * s)
            suffix = "" if mth == "exact" else f"_{mth}"
            units[f"lower_{tag}{suffix}"], units[f"upper_{tag}{suffix}"] = lim[mth][lv]
    for mth in METHODS:
        _put_flags(units, mth, _flag(diff, lim[mth]))
    prec = np.geomspace(units["precision"].min() * 0.8, units["precision"].max() * 1.2, 200)
    rows = []
    for lv in levels:
        zq = stats.norm.ppf(0.5 + lv / 2)
        s = 1 / np.sqrt(prec)
        for mth, sm in (("exact", s), ("phi", s * np.sqrt(phi_eff)), ("tau2", np.sqrt(s**2 + od["tau2"]))):
            rows.append(
                pd.DataFrame(
                    {
                        "method": mth,
                        "level": lv,
                        "precision": prec,
                        "lower": theta - zq * sm,
                        "upper": theta + zq * sm,
                    }
                )
            )
    summary = {
        "label": f"change {year_from} to {year_to}",
        "target": theta,
        "target_kind": "pooled change",
        "rate_from": p1,
        "rate_to": p2,
        "units": len(units),
        "excluded": [],
        "levels": list(levels),
        "levels_label": ", ".join(_pct(lv) for lv in levels),
        "adjust": None,
        **_dispersion_summary(od, winsor),
        "scale": "difference in proportions",
    }
    return FunnelResult(units, pd.concat(rows, ignore_index=True), summary)
