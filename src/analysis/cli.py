"""The `stalking-outcomes` command (also `python -m analysis`).

Exit codes: 0 ok, 1 some work failed, 2 bad input or usage. Errors are one message naming the
file, sheet, row, column or parameter at fault; `--debug` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analysis import __version__, paths
from analysis import outputs as output_catalogue
from analysis.demo import AS_AT, MAX_EDITIONS, scenarios
from analysis.domain import forces, taxonomy
from analysis.errors import InputError, WorkFailed
from analysis.stats import BATTERIES

# Faults of the machine, or of a path given, not of the package: said plainly, naming the
# path, with what to do, exit 2. {path} is the path at fault, {choose} and {shorter} what to
# change ("choose another --out"), {detail} what is too long (analysis.errors.os_error_facts).
_ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "cannot write or read {path}: the disk is full. Free some space, or {choose}, "
    "and run the command again.",
    errno.EDQUOT: "cannot write or read {path}: the disk quota is used up. Free some space, or "
    "{choose}, and run the command again.",
    errno.EACCES: "cannot write or read {path}: permission denied. Check its permissions, or "
    "{choose}, and run the command again.",
    errno.EPERM: "cannot write or read {path}: operation not permitted. Check its permissions, or "
    "{choose}, and run the command again.",
    errno.EROFS: "cannot write or read {path}: the file system is read-only. Make it writable, or "
    "{choose}, and run the command again.",
    errno.ENOTDIR: "{path} is a file, not a folder: {choose} or move the file, and run the command again.",
    errno.EEXIST: "{path} already exists: {choose} or move it, and run the command again.",
    errno.EISDIR: "{path} is a folder, not a file: {choose} or move the folder, and run the command again.",
    errno.ENAMETOOLONG: "cannot write or read {path}: {detail}: {shorter}, and run the command again.",
}

EPILOG = "Exit codes: 0 ok, 1 some work failed, 2 bad input or usage. Add --debug for tracebacks."


def _bounded_int(low: int, what: str, high: int | None = None):
    """An argparse type: a whole number of at least `low` (and at most `high`, if given)
    (argparse exits 2 with the message)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; {what}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small; {what}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{value} is too large; {what}")
        return value

    return parse


