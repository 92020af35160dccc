"""The command line: outputs, exit codes, and messages for people (no tracebacks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import InputError


def test_tables_from_the_demo_store(demo_store, tmp_path, capsys):
    store, _ = demo_store
    out = tmp_path / "tables"
    assert main(["tables", "--store", str(store), "--out", str(out), "--year", "2020-21"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out / 'force_year.csv'}" in printed
    fy = pd.read_csv(out / "force_year.csv")
    heads = pd.read_csv(out / "headlines.csv")
    assert len(fy) == 44 * 11 and len(heads) == 45
    assert fy.data_source.str.contains("GENERATED DEMO DATA").all()
    assert heads.sentence.str.startswith("[GENERATED DEMO DATA").all()
    first = (out / "force_year.csv").read_bytes()
    assert main(["tables", "--store", str(store), "--out", str(out), "--year", "2020/21"]) == 0
    assert (out / "force_year.csv").read_bytes() == first  # byte-identical rerun


def test_tables_for_one_force_writes_its_csv_alone(demo_store, tmp_path, capsys):
    store, _ = demo_store
    out = tmp_path / "mine"
    argv = ["tables", "--store", str(store), "--out", str(out), "--year", "2020-21", "--force", "northants"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out / 'northamptonshire.csv'}\n")
    assert "In 2020/21 Northamptonshire recorded" in printed and "GENERATED DEMO DATA" in printed
    assert sorted(p.name for p in out.iterdir()) == ["northamptonshire.csv"]  # no other table
    mine = pd.read_csv(out / "northamptonshire.csv")
    assert set(mine["force"]) == {"Northamptonshire"} and mine.columns[0] == "table"
    assert set(mine["table"]) == {"figures_to_quote.csv", "recording_rise.csv"}  # as the site's force CSV
    quoted = mine[mine["table"] == "figures_to_quote.csv"]
    assert quoted["year"].nunique() == 11 and len(quoted) == 11 * 4  # every year, four measures


def test_tables_for_one_force_never_touches_the_site(demo_store, tmp_path, monkeypatch, capsys):
    """The run's folder as `tables` left it: `--force` adds the force's CSV under tables/forces/
    and changes no file there (not headlines.csv, not the manifest), only the run's lock."""
    store, _ = demo_store
    monkeypatch.chdir(tmp_path)
    assert main(["tables", "--source", "demo", "--store", str(store)]) == 0
    site = tmp_path / "outputs" / "demo"

    def files() -> dict[str, bytes]:
        return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}

    before = files()
    capsys.readouterr()
    assert main(["tables", "--source", "demo", "--store", str(store), "--force", "kent"]) == 0
    written = Path("outputs") / "demo" / "tables" / "forces" / "kent.csv"
    assert capsys.readouterr().out.startswith(f"wrote {written}\n")
    after = files()
    assert set(after) - set(before) == {"tables/forces/kent.csv"}
    assert {k: v for k, v in after.items() if k in before and k != ".run.lock"} == {
        k: v for k, v in before.items() if k != ".run.lock"
    }
    assert not (site / "forces").exists()  # the site's own per-force CSVs are not written


def test_tables_for_one_force_in_a_new_folder_keeps_it_the_packages(demo_store, tmp_path, monkeypatch):
    """With no run there yet, the CSV is recorded (ad hoc) so that a later `tables` or run may
    still use the folder (it refuses a folder holding files the package did not write)."""
    store, _ = demo_store
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["tables", "--source", "demo", "--store", str(store), "--force", "kent"]) == 0
    record = json.loads((tmp_path / "outputs" / "demo" / "manifest.json").read_text())
    assert list(record["adhoc"]) == ["tables/forces/kent.csv"]


def test_an_unknown_force_suggests_close_names(capsys):
    for typed, meant in (
        ("avon", "Avon and Somerset"),
        ("somerset & avon", "Avon and Somerset"),
        ("manchester", "Greater Manchester"),
        ("Lancasire", "Lancashire"),
    ):
        assert main(["forces", typed]) == 2
        err = capsys.readouterr().err
        assert f"Unknown force '{typed}'" in err and f"Did you mean '{meant}'" in err, err
        assert "Traceback" not in err


