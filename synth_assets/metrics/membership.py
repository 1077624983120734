"""Density-ratio membership-inference attack in the style of DOMIAS.

Reference: B. van Breugel, H. Sun, Z. Qian, M. van der Schaar, "Membership Inference Attacks
against Synthetic Data through Overfitting Detection", AISTATS 2023 (arXiv:2302.12580).

Pure logic, no Dagster imports. Column kinds and value parsing come from
:mod:`synth_assets.metrics.row_distance`, so rows are read exactly as the distance metrics read
them; the pairwise encoding there is built for L1 row distances, so a density needs its own
vector encoding (:func:`encode_rows`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from synth_assets.metrics.row_distance import ONE_HOT_MAX_LEVELS, _as_float, column_kinds

MAX_COMPONENTS = 10
MIN_ROWS = 10  # per side: member targets, non-member targets, reference rows, synthetic rows
_VARIANCE_FLOOR = 1e-12  # relative to the largest component's variance: below it a component is dropped


@dataclass(frozen=True)
class DensityMIAResult:
    auc: float  # ROC AUC of log p_G(x) - log p_R(x), members (1) vs non-members (0)
    n_members: int  # train rows scored as targets
    n_non_members: int  # holdout rows scored as targets (the half not used as reference)
    n_reference: int  # holdout rows the attacker holds as a population sample (fits p_R)
    n_synthetic: int  # synthetic rows the generator density p_G is fitted on
    n_components: int  # PCA dimensions the densities live in
    bandwidth_synthetic: float  # KDE bandwidth of p_G, standardized units
    bandwidth_reference: float  # KDE bandwidth of p_R, standardized units

    def as_dict(self) -> dict:
        return asdict(self)


def _take(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return frame.iloc[rows].reset_index(drop=True)


def encode_rows(fit: pd.DataFrame, frames: list[pd.DataFrame]) -> list[np.ndarray]:
    """Encode each of ``frames`` as float rows, with scales and categories taken from ``fit``.

    * numerical / datetime (seconds): ``(x - min) / range`` with ``fit``'s min and range (range 0
      -> 1). Missing or non-finite values get the ``fit`` median, plus a 0/1 "missing" column
      when any frame has a missing value in that column;
    * categorical / boolean: one-hot over ``fit``'s non-missing values (the
      ``ONE_HOT_MAX_LEVELS`` most frequent when there are more); values ``fit`` lacks are all
      zeros; a "missing" column is added as for numbers.
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for column, kind in column_kinds(fit).items():
        if kind in ("numerical", "datetime"):
            real = _as_float(fit[column])
            finite = real[np.isfinite(real)]
            low = float(finite.min()) if finite.size else 0.0
            span = float(finite.max()) - low if finite.size else 0.0
            span = span if span > 0 else 1.0
            fill = (float(np.median(finite)) - low) / span if finite.size else 0.0
            values = [(_as_float(frame[column]) - low) / span for frame in frames]
            missing = [~np.isfinite(v) for v in values]
            for block, v, m in zip(blocks, values, missing, strict=True):
                block.append(np.where(m, fill, v)[:, None])
        else:
            real = fit[column].astype(object)
            levels = real[real.notna()].value_counts(sort=True).index[:ONE_HOT_MAX_LEVELS]
            missing = []
            for block, frame in zip(blocks, frames, strict=True):
                values = frame[column].astype(object)
                codes = pd.Categorical(values, categories=levels).codes
                onehot = np.zeros((len(frame), len(levels)))
                seen = codes >= 0
                onehot[np.flatnonzero(seen), codes[seen]] = 1.0
                block.append(onehot)
                missing.append(values.isna().to_numpy())
        if any(m.any() for m in missing):
            for block, m in zip(blocks, missing, strict=True):
                block.append(m.astype(np.float64)[:, None])
    return [
        np.concatenate(block, axis=1) if block else np.zeros((len(frame), 0))
        for block, frame in zip(blocks, frames, strict=True)
    ]


def scott_bandwidth(n_rows: int, n_dims: int) -> float:
    """Scott's rule ``n ** (-1 / (d + 4))`` for standardized data."""
    return float(n_rows ** (-1.0 / (n_dims + 4)))


