"""The runner's steps without a kernel: keys (lock, national, run), what is stale, what is
skipped and what is kept, installing results (ok, failed, or failing to install), executing with
retries, stripping volatile metadata, re-exporting pages after a template edit, and whole runs
in-process with the notebook execution and the national fit replaced by fakes that write small
files (tests/site_tables.py). Whole runs with real kernels are the slow tests in test_runner.py
and tests/reliability/."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from site_tables import PNG, write_national

from analysis import outputs, paths
from analysis.errors import InputError, WorkFailed
from analysis.runs import manifest, params, publish, runner
from analysis.runs.runner import Job, JobResult

NOTEBOOK, PAGE, NOCODE = outputs.REPORT_NOTEBOOK, outputs.REPORT_PAGE, outputs.REPORT_PAGE_NOCODE
KENT, CUMBRIA = outputs.force_report("kent"), outputs.force_report("cumbria")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _report(folder: Path, name: str, tag: str = "", figures: dict[str, bytes] | None = None) -> dict:
    """A report's three files (a real notebook, two small pages) and its figures in `folder`."""
    files = {o: folder / rel for o, rel in outputs.report_files(name).items()}
    files[NOTEBOOK].parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name} {tag}")])
    nbformat.write(nb, files[NOTEBOOK])
    files[PAGE].write_text(f"<html>{name} {tag}</html>")
    files[NOCODE].write_text(f"<html>{name} {tag} no code</html>")
    for fig, data in (figures or {}).items():
        path = outputs.REPORT_FIGURE.path(folder, report=name, figure=fig)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


# --- keys and staleness ------------------------------------------------------------------------


def test_lock_hash_is_the_lock_files_sha256_or_empty(tmp_path):
    assert runner.lock_hash(tmp_path) == ""
    (tmp_path / "requirements.lock").write_bytes(b"pandas==2.2.3\n")
    assert runner.lock_hash(tmp_path) == _sha(b"pandas==2.2.3\n")


def test_national_key_follows_code_lock_offence_and_store_but_not_hidden_files(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "outcomes.parquet").write_bytes(b"one")
    key = runner.national_key("code", "lock", "8Q", store)
    assert key == runner.national_key("code", "lock", "8Q", store)
    assert key != runner.national_key("code2", "lock", "8Q", store)
    assert key != runner.national_key("code", "lock2", "8Q", store)
    assert key != runner.national_key("code", "lock", "8L", store)
    (store / ".outcomes.parquet.tmp").write_bytes(b"a killed ingest left this")
    (store / "sub").mkdir()
    assert runner.national_key("code", "lock", "8Q", store) == key
    (store / "outcomes.parquet").write_bytes(b"two")
    assert runner.national_key("code", "lock", "8Q", store) != key


def test_published_hashes_cover_the_national_folders_only(tmp_path):
    out = tmp_path / "site"
    written = write_national(out)
    _report(out, KENT)
    published = runner.published_hashes(out)
    assert set(published) == {p.relative_to(out).as_posix() for p in written}
    assert all(published[p.relative_to(out).as_posix()] == _sha(p.read_bytes()) for p in written)


def test_the_national_fit_is_stale_when_its_key_or_its_published_files_changed(tmp_path):
    out = tmp_path / "site"
    write_national(out)
    old = {"national_key": "k", "published": runner.published_hashes(out)}
    assert not runner.national_stale(old, "k", out)
    assert runner.national_stale(old, "other", out)  # code, lock, offence or store changed
    assert runner.national_stale({}, "k", out)  # no previous run
    heads = outputs.HEADLINES.path(out)
    heads.write_text(heads.read_text().replace("Kent", "Kent "))  # a hand edit, or an ad-hoc `tables`
    assert runner.national_stale(old, "k", out)
    old = {"national_key": "k", "published": runner.published_hashes(out)}
    outputs.LINK_MODEL.path(out).unlink()
    assert runner.national_stale(old | {"published": runner.published_hashes(out)}, "k", out)


