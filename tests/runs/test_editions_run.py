"""Issue 24's end-to-end check: three demo editions ingested one by one, a scheduled force run
after each, and the force page's "Since the last edition" lists exactly the revisions planted
in that edition (and `changes` prints them, and the site's changes page lists them); then the
quarterly job once more with no new edition (the same files ingested again, then run) changes
nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from analysis import outputs, paths
from analysis.cli import main
from analysis.domain import forces
from analysis.stats import editions

ROOT = Path(__file__).resolve().parents[2]
FORCES = ("Northamptonshire", "Kent")


def _section(notebook: Path) -> str:
    """The text the "Since the last edition" section's code cell printed."""
    nb = nbformat.read(notebook, as_version=4)
    cells = nb.cells
    at = next(
        i
        for i, c in enumerate(cells)
        if c.cell_type == "markdown" and "## Since the last edition" in c.source
    )
    code = next(c for c in cells[at + 1 :] if c.cell_type == "code")
    return "\n".join(o.get("data", {}).get("text/markdown", "") for o in code.outputs)


def _bytes(*roots: Path) -> dict[str, bytes]:
    """Every file under the folders, by path."""
    return {
        p.relative_to(root.parent).as_posix(): p.read_bytes()
        for root in roots
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _expected(truth: dict, edition: int, force: str) -> set[str]:
    """The lines a page must list for a force: each figure a planted revision of this edition moves."""
    lines = set()
    for p in truth["editions"]["planted"]:
        if p["edition"] == edition and p["force"] == force:
            lines |= {f"{p['financial_year']}: {editions.FIGURE_WORDS[f]}" for f in p["figures"]}
    return lines


def _listed(text: str) -> set[str]:
    """The revision lines of a section ("- 2022/23: offences recorded 120 -> 157 (+37)"), as
    "year: figure"."""
    out = set()
    for line in text.splitlines():
        if not (line.startswith("- ") and " -> " in line and ": " in line):
            continue
        year, rest = line[2:].split(": ", 1)
        out |= {f"{year}: {w}" for w in editions.FIGURE_WORDS.values() if rest.startswith(w + " ")}
    return out


@pytest.mark.slow
def test_three_editions_one_by_one_list_exactly_the_planted_revisions(tmp_path, monkeypatch, capsys):
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
    monkeypatch.chdir(proj)
    assert main(["demo-data", "--out", "data/demo", "--editions", "3"]) == 0
    truth = json.loads(Path("data/demo/truth.json").read_text())
    store = "data/processed/demo"
    planted = sum(len(_expected(truth, e, f)) for e in (2, 3) for f in FORCES)
    assert planted >= 2  # the check below has revisions to find, not only their absence
    for edition in (1, 2, 3):
        folder = f"data/demo/editions/{edition}"
        assert main(["ingest", "--source", folder, "--store", store]) == 0
        assert main(["run", "--source", "demo", "--forces", *FORCES, "--jobs", "2"]) == 0
        for force in FORCES:
            name = outputs.force_report(forces.resolve(force).slug)
            report = outputs.REPORT_NOTEBOOK.path(Path("outputs/demo"), report=name)
            text = _section(report)
            if edition == 1:
                assert "no earlier edition to compare with" in text
                continue
            assert f"against the one before it, {truth['editions']['editions'][edition - 2]['date']}" in text
            assert _listed(text) == _expected(truth, edition, force), text
            assert "Funnel position" in text  # where it stands now against where it stood
            if edition == 2 and force == "Northamptonshire":
                assert "Charges on the recorded basis rose as outcomes were assigned" in text
    page = outputs.CHANGES_PAGE.path(Path("outputs/demo")).read_text(encoding="utf-8")
    for force in FORCES:
        for line in _expected(truth, 3, force):
            year, figure = line.split(": ")
            assert force in page and figure in page

    # the quarterly job again with no new edition: fetch brings the same files, ingest replaces
    # the latest edition with itself, and the run skips everything: not a byte moves
    store_before = _bytes(Path(store), paths.editions_folder(store))
    site = Path("outputs/demo")
    # the manifest and the run summary describe the run (its times, what it skipped): the rest may not move
    log = ("/manifest.json", "/run-summary.txt")
    site_before = {k: v for k, v in _bytes(site).items() if not k.endswith(log)}
    timings = tmp_path / "timings.json"
    monkeypatch.setenv("STALKING_OUTCOMES_TIMINGS", str(timings))
    assert main(["ingest", "--source", "data/demo/editions/3", "--store", store]) == 0
    assert main(["run", "--source", "demo", "--forces", *FORCES, "--jobs", "2"]) == 0
    done = json.loads(timings.read_text())
    assert done["executed"] == [] and done["national_refit"] is False
    assert _bytes(Path(store), paths.editions_folder(store)) == store_before
    site_after = {k: v for k, v in _bytes(site).items() if not k.endswith(log)}
    assert site_after.keys() == site_before.keys()
    assert [k for k in site_after if site_after[k] != site_before[k]] == []

    # `changes` prints them too (it writes its tables into the site, which the next run notices)
    capsys.readouterr()
    assert main(["changes", "--source", "demo", "--forces", *FORCES]) == 0
    printed = capsys.readouterr().out
    for force in FORCES:
        for line in _expected(truth, 3, force):
            year, figure = line.split(": ")
            assert f"{force} {year}: {figure}" in printed
    assert "Funnel positions and rank intervals in " in printed
