"""A check's verdict: what was measured, against which rule, with what result.

Asset checks are the one place a verdict is computed. A :class:`Verdict` travels with the check
result (``to_json`` in its metadata); the scorecards read it back (``from_json``) instead of
measuring again. Pure logic: no Dagster imports.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

SIGNIFICANT_DIGITS = 4


def round_sig(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (inf, nan and 0 unchanged)."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def rounded(obj: Any) -> Any:
    """``obj`` with every float (nested in dicts, lists and tuples) rounded by :func:`round_sig`;
    numpy scalars become Python numbers."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "item") and not isinstance(obj, dict | list | tuple):  # numpy scalar
        return rounded(obj.item())
    if isinstance(obj, float):
        return round_sig(obj)
    if isinstance(obj, dict):
        return {str(k): rounded(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded(v) for v in obj]
    return obj


def fmt(value: Any) -> str:
    """A number as the UI and the scorecards show it: 4 significant digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    shown = f"{round_sig(value):#.{SIGNIFICANT_DIGITS}g}"  # 0.5 -> 0.5000: the digits are significant
    return shown if "e" not in shown else f"{value:,.0f}" if abs(value) >= 1 else f"{value:.2e}"


@dataclass(frozen=True)
class Verdict:
    """One check's result. ``value`` is the headline measurement (None: it could not be
    measured, and the check failed), ``threshold`` the rule it was held to (">= 0.9"),
    ``summary`` one line with the value, the rule and the counts."""

    check: str
    passed: bool
    metric: str
    value: float | None
    threshold: str
    summary: str
    values: dict[str, float] = field(default_factory=dict)  # further measurements
    settings: dict[str, Any] = field(default_factory=dict)  # constants: thresholds, model, n, seed
    details: dict[str, Any] = field(default_factory=dict)  # nested results: per class, per column, ...

    def to_json(self) -> dict:
        return rounded(asdict(self))

    @classmethod
    def from_json(cls, data: dict) -> Verdict:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        missing = {"check", "passed", "metric", "value", "threshold", "summary"} - set(known)
        if missing:
            raise ValueError(f"not a verdict record: missing {sorted(missing)}")
        return cls(**known)

    def settings_text(self) -> str:
        """The constants on one line ("threshold >= 0.9 · model gradient_boosting · n_test 171")."""
        parts = [f"threshold {self.threshold}"] + [f"{k} {fmt(v)}" for k, v in self.settings.items()]
        return " · ".join(parts)


def not_measured(check: str, metric: str, threshold: str, reason: str, **settings) -> Verdict:
    """A failed verdict for a check whose metric could not be computed (too few rows, one class,
    no pairs reached the critic, ...): the reason is the summary."""
    return Verdict(
        check, False, metric, None, threshold, f"{metric} not measured: {reason}", settings=settings
    )
