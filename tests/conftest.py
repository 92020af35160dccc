"""Shared fixtures: one generated demo folder and its store per test session, and helpers that
write small workbooks in the published layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.demo import generator
from analysis.demo.publish import OutcomesLayout, Sheet, outcome_rows, write_workbook
from analysis.sources import ingest
from analysis.sources.homeoffice import OUTCOME_HEADERS


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> tuple[Path, generator.SyntheticData]:
    """The default demo data, written once per session."""
    folder = tmp_path_factory.mktemp("demo")
    data = generator.write_demo(folder, generator.load_config())
    return folder, data


@pytest.fixture(scope="session")
def demo_store(demo, tmp_path_factory) -> tuple[Path, dict]:
    """The demo data ingested into a store."""
    folder, _ = demo
    store = tmp_path_factory.mktemp("store")
    quality = ingest.ingest(str(folder), store)
    return store, quality


@pytest.fixture(scope="session")
def run_site(tmp_path_factory, demo_store):
    """A function that runs the national notebooks and the named force reports on the demo store
    in a scratch project (notebooks and docs copied in) and returns its output folder."""
    import os
    import shutil

    from analysis.cli import main

    root = Path(__file__).resolve().parents[1]

    def run(name: str, force_names: list[str]) -> Path:
        store, _ = demo_store
        proj = tmp_path_factory.mktemp(name)
        shutil.copytree(root / "notebooks", proj / "notebooks", ignore=shutil.ignore_patterns("reference"))
        shutil.copytree(root / "docs", proj / "docs")
        shutil.copytree(store, proj / "data" / "processed" / "demo")
        cwd = os.getcwd()
        os.chdir(proj)
        try:
            assert main(["run", "--source", "demo", "--forces", *force_names, "--jobs", "2"]) == 0
        finally:
            os.chdir(cwd)
        return proj / "outputs" / "demo"

    return run


def record(
    force="Northamptonshire",
    year="2020/21",
    quarter=1,
    code="8Q",
    otype=1,
    recorded=3,
    closed=2,
    expired=False,
    **extra,
) -> dict:
    """One tidy outcomes record as the layout writer takes it."""
    rec = {
        "financial_year": year,
        "quarter": quarter,
        "force": force,
        "offence_code": code,
        "offence_description": "Stalking",
        "offence_group": "Violence against the person",
        "offence_subgroup": "Stalking and harassment",
        "offence_code_expired": expired,
        "outcome_type": otype,
        "outcome_description": "x",
        "outcome_group": "g",
        "recorded_basis": recorded,
        "closed_basis": closed,
    }
    rec.update(extra)
    return rec


def write_outcomes(
    path: Path,
    records: list[dict],
    layout: OutcomesLayout | None = None,
    extra_sheets: list[Sheet] | None = None,
    inline_strings: bool = False,
) -> Path:
    """Write a small outcomes workbook (format from the suffix) in the published layout."""
    layout = layout or OutcomesLayout("Outcomes open data 2020_21", dict(OUTCOME_HEADERS))
    sheets = [
        Sheet("Cover_sheet", [["Test workbook"]]),
        *(extra_sheets or []),
        Sheet(layout.sheet_name, list(outcome_rows(records, layout))),
    ]
    write_workbook(path, sheets, inline_strings)
    return path


@pytest.fixture(scope="module")
def study_count():
    """Link panels inside the test assume the recorded basis was counted as the link study's
    data are generated (method_study.LINK_AS_AT: per year), as the study's replicates do."""
    from analysis.stats import method_study
    from analysis.stats.link_panel import counted_as

    with counted_as(method_study.LINK_AS_AT):
        yield
