import numpy as np
import pandas as pd
import pytest
from sdmetrics.single_table import DCROverfittingProtection

from synth_assets.metrics.privacy import dcr_report, dcr_share, exact_match_share
from synth_assets.metrics.row_distance import sdmetrics_metadata
from synth_assets.tabular.sources import load_real_table
from synth_assets.tabular.split import split_table


def test_dcr_share_hand_computed_with_ties():
    d_train = np.array([0.1, 0.5, 0.3, 0.2])
    d_holdout = np.array([0.2, 0.4, 0.3, 0.2])
    # closer, farther, tie, tie -> (1 + 0 + 0.5 + 0.5) / 4
    assert dcr_share(d_train, d_holdout) == 0.5
    assert dcr_share(np.array([0.0, 0.0]), np.array([1.0, 1.0])) == 1.0


def test_exact_match_share():
    reference = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    rows = pd.DataFrame({"x": [1.0, 2.0, 2.0, 3.0], "c": ["a", "a", "b", "b"]})
    assert exact_match_share(rows, reference) == 0.5


def test_copy_of_train_fails_with_equal_split():
    split = split_table(load_real_table("breast_cancer"), holdout_fraction=0.5, seed=0)
    report = dcr_report(split.train, split.train, split.holdout)
    assert report.dcr_share == pytest.approx(1.0, abs=0.01)  # 285 train vs 284 holdout rows
    assert report.exact_match_share == 1.0 and report.holdout_exact_match_share == 0.0


def test_copy_of_train_fails_at_default_split(breast_cancer_split):
    split = breast_cancer_split
    report = dcr_report(split.train, split.train, split.holdout)
    expected = 0.5 + 0.5 * len(split.holdout) / len(split.train)  # ~0.71, see dcr_report docs
    assert report.dcr_share == pytest.approx(expected, abs=0.03)
    assert report.dcr_share > 0.55 and report.exact_match_share == 1.0


def test_unseen_real_rows_score_about_half(breast_cancer_split):
    train = breast_cancer_split.train.sample(frac=1, random_state=0).reset_index(drop=True)
    n = len(breast_cancer_split.holdout)
    report = dcr_report(train.iloc[n:], train.iloc[:n], breast_cancer_split.holdout)
    assert 0.4 < report.dcr_share < 0.6 and report.exact_match_share == 0.0


def test_gaussian_copula_passes(breast_cancer_split, gaussian_copula_synth):
    split = breast_cancer_split
    report = dcr_report(gaussian_copula_synth.data, split.train, split.holdout)
    assert report.dcr_share <= 0.55
    assert report.exact_match_share <= report.holdout_exact_match_share
    assert report.n_rows_compared == len(split.train) and report.n_reference_rows == len(split.holdout)
    assert report.median_dcr > 0


def test_max_rows_caps_the_comparison(breast_cancer_split, gaussian_copula_synth):
    split = breast_cancer_split
    report = dcr_report(gaussian_copula_synth.data, split.train, split.holdout, max_rows=100)
    assert report.n_rows_compared == 100 and report.n_reference_rows == 100 and report.n_train_folds == 4


def _ranges_pinned(frame: pd.DataFrame, low: pd.Series, high: pd.Series) -> pd.DataFrame:
    """Put the global per-column min and max into rows 0 and 1, so every part has one range."""
    frame = frame.copy()
    frame.loc[0, low.index] = low.values
    frame.loc[1, high.index] = high.values
    return frame


def test_dcr_share_equals_sdmetrics():
    """Same data, equal-size train and holdout, continuous columns (no ties): our share equals
    SDMetrics' closer_to_training. SDMetrics scales by each reference's own range, we by the
    range of all real rows, so both parts carry the global min / max to make the ranges agree."""
    rng = np.random.default_rng(7)
    n = 300

    def table(size):
        return pd.DataFrame(
            {
                "x": rng.normal(0, 1, size),
                "y": rng.gamma(2.0, 1.0, size),
                "z": rng.uniform(-5, 5, size),
                "c": rng.choice(["a", "b", "c", "d"], size),
            }
        )

    train, holdout = table(n), table(n)
    synthetic = pd.concat([train.sample(60, random_state=1), table(n - 60)], ignore_index=True)
    synthetic.loc[:59, ["x", "y", "z"]] += rng.normal(0, 0.05, (60, 3))  # near-copies of train
    numeric = ["x", "y", "z"]
    both = pd.concat([train, holdout])
    low, high = both[numeric].min() - 0.1, both[numeric].max() + 0.1
    train, holdout = _ranges_pinned(train, low, high), _ranges_pinned(holdout, low, high)

    ours = dcr_report(synthetic, train, holdout)
    metadata = sdmetrics_metadata(train)
    theirs = DCROverfittingProtection.compute_breakdown(
        real_training_data=train,
        synthetic_data=synthetic,
        real_validation_data=holdout,
        metadata=metadata,
        table_name="t",
    )["synthetic_data_percentages"]["closer_to_training"]
    assert ours.n_train_folds == 1
    assert ours.dcr_share == pytest.approx(theirs, abs=1e-9)
    assert ours.dcr_share > 0.55  # the near-copies are detected by both
