"""Runs of the notebooks: national notebooks once, then one report per force.

Each notebook is executed by papermill (in the worker's warm kernel, see analysis.kernel) into a
staging folder, converted to HTML (with code, and without for readers who do not want it), then
moved into place file by file with atomic renames, so an interrupted run leaves the previous
outputs as they were. A failed notebook is kept under failed/ with its error and cell; the other
forces go on. A run key (template, code, lock file, parameters, input hashes) lets an unchanged
report be skipped unless --rerun. A lock on the output folder stops two runs writing into it at
once.

`run` is the sequence: plan the jobs, refit the national models if their inputs changed
(`national_stale`, `fit_national`), set aside unchanged reports (`split_unchanged`), execute and
install the rest (`execute_all`), and record the run (analysis.runs.manifest).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import posixpath
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis import outputs, paths, workers
from analysis.domain import forces, taxonomy
from analysis.errors import InputError, WorkFailed
from analysis.paths import NOTEBOOKS
from analysis.reports import provenance
from analysis.runs import lock, manifest, params, publish, timing
from analysis.runs.jobs import Job, JobResult

if TYPE_CHECKING:
    from analysis.sources.store import Store

KERNEL = "python3"
_PAGE_DIR = ("reports", "templates", "page")  # in the package: the report pages' templates
PAGE_TEMPLATES = Path(__file__).resolve().parents[1].joinpath(*_PAGE_DIR)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_hash() -> str:
    """sha256 over the package's files: its code, data and the site's templates (so any change
    to them re-runs every report); the report pages' templates are page_hash's."""
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parents[1]
    for p in sorted(pkg.rglob("*")):
        rel = p.relative_to(pkg)
        if (
            p.is_file()
            and "__pycache__" not in rel.parts
            and p.suffix != ".pyc"
            and rel.parts[:3] != _PAGE_DIR
        ):
            h.update(rel.as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def page_hash() -> str:
    """sha256 over the report pages' templates: a change re-exports every page from its
    executed notebook, and executes no notebook."""
    h = hashlib.sha256()
    for p in sorted(PAGE_TEMPLATES.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(PAGE_TEMPLATES).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def lock_hash(root: Path) -> str:
    """sha256 of requirements.lock ('' if absent)."""
    p = root / "requirements.lock"
    return _sha(p.read_bytes()) if p.exists() else ""


def run_key(job: Job, root: Path, code: str, lock: str, inputs: dict[str, str]) -> str:
    """A hash of everything that determines a notebook's output."""
    template = (root / NOTEBOOKS / f"{job.template}.ipynb").read_bytes()
    blob = json.dumps(
        {
            "template": _sha(template),
            "code": code,
            "lock": lock,
            "parameters": job.parameters,
            "inputs": inputs,
        },
        sort_keys=True,
    )
    return _sha(blob.encode())


def plan(source: str, names: Iterable[str] | None, offence: str) -> list[Job]:
    """The national notebooks, then one force report per force (all 44 unless named)."""
    jobs = [
        Job(
            outputs.national_report(t),
            t,
            params.check(
                t,
                {"source": source, "offence": offence}
                if t != "method_validation"
                # the committed study tables (docs/validation/); the study itself is `make validate`
                else {},
            ),
        )
        for t in params.NATIONAL
    ]
    chosen = forces.registry() if not names else [forces.resolve(n, context="--forces") for n in names]
    for f in chosen:
        p = params.check("force_report", {"force": f.name, "offence": offence, "source": source})
        jobs.append(Job(outputs.force_report(f.slug), "force_report", p))
    return jobs


def _is_kernel_start_failure(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}".lower()
    return any(
        s in text
        for s in (
            "kernel died",
            "kernel didn't respond",
            "kernel_info",
            "timed out waiting for kernel",
            "failed to start the kernel",
        )
    )