def test_input_hashes_are_the_store_and_the_national_tables(tmp_path):
    store, out = tmp_path / "store", tmp_path / "site"
    store.mkdir()
    (store / "outcomes.parquet").write_bytes(b"rows")
    (store / ".quality.json.tmp").write_bytes(b"half written")
    write_national(out)
    found = runner._input_hashes(store, out)
    tables = {p.relative_to(out).as_posix() for p, e in outputs.found(out) if e.kind == "table"}
    study = {f"docs/validation/{p.name}" for p in Path("docs/validation").glob("validation*.csv")}
    assert study  # the committed method study, which the method notebook shows
    assert set(found) == {"store/outcomes.parquet"} | tables | study
    assert found["store/outcomes.parquet"] == _sha(b"rows")
    assert outputs.FUNNEL_FIGURE.relpath(year="2020/21") not in found  # figures are not read


# --- what is skipped and what is kept ----------------------------------------------------------


def test_file_hashes_and_intact_follow_the_files_on_disk(tmp_path):
    out = tmp_path / "site"
    files = _report(out, KENT, figures={"trends": PNG})
    hashes = runner.file_hashes(out, KENT)
    assert hashes == {
        ".ipynb": _sha(files[NOTEBOOK].read_bytes()),
        ".html": _sha(files[PAGE].read_bytes()),
        ".nocode.html": _sha(files[NOCODE].read_bytes()),
        "/trends.png": _sha(PNG),
    }
    assert runner.intact(out, KENT, {"files": hashes})
    assert not runner.intact(out, KENT, {"files": {}})  # nothing recorded: nothing to trust
    assert not runner.intact(out, KENT, {})
    files[PAGE].write_text("<html>edited by hand</html>")
    assert not runner.intact(out, KENT, {"files": hashes})
    files[PAGE].write_text(f"<html>{KENT} </html>")
    assert runner.intact(out, KENT, {"files": hashes})
    outputs.REPORT_FIGURE.path(out, report=KENT, figure="trends").unlink()
    assert not runner.intact(out, KENT, {"files": hashes})
    assert "/trends.png" not in runner.file_hashes(out, KENT)
    assert runner.file_hashes(out, CUMBRIA) == {}


@pytest.fixture()
def project(tmp_path) -> Path:
    """A folder with notebook templates (their bytes are all run_key reads)."""
    proj = tmp_path / "proj"
    (proj / paths.NOTEBOOKS).mkdir(parents=True)
    for t in (*params.NATIONAL, "force_report"):
        (proj / paths.NOTEBOOKS / f"{t}.ipynb").write_text(json.dumps({"template": t}))
    return proj


def _previous(out: Path, jobs: list[Job], root: Path, inputs: dict, **status: str) -> dict:
    """A previous manifest in which each job ran with its current key."""
    notebooks = {}
    for job in jobs:
        key = runner.run_key(job, root, "code", "lock", inputs)
        notebooks[job.name] = {
            "status": status.get(job.name.split("/")[1], "ok"),
            "key": key,
            "parameters": job.parameters,
            "files": runner.file_hashes(out, job.name),
            "page_key": "pages",
        }
    return {"notebooks": notebooks}


def test_unchanged_intact_reports_are_skipped_and_the_rest_run(project, tmp_path):
    out = tmp_path / "site"
    jobs = runner.plan("demo", ["Kent", "Cumbria", "Northamptonshire"], "8Q")
    for job in jobs:
        _report(out, job.name)
    inputs = {"store/x": "1"}
    old = _previous(out, jobs, project, inputs, cumbria="failed")
    (out / outputs.report_files(outputs.force_report("northamptonshire"))[PAGE]).write_text("edited")
    work, skipped = runner.split_unchanged(jobs, old, out, set(), project, "code", "lock", inputs)
    assert all(j.key == runner.run_key(j, project, "code", "lock", inputs) for j in jobs)
    assert [j.name for j in work] == [CUMBRIA, outputs.force_report("northamptonshire")]
    assert {r.name for r in skipped} == {j.name for j in jobs} - {j.name for j in work}
    kent = next(r for r in skipped if r.name == KENT)
    assert kent.status == "skipped" and kent.page_key == "pages"
    assert kent.files == old["notebooks"][KENT]["files"] and kent.parameters["force"] == "Kent"
    # forced reports run whatever their key (--rerun); changed inputs change every key
    work, skipped = runner.split_unchanged(
        jobs, old, out, {j.name for j in jobs}, project, "code", "lock", inputs
    )
    assert len(work) == len(jobs) and skipped == []
    work, skipped = runner.split_unchanged(jobs, old, out, {KENT}, project, "code", "lock", inputs)
    assert [j.name for j in work] == [KENT, CUMBRIA, outputs.force_report("northamptonshire")]
    work, skipped = runner.split_unchanged(jobs, old, out, set(), project, "code", "lock", {"store/x": "2"})
    assert len(work) == len(jobs) and skipped == []


