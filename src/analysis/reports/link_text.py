"""The words that go with the link estimates: the headline's sentence, the bound and the
warnings computed from its own diagnostics (`analysis.stats.headline`), the April 2018
replication, the study's record of the headline, and the primary model's other sentences and
caveats; written into the link model table beside the numbers (every page prints them from it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.domain import rules, taxonomy
from analysis.stats.link import BREAK, COMBINED_NOTE, DONUT_YEARS, PRE, PRIMARY_FOLLOW_UP, LinkResult
from analysis.stats.measures import data_source_label

PER_TWOFOLD = "per twofold difference in growth"


def per_doubling(log_odds: float) -> float:
    """A slope per unit of log growth as a factor on the charge odds for a twofold difference in
    growth (one force's recorded count growing by twice the multiple of another's)."""
    return float(np.exp(np.log(2) * log_odds))


def _estimated(*values: float) -> bool:
    return all(np.isfinite(v) for v in values)


def _odds_interval(x: dict) -> str:
    """'x 0.82 (95% CI x 0.70 to x 0.96)' from an estimate with its interval (log-odds per unit)."""
    return (
        f"x {per_doubling(x['estimate']):.2f} ({100 * x['level']:.0f}% CI x {per_doubling(x['ci_low']):.2f} "
        f"to x {per_doubling(x['ci_high']):.2f})"
    )


def _direction(x: dict, noun: str) -> str:
    """The sentence's claim, as strong as the interval allows and no stronger; the two directions
    worded alike."""
    who = f"forces whose recorded {noun} rose more across April 2020"
    than = f"than forces whose recorded {noun} rose less"
    if x["ci_high"] < 0:
        return f"{who[0].upper()}{who[1:]} saw their charge odds fall by more (or rise by less) {than}"
    if x["ci_low"] > 0:
        return f"{who[0].upper()}{who[1:]} saw their charge odds fall by less (or rise by more) {than}"
    return f"The data cannot tell whether {who} saw their charge odds fall by more, or by less, {than}"


def _post_years(h: dict) -> str:
    """'offences recorded from 2020/21 to 2022/23; 2023/24 and 2024/25, still maturing, are left
    out': the years after the break the estimate compares (all from the break on, for a summary
    written before they were recorded)."""
    post, left = h.get("post_years") or [], h.get("maturing_left_out") or []
    if not post:
        return f"offences recorded from {BREAK}"
    text = (
        f"offences recorded from {post[0]} to {post[-1]}"
        if len(post) > 1
        else f"offences recorded in {post[0]}"
    )
    if left:
        years = " and ".join(left) if len(left) <= 2 else ", ".join(left[:-1]) + f" and {left[-1]}"
        text += f"; {years}, whose outcomes are still arriving, {'is' if len(left) == 1 else 'are'} left out"
    followed = h.get("post_follow_up")
    if followed is not None and followed < PRIMARY_FOLLOW_UP:
        text += (
            "; no year after the break has yet been followed two years, so where charges come "
            "later in some forces than in others this comparison can be biased"
        )
    return text


def headline_sentence(h: dict, noun: str) -> str:
    """The headline (`analysis.stats.headline.assess`) in words: direction as far as the interval
    allows, the change in a change for a twofold difference in growth, and what it is a change in
    (charging and case mix together); or that it could not be estimated."""
    if not _estimated(h["estimate"], h["ci_low"], h["ci_high"]):
        return (
            f"The headline link could not be estimated on these data: the model comparing charge odds "
            f"before and after April 2020 across forces with different rises in recorded {noun} did not "
            "give an estimate with an interval, so no claim is made about it."
        )
    return (
        f"{_direction(h, noun)}: where one force's recorded {noun} grew by twice the multiple of "
        "another's (say x6 against x3), the change in its charge odds from before April 2020 to after "
        f"({_post_years(h)}) was {_odds_interval(h)} the other's, across "
        f"{h['n_forces']} forces, allowing for charge trends "
        "before 2020 that already differed steadily with the rise. This is a total: a change in "
        f"charging together with the change in which cases count as {noun} (from April 2020 harassment "
        "between ex-partners is recorded as stalking, and its charge rates differ); the published "
        "counts cannot separate the two."
    )


def _pct_a_year(trend: float) -> str:
    """A dose x year trend (log-odds a year per unit of log growth) as a percentage change in the
    charge odds a year per twofold difference in growth."""
    return f"{100 * abs(per_doubling(trend) - 1):.1f}%"


def bound_sentence(h: dict) -> str:
    """The parallel-trends estimate beside the headline, with the steady divergence in charge
    trends that would take its interval across no change, the divergence the years before 2020
    show, and whether that divergence is already past the one that would overturn it."""
    par, pre = {**h["parallel_trends"], "level": h["level"]}, h["checks"]["pre_trend_linear"]
    if not _estimated(par["estimate"], par["ci_low"], par["ci_high"]):
        return "The parallel-trends estimate (the primary model) could not be estimated on these data."
    text = (
        f"Assuming instead that charge trends before 2020 were parallel across forces (the primary "
        f"model) gives {_odds_interval(par)}. "
    )
    bd = par["breakdown_trend"]
    if bd == 0:
        text += "Its interval already includes no difference. "
    elif np.isfinite(bd):
        behind = "already falling behind" if bd < 0 else "already pulling ahead"
        text += (
            "That sign holds unless the charge odds of forces with larger rises were "
            f"{behind} by more than {_pct_a_year(bd)} a year {PER_TWOFOLD}. "
        )
    else:
        text += "The trend that would overturn its sign could not be estimated. "
    if not (pre["ran"] and np.isfinite(pre["estimate"])):
        return text + "Too few years before 2020 to estimate a trend in them."
    way = "falling behind" if pre["estimate"] < 0 else "pulling ahead"
    text += (
        f"In the years before 2020 they were {way} by {_pct_a_year(pre['estimate'])} a year {PER_TWOFOLD} "
        f"(p = {pre['p_value']:.2g}, a test that "
        + ("finds" if pre["fired"] else "does not find")
        + " such a trend at the 5% level; the headline allows for it either way)."
    )
    if np.isfinite(bd) and bd != 0:
        if np.sign(pre["estimate"]) == np.sign(bd) and abs(pre["estimate"]) >= abs(bd):
            text += (
                " That is already more than the divergence that would overturn the parallel-trends "
                "estimate's sign, so its sign cannot be relied on: read the headline, which allows for "
                "the trend."
            )
        elif np.sign(pre["estimate"]) == np.sign(bd):
            text += (
                " That is less than the divergence that would overturn the parallel-trends estimate's sign."
            )
        else:
            text += " That divergence runs the other way from the one that would overturn its sign."
    return text


WARNING_TEXT = {
    "exposure_check": (
        "Warning: the rise measured from harassment recorded per stalking offence before the rule "
        "changes gives a different answer (x {x} per twofold difference in growth, p = {p}): the published rise may "
        "mismeasure what the rule moved, and the headline may be biased."
    ),
    "maturity_check": (
        "Warning: offences followed longest give a different answer (x {x} per twofold difference in growth, p = {p}): "
        "charges may be taking longer where recording rose more, and the headline may be biased. "
        "(The two also part when charge trends before 2020 already differed with the rise, which the "
        "headline allows for, or after a charging shock that tracked the rise: the method study gives "
        "how often this check fires when nothing it looks for is wrong.)"
    ),
    "negative_control": (
        "Warning: charges for {offences} moved "
        "with the stalking rise (x {x} per twofold difference in growth, p = {p}): something beyond "
        "stalking changed charging in the same forces, and the headline may be biased."
    ),
}


def warning_sentences(h: dict) -> list[str]:
    """One sentence for each diagnostic that fired, none for those that did not, and what ran."""
    said = [
        WARNING_TEXT[name].format(
            x=f"{per_doubling(h['checks'][name]['estimate']):.2f}",
            p=f"{h['checks'][name]['p_value']:.2g}",
            offences=comparison_words(h["checks"][name].get("offences", [])),
        )
        for name in h["fired"]
    ]
    ran = [name for name in WARNING_TEXT if h["checks"][name]["ran"]]
    quiet = [CHECK_NAMES[n] for n in ran if n not in h["fired"]]
    if quiet:
        said.append(f"No warning from {_listed(quiet)}.")
    missing = [CHECK_NAMES[n] for n in WARNING_TEXT if n not in ran]
    if missing:
        said.append(f"Not run on these data: {_listed(missing)}.")
    return said


CHECK_NAMES = {
    "exposure_check": "the rise measured from pre-2020 harassment recording",
    "maturity_check": "the offences followed longest",
    "negative_control": "the comparison offences",
}


def break_2018_sentence(h: dict, noun: str) -> str:
    """The same model on the April 2018 change, beside the headline."""
    b = h.get("break_2018")
    if not b:
        return f"No replication on the April 2018 change: these data do not span it for recorded {noun}."
    b = {**b, "level": h["level"]}
    return (
        f"The same comparison on the April 2018 rule change (each force's rise in recorded {noun} from "
        f"2017/18 to 2018/19, parallel trends): {_odds_interval(b)} {PER_TWOFOLD}, across "
        f"{b['n_forces']} forces."
    )


def marginal_effect_sentence(me: dict, noun: str) -> str:
    """The primary slope in percentage points: the average marginal effect per twofold difference in growth."""
    lo, hi = me["per_doubling_pp_ci"]
    return (
        f"The parallel-trends primary in percentage points: at the fitted charge rates of the years from {BREAK} (mean "
        f"{100 * me['mean_charge_rate_post']:.1f}%), recorded {noun} growing by twice the multiple of "
        f"another force's goes with a charge rate {abs(me['per_doubling_pp']):.2f} points "
        f"{'lower' if me['per_doubling_pp'] < 0 else 'higher'} (average marginal effect, 95% CI "
        f"{lo:+.2f} to {hi:+.2f} points)."
    )


def dose_shape_sentence(models: pd.DataFrame) -> str:
    """The dose thirds against the bottom third, in words."""
    m = models.set_index("estimator")
    parts = [
        f"the {label} third {m.loc[f'dose_tercile_{label}', 'estimate']:+.3f} (95% CI "
        f"{m.loc[f'dose_tercile_{label}', 'ci_low']:+.3f} to {m.loc[f'dose_tercile_{label}', 'ci_high']:+.3f})"
        for label in ("middle", "top")
        if f"dose_tercile_{label}" in m.index
    ]
    if not parts:
        return "No dose thirds were fitted."
    return (
        "Shape (the primary model, parallel trends): against the forces in the bottom third of the dose, the change in charge log-odds "
        f"from {BREAK} was, for {' and '.join(parts)}."
    )


def _listed(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def spline_sentence(spline: dict | None) -> str:
    """The dose-response spline in words: the effect at the outer knots against the mean dose, in
    log-odds and percentage points, and the test of a straight line."""
    if not spline:
        return "No dose-response spline was fitted."
    quantiles = _listed([f"{100 * q:g}%" for q in spline["knot_quantiles"]])
    growths = _listed([f"x{np.exp(k):.2f}" for k in spline["knots"]])
    knots = [k for k in spline["at"] if k.endswith("knot")]

    def at(point: str) -> str:
        a = spline["at"][point]
        return (
            f"a force at the {point} (x{a['growth']:.2f}) {a['log_odds']:+.3f} (95% CI {a['ci_low']:+.3f} to "
            f"{a['ci_high']:+.3f}), {a['pp']:+.2f} points ({a['pp_low']:+.2f} to {a['pp_high']:+.2f})"
        )

    test = spline["nonlinearity_test"]
    verdict = "rejects" if test["p_value"] < 0.05 else "does not reject"
    return (
        f"Shape, as a natural cubic spline in the dose (knots at the {quantiles} quantiles of the forces' "
        f"doses: growth {growths}): against a force at the mean dose (x{np.exp(spline['reference_dose']):.2f}), "
        f"the change in charge log-odds from {BREAK} was, for {at(knots[-1])}, and for {at(knots[0])}; "
        f"points are percentage points at the national charge rate of {100 * spline['base_rate']:.1f}% "
        "(pointwise intervals). The joint test that the shape is a straight line on the log-odds scale, "
        f"as the primary model assumes, gives F = {test['statistic']:.2f} on {test['df1']} and "
        f"{test['df2']} degrees of freedom, p = {test['p_value']:.3g} (cluster jackknife covariance): at "
        f"the 5% level it {verdict} a straight line."
    )


def influence_sentence(influence: dict, noun: str) -> str:
    """The forces that move the primary estimate most when left out, and the estimate without
    the force whose recorded offences (`noun`) rose most."""
    named = "; ".join(f"{r['force']} ({r['estimate_without']:.3f})" for r in influence["most_influential"])
    low, high = influence["range_without_one_force"]
    return (
        f"Leaving out one force at a time, the slope ranges from {low:.3f} to {high:.3f}. The forces "
        f"that move it most, with the slope without each: {named}. Without "
        f"{influence['largest_dose_force']}, whose recorded {noun} rose most, it is "
        f"{influence['estimate_without_largest_dose_force']:.3f}."
    )


def comparison_words(offences: list[str] | tuple[str, ...], fixed: bool = False) -> str:
    """The comparison set in words: the set fixed in advance (or part of it) as offences the
    stalking rules do not touch, any other set as the offences given; 'counts pooled' only when
    there are several. `fixed`: say when the whole set fixed in advance was used."""
    codes = tuple(offences)
    if not codes:
        return "no comparison offences"
    names = taxonomy.comparison_names(codes) + ("; counts pooled" if len(codes) > 1 else "")
    if set(codes) <= set(taxonomy.COMPARISON_OFFENCES):
        when = (
            ", a set fixed before it was applied to real data"
            if fixed and set(codes) == set(taxonomy.COMPARISON_OFFENCES)
            else ""
        )
        return f"offences the stalking rules do not touch{when} ({names})"
    return f"the comparison offences given ({names})"


def negative_control_sentence(models: pd.DataFrame, noun: str, offences: list[str] | None = None) -> str:
    """The negative control and the triple difference, in words (or why they are missing);
    `offences`: the comparison set's codes they pooled."""
    m = models.set_index("estimator")
    nc = m.loc["negative_control"] if "negative_control" in m.index else None
    if nc is None or pd.isna(nc["estimate"]):
        return "No negative control: " + (f"{nc['note']}." if nc is not None else "no comparison offences.")
    text = (
        f"Negative control: the same model on the charges of {comparison_words(offences or [], fixed=True)}, "
        f"with {noun}'s dose, "
        f"gives {nc['estimate']:.3f} (95% CI {nc['ci_low']:.3f} to {nc['ci_high']:.3f}), where no link "
        "is expected; "
        + (
            f"its interval excludes 0, a sign that charging changed with the dose beyond {noun}."
            if nc["ci_low"] > 0 or nc["ci_high"] < 0
            else "its interval includes 0."
        )
    )
    if "triple_difference" in m.index:
        t = m.loc["triple_difference"]
        text += (
            f" {noun[0].upper() + noun[1:]} against those offences within each force and year (a triple difference, which "
            f"removes shocks common to both) gives {t['estimate']:.3f} (95% CI {t['ci_low']:.3f} to "
            f"{t['ci_high']:.3f})."
        )
    return text


