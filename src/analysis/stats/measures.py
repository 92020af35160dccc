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

from analysis.domain import forces, taxonomy

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
    panel["complete_year"] = panel["quarters_with_outcomes"] == 4
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


def difference_ci(x1, n1, x2, n2, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of two proportions x1/n1 - x2/n2 with Newcombe's hybrid score interval
    (method 10 of Newcombe 1998, built from the two Wilson intervals)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    if min(n1, n2) <= 0:
        return float("nan"), float("nan"), float("nan")
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - level)
    return x1 / n1 - x2 / n2, float(lo), float(hi)


def year_change(
    panel: pd.DataFrame,
    year_from: str,
    year_to: str,
    count: str = "charged_closed",
    n: str = "outcomes_closed",
    level: float = 0.95,
) -> pd.DataFrame:
    """Per force: the rate in two years and the change (to minus from), Newcombe interval."""
    a = panel[panel["financial_year"] == year_from].set_index("force")
    b = panel[panel["financial_year"] == year_to].set_index("force")
    rows = []
    for force in a.index.intersection(b.index):
        x1, n1, x2, n2 = (
            float(v) for v in (a.at[force, count], a.at[force, n], b.at[force, count], b.at[force, n])
        )
        ok = all(np.isfinite([x1, n1, x2, n2])) and 0 <= x1 <= n1 and 0 <= x2 <= n2
        d, lo, hi = difference_ci(x2, n2, x1, n1, level) if ok else (np.nan, np.nan, np.nan)
        rows.append(
            {
                "force": force,
                "year_from": year_from,
                "year_to": year_to,
                "rate_from": x1 / n1 if n1 > 0 else np.nan,
                "rate_to": x2 / n2 if n2 > 0 else np.nan,
                "change": d,
                "change_low": lo,
                "change_high": hi,
                "denominator": n,
                "interval": f"Newcombe hybrid score {level:.0%}",
            }
        )
    return pd.DataFrame(rows)
