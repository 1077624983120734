"""Fidelity of a synthetic table: SDMetrics' quality report (docs/metrics.md, "Fidelity").

* Column shapes: per column 1 - KS statistic (numeric, datetime) or 1 - total variation
  distance (categorical, boolean) between real and synthetic marginals.
* Column pair trends: per column pair, correlation similarity 1 - |r_real - r_synth| / 2
  (numeric) or contingency similarity (categorical).
* Overall: the mean of the two property scores, as SDMetrics computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from synth_assets.metrics.row_distance import sdmetrics_metadata


@dataclass(frozen=True)
class FidelityResult:
    overall: float
    column_shapes: float
    column_pair_trends: float
    per_column: pd.DataFrame  # column, metric, score
    per_pair: pd.DataFrame  # column 1, column 2, metric, score, real / synthetic correlation


def fidelity_report(real: pd.DataFrame, synthetic: pd.DataFrame) -> FidelityResult:
    from sdmetrics.reports import QualityReport

    report = QualityReport()
    metadata = {"tables": {"data": sdmetrics_metadata(real)}}
    report.generate({"data": real}, {"data": synthetic[real.columns]}, metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return FidelityResult(
        overall=float(report.get_score()),
        column_shapes=float(properties["Column Shapes"]),
        column_pair_trends=float(properties["Column Pair Trends"]),
        per_column=report.get_details("Column Shapes"),
        per_pair=report.get_details("Column Pair Trends"),
    )


def column_shapes(real: pd.DataFrame, synthetic: pd.DataFrame) -> pd.Series:
    """Per column: KS complement (numeric, datetime) or TV complement (categorical, boolean),
    the Column Shapes metrics of SDMetrics' quality report."""
    from sdmetrics.single_column import KSComplement, TVComplement

    from synth_assets.metrics.row_distance import column_kinds

    scores = {}
    for column, kind in column_kinds(real).items():
        metric = KSComplement if kind in ("numerical", "datetime") else TVComplement
        scores[column] = float(metric.compute(real[column], synthetic[column]))
    return pd.Series(scores, name="score")


def tail_coverage(real: pd.DataFrame, synthetic: pd.DataFrame, quantile: float = 0.05) -> float:
    """How much of the real tails the synthetic data still reaches: per numeric column, the share
    of synthetic values below the real ``quantile`` or above the real ``1 - quantile``, divided
    by the ``2 * quantile`` expected, capped at 1, averaged over numeric columns. Collapsing
    models lose their tails first (Shumailov et al. 2024; docs/metrics.md, "Tail coverage")."""
    numeric = real.select_dtypes("number").columns
    if len(numeric) == 0:
        raise ValueError("tail coverage needs numeric columns")
    shares = []
    for column in numeric:
        low, high = real[column].quantile([quantile, 1 - quantile])
        values = synthetic[column].dropna()
        outside = ((values < low) | (values > high)).mean() if len(values) else 0.0
        shares.append(min(1.0, outside / (2 * quantile)))
    return float(sum(shares) / len(shares))