def pre_trend_sentence(test: dict) -> str:
    """The joint test of the event study's pre-period coefficients, in words."""
    if not test["years"]:
        return f"No years before {PRE} in the data: parallel pre-trends cannot be tested."
    years = f"Before {PRE}, the dose-by-year coefficients for {test['years'][0]} to {test['years'][-1]}"
    f_test = (
        f"F = {test['statistic']:.2f} on {test['df1']} and {test['df2']} degrees of freedom, "
        f"p = {test['p_value']:.3g}"
    )
    caveat = (
        "Not rejecting parallel pre-trends does not show they hold: the test has limited power "
        "with 43 forces."
    )
    if "wild_p_value" not in test:
        verdict = "reject" if test["p_value"] < 0.05 else "do not reject"
        return (
            f"{years} are jointly tested against zero (parallel trends): {f_test} (cluster "
            f"jackknife covariance); at the 5% level "
            f"we {verdict} parallel pre-trends. {caveat} Nor does rejecting them show a pre-trend: "
            "in the method study this F test rejected too often when trends were parallel (see "
            "the methods page), so read it as a screen, not a verdict."
        )
    verdict = "reject" if test["wild_p_value"] < 0.05 else "do not reject"
    return (
        f"{years} are jointly tested against zero (parallel trends) by a wild cluster bootstrap "
        f"of their scores ({test['wild_reps']} sign flips of the forces): p = "
        f"{test['wild_p_value']:.3g}; at the 5% level we {verdict} parallel pre-trends. {caveat} "
        f"The F test on the jackknife covariance ({f_test}) rejected too often in the method "
        "study when trends were parallel, so the bootstrap test is the one to read (the methods "
        "page gives both tests' size and power)."
    )


