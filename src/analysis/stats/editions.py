"""What changed between two data editions of a store (`stalking-outcomes changes`).

Each quarter the Home Office republishes the outcomes open data: earlier years come back with the
outcomes assigned since and with corrections, and a new quarter is added. `changes` compares two
editions a store holds (`analysis.sources.store.load_edition`) for one offence, per force (and
England and Wales) and financial year, on the figures of the force-year table (`outputs.FORCE_YEAR`):

- a figure of the quarters both editions publish that moved is `revised`; a recorded-basis count
  that rose (charges among the offences recorded in the year, as outcomes are assigned) is
  `matured`, the growth every republication brings;
- a quarter one edition publishes and the other does not is `quarter_added` (or
  `quarter_withdrawn`), one row per figure with that quarter's value;
- a revision too small to matter (`SMALL_ABSOLUTE`, `SMALL_RELATIVE`) is marked `small`, so that
  a printer folds such rows into one line.

`positions` compares where each force stands in one year on each edition: its funnel position
against the random-effects limits and its rank interval after shrinkage, both fitted on each
edition as the national analysis fits them (`national.compare_year`), one row per force.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from analysis import outputs
from analysis.domain import forces as force_registry
from analysis.domain import taxonomy
from analysis.sources.store import Store, editions, load_edition
from analysis.stats import funnel, national
from analysis.stats.measures import NATIONAL, data_source_label, force_year, resolve_year

# The figures compared, named as the force-year table's columns: offences recorded (the police force
# area tables), then the outcomes file's investigations closed (types 1-22), charged (type 1) and
# closed for evidential difficulties (types 14-16), all on the closed basis, and charged on the
# recorded basis (the figure that matures as outcomes are assigned).
FIGURES = (
    "offences_recorded",
    "outcomes_closed",
    "charged_closed",
    "evidential_difficulties_closed",
    "charged_recorded",
)
_OUTCOME_FIGURES = list(FIGURES[1:])
MATURING = frozenset({"charged_recorded"})  # recorded-basis figures: a rise is outcomes maturing
FIGURE_WORDS = {
    "offences_recorded": "offences recorded",
    "outcomes_closed": "investigations closed",
    "charged_closed": "charged (closed basis)",
    "evidential_difficulties_closed": "evidential difficulties (closed basis)",
    "charged_recorded": "charged (recorded basis)",
}
KINDS = ("revised", "matured", "quarter_added", "quarter_withdrawn")

# A revision too small to matter moves a figure by fewer than SMALL_ABSOLUTE AND by less than
# SMALL_RELATIVE of its old value. Both, so that neither a change of 2 in a count of 20 (10%) nor
# one of 40 in 10,000 (0.4%) is folded away; a figure that appears or vanishes, a quarter added or
# withdrawn is never small.
SMALL_ABSOLUTE = 3
SMALL_RELATIVE = 0.01

COLUMNS = list(outputs.CHANGES.columns)  # the catalogue's, one home
POSITION_COLUMNS = list(outputs.POSITION_CHANGES.columns)
POSITION_METHOD = "tau2"  # the funnel limits the force pages place a force against
_CELL = ["financial_year", "quarter", "force"]  # what a published quarter is
_YEAR = ["financial_year", "force", "figure"]
_TABLE = [*_YEAR, "quarter", "change_kind", "old_value", "new_value"]  # before `_finish`


def changes(
    old: Store, new: Store, forces: Iterable[str] | None = None, offence: str = taxonomy.STALKING
) -> pd.DataFrame:
    """What moved from edition `old` to edition `new` for one offence (default 8Q stalking): one
    row per force (or England and Wales), year and figure that moved, and per quarter added or
    withdrawn, with the old and new values, their difference and whether it is `small`.
    `forces` (canonical names) keeps only those forces' rows, with England and Wales'."""
    code = taxonomy.normalise_offence_code(offence)
    o_out, n_out = _offence_rows(old.outcomes, code), _offence_rows(new.outcomes, code)
    o_rec, n_rec = _offence_rows(old.recorded, code), _offence_rows(new.recorded, code)
    (o_out_both, o_out_only), (n_out_both, n_out_only) = _split(o_out, n_out), _split(n_out, o_out)
    (o_rec_both, o_rec_only), (n_rec_both, n_rec_only) = _split(o_rec, n_rec), _split(n_rec, o_rec)
    parts = [
        _revisions(year_figures(o_out_both, o_rec_both), year_figures(n_out_both, n_rec_both)),
        _quarters(n_out_only, n_rec_only, "quarter_added"),
        _quarters(o_out_only, o_rec_only, "quarter_withdrawn"),
    ]
    found = [p for p in parts if not p.empty]
    table = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=_TABLE)
    if forces is not None:
        table = table[table["force"].isin([*forces, NATIONAL])]
    return _finish(table, code, old, new)


def _offence_rows(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    """The rows of one offence code."""
    return frame[frame["offence_code"] == code]


def _split(frame: pd.DataFrame, other: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of `frame` in quarters (year, quarter, force) that `other` also publishes, and
    the rest."""
    cells = other[_CELL].drop_duplicates().assign(_both=True)
    both = frame[_CELL].merge(cells, how="left", on=_CELL)["_both"].notna().to_numpy()
    return frame[both], frame[~both]


