"""The first output tables: the force-year panel, England and Wales by year, the headlines, the
figures to quote, the rise across April 2020, what moved since the previous data edition and
recent years' expected final charge rates (analysis.outputs: FORCE_YEAR, NATIONAL_YEAR,
HEADLINES, FIGURES_TO_QUOTE, RECORDING_RISE, CHANGES, POSITION_CHANGES, NOWCAST)."""

from __future__ import annotations

from pathlib import Path

from analysis import outputs, paths
from analysis.domain import forces, taxonomy
from analysis.errors import InputError
from analysis.reports.headlines import headlines
from analysis.reports.quote import figures_to_quote, recording_rise
from analysis.sources.store import Store, load_store
from analysis.stats import nowcast
from analysis.stats.editions import positions_since_previous, since_previous
from analysis.stats.measures import data_source_label, force_year, national_year, resolve_year


def write_tables(
    source: str = paths.DEFAULT_SOURCE,
    store: Path | None = None,
    out: Path | None = None,
    offence: str = taxonomy.STALKING,
    year: str | None = None,
    method: str = "wilson",
    force: str | None = None,
) -> tuple[list[Path], str | None]:
    """Load a source's store, write its tables into `out` (default: the source's tables folder);
    return the paths and the named force's headline."""
    where = paths.for_source(source, store, offence=offence)
    st = load_store(where.store)
    if out:
        return write_store_tables(st, Path(out), offence, year, method, force, into_folder=True)
    return write_store_tables(st, where.outputs, offence, year, method, force)


def checked_offence(st: Store, offence: str, what: str = "--offence") -> str:
    """An offence code normalised, or InputError if the store holds none of its rows."""
    code = taxonomy.normalise_offence_code(offence)
    if code not in set(st.outcomes["offence_code"]):
        raise InputError(
            f"{what} {code}: not in the store (has: "
            f"{', '.join(sorted(set(st.outcomes['offence_code'])))}). Re-ingest with "
            f"--offences including {code}."
        )
    return code


def write_store_tables(
    st: Store,
    out: Path,
    offence: str = taxonomy.STALKING,
    year: str | None = None,
    method: str = "wilson",
    force: str | None = None,
    into_folder: bool = False,
) -> tuple[list[Path], str | None]:
    """Write the force-year panel, England and Wales by year, the headlines and what moved since
    the store's previous edition for a loaded store into output folder `out` (with
    `into_folder`, straight into the folder `out`)."""
    code = checked_offence(st, offence)
    chosen = forces.resolve(force, context="--force") if force else None
    panel = force_year(st.outcomes, st.recorded, code, method=method, synthetic=st.synthetic)
    nat = national_year(panel, method=method, synthetic=st.synthetic)
    y = resolve_year(panel, year)
    heads = headlines(panel, nat, y, synthetic=st.synthetic)
    label = data_source_label(st.synthetic)
    quote = figures_to_quote(panel, nat, st.synthetic).assign(data_source=label)
    rise = recording_rise(panel, nat, st.synthetic).assign(data_source=label)
    written = [
        (output.save_into if into_folder else output.save)(out, frame)
        for output, frame in (
            (outputs.FORCE_YEAR, panel),
            (outputs.NATIONAL_YEAR, nat),
            (outputs.HEADLINES, heads),
            (outputs.FIGURES_TO_QUOTE, quote),
            (outputs.RECORDING_RISE, rise),
            (outputs.CHANGES, since_previous(st, code)),
            (outputs.POSITION_CHANGES, positions_since_previous(st, code)),
            (outputs.NOWCAST, nowcast.from_store(st, code)),
        )
    ]
    line = None
    if chosen is not None:
        hit = heads[heads["force"] == chosen.name]
        line = hit["sentence"].iloc[0] if len(hit) else f"{chosen.name}: no outcomes for {code} in {y}."
    return written, line