def test_a_run_of_some_forces_keeps_the_other_intact_reports(project, tmp_path):
    out = tmp_path / "site"
    everyone = runner.plan("demo", ["Kent", "Cumbria", "Northamptonshire", "Dyfed-Powys"], "8Q")
    for job in everyone:
        _report(out, job.name)
    old = _previous(out, everyone, project, {}, northamptonshire="failed")
    (out / outputs.report_files(outputs.force_report("dyfed-powys"))[NOCODE]).unlink()
    now = runner.plan("demo", ["Kent"], "8Q")
    assert runner.kept_from(old, now, out, full=True) == []
    kept = runner.kept_from(old, now, out, full=False)
    # the one planned is not kept (it is run or skipped); failed and damaged ones are dropped
    assert [r.name for r in kept] == [CUMBRIA]
    (cumbria,) = kept
    assert cumbria.status == "skipped" and cumbria.key == old["notebooks"][CUMBRIA]["key"]
    assert cumbria.files == old["notebooks"][CUMBRIA]["files"] and cumbria.page_key == "pages"


# --- installing results --------------------------------------------------------------------------


def test_an_ok_result_is_installed_with_its_hashes_and_its_old_failure_removed(tmp_path):
    stage, out = tmp_path / "stage", tmp_path / "site"
    staged = _report(stage, KENT, "new", figures={"trends": PNG})
    staged_bytes = {o: p.read_bytes() for o, p in staged.items()}
    _report(out, KENT, "old", figures={"ranks": b"a figure no longer shown"})
    failed = outputs.FAILED_NOTEBOOK.path(out, stem="kent")
    failed.parent.mkdir(parents=True)
    failed.write_text("{}")  # last run's failure
    res = runner._installed(JobResult(KENT, "ok", "k"), stage, out)
    assert res.status == "ok" and res.error == ""
    for o, rel in outputs.report_files(KENT).items():
        assert (out / rel).read_bytes() == staged_bytes[o]
        assert not (stage / rel).exists()  # moved, not copied
    figures = outputs.REPORT_FIGURE.path(out, report=KENT, figure="trends").parent
    assert sorted(p.name for p in figures.iterdir()) == ["trends.png"]
    assert not failed.exists()
    assert res.files == runner.file_hashes(out, KENT) and "/trends.png" in res.files


def test_a_failed_result_goes_to_failed_and_leaves_the_old_report_in_place(tmp_path):
    stage, out = tmp_path / "stage", tmp_path / "site"
    staged = _report(stage, KENT, "half run")
    old = _report(out, KENT, "old")
    old_bytes = {o: p.read_bytes() for o, p in old.items()}
    res = runner._installed(JobResult(KENT, "failed", "k", error="ValueError: x", cell=4), stage, out)
    assert res.status == "failed" and res.cell == 4 and res.files == {}
    failed = outputs.FAILED_NOTEBOOK.path(out, stem="kent")
    assert nbformat.read(failed, as_version=4).cells[0].source == f"# {KENT} half run"
    assert not staged[NOTEBOOK].exists()
    assert {o: p.read_bytes() for o, p in old.items()} == old_bytes
    # a failure that wrote no notebook (the kernel never started) leaves nothing under failed/
    failed.unlink()
    res = runner._installed(JobResult(CUMBRIA, "failed", "k", error="kernel died"), stage, out)
    assert not outputs.FAILED_NOTEBOOK.path(out, stem="cumbria").exists()