def year_figures(outcomes: pd.DataFrame, recorded: pd.DataFrame) -> pd.DataFrame:
    """The figures per force and year, long (financial_year, force, figure, value; NaN where none
    is published), with England and Wales (the sum over forces): the outcome figures from
    `measures.force_year`, offences recorded from the police force area table's rows."""
    parts = []
    if not outcomes.empty:
        code = str(outcomes["offence_code"].iloc[0])
        panel = force_year(outcomes, recorded.iloc[:0], code)
        parts.append(panel.melt(["financial_year", "force"], _OUTCOME_FIGURES, "figure", "value"))
    if not recorded.empty:
        pfa = recorded.groupby(["financial_year", "force"])["offences"].sum(min_count=1)
        parts.append(pfa.rename("value").reset_index().assign(figure="offences_recorded"))
    if not parts:
        return pd.DataFrame(columns=[*_YEAR, "value"])
    long = pd.concat(parts, ignore_index=True)
    long["value"] = pd.to_numeric(long["value"], errors="coerce").astype(float)
    long["force"] = long["force"].astype(str)
    long["financial_year"] = long["financial_year"].astype(str)
    national = long.groupby(["financial_year", "figure"])["value"].sum(min_count=1).reset_index()
    return pd.concat([long, national.assign(force=NATIONAL)], ignore_index=True)[[*_YEAR, "value"]]