def execute(
    job: Job, root: str, staging: str, timeout: int, read_from: str = "", retries: int = 2
) -> JobResult:
    """Execute one notebook into `staging`, export HTML, and return what happened.

    Runs in a worker process (or on a dask worker), in that process's warm kernel (see
    analysis.kernel). The notebook reads its tables from `read_from` (the run's output folder;
    empty: the source's default). Retries only when the kernel fails to start.
    """
    import nbformat
    import papermill as pm

    from analysis.runs import kernel

    root_p, stage = Path(root), Path(staging)
    files = {o: stage / rel for o, rel in outputs.report_files(job.name).items()}
    out_nb = files[outputs.REPORT_NOTEBOOK]
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            warm = kernel.acquire(KERNEL, str(root_p), code_hash(), read_from)
            nb = pm.execute_notebook(
                str(root_p / NOTEBOOKS / f"{job.template}.ipynb"),
                str(out_nb),
                parameters=job.parameters,
                kernel_name=KERNEL,
                engine_name=kernel.ENGINE,
                warm_kernel=warm,
                execution_timeout=timeout,
                progress_bar=False,
                log_output=False,
                report_mode=False,
                # written once when done (and on an error), not before and after every cell:
                # rewriting a notebook full of figures 60 times cost more than some reports
                request_save_on_cell_execute=False,
            )
            break
        except pm.PapermillExecutionError as exc:
            kernel.discard()  # the next notebook gets a kernel this one has not touched
            return _failed(job, start, f"{exc.ename}: {exc.evalue}", exc.exec_count, attempt)
        except Exception as exc:  # kernel start failures are retried; anything else fails the job
            kernel.discard()
            if attempt <= retries and _is_kernel_start_failure(exc):
                time.sleep(1)
                continue
            return _failed(job, start, f"{type(exc).__name__}: {exc}", None, attempt)
    _strip_volatile(nb)
    exported = time.perf_counter()
    try:
        save_figures(nb, stage, job.name)
        _drop_figure_data(nb)
        nbformat.write(nb, out_nb)
        _export_pages(nb, job, files)
    except OSError as exc:  # a full disk or an unwritable folder fails this report alone
        error = f"could not write its outputs: {exc.strerror or exc} ({exc.filename or staging})"
        return _failed(job, start, error, None, attempt)
    done = time.perf_counter()
    return JobResult(
        job.name,
        "ok",
        job.key,
        done - start,
        attempts=attempt,
        parameters=job.parameters,
        export_seconds=done - exported,
    )


def _failed(job: Job, start: float, error: str, cell: int | None, attempt: int) -> JobResult:
    """A failed notebook's result: its error, the cell it stopped at, and its time so far."""
    return JobResult(
        job.name, "failed", job.key, time.perf_counter() - start, error, cell, attempt, job.parameters
    )


def page_resources(job: Job) -> dict:
    """What the page template is given besides the notebook: its title, the links from the
    report's folder back to the site's index and methods pages, and (`page`) the site's shared
    stylesheet and `figure_href`, which names the file a figure output shows, if any."""
    from analysis.reports.site import page_title

    up = "../" * job.name.count("/")
    return {
        "metadata": {"name": page_title(job.template, job.parameters)},
        "site": {"index": up + outputs.INDEX.relpath(), "methods": up + outputs.METHODS.relpath()},
        "page": {
            "stylesheet": up + outputs.STYLESHEET.relpath(),
            "figure_href": functools.partial(figure_href, job.name),
        },
        "provenance": _provenance_html(
            job.parameters.get("source", ""), job.parameters.get("offence", ""), str(Path.cwd())
        ),
    }


@functools.cache  # one git call and one quality.json read per source and folder, not per page
def _provenance_html(source: str, offence: str, cwd: str) -> str:
    """The provenance footer of a source's pages (analysis.reports.provenance), for a run from
    folder `cwd`; the method study's page, which reads committed tables, has no store."""
    if not source:
        return provenance.of_store(None, cwd).html()
    store = paths.for_source(source, base=Path(cwd), offence=offence or taxonomy.STALKING).store
    return provenance.of_store(store, cwd).html()