def test_an_error_installing_fails_that_report_alone_saying_why(tmp_path):
    stage, out = tmp_path / "stage", tmp_path / "site"
    _report(stage, KENT)
    (stage / outputs.report_files(KENT)[NOCODE]).unlink()  # a page the worker did not write
    res = runner._installed(JobResult(KENT, "ok", "k"), stage, out)
    assert res.status == "failed" and res.cell is None
    assert res.error.startswith("could not install its outputs: No such file or directory")
    assert outputs.report_files(KENT)[NOCODE] in res.error


def test_execute_all_installs_each_result_and_always_removes_the_staging_folder(tmp_path, monkeypatch):
    out = tmp_path / "site"
    outputs.STAGING.path(out).mkdir(parents=True)
    (outputs.STAGING.path(out) / "left by a killed run").write_text("x")
    seen = []

    def fake(job, root, staging, timeout, read_from="", retries=2):
        seen.append((job.name, Path(staging) == outputs.STAGING.path(out), timeout))
        _report(Path(staging), job.name, "fresh")
        return JobResult(job.name, "ok", job.key, parameters=job.parameters)

    monkeypatch.setattr(runner, "execute", fake)
    work = [Job(KENT, "force_report", {"force": "Kent"}, "k1"), Job(CUMBRIA, "force_report", {}, "k2")]
    results = runner.execute_all(work, tmp_path, out, "local", 1, None, 77, progress=True)
    assert seen == [(KENT, True, 77), (CUMBRIA, True, 77)]
    assert [(r.name, r.status, r.key) for r in results] == [(KENT, "ok", "k1"), (CUMBRIA, "ok", "k2")]
    assert all(r.files == runner.file_hashes(out, r.name) for r in results)
    assert not outputs.STAGING.path(out).exists()

    def boom(job, *args, **kwargs):
        Path(args[1], "partial").write_text("x")
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "execute", boom)
    with pytest.raises(KeyboardInterrupt):
        runner.execute_all(work, tmp_path, out, "local", 1, None, 77, progress=False)
    assert not outputs.STAGING.path(out).exists()


def test_failures_raise_work_failed_naming_each_one_and_the_failed_folder(tmp_path):
    runner._raise_if_failed([JobResult(KENT, "ok", "k"), JobResult(CUMBRIA, "skipped", "k")], tmp_path)
    results = [
        JobResult(KENT, "failed", "k", error="ValueError: " + "x" * 200, cell=3),
        JobResult(CUMBRIA, "failed", "k", error="kernel died"),
        JobResult("national/national_trends", "ok", "k"),
    ]
    with pytest.raises(WorkFailed) as exc:
        runner._raise_if_failed(results, tmp_path)
    text = str(exc.value)
    assert text.startswith("2 of 3 notebooks failed: ")
    assert f"{KENT} (ValueError: {'x' * 108}, cell 3)" in text  # errors cut at 120 characters
    assert f"{CUMBRIA} (kernel died, cell None)" in text
    assert str(outputs.FAILED_NOTEBOOK.path(tmp_path, stem="kent").parent) in text


# --- executing one notebook ------------------------------------------------------------------


@pytest.fixture()
def no_kernel(monkeypatch):
    """execute() with papermill replaced by `papermill.calls`, a list of what each attempt does
    (an exception to raise, or a notebook to return); no kernel is started, no sleep slept."""
    import papermill

    from analysis.runs import kernel

    state = SimpleNamespace(plan=[], attempts=0, discarded=0)

    def execute_notebook(template, output, **kwargs):
        state.attempts += 1
        step = state.plan.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    def discard():
        state.discarded += 1

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    monkeypatch.setattr(kernel, "acquire", lambda *a, **k: object())
    monkeypatch.setattr(kernel, "discard", discard)
    monkeypatch.setattr(runner.time, "sleep", lambda s: None)
    return state


def _executed(name: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}")])


