"""Differentially private synthesizers from smartnoise-synth: MST and AIM.

Both learn a graphical model from noisy marginals of a table of categories (McKenna et al.,
"Winning the NIST Contest", 2021; "AIM: An Adaptive and Iterative Mechanism", 2022), so each
continuous column (numbers, dates) is cut into ``bins`` equal-width bins between its bounds
and each sampled bin gets a uniform value inside it (post-processing: no privacy cost).
Nulls are one more state of each column, so null patterns are learned jointly.

What the guarantee covers: the rows, given the *domain* (each continuous column's bounds and
each categorical column's set of values). The domain is public knowledge in the DP model these
mechanisms are proven in; here it is read from the data unless bounds are given, and the
guarantee text says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synth_assets.errors import InputDataError

DP_SYNTHESIZERS = ("mst", "aim")
DEFAULT_BINS = 16
# An integer column with at most this many values is a category, not a binned number.
MAX_INTEGER_LEVELS = 32


class DPModel:
    """A fitted MST / AIM model; :meth:`sample` decodes its rows to the real table's values."""

    def __init__(
        self,
        synthesizer,
        frame: pd.DataFrame,
        edges: dict,
        bins: int,
        guarantee: str,
        bounds_from_data: list[str],
    ):
        self._synthesizer, self._like, self._edges, self._bins = synthesizer, frame.head(0), edges, bins
        # the real values of each categorical column, to map the sampled labels back
        self._categories = {
            c: pd.Series(pd.unique(frame[c].dropna())) for c in frame.columns if c not in edges
        }
        self.guarantee, self.bounds_from_data = guarantee, bounds_from_data
        self.continuous = list(edges)

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampled = pd.DataFrame(self._synthesizer.sample(n), columns=list(self._like.columns))
        # private-pgm returns its rows grouped by value; shuffle so any head() is a fair sample
        sampled = sampled.iloc[rng.permutation(len(sampled))].reset_index(drop=True)
        out = {}
        for column in self._like.columns:
            values = sampled[column]
            if column in self._edges:  # a uniform value inside the sampled bin
                low, high = self._edges[column]
                width = (high - low) / self._bins
                numbers = pd.to_numeric(values, errors="coerce")
                jittered = (numbers + rng.uniform(-width / 2, width / 2, len(numbers))).clip(low, high)
                out[column] = _from_number(jittered, self._like[column])
            else:
                out[column] = _from_text(values, self._categories[column])
        return pd.DataFrame(out)


def guarantee_text(kind: str, epsilon: float, delta: float, bounds_from_data: list[str]) -> str:
    text = f"(ε={epsilon:g}, δ={delta:g})-DP ({kind.upper()}, smartnoise-synth)"
    if bounds_from_data:
        shown = ", ".join(bounds_from_data[:3]) + (", ..." if len(bounds_from_data) > 3 else "")
        n = len(bounds_from_data)
        text += f"; the bounds of {n} column(s) ({shown}) were read from the data and are not covered"
    return text + "; category sets count as public"


def continuous_columns(frame: pd.DataFrame) -> list[str]:
    out = []
    for column in frame.columns:
        values = frame[column]
        if ptypes.is_bool_dtype(values) or not (
            ptypes.is_numeric_dtype(values) or ptypes.is_datetime64_any_dtype(values)
        ):
            continue
        present = values.dropna()
        integral = ptypes.is_integer_dtype(values) or (
            ptypes.is_float_dtype(values) and bool((present == present.round()).all())
        )
        if integral and present.nunique() <= MAX_INTEGER_LEVELS:
            continue
        out.append(column)
    return out


def fit_dp(
    frame: pd.DataFrame,
    kind: str,
    epsilon: float,
    delta: float,
    seed: int = 0,
    bins: int = DEFAULT_BINS,
    bounds: dict[str, tuple] | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> DPModel:
    """Fit smartnoise-synth's ``kind`` (mst or aim) at ``(epsilon, delta)`` on ``frame``.
    ``bounds`` gives public ``(low, high)`` bounds per continuous column (numbers, or dates as
    ISO strings); the others use the data's min and max, and the guarantee text says so."""
    from snsynth import Synthesizer
    from snsynth.transform import BinTransformer, LabelTransformer, TableTransformer

    if kind not in DP_SYNTHESIZERS:
        raise InputDataError(f"DP synthesizer must be one of {DP_SYNTHESIZERS}, got {kind!r}")
    if not epsilon > 0:
        raise InputDataError(f"epsilon must be > 0, got {epsilon}")
    if not 0 <= delta < 1:
        raise InputDataError(f"delta must be in [0, 1), got {delta}")
    if bins < 2:
        raise InputDataError(f"bins must be >= 2, got {bins}")
    bounds = dict(bounds or {})
    unknown = sorted(set(bounds) - set(frame.columns))
    if unknown:
        raise InputDataError(f"dp_bounds names unknown column(s) {unknown}")
    continuous = continuous_columns(frame)
    encoded = pd.DataFrame(index=frame.index)
    transformers, edges, from_data = [], {}, []
    for column in frame.columns:
        values = frame[column]
        if column in continuous:
            numbers = _as_number(values)
            if column in bounds:
                low, high = (_bound(b, values) for b in bounds[column])
            else:
                low, high = float(numbers.min()), float(numbers.max())
                from_data.append(str(column))
            if not high > low:
                high = low + 1.0
            encoded[column] = numbers.clip(low, high).astype(object).where(numbers.notna(), None)
            transformers.append(
                BinTransformer(bins=bins, lower=low, upper=high, nullable=bool(values.isna().any()))
            )
            edges[column] = (low, high)
        else:
            encoded[column] = (
                values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v))
            )
            transformers.append(LabelTransformer(nullable=bool(values.isna().any())))
    log(
        f"{kind}: {len(continuous)} continuous column(s) in {bins} bins, "
        f"{frame.shape[1] - len(continuous)} categorical; (ε={epsilon:g}, δ={delta:g})"
    )
    np.random.seed(seed)
    synthesizer = Synthesizer.create(kind, epsilon=float(epsilon), delta=float(delta), verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer.fit(encoded, transformer=TableTransformer(transformers), preprocessor_eps=0.0)
    return DPModel(
        synthesizer, frame, edges, bins, guarantee_text(kind, epsilon, delta, from_data), from_data
    )


def _bound(value, like: pd.Series) -> float:
    try:
        if ptypes.is_datetime64_any_dtype(like):
            return float(pd.Timestamp(value).value)
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InputDataError(f"dp_bounds for {like.name!r}: cannot read {value!r} as a bound") from exc


def _as_number(values: pd.Series) -> pd.Series:
    if ptypes.is_datetime64_any_dtype(values):
        numbers = pd.Series(values.astype("int64").astype(float), index=values.index)
        return numbers.where(values.notna())
    return pd.to_numeric(values).astype(float)


def _from_number(numbers: pd.Series, like: pd.Series) -> pd.Series:
    if ptypes.is_datetime64_any_dtype(like):
        moments = pd.to_datetime(numbers.round(), unit="ns")  # int64 nanoseconds are UTC
        tz = getattr(like.dt, "tz", None)
        return moments.dt.tz_localize("UTC").dt.tz_convert(tz) if tz is not None else moments
    return numbers


def _from_text(values: pd.Series, like: pd.Series) -> pd.Series:
    """Labels come back as the strings they were encoded as; map them to the real values."""
    real = {str(v): v for v in like}
    return values.map(
        lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else real.get(str(v), v)
    )