def pre_trend_sensitivity_sentence(sens: dict | None) -> str:
    """How far a violation of parallel trends would have to go, relative to the largest
    pre-period one, before the event study's mean post-break coefficient loses its sign
    (Rambachan-Roth, relative magnitudes)."""
    if not sens or not sens.get("computed"):
        why = sens["reason"] if sens else "it is computed only with the full set of estimators"
        return f"No Rambachan-Roth sensitivity analysis: {why}."
    first, last = sens["largest_pre_change_years"]
    level = f"{100 * sens['level']:.0f}%"
    text = (
        "Sensitivity to a violation of parallel trends (Rambachan and Roth 2023, relative "
        "magnitudes): allow the gap in trends between forces with larger and smaller rises to "
        f"change from one year to the next after {PRE} by up to Mbar times its largest "
        f"year-to-year change up to {PRE} (estimated at {sens['largest_pre_change']:.3f} log-odds "
        f"per unit of dose, from {first} to {last}). At Mbar = {sens['mbar']:g} the mean "
        f"dose-by-year coefficient from {BREAK} on ({sens['estimate']:.3f}) has a {level} robust "
        f"interval of {sens['ci_low']:.3f} to {sens['ci_high']:.3f}, which "
        f"{'excludes' if sens['excludes_zero'] else 'includes'} 0. "
    )
    bd = sens["breakdown_mbar"]
    side = "below" if sens["estimate"] < 0 else "above"
    if bd is None:
        return text + (
            f"Its robust interval excludes 0 for every Mbar up to {sens['breakdown_searched_up_to']:g}: "
            "no violation of this kind within that range overturns its sign."
        )
    if bd == 0:
        return text + (
            f"Even with trends exactly parallel after {PRE} (Mbar = 0) the robust interval includes 0, "
            "so there is no conclusion about the sign for a violation to overturn."
        )
    return text + (
        f"Its robust interval excludes 0 only up to Mbar = {bd:.2f} (the breakdown value): a "
        f"violation of parallel trends after {PRE} more than {bd:.2f} times the largest one before "
        f"would be enough to overturn the conclusion that the coefficient is {side} 0."
    )


