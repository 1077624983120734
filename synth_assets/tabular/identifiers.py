"""Identifier columns: detect them, replace them with fresh values, and count leaks.

An id says nothing about the population a synthesizer should learn, and a real id in a
synthetic row tells anyone that the record was in the training data. So id columns are never
modelled: the synthesizer is fit without them, and the synthetic table gets fresh ids that
equal no real value (train or holdout), or none at all (docs/metrics.md, "Id leakage").
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synth_assets.errors import InputDataError

ID_HANDLINGS = ("fresh", "drop")
# An id-like name (or SDV's "id" sdtype) marks an id only when the column has more distinct
# values than a category would: "store_id" with 8 stores over 10,000 sales is a category.
MAX_CATEGORIES = 20
MAX_CATEGORY_SHARE = 0.05
MIN_ROWS_FOR_MONOTONIC = 10
# A text column with at least this share of distinct values is free text (or a key), not a category.
FREE_TEXT_SHARE = 0.5
_ID_TOKENS = {"id", "uuid", "guid", "key", "identifier", "pk"}
_PREFIXED_NUMBER = re.compile(r"^(\D*?)(\d+)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class IdColumn:
    name: str
    reason: str


def name_tokens(name: str) -> list[str]:
    """``customerId`` / ``customer_id`` / ``Customer ID`` -> ``['customer', 'id']``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def has_id_name(name: str) -> bool:
    return any(token in _ID_TOKENS for token in name_tokens(name))


def is_category_like(values: pd.Series) -> bool:
    """At most ``max(20, 5 % of the non-null rows)`` distinct values: each value stands for many
    rows, so it identifies nobody and can be modelled as a category."""
    present = values.dropna()
    return present.nunique() <= max(MAX_CATEGORIES, MAX_CATEGORY_SHARE * len(present))


def detect_id_columns(
    frame: pd.DataFrame, target: str, sdtypes: dict[str, str] | None = None
) -> list[IdColumn]:
    """Columns of ``frame`` that identify rows rather than describe them.

    A column is an id when it is (a) unique integers in increasing order (a row counter or an
    auto-increment key), or (b) named like an id (a token ``id``, ``uuid``, ``key``, ...) or
    given SDV's ``id`` sdtype (``sdtypes``: SDV's guess per column), with more distinct values
    than a category (:func:`is_category_like`): a patient id repeated over a few visits each
    is still an id; or (c) free text: a text column SDV would model as a category although at
    least half its values are distinct (comments, addresses), which a synthesizer would copy
    verbatim. The target is never an id. Call on the whole table in file order, before any
    split shuffles it.
    """
    sdtypes = sdtypes or {}
    found = []
    for column in frame.columns:
        if column == target:
            continue
        values = frame[column].dropna()
        if values.empty or ptypes.is_bool_dtype(values) or ptypes.is_datetime64_any_dtype(values):
            continue
        unique_share = values.nunique() / len(values)
        if (
            _integral(values)
            and len(values) >= MIN_ROWS_FOR_MONOTONIC
            and unique_share == 1.0
            and values.is_monotonic_increasing
        ):
            found.append(IdColumn(str(column), "unique integers in increasing order"))
        elif (has_id_name(column) or sdtypes.get(column) == "id") and not is_category_like(values):
            why = "id-like name" if has_id_name(column) else "SDV's id sdtype"
            found.append(IdColumn(str(column), f"{why}, {unique_share:.0%} of values distinct"))
        elif (
            _is_text(values)
            and sdtypes.get(column, "categorical") == "categorical"
            and unique_share >= FREE_TEXT_SHARE
            and not is_category_like(values)
        ):
            found.append(
                IdColumn(
                    str(column), f"free text, {unique_share:.0%} of values distinct: a model would copy it"
                )
            )
    return found


def _is_text(values: pd.Series) -> bool:
    return ptypes.is_object_dtype(values) or ptypes.is_string_dtype(values)


