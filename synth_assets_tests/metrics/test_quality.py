import numpy as np
import pandas as pd

from synth_assets.metrics.quality import run_quality_suite

from ..conftest import make_mixed_table


def _failed(result):
    return {(f["expectation"], f["column"]) for f in result.failed}


def test_train_passes_its_own_suite():
    train = make_mixed_table(200).assign(tier=lambda d: d["city"].astype("category"))
    result = run_quality_suite(train, train, len(train))
    assert result.success and result.failed == []
    # columns + row count, then type, null rate and range / category set per column
    assert result.n_expectations == 2 + 3 * train.shape[1]


def test_gaussian_copula_passes(breast_cancer_split, gaussian_copula_synth):
    result = run_quality_suite(
        gaussian_copula_synth.data, breast_cancer_split.train, gaussian_copula_synth.requested_rows
    )
    assert result.success, result.failed


def test_each_kind_of_violation_is_reported():
    train = make_mixed_table(200)
    bad = train.copy()
    bad["age"] = bad["age"] + 500  # out of range
    bad["city"] = bad["city"].replace("Oslo", "Atlantis")  # unknown category
    bad["member"] = bad["member"].astype(int)  # wrong type
    bad.loc[: len(bad) // 2, "joined"] = pd.NaT  # null rate far above train's 0
    bad["income"] = np.nan  # null rate 100 % vs ~10 %
    result = run_quality_suite(bad, train, expected_rows=len(train) + 1)  # row count off by one
    assert not result.success
    assert {
        ("expect_column_values_to_be_between", "age"),
        ("expect_column_values_to_be_in_set", "city"),
        ("expect_column_values_to_be_of_type", "member"),
        ("expect_column_values_to_not_be_null", "joined"),
        ("expect_column_proportion_of_non_null_values_to_be_between", "income"),
        ("expect_table_row_count_to_equal", None),
    } <= _failed(result)
    assert ("expect_column_values_to_be_in_set", "label") not in _failed(result)


def test_column_order_and_set():
    train = make_mixed_table(100)
    shuffled = train[list(reversed(train.columns))]
    assert ("expect_table_columns_to_match_ordered_list", None) in _failed(
        run_quality_suite(shuffled, train, len(train))
    )