def _edition_date(text: str) -> str:
    """An argparse type: a data edition's publication date, YYYY-MM-DD (argparse exits 2 with
    the message)."""
    from analysis.sources.store import edition_text

    try:
        return edition_text(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


COUNT = _bounded_int(1, "use 1 or more")
RETRIES = _bounded_int(0, "use 0 or more")
SECONDS = _bounded_int(1, "use a whole number of seconds, 1 or more")


def _cmd_forces(args: argparse.Namespace) -> int:
    if args.name:
        f = forces.resolve(" ".join(args.name), context="forces NAME")
        print(f"{f.name}\tcode={f.code or '(none)'}\tslug={f.slug}\taliases={'; '.join(f.aliases) or '-'}")
        return 0
    print("name\tons_code\tslug")
    for f in forces.registry():
        print(f"{f.name}\t{f.code or '-'}\t{f.slug}")
    return 0


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from analysis.demo import editions, generator

    overrides = {"seed": args.seed} if args.seed is not None else None
    cfg = generator.load_config(args.config, overrides)
    data = editions.write_editions(args.out, cfg, args.editions)
    print(
        f"Wrote {len(data.truth['files'])} GENERATED DEMO files and truth.json to {args.out} "
        f"(seed {cfg['seed']}, link_slope {cfg['link_slope']})."
    )
    if args.editions > 1:
        listed = data.truth["editions"]["editions"]
        print(
            f"Wrote {len(listed)} editions, each a source folder of its own: "
            + ", ".join(f"{args.out / e['folder']} ({e['date']})" for e in listed)
            + f"; {args.out} holds the latest. Ingest them oldest first into one store, e.g. "
            f"'stalking-outcomes ingest --source {args.out / listed[0]['folder']} --store "
            f"{paths.PROCESSED}/{Path(args.out).resolve().name}'."
        )
    return 0


def _comparison(value: str) -> tuple[str, ...]:
    """`analyse --comparison`: comma-separated codes, normalised, blanks and repeats dropped."""
    codes = taxonomy.normalise_offence_codes(value)
    if not codes:
        raise argparse.ArgumentTypeError(
            f"no offence codes given: give comma-separated codes such as {','.join(taxonomy.COMPARISON_OFFENCES)}"
        )
    if odd := taxonomy.unlike_codes(codes):
        raise argparse.ArgumentTypeError(
            f"{', '.join(map(repr, odd))} is not shaped like a Home Office offence code (digits, then "
            f"up to two letters): give comma-separated codes such as {','.join(taxonomy.COMPARISON_OFFENCES)}"
        )
    return codes


def _offences(value: str) -> tuple[str, ...] | None:
    """`ingest --offences` as ingest takes it: None for 'all', else the codes normalised
    (`ingest.normalise_offences`), so the default list typed out, in any order, case or with
    repeats, is the default itself and ingest writes the same store as without --offences."""
    from analysis.sources.ingest import normalise_offences

    if value.strip().lower() == "all":
        return None
    return normalise_offences(value.split(","))


def _cmd_ingest(args: argparse.Namespace) -> int:
    from analysis.runs.lock import store_lock
    from analysis.sources import ingest

    store = paths.for_source(args.source, args.store).store
    with store_lock(store, shared=False, what="ingest"):
        quality = _ingest(args)
    print(ingest.summary_text(quality))
    return 0


def _ingest(args: argparse.Namespace) -> dict:
    from analysis.sources import ingest

    return ingest.ingest(
        args.source,
        args.store,
        offences=_offences(args.offences),
        progress=sys.stderr.isatty(),
        accept_outliers=args.accept_outliers,
        jobs=args.jobs or os.cpu_count() or 1,
        edition=args.edition,
        allow_older_edition=args.allow_older_edition,
    )


@contextmanager
def _adhoc_lock(outputs: Path, store: Path, command: str) -> Iterator[None]:
    """`tables` and `analyse` write into a run's folder only while no run does, holding its
    lock (and reading the store while no ingest rewrites it), and only into a folder the
    package owns; the next run then sees tables that are not the ones it published and
    rebuilds the national tables and every report, so the site never mixes the two."""
    from analysis.runs import manifest, publish
    from analysis.runs.lock import output_lock, store_lock

    with output_lock(outputs, what=f"'{command}'"), store_lock(store, shared=True, what=f"'{command}'"):
        publish.check_owned(outputs, manifest.previous(outputs))
        yield


def _adhoc_note(outputs: Path) -> None:
    if output_catalogue.MANIFEST.path(outputs).exists():
        print(
            f"note: the reports in {outputs} were made from the tables the last run published; "
            "the next 'stalking-outcomes run' will rebuild the national tables and every report."
        )


def _cmd_tables(args: argparse.Namespace) -> int:
    from analysis.reports import tables
    from analysis.runs import manifest

    where = paths.for_source(args.source, args.store, offence=args.offence)
    if args.force:
        return _force_table(args, where)

    def write() -> tuple[list[Path], str | None]:
        return tables.write_tables(
            args.source,
            store=args.store,
            out=args.out,
            offence=args.offence,
            year=args.year,
            method=args.interval,
        )

    if args.out:  # a folder of the user's choosing, not a run's: no lock on a site, no record
        written, headline = write()
    else:
        with _adhoc_lock(where.outputs, where.store, "tables"):
            written, headline = write()
            manifest.record_adhoc(where.outputs, written)
    for path in written:
        print(f"wrote {path}")
    if headline:
        print(headline)
    if not args.out:
        _adhoc_note(where.outputs)
    return 0


def force_table_path(where: paths.SourcePaths, slug: str, out: Path | None = None) -> Path:
    """Where `tables --force` writes a force's CSV: `out/<slug>.csv`, or by default
    `<outputs>/tables/forces/<slug>.csv`, beside the tables and never the site's own
    `<outputs>/forces/<slug>.csv` (the site's files stay the last run's)."""
    name = output_catalogue.FORCE_CSV.relpath(slug=slug)
    if out is not None:
        return Path(out) / Path(name).name
    return where.outputs / "tables" / name


def _force_table(args: argparse.Namespace, where: paths.SourcePaths) -> int:
    """`tables --force NAME`: that force's CSV alone (the site's per-force CSV, made by the same
    function from freshly computed tables), written where no site file is; its headline and
    path printed. The tables behind it are computed in a temporary folder and not kept."""
    import tempfile

    from analysis.files import atomic_write
    from analysis.reports import site, tables
    from analysis.runs import manifest

    chosen = forces.resolve(args.force, context="--force")
    target = force_table_path(where, chosen.slug, args.out)
    with tempfile.TemporaryDirectory(prefix="force-table-") as tmp:
        work = Path(tmp)
        _, headline = tables.write_tables(
            args.source,
            store=args.store,
            out=work / "tables",  # laid out as an output folder, which site.force_csvs reads
            offence=args.offence,
            year=args.year,
            method=args.interval,
            force=chosen.name,
        )
        made = site.force_csvs(work)
        if chosen.name not in made:
            raise InputError(f"--force {chosen.name}: the store holds no rows for it; nothing was written.")

        def install() -> None:
            atomic_write(target, lambda part: part.write_bytes(made[chosen.name].read_bytes()))

        if args.out:  # a folder of the user's choosing: no lock, no record
            install()
        else:
            # the run's lock, so that a run never swaps its site in while this is written; the
            # manifest (a site file) is left alone, unless there is none yet: the record keeps
            # an unpublished folder the package's, so a later run or `tables` may use it
            with _adhoc_lock(where.outputs, where.store, "tables"):
                fresh = not output_catalogue.MANIFEST.path(where.outputs).exists()
                install()
                if fresh:
                    manifest.record_adhoc(where.outputs, [target])
    print(f"wrote {target}")
    if headline:
        print(headline)
    return 0


def _cmd_analyse(args: argparse.Namespace) -> int:
    from analysis.reports.analyse import write_analysis
    from analysis.runs import manifest
    from analysis.sources.store import load_store

    where = paths.for_source(args.source, args.store, args.out, offence=args.offence)
    st = load_store(where.store)
    out = where.outputs
    with _adhoc_lock(out, where.store, "analyse"):
        written = write_analysis(
            st,
            out,
            offence=args.offence,
            year=args.year,
            bootstrap_reps=args.bootstrap_reps,
            permutation_reps=args.permutations,
            figures=not args.no_figures,
            comparison=args.comparison,
        )
        manifest.record_adhoc(out, written)
    print(f"wrote {len(written)} files under {out}" + (" (GENERATED DEMO DATA)" if st.synthetic else ""))
    _adhoc_note(out)
    return 0


def _cmd_changes(args: argparse.Namespace) -> int:
    from analysis.runs import manifest
    from analysis.runs.lock import store_lock
    from analysis.sources import store
    from analysis.stats import editions

    where = paths.for_source(args.source, args.store, offence=args.offence)
    names = [forces.resolve(n, context="--forces").name for n in args.forces] if args.forces else None
    with store_lock(where.store, shared=True, what="'changes'"):
        old_edition, new_edition = _editions_compared(where.store, args.since)
        old = store.load_edition(where.store, old_edition)
        new = store.load_edition(where.store, new_edition)
    table = editions.changes(old, new, forces=names, offence=args.offence)
    standing = editions.positions(old, new, offence=args.offence)
    if names is not None:
        standing = standing[standing["force"].isin(names)]
    written = ((output_catalogue.CHANGES, table), (output_catalogue.POSITION_CHANGES, standing))
    if args.out:  # a folder of the user's choosing, not a run's: no lock on a site, no record
        paths_written = [o.save_into(args.out, t) for o, t in written]
    else:
        with _adhoc_lock(where.outputs, where.store, "changes"):
            paths_written = [o.save(where.outputs, t) for o, t in written]
            manifest.record_adhoc(where.outputs, paths_written)
    print(editions.summary_text(table, old_edition, new_edition, synthetic=new.synthetic))
    print(editions.standing_text(standing))
    for p in paths_written:
        print(f"wrote {p}")
    return 0


def _editions_compared(store_dir: Path, since: str | None) -> tuple[str, str]:
    """(old, new): the edition `--since` names (default: the one before the latest) and the
    store's latest; InputError when the store holds fewer than two editions or `since` is not
    an earlier one it holds."""
    from analysis.sources import store

    held = store.editions(store_dir)
    if len(held) < 2:
        raise InputError(
            f"store {store_dir} holds "
            + (f"one data edition ({held[0]})" if held else "no data edition")
            + ": 'changes' compares two. Ingest another edition of the source into the same store "
            "first ('stalking-outcomes ingest --source FOLDER --store STORE' for each quarter's "
            "files; for the demo, 'stalking-outcomes demo-data --editions 2' writes two)."
        )
    if since is None:
        return held[-2], held[-1]
    if since not in held[:-1]:
        what = "is the latest edition" if since == held[-1] else "is not an edition the store holds"
        raise InputError(
            f"--since {since} {what}: give an earlier edition the store {store_dir} holds "
            f"({', '.join(held[:-1])}); the latest, {held[-1]}, is compared with it."
        )
    return since, held[-1]


def _cmd_validate_methods(args: argparse.Namespace) -> int:
    import pandas as pd

    from analysis.stats.method_study import summary_text, validate_methods

    args.out.mkdir(parents=True, exist_ok=True)  # a bad --out is said before the study, not after
    chosen = args.scenario or ["baseline"]
    names = scenarios.names() if "all" in chosen else list(dict.fromkeys(chosen))
    for name in names:
        scenarios.overlay(name)  # an unknown name stops here, before any work
    tables, records = [], []
    for name in names:
        table, recs = validate_methods(
            args.reps,
            args.config,
            args.seed,
            jobs=args.jobs,
            progress=sys.stderr.isatty(),
            scenario=name,
            executor=args.executor,
            scheduler=args.scheduler,
            battery=args.battery,
            overrides={"recorded_basis_as_at": args.recorded_basis} if args.recorded_basis else None,
            comparison=args.comparison,
        )
        print(f"scenario {name}:\n{summary_text(table)}\n")
        tables.append(table)
        records.append(recs)
    args.out.mkdir(parents=True, exist_ok=True)
    table = output_catalogue.VALIDATION.save(args.out, pd.concat(tables, ignore_index=True))
    output_catalogue.VALIDATION_REPLICATES.save(args.out, pd.concat(records, ignore_index=True))
    # the command that made the tables, beside them (docs/validation/ keeps it with the copies)
    output_catalogue.VALIDATION_COMMAND.save(
        args.out,
        f"stalking-outcomes {shlex.join(sys.argv[1:])}\n"
        f"stalking-outcomes {__version__}; seeds {args.seed}-{args.seed + args.reps - 1}; "
        f"scenarios: {', '.join(names)}; battery: {args.battery}\n",
    )
    print(f"wrote {table} (GENERATED DATA, {args.reps} replicates, scenarios: {', '.join(names)})")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from analysis.runs import manifest, runner

    names = None if args.forces == ["all"] else args.forces
    record = runner.run(
        args.source,
        names,
        offence=args.offence,
        jobs=args.jobs,
        executor=args.executor,
        scheduler=args.scheduler,
        out=args.out,
        rerun=args.rerun,
        timeout=args.timeout,
        progress=sys.stderr.isatty(),
    )
    print(manifest.summary_text(record))
    print(
        f"Site: {output_catalogue.INDEX.path(paths.for_source(args.source, out=args.out, offence=args.offence).outputs)}"
    )
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from analysis.sources import fetch

    if args.check:
        if args.update:
            raise InputError("--check and --update do not go together: --check downloads nothing.")
        results = fetch.check(args.raw, years=args.years, registry=args.registry)
        bad = [r for r in results if r.status in ("changed", "failed", "missing")]
        verdict = "changed upstream, are missing or could not be checked"
    else:
        results = fetch.fetch(
            args.raw,
            years=args.years,
            update=args.update,
            registry=args.registry,
            progress=sys.stderr.isatty(),
            retries=args.retries,
        )
        bad = [r for r in results if r.status in ("failed", "refused")]
        verdict = "were not fetched (see above)"
    for r in results:
        print(f"{r.status:>10}  {r.message}")
    if bad:
        raise WorkFailed(f"{len(bad)} of {len(results)} files {verdict}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to check that the README's commands exist)."""
    p = argparse.ArgumentParser(
        prog="stalking-outcomes",
        description="How police forces in England and Wales deal with stalking: read the Home "
        "Office outcomes open data (or generated demo data) and analyse it.",
        epilog=EPILOG,
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser(
        "forces", help="list valid force names, ONS codes and slugs, or look one up", epilog=EPILOG
    )
    s.add_argument("name", nargs="*", help="a force name, alias, slug or code to look up")
    s.set_defaults(func=_cmd_forces)

    s = sub.add_parser("fetch", help="download the GOV.UK files into data/raw (hash-checked)", epilog=EPILOG)
    s.add_argument("--years", nargs="+", metavar="YYYY/YY", help="outcomes years to fetch (default: all)")
    s.add_argument(
        "--update",
        action="store_true",
        help="accept upstream files whose bytes changed, recording the new hash and date",
    )
    s.add_argument("--raw", type=Path, default=paths.RAW, help=f"cache folder (default: {paths.RAW})")
    s.add_argument("--registry", type=Path, help="a registry TOML to use instead of the packaged one")
    s.add_argument(
        "--retries", type=RETRIES, default=3, help="retries per file after a failed download (default: 3)"
    )
    s.add_argument(
        "--check",
        action="store_true",
        help="download nothing: ask the server whether each cached file changed upstream (ETag, "
        "Last-Modified, length); exit 1 if any changed or could not be checked",
    )
    s.set_defaults(func=_cmd_fetch)

    s = sub.add_parser(
        "demo-data", help="write generated demo files in the published layout, plus truth.json", epilog=EPILOG
    )
    s.add_argument("--out", type=Path, default=paths.DEMO, help=f"folder (default: {paths.DEMO})")
    s.add_argument("--seed", type=int, help="random seed (default: the config's)")
    s.add_argument("--config", type=Path, help="TOML file overriding any true parameter, e.g. link_slope = 0")
    s.add_argument(
        "--editions",
        type=_bounded_int(1, f"use 1 to {MAX_EDITIONS}", MAX_EDITIONS),
        default=1,
        metavar="N",
        help="successive data editions of the same years to write, a quarter apart, with outcomes "
        "maturing between them and a few planted revisions (truth.json 'editions'): each a "
        "complete source folder, OUT/editions/1 ... OUT/editions/N, and the latest also in OUT "
        f"(default: 1, just the files in OUT; at most {MAX_EDITIONS})",
    )
    s.set_defaults(func=_cmd_demo_data)

    s = sub.add_parser("ingest", help="read the files of a source into the parquet store", epilog=EPILOG)
    s.add_argument("--source", default=paths.DEFAULT_SOURCE, help=paths.SOURCE_HELP)
    s.add_argument("--store", type=Path, help=f"store folder (default: {paths.PROCESSED}/<name>)")
    s.add_argument(
        "--offences",
        default=",".join(taxonomy.DEFAULT_OFFENCES),
        help=f"comma-separated offence codes to keep, or 'all' (default: {','.join(taxonomy.DEFAULT_OFFENCES)})",
    )
    s.add_argument(
        "--accept-outliers",
        action="store_true",
        help="store counts far outside a force's history and other forces' values instead of "
        "refusing them; they are listed in quality.json and on every page",
    )
    s.add_argument(
        "--jobs",
        type=COUNT,
        help="files read at once, in separate processes (default: number of cores); each holds one "
        "whole sheet while it reads, up to about 0.8 GB for a full-size year (benchmarks/ingest.py)",
    )
    s.add_argument(
        "--edition",
        type=_edition_date,
        metavar="YYYY-MM-DD",
        help="the files' publication date (default: the newest -DDMMYY suffix in their names); each "
        f"dated edition is kept, in {paths.PROCESSED}/<name>{paths.EDITIONS_SUFFIX}/<date>/, and the "
        "newest is the store every command reads. Files with no date and none given are ingested "
        "as 'undated' and not kept as an edition (refused if the store holds editions)",
    )
    s.add_argument(
        "--allow-older-edition",
        action="store_true",
        help="keep an edition older than the newest the store holds (refused otherwise) among its "
        "editions; the latest stays the one commands read",
    )
    s.set_defaults(func=_cmd_ingest)

    s = sub.add_parser(
        "tables",
        help="write the force-year, England and Wales, headline and other first tables into tables/; "
        "with --force, only that force's CSV",
        epilog=EPILOG,
    )
    s.add_argument("--source", default=paths.DEFAULT_SOURCE, help=paths.SOURCE_HELP)
    s.add_argument("--store", type=Path, help=f"store folder (default: {paths.PROCESSED}/<name>)")
    s.add_argument("--out", type=Path, help=f"output folder (default: {paths.OUTPUTS}/<name>/tables)")
    s.add_argument("--offence", default=taxonomy.STALKING, help="offence code (default: 8Q stalking)")
    s.add_argument("--year", help="headline year YYYY/YY (default: latest with most forces)")
    s.add_argument(
        "--interval",
        default="wilson",
        choices=["wilson", "jeffreys", "clopper-pearson"],
        help="interval method (default: wilson)",
    )
    s.add_argument(
        "--force",
        help="write only this force's CSV (its rows of the figures to quote and the rise in recording, with a 'table' column) into "
        f"--out as <slug>.csv, or by default as {paths.OUTPUTS}/<name>/tables/forces/<slug>.csv, "
        "never over a site file; print its path and headline",
    )
    s.set_defaults(func=_cmd_tables)

    s = sub.add_parser(
        "analyse",
        help="fit the national models: funnels, shrinkage, link models, "
        "decomposition; write tables/ and figures/",
        epilog=EPILOG,
    )
    s.add_argument("--source", default=paths.DEFAULT_SOURCE, help=paths.SOURCE_HELP)
    s.add_argument("--store", type=Path, help=f"store folder (default: {paths.PROCESSED}/<name>)")
    s.add_argument("--out", type=Path, help=f"output folder (default: {paths.OUTPUTS}/<name>)")
    s.add_argument("--offence", default=taxonomy.STALKING, help="offence code (default: 8Q)")
    s.add_argument("--year", help="year for shrinkage and the headline funnel figure (default: latest)")
    s.add_argument(
        "--bootstrap-reps", type=COUNT, default=999, help="wild cluster bootstrap replications (default: 999)"
    )
    s.add_argument(
        "--permutations", type=COUNT, default=199, help="permutation test replications (default: 199)"
    )
    s.add_argument("--no-figures", action="store_true", help="write tables only")
    s.add_argument(
        "--comparison",
        type=_comparison,
        help="the link models' comparison set: comma-separated offence codes whose counts the negative "
        f"control and triple difference pool (default, fixed in advance: {','.join(taxonomy.COMPARISON_OFFENCES)}, "
        "less the offence analysed; see docs/methods.md); those the store holds are used (ingest --offences)",
    )
    s.set_defaults(func=_cmd_analyse)

    s = sub.add_parser(
        "run", help="national notebooks once, then one report per force; HTML, manifest, index", epilog=EPILOG
    )
    s.add_argument("--source", default=paths.DEFAULT_SOURCE, help=paths.SOURCE_HELP)
    s.add_argument(
        "--forces",
        nargs="+",
        default=["all"],
        metavar="NAME",
        help="'all' (default) or force names, aliases, slugs or codes",
    )
    s.add_argument("--offence", default=taxonomy.STALKING, help="offence code (default: 8Q)")
    s.add_argument("--jobs", type=COUNT, help="parallel notebooks (default: number of cores)")
    s.add_argument(
        "--executor",
        default="local",
        choices=["local", "dask"],
        help="local process pool or dask.distributed",
    )
    s.add_argument("--scheduler", help="dask scheduler address (default: a LocalCluster)")
    s.add_argument("--out", type=Path, help=f"output folder (default: {paths.OUTPUTS}/<name>)")
    s.add_argument(
        "--rerun",
        action="store_true",
        help=(
            "execute the reports even if unchanged; with --forces, those forces' reports only (the "
            "national models and notebooks are redone only if their inputs changed)"
        ),
    )
    s.add_argument("--timeout", type=SECONDS, default=600, help="per-cell timeout in seconds (default: 600)")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser(
        "changes",
        help="what moved between two data editions of a source's store: revisions, outcomes "
        "maturing, quarters added, funnel positions and rank intervals; print a summary, write "
        f"{output_catalogue.CHANGES.pattern} and {output_catalogue.POSITION_CHANGES.pattern}",
        epilog=EPILOG,
    )
    s.add_argument("--source", default=paths.DEFAULT_SOURCE, help=paths.SOURCE_HELP)
    s.add_argument("--store", type=Path, help=f"store folder (default: {paths.PROCESSED}/<name>)")
    s.add_argument(
        "--out",
        type=Path,
        help=f"folder to write the tables into (default: {paths.OUTPUTS}/<name>/"
        f"{output_catalogue.CHANGES.pattern.rsplit('/', 1)[0]})",
    )
    s.add_argument(
        "--since",
        type=_edition_date,
        metavar="EDITION",
        help="the earlier edition, YYYY-MM-DD, compared with the latest (default: the edition before "
        "the latest)",
    )
    s.add_argument(
        "--forces",
        nargs="+",
        metavar="NAME",
        help="only these forces (names, aliases, slugs or codes), with England and Wales (default: all)",
    )
    s.add_argument("--offence", default=taxonomy.STALKING, help="offence code (default: 8Q stalking)")
    s.set_defaults(func=_cmd_changes)

    s = sub.add_parser(
        "validate-methods", help="simulation study on generated data with known truth", epilog=EPILOG
    )
    s.add_argument(
        "--reps",
        type=COUNT,
        default=500,
        help="replicates (default: 500, enough to know a 5%% rejection rate within about 1 point)",
    )
    s.add_argument("--config", type=Path, help="TOML overriding any true parameter, e.g. link_slope = 0")
    s.add_argument("--seed", type=int, default=1000, help="seed of the first replicate (default: 1000)")
    s.add_argument(
        "--out", type=Path, default=paths.METHOD_STUDY, help=f"folder (default: {paths.METHOD_STUDY})"
    )
    s.add_argument("--jobs", type=COUNT, help="worker processes (default: number of cores)")
    s.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="a named scenario that breaks one of the generator's assumptions (repeatable, or "
        f"'all'; default: baseline; --config overrides any of its values): {', '.join(scenarios.names())}",
    )
    s.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where replicates run: a local process pool, or dask.distributed (default: local)",
    )
    s.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: a running cluster (default: a LocalCluster)",
    )
    s.add_argument(
        "--battery",
        choices=BATTERIES,
        default="full",
        help="what each replicate runs: every estimator, funnel and shrinkage check; the primary "
        "link estimator alone (about a third of the cost, for the thousands of replicates its "
        "targets need); the headline the pages print with its diagnostics and the 2018 "
        "replication; or the nowcast of recent years' final charge rates, from three editions a "
        "quarter apart and from the latest alone (default: full)",
    )
    s.add_argument(
        "--recorded-basis",
        choices=AS_AT,
        help="link batteries: when the generated recorded basis is counted, and so what the link "
        "panel assumes: 'year' (each year a quarter after its own end, as the committed link "
        "tables were made; the default) or 'edition' (every year to one date, as a Home Office "
        "republication counts it)",
    )
    s.add_argument(
        "--comparison",
        type=_comparison,
        help="link batteries: the negative control's comparison set, comma-separated codes of "
        f"offences the generator makes besides stalking ({taxonomy.HARASSMENT}, {', '.join(taxonomy.COMPARISON_OFFENCES)}; "
        f"default: {','.join(taxonomy.COMPARISON_OFFENCES)}; the tables committed before the set "
        "was chosen used 46 alone)",
    )
    s.set_defaults(func=_cmd_validate_methods)
    for command in sub.choices.values():
        # also after the command, where the error messages' advice puts it; SUPPRESS keeps a
        # --debug given before the command from being reset by the subcommand's default
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
        )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (InputError, WorkFailed) as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as exc:
        if args.debug or exc.errno not in _ENVIRONMENT_ERRORS:
            raise
        from analysis.errors import PATH_OPTIONS, os_error_facts

        code, facts = os_error_facts(exc, {k: getattr(args, k, None) for k in PATH_OPTIONS})
        print(f"error: {_ENVIRONMENT_ERRORS[code].format(**facts)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: reports already in place were left as they were; the next run checks "
            "every published file against its record and rebuilds whatever changed.",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:  # a bug: say so plainly, traceback only with --debug
        if args.debug:
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc}\nRerun with --debug for the "
            "traceback, and please report it.",
            file=sys.stderr,
        )
        return 1
