"""Rules between columns: parsing, detection, counting, enforcement; null patterns."""

import numpy as np
import pandas as pd
import pytest

from synth_assets.errors import InputDataError
from synth_assets.tabular.constraints import (
    Constraint,
    auto_rules,
    count_violations,
    detect_inequalities,
    parse_constraints,
    rows_breaking_any,
)
from synth_assets.tabular.synthesizers import apply_null_flags, synthesize, with_null_flags


def stays(n=400, seed=0):
    """Hotel stays: check-out never before check-in; a review score only when a guest returned."""
    rng = np.random.default_rng(seed)
    check_in = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    nights = rng.integers(0, 30, n)
    returned = rng.random(n) < 0.5
    return pd.DataFrame(
        {
            "check_in": check_in,
            "check_out": check_in + pd.to_timedelta(nights, unit="D"),
            "min_price": rng.uniform(50, 100, n).round(2),
            "spend": rng.normal(300, 80, n) + 100 * returned,
            "review": np.where(returned, rng.normal(4, 0.5, n), np.nan),
            "room": rng.choice(["single", "double", "suite"], n),
            "returned": returned,
        }
    ).assign(max_price=lambda f: f.min_price + rng.uniform(0, 60, n).round(2))


def test_detects_date_order_and_same_named_quantities_only():
    frame = stays()
    detected = {r.describe() for r in detect_inequalities(frame)}
    assert "check_in <= check_out" in detected and "min_price < max_price" in detected
    assert not any("returned" in r or "room" in r for r in detected)
    applied = {r.describe() for r in auto_rules(detect_inequalities(frame), frame, 10)}
    assert applied == {"check_in <= check_out", "min_price < max_price"}
    assert detect_inequalities(frame)[0].columns == ("check_in", "check_out")  # dates first


def test_trivial_orderings_are_not_rules():
    frame = pd.DataFrame({"small": np.arange(30.0), "big": np.arange(100.0, 130.0)})
    assert detect_inequalities(frame) == []  # ranges never meet: nothing to constrain


def test_parse_errors_name_the_entry():
    frame = stays()
    with pytest.raises(InputDataError, match=r"constraints\[0\]: type must be one of"):
        parse_constraints([{"type": "bigger", "columns": ["a", "b"]}], frame)
    with pytest.raises(InputDataError, match=r"constraints\[1\]: unknown column"):
        parse_constraints(
            [{"type": "positive", "columns": ["spend"]}, {"type": "positive", "columns": ["x"]}], frame
        )
    with pytest.raises(InputDataError, match="inequality takes 2 columns"):
        parse_constraints([{"type": "inequality", "columns": ["check_in"]}], frame)
    with pytest.raises(InputDataError, match="numeric or datetime"):
        parse_constraints([{"type": "inequality", "columns": ["room", "spend"]}], frame)


def test_counts_rows_breaking_each_rule_and_ignores_nulls():
    frame = pd.DataFrame({"a": [1, 5, 2, np.nan], "b": [2, 3, 2, 1], "c": ["x", "y", "x", "z"]})
    rules = [
        Constraint("inequality", ("a", "b")),
        Constraint("inequality", ("a", "b"), strict=True),
        Constraint("positive", ("a",), strict=True),
        Constraint("fixed_combinations", ("b", "c")),
    ]
    reference = pd.DataFrame({"b": [2, 3], "c": ["x", "y"]})
    assert list(count_violations(frame, rules, reference).values()) == [1, 2, 0, 1]
    assert rows_breaking_any(frame, rules, reference) == 3


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gaussian_copula", "ctgan"])
def test_enforced_rules_hold_in_every_synthetic_row(kind):
    train = stays()
    rules = parse_constraints(
        [
            {"type": "inequality", "columns": ["check_in", "check_out"]},
            {"type": "inequality", "columns": ["min_price", "max_price"]},
            {"type": "positive", "columns": ["spend"], "strict": True},
        ],
        train,
    )
    free = synthesize(train, kind=kind, epochs=5, seed=0)
    assert rows_breaking_any(free.data, rules[:2], train) > 0  # without rules the order is lost
    ruled = synthesize(train, kind=kind, epochs=5, seed=0, constraints=rules)
    assert rows_breaking_any(ruled.data, rules, train) == 0
    assert [r.describe() for r in ruled.rules] == [r.describe() for r in rules]
    dates = ruled.data["check_out"]
    assert (dates == dates.dt.floor("D")).all()  # whole days stay whole days


def test_null_flags_round_trip():
    frame = stays()
    flagged, flags = with_null_flags(frame, seed=0)
    assert flags == {"review": "review.is_null"} and flagged["review"].notna().all()
    assert flagged["review.is_null"].sum() == frame["review"].isna().sum()
    back = apply_null_flags(flagged, flags)
    assert list(back.columns) == list(frame.columns)
    pd.testing.assert_series_equal(back["review"].isna(), frame["review"].isna())


@pytest.mark.slow
def test_joint_null_model_keeps_a_column_missing_with_the_target():
    """The bug: RDT's default draws nulls independently, so 'review only when returned' is lost."""
    train = stays(600)

    def broken(mode):
        data = synthesize(train, seed=0, missing_values=mode).data
        return int((data.returned & data.review.isna()).sum() + (~data.returned & data.review.notna()).sum())

    independent, joint = broken("random"), broken("joint")
    assert joint < 0.75 * independent, (joint, independent)
