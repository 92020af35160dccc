"""The figures a reader can quote: one rule layer deciding, for each force (and England and
Wales), year and measure, what every page shows (docs/methods.md, "Figures to quote").

It builds two tables from the force-year panel, both in the output catalogue:

- FIGURES_TO_QUOTE: per force, year and measure (recorded offences, closed investigations,
  charged or summonsed, evidential difficulties) the count, its denominator, the share (empty
  under the small-number rule), the England and Wales share, whether the year is complete,
  notes and a copy-ready sentence;
- RECORDING_RISE: per force, the rise in recorded offences across April 2020 between two
  complete years, named.

The index, the verdict sentences, the report's "Figures to quote" section and the per-force CSV
read these tables; no page computes a share or a ratio of its own. The rules applied are those
of analysis.domain.rules (complete years, small numbers, forces outside the territorial model).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis import outputs
from analysis.domain import forces, periods, rules, taxonomy
from analysis.stats.measures import NATIONAL

DEMO_PREFIX = "[GENERATED DEMO DATA, not real figures] "
# England and Wales's recorded offences are the police force area tables' (which do not count
# British Transport Police), while its closed investigations include British Transport Police's
NATIONAL_RECORDED_NOTE = (
    "the police force area tables' count, without British Transport Police (whose closed "
    "investigations are in the England and Wales figures)"
)


@dataclass(frozen=True)
class Measure:
    """A figure a reader quotes: its count column and, for a share, the denominator's."""

    key: str
    label: str
    count: str
    denominator: str | None = None


RECORDED = Measure("recorded", "recorded offences", "offences_recorded")
CLOSED = Measure("closed", "closed investigations", "outcomes_closed")
CHARGED = Measure("charged", "charged or summonsed", "charged_closed", "outcomes_closed")
EVIDENTIAL = Measure(
    "evidential_difficulties", "evidential difficulties", "evidential_difficulties_closed", "outcomes_closed"
)
MEASURES = (RECORDED, CLOSED, CHARGED, EVIDENTIAL)
# what each share's sentence says the investigations ended in
_ENDED = {
    CHARGED.key: "ended in a charge or summons",
    EVIDENTIAL.key: "were closed for evidential difficulties (the victim did not support action, "
    "or the evidence was not enough)",
}
# the tables' columns as the catalogue lists them (data_source is added where they are written)
QUOTE_COLUMNS = tuple(c for c in outputs.FIGURES_TO_QUOTE.columns if c != "data_source")
RISE_COLUMNS = tuple(c for c in outputs.RECORDING_RISE.columns if c != "data_source")


def percent(count: float, denominator: float) -> float:
    """The share a page shows, in per cent to one decimal place; NaN under the small-number rule
    or where the count cannot be a share of the denominator."""
    if not rules.comparable_one(count, denominator):
        return float("nan")
    if rules.small(denominator):
        return float("nan")
    # the rate as the tables hold it (count / denominator), rounded as every page prints a share
    return float(f"{100 * (float(count) / float(denominator)):.1f}")


def percent_text(value: float) -> str:
    """'5.7%' (the one way a page writes a quoted share)."""
    return f"{value:.1f}%"


def rise_text(ratio: float) -> str:
    """'×4.6' (the one way a page writes a rise in recording), '–' when there is none."""
    return "–" if pd.isna(ratio) else f"×{ratio:.1f}"


def rise_phrase(row: pd.Series | dict) -> str:
    """A row of RECORDING_RISE as the index writes it: '×4.6', or the two counts ('6 to 13')
    where the earlier year is below the small-number rule, or '–'."""
    if pd.notna(row["rise"]):
        return rise_text(row["rise"])
    if pd.notna(row["recorded_from"]) and pd.notna(row["recorded_to"]):
        return f"{_n(row['recorded_from'])} to {_n(row['recorded_to'])}"
    return "–"


def fact(key: str, text: str, **data: str) -> str:
    """A quoted figure as HTML, marked with its key (`<slug>|<year>|<measure>`, or
    `<slug>|rise`) so that the consistency test can check that every page gives it one value."""
    extra = "".join(f' data-{k}="{v}"' for k, v in data.items())
    return f'<span class="fact" data-fact="{key}"{extra}>{text}</span>'


def fact_key(force: str, year: str, measure: str) -> str:
    """The key of a force-year's measure ('northamptonshire|2020/21|charged')."""
    return f"{slug(force)}|{year}|{measure}"


