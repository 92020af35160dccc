import pytest

from analysis.domain import periods, taxonomy


@pytest.mark.parametrize("raw", ["2020/21", "2020-21", "2020/2021", "2020_21", " 2020 / 21 ", "FY2020/21"])
def test_year_variants(raw):
    assert periods.normalise_year(raw) == "2020/21"


def test_century_boundary_and_bad_years():
    assert periods.normalise_year("1999/00") == "1999/00"
    for bad in ["2020/22", "2020", "twenty", "2021/20"]:
        with pytest.raises(ValueError):
            periods.normalise_year(bad)


@pytest.mark.parametrize("raw", [1, 1.0, "1", "Q1", "q1", "Quarter 1", " quarter 1 "])
def test_quarter_variants(raw):
    assert periods.normalise_quarter(raw) == 1


@pytest.mark.parametrize("bad", [0, 5, "Q5", "first", 1.5])
def test_bad_quarters(bad):
    with pytest.raises(ValueError):
        periods.normalise_quarter(bad)


def test_year_ending_march():
    assert periods.year_ending_march("2020/21") == 2021


def test_taxonomy_sets():
    assert [o.code for o in taxonomy.OUTCOME_TYPES] == list(range(23))
    assert {14, 15, 16} == taxonomy.EVIDENTIAL_DIFFICULTIES
    assert 18 not in taxonomy.EVIDENTIAL_DIFFICULTIES
    assert set(range(1, 23)) == taxonomy.CLOSED
    assert 0 not in taxonomy.CLOSED
    table = taxonomy.outcome_table()
    assert table.loc[table.evidential_difficulties, "outcome_type"].tolist() == [14, 15, 16]
    assert taxonomy.BY_CODE[15].group.startswith("Evidential difficulties")


def test_counting_rule_breaks_in_order():
    years = [b.first_year for b in taxonomy.COUNTING_RULE_BREAKS]
    assert years == ["2014/15", "2018/19", "2020/21"]
    assert taxonomy.RECLASSIFICATION_BREAK.first_year == "2020/21"
    assert "not comparable" in taxonomy.RECLASSIFICATION_BREAK.description