def density_ratio_mia_auc(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    max_rows: int = 5000,
    seed: int = 0,
    bandwidth: float | None = None,
) -> DensityMIAResult:
    """ROC AUC of a DOMIAS density-ratio membership-inference attack.

    What it measures: whether someone holding the synthetic data, plus a sample of the same
    population that was not used for training, could tell who was in the train split. The
    attacker scores each target row ``x`` by ``log p_G(x) - log p_R(x)``: the synthetic data's
    density over the population's. A generator that overfits puts extra mass around its train
    rows, so the ratio is high there even where the population is dense anyway (van Breugel et
    al., "Membership Inference Attacks against Synthetic Data through Overfitting Detection",
    AISTATS 2023). 0.5 means the synthetic data reveals nothing about membership; 1.0 means it
    reveals everyone.

    Dividing by the population density is what makes this stronger than the nearest-distance
    attack (:func:`synth_assets.metrics.privacy.membership_inference_auc`) when the generator
    overfits locally: a distance attack calls every row in a dense region "close" and every
    outlier "far", whatever its membership, while the ratio asks whether the synthetic data is
    denser at ``x`` than the population there.

    Procedure (all sampling from one ``numpy`` generator seeded with ``seed``):

    * the holdout is shuffled and halved: the first half (at most ``max_rows``) is the
      attacker's reference sample, the second half gives ``n`` non-member targets; ``n`` train
      rows (seeded sample) are the member targets, ``n = min(second half, |train|, max_rows)``;
      the synthetic rows are sampled down to ``max_rows``;
    * rows are encoded with :func:`encode_rows`, scales fitted on train + holdout; PCA (at most
      ``MAX_COMPONENTS`` components, near-constant ones dropped) is fitted on the synthetic +
      reference rows, never on the targets, and the components are standardized on those rows;
    * Gaussian :class:`sklearn.neighbors.KernelDensity` fits p_G on the synthetic rows and p_R
      on the reference rows, bandwidth ``bandwidth`` or else Scott's rule ``n ** (-1/(d+4))``
      for each fit's own ``n`` rows in ``d`` dimensions.

    Raises ``ValueError`` with fewer than ``MIN_ROWS`` member targets, non-member targets,
    reference rows or synthetic rows, or when no column varies.
    """
    from sklearn.decomposition import PCA
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import KernelDensity

    if bandwidth is not None and not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    columns = list(train.columns)
    for name, frame in (("synthetic", synthetic), ("holdout", holdout)):
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            raise ValueError(f"{name} rows lack train columns {lacking}")
    half = len(holdout) // 2
    n_reference = min(half, max_rows)
    n = min(len(holdout) - half, len(train), max_rows)
    n_synthetic = min(len(synthetic), max_rows)
    if min(n, n_reference, n_synthetic) < MIN_ROWS:
        raise ValueError(
            f"density-ratio MIA needs at least {MIN_ROWS} member targets, non-member targets, "
            f"reference rows and synthetic rows; got {n} target(s) per side (train {len(train)}, "
            f"holdout {len(holdout)} halved), {n_reference} reference and {n_synthetic} synthetic"
        )

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(holdout))
    reference = _take(holdout[columns], order[:n_reference])
    non_members = _take(holdout[columns], order[half : half + n])
    members = _take(train, rng.permutation(len(train))[:n])
    generated = _take(synthetic[columns], rng.permutation(len(synthetic))[:n_synthetic])

    fit = pd.concat([train, holdout[columns]], ignore_index=True)
    x_gen, x_ref, x_mem, x_non = encode_rows(fit, [generated, reference, members, non_members])
    background = np.vstack([x_gen, x_ref])
    n_components = min(MAX_COMPONENTS, background.shape[1], len(background) - 1)
    if n_components < 1:
        raise ValueError("density-ratio MIA needs at least one encoded column")
    pca = PCA(n_components=n_components, svd_solver="full").fit(background)
    variance = pca.explained_variance_
    keep = variance > _VARIANCE_FLOOR * max(float(variance.max()), _VARIANCE_FLOOR)
    if not keep.any():
        raise ValueError("density-ratio MIA needs at least one column that varies")
    scale = np.sqrt(variance[keep])

    def project(x: np.ndarray) -> np.ndarray:
        return pca.transform(x)[:, keep] / scale

    z_gen, z_ref, z_targets = project(x_gen), project(x_ref), project(np.vstack([x_mem, x_non]))
    d = int(keep.sum())
    h_gen = bandwidth if bandwidth is not None else scott_bandwidth(len(z_gen), d)
    h_ref = bandwidth if bandwidth is not None else scott_bandwidth(len(z_ref), d)
    log_p_gen = KernelDensity(kernel="gaussian", bandwidth=h_gen).fit(z_gen).score_samples(z_targets)
    log_p_ref = KernelDensity(kernel="gaussian", bandwidth=h_ref).fit(z_ref).score_samples(z_targets)
    score = log_p_gen - log_p_ref
    # both -inf (a target far from every row): no evidence either way
    score = np.nan_to_num(score, nan=0.0, posinf=np.finfo(float).max, neginf=-np.finfo(float).max)
    auc = roc_auc_score(np.r_[np.ones(n), np.zeros(n)], score)
    return DensityMIAResult(
        auc=float(auc),
        n_members=n,
        n_non_members=n,
        n_reference=n_reference,
        n_synthetic=n_synthetic,
        n_components=d,
        bandwidth_synthetic=float(h_gen),
        bandwidth_reference=float(h_ref),
    )