def sdv_sdtypes(frame: pd.DataFrame) -> dict[str, str]:
    """SDV 2.x's metadata detection: the sdtype it guesses per column."""
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({"real": frame}, infer_keys=None)
    return {name: spec["sdtype"] for name, spec in metadata.tables["real"].columns.items()}


def sdv_id_columns(frame: pd.DataFrame) -> set[str]:
    """Columns SDV 2.x's metadata detection gives the ``id`` sdtype."""
    return {name for name, sdtype in sdv_sdtypes(frame).items() if sdtype == "id"}


def find_id_columns(frame: pd.DataFrame, target: str, override: list[str] | None = None) -> list[IdColumn]:
    """The user's ``override`` (when given, even empty) or the detected id columns."""
    if override is None:
        return detect_id_columns(frame, target, sdv_sdtypes(frame))
    unknown = [c for c in override if c not in frame.columns]
    if unknown:
        raise InputDataError(
            f"id_columns {unknown} are not columns of the table; columns are {list(frame.columns)}"
        )
    if target in override:
        raise InputDataError(f"the target column {target!r} cannot be an id column")
    return [IdColumn(c, "set in config") for c in override]


def _integral(values: pd.Series) -> bool:
    if ptypes.is_integer_dtype(values):
        return True
    if ptypes.is_float_dtype(values):
        return bool(np.all(np.isfinite(values)) and (values == values.round()).all())
    return False


def fresh_ids(real: pd.Series, n: int, seed: int = 0) -> pd.Series:
    """``n`` distinct ids in the style of ``real`` (all real values, train and holdout), none
    equal to a real value.

    Integers continue past the real maximum; ``PREFIX123`` strings continue the number after
    the largest real one with the same zero padding; UUIDs are new random UUIDs; anything
    else becomes ``syn-`` and 12 random hex digits. Collisions with real values are removed
    and redrawn, so the result is disjoint by construction, not by chance.
    """
    present = real.dropna()
    rng = np.random.default_rng(seed)
    if ptypes.is_numeric_dtype(present) and not ptypes.is_bool_dtype(present) and _integral(present):
        start = int(present.max()) + 1 if len(present) else 1
        values = pd.Series(np.arange(start, start + n, dtype=np.int64))
        return values.astype(real.dtype) if ptypes.is_float_dtype(real.dtype) else values
    text = present.astype(str)
    taken = set(text.tolist())
    matches = text.str.extract(_PREFIXED_NUMBER)
    if len(text) and matches[0].notna().all() and matches[0].nunique() == 1:
        prefix = matches[0].iloc[0]
        width = int(matches[1].str.len().max())
        start = int(matches[1].astype(int).max()) + 1
        candidates = [f"{prefix}{i:0{width}d}" for i in range(start, start + n)]
    elif len(text) and text.str.match(_UUID).all():
        candidates = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]
    else:
        candidates = [f"syn-{rng.bytes(6).hex()}" for _ in range(n)]
    out, seen = [], set()
    for value in candidates:
        while value in taken or value in seen:  # never true for the counters; rare for random
            value = f"syn-{rng.bytes(8).hex()}"
        seen.add(value)
        out.append(value)
    return pd.Series(out, dtype=object)


def leaked_ids(synthetic: pd.DataFrame, real: pd.DataFrame, id_columns: list[str]) -> dict[str, int]:
    """Per id column, how many synthetic rows carry a value that occurs in ``real``.

    Values are compared as text, so ``17`` and ``"17"`` or ``17.0`` count as the same id."""
    counts = {}
    for column in id_columns:
        if column not in synthetic.columns:
            counts[column] = 0  # dropped: nothing to leak
            continue
        real_values = set(_as_text(real[column].dropna()).tolist())
        counts[column] = int(_as_text(synthetic[column].dropna()).isin(real_values).sum())
    return counts


def _as_text(values: pd.Series) -> pd.Series:
    if ptypes.is_float_dtype(values) and _integral(values):
        values = values.astype(np.int64)
    return values.astype(str)