def test_a_kernel_that_fails_to_start_is_retried(no_kernel, project, tmp_path):
    no_kernel.plan = [
        RuntimeError("Kernel died before replying to kernel_info"),
        TimeoutError("Timed out waiting for kernel to start"),
        _executed("third time lucky"),
    ]
    job = Job(KENT, "force_report", {"force": "Kent", "offence": "8Q"}, "k")
    res = runner.execute(job, str(project), str(tmp_path / "stage"), 60)
    assert (res.status, res.attempts, res.key, res.error) == ("ok", 3, "k", "")
    assert no_kernel.discarded == 2  # each failed start's kernel, not the working one
    files = {o: tmp_path / "stage" / rel for o, rel in outputs.report_files(KENT).items()}
    assert "third time lucky" in nbformat.read(files[NOTEBOOK], as_version=4).cells[0].source
    assert "Kent: " in files[PAGE].read_text() and "third time lucky" in files[NOCODE].read_text()


def test_a_kernel_that_never_starts_fails_after_the_retries(no_kernel, project, tmp_path):
    no_kernel.plan = [RuntimeError("Kernel died before replying to kernel_info")] * 3
    res = runner.execute(Job(KENT, "force_report", {}, "k"), str(project), str(tmp_path / "s"), 60, retries=2)
    assert (res.status, res.attempts, res.cell) == ("failed", 3, None)
    assert res.error == "RuntimeError: Kernel died before replying to kernel_info"


def test_another_error_fails_at_once_and_a_cell_error_names_its_cell(no_kernel, project, tmp_path):
    from papermill.exceptions import PapermillExecutionError

    no_kernel.plan = [ValueError("no such parameter")]
    res = runner.execute(Job(KENT, "force_report", {}, "k"), str(project), str(tmp_path / "s"), 60)
    assert (res.status, res.attempts, res.error) == ("failed", 1, "ValueError: no such parameter")
    no_kernel.plan = [PapermillExecutionError(0, 12, "KeyError: 'Kent'", "KeyError", "'Kent'", [])]
    res = runner.execute(Job(KENT, "force_report", {}, "k"), str(project), str(tmp_path / "s"), 60)
    assert (res.status, res.cell, res.error) == ("failed", 12, "KeyError: 'Kent'")
    assert no_kernel.discarded == 2


def test_a_report_that_cannot_write_its_outputs_fails_alone(no_kernel, project, tmp_path, monkeypatch):
    no_kernel.plan = [_executed("done")]

    def full(nb, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(nbformat, "write", full)
    res = runner.execute(Job(KENT, "force_report", {}, "k"), str(project), str(tmp_path / "s"), 60)
    assert res.status == "failed" and res.cell is None
    assert res.error.startswith("could not write its outputs: No space left on device (")
    assert res.error.endswith(outputs.report_files(KENT)[NOTEBOOK] + ")")


def test_volatile_metadata_is_stripped_and_streams_merged():
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {
        "start_time": "t",
        "duration": 1.0,
        "input_path": "/x",
        "parameters": {"a": 1},
    }
    injected = nbformat.v4.new_code_cell("force = 'Kent'", id="random1234")
    injected.metadata["tags"] = ["injected-parameters"]
    injected.metadata["papermill"] = {"duration": 0.1}
    injected.metadata["execution"] = {"iopub.status.busy": "t"}
    printing = nbformat.v4.new_code_cell("print(1); print(2)", id="keepme")
    printing.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("stream", name="stdout", text="2\n"),
    ]
    nb.cells = [injected, printing]
    runner._strip_volatile(nb)
    assert nb.metadata["papermill"] == {"parameters": {"a": 1}}
    assert injected["id"] == "injected-parameters" and printing["id"] == "keepme"
    assert injected.metadata["papermill"] == {} and "execution" not in injected.metadata
    assert [o["text"] for o in printing.outputs] == ["1\n2\n"]


def test_page_resources_link_back_to_the_site_from_the_reports_folder():
    res = runner.page_resources(Job(KENT, "force_report", {"force": "Kent", "offence": "8Q"}))
    assert res["site"] == {
        "index": "../" + outputs.INDEX.relpath(),
        "methods": "../" + outputs.METHODS.relpath(),
    }
    assert res["metadata"]["name"].startswith("Kent: ")