def slug(force: str) -> str:
    """A force's slug ('england-and-wales' for England and Wales)."""
    if force == NATIONAL:
        return "england-and-wales"
    return forces.resolve(force).slug


def share_phrase(row: pd.Series | dict) -> str:
    """A quoted share as pages write it: '2.2% (36 of 1,623 closed)', or '1 of 8 closed' under
    the small-number rule (a row of FIGURES_TO_QUOTE)."""
    if pd.isna(row["count"]) or pd.isna(row["denominator"]):
        return "not published"
    counts = f"{_n(row['count'])} of {_n(row['denominator'])} closed"
    if pd.isna(row["percent"]):
        return counts
    return f"{percent_text(row['percent'])} ({counts})"


def _n(x: float) -> str:
    return f"{round(float(x)):,}"


def recorded_count(row: pd.Series) -> tuple[float, str]:
    """Offences recorded in a force-year and the note on where the count comes from: the police
    force area table's count, else (British Transport Police) the outcomes file's."""
    if pd.notna(row.get("offences_recorded")):
        return float(row["offences_recorded"]), ""
    if pd.notna(row.get("offences_recorded_outcomes_file")):
        note = (
            rules.OUTSIDE_TERRITORIAL_NOTE if row["force"] == forces.BTP else rules.OUTCOMES_FILE_COUNT_NOTE
        )
        return float(row["offences_recorded_outcomes_file"]), note
    return float("nan"), "not published"


def _complete(row: pd.Series) -> bool:
    """Whether a force-year (or England and Wales year) has every quarter published: for England
    and Wales, every force's."""
    if row["force"] == NATIONAL:
        return bool(row["forces_complete_year"] == row["forces_with_outcomes"])
    return bool(rules.complete_year(row["quarters_with_outcomes"]))


def _missing(row: pd.Series) -> str:
    """What is missing from an incomplete year, in words ('' when it is complete)."""
    if _complete(row):
        return ""
    if row["force"] == NATIONAL:
        missing = int(row["forces_with_outcomes"] - row["forces_complete_year"])
        return f"{missing} of {int(row['forces_with_outcomes'])} forces published fewer than 4 quarters"
    return f"only {int(row['quarters_with_outcomes'])} of 4 quarters published"


def incomplete_note(row: pd.Series) -> str:
    """Why a year is incomplete, in words ('' when it is complete)."""
    missing = _missing(row)
    return f"incomplete year: {missing} for {row['financial_year']}" if missing else ""


def _who(force: str) -> str:
    """A force as a sentence's subject ('London, City of' reads 'City of London')."""
    if force == NATIONAL:
        return "police forces in England and Wales"
    head, _, tail = force.partition(", ")
    return f"{tail} {head}" if tail else force


def _counted(n: float, one: str, many: str) -> str:
    """'1 stalking offence', '2,092 stalking offences', 'no stalking offences'."""
    if n == 0:
        return f"no {many}"
    return f"{_n(n)} {one if n == 1 else many}"


def _sentence(m: Measure, row: pd.Series, count: float, share: float, nat: float, code: str) -> str:
    """The copy-ready sentence of one force-year's measure (no demo label, no notes)."""
    y, who = row["financial_year"], _who(row["force"])
    noun = rules.offence_noun(code)
    inv, inv1 = f"{noun} investigations", f"{noun} investigation"
    if pd.isna(count) and m in (RECORDED, CLOSED):
        return f"{who}: {m.label} in {y} are not published."
    if m is RECORDED:
        said = f"In {y} {who} recorded {_counted(count, f'{noun} offence', rules.offences(code))}"
        # the rule travels with the sentence a journalist copies
        return said + (f" ({rules.OUTSIDE_TERRITORIAL_NOTE})." if row["force"] == forces.BTP else ".")
    if m is CLOSED:
        return f"In {y} {who} closed {_counted(count, inv1, inv)}."
    n = row[m.denominator]
    if pd.isna(n) or n == 0:
        return f"In {y} {who} closed no {inv}."
    closed = f"Of the {_counted(n, inv1, inv)} {who} closed in {y}"
    if pd.isna(count):
        return f"{closed}, the number that {_ENDED[m.key]} is not published."
    if pd.isna(share):
        why = "too few investigations for a percentage" if rules.small(n) else rules.why_left_out(count, n)
        return f"{closed}, {_n(count)} {_ENDED[m.key]}: {why}."
    beside = "" if row["force"] == NATIONAL else f", against {percent_text(nat)} in England and Wales"
    return f"{closed}, {_n(count)} ({percent_text(share)}) {_ENDED[m.key]}{beside}."