def _fitted(models: pd.DataFrame, *names: str) -> bool:
    """Whether the models table has an estimate for any of `names`."""
    rows = models[models["estimator"].isin(names)]
    return bool(np.isfinite(pd.to_numeric(rows["estimate"], errors="coerce")).any())


def caveats(primary: dict, dose: pd.Series, models: pd.DataFrame) -> list[str]:
    """What the estimate is not, for a reader, each only where it applies to this run: no zero
    dose (or a fall in some forces), association, the basis (and the closed-basis rows, where
    the models table has them), clusters (and the wild bootstrap, where it ran), and the 8Q + 8L
    row (where it was fitted). `dose` is each force's dose in the primary fit; `models` the
    link models table."""
    g, noun = primary["n_forces"], rules.offence_noun(primary["offence"])
    spread = (
        f"(smallest growth x{np.exp(dose.min()):.2f} in {dose.idxmin()}, largest "
        f"x{np.exp(dose.max()):.2f} in {dose.idxmax()}, a "
        f"{float(np.exp(dose.max() - dose.min())):.1f}-fold spread)"
    )
    rose, fell = int((dose > 0).sum()), int((dose < 0).sum())
    where = (
        f"No force has zero dose: recorded {noun} grew in every force from {PRE} to {BREAK} {spread}. "
        "The estimate compares forces with larger rises to forces with smaller rises, not a rise to no rise."
        if fell == 0
        else f"Recorded {noun} rose in {rose} forces and fell in {fell} from {PRE} to {BREAK} {spread}. "
        "The estimate compares forces with larger changes in recording to forces with smaller ones."
    )
    basis = (
        "Charge rates are on the recorded basis: of the outcomes assigned to offences recorded in "
        "each year by the time the data were counted, the share charged. This times the comparison "
        "by the year an offence was recorded, as the effect is. Each edition counts every year to "
        "one date, so the latest years' outcomes are less complete than older years'; only years "
        'whose offences have been followed at least two years are compared (docs/methods.md, "The '
        'recorded basis the link estimators assume").'
    )
    if _fitted(models, "closed_basis_all_years", "donut"):
        basis += (
            " The closed basis (investigations closed in the year) mixes offences recorded in "
            f"different years; fitted on it, with or without {' and '.join(DONUT_YEARS)}, the "
            "estimate is biased in the method study's scenarios (docs/methods.md): those rows are "
            "sensitivity analyses."
        )
    clusters = (
        f"{g} forces are {g} clusters: intervals use the leave-one-force-out jackknife (CV3) "
        "standard error with t(G-1) critical values"
    )
    if np.isfinite(primary.get("p_value_wild_bootstrap", np.nan)):
        clusters += ", and the wild cluster bootstrap p-value does not rely on large-cluster asymptotics"
    said = [
        where,
        "This is an association between forces, not a causal effect of the counting-rule change: "
        f"forces that recorded more new {noun} may differ in other ways that changed at the same time.",
        basis,
        clusters + ".",
    ]
    if _fitted(models, "combined_8Q_8L"):
        said.append(
            f"The 8Q + 8L row of the models table fits stalking and harassment together: {COMBINED_NOTE}."
        )
    return said


