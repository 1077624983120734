import numpy as np
import pandas as pd
import pytest

from synth_assets.metrics.utility import MODELS, UndefinedMetricError, tstr_report
from synth_assets.tabular.sources import RealTable, load_real_table
from synth_assets.tabular.split import split_table

from ..conftest import make_mixed_table


def _threshold_table(n, flip=False, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.uniform(0, 4, n) + 6 * y  # class 0 in [0, 4], class 1 in [6, 10]: a clean margin
    return pd.DataFrame({"x": x, "y": 1 - y if flip else y})


def test_hand_computed_scores():
    """A clean threshold rule: TRTR AUC is exactly 1; labels flipped in the synthetic data
    give TSTR AUC exactly 0, so the ratio is 0."""
    train, holdout = _threshold_table(200, seed=1), _threshold_table(100, seed=2)
    for model in MODELS:
        good = tstr_report(train, train, holdout, "y", "binary", model=model)
        assert (good.trtr_score, good.tstr_score, good.tstr_ratio) == (1.0, 1.0, 1.0)
    bad = tstr_report(_threshold_table(200, flip=True, seed=3), train, holdout, "y", "binary")
    assert bad.tstr_score == 0.0 and bad.tstr_ratio == 0.0 and bad.metric == "roc_auc"


def test_ratio_is_tstr_over_trtr(breast_cancer_split, gaussian_copula_synth):
    split = breast_cancer_split
    report = tstr_report(gaussian_copula_synth.data, split.train, split.holdout, "target", "binary")
    assert report.tstr_ratio == report.tstr_score / report.trtr_score
    assert report.trtr_score > 0.95 and report.tstr_ratio >= 0.90  # GaussianCopula passes


def test_random_noise_within_real_ranges_fails(breast_cancer_split):
    split = breast_cancer_split
    rng = np.random.default_rng(0)
    noise = pd.DataFrame(
        {
            c: rng.uniform(split.train[c].min(), split.train[c].max(), len(split.train))
            for c in split.train.columns
        }
    )
    noise["target"] = rng.integers(0, 2, len(noise))
    report = tstr_report(noise, split.train, split.holdout, "target", "binary")
    assert report.tstr_ratio < 0.9 and report.tstr_score < 0.8


def test_multiclass_uses_macro_f1_and_regression_r2():
    wine = split_table(load_real_table("wine"), seed=0)
    report = tstr_report(wine.train, wine.train, wine.holdout, "target", "multiclass")
    assert report.metric == "macro_f1" and report.tstr_ratio == 1.0 and 0.8 < report.trtr_score <= 1.0
    diabetes = split_table(load_real_table("diabetes"), seed=0)
    report = tstr_report(
        diabetes.train, diabetes.train, diabetes.holdout, "target", "regression", model="linear"
    )
    assert report.metric == "r2" and 0.3 < report.trtr_score < 0.7


def test_mixed_types_and_missing_values():
    split = split_table(RealTable(make_mixed_table(300), "label", "binary", "mixed"), seed=0)
    for model in MODELS:
        report = tstr_report(split.train, split.train, split.holdout, "label", "binary", model=model)
        assert report.trtr_score > 0.7 and report.tstr_ratio == 1.0


def test_single_class_synthetic_data_scores_chance(breast_cancer_split):
    split = breast_cancer_split
    one_class = split.train.assign(target=1)
    report = tstr_report(one_class, split.train, split.holdout, "target", "binary")
    assert report.tstr_score == 0.5


def test_model_without_skill_makes_ratio_undefined():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200)})
    with pytest.raises(UndefinedMetricError, match="no skill"):
        tstr_report(frame.iloc[:100], frame.iloc[:100], frame.iloc[100:], "y", "regression", model="linear")


def test_unknown_model():
    frame = _threshold_table(50)
    with pytest.raises(ValueError, match="model must be one of"):
        tstr_report(frame, frame, frame, "y", "binary", model="xgboost")
