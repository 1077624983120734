"""Privacy metrics: distance to closest record (DCR) against train vs holdout, exact matches,
NNDR and a distance membership-inference attack (docs/metrics.md, "DCR share",
"Exact-match share", "NNDR", "Membership inference")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from synth_assets.metrics.row_distance import column_spans, nearest_distances, row_hashes

TIE_TOLERANCE = 1e-12


def dcr_share(d_train: np.ndarray, d_holdout: np.ndarray) -> float:
    """Share of rows whose nearest train row is closer than their nearest holdout row.

    (docs/metrics.md, "DCR share"): ties count 1/2. Distances within ``TIE_TOLERANCE`` are ties, so float
    summation noise cannot break them. About 0.5 means the synthesizer did not learn the train
    rows more closely than unseen rows from the same population; a copy of train gives ~1.0.
    """
    d_train, d_holdout = np.asarray(d_train, float), np.asarray(d_holdout, float)
    if d_train.shape != d_holdout.shape or d_train.size == 0:
        raise ValueError("need two equally long, non-empty distance arrays")
    tie = np.abs(d_train - d_holdout) <= TIE_TOLERANCE
    closer = (d_train < d_holdout) & ~tie
    return float(np.mean(np.where(tie, 0.5, closer.astype(float))))


def exact_match_share(rows: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Share of ``rows`` identical (every column, missing == missing) to some reference row
    (docs/metrics.md, "Exact-match share")."""
    if len(rows) == 0:
        raise ValueError("no rows to compare")
    return float(np.mean(np.isin(row_hashes(rows), row_hashes(reference[rows.columns]))))


@dataclass(frozen=True)
class DCRResult:
    dcr_share: float
    exact_match_share: float
    holdout_exact_match_share: float
    median_dcr: float
    median_dcr_holdout: float
    n_rows_compared: int
    n_reference_rows: int
    n_train_folds: int

    def as_dict(self) -> dict:
        return asdict(self)