def figure_href(report: str, meta: Mapping[str, Any]) -> str:
    """The link, from a report's page, to the site's file of the figure a PNG output shows (its
    metadata `meta`), or '' if it has none: a figure the run saves for the report (save_figures),
    or a national figure shown from its file (plots.shown_file). The page then points at the
    file, which the site holds anyway, instead of carrying the image a second time."""
    from analysis.reports.plots import FIGURE_FILE, FIGURE_NAME

    if meta.get(FIGURE_NAME):
        rel = outputs.REPORT_FIGURE.relpath(report=report, figure=str(meta[FIGURE_NAME]))
    else:
        rel = str(meta.get(FIGURE_FILE) or "")
        entry = outputs.describe(rel) if rel.endswith(".png") else None
        if entry is None or entry.kind != "figure":  # only a figure the catalogue knows
            return ""
    return posixpath.relpath(rel, posixpath.dirname(report))


_EXPORTERS = threading.local()
# Made once per run into the site (write_stylesheet), not into every page: JupyterLab's styles,
# its light theme, the lab template's own few rules (kept in the page templates) and the code
# highlighting, which nbconvert would inline into each page (a quarter of a megabyte each).
_STYLESHEET_PARTS = ("static/index.css", "static/theme-light.css", "lab-extras.css")


def _html_exporter(with_code: bool):
    """The package's HTML exporter (template analysis/reports/templates/page, which extends
    JupyterLab's), kept per thread (setting one up costs more than using it). The template's
    default parameters cell is dropped: papermill's injected cell shows the values used. The
    code highlighting's styles are in the shared stylesheet, so nbconvert does not inline them."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    from analysis.reports.site import TEMPLATES

    cache: dict[bool, Any] = _EXPORTERS.__dict__.setdefault("exporters", {})
    if with_code not in cache:
        hide = (
            {}
            if with_code
            else dict(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        )
        exporter = HTMLExporter(
            template_name="page",
            extra_template_basedirs=[str(TEMPLATES)],
            config=Config({"CSSHTMLHeaderPreprocessor": {"enabled": False}}),
            **hide,
        )
        exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"parameters"}), enabled=True)
        cache[with_code] = exporter
    return cache[with_code]


def stylesheet_header() -> str:
    """The stylesheet's first line: a hash of what makes it (the page templates, and the
    nbconvert and pygments installed), so that a run can tell an up-to-date one without
    importing nbconvert to make it again."""
    from importlib.metadata import version

    made_by = f"{page_hash()} nbconvert {version('nbconvert')} pygments {version('pygments')}"
    return f"/* stalking-outcomes page styles {_sha(made_by.encode())[:16]} */\n"


def stylesheet() -> str:
    """The report pages' shared stylesheet: the parts nbconvert's lab template would inline in
    every page, and the code highlighting's rules (pygments, in nbconvert's default style)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from pygments.formatters import HtmlFormatter

    env = _html_exporter(True).environment
    parts = [env.loader.get_source(env, name)[0] for name in _STYLESHEET_PARTS]
    highlight = CSSHTMLHeaderPreprocessor()
    parts.append(HtmlFormatter(style=highlight.style).get_style_defs(highlight.highlight_class))
    return stylesheet_header() + "\n".join(part.rstrip("\n") + "\n" for part in parts)


def write_stylesheet(out: Path, previous: Path | None = None) -> Path:
    """Write the shared stylesheet into the site `out` (atomically, and only if it changed: the
    same nbconvert and templates give the same bytes). One in the `previous` site made by the
    same templates and packages (its header says) is linked in as it is."""
    path = outputs.STYLESHEET.path(out)
    if previous is not None and not path.exists():
        old = outputs.STYLESHEET.path(previous)
        if old.is_file():
            with old.open(encoding="utf-8") as f:
                if f.readline() == stylesheet_header():
                    publish.carry(previous, out, [outputs.STYLESHEET.relpath()])
                    return path
    css = stylesheet()
    if not (path.is_file() and path.read_text(encoding="utf-8") == css):
        outputs.STYLESHEET.save(out, css)
    return path