def test_an_unknown_force_for_tables_exits_2_with_suggestions(demo_store, tmp_path, capsys):
    store, _ = demo_store
    out = tmp_path / "mine"
    assert main(["tables", "--store", str(store), "--out", str(out), "--force", "avon"]) == 2
    err = capsys.readouterr().err
    assert "Unknown force 'avon' (--force). Did you mean 'Avon and Somerset'?" in err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["tables", "--year", "2031/32"], "outside the data"),
        (["tables", "--year", "last year"], "not a financial year"),
        (["tables", "--force", "Gotham"], "Unknown force 'Gotham'"),
        (["tables", "--offence", "8Z"], "--offence 8Z: not in the store"),
    ],
)
def test_bad_table_arguments_exit_2(demo_store, tmp_path, capsys, args, message):
    store, _ = demo_store
    assert main([*args, "--store", str(store), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_store_says_what_to_do(tmp_path, capsys):
    assert main(["tables", "--store", str(tmp_path / "none")]) == 2
    assert "stalking-outcomes ingest" in capsys.readouterr().err


def test_ingest_bad_file_exits_2_and_names_it(demo, tmp_path, capsys):
    folder, _ = demo
    src = tmp_path / "src"
    shutil.copytree(folder, src)
    (src / "prc-outcomes-open-data-mar2026-tables-010126.xlsx").write_text("not a workbook")
    assert main(["ingest", "--source", str(src), "--store", str(tmp_path / "store")]) == 2
    err = capsys.readouterr().err
    assert "prc-outcomes-open-data-mar2026-tables-010126.xlsx" in err and "Traceback" not in err
    assert not (tmp_path / "store" / "outcomes.parquet").exists()


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(InputError):
        main(["--debug", "tables", "--store", str(tmp_path / "none")])


def test_demo_data_bad_config_exits_2(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("linkslope = 0\n")
    assert main(["demo-data", "--out", str(tmp_path / "d"), "--config", str(cfg)]) == 2
    assert "'linkslope' is not a generator parameter" in capsys.readouterr().err


@pytest.mark.slow
def test_the_make_demo_commands_in_a_fresh_folder(tmp_path):
    """What `make demo` runs, with default paths, as a user would (python -m analysis)."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    for args in (["demo-data"], ["ingest", "--source", "demo"], ["tables", "--source", "demo"]):
        done = subprocess.run(
            [sys.executable, "-m", "analysis", *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    for name in ("force_year.csv", "national_year.csv", "headlines.csv"):
        assert (tmp_path / "outputs" / "demo" / "tables" / name).exists()
    heads = pd.read_csv(tmp_path / "outputs" / "demo" / "tables" / "headlines.csv")
    assert len(heads) == 45 and heads["sentence"].str.startswith("[GENERATED DEMO DATA").all()
    assert (tmp_path / "data" / "processed" / "demo" / "quality.json").exists()


def test_analyse_writes_every_national_table(demo_store, tmp_path, capsys):
    import json

    store, _ = demo_store
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyse",
                "--store",
                str(store),
                "--out",
                str(out),
                "--bootstrap-reps",
                "99",
                "--permutations",
                "9",
            ]
        )
        == 0
    )
    tables = out / "tables"
    for name in (
        "funnel_2020-21.csv",
        "funnel_summary.csv",
        "funnel_change_2019-20_2020-21.csv",
        "shrinkage.csv",
        "link_models.csv",
        "link_model.json",
        "event_study.csv",
        "link_dose_spline.csv",
        "link_dose_thirds.csv",
        "decomposition.csv",
        "decomposition_forces.csv",
    ):
        assert (tables / name).exists(), name
    models = pd.read_csv(tables / "link_models.csv")
    assert {"estimator", "specification", "estimate", "ci_low", "ci_high", "p_value", "method"} <= set(
        models.columns
    )
    primary = json.loads((tables / "link_model.json").read_text())
    assert primary["parameter"] == "link_slope" and "GENERATED DEMO DATA" in primary["data_source"]
    assert (
        primary["pre_trend_sensitivity"]["mbar"] == 1
        and "Rambachan" in primary["pre_trend_sensitivity_sentence"]
    )
    assert primary["estimate"] == pytest.approx(models.set_index("estimator").loc["primary", "estimate"])
    for csv in tables.glob("*.csv"):
        assert pd.read_csv(csv)["data_source"].str.contains("GENERATED DEMO DATA").all(), csv.name
    assert len(list((out / "figures").glob("*.png"))) >= 8


def test_validate_methods_cli(tmp_path, capsys):
    cfg = tmp_path / "null.toml"
    cfg.write_text("link_slope = 0\n")
    assert (
        main(
            [
                "validate-methods",
                "--reps",
                "2",
                "--config",
                str(cfg),
                "--out",
                str(tmp_path / "v"),
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    table = pd.read_csv(tmp_path / "v" / "validation.csv")
    row = table.set_index("estimator").loc["primary"]
    assert row["truth"] == 0 and row["reps"] == 2
    assert "primary" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # argparse refuses it: usage error, exit 2
        main(["validate-methods", "--reps", "0"])
    assert exc.value.code == 2


@pytest.mark.parametrize("codes", ["8Q", "46,99"])
def test_validate_methods_refuses_a_comparison_the_generator_cannot_make(codes, tmp_path, capsys):
    """Stalking itself, or a code the generator makes no data for, would give an empty or
    circular negative control: refused before any replicate runs, exit 2, nothing written."""
    out = tmp_path / "v"
    argv = [
        "validate-methods",
        "--reps",
        "2",
        "--battery",
        "headline",
        "--comparison",
        codes,
        "--out",
        str(out),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "the generator makes no" in err and "105A" in err and "Traceback" not in err
    assert not list(out.rglob("*.csv"))


@pytest.mark.parametrize(
    "argv,option",
    [
        (["run", "--jobs", "0"], "--jobs"),
        (["run", "--jobs", "-3"], "--jobs"),
        (["run", "--timeout", "0"], "--timeout"),
        (["run", "--timeout", "-5"], "--timeout"),
        (["validate-methods", "--reps", "0"], "--reps"),
        (["analyse", "--bootstrap-reps", "0"], "--bootstrap-reps"),
    ],
)
def test_numeric_options_out_of_range_are_usage_errors(argv, option, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and f"argument {option}" in err and "or more" in err


def test_debug_is_accepted_after_the_command(tmp_path):
    with pytest.raises(InputError):
        main(["tables", "--store", str(tmp_path / "none"), "--debug"])
    assert main(["tables", "--store", str(tmp_path / "none")]) == 2  # without it: a message, exit 2


def test_a_damaged_store_is_named_not_an_internal_error(demo_store, tmp_path, capsys):
    store, _ = demo_store
    bad = tmp_path / "store"
    shutil.copytree(store, bad)
    (bad / "quality.json").write_text("{ not json")
    assert main(["tables", "--store", str(bad), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "quality.json is damaged" in err and "ingest" in err and "internal error" not in err
    (bad / "quality.json").unlink()
    (bad / "quality.json").mkdir()
    assert main(["tables", "--store", str(bad), "--out", str(tmp_path / "t")]) == 2
    assert "quality.json is a folder, not a file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "code,words", [(28, "the disk is full"), (30, "the file system is read-only"), (13, "permission denied")]
)
def test_disk_full_or_unwritable_is_a_clear_error(demo_store, tmp_path, capsys, monkeypatch, code, words):
    import errno

    from analysis.reports import tables

    assert code in (errno.ENOSPC, errno.EROFS, errno.EACCES)
    target = tmp_path / "t" / "force_year.csv"

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(tables, "write_store_tables", fail)
    store, _ = demo_store
    assert main(["tables", "--store", str(store), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert f"cannot write or read {target}: {words}" in err and "internal error" not in err


# Three years of demo data: enough for every command, quick to generate and read.
SMALL_DEMO = 'first_year = "2019/20"\npfa_first_year = "2019/20"\nlast_year = "2021/22"\n'


def test_a_folder_source_is_filed_under_its_name_by_every_command(tmp_path, monkeypatch, capsys):
    """ingest, tables and analyse given one folder (as an absolute or a relative path, or its
    name) all use data/processed/<name> and outputs/<name>."""
    proj, folder = tmp_path / "proj", tmp_path / "elsewhere" / "mydata"
    proj.mkdir()
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_DEMO)
    monkeypatch.chdir(proj)
    assert main(["demo-data", "--out", str(folder), "--config", str(cfg)]) == 0
    assert main(["ingest", "--source", str(folder)]) == 0
    assert (proj / "data" / "processed" / "mydata" / "outcomes.parquet").exists()
    assert main(["tables", "--source", "../elsewhere/mydata"]) == 0
    assert (proj / "outputs" / "mydata" / "tables" / "force_year.csv").exists()
    assert main(["analyse", "--source", str(folder), "--no-figures", "--bootstrap-reps", "9"]) == 0
    assert (proj / "outputs" / "mydata" / "tables" / "link_model.json").exists()
    assert main(["tables", "--source", "mydata", "--out", "t"]) == 0
    assert (proj / "t" / "headlines.csv").exists()
    assert "error" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["ingest", "tables", "analyse", "run"])
def test_every_command_defaults_to_the_home_office_source(command):
    """One default for --source: the real data, so a forgotten flag never gives demo output."""
    from analysis import paths
    from analysis.cli import build_parser

    args = build_parser().parse_args([command])
    assert args.source == paths.DEFAULT_SOURCE == "homeoffice"


def test_a_missing_default_store_says_how_to_get_either_source(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["tables"]) == 2
    err = capsys.readouterr().err
    assert "data/processed/homeoffice" in err and "--source demo" in err and "Traceback" not in err


def test_analyse_takes_the_comparison_set(demo_store, tmp_path, capsys):
    """--comparison names the negative control's comparison set: codes in the store are pooled
    and fitted (46 alone, 8L, the default set), codes not in it are named as missing, and a set
    holding the offence analysed is refused with exit 2 before anything is written."""
    store, _ = demo_store
    for codes, fitted in (("46", True), ("8L", True), ("46,105A,58C", True), ("8U", False)):
        out = tmp_path / codes.replace(",", "_")
        argv = ["analyse", "--store", str(store), "--out", str(out), "--no-figures", "--comparison", codes]
        assert main([*argv, "--bootstrap-reps", "9", "--permutations", "9"]) == 0
        models = pd.read_csv(out / "tables" / "link_models.csv").set_index("estimator")
        assert pd.notna(models.loc["negative_control", "estimate"]) == fitted
        assert ("triple_difference" in models.index) == fitted
    spec = models.loc["negative_control", "specification"]
    assert "8U" in spec and "not in the store" in spec
    out = tmp_path / "refused"
    argv = ["analyse", "--store", str(store), "--out", str(out), "--no-figures", "--comparison", "46,8q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "8Q, the offence analysed" in err and "Traceback" not in err
    assert not list(out.rglob("*.csv"))  # nothing written
    argv = ["analyse", "--store", str(store), "--out", str(out), "--comparison", "46,shoplifting"]
    with pytest.raises(SystemExit) as exc:  # argparse refuses it: usage error, exit 2
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "'SHOPLIFTING' is not shaped like a Home Office offence code" in err and "Traceback" not in err
    assert not list(out.rglob("*.csv"))


def test_analysing_an_offence_of_the_set_compares_it_with_the_rest(demo_store, tmp_path):
    """`run --offence 46` passes no set: the set fixed in advance is used less 46, and the rows
    say so (before, the default set held 46 and every such run was refused)."""
    store, _ = demo_store
    out = tmp_path / "shoplifting"
    argv = ["analyse", "--store", str(store), "--out", str(out), "--no-figures", "--offence", "46"]
    assert main([*argv, "--bootstrap-reps", "9", "--permutations", "9"]) == 0
    models = pd.read_csv(out / "tables" / "link_models.csv").set_index("estimator")
    assert "offences 105A and 58C pooled" in models.loc["negative_control", "specification"]
    assert "46, the offence analysed, is left out" in models.loc["triple_difference", "note"]