# each warning's power: its row in the study's table, the check it is on the page, and the
# scenario that plants what it looks for, in words
CHECK_TARGETS = {
    "exposure_check": (
        "exposure_check",
        "dose_error",
        "where the published rise mismeasures the change the rule made",
    ),
    "maturity_check": (
        "maturity_check",
        "dose_delays",
        "where charges slowed more where recording rose more",
    ),
    "negative_control_check": (
        "negative_control",
        "dose_backlog",
        "where a charging backlog on every offence was larger where recording rose more",
    ),
}


def _false_alarms(study: pd.DataFrame, name: str) -> str:
    """', and in a% to b% of replicates ... (most in S, Monte Carlo SE c points)': the check's
    rejection rate over the scenarios where its true value is 0 (its size there), the worst
    named with its Monte Carlo error; '' if there is no such scenario."""
    null = study[(study["estimator"] == name) & (study["truth"] == 0)].set_index("scenario")
    if null.empty:
        return ""
    worst = null["rejection_rate"].idxmax()
    return (
        f", and in {100 * null['rejection_rate'].min():.1f}% to {100 * null['rejection_rate'].max():.1f}% "
        f"of replicates in the scenarios where nothing it looks for was wrong (most in {worst}, "
        f"Monte Carlo SE {100 * null.loc[worst, 'rejection_rate_mcse']:.1f} points)"
    )