_PAGES = (outputs.REPORT_PAGE, outputs.REPORT_PAGE_NOCODE)


def _export_pages(nb, job: Job, files: dict) -> None:
    """Write a notebook's two pages (with and without code) to `files`' paths. They link to the
    shared stylesheet, which the run writes once into the site (write_stylesheet)."""
    page = page_resources(job)
    for o, with_code in ((outputs.REPORT_PAGE, True), (outputs.REPORT_PAGE_NOCODE, False)):
        body, _ = _html_exporter(with_code).from_notebook_node(nb, resources=page)
        files[o].write_text(body, encoding="utf-8")


def _reexport(result: JobResult, out: Path) -> None:
    """Make an unchanged report's pages again from its executed notebook (already in `out`)
    after a change to the page templates, and record their new hashes."""
    import nbformat

    files = {o: out / rel for o, rel in outputs.report_files(result.name).items()}
    nb = nbformat.read(files[outputs.REPORT_NOTEBOOK], as_version=4)
    template = "force_report" if result.name.startswith("forces/") else result.name.split("/", 1)[1]
    _export_pages(nb, Job(result.name, template, result.parameters), files)
    result.files = file_hashes(out, result.name)


def _strip_volatile(nb) -> None:
    """Remove timings and absolute paths papermill records, and merge consecutive stream outputs
    (how a kernel splits printed text into messages depends on timing), so outputs are
    reproducible."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    CoalesceStreamsPreprocessor().preprocess(nb, {})
    pm_meta = nb.metadata.get("papermill", {})
    for k in ("start_time", "end_time", "duration", "input_path", "output_path", "environment_variables"):
        pm_meta.pop(k, None)
    for cell in nb.cells:
        cell.metadata.get("papermill", {}).clear()
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill gives it a random id


def save_figures(nb, out: Path, report: str) -> list[str]:
    """Save the named figures a notebook shows (plots.Shown with a name) as report figure files
    under `out` (outputs.REPORT_FIGURE), the very image the report shows, each with the numbers
    it draws beside it (outputs.REPORT_FIGURE_DATA) and their alt text
    (outputs.REPORT_FIGURE_ALT); return the figures' file names. The run saves them, not the
    notebook, so they go through staging to `run --out`."""
    import base64

    from analysis.reports.plots import FIGURE_NAME

    alts = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("image/png", {})
            if FIGURE_NAME in meta and "image/png" in output.get("data", {}):
                path = outputs.REPORT_FIGURE.path(out, report=report, figure=meta[FIGURE_NAME])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(base64.b64decode(output["data"]["image/png"]))
                alts[path.name] = meta.get("alt", "")
                _save_figure_data(meta, out, report)
    if alts:
        path = outputs.REPORT_FIGURE_ALT.path(out, report=report)
        path.write_text(
            json.dumps(alts, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return sorted(alts)


def _drop_figure_data(nb) -> None:
    """Remove the numbers each figure carried to save_figures from the notebook kept in the site:
    they are in the CSV beside the figure, and a second copy in every notebook weighed 3 MB."""
    from analysis.reports.plots import FIGURE_DATA

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            output.get("metadata", {}).get("image/png", {}).pop(FIGURE_DATA, None)


def _save_figure_data(meta: dict, out: Path, report: str) -> Path | None:
    """Write the numbers a named figure draws (the CSV text its output carries in its metadata,
    plots.FIGURE_DATA) beside its PNG, byte for byte as the notebook made them; None if it
    carries none."""
    from analysis.reports.plots import FIGURE_DATA, FIGURE_NAME

    if FIGURE_DATA not in meta:
        return None
    path = outputs.REPORT_FIGURE_DATA.path(out, report=report, figure=meta[FIGURE_NAME])
    path.write_bytes(str(meta[FIGURE_DATA]).encode("utf-8"))
    return path


def _install(result: JobResult, stage: Path, out: Path) -> None:
    """Move a finished job's files into place (each rename atomic), its figure folder replacing
    the old one file by file; failed ones go to failed/."""
    files = outputs.report_files(result.name)
    src = stage / files[outputs.REPORT_NOTEBOOK]
    failed = outputs.FAILED_NOTEBOOK.path(out, stem=Path(result.name).name)
    if result.status == "ok":
        for rel in files.values():
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, dest)
        _install_figures(_figure_folder(stage, result.name), _figure_folder(out, result.name))
        failed.unlink(missing_ok=True)
    elif src.exists():
        failed.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, failed)


def _figure_folder(out: Path, report: str) -> Path:
    """The folder a report's saved figures go in."""
    return outputs.REPORT_FIGURE_ALT.path(out, report=report).parent


