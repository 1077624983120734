import pandas as pd
import pytest

from synth_assets.errors import InputDataError
from synth_assets.tabular.sources import RealTable, load_real_table
from synth_assets.tabular.split import TableSplit, split_table


def test_split_sizes_disjoint_and_stratified(breast_cancer_split):
    split = breast_cancer_split
    assert (len(split.train), len(split.holdout)) == (398, 171)
    full = load_real_table("breast_cancer").frame
    assert (
        pd.concat([split.train, split.holdout])
        .sort_values(list(full.columns))
        .reset_index(drop=True)
        .equals(full.sort_values(list(full.columns)).reset_index(drop=True))
    )
    train_share = split.train["target"].mean()
    holdout_share = split.holdout["target"].mean()
    assert abs(train_share - holdout_share) < 0.01  # stratified: same class balance


def test_split_is_seeded():
    real = load_real_table("wine")
    a, b, c = split_table(real, seed=1), split_table(real, seed=1), split_table(real, seed=2)
    assert a.train.equals(b.train) and not a.train.equals(c.train)


def test_regression_split_is_stratified_on_deciles():
    split = split_table(load_real_table("diabetes"), holdout_fraction=0.25, seed=0)
    assert len(split.holdout) == round(442 * 0.25)
    assert abs(split.train["target"].median() - split.holdout["target"].median()) < 15


def test_bundle_round_trip(breast_cancer_split):
    frames, meta = breast_cancer_split.to_bundle()
    again = TableSplit.from_bundle(frames, meta)
    assert again.target == "target" and again.train.equals(breast_cancer_split.train)


def test_too_few_rows():
    real = RealTable(pd.DataFrame({"x": range(12), "y": [0, 1] * 6}), "y", "binary", "tiny")
    with pytest.raises(InputDataError, match="12 rows give a 8/4 train/holdout split"):
        split_table(real)


def test_class_with_one_row():
    frame = pd.DataFrame({"x": range(60), "y": ["a"] * 30 + ["b"] * 29 + ["c"]})
    with pytest.raises(InputDataError, match=r"class\(es\) \['c'\].*single row"):
        split_table(RealTable(frame, "y", "multiclass", "t"))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_bad_holdout_fraction(fraction):
    with pytest.raises(InputDataError, match="holdout_fraction must be in"):
        split_table(load_real_table("wine"), holdout_fraction=fraction)