def test_plan_names_the_national_notebooks_then_the_chosen_forces():
    jobs = runner.plan("mysource", ["kent", "Northants"], "8L")
    assert [j.name for j in jobs] == [
        *(outputs.national_report(t) for t in params.NATIONAL),
        KENT,
        outputs.force_report("northamptonshire"),
    ]
    kent = jobs[-2]
    assert (kent.template, kent.parameters["force"], kent.parameters["offence"]) == (
        "force_report",
        "Kent",
        "8L",
    )
    assert kent.parameters["source"] == "mysource"
    study = next(j for j in jobs if j.template == "method_validation")
    assert study.parameters == {"folder": ""}  # the committed study tables; it runs no study


def test_sigterm_stops_a_run_as_ctrl_c_does_and_is_restored_after():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), runner._sigterm_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) is not before  # else raising it would end pytest
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


# --- re-exporting pages after a template edit --------------------------------------------------


def test_reexport_remakes_the_pages_from_the_executed_notebook(tmp_path):
    out = tmp_path / "site"
    files = _report(out, KENT, "executed", figures={"trends": PNG})
    notebook = files[NOTEBOOK].read_bytes()
    result = JobResult(
        KENT, "skipped", "k", parameters={"force": "Kent", "offence": "8Q"}, files={".x": "old"}
    )
    runner._reexport(result, out)
    page, nocode = files[PAGE].read_text(), files[NOCODE].read_text()
    assert "executed" in page and "<html>" not in page[:20]  # nbconvert's page, not the old one
    assert "<title>Kent: " in page and f'href="../{outputs.INDEX.relpath()}"' in nocode
    assert files[NOTEBOOK].read_bytes() == notebook  # nothing executed, notebook untouched
    assert result.files == runner.file_hashes(out, KENT) and "/trends.png" in result.files
    national = outputs.national_report("national_trends")
    files = _report(out, national, "trends")
    runner._reexport(JobResult(national, "skipped", "k", parameters={"offence": "8Q"}), out)
    assert (
        "<title>"
        + runner.page_resources(Job(national, "national_trends", {"offence": "8Q"}))["metadata"]["name"]
        in files[PAGE].read_text()
    )


# --- whole runs, in-process, with fakes ------------------------------------------------------------


class Fakes:
    """The national fit and the notebook execution replaced: the fit writes site_tables' tables,
    each notebook writes a small notebook, two pages and (forces) a figure into staging, or fails
    if its name is in `fail`."""

    def __init__(self):
        self.fits: list[str] = []
        self.executed: list[str] = []
        self.fail: set[str] = set()

    def fit_national(self, st, out, offence):
        self.fits.append(offence)
        return write_national(out)

    def execute(self, job, root, staging, timeout, read_from="", retries=2):
        self.executed.append(job.name)
        figures = {"trends": PNG} if job.name.startswith("forces/") else {}
        files = _report(Path(staging), job.name, job.key[:8], figures)
        if job.name in self.fail:
            for o in (PAGE, NOCODE):
                files[o].unlink()
            return JobResult(job.name, "failed", job.key, 0.1, "ValueError: broken", 5, 1, job.parameters)
        return JobResult(job.name, "ok", job.key, 0.1, parameters=job.parameters)


@pytest.fixture()
def fakes(project, monkeypatch) -> Fakes:
    """Runs from `project` (a store of one file) with the fit and the execution faked."""
    from analysis.sources import store as store_module

    where = paths.for_source("demo", base=project)
    where.store.mkdir(parents=True)
    (where.store / "outcomes.parquet").write_bytes(b"store")
    monkeypatch.chdir(project)
    f = Fakes()
    monkeypatch.setattr(
        store_module, "load_store", lambda path: SimpleNamespace(synthetic=True, edition="2025-12-31")
    )
    monkeypatch.setattr(runner, "fit_national", f.fit_national)
    monkeypatch.setattr(runner, "execute", f.execute)
    return f