def _install_figures(staged: Path, dest: Path) -> None:
    """Move a report's staged figures into `dest`, removing figures it no longer shows."""
    new = {p.name for p in staged.glob("*") if p.is_file()}
    if new:
        dest.mkdir(parents=True, exist_ok=True)
    for name in sorted(new):
        os.replace(staged / name, dest / name)
    if dest.is_dir():
        for p in sorted(dest.glob("*")):
            if p.is_file() and p.name not in new:
                p.unlink()
        if not any(dest.iterdir()):
            dest.rmdir()


def _executor_map(
    executor: str, jobs: int, scheduler: str | None, work: list[Job], root: Path, stage: Path, timeout: int
) -> Iterator[JobResult]:
    """Yield JobResults as jobs finish, on a local process pool or a dask cluster."""
    args = (str(root), str(stage), timeout, str(stage.parent.resolve()))  # stage is in the output folder
    if executor == "dask":
        yield from workers.dask_map(execute, work, jobs, scheduler, args=args, in_order=False)
        return
    if jobs <= 1:
        from analysis.runs import kernel

        try:
            for j in work:
                yield execute(j, *args)
        finally:
            kernel.discard()
        return
    rounds = workers.as_completed_in_rounds(execute, work, jobs, POOL_ROUNDS, args=args, setup=_worker_init)
    # closed whatever happens here: Ctrl-C or kill stops the pool's workers at once (their
    # kernels exit with them); nothing they were writing has been moved into place
    with closing(rounds):
        for job, fut in rounds:
            yield _died_twice(job) if workers.died(fut) else fut.result()


POOL_ROUNDS = 2  # a worker that dies (killed, out of memory) costs its jobs one more try


def _died_twice(job: Job) -> JobResult:
    """A job whose worker died in every round: it fails alone; the finished ones and the run go on."""
    return JobResult(
        job.name,
        "failed",
        job.key,
        error="its worker process died (killed, or out of memory) twice",
        attempts=POOL_ROUNDS,
        parameters=job.parameters,
    )


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (what kill, systemd and CI cancellation send) stops a run as Ctrl-C does: the
    workers are terminated and nothing half-written is installed. Main thread only."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _worker_init() -> None:
    """A notebook worker's own setup (after workers' common one: Ctrl-C left to the parent, one
    BLAS thread): SIGTERM kills its kernel and ends it, it dies with its parent, holds none of
    the parent's locks, and shuts its warm kernel down when it ends."""
    import signal

    from analysis.runs import kernel

    signal.signal(signal.SIGTERM, _worker_stop)
    lock.forget_inherited()
    _die_with_parent()
    workers.on_exit(kernel.discard)


def _worker_stop(signum: int, frame: object) -> None:
    """SIGTERM in a worker (the parent stopping, or dying): kill the kernel, end at once."""
    from analysis.runs import kernel

    kernel.kill()
    os._exit(128 + signum)


