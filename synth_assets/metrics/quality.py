"""Data quality: a Great Expectations 1.x suite derived from the real train split.

The suite expects, of the synthetic table: the train split's columns in the same order, the
same dtypes, numeric / datetime values inside the train range, categorical values inside the
train's categories, a null rate close to the train's, and the requested row count
(docs/metrics.md, "Data quality").
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import pandas as pd
from pandas.api import types as ptypes

from synth_assets.metrics.row_distance import column_kinds

# Free text (mostly unique values) has no category set to check against.
MAX_CATEGORY_SHARE = 0.5
MIN_CATEGORIES_CHECKED = 50
NULL_RATE_TOLERANCE = 0.05


@dataclass(frozen=True)
class QualityResult:
    success: bool
    n_expectations: int
    failed: list[dict] = field(default_factory=list)


def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


def gx_type_name(dtype) -> str:
    """The type name GX's ``expect_column_values_to_be_of_type`` reports for a pandas dtype."""
    if isinstance(dtype, pd.CategoricalDtype):
        return "CategoricalDtypeType"
    if ptypes.is_datetime64_any_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime64"
    return str(dtype)


# Range expectations widen by this share of the column's range: a value that differs from
# the train maximum in the 16th digit is not out of range.
RANGE_TOLERANCE = 1e-9


def widened_range(
    values: pd.Series, kind: str, tolerance: float = RANGE_TOLERANCE, public: tuple | None = None
) -> tuple:
    """``(low, high)`` of ``values`` widened by ``tolerance`` of the range (of the magnitude
    for a constant column), and to the declared ``public`` bounds if given (a DP synthesizer
    samples inside public bounds, not inside the private data's min and max)."""
    low, high = values.min(), values.max()
    if public is not None:
        cast = pd.Timestamp if kind == "datetime" else float
        low, high = min(low, cast(public[0])), max(high, cast(public[1]))
    if kind == "numerical":
        low, high = float(low), float(high)
        margin = tolerance * ((high - low) or max(abs(low), 1.0))
        return low - margin, high + margin
    margin = pd.Timedelta(nanoseconds=int(tolerance * (high - low).value))
    return low - margin, high + margin


def build_expectations(
    train: pd.DataFrame,
    expected_rows: int,
    n_synthetic_rows: int,
    range_tolerance: float = RANGE_TOLERANCE,
    public_bounds: dict | None = None,
) -> list:
    """The expectation list for a synthetic version of ``train`` with ``expected_rows`` rows."""
    _, gxe = _gx()
    expectations = [
        gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(train.columns)),
        gxe.ExpectTableRowCountToEqual(value=expected_rows),
    ]
    kinds = column_kinds(train)
    for column in train.columns:
        values = train[column]
        expectations.append(gxe.ExpectColumnValuesToBeOfType(column=column, type_=gx_type_name(values.dtype)))
        null_rate = float(values.isna().mean())
        if null_rate == 0:
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column))
        else:
            spread = 3 * math.sqrt(null_rate * (1 - null_rate) / max(1, n_synthetic_rows))
            tolerance = max(NULL_RATE_TOLERANCE, spread)
            expectations.append(
                gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(
                    column=column,
                    min_value=max(0.0, 1 - null_rate - tolerance),
                    max_value=min(1.0, 1 - null_rate + tolerance),
                )
            )
        present = values.dropna()
        if kinds[column] in ("numerical", "datetime"):
            public = (public_bounds or {}).get(column)
            low, high = widened_range(present, kinds[column], range_tolerance, public)
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
            )
        else:
            categories = pd.unique(present).tolist()
            if len(categories) <= max(MIN_CATEGORIES_CHECKED, MAX_CATEGORY_SHARE * len(present)):
                expectations.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=categories))
    return expectations


def run_quality_suite(
    data: pd.DataFrame,
    train: pd.DataFrame,
    expected_rows: int,
    range_tolerance: float = RANGE_TOLERANCE,
    public_bounds: dict | None = None,
) -> QualityResult:
    """Validate ``data`` with the suite derived from ``train`` in an ephemeral GX context."""
    gx, _ = _gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_pandas("synth_assets")
    asset = source.add_dataframe_asset("synthetic_table")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": data}
    )
    suite = gx.ExpectationSuite(name="derived_from_real_train")
    for expectation in build_expectations(train, expected_rows, len(data), range_tolerance, public_bounds):
        suite.add_expectation(expectation)
    result = batch.validate(suite)
    failed = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        detail = {
            key: item.result[key]
            for key in ("observed_value", "unexpected_count", "unexpected_percent", "partial_unexpected_list")
            if key in item.result
        }
        if item.exception_info and item.exception_info.get("raised_exception"):
            detail["exception"] = item.exception_info.get("exception_message")
        failed.append(
            {
                "expectation": config.type,
                "column": config.kwargs.get("column"),
                "detail": _jsonable(detail),
            }
        )
    return QualityResult(success=bool(result.success), n_expectations=len(result.results), failed=failed)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value[:10]]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