def _revisions(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The figures (of the quarters both editions publish) that moved: revised, or matured (a
    recorded-basis figure that rose)."""
    both = old.merge(new, how="outer", on=_YEAR, suffixes=("_old", "_new"))
    a, b = both["value_old"], both["value_new"]
    moved = (a.isna() != b.isna()) | ((a - b).abs() > 0)
    both = both[moved.to_numpy()].rename(columns={"value_old": "old_value", "value_new": "new_value"})
    rose = both["figure"].isin(MATURING) & (both["new_value"] > both["old_value"])
    return both.assign(quarter=np.nan, change_kind=np.where(rose, "matured", "revised"))


def _quarters(outcomes: pd.DataFrame, recorded: pd.DataFrame, kind: str) -> pd.DataFrame:
    """One row per figure for each quarter one edition publishes and the other does not, with
    that quarter's value as the new (`quarter_added`) or old (`quarter_withdrawn`) value."""
    rows = []
    for q in sorted(set(outcomes["quarter"]) | set(recorded["quarter"])):
        f = year_figures(outcomes[outcomes["quarter"] == q], recorded[recorded["quarter"] == q])
        rows.append(f.assign(quarter=q))
    if not rows:
        return pd.DataFrame()
    added = pd.concat(rows, ignore_index=True)
    side = "new_value" if kind == "quarter_added" else "old_value"
    return added.rename(columns={"value": side}).assign(change_kind=kind)


def _finish(table: pd.DataFrame, code: str, old: Store, new: Store) -> pd.DataFrame:
    """The table's columns, types and order: differences, the small flag, force codes, the
    editions and the data label."""
    table = table.reindex(columns=_TABLE)
    kind = table["change_kind"].astype(object)
    old_v = table["old_value"].astype(float)
    new_v = table["new_value"].astype(float)
    diff = np.where(
        kind == "quarter_added", new_v, np.where(kind == "quarter_withdrawn", -old_v, new_v - old_v)
    )
    small = is_small(old_v, pd.Series(diff, index=table.index, dtype=float))
    table = table.assign(difference=diff, small=small & kind.isin(["revised", "matured"]))
    table["force_code"] = _force_codes(table["force"])
    table["offence_code"] = code
    table["edition_from"], table["edition_to"] = old.edition, new.edition
    table["data_source"] = data_source_label(old.synthetic or new.synthetic)
    for col in ("quarter", "old_value", "new_value", "difference"):
        table[col] = pd.Series(table[col], dtype=float).round().astype("Int64")
    order = {name: i for i, name in enumerate([*force_registry.names(), NATIONAL])}
    keys = {
        "force": order,
        "figure": {f: i for i, f in enumerate(FIGURES)},
        "change_kind": {k: i for i, k in enumerate(KINDS)},
    }
    table = table.sort_values(
        ["financial_year", "force", "quarter", "figure", "change_kind"],
        key=lambda s: s.map(keys[s.name]) if s.name in keys else s,
        na_position="first",
    )
    return table[COLUMNS].reset_index(drop=True)


def _force_codes(names: pd.Series) -> pd.Series:
    """Each force's ONS code (empty for British Transport Police and England and Wales)."""
    codes = {f.name: f.code or "" for f in force_registry.registry()}
    return names.map(codes).fillna("")


def is_small(old: pd.Series, difference: pd.Series) -> pd.Series:
    """Whether each revision is too small to matter: under SMALL_ABSOLUTE in absolute terms and
    under SMALL_RELATIVE of the old value (False where either is unknown)."""
    size = difference.abs()
    small = (size < SMALL_ABSOLUTE) & (size < SMALL_RELATIVE * old.abs())
    return small.fillna(False).astype(bool)


def _revised(table: pd.DataFrame, small: bool) -> pd.DataFrame:
    """The revisions of a changes table that are (or are not) too small to matter."""
    return table[(table["change_kind"] == "revised") & (table["small"] == small)]


def _count(value: Any) -> str:
    return "not published" if pd.isna(value) else f"{int(value):,}"


def _line(row: pd.Series) -> str:
    """One row in words: 'Kent 2022/23: charged (closed basis) 310 -> 319 (+9)'."""
    where = f"{row['force']} {row['financial_year']}" + (
        f" Q{int(row['quarter'])}" if pd.notna(row["quarter"]) else ""
    )
    diff = "" if pd.isna(row["difference"]) else f" ({int(row['difference']):+,})"
    return (
        f"  {where}: {FIGURE_WORDS[row['figure']]} {_count(row['old_value'])} -> "
        f"{_count(row['new_value'])}{diff}"
    )


def summary_text(
    table: pd.DataFrame, old_edition: str, new_edition: str, synthetic: bool = False, limit: int = 15
) -> str:
    """The printed summary of a changes table: revisions listed (up to `limit`), small revisions
    folded into one line, matured figures as England and Wales' per year, quarters added or
    withdrawn by year and quarter."""
    label = " (GENERATED DEMO DATA, not Home Office data)" if synthetic else ""
    code = str(table["offence_code"].iloc[0]) if len(table) else ""
    lines = [
        f"Changes from edition {old_edition} to {new_edition}{f', offence {code}' if code else ''}{label}"
    ]
    if table.empty:
        return "\n".join([*lines, "Nothing moved: every figure compared is the same in both editions."])
    forces_only = table[table["force"] != NATIONAL]
    revised = _revised(table, small=False)
    lines.append(
        f"Revised ({len(revised)} figures; each moved by {SMALL_ABSOLUTE} or more, or by "
        f"{SMALL_RELATIVE:.0%} or more):"
    )
    lines += [_line(r) for _, r in revised.head(limit).iterrows()] or ["  none"]
    if len(revised) > limit:
        lines.append(f"  ... and {len(revised) - limit} more (see the table)")
    small = _revised(forces_only, small=True)
    if len(small):
        lines.append(
            f"Small revisions: {len(small)} force figures moved by under {SMALL_ABSOLUTE} and under "
            f"{SMALL_RELATIVE:.0%} of their old value, not listed (see the table)."
        )
    matured = table[(table["change_kind"] == "matured") & (table["force"] == NATIONAL)]
    if len(matured):
        n = int((forces_only["change_kind"] == "matured").sum())
        lines.append(
            f"Matured: charges on the recorded basis rose in {n} force-years as outcomes were "
            "assigned since; England and Wales:"
        )
        lines += [_line(r) for _, r in matured.iterrows()]
    for kind, words in (("quarter_added", "Quarters added"), ("quarter_withdrawn", "Quarters withdrawn")):
        q = forces_only[forces_only["change_kind"] == kind][["financial_year", "quarter", "force"]]
        if len(q):
            per = q.drop_duplicates().groupby(["financial_year", "quarter"])["force"].nunique()
            lines.append(
                f"{words}: " + "; ".join(f"{y} Q{int(qq)} ({n} forces)" for (y, qq), n in per.items())
            )
    return "\n".join(lines)


def previous_edition(st: Store) -> str | None:
    """The edition before the one a store holds as its latest, among those it keeps (None when
    it keeps no earlier one, or its latest is undated)."""
    held = editions(st.path)
    if st.edition not in held:
        return None
    i = held.index(st.edition)
    return held[i - 1] if i > 0 else None


def since_previous(st: Store, offence: str = taxonomy.STALKING) -> pd.DataFrame:
    """What moved from the store's previous edition to its latest (`changes`); no rows when it
    keeps no earlier edition."""
    before = previous_edition(st)
    if before is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    return changes(load_edition(st.path, before), st, offence=offence)


def force_text(
    table: pd.DataFrame,
    force: str,
    edition: str,
    before: str | None,
    limit: int = 12,
    standing: pd.DataFrame | None = None,
) -> str:
    """A force page's "Since the last edition" in Markdown: its revisions listed (up to `limit`),
    small revisions folded into one line, recorded-basis charges that matured, quarters added or
    withdrawn, then its funnel position and rank interval (`standing`, a `positions` table);
    or why there is nothing to compare."""
    if before is None:
        held = "an undated edition" if edition == "undated" else f"one edition of the data ({edition})"
        return (
            f"The store holds {held}: there is no earlier edition to compare with. Ingest each new "
            "edition into the same store, and this section lists what moved."
        )
    t = table[table["force"] == force]
    head = f"Edition {edition} against the one before it, {before}"
    places = position_lines(standing, force) if standing is not None else []
    if t.empty:
        return f"{head}: no figure moved for {force}." + "".join(f"\n\n- {line}" for line in places)
    lines = []
    revised = _revised(t, small=False)
    lines += [_line(r).strip().removeprefix(f"{force} ") for _, r in revised.head(limit).iterrows()]
    if len(revised) > limit:
        lines.append(f"... and {len(revised) - limit} more revisions ({outputs.CHANGES.pattern})")
    small = _revised(t, small=True)
    if len(small):
        lines.append(
            f"{len(small)} small revisions (each under {SMALL_ABSOLUTE} and under {SMALL_RELATIVE:.0%} "
            "of the old figure), not listed"
        )
    matured = t[t["change_kind"] == "matured"]
    if len(matured):
        lines.append(
            "Charges on the recorded basis rose as outcomes were assigned since (maturing, not "
            "corrections): "
            + "; ".join(
                f"{r['financial_year']} {_count(r['old_value'])} -> {_count(r['new_value'])}"
                for _, r in matured.iterrows()
            )
        )
    for kind, words in (("quarter_added", "New quarters"), ("quarter_withdrawn", "Quarters withdrawn")):
        q = t[t["change_kind"] == kind][["financial_year", "quarter"]].drop_duplicates()
        if len(q):
            lines.append(
                f"{words}: " + ", ".join(f"{y} Q{int(n)}" for y, n in zip(q["financial_year"], q["quarter"]))
            )
    return f"{head}:\n\n" + "\n".join(f"- {line}" for line in [*lines, *places])


def _panel(st: Store, code: str) -> pd.DataFrame:
    return force_year(st.outcomes, st.recorded, code, synthetic=st.synthetic)


def _standing(panel: pd.DataFrame, year: str) -> pd.DataFrame:
    """Per force in `year` on one edition's force-year panel: its funnel position
    (`funnel.flag_label`, against the random-effects limits) and its rank interval, with the
    number of forces ranked; no rows when the edition has no comparison of that year."""
    c = national.compare_year(panel, year) if year in set(panel["financial_year"]) else None
    if c is None:
        return pd.DataFrame(columns=["force", "funnel", "rank_low", "rank_high", "forces_ranked"])
    d, lv = funnel.flag_columns(POSITION_METHOD)
    flags = c.funnel.units[["force", d, lv]]
    flags = flags.assign(funnel=[funnel.flag_label(a, b) for a, b in zip(flags[d], flags[lv])])
    ranks = c.shrinkage.units[["force", "rank_low", "rank_high"]].assign(forces_ranked=len(c.shrinkage.units))
    return flags[["force", "funnel"]].merge(ranks, on="force", how="outer")


def positions(
    old: Store, new: Store, year: str | None = None, offence: str = taxonomy.STALKING
) -> pd.DataFrame:
    """Where each force stands in `year` (default: the latest edition's default year, the one the
    pages show) on edition `old` and on edition `new`: funnel position and rank interval, and
    whether each moved (outputs.POSITION_CHANGES)."""
    code = taxonomy.normalise_offence_code(offence)
    panel = _panel(new, code)
    y = resolve_year(panel, year)
    both = _standing(_panel(old, code), y).merge(
        _standing(panel, y), on="force", how="outer", suffixes=("_from", "_to")
    )
    for col in ("rank_low", "rank_high", "forces_ranked"):
        for side in ("_from", "_to"):
            both[col + side] = pd.Series(both[col + side], dtype=float).round().astype("Int64")
    for side in ("_from", "_to"):
        both["funnel" + side] = both["funnel" + side].fillna("").astype(str)
    # a force compared on one edition only (the year new in the later one) has not moved: it is new
    on_both = (both["funnel_from"] != "") & (both["funnel_to"] != "")
    both["funnel_moved"] = on_both & (both["funnel_from"] != both["funnel_to"])
    ranked = both["rank_low_from"].notna() & both["rank_low_to"].notna()
    differ = (both["rank_low_from"] != both["rank_low_to"]) | (both["rank_high_from"] != both["rank_high_to"])
    both["rank_moved"] = (ranked & differ.fillna(False)).astype(bool)
    order = {name: i for i, name in enumerate(force_registry.names())}
    both = both.assign(
        financial_year=y,
        force_code=_force_codes(both["force"]),
        offence_code=code,
        edition_from=old.edition,
        edition_to=new.edition,
        data_source=data_source_label(old.synthetic or new.synthetic),
    )
    both = both.sort_values("force", key=lambda f: f.map(order)).reset_index(drop=True)
    return both[POSITION_COLUMNS]


def positions_since_previous(st: Store, offence: str = taxonomy.STALKING) -> pd.DataFrame:
    """`positions` from the store's previous edition to its latest; no rows when it keeps no
    earlier edition."""
    before = previous_edition(st)
    if before is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in POSITION_COLUMNS})
    return positions(load_edition(st.path, before), st, offence=offence)


