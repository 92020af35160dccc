"""An unknown force name is refused with the names the person probably meant: a start or part of a
name, slug or alias ("avon"), its words in another order, or a typo; wherever a name is read from
a person (the commands, the notebook parameters)."""

from __future__ import annotations

import pytest

from analysis.domain import forces
from analysis.runs import params


def _suggested(text: str) -> str:
    with pytest.raises(forces.UnknownForceError) as exc:
        forces.resolve(text, context="test")
    return str(exc.value)


@pytest.mark.parametrize(
    "typed,meant",
    [
        ("avon", ["Avon and Somerset"]),  # a start of a name
        ("Avon Police", ["Avon and Somerset"]),  # "police" says nothing about which
        ("somerset and avon", ["Avon and Somerset"]),  # its words, another order
        ("thames", ["Thames Valley"]),
        ("yorkshire", ["North Yorkshire", "West Yorkshire", "South Yorkshire"]),  # part of names
        ("Northamptonshir", ["Northamptonshire"]),  # a typo
        ("Lancasire", ["Lancashire"]),
        ("hamshire", ["Hampshire"]),
    ],
)
def test_close_names_are_suggested(typed, meant):
    message = _suggested(typed)
    assert message.startswith(f"Unknown force {typed!r} (test). Did you mean ")
    for name in meant:
        assert repr(name) in message
    assert "stalking-outcomes forces" in message


def test_nothing_close_suggests_nothing_and_short_text_names_no_list():
    assert "Did you mean" not in _suggested("Gotham")
    assert "Did you mean" not in _suggested("of")  # too short to be a part of a name


def test_at_most_five_names_are_suggested():
    message = _suggested("north")
    assert message.count("', '") <= 4


def test_a_notebook_parameter_gets_the_same_suggestions():
    with pytest.raises(params.ParameterError, match=r"Did you mean 'Avon and Somerset'\?"):
        params.check("force_report", {"force": "avon"})
