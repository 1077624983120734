import numpy as np
import pytest
from scipy import linalg

from synth_assets.metrics.image import (
    TooFewSamplesError,
    fid,
    fid_at_n,
    frechet_distance,
    kid,
    prdc,
)


def test_frechet_distance_closed_form_diagonal():
    # diagonal covariances: ||mu1-mu2||^2 + sum (sqrt(a) - sqrt(b))^2
    mu1, mu2 = np.array([0.0, 1.0]), np.array([3.0, -1.0])
    s1, s2 = np.diag([4.0, 9.0]), np.diag([1.0, 1.0])
    expected = (9 + 4) + (2 - 1) ** 2 + (3 - 1) ** 2
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, abs=1e-10)


def test_frechet_distance_closed_form_full_covariances():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    s1, s2 = a @ a.T + np.eye(3), b @ b.T + np.eye(3)
    mu1, mu2 = rng.normal(size=3), rng.normal(size=3)
    root = linalg.sqrtm(s1)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(root @ s2 @ root).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)


def test_fid_of_samples_from_two_known_gaussians():
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, size=(20000, 2))
    y = rng.normal([2.0, 0.0], [2.0, 1.0], size=(20000, 2))
    # closed form: 4 + (1 - 2)^2 + 0 = 5
    assert fid(x, y) == pytest.approx(5.0, abs=0.1)
    assert fid(x[:10000], x[10000:]) < 0.01


def test_fid_at_n_uses_exactly_n_and_refuses_tiny_n():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(500, 4)), rng.normal(size=(300, 4))
    assert fid_at_n(x, y, 200, seed=3) == fid_at_n(x, y, 200, seed=3)
    with pytest.raises(TooFewSamplesError, match="needs 400 fake samples"):
        fid_at_n(x, y, 400)
    with pytest.raises(TooFewSamplesError, match="at least 10"):
        fid(x[:5], y[:5])


def test_fid_handles_singular_covariance():
    rng = np.random.default_rng(4)
    x = np.c_[rng.normal(size=100), np.zeros(100)]  # second feature constant
    assert np.isfinite(fid(x, x + 0.5))


def test_kid_unbiased_near_zero_for_same_distribution_and_positive_otherwise():
    rng = np.random.default_rng(5)
    x, x2, y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8)), rng.normal(1.0, 1.0, size=(400, 8))
    same, _ = kid(x, x2)
    different, _ = kid(x, y)
    assert abs(same) < 0.05 and different > 1.0


def test_kid_hand_computed_tiny():
    x = np.array([[0.0], [1.0]])
    y = np.array([[1.0], [2.0]])
    k = lambda a, b: (a * b + 1.0) ** 3  # noqa: E731  d = 1
    expected = (2 * k(0, 1)) / 2 + (2 * k(1, 2)) / 2 - 2 * np.mean([k(a, b) for a in (0, 1) for b in (1, 2)])
    assert kid(x, y)[0] == pytest.approx(expected)


def test_prdc_detects_mode_collapse():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(500, 2))
    good = rng.normal(size=(500, 2))
    collapsed = rng.normal(scale=0.1, size=(500, 2))  # all fakes in the centre of the real data
    fair, bad = prdc(real, good), prdc(real, collapsed)
    assert fair.precision > 0.8 and fair.recall > 0.8 and 0.7 < fair.density < 1.3 and fair.coverage > 0.8
    assert bad.precision > 0.9 and bad.recall < 0.2 and bad.coverage < 0.3


def test_bad_feature_arrays():
    with pytest.raises(ValueError, match="2-D"):
        fid(np.zeros(20), np.zeros(20))
    with pytest.raises(ValueError, match="NaN"):
        fid(np.full((20, 2), np.nan), np.zeros((20, 2)))
