import csv
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.domain import forces


def test_registry_has_43_territorial_forces_and_btp():
    reg = forces.registry()
    assert len(reg) == 44
    assert len(forces.territorial()) == 43
    assert [f.name for f in reg if not f.territorial] == ["British Transport Police"]
    assert len({f.slug for f in reg}) == 44
    assert len({f.code for f in reg if f.code}) == 43


def test_registry_matches_the_shared_reference():
    # a copy of the steering team's shared/reference/forces.csv, shipped so the check runs in
    # every clone (it used to skip wherever shared/ was not beside the checkout)
    ref = Path(__file__).resolve().parents[1] / "data" / "forces_reference.csv"
    rows = list(csv.DictReader(ref.read_text(encoding="utf-8").splitlines()))
    ours = {f.name: f for f in forces.registry()}
    assert {r["name"] for r in rows} == set(ours)
    for r in rows:
        assert ours[r["name"]].code == r["ons_code"]
        for alias in filter(None, r["aliases"].split(";")):
            assert forces.resolve(alias).name == r["name"]


@pytest.mark.parametrize(
    "text,name",
    [
        ("Metropolitan Police", "Metropolitan Police"),
        ("  metropolitan   police ", "Metropolitan Police"),
        ("Met Police", "Metropolitan Police"),
        ("London, City of", "London, City of"),
        ("City of London", "London, City of"),
        ("city-of-london", "London, City of"),
        ("Devon & Cornwall", "Devon and Cornwall"),
        ("DEVON AND CORNWALL", "Devon and Cornwall"),
        ("Hampshire and Isle of Wight", "Hampshire"),
        ("Dyfed Powys", "Dyfed-Powys"),
        ("E23000022", "Northamptonshire"),
        ("e23000022", "Northamptonshire"),
        ("W15000004", "Dyfed-Powys"),
        ("Northants", "Northamptonshire"),
        ("BTP", "British Transport Police"),
        ("Avon & Somerset", "Avon and Somerset"),
        ("Kent Police", "Kent"),
    ],
)
def test_resolve_names_aliases_slugs_and_codes(text, name):
    assert forces.resolve(text).name == name


def test_unknown_force_is_an_error_with_suggestions():
    with pytest.raises(forces.UnknownForceError) as exc:
        forces.resolve("Northamptonshir")
    assert "Northamptonshire" in str(exc.value)
    assert "stalking-outcomes forces" in str(exc.value)
    assert forces.find("Atlantis") is None


def test_totals_are_recognised_not_resolved():
    assert forces.is_england_and_wales_total("England and Wales")
    assert forces.is_england_and_wales_total("ENGLAND & WALES")
    assert not forces.is_england_and_wales_total("Wales")


def test_cli_unknown_force_exits_2_without_traceback(capsys):
    assert main(["forces", "Yorkshire"]) == 2
    err = capsys.readouterr().err
    assert "Unknown force 'Yorkshire'" in err and "Did you mean" in err
    assert "Traceback" not in err


def test_cli_lists_forces(capsys):
    assert main(["forces"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 45  # header + 44
    assert "Northamptonshire\tE23000022\tnorthamptonshire" in out