def dcr_report(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    seed: int = 0,
    max_rows: int | None = None,
    max_folds: int = 10,
    log: Callable[[str], None] = lambda message: None,
) -> DCRResult:
    """DCR share of ``synthetic`` against equal-size samples of ``train`` and ``holdout``.

    The reference size ``n`` is the smaller of train and holdout (and ``max_rows`` if given).
    Train is cut (seeded permutation) into ``ceil(len(train) / n)`` folds of ``n`` rows, at most
    ``max_folds``, the last one topped up by wrapping around; the share is computed against
    each fold and the same ``n`` holdout rows, then averaged. Averaging over folds uses every
    train row and removes the luck of one sample without breaking the equal-size comparison.
    Synthetic rows are sampled down to ``max_rows`` if given. Numeric ranges come from all
    real rows (train and holdout), so both distances share one scale.

    With train larger than holdout, a verbatim copy of the whole train split scores about
    ``0.5 + 0.5 * n / len(train)`` (0.71 at a 30 % holdout), not 1.0: a copied row is only seen
    as a copy in the fold holding its original. ``exact_match_share`` catches verbatim copies
    at any split size; it is measured against the whole train split, beside the holdout's own
    exact-match share (the rate at which unseen real rows duplicate train rows).
    ``median_dcr`` is the mean over folds of the median synthetic-to-train distance.
    """
    columns = list(train.columns)
    n_reference = min(len(train), len(holdout), max_rows or len(train))
    if n_reference < 1 or len(synthetic) < 1:
        raise ValueError("DCR needs at least one synthetic, train and holdout row")
    rng = np.random.default_rng(seed)
    holdout_sample = _take(holdout, rng.permutation(len(holdout))[:n_reference])
    compared = synthetic[columns]
    if max_rows is not None and len(compared) > max_rows:
        compared = _take(compared, rng.permutation(len(compared))[:max_rows])
    spans = column_spans(pd.concat([train, holdout[columns]], ignore_index=True))
    d_holdout = nearest_distances(compared, holdout_sample, spans=spans)[:, 0]
    order = rng.permutation(len(train))
    n_folds = min(max_folds, -(-len(train) // n_reference))
    log(
        f"DCR: {len(compared)} synthetic rows vs {n_reference} holdout rows and {n_folds} train "
        f"fold(s) of {n_reference} rows"
    )
    shares, medians = [], []
    for fold in range(n_folds):
        if n_folds > 1:
            log(f"DCR: train fold {fold + 1} of {n_folds}")
        rows = np.take(order, np.arange(fold * n_reference, (fold + 1) * n_reference), mode="wrap")
        d_train = nearest_distances(compared, _take(train, rows), spans=spans)[:, 0]
        shares.append(dcr_share(d_train, d_holdout))
        medians.append(float(np.median(d_train)))
    return DCRResult(
        dcr_share=float(np.mean(shares)),
        exact_match_share=exact_match_share(synthetic[columns], train),
        holdout_exact_match_share=exact_match_share(holdout[columns], train),
        median_dcr=float(np.mean(medians)),
        median_dcr_holdout=float(np.median(d_holdout)),
        n_rows_compared=len(compared),
        n_reference_rows=n_reference,
        n_train_folds=n_folds,
    )


def _take(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return frame.iloc[rows].reset_index(drop=True)


@dataclass(frozen=True)
class NNDRResult:
    median_nndr: float  # synthetic rows: distance to nearest / second-nearest train row
    median_nndr_holdout: float  # the same for unseen real rows: the baseline
    share_below_half: float  # synthetic rows whose nearest train row is < half the second's distance
    share_below_half_holdout: float


def nndr_report(
    synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, max_rows: int = 5000, seed: int = 0
) -> NNDRResult:
    """Nearest-neighbour distance ratio d1 / d2 to train rows (docs/metrics.md, "NNDR"; lower means a
    row sits near one particular record). Beside the same ratio for holdout rows; rows with
    d2 = 0 count as ratio 1 when d1 = 0 too (two identical neighbours identify no single one)."""
    columns = list(train.columns)
    spans = column_spans(pd.concat([train, holdout[columns]], ignore_index=True))
    rng = np.random.default_rng(seed)

    def ratios(rows: pd.DataFrame) -> np.ndarray:
        if len(rows) > max_rows:
            rows = _take(rows, rng.permutation(len(rows))[:max_rows])
        d = nearest_distances(rows[columns], train, k=2, spans=spans)
        return np.divide(d[:, 0], d[:, 1], out=np.ones(len(d)), where=d[:, 1] > 0)

    synth, real = ratios(synthetic), ratios(holdout)
    return NNDRResult(
        float(np.median(synth)),
        float(np.median(real)),
        float(np.mean(synth < 0.5)),
        float(np.mean(real < 0.5)),
    )


def membership_inference_auc(
    synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, max_rows: int = 5000, seed: int = 0
) -> float:
    """ROC AUC of a distance attack: an attacker holding the synthetic data scores each real row
    by closeness to its nearest synthetic row and guesses "member of train" for close rows.
    Members are train rows, non-members the holdout, equal numbers of each. 0.5 means the
    synthetic data does not reveal who was in the train split; 1.0 means it reveals everyone
    (docs/metrics.md, "Membership inference")."""
    from sklearn.metrics import roc_auc_score

    columns = list(train.columns)
    n = min(len(train), len(holdout), max_rows)
    rng = np.random.default_rng(seed)
    members = _take(train, rng.permutation(len(train))[:n])
    others = _take(holdout[columns], rng.permutation(len(holdout))[:n])
    spans = column_spans(pd.concat([train, holdout[columns]], ignore_index=True))
    reference = synthetic[columns]
    if len(reference) > max_rows:
        reference = _take(reference, rng.permutation(len(reference))[:max_rows])
    closeness = -np.concatenate(
        [nearest_distances(frame, reference, spans=spans)[:, 0] for frame in (members, others)]
    )
    return float(roc_auc_score(np.r_[np.ones(n), np.zeros(n)], closeness))
