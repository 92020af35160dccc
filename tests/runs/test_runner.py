"""Notebook parameters and the runner: checks before any kernel starts, run keys, locks, the
site; and (slow) whole runs, with a deliberately broken force."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from analysis import paths
from analysis.cli import main
from analysis.errors import InputError
from analysis.runs import lock, params, publish, runner

ROOT = Path(__file__).resolve().parents[2]


def test_check_normalises_and_defaults():
    p = params.check("force_report", {"force": "northants", "year": "2020-21", "offence": "8q"})
    assert p == {
        "force": "Northamptonshire",
        "offence": "8Q",
        "source": "demo",
        "year": "2020/21",
        "basis": "closed",
    }


@pytest.mark.parametrize(
    "values,message",
    [
        ({"forse": "Kent"}, "unknown parameter(s) forse. Valid parameters: force"),
        ({"force": "Gotham"}, "Unknown force 'Gotham'"),
        ({"force": 3}, "parameter 'force' must be a str"),
        ({"basis": "opened"}, "parameter 'basis' must be one of 'closed', 'recorded'"),
        ({"year": "2020"}, "parameter 'year': not a financial year"),
    ],
)
def test_bad_parameters_are_refused_with_the_valid_ones(values, message):
    with pytest.raises(params.ParameterError) as exc:
        params.check("force_report", values)
    assert message in str(exc.value)


def test_every_template_has_a_parameters_cell_then_validation():
    for name in params.SCHEMAS:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), name
        assert any(f'params.{f}("{name}"' in code[1].source for f in ("check", "validate")), name
        assert all(not c.get("outputs") for c in code), f"{name} template carries outputs"
        # its names and values: test_parameters_cells_hold_the_schema_defaults


def test_templates_match_their_py_percent_pairs():
    import jupytext

    for name in params.SCHEMAS:
        a = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        b = jupytext.read(ROOT / "notebooks" / f"{name}.py")
        assert [c.source for c in a.cells] == [c.source for c in b.cells], f"{name}: run 'make notebooks'"


def test_plan_and_run_keys(tmp_path):
    jobs = runner.plan("demo", None, "8Q")
    assert [j.name for j in jobs[:4]] == [f"national/{t}" for t in params.NATIONAL]
    assert len(jobs) == 4 + 44 and jobs[-1].name == "forces/british-transport-police"
    with pytest.raises(InputError, match="Unknown force"):
        runner.plan("demo", ["Gotham"], "8Q")
    k1 = runner.run_key(jobs[5], ROOT, "code", "lock", {"a": "1"})
    assert k1 == runner.run_key(jobs[5], ROOT, "code", "lock", {"a": "1"})
    assert k1 != runner.run_key(jobs[6], ROOT, "code", "lock", {"a": "1"})
    assert k1 != runner.run_key(jobs[5], ROOT, "code", "lock", {"a": "2"})
    assert k1 != runner.run_key(jobs[5], ROOT, "code2", "lock", {"a": "1"})


def _figure_output(name: str | None, alt: str, png: bytes) -> dict:
    meta = {"alt": alt} | ({"figure_name": name} if name else {})
    data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": alt}
    return nbformat.v4.new_output("display_data", data=data, metadata={"image/png": meta})


def test_named_figures_are_saved_and_replace_the_old_ones(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        _figure_output("trends", "Trend lines", b"\x89PNG trends"),
        _figure_output(None, "Not saved", b"\x89PNG other"),
    ]
    nb.cells = [cell, nbformat.v4.new_code_cell("y", outputs=[_figure_output("funnel", "F", b"\x89PNG f")])]
    stage, out = tmp_path / "stage", tmp_path / "out"
    assert runner.save_figures(nb, stage, "forces/kent") == ["funnel.png", "trends.png"]
    old = out / "forces" / "kent"
    old.mkdir(parents=True)
    (old / "ranks.png").write_bytes(b"a figure this report no longer shows")
    runner._install_figures(stage / "forces" / "kent", old)
    assert sorted(p.name for p in old.iterdir()) == ["alt.json", "funnel.png", "trends.png"]
    assert (old / "trends.png").read_bytes() == b"\x89PNG trends"
    assert json.loads((old / "alt.json").read_text()) == {"funnel.png": "F", "trends.png": "Trend lines"}
    hashes = runner.file_hashes(out, "forces/kent")
    assert sorted(hashes) == ["/alt.json", "/funnel.png", "/trends.png"]
    # a report with no named figures leaves no folder behind
    runner._install_figures(tmp_path / "none", old)
    assert not old.exists()


def test_notebooks_under_run_read_the_runs_output_folder(tmp_path, monkeypatch):
    from analysis import paths

    monkeypatch.delenv(paths.OUTPUTS_ENV, raising=False)
    assert paths.source_paths("demo")[1].parts[-2:] == ("outputs", "demo")
    monkeypatch.setenv(paths.OUTPUTS_ENV, str(tmp_path / "elsewhere"))
    assert paths.source_paths("demo")[1] == tmp_path / "elsewhere"


def test_output_lock_refuses_a_second_run(tmp_path):
    with (
        lock.output_lock(tmp_path),
        pytest.raises(InputError, match=r"another run \(pid \d+\) is writing"),
        lock.output_lock(tmp_path),
    ):
        pass
    with lock.output_lock(tmp_path):  # released
        pass


def _project(tmp_path: Path, demo_store) -> Path:
    store, _ = demo_store
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "notebooks", proj / "notebooks")
    shutil.copytree(store, proj / "data" / "processed" / "demo")
    # and the editions it keeps beside it, as ingest leaves them
    shutil.copytree(paths.editions_folder(store), paths.editions_folder(proj / "data" / "processed" / "demo"))
    return proj


@pytest.mark.slow
def test_run_with_a_broken_force_finishes_the_others(tmp_path, demo_store, monkeypatch, capsys):
    proj = _project(tmp_path, demo_store)
    nb = nbformat.read(proj / "notebooks" / "force_report.ipynb", as_version=4)
    broken = nbformat.v4.new_code_cell(
        'if p["force"] == "Kent":\n    raise RuntimeError("deliberately broken")'
    )
    nb.cells.insert(3, broken)
    nbformat.write(nb, proj / "notebooks" / "force_report.ipynb")
    monkeypatch.chdir(proj)
    code = main(["run", "--source", "demo", "--jobs", "2"])  # every force, as `make demo` runs
    err = capsys.readouterr().err
    assert code == 1 and "forces/kent" in err and "deliberately broken" in err and "Traceback" not in err
    assert "1 of 48 notebooks failed" in err
    out = proj / "outputs" / "demo"
    statuses = json.loads((out / "manifest.json").read_text())["notebooks"]
    assert sorted(n for n, v in statuses.items() if v["status"] != "ok") == ["forces/kent"]
    assert len(list((out / "forces").glob("*.nocode.html"))) == 43
    assert len(list((out / "national").glob("*.nocode.html"))) == 4
    assert (out / "forces" / "cumbria.html").exists() and (out / "forces" / "cumbria.nocode.html").exists()
    assert not (out / "forces" / "kent.html").exists()
    assert (out / "failed" / "kent.ipynb").exists()
    # the run saves each report's named figures, the images the report shows, with alt text
    figures = out / "forces" / "cumbria"
    alts = json.loads((figures / "alt.json").read_text())
    assert sorted(alts) == ["funnel.png", "own_change.png", "ranks.png", "trends.png"]
    assert all(alts.values()) and all((figures / n).read_bytes()[:4] == b"\x89PNG" for n in alts)
    assert not (out / "forces" / "kent").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    kent = manifest["notebooks"]["forces/kent"]
    assert kent["status"] == "failed" and "deliberately broken" in kent["error"] and kent["cell"] is not None
    assert manifest["notebooks"]["forces/cumbria"]["status"] == "ok"
    assert "/funnel.png" in manifest["notebooks"]["forces/cumbria"]["files"]
    assert manifest["synthetic"] is True and manifest["packages"]["pandas"]
    # the edition every output came from: the demo's one, dated by its files' suffix (31/12/25)
    assert manifest["store_edition"] == "2025-12-31" and manifest["editions_held"] == ["2025-12-31"]
    index = (out / "index.html").read_text()
    assert "GENERATED DEMO DATA" in index and "forces/cumbria.html" in index
    # the executed report shows the demo banner first, then the verdicts in words, computed
    done = nbformat.read(out / "forces" / "cumbria.ipynb", as_version=4)
    code_cells = [c for c in done.cells if c.cell_type == "code"]
    i = next(i for i, c in enumerate(code_cells) if "p = params." in c.source)
    # the first two Markdown outputs from there (the test's inserted broken cell prints nothing)
    shown = [
        o["data"]["text/markdown"]
        for c in code_cells[i:]
        for o in c.outputs
        if "text/markdown" in o.get("data", {})
    ]
    banner, quoted, verdict = shown[0], shown[1], shown[2]
    assert "GENERATED DEMO DATA" in banner and "demo-banner" in banner
    assert quoted.startswith("## Figures to quote")
    assert verdict.startswith("## Cumbria, ") and "- Charged or summonsed: " in verdict
    assert "start_time" not in json.dumps(done.metadata.get("papermill", {}))

    # a second run with unchanged inputs skips what succeeded and retries the failure
    before = (out / "forces" / "cumbria.html").stat().st_mtime_ns
    code = main(["run", "--source", "demo", "--jobs", "2"])
    assert code == 1
    m2 = json.loads((out / "manifest.json").read_text())
    assert sorted(n for n, v in m2["notebooks"].items() if v["status"] != "skipped") == ["forces/kent"]
    assert m2["notebooks"]["forces/cumbria"]["status"] == "skipped"
    assert m2["notebooks"]["national/national_trends"]["status"] == "skipped"
    assert (out / "forces" / "cumbria.html").stat().st_mtime_ns == before


def test_run_refuses_unknown_force_before_starting(tmp_path, demo_store, monkeypatch, capsys):
    proj = _project(tmp_path, demo_store)
    monkeypatch.chdir(proj)
    assert main(["run", "--source", "demo", "--forces", "Gotham"]) == 2
    assert "Unknown force 'Gotham'" in capsys.readouterr().err
    assert not (proj / "outputs" / "demo" / "forces").exists()


def test_reference_notebooks_match_the_templates():
    """nbval re-executes notebooks/reference/; this checks those are the current templates (if a
    template changed, run 'make references')."""
    import references

    for job in references.jobs():
        ref = nbformat.read(ROOT / "notebooks" / "reference" / f"{Path(job.name).name}.ipynb", as_version=4)
        tpl = nbformat.read(ROOT / "notebooks" / f"{job.template}.ipynb", as_version=4)
        cells = [c.source for c in ref.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        assert cells == [c.source for c in tpl.cells], f"{job.name}: run 'make references'"
        injected = next(c for c in ref.cells if "injected-parameters" in c.metadata.get("tags", []))
        for k, v in job.parameters.items():
            assert f"{k} = {v!r}".replace("'", '"') in injected.source, (job.name, k)
        assert any(c.get("outputs") for c in ref.cells if c.cell_type == "code"), job.name


@pytest.mark.slow
def test_interrupted_run_leaves_earlier_outputs_intact(tmp_path, demo_store):
    """Ctrl-C in the middle of executing notebooks: exit 130 with a message, earlier outputs
    untouched, no staging left, no kernels left, and the next run can take the lock."""
    import os
    import signal
    import subprocess
    import sys
    import time

    def kernels() -> set[str]:
        """This environment's kernels (on a shared machine, other checkouts start kernels too)."""
        ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
        env = str(Path(sys.executable).parent)
        return {line.split()[0] for line in ps.splitlines() if "ipykernel_launcher" in line and env in line}

    proj = _project(tmp_path, demo_store)
    cmd = [
        sys.executable,
        "-m",
        "analysis",
        "run",
        "--source",
        "demo",
        "--forces",
        "Kent",
        "Cumbria",
        "--jobs",
        "2",
    ]
    already = kernels()
    subprocess.run(cmd, cwd=proj, check=True, capture_output=True)
    assert not kernels() - already, "a finished run left kernels running"
    out = proj / "outputs" / "demo"
    before = {
        p.relative_to(out): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and p.suffix in (".ipynb", ".html", ".csv", ".json", ".png")
    }
    proc = subprocess.Popen(
        [*cmd, "--rerun"],
        cwd=proj,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C as from a terminal: a shell runs background jobs with SIGINT ignored, and a child
        # inherits that, so the test would depend on how it was started
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    staging = publish.next_folder(out) / ".staging"
    deadline = time.time() + 120
    while time.time() < deadline and not any(staging.glob("*/*.ipynb")):
        time.sleep(0.2)
    assert any(staging.glob("*/*.ipynb")), "the run never reached the notebooks"
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    assert not (out / ".staging").exists() and not publish.next_folder(out).exists()
    deadline = time.time() + 15  # a kernel notices its worker has gone within a few seconds
    while kernels() - already and time.time() < deadline:
        time.sleep(0.5)
    assert not kernels() - already, "the interrupted run left kernels running"
    for rel, data in before.items():
        # every earlier file is still there, whole (reruns write identical bytes or nothing)
        assert (out / rel).read_bytes() == data, rel
    again = subprocess.run(cmd, cwd=proj, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr


@pytest.mark.slow
def test_run_finds_the_store_that_ingest_wrote_for_a_folder_source(tmp_path, monkeypatch, capsys):
    """`ingest --source FOLDER` then `run --source FOLDER`, through the command line: the run
    reads data/processed/<name> and writes outputs/<name>; the notebooks get the name, not the
    local path."""
    from test_cli import SMALL_DEMO

    proj, folder = tmp_path / "proj", tmp_path / "elsewhere" / "mydata"
    shutil.copytree(ROOT / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_DEMO)
    monkeypatch.chdir(proj)
    assert main(["demo-data", "--out", str(folder), "--config", str(cfg)]) == 0
    assert main(["ingest", "--source", str(folder)]) == 0
    code = main(["run", "--source", str(folder), "--forces", "Kent", "--jobs", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = proj / "outputs" / "mydata"
    assert f"Site: {Path('outputs') / 'mydata' / 'index.html'}" in captured.out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"] == "mydata" and manifest["synthetic"] is True
    assert {v["status"] for v in manifest["notebooks"].values()} == {"ok"}
    report = nbformat.read(out / "forces" / "kent.ipynb", as_version=4)
    injected = next(c for c in report.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'source = "mydata"' in injected.source
    assert str(tmp_path) not in (out / "forces" / "kent.ipynb").read_text()
    assert (out / "forces" / "kent" / "trends.png").exists()

    # `run --out`: the notebooks read that folder's tables (the default one is gone), and the
    # figures go there too
    shutil.rmtree(out)
    published = tmp_path / "published"
    code = main(["run", "--source", str(folder), "--forces", "Kent", "--jobs", "2", "--out", str(published)])
    assert code == 0, capsys.readouterr().err
    assert (published / "tables" / "link_model.json").exists() and (
        published / "forces" / "kent.html"
    ).exists()
    assert (published / "forces" / "kent" / "funnel.png").exists() and not out.exists()
    assert str(tmp_path) not in (published / "forces" / "kent.ipynb").read_text()


def _parameters_cell(template: str) -> dict:
    """The names and literal values a template's parameters cell assigns."""
    import ast

    nb = nbformat.read(ROOT / "notebooks" / f"{template}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, f"{template}: {ast.unparse(node)}"
        target = node.targets[0]
        assert isinstance(target, ast.Name), f"{template}: {ast.unparse(node)}"
        values[target.id] = ast.literal_eval(node.value)
    return values


@pytest.mark.parametrize("template", list(params.SCHEMAS))
def test_parameters_cells_hold_the_schema_defaults(template):
    """The defaults live in params.SCHEMAS; each template's parameters cell must assign exactly
    those names with exactly those values (and types: 20 is not 20.0)."""
    cell = _parameters_cell(template)
    defaults = {p.name: p.default for p in params.SCHEMAS[template]}
    assert cell == defaults, f"{template}: parameters cell {cell} != schema defaults {defaults}"
    assert {k: type(v) for k, v in cell.items()} == {k: type(v) for k, v in defaults.items()}, template