def _run(project: Path, forces: list[str] | None, **kw) -> dict:
    return runner.run("demo", forces, jobs=1, out=project / "site", **kw)


def _on_disk(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_run_records_installs_and_indexes_every_report(fakes, project):
    record = _run(project, ["Kent", "Cumbria"])
    out = project / "site"
    assert fakes.fits == ["8Q"]
    national = [outputs.national_report(t) for t in params.NATIONAL]
    assert fakes.executed == [*national, KENT, CUMBRIA]
    assert manifest.previous(out) == record
    assert set(record["notebooks"]) == {*national, KENT, CUMBRIA}
    assert all(
        v["status"] == "ok" and v["page_key"] == runner.page_hash() for v in record["notebooks"].values()
    )
    for name, entry in record["notebooks"].items():
        assert entry["files"] == runner.file_hashes(out, name)
    assert record["published"] == runner.published_hashes(out)
    assert record["national_key"] == runner.national_key(
        runner.code_hash(), "", "8Q", paths.for_source("demo", base=project).store
    )
    assert set(record["inputs"]) >= {"store/outcomes.parquet", outputs.HEADLINES.relpath()}
    # every file is the package's and listed with its hash (but the lock and the manifest)
    for rel, data in _on_disk(out).items():
        if rel not in (outputs.LOCK.relpath(), outputs.MANIFEST.relpath()):
            assert record["files"][rel] == _sha(data), rel
    index = outputs.INDEX.path(out).read_text()
    assert f'href="{outputs.report_files(KENT)[PAGE]}"' in index
    assert not outputs.STAGING.path(out).exists()
    assert not publish.next_folder(project / "site").exists()  # built beside, swapped in


def test_a_second_run_with_nothing_changed_executes_and_fits_nothing(fakes, project):
    _run(project, ["Kent"])
    out = project / "site"
    before = {rel: data for rel, data in _on_disk(out).items() if not rel.startswith(("tables/", "figures/"))}
    fakes.fits.clear(), fakes.executed.clear()
    record = _run(project, ["Kent"])
    assert fakes.fits == [] and fakes.executed == []
    assert {v["status"] for v in record["notebooks"].values()} == {"skipped"}
    after = _on_disk(out)
    for o in (NOTEBOOK, PAGE, NOCODE):
        rel = outputs.report_files(KENT)[o]
        assert after[rel] == before[rel]


def test_a_hand_edited_report_is_made_again_and_an_edited_table_refits(fakes, project):
    _run(project, ["Kent", "Cumbria"])
    out = project / "site"
    page = out / outputs.report_files(KENT)[PAGE]
    page.write_text("<html>edited by hand</html>")
    fakes.executed.clear()
    _run(project, ["Kent", "Cumbria"])
    assert fakes.executed == [KENT] and fakes.fits == ["8Q"]
    assert page.read_text() != "<html>edited by hand</html>"
    heads = outputs.HEADLINES.path(out)
    heads.write_text(heads.read_text() + "\n")
    fakes.executed.clear()
    _run(project, ["Kent", "Cumbria"])
    assert fakes.fits == ["8Q", "8Q"]
    # the refit wrote the same tables, so the notebooks' inputs, and keys, are unchanged
    assert fakes.executed == []


def test_a_page_template_edit_remakes_every_page_and_executes_no_notebook(
    fakes, project, tmp_path, monkeypatch
):
    _run(project, ["Kent"])
    out = project / "site"
    notebooks = {n: (out / outputs.report_files(n)[NOTEBOOK]).read_bytes() for n in (KENT,)}
    old_pages = {rel: (out / rel).read_text() for rel in (outputs.report_files(KENT)[PAGE],)}
    edited = tmp_path / "page"
    shutil.copytree(runner.PAGE_TEMPLATES, edited)
    (edited / "index.html.j2").write_text((edited / "index.html.j2").read_text() + "\n{# edited #}\n")
    monkeypatch.setattr(runner, "PAGE_TEMPLATES", edited)
    fakes.executed.clear(), fakes.fits.clear()
    record = _run(project, ["Kent"])
    assert fakes.executed == [] and fakes.fits == []
    assert all(v["status"] == "skipped" for v in record["notebooks"].values())
    assert all(v["page_key"] == runner.page_hash() for v in record["notebooks"].values())
    for rel, text in old_pages.items():
        assert (out / rel).read_text() != text and "<title>Kent: " in (out / rel).read_text()
    assert (out / outputs.report_files(KENT)[NOTEBOOK]).read_bytes() == notebooks[KENT]
    for name, entry in record["notebooks"].items():
        assert entry["files"] == runner.file_hashes(out, name), name
    # and the next run, with the same templates, skips them again
    fakes.executed.clear()
    assert {v["status"] for v in _run(project, ["Kent"])["notebooks"].values()} == {"skipped"}
    assert fakes.executed == []


def test_a_failed_report_fails_the_run_but_the_site_is_published(fakes, project):
    fakes.fail = {CUMBRIA}
    with pytest.raises(
        WorkFailed, match=rf"1 of 6 notebooks failed: {CUMBRIA} \(ValueError: broken, cell 5\)"
    ):
        _run(project, ["Kent", "Cumbria"])
    out = project / "site"
    record = manifest.previous(out)
    assert record["notebooks"][CUMBRIA]["status"] == "failed"
    assert record["notebooks"][CUMBRIA]["page_key"] == ""  # it made no page
    assert record["notebooks"][KENT]["status"] == "ok"
    assert outputs.FAILED_NOTEBOOK.path(out, stem="cumbria").exists()
    assert not (out / outputs.report_files(CUMBRIA)[PAGE]).exists()
    assert "FAILED forces/cumbria: ValueError: broken (cell 5)" in outputs.RUN_SUMMARY.load(out)
    assert "report failed" in outputs.INDEX.path(out).read_text()
    # fixed: the next run runs that report alone, and its failed notebook goes
    fakes.fail, fakes.executed = set(), []
    _run(project, ["Kent", "Cumbria"])
    assert fakes.executed == [CUMBRIA]
    assert not outputs.FAILED_NOTEBOOK.path(out, stem="cumbria").exists()


def test_a_run_of_one_force_keeps_the_others_reports(fakes, project):
    _run(project, ["Kent", "Cumbria"])
    fakes.executed.clear()
    record = _run(project, ["Kent"], rerun=True)
    # a force run's --rerun is for its reports: the national models and notebooks, unchanged, stay
    assert fakes.executed == [KENT]
    assert fakes.fits == ["8Q"]  # the first run's fit only
    fakes.executed.clear()
    _run(project, None, rerun=True)  # a whole --rerun redoes everything
    assert fakes.executed[: len(params.NATIONAL)] == [outputs.national_report(t) for t in params.NATIONAL]
    assert fakes.fits == ["8Q", "8Q"]
    assert record["notebooks"][CUMBRIA]["status"] == "skipped"
    assert (project / "site" / outputs.report_files(CUMBRIA)[PAGE]).exists()


def test_an_unknown_executor_is_refused_before_any_work(fakes, project):
    with pytest.raises(InputError, match="--executor 'slurm'"):
        runner.run("demo", ["Kent"], executor="slurm", out=project / "site")
    assert not (project / "site").exists() and fakes.fits == []


def test_a_failed_national_fit_leaves_the_previous_site_as_it_was(fakes, project, monkeypatch):
    _run(project, ["Kent"])
    out = project / "site"
    before = _on_disk(out)

    def broken(st, nxt, offence):
        write_national(nxt)  # half the work done, then
        raise RuntimeError("the fit failed")

    monkeypatch.setattr(runner, "fit_national", broken)
    with pytest.raises(RuntimeError, match="the fit failed"):
        _run(project, None, rerun=True)
    assert _on_disk(out) == before
    assert not publish.next_folder(project / "site").exists()


def test_sigterm_is_left_alone_outside_the_main_thread():
    import threading

    before, seen = signal.getsignal(signal.SIGTERM), []

    def body():
        with runner._sigterm_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert seen == [before]