def _die_with_parent() -> None:
    """Ask Linux to send this worker SIGTERM when its parent dies, even by SIGKILL (prctl
    PR_SET_PDEATHSIG); a parent already gone ends the worker now. Elsewhere the workers' kernels
    still notice their parent's death through ipykernel's parent poller."""
    import ctypes
    import signal

    parent = os.getppid()
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:
        _worker_stop(signal.SIGTERM, None)


def run(
    source: str = paths.DEFAULT_SOURCE,
    names: list[str] | None = None,
    offence: str = taxonomy.STALKING,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    out: Path | None = None,
    rerun: bool = False,
    timeout: int = 600,
    progress: bool = False,
) -> dict:
    """Run the national analysis (if its inputs or its published tables changed) and the
    notebooks; write the manifest, the run summary and the index, also when some notebooks
    failed. Raises WorkFailed (exit 1) if any notebook failed."""
    from analysis.sources.store import editions as store_editions
    from analysis.sources.store import load_store

    if executor not in ("local", "dask"):
        raise InputError(f"--executor {executor!r}: use 'local' or 'dask'.")
    root = paths.project_root()
    where = paths.for_source(source, out=out, offence=offence)
    source, out = where.name, where.outputs  # notebooks and manifest get the name, never a local path
    planned = plan(source, names, offence)  # bad force names stop here, before any work
    publish.check_owned(out, manifest.previous(out))  # and someone else's folder
    jobs = jobs or os.cpu_count() or 1
    st = load_store(where.store)
    started = time.time()
    timing.reset()
    with lock.output_lock(out), lock.store_lock(where.store, shared=True), _sigterm_as_interrupt():
        old = manifest.previous(out)
        publish.check_owned(out, old)
        nxt = publish.start(out)
        try:
            foreign = publish.carry_foreign(out, nxt, old)
            code, lock_sha = code_hash(), lock_hash(root)
            key = national_key(code, lock_sha, offence, where.store)
            # a force run's --rerun is for its reports; the national models and notebooks it
            # shares with every other page are redone only when their inputs changed
            whole = rerun and names is None
            with timing.stage("national models"):
                refit = whole or national_stale(old, key, out)
                if refit:
                    fit_national(st, nxt, offence)
                else:
                    publish.carry(out, nxt, old.get("published", {}))
                # each force's CSV, rewritten by the site only where its rows changed
                publish.carry(out, nxt, [outputs.FORCE_CSV.relpath(slug=f.slug) for f in forces.registry()])
            with timing.stage("plan and carry unchanged reports"):
                inputs = _input_hashes(where.store, nxt)
                forced = {j.name for j in planned if whole or (rerun and not outputs.is_national(j.name))}
                work, results = split_unchanged(planned, old, out, forced, root, code, lock_sha, inputs)
                results += kept_from(old, planned, out, full=names is None)
                pages = page_hash()
                write_stylesheet(nxt, previous=out)  # every page links to it, whether made again or carried
                for r in results:  # unchanged reports go into the new site as they are
                    carried = [r.name + k for k in r.files]
                    if r.page_key != pages:  # only their pages are made again
                        carried = [f for f in carried if outputs.describe(f) not in _PAGES]
                    publish.carry(out, nxt, carried)
                    if r.page_key != pages:
                        _reexport(r, nxt)
            with timing.stage("notebooks and their pages"):
                results += execute_all(work, root, nxt, executor, jobs, scheduler, timeout, progress)
            for r in results:
                if r.status != "failed":
                    r.page_key = pages
            results.sort(key=lambda r: r.name)
            record = manifest.build(
                source=source,
                offence=offence,
                synthetic=st.synthetic,
                root=root,
                code=code,
                lock=lock_sha,
                national_key=key,
                inputs=inputs,
                executor=executor,
                jobs=jobs,
                started=started,
                results=results,
                published=published_hashes(nxt),
                data_edition=provenance.source_files(where.store),
                store_edition=st.edition,
                editions_held=store_editions(where.store),
            )
            with timing.stage("site and manifest"):
                manifest.write(record, nxt, foreign)
                publish.swap(nxt, out)
        except BaseException:
            publish.abandon(out)  # the previous site stays exactly as it was
            raise
    timing.write({"national_refit": refit, "executed": sorted(j.name for j in work)})
    _raise_if_failed(results, out)
    return record


