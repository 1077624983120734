"""Bias amplification: does the synthetic table shift who is in it, or widen the gap in outcomes
between groups of a sensitive column? (docs/metrics.md, "Bias amplification")

Per sensitive column the rows are grouped (categories as they are, the 20 most frequent and the
rest as ``other``; numbers in the real quartiles), and per group we compare, real train vs
synthetic, the group's share of rows and its outcome: the rate of the positive class (binary),
of the rarest class (multiclass), or the target mean (regression). The parity gap is the largest
minus the smallest group outcome, the disparate-impact ratio the smallest over the largest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synth_assets.tabular.identifiers import name_tokens

SENSITIVE_TOKENS = {
    "gender", "sex", "race", "ethnicity", "ethnic", "age", "nationality", "citizenship",
    "religion", "disability", "marital", "orientation", "pregnant", "pregnancy",
}  # fmt: skip
MAX_GROUPS = 20
AGE_BINS = 4
MIN_GROUP_ROWS = 10  # groups smaller than this on either side do not enter the gap


def suggest_sensitive_columns(frame: pd.DataFrame, target: str) -> list[str]:
    """Columns whose name has a token such as gender, sex, race, age, nationality, religion."""
    return [str(c) for c in frame.columns if c != target and set(name_tokens(str(c))) & SENSITIVE_TOKENS]


@dataclass(frozen=True)
class BiasReport:
    column: str
    outcome: str  # what the outcome of a group is, in words
    groups: (
        pd.DataFrame
    )  # group, share_real, share_synthetic, outcome_real, outcome_synthetic, n_real, n_synthetic
    parity_gap_real: float
    parity_gap_synthetic: float
    disparate_impact_real: float | None
    disparate_impact_synthetic: float | None
    max_share_shift: float
    gap_scale: float  # the gap is divided by this before it is judged (1, or the target's std)

    @property
    def gap_increase(self) -> float:
        return (self.parity_gap_synthetic - self.parity_gap_real) / self.gap_scale


def _groups(real: pd.Series, synthetic: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The group label of each row, on both sides, from the real column."""
    if ptypes.is_numeric_dtype(real) and not ptypes.is_bool_dtype(real) and real.nunique() > MAX_GROUPS:
        edges = np.unique(np.nanquantile(real.astype(float), np.linspace(0, 1, AGE_BINS + 1)))
        edges[0], edges[-1] = -np.inf, np.inf
        return (
            pd.cut(s.astype(float), edges).astype(str).where(s.notna(), "missing") for s in (real, synthetic)
        )
    top = real.astype(str).value_counts().index[:MAX_GROUPS]

    def label(s):
        text = s.astype(str).where(s.notna(), "missing")
        return text.where(text.isin(top) | (text == "missing"), "other")

    return label(real), label(synthetic)


def _outcome(train_target: pd.Series, task_type: str):
    """(name, per-row outcome function) for the task."""
    if task_type == "regression":
        return "mean of the target", lambda y: pd.to_numeric(y, errors="coerce").astype(float)
    labels = train_target.value_counts()
    values = set(labels.index.tolist())
    if task_type == "binary" and values in ({0, 1}, {False, True}):
        positive = 1
    else:
        positive = labels.index[-1]  # the rarest class
    return f"rate of target = {positive!r}", lambda y: (y == positive).astype(float)


def bias_report(
    real: pd.DataFrame, synthetic: pd.DataFrame, column: str, target: str, task_type: str
) -> BiasReport:
    """Group shares and outcomes of ``column``, real train vs synthetic."""
    if column not in real.columns or column not in synthetic.columns:
        raise ValueError(f"sensitive column {column!r} is not in both tables")
    name, outcome = _outcome(real[target], task_type)
    g_real, g_synth = _groups(real[column], synthetic[column])
    rows = []
    for group in sorted(set(g_real) | set(g_synth)):
        in_real, in_synth = (g_real == group).to_numpy(), (g_synth == group).to_numpy()
        rows.append(
            {
                "group": group,
                "share_real": float(in_real.mean()),
                "share_synthetic": float(in_synth.mean()),
                "outcome_real": float(outcome(real[target][in_real]).mean()) if in_real.any() else np.nan,
                "outcome_synthetic": float(outcome(synthetic[target][in_synth]).mean())
                if in_synth.any()
                else np.nan,
                "n_real": int(in_real.sum()),
                "n_synthetic": int(in_synth.sum()),
            }
        )
    groups = pd.DataFrame(rows)
    judged = groups[(groups.n_real >= MIN_GROUP_ROWS) & (groups.n_synthetic >= MIN_GROUP_ROWS)]
    scale = float(pd.to_numeric(real[target]).std()) if task_type == "regression" else 1.0
    return BiasReport(
        column=column,
        outcome=name,
        groups=groups,
        parity_gap_real=_gap(judged.outcome_real),
        parity_gap_synthetic=_gap(judged.outcome_synthetic),
        disparate_impact_real=_impact(judged.outcome_real),
        disparate_impact_synthetic=_impact(judged.outcome_synthetic),
        max_share_shift=float((groups.share_synthetic - groups.share_real).abs().max()),
        gap_scale=scale if scale > 0 else 1.0,
    )


def _gap(values: pd.Series) -> float:
    return float(values.max() - values.min()) if len(values) > 1 else 0.0


def _impact(values: pd.Series) -> float | None:
    if len(values) < 2 or values.max() <= 0 or values.min() < 0:
        return None
    return float(values.min() / values.max())
