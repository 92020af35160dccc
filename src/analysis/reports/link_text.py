"""The words that go with the primary link estimate: its sentence and its caveats, written into
link_model.json beside the numbers (the notebooks print them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.link import BREAK, PRE, LinkResult
from analysis.stats.measures import data_source_label


def sentence(primary: dict) -> str:
    """The primary estimate in one sentence: charge odds per doubling of recorded stalking."""
    odds_per_doubling = float(np.exp(np.log(2) * primary["estimate"]))
    return (
        f"Across {primary['n_forces']} forces, a force whose recorded stalking grew by a factor of 2 "
        f"more than another's across April 2020 had, from {BREAK}, charge odds "
        f"{odds_per_doubling:.2f} times the other's, relative to its own earlier years and the "
        f"national trend (slope {primary['estimate']:.3f} per unit log growth, "
        f"{100 * primary['level']:.0f}% CI {primary['ci_low']:.3f} to {primary['ci_high']:.3f}; "
        f"clustered p = {primary['p_value_cluster']:.3g}, wild bootstrap p = "
        f"{primary['p_value_wild_bootstrap']:.3g})."
    )


def caveats(primary: dict, dose: pd.Series) -> list[str]:
    """What the estimate is not, for a reader: no zero dose, association, basis, clusters,
    reclassification. `dose` is each force's dose in the primary fit."""
    g = primary["n_forces"]
    return [
        f"No force has zero dose: recorded stalking grew in every force from {PRE} to {BREAK} "
        f"(smallest growth x{np.exp(dose.min()):.2f} in {dose.idxmin()}, largest "
        f"x{np.exp(dose.max()):.2f} in {dose.idxmax()}, a "
        f"{float(np.exp(dose.max() - dose.min())):.1f}-fold spread). The estimate compares forces "
        "with larger rises to forces with smaller rises, not a rise to no rise.",
        "This is an association between forces, not a causal effect of the counting-rule change: "
        "forces that recorded more new stalking may differ in other ways that changed at the same time.",
        "Charge rates are on the closed basis (investigations closed in the year): not censored, "
        "but each year mixes offences recorded in different years, which slightly dilutes the "
        "2020/21 contrast.",
        f"{g} forces are {g} clusters: intervals use force-clustered errors "
        "with t(G-1) critical values, and the wild cluster bootstrap p-value does not rely on "
        "large-cluster asymptotics.",
        "Much of the 2020/21 rise is reclassification from harassment; the 8Q + 8L specification "
        "checks the result on the two offences together.",
    ]


def described(result: LinkResult, synthetic: bool) -> dict:
    """The primary estimate with its sentence, caveats and data-source label: link_model.json."""
    return {
        **result.primary,
        "sentence": sentence(result.primary),
        "caveats": caveats(result.primary, result.dose),
        "data_source": data_source_label(synthetic),
    }