def _store_files(store_dir: Path) -> list[Path]:
    """The files of a store: its tables and quality report (not the hidden temporary files a
    killed ingest may leave)."""
    return [p for p in sorted(store_dir.glob("*")) if p.is_file() and not p.name.startswith(".")]


def national_key(code: str, lock: str, offence: str, store_dir: Path) -> str:
    """A hash of everything the national models depend on: code, lock file, offence, store,
    and the editions it keeps (what moved since the previous one is a national table)."""
    from analysis.sources.store import QUALITY_FILE, edition_folder, editions

    return _sha(
        json.dumps(
            {
                "code": code,
                "lock": lock,
                "offence": offence,
                "store": {p.name: _sha(p.read_bytes()) for p in _store_files(store_dir)},
                # each edition's report holds its tables' hashes
                "editions": {
                    e: _sha((edition_folder(store_dir, e) / QUALITY_FILE).read_bytes())
                    for e in editions(store_dir)
                },
            },
            sort_keys=True,
        ).encode()
    )


def published_hashes(out: Path) -> dict[str, str]:
    """sha256 of every file in the national output folders, by path under `out`."""
    found = {}
    for folder in outputs.NATIONAL_FOLDERS:
        for p in sorted((out / folder).glob("*")):
            if p.is_file():
                found[p.relative_to(out).as_posix()] = _sha(p.read_bytes())
    return found


def national_stale(previous: dict, key: str, out: Path) -> bool:
    """Whether the national models must be refitted: their inputs changed since the last run
    into `out`, or the tables and figures there are not, byte for byte, those that run
    published (an ad-hoc `tables` or `analyse` since, or a run interrupted after refitting)."""
    return (
        previous.get("national_key") != key
        or previous.get("published") != published_hashes(out)
        or not outputs.LINK_MODEL.path(out).exists()
    )


def fit_national(st: Store, out: Path, offence: str) -> set[Path]:
    """Fit the national models once, here (the notebooks only read their tables); return the
    files written."""
    from analysis.reports.analyse import write_analysis
    from analysis.reports.tables import write_store_tables

    written, _ = write_store_tables(st, out, offence)
    return {Path(p) for p in written} | {Path(p) for p in write_analysis(st, out, offence=offence)}


def file_hashes(out: Path, name: str) -> dict[str, str]:
    """sha256 of a notebook's installed files: its reports by suffix ({} for a missing file),
    and its saved figures as "/<file>" (in its figure folder)."""
    found = {}
    for rel in outputs.report_files(name).values():
        path = out / rel
        if path.is_file():
            found[rel.removeprefix(name)] = _sha(path.read_bytes())
    folder = _figure_folder(out, name)
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.is_file():
            found[f"/{path.name}"] = _sha(path.read_bytes())
    return found


def intact(out: Path, name: str, recorded: dict) -> bool:
    """Whether a notebook's files are in place exactly as the manifest recorded them."""
    return bool(recorded.get("files")) and file_hashes(out, name) == recorded["files"]


