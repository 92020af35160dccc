"""Small hand-made national outputs for the unit tests of the site, the manifest and the runner
(tests/test_site_unit.py, test_manifest_unit.py, test_runner_unit.py): one year, England and
Wales and three forces (one large, one below the small-number threshold, one that closed
nothing), written through the catalogue in a few milliseconds instead of a national fit.

Not a test module (pytest collects test_*.py only); the tests import it as they import conftest.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis import outputs
from analysis.domain import rules
from analysis.reports import quote

YEAR = "2020/21"
BIG, SMALL, NONE = "Kent", "Cumbria", "Dyfed-Powys"  # 2,467 closed; below SMALL_N; none closed
SLUGS = {BIG: "kent", SMALL: "cumbria", NONE: "dyfed-powys"}
BIG_CLOSED, BIG_CHARGED, BIG_EVID = 2467, 34, 1234
SMALL_CLOSED, SMALL_CHARGED, SMALL_EVID = 12, 3, 5
assert SMALL_CLOSED < rules.SMALL_N <= BIG_CLOSED
PNG = b"\x89PNG\r\n\x1a\n a figure"


def headline(force: str, slug: str, closed: float, charged: float, evid: float) -> dict:
    """One row of the headlines table."""
    return {
        "financial_year": YEAR,
        "force": force,
        "slug": slug,
        "offence_code": "8Q",
        "offences_recorded": 2 * closed,
        "offences_recorded_outcomes_file": 2 * closed,
        "outcomes_closed": closed,
        "evidential_difficulties_closed": evid,
        "evidential_difficulties_rate_closed": evid / closed if closed else float("nan"),
        "charged_closed": charged,
        "charge_rate_closed": charged / closed if closed else float("nan"),
        "quarters_with_outcomes": 4,
        "interval": "Wilson 95%",
        "data_source": "GENERATED DEMO DATA",
        "sentence": f"{force} sentence",
    }


def write_national(out: Path) -> set[Path]:
    """The national tables and figures the index reads, into output folder `out`; return the
    files written."""
    heads = pd.DataFrame(
        [
            headline("England and Wales", "england-and-wales", 50_000, 4_000, 20_000),
            headline(BIG, SLUGS[BIG], BIG_CLOSED, BIG_CHARGED, BIG_EVID),
            headline(SMALL, SLUGS[SMALL], SMALL_CLOSED, SMALL_CHARGED, SMALL_EVID),
            headline(NONE, SLUGS[NONE], 0, 0, 0),
        ]
    )
    funnel = pd.DataFrame(
        {
            "financial_year": [YEAR, YEAR],
            "force": [BIG, SMALL],
            "n": [BIG_CLOSED, SMALL_CLOSED],
            "z": [-3.25, 0.5],
            "direction_tau2": ["low", "within"],
            "level_tau2": [0.998, float("nan")],
        }
    )
    residuals = pd.DataFrame({"force": [BIG], "dose": [math.log(2.0)]})
    models = pd.DataFrame({"estimator": ["first differences"], "estimate": [-0.3]})  # no force column
    panel, national = _panel(heads)
    written = {
        outputs.HEADLINES.save(out, heads),
        outputs.FIGURES_TO_QUOTE.save(out, quote.figures_to_quote(panel, national, True)),
        outputs.RECORDING_RISE.save(out, quote.recording_rise(panel, national, True)),
        outputs.FUNNEL.save(out, funnel, year=YEAR),
        outputs.LINK_FORCE_RESIDUALS.save(out, residuals),
        outputs.LINK_MODELS.save(out, models),
        outputs.LINK_MODEL.save(out, {"estimate": -0.3}),
        outputs.FUNNEL_FIGURE.save(out, PNG, year=YEAR),
        outputs.NATIONAL_FIGURES["caterpillar"].save(out, PNG),
    }
    alt = {outputs.FUNNEL_FIGURE.path(out, year=YEAR).name: "Funnel plot alt text"}  # none for caterpillar
    written.add(outputs.FIGURE_ALT.save(out, alt))
    return written


def _panel(heads: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A two-year force-year panel and England and Wales from the headline rows: the headline
    year, and 2019/20 with half the recorded offences (a rise of x2.0 across April 2020)."""
    rows = heads.drop(columns=["slug", "sentence"]).assign(quarters_with_outcomes=4)
    before = rows.assign(
        financial_year="2019/20",
        offences_recorded=rows["offences_recorded"] / 2,
        offences_recorded_outcomes_file=rows["offences_recorded_outcomes_file"] / 2,
    )
    both = pd.concat([before, rows], ignore_index=True)
    is_nat = both["force"] == "England and Wales"
    national = both[is_nat].assign(forces_with_outcomes=3, forces_complete_year=3)
    return both[~is_nat].reset_index(drop=True), national.reset_index(drop=True)
