"""How many real items anchor a synthetic dataset (model-collapse mitigation).

Training on synthetic data only, generation after generation, loses the tails of the real
distribution (Shumailov et al., Nature 2024); keeping a share of real data prevents it. The
real share is ``n_real / (n_real + n_synthetic)``: never below 5 %, 10 % by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synth_assets.errors import InputDataError

MIN_REAL_SHARE = 0.05
DEFAULT_REAL_SHARE = 0.10


@dataclass(frozen=True)
class AnchorPlan:
    requested_share: float
    n_synthetic: int
    n_real_wanted: int
    n_real: int  # what is available and used
    real_indices: np.ndarray  # positions in the real pool, seeded

    @property
    def real_share(self) -> float:
        total = self.n_real + self.n_synthetic
        return self.n_real / total if total else 0.0

    @property
    def short_by(self) -> int:
        return self.n_real_wanted - self.n_real

    def describe(self) -> str:
        text = f"{self.n_real} real + {self.n_synthetic} synthetic, real share {self.real_share:.4f}"
        if self.short_by:
            text += (
                f" (requested {self.requested_share:.4f} needs {self.n_real_wanted} real items; "
                f"only {self.n_real} are available)"
            )
        return text


def validate_share(real_share: float) -> float:
    if not MIN_REAL_SHARE <= real_share < 1:
        raise InputDataError(
            f"real_share must be at least {MIN_REAL_SHARE} (5 %: the anchor that prevents model "
            f"collapse) and below 1, got {real_share}"
        )
    return float(real_share)


def plan_anchor(n_synthetic: int, n_real_available: int, real_share: float, seed: int = 0) -> AnchorPlan:
    """Real items needed so that real / (real + synthetic) is ``real_share`` (rounded to the
    nearest whole item), drawn without replacement from the real pool."""
    real_share = validate_share(real_share)
    if n_synthetic < 0 or n_real_available < 0:
        raise ValueError("counts must be non-negative")
    wanted = max(1, math.floor(real_share * n_synthetic / (1 - real_share) + 0.5))
    n_real = min(wanted, n_real_available)
    indices = np.sort(np.random.default_rng(seed).choice(n_real_available, n_real, replace=False))
    return AnchorPlan(real_share, n_synthetic, wanted, n_real, indices)
