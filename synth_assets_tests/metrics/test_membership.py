import numpy as np
import pandas as pd
import pytest

from synth_assets.metrics.membership import density_ratio_mia_auc, encode_rows

from ..conftest import make_mixed_table


def _splits(n_train: int, n_holdout: int, n_fresh: int, seed: int = 5):
    """One population (every column kind, with missing values) cut into train / holdout / fresh."""
    population = make_mixed_table(n_train + n_holdout + n_fresh, seed=seed)
    cuts = np.cumsum([0, n_train, n_holdout, n_fresh])
    return [population.iloc[lo:hi].reset_index(drop=True) for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]


def _jitter(frame: pd.DataFrame, scale: float = 0.01, seed: int = 1) -> pd.DataFrame:
    """Train rows with tiny noise: a generator that memorised its train split."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for column in ("age", "income"):
        span = np.nanmax(out[column]) - np.nanmin(out[column])
        out[column] = out[column] + rng.normal(0, scale * span, len(out))
    out["joined"] = out["joined"] + pd.to_timedelta(rng.normal(0, scale * 1500, len(out)), unit="D")
    return out


def test_encode_rows_scales_by_real_range_and_flags_missing():
    fit = pd.DataFrame({"a": [0.0, 10.0, np.nan], "c": ["x", "y", "x"]})
    rows = pd.DataFrame({"a": [5.0, np.nan], "c": ["y", "new"]})
    (encoded,) = encode_rows(fit, [rows])
    # a scaled by the range 10, missing filled with the median (5 -> 0.5) plus a missing flag;
    # c one-hot over the real levels ordered by frequency (x, y); an unseen level is all zeros
    np.testing.assert_allclose(encoded, [[0.5, 0.0, 0.0, 1.0], [0.5, 1.0, 0.0, 0.0]])


def test_fresh_sample_from_the_population_reveals_nothing():
    train, holdout, fresh = _splits(1000, 1000, 1000)
    result = density_ratio_mia_auc(fresh, train, holdout, seed=0)
    assert result.auc == pytest.approx(0.5, abs=0.12)  # observed 0.52
    assert (result.n_members, result.n_non_members, result.n_reference, result.n_synthetic) == (
        500,
        500,
        500,
        1000,
    )
    assert 1 <= result.n_components <= 10


def test_overfitting_generator_is_detected():
    train, holdout, _ = _splits(200, 1000, 0)
    result = density_ratio_mia_auc(_jitter(train), train, holdout, seed=0)
    assert result.auc > 0.7  # observed 0.77
    assert result.n_members == result.n_non_members == 200 and result.n_reference == 500


def test_same_seed_same_result_other_seed_other_sample():
    train, holdout, _ = _splits(200, 400, 0)
    synthetic = _jitter(train)
    first = density_ratio_mia_auc(synthetic, train, holdout, seed=3)
    assert density_ratio_mia_auc(synthetic, train, holdout, seed=3) == first
    assert density_ratio_mia_auc(synthetic, train, holdout, seed=4).auc != first.auc


def test_max_rows_and_explicit_bandwidth():
    train, holdout, fresh = _splits(300, 300, 300)
    result = density_ratio_mia_auc(fresh, train, holdout, max_rows=50, bandwidth=0.3)
    counts = (result.n_members, result.n_non_members, result.n_reference, result.n_synthetic)
    assert counts == (50, 50, 50, 50)
    assert result.bandwidth_synthetic == result.bandwidth_reference == 0.3
    with pytest.raises(ValueError, match="bandwidth"):
        density_ratio_mia_auc(fresh, train, holdout, bandwidth=0.0)


def test_too_few_rows_raise():
    train, holdout, fresh = _splits(100, 100, 100)
    with pytest.raises(ValueError, match="at least 10"):
        density_ratio_mia_auc(fresh, train, holdout.iloc[:15])  # 7 reference, 8 non-member targets
    with pytest.raises(ValueError, match="at least 10"):
        density_ratio_mia_auc(fresh, train.iloc[:9], holdout)  # 9 member targets
    with pytest.raises(ValueError, match="at least 10"):
        density_ratio_mia_auc(fresh.iloc[:5], train, holdout)  # 5 synthetic rows
    with pytest.raises(ValueError, match="lack train columns"):
        density_ratio_mia_auc(fresh.drop(columns="city"), train, holdout)