def _rows(row: pd.Series, nat_row: pd.Series | None, code: str, synthetic: bool) -> list[dict]:
    """The four measures of one force-year (or England and Wales year)."""
    out = []
    complete = _complete(row)
    year_note = incomplete_note(row)
    for m in MEASURES:
        notes = [year_note] if year_note else []
        if m is RECORDED:
            count, where = recorded_count(row)
            notes += [where] if where else []
            if row["force"] == NATIONAL:
                notes.append(NATIONAL_RECORDED_NOTE)
        else:
            count = float(row[m.count]) if pd.notna(row[m.count]) else float("nan")
        denominator = (
            float(row[m.denominator]) if m.denominator and pd.notna(row[m.denominator]) else float("nan")
        )
        share = percent(count, denominator) if m.denominator else float("nan")
        if m.denominator and pd.isna(share) and rules.small(denominator):
            notes.append(f"fewer than {rules.SMALL_N} investigations closed: counts only, no percentage")
        nat = (
            percent(nat_row[m.count], nat_row[m.denominator])
            if m.denominator and nat_row is not None
            else float("nan")
        )
        text = _sentence(m, row, count, share, nat, code)
        if year_note:
            text += f" ({year_note[0].upper()}{year_note[1:]}.)"
        out.append(
            {
                "force": row["force"],
                "year": row["financial_year"],
                "measure": m.key,
                "count": count,
                "denominator": denominator,
                "percent": share,
                "england_and_wales_percent": nat,
                "complete_year": complete,
                "note": "; ".join(notes),
                "sentence": (DEMO_PREFIX if synthetic else "") + text,
            }
        )
    return out


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Forces in registry order, England and Wales last, years ascending."""
    order = {f.name: i for i, f in enumerate(forces.registry())}
    order[NATIONAL] = len(order)
    return frame.sort_values(
        ["force", "year"] if "year" in frame else ["force"],
        key=lambda s: s.map(order) if s.name == "force" else s,
        kind="stable",
    ).reset_index(drop=True)


def figures_to_quote(panel: pd.DataFrame, national: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    """The figures-to-quote table: one row per force (and England and Wales), year and measure."""
    code = rules.offence_of(panel)
    nat_by_year = national.set_index("financial_year")
    rows: list[dict] = []
    for _, r in panel.iterrows():
        nat_row = nat_by_year.loc[r["financial_year"]] if r["financial_year"] in nat_by_year.index else None
        rows += _rows(r, nat_row, code, synthetic)
    for _, r in national.iterrows():
        rows += _rows(r, r, code, synthetic)
    return _ordered(pd.DataFrame(rows, columns=list(QUOTE_COLUMNS)))


def _recorded_years(rows: pd.DataFrame) -> pd.DataFrame:
    """A force's complete years with a recorded count (financial_year, recorded): complete in
    the table the count comes from (the police force area table's quarters, else the outcomes
    file's)."""
    out = []
    for _, r in rows.iterrows():
        count, where = recorded_count(r)
        pfa = not where and "quarters_with_recorded" in r and pd.notna(r["quarters_with_recorded"])
        complete = rules.complete_year(r["quarters_with_recorded"]) if pfa else _complete(r)
        if complete and pd.notna(count) and count > 0:
            out.append({"financial_year": r["financial_year"], "recorded": count})
    return pd.DataFrame(out, columns=["financial_year", "recorded"])


def _rise_row(rows: pd.DataFrame, code: str, synthetic: bool) -> dict:
    """One force's rise across April 2020: the last complete year before it, the first complete
    year from it, and why any year between was passed over."""
    force = rows["force"].iloc[0]
    cut = periods.fy_start(taxonomy.RECLASSIFICATION_BREAK.first_year)
    years = _recorded_years(rows)
    starts = years["financial_year"].map(periods.fy_start)
    before, after = years[starts < cut], years[starts >= cut]
    noun = rules.offence_noun(code)
    row = {
        "force": force,
        "year_from": "",
        "year_to": "",
        "recorded_from": float("nan"),
        "recorded_to": float("nan"),
        "rise": float("nan"),
    }
    if before.empty or after.empty:
        row["note"] = "no complete year on both sides of April 2020"
        text = f"April 2020: recorded {noun} cannot be compared across the change: {row['note']}."
    else:
        a, b = before.iloc[-1], after.iloc[0]
        skipped = rows[
            (rows["financial_year"].map(periods.fy_start) > periods.fy_start(a["financial_year"]))
            & (rows["financial_year"].map(periods.fy_start) < periods.fy_start(b["financial_year"]))
        ]
        notes = [
            f"{r['financial_year']} is not used: {_missing(r) or 'no recorded count'}"
            for _, r in skipped.iterrows()
        ]
        if force == forces.BTP:
            notes.append(rules.OUTSIDE_TERRITORIAL_NOTE)
        small = rules.small(a["recorded"])  # a ratio of a handful is noise: counts only
        if small:
            notes.append(
                f"fewer than {rules.SMALL_N} offences recorded in {a['financial_year']}: counts only, no ratio"
            )
        row.update(
            year_from=a["financial_year"],
            year_to=b["financial_year"],
            recorded_from=a["recorded"],
            recorded_to=b["recorded"],
            rise=float("nan") if small else b["recorded"] / a["recorded"],
            note="; ".join(notes),
        )
        text = rise_sentence(noun, a, b, small)
        if notes:
            text = text[:-1] + f"; {'; '.join(notes)}."
    row["sentence"] = (DEMO_PREFIX if synthetic else "") + text
    return row


def rise_sentence(noun: str, before: pd.Series, after: pd.Series, small: bool) -> str:
    """'April 2020: recorded stalking went from 1,082 in 2018/19 to 4,954 in 2020/21 (×4.6), when
    the counting rules began to record harassment between ex-partners as stalking.' One form for
    a rise or a fall, its ratio written as the index writes it (none from a handful)."""
    ratio = "" if small else f" ({rise_text(after['recorded'] / before['recorded'])})"
    return (
        f"April 2020: recorded {noun} went from {_n(before['recorded'])} in {before['financial_year']} "
        f"to {_n(after['recorded'])} in {after['financial_year']}{ratio}, across the counting-rule "
        f"change ({taxonomy.RECLASSIFICATION_BREAK.label.lower()})."
    )


def recording_rise(panel: pd.DataFrame, national: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    """The rise in recorded offences across April 2020 for every force and England and Wales,
    between complete years only, each named."""
    code = rules.offence_of(panel)
    rows = [_rise_row(g, code, synthetic) for _, g in panel.groupby("force", sort=False)]
    rows.append(_rise_row(national, code, synthetic))
    return _ordered(pd.DataFrame(rows, columns=list(RISE_COLUMNS)))


def year_sentence(row: pd.Series, synthetic: bool) -> str:
    """'In 2020/21 Northamptonshire recorded N stalking offences; of the M investigations closed
    that year, X% ended for evidential difficulties and Y% in a charge or summons.' (counts
    instead of percentages below rules.SMALL_N closed investigations; incomplete years said so)."""
    code = row["offence_code"]
    recorded, _ = recorded_count(row)
    closed = row["outcomes_closed"]
    shares = {}
    for m in (CHARGED, EVIDENTIAL):
        share = percent(row[m.count], closed)
        shares[m.key] = (
            _n(row[m.count])
            if pd.isna(share) and pd.notna(row[m.count])
            else ("n/a" if pd.isna(share) else percent_text(share))
        )
    text = (
        f"In {row['financial_year']} {_who(row['force'])} recorded "
        f"{'n/a' if pd.isna(recorded) else _n(recorded)} {rules.offences(code)}; "
        f"of the {'n/a' if pd.isna(closed) else _n(closed)} investigations closed that year, "
        f"{shares[EVIDENTIAL.key]} ended for evidential difficulties and {shares[CHARGED.key]} in a "
        "charge or summons."
    )
    needs = (
        ("forces_complete_year", "forces_with_outcomes")
        if row["force"] == NATIONAL
        else ("quarters_with_outcomes",)
    )
    note = incomplete_note(row) if all(pd.notna(row.get(c)) for c in needs) else ""
    if note:
        text += f" ({note[0].upper()}{note[1:]}.)"
    return (DEMO_PREFIX if synthetic else "") + text