def study_sentence(study: pd.DataFrame | None, where: str) -> str:
    """How the headline fared in the method study (the committed `headline` table at `where`),
    each rate with its Monte Carlo error: its silent-miss rate (interval missing the truth with no
    warning) across scenarios, naming any that miss the 5% target; where its assumptions hold,
    its coverage, power and false-alarm rate; each warning's power against what it looks for;
    and the pre-2020 trend test's size and power."""
    # here, not at the top: the study's module (its generator and workers) is heavy to import,
    # and every page that prints link words imports this one
    from analysis.stats import method_study

    if study is None or "silent_miss_rate" not in study or not (study["estimator"] == "headline").any():
        return f"The method study's table for this headline ({where}) is not with this installation."
    h = study[study["estimator"] == "headline"].set_index("scenario")
    worst = h["silent_miss_rate"].idxmax()
    rows = study.set_index(["estimator", "scenario"])

    def rate(row: pd.Series, col: str) -> str:
        return f"{100 * row[col]:.1f}% (Monte Carlo SE {100 * row[col + '_mcse']:.1f} points)"

    text = (
        f"In the method study ({where}: {int(h['reps'].min()):,} generated replicates in each of "
        f"{len(h)} scenarios, with known truth), this headline's interval missed the truth with no "
        f"warning in {100 * h['silent_miss_rate'].min():.1f}% to {100 * h['silent_miss_rate'].max():.1f}% "
        f"of replicates (most in {worst}: {rate(h.loc[worst], 'silent_miss_rate')})."
    )
    missed = [sc for sc, row in h.iterrows() if method_study.targets(row).silent == "above"]
    if missed:
        text += (
            f" That is above the 5% target beyond Monte Carlo error in {_listed(missed)}"
            + (
                ", where the published rise mismeasures the change the rule made and no warning reliably catches it"
                if missed == ["dose_error"]
                else ""
            )
            + "."
        )
    if "baseline" in h.index:
        b = h.loc["baseline"]
        text += (
            f" Where its assumptions hold (baseline) it covered the truth in {rate(b, 'coverage')}, "
            f"found a link of the generator's size (charge odds x {per_doubling(b['truth']):.2f} {PER_TWOFOLD}) "
            f"in {rate(b, 'rejection_rate')}, and showed a warning although nothing was wrong in "
            f"{rate(b, 'warned_rate')}."
        )
    powers = [
        f" The check on {CHECK_NAMES[check]} fired in {rate(rows.loc[(name, sc)], 'rejection_rate')} of "
        f"replicates {gloss} ({sc}){_false_alarms(study, name)}."
        for name, (check, sc, gloss) in CHECK_TARGETS.items()
        if (name, sc) in rows.index
    ]
    if powers:
        text += "".join(powers) + (
            " A check that stays quiet is evidence only as strong as the first rate; one that fires "
            "is to be read beside the second."
        )
    if ("pre_trend_linear", "baseline") in rows.index and ("pre_trend_linear", "pretrend") in rows.index:
        text += (
            " The pre-2020 trend test rejected with no trend (baseline) in "
            f"{rate(rows.loc[('pre_trend_linear', 'baseline')], 'rejection_rate')} against a nominal 5%, "
            "and found the planted trend that grows with the rise in "
            f"{rate(rows.loc[('pre_trend_linear', 'pretrend')], 'rejection_rate')}."
        )
    return text