def _ranks(low: Any, high: Any, n: Any) -> str:
    """'ranks 38 to 44 of 44', or 'not ranked'."""
    if pd.isna(low) or pd.isna(high):
        return "not ranked"
    return f"ranks {int(low)} to {int(high)} of {int(n)}"


def position_lines(table: pd.DataFrame, force: str) -> list[str]:
    """A force's funnel position and rank interval from one edition to the next, in words: what
    moved, or that neither did."""
    rows = table[table["force"] == force]
    if rows.empty:
        return []
    r = rows.iloc[0].copy()
    for side in ("funnel_from", "funnel_to"):  # read back from a CSV, an empty position is NaN
        r[side] = "" if pd.isna(r[side]) else str(r[side])
    year, lines = r["financial_year"], []
    if not r["funnel_from"] and r["funnel_to"]:
        return [
            f"Funnel position and rank interval in {year}: first compared in this edition ({r['funnel_to']}; "
            f"{_ranks(r['rank_low_to'], r['rank_high_to'], r['forces_ranked_to'])})"
        ]
    if r["funnel_moved"]:
        lines.append(
            f"Funnel position in {year} (random-effects limits): {r['funnel_from'] or 'not compared'} -> "
            f"{r['funnel_to'] or 'not compared'}"
        )
    if r["rank_moved"]:
        lines.append(
            f"Rank interval in {year} (1 = highest charge rate): {_ranks(r['rank_low_from'], r['rank_high_from'], r['forces_ranked_from'])}"
            f" -> {_ranks(r['rank_low_to'], r['rank_high_to'], r['forces_ranked_to'])}"
        )
    if not lines:
        lines.append(
            f"Funnel position and rank interval in {year}: unchanged ({r['funnel_to']}; "
            f"{_ranks(r['rank_low_to'], r['rank_high_to'], r['forces_ranked_to'])})"
        )
    return lines


def standing_text(table: pd.DataFrame) -> str:
    """The printed lines on funnel positions and rank intervals (a `positions` table): each force
    whose funnel position or rank interval moved, or that none did."""
    if table.empty:
        return "Funnel positions and rank intervals: not compared (no year both editions compare)."
    year = table["financial_year"].iloc[0]
    if table["funnel_from"].isna().all() or (table["funnel_from"].astype(str) == "").all():
        return f"Funnel positions and rank intervals in {year}: the year is new in this edition, nothing to compare."
    moved = table[table["funnel_moved"].astype(bool) | table["rank_moved"].astype(bool)]
    if moved.empty:
        n = len(table)
        return (
            f"Funnel positions and rank intervals in {year}: none moved ({n} force{'s' * (n != 1)} compared)."
        )
    lines = [
        f"Funnel positions and rank intervals in {year}, where they moved ({len(moved)} of {len(table)} forces):"
    ]
    lines += [f"  {f}: " + "; ".join(position_lines(table, f)) for f in moved["force"]]
    return "\n".join(lines)
