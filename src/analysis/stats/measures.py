"""Rates, proportions with intervals, and the force-year panel.

Every rate names its basis and its denominator in its column names:
- closed basis: of the investigations closed in the year (outcome types 1-22 assigned in the
  year, whenever the offence was recorded), the share with a given outcome;
- recorded basis: of the offences recorded in the year, the share that had been given a
  given outcome by the time the file was published (a lower bound while investigations are open).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from analysis.domain import forces, periods, rules, taxonomy

INTERVAL_METHODS = {"wilson": "wilson", "jeffreys": "jeffreys", "clopper-pearson": "beta"}
NATIONAL = "England and Wales"


def proportion_ci(count, n, method: str = "wilson", level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Interval for count/n (arrays). Wilson by default; Jeffreys or Clopper-Pearson on request.

    Never Wald. Cells with n <= 0, a missing value, or count outside [0, n] get NaN.
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(f"interval method {method!r}: use one of {', '.join(INTERVAL_METHODS)}")
    x = np.asarray(pd.to_numeric(pd.Series(count), errors="coerce").astype(float), dtype=float).ravel()
    m = np.asarray(pd.to_numeric(pd.Series(n), errors="coerce").astype(float), dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(m) & (m > 0) & (x >= 0) & (x <= m)
    lo = np.full(x.shape, np.nan)
    hi = np.full(x.shape, np.nan)
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(x[ok], m[ok], alpha=1 - level, method=INTERVAL_METHODS[method])
    return lo, hi


def checked_counts(
    frame: pd.DataFrame, unit: str, count: str, n: str, what: str, error: type[Exception] = ValueError
) -> pd.DataFrame:
    """Columns unit, count, n as floats; `error` (naming the units) for missing, negative or
    impossible counts, so no comparison runs on numbers that cannot be proportions."""
    for col in (unit, count, n):
        if col not in frame:
            raise error(f"{what}: column '{col}' is missing (have: {', '.join(frame.columns)}).")
    d = frame[[unit, count, n]].copy()
    d.columns = ["unit", "count", "n"]
    d["count"] = pd.to_numeric(d["count"], errors="coerce").astype(float)
    d["n"] = pd.to_numeric(d["n"], errors="coerce").astype(float)
    for bad, text in (
        (d["count"].isna() | d["n"].isna(), "missing count or denominator"),
        ((d["count"] < 0) | (d["n"] < 0), "negative count or denominator"),
        (d["count"] > d["n"], "count larger than its denominator"),
    ):
        if bad.any():
            raise error(
                f"{what}: {text} for {', '.join(map(str, d.loc[bad, 'unit'][:5]))}. "
                "Drop or correct those rows before comparing."
            )
    return d.reset_index(drop=True)


def _share(num: pd.Series, den: pd.Series) -> pd.Series:
    num = num.astype("Float64")
    den = den.astype("Float64")
    return (num / den.where(den > 0)).astype(float)


def _sum_types(
    frame: pd.DataFrame, types: frozenset[int], basis: str, name: str, key: list[str]
) -> pd.Series:
    sub = frame[frame["outcome_type"].isin(types)]
    return sub.groupby(key)[basis].sum(min_count=1).rename(name)


def force_year(
    outcomes: pd.DataFrame,
    recorded: pd.DataFrame,
    offence: str = taxonomy.STALKING,
    method: str = "wilson",
    level: float = 0.95,
    synthetic: bool = False,
) -> pd.DataFrame:
    """One row per force and financial year for one offence code, on both bases.

    Columns name the basis and the denominator. Quarters with no data (gaps, "data not
    provided") are left out of the sums and counted in `quarters_with_outcomes`.
    """
    code = taxonomy.normalise_offence_code(offence)
    out = outcomes[outcomes["offence_code"] == code]
    if out.empty:
        return _empty_panel()
    key = ["financial_year", "force"]
    parts = [
        _sum_types(out, taxonomy.CLOSED, "closed_basis", "outcomes_closed", key),
        _sum_types(out, taxonomy.CHARGED, "closed_basis", "charged_closed", key),
        _sum_types(
            out, taxonomy.EVIDENTIAL_DIFFICULTIES, "closed_basis", "evidential_difficulties_closed", key
        ),
        _sum_types(out, taxonomy.NO_SUSPECT, "closed_basis", "no_suspect_closed", key),
        _sum_types(out, frozenset(range(0, 23)), "recorded_basis", "offences_recorded_outcomes_file", key),
        _sum_types(out, taxonomy.NOT_YET_ASSIGNED, "recorded_basis", "not_yet_assigned_recorded", key),
        _sum_types(out, taxonomy.CHARGED, "recorded_basis", "charged_recorded", key),
        out.dropna(subset=["closed_basis"])
        .groupby(key)["quarter"]
        .nunique()
        .rename("quarters_with_outcomes"),
        out.assign(neg=(out["closed_basis"].fillna(0) < 0) | (out["recorded_basis"].fillna(0) < 0))
        .groupby(key)["neg"]
        .sum()
        .rename("negative_counts"),
    ]
    panel = pd.concat(parts, axis=1)
    rec = recorded[recorded["offence_code"] == code]
    if not rec.empty:
        panel = panel.join(rec.groupby(key)["offences"].sum(min_count=1).rename("offences_recorded"))
        panel = panel.join(
            rec.dropna(subset=["offences"]).groupby(key)["quarter"].nunique().rename("quarters_with_recorded")
        )
    else:
        panel["offences_recorded"] = pd.NA
        panel["quarters_with_recorded"] = 0
    panel = panel.reset_index()
    panel["quarters_with_outcomes"] = panel["quarters_with_outcomes"].fillna(0).astype(int)
    panel["quarters_with_recorded"] = panel["quarters_with_recorded"].fillna(0).astype(int)
    codes = {f.name: f.code for f in forces.registry()}
    panel.insert(2, "force_code", panel["force"].map(codes))
    panel.insert(3, "offence_code", code)
    return _add_rates(panel, method, level, synthetic)


def _add_rates(panel: pd.DataFrame, method: str, level: float, synthetic: bool) -> pd.DataFrame:
    """Rates with intervals, each naming its basis and denominator."""
    specs = [
        ("charge_rate_closed", "charged_closed", "outcomes_closed"),
        ("evidential_difficulties_rate_closed", "evidential_difficulties_closed", "outcomes_closed"),
        ("no_suspect_rate_closed", "no_suspect_closed", "outcomes_closed"),
        ("charge_rate_recorded", "charged_recorded", "offences_recorded_outcomes_file"),
        ("not_yet_assigned_rate_recorded", "not_yet_assigned_recorded", "offences_recorded_outcomes_file"),
    ]
    for name, num, den in specs:
        panel[name] = _share(panel[num], panel[den])
        lo, hi = proportion_ci(panel[num], panel[den], method, level)
        panel[f"{name}_low"], panel[f"{name}_high"] = lo, hi
        panel[f"{name}_denominator"] = den
    panel["interval"] = f"{method} {level:.0%}"
    panel["complete_year"] = rules.complete_year(panel["quarters_with_outcomes"])
    panel["data_source"] = data_source_label(synthetic)
    order = {n: i for i, n in enumerate([*forces.names(), NATIONAL])}
    panel = panel.sort_values(
        ["financial_year", "force"], key=lambda s: s.map(order) if s.name == "force" else s
    )
    return panel.reset_index(drop=True)


def _empty_panel() -> pd.DataFrame:
    return pd.DataFrame(columns=["financial_year", "force", "force_code", "offence_code"])


def data_source_label(synthetic: bool) -> str:
    """The label every output table carries."""
    return (
        "GENERATED DEMO DATA (synthetic, not Home Office statistics)"
        if synthetic
        else "Home Office, Police recorded crime and outcomes open data tables (OGL v3.0)"
    )


def national_year(
    panel: pd.DataFrame, method: str = "wilson", level: float = 0.95, synthetic: bool = False
) -> pd.DataFrame:
    """England and Wales per year: the force-year panel's counts summed over the 43 territorial
    forces plus BTP, with the same rates."""
    counts = [
        "outcomes_closed",
        "charged_closed",
        "evidential_difficulties_closed",
        "no_suspect_closed",
        "offences_recorded_outcomes_file",
        "not_yet_assigned_recorded",
        "charged_recorded",
        "offences_recorded",
        "negative_counts",
    ]
    g = panel.groupby("financial_year")
    nat = g[counts].sum(min_count=1).reset_index()
    nat["forces_with_outcomes"] = g["outcomes_closed"].count().to_numpy()
    nat["forces_complete_year"] = g["complete_year"].sum().to_numpy()
    nat.insert(1, "force", NATIONAL)
    nat.insert(2, "offence_code", panel["offence_code"].iloc[0])
    nat["quarters_with_outcomes"] = 4
    return _add_rates(nat, method, level, synthetic).drop(columns=["complete_year"])


def default_year(panel: pd.DataFrame) -> str:
    """The latest year with outcomes for most forces."""
    counts = panel.groupby("financial_year")["outcomes_closed"].count()
    full = counts[counts >= 0.9 * counts.max()]
    return str(full.index.max())


def resolve_year(panel: pd.DataFrame, year: str | None, what: str = "--year") -> str:
    """The one place a requested year is resolved: empty or None gives the default year (the
    latest with outcomes for most forces); anything else is normalised ('2020-21' -> '2020/21')
    and checked against the panel's years (InputError naming `what` if outside them)."""
    if not year:
        return default_year(panel)
    return periods.check_year(year, sorted(panel["financial_year"].unique()), what)