def split_unchanged(
    planned: list[Job],
    previous: dict,
    out: Path,
    forced: set[str],
    root: Path,
    code: str,
    lock: str,
    inputs: dict[str, str],
) -> tuple[list[Job], list[JobResult]]:
    """Give each job its run key; return the jobs to execute and, as skipped results, those not
    `forced` whose last run succeeded with the same key and whose files are in place, unchanged."""
    work, skipped = [], []
    done = previous.get("notebooks", {})
    for job in planned:
        job.key = run_key(job, root, code, lock, inputs)
        prev = done.get(job.name, {})
        if (
            job.name not in forced
            and prev.get("status") in ("ok", "skipped")
            and prev.get("key") == job.key
            and intact(out, job.name, prev)
        ):
            skipped.append(
                JobResult(
                    job.name,
                    "skipped",
                    job.key,
                    parameters=job.parameters,
                    files=prev["files"],
                    page_key=prev.get("page_key", ""),
                )
            )
        else:
            work.append(job)
    return work, skipped


def kept_from(previous: dict, planned: list[Job], out: Path, full: bool) -> list[JobResult]:
    """After a run of some forces only: the other reports of the previous run, still listed
    where their files are intact and their inputs unchanged enough to stand (their own key is
    checked by the next run that plans them)."""
    if full:
        return []
    names = {j.name for j in planned}
    kept = []
    for name, entry in previous.get("notebooks", {}).items():
        if name in names or entry.get("status") not in ("ok", "skipped") or not intact(out, name, entry):
            continue
        fields = {k: entry[k] for k in ("key", "parameters", "files", "page_key") if k in entry}
        kept.append(JobResult(name, "skipped", **fields))
    return kept


def execute_all(
    work: list[Job],
    root: Path,
    out: Path,
    executor: str,
    jobs: int,
    scheduler: str | None,
    timeout: int,
    progress: bool,
) -> list[JobResult]:
    """Execute the jobs into the staging folder and install each one as it finishes (a failure to
    install fails that notebook alone); the staging folder, and any a killed run left, is
    removed afterwards, whatever happened."""
    stage = outputs.STAGING.path(out)
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    results: list[JobResult] = []
    bar = None
    if progress and work:
        from tqdm import tqdm

        bar = tqdm(total=len(work), desc="notebooks", unit="nb")
    try:
        for res in _executor_map(executor, jobs, scheduler, work, root, stage, timeout):
            results.append(_installed(res, stage, out))
            if bar:
                bar.update(1)
                bar.set_postfix_str(f"{res.name}: {res.status}")
    finally:
        if bar:
            bar.close()
        shutil.rmtree(stage, ignore_errors=True)
    return results


def _installed(res: JobResult, stage: Path, out: Path) -> JobResult:
    """Install a result's files and record their hashes; an error installing (a full disk, a
    folder that cannot be written) fails this notebook alone, saying why."""
    try:
        _install(res, stage, out)
    except OSError as exc:
        res.status, res.cell = "failed", None
        res.error = f"could not install its outputs: {exc.strerror or exc} ({exc.filename or out})"
        return res
    if res.status == "ok":
        res.files = file_hashes(out, res.name)
    return res


def _raise_if_failed(results: list[JobResult], out: Path) -> None:
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise WorkFailed(
            f"{len(failed)} of {len(results)} notebooks failed: "
            + "; ".join(f"{r.name} ({r.error[:120]}, cell {r.cell})" for r in failed)
            + f". Failed notebooks are kept in {outputs.FAILED_NOTEBOOK.path(out, stem='x').parent}."
        )


def _input_hashes(store_dir: Path, out: Path) -> dict[str, str]:
    """The store's files, the national tables the reports read and the method study's committed
    tables (from the project folder), with their sha256."""
    found = {f"store/{p.name}": p for p in _store_files(store_dir)}
    found.update(
        {
            p.relative_to(out).as_posix(): p
            for p, e in outputs.found(out, outputs.NATIONAL_FOLDERS)
            if e.kind == "table"
        }
    )
    # the method study's committed tables, which its page shows (docs/validation/)
    study = Path("docs") / "validation"
    found.update({f"{study.as_posix()}/{p.name}": p for p in sorted(study.glob("validation*.csv"))})
    return {k: _sha(p.read_bytes()) for k, p in found.items()}
