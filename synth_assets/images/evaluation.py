"""Fidelity of generated images against the real holdout, always beside the real-vs-real
baseline (real train vs real holdout) at the same n (docs/metrics.md, "FID", "KID",
"Precision, recall, density, coverage", "Class agreement").

Features come from a small CNN trained on the real train split (see :mod:`features`); the same
classifier measures class agreement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from synth_assets.images.features import FeatureExtractor, train_extractor
from synth_assets.images.sources import ImageSplit
from synth_assets.metrics.image import MIN_SAMPLES, ManifoldScores, TooFewSamplesError, fid, kid, prdc


@dataclass(frozen=True)
class ImageEvaluation:
    n: int  # samples per side for FID, KID and PRDC
    feature_extractor: str
    fid: float
    fid_baseline: float
    kid: float  # mean over random half-size subsets
    kid_std: float
    kid_baseline: float
    kid_baseline_std: float
    manifold: ManifoldScores
    manifold_baseline: ManifoldScores
    class_agreement: float
    classifier_holdout_accuracy: float  # the same classifier on real holdout: agreement's ceiling
    # per class (one row per class name): requested (conditioned) and predicted counts of the
    # generated images, agreement within the class, and the classifier's holdout recall there
    per_class: tuple[dict, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


def per_class_results(
    class_names: list[str],
    labels: np.ndarray,
    predicted: np.ndarray,
    holdout_labels: np.ndarray,
    holdout_predicted: np.ndarray,
) -> tuple[dict, ...]:
    """Per class: how many generated images were conditioned on it (requested) and how many the
    real-trained classifier puts in it (predicted), the agreement among those conditioned on
    it, and the classifier's recall of it on the real holdout (agreement's ceiling)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    holdout_labels, holdout_predicted = np.asarray(holdout_labels), np.asarray(holdout_predicted)
    rows = []
    for index, name in enumerate(class_names):
        mine, real = labels == index, holdout_labels == index
        rows.append(
            {
                "class": name,
                "requested": int(mine.sum()),
                "predicted": int((predicted == index).sum()),
                "agreement": float(np.mean(predicted[mine] == index)) if mine.any() else None,
                "holdout_recall": float(np.mean(holdout_predicted[real] == index)) if real.any() else None,
            }
        )
    return tuple(rows)


def evaluate_images(
    split: ImageSplit,
    images: np.ndarray,
    labels: np.ndarray,
    n: int = 500,
    seed: int = 0,
    extractor: FeatureExtractor | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> ImageEvaluation:
    """Compare ``images`` (conditioned on ``labels``) with the real holdout at n samples per side.
    ``n`` is lowered to the smallest set when a set is smaller (logged); below MIN_SAMPLES the
    comparison is refused."""
    if images.shape[1:] != split.train.shape[1:]:
        raise ValueError(f"generated images are {images.shape[1:]}, real ones {split.train.shape[1:]}")
    available = min(len(split.train), len(split.holdout), len(images))
    if available < n:
        log(f"n lowered from {n} to {available}: the smallest of train, holdout and generated sets")
        n = available
    if n < MIN_SAMPLES:
        raise TooFewSamplesError(f"image metrics need at least {MIN_SAMPLES} images per set, got {n}")
    if extractor is None:
        log("training the feature extractor on the real train split")
        extractor = train_extractor(split.train, split.train_labels, len(split.class_names), seed=seed)
    predicted, holdout_predicted = extractor.predict(images), extractor.predict(split.holdout)
    rng = np.random.default_rng(seed)
    pick = {
        name: rng.choice(len(x), n, replace=False)
        for name, x in (("holdout", split.holdout), ("train", split.train), ("fake", images))
    }
    holdout = extractor.features(split.holdout[pick["holdout"]])
    train = extractor.features(split.train[pick["train"]])
    fake = extractor.features(images[pick["fake"]])
    kid_args = {"subset_size": n // 2, "n_subsets": 20, "seed": seed}
    kid_fake, kid_real = kid(holdout, fake, **kid_args), kid(holdout, train, **kid_args)
    evaluation = ImageEvaluation(
        n=n,
        feature_extractor=extractor.name,
        fid=fid(holdout, fake),
        fid_baseline=fid(holdout, train),
        kid=kid_fake[0],
        kid_std=kid_fake[1],
        kid_baseline=kid_real[0],
        kid_baseline_std=kid_real[1],
        manifold=prdc(holdout, fake),
        manifold_baseline=prdc(holdout, train),
        class_agreement=float(np.mean(predicted == labels)),
        classifier_holdout_accuracy=float(np.mean(holdout_predicted == split.holdout_labels)),
        per_class=per_class_results(
            split.class_names, labels, predicted, split.holdout_labels, holdout_predicted
        ),
    )
    log(f"FID {evaluation.fid:.3f} vs real-vs-real {evaluation.fid_baseline:.3f} at n={n}")
    return evaluation
