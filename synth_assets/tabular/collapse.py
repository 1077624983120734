"""Model collapse, measured: a synthesizer refit generation after generation on the previous
generation's output, once on synthetic data only and once with a real anchor.

Generation 0 is the real train split. Generation g is sampled from a synthesizer fit on
generation g-1; in the anchored arm a ``real_share`` of each generation is real train rows.
Both arms use the same seeds, so they differ only by the anchor. Each generation's model is
measured on ``eval_rows`` extra rows it samples (so the measurement itself is not noisy):
fidelity (mean Column Shapes score) and tail coverage against the real train split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth_assets.metrics.fidelity import column_shapes, tail_coverage
from synth_assets.mix.anchor import validate_share
from synth_assets.tabular.synthesizers import synthesize


@dataclass(frozen=True)
class CollapseCurve:
    curve: pd.DataFrame  # generation, arm (synthetic_only / anchored), fidelity, tail_coverage
    real_share: float
    synthesizer: str
    n_rows: int

    def to_bundle(self):
        return {"curve": self.curve}, {
            "real_share": self.real_share,
            "synthesizer": self.synthesizer,
            "n_rows": self.n_rows,
        }

    @classmethod
    def from_bundle(cls, parts, meta) -> CollapseCurve:
        return cls(parts["curve"], **meta)

    def final(self, arm: str) -> pd.Series:
        rows = self.curve[self.curve["arm"] == arm]
        return rows.loc[rows["generation"].idxmax()]


def collapse_curve(
    train: pd.DataFrame,
    generations: int = 15,
    real_share: float = 0.10,
    synthesizer: str = "gaussian_copula",
    seed: int = 0,
    eval_rows: int = 2000,
    log: Callable[[str], None] = lambda message: None,
) -> CollapseCurve:
    validate_share(real_share)
    if generations < 1:
        raise ValueError(f"generations must be >= 1, got {generations}")
    n = len(train)
    rows = []
    for arm, share in (("synthetic_only", 0.0), ("anchored", real_share)):
        data = train
        for generation in range(1, generations + 1):
            generation_seed = seed * 1000 + generation
            n_real = int(round(share * n))
            drawn = synthesize(
                data, kind=synthesizer, num_rows=n - n_real + eval_rows, seed=generation_seed
            ).data
            sample, evaluation = drawn.iloc[: n - n_real], drawn.iloc[n - n_real :]
            if n_real:
                real_rows = np.random.default_rng(generation_seed).choice(n, n_real, replace=False)
                sample = pd.concat([sample, train.iloc[real_rows]], ignore_index=True)
            data = sample.reset_index(drop=True)
            fidelity = float(column_shapes(train, evaluation).mean())
            tails = tail_coverage(train, evaluation)
            rows.append((generation, arm, fidelity, tails))
            log(f"collapse curve: {arm} generation {generation}: fidelity {fidelity:.4f}, tails {tails:.4f}")
    curve = pd.DataFrame(rows, columns=["generation", "arm", "fidelity", "tail_coverage"])
    return CollapseCurve(curve, real_share, synthesizer, n)
