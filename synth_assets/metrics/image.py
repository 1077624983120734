"""Image fidelity metrics on feature vectors (docs/metrics.md, "FID", "KID", "Precision,
recall, density, coverage"). All numerics in float64.

* FID (Heusel et al. 2017) = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)). FID is biased by
  the sample size, so it is only comparable at a fixed n and next to a real-vs-real baseline
  at the same n; :func:`fid_at_n` samples both sides to exactly n.
* KID (Binkowski et al. 2018) = unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3.
* Precision / recall (Kynkaanniemi et al. 2019) and density / coverage (Naeem et al. 2020) from
  k-nearest-neighbour balls around real and fake features.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.spatial.distance import cdist

MIN_SAMPLES = 10  # below this a covariance (and FID) is noise
IMAGINARY_TOLERANCE = 1e-3


class TooFewSamplesError(ValueError):
    """Too few feature vectors for a meaningful estimate."""


def _as_features(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples x features), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between two Gaussians; tolerates sqrtm's tiny imaginary residue and
    nearly singular covariances (adds eps * I when the product's square root is not finite)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("means and covariances must have matching shapes")
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if caught or not np.isfinite(covmean).all():  # singular product: regularise slightly
        offset = np.eye(sigma1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAGINARY_TOLERANCE):
            raise ValueError(f"sqrtm has a large imaginary part ({np.abs(covmean.imag).max():.3g})")
        covmean = covmean.real
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def fid(real, fake) -> float:
    """FID between two feature sets (rows are samples)."""
    real, fake = _as_features(real, "real features"), _as_features(fake, "fake features")
    for name, x in (("real", real), ("fake", fake)):
        if len(x) < MIN_SAMPLES:
            raise TooFewSamplesError(f"FID needs at least {MIN_SAMPLES} {name} samples, got {len(x)}")
    return frechet_distance(
        real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False)
    )


def fid_at_n(real, fake, n: int, seed: int = 0) -> float:
    """FID with exactly ``n`` samples from each side (seeded, without replacement)."""
    real, fake = _as_features(real, "real features"), _as_features(fake, "fake features")
    if n < MIN_SAMPLES:
        raise TooFewSamplesError(f"n must be at least {MIN_SAMPLES}, got {n}")
    for name, x in (("real", real), ("fake", fake)):
        if len(x) < n:
            raise TooFewSamplesError(f"FID at n={n} needs {n} {name} samples, got {len(x)}")
    rng = np.random.default_rng(seed)
    return fid(real[rng.choice(len(real), n, replace=False)], fake[rng.choice(len(fake), n, replace=False)])


def kid(
    real, fake, subset_size: int | None = None, n_subsets: int = 10, seed: int = 0
) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel; mean and std over random subsets
    (the whole sets when ``subset_size`` is None)."""
    real, fake = _as_features(real, "real features"), _as_features(fake, "fake features")
    m = min(len(real), len(fake)) if subset_size is None else subset_size
    if m < 2 or m > min(len(real), len(fake)):
        raise TooFewSamplesError(f"KID subsets of {m} need 2 <= m <= min(n_real, n_fake)")
    rng = np.random.default_rng(seed)
    d = real.shape[1]
    values = []
    for _ in range(n_subsets if subset_size is not None else 1):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        off = m * (m - 1)
        values.append(
            (kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2.0 * kxy.mean()
        )
    return float(np.mean(values)), float(np.std(values))


@dataclass(frozen=True)
class ManifoldScores:
    precision: float
    recall: float
    density: float
    coverage: float


def _kth_neighbour_radius(x: np.ndarray, k: int) -> np.ndarray:
    distances = cdist(x, x)
    return np.sort(distances, axis=1)[:, k]  # column 0 is the point itself


def prdc(real, fake, k: int = 5) -> ManifoldScores:
    """Precision, recall (Kynkaanniemi 2019), density and coverage (Naeem 2020) with k-NN balls."""
    real, fake = _as_features(real, "real features"), _as_features(fake, "fake features")
    if min(len(real), len(fake)) <= k:
        raise TooFewSamplesError(f"PRDC with k={k} needs more than {k} samples on each side")
    real_radius = _kth_neighbour_radius(real, k)
    fake_radius = _kth_neighbour_radius(fake, k)
    real_fake = cdist(real, fake)  # real x fake
    inside_real = real_fake < real_radius[:, None]  # fake j inside real i's ball
    precision = float(inside_real.any(axis=0).mean())
    recall = float((real_fake < fake_radius[None, :]).any(axis=1).mean())
    density = float(inside_real.sum(axis=0).mean() / k)
    coverage = float((real_fake.min(axis=1) < real_radius).mean())
    return ManifoldScores(precision, recall, density, coverage)