def headline_words(h: dict | None, noun: str) -> dict:
    """The headline's sentences for the link model table (none when it was not assessed)."""
    if not h:
        return {}
    return {
        "headline_sentence": headline_sentence(h, noun),
        "bound_sentence": bound_sentence(h),
        "warning_sentences": warning_sentences(h),
        "break_2018_sentence": break_2018_sentence(h, noun),
    }


def described(result: LinkResult, synthetic: bool) -> dict:
    """The primary estimate with its sentence, caveats and data-source label: the link model table."""
    noun = rules.offence_noun(result.primary["offence"])
    return {
        **result.primary,
        **headline_words(result.primary.get("headline"), noun),
        "pre_trend_sentence": pre_trend_sentence(result.primary["pre_trend_test"]),
        "pre_trend_sensitivity_sentence": pre_trend_sensitivity_sentence(
            result.primary.get("pre_trend_sensitivity")
        ),
        "influence_sentence": influence_sentence(result.primary["influence"], noun),
        "negative_control_sentence": negative_control_sentence(
            result.models, noun, result.primary.get("comparison")
        ),
        "marginal_effect_sentence": marginal_effect_sentence(result.primary["marginal_effect"], noun),
        "dose_shape_sentence": dose_shape_sentence(result.models),
        "dose_spline_sentence": spline_sentence(result.primary.get("dose_spline")),
        "caveats": caveats(result.primary, result.dose, result.models),
        "data_source": data_source_label(synthetic),
    }
