"""Mixed-type row distance and exact nearest-neighbour search.

Row distance, as SDMetrics' ``dcr_utils`` defines it (docs/metrics.md, "Row distance"):

* numerical and datetime columns: ``min(|x - y| / range, 1)`` where ``range`` is max minus min
  of the real data (datetimes in seconds); for a zero range, 0 if equal else 1. Callers pass
  the ranges (:func:`column_spans` of all real rows) so that distances to train and to holdout
  share one scale; without them the reference table's own ranges are used, as SDMetrics does.
  Per-reference ranges bias DCR: a smaller sample has smaller ranges, hence larger distances;
* categorical and boolean columns: 0 if equal else 1;
* missing values: both missing -> 0, exactly one missing -> 1;
* row distance = mean of the column distances.

The search is exact brute force, arranged so the heavy work runs in a few fused kernels:
clean numeric columns go through one L1 ``torch.cdist`` (values centred on the reference's
minimum and scaled by 1/range, so no cap is needed for in-range values), query rows that can
be more than one range away from some reference value get an exact sparse correction for the
cap, missing values are filled in and the pairs they touch corrected
exactly (a cost that grows with the share of missing values, not with every pair),
low-cardinality categoricals become one matrix product of one-hot encodings (float32: it only
counts matches, exactly), and only columns with zero range, no value in the reference or high
cardinality take the column-by-column path.

Memory: the reference side is encoded once (its one-hot matrix included); the query side keeps
one float per numeric column and one integer per categorical column, and its one-hot rows are
built block by block, so a million query rows cost about (8 bytes x columns) each plus one
block of ``CHUNK_ELEMENTS`` distances (or one-hot values, with more levels than reference rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from pandas.api import types as ptypes

ONE_HOT_MAX_LEVELS = 256
CHUNK_ELEMENTS = 8_000_000  # query rows x reference rows per block (64 MB of float64)


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """``numerical`` / ``datetime`` / ``categorical`` per column, as the distance treats them."""
    kinds = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if ptypes.is_datetime64_any_dtype(dtype):
            kinds[column] = "datetime"
        elif ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype):
            kinds[column] = "numerical"
        else:
            kinds[column] = "categorical"
    return kinds


def sdmetrics_metadata(frame: pd.DataFrame) -> dict:
    """SDMetrics' single-table metadata with our column kinds, to compare against its metrics."""
    return {"columns": {column: {"sdtype": kind} for column, kind in column_kinds(frame).items()}}


def _datetime_ns(values: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch as int64 (NaT -> int64 min); tz-aware values in UTC."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[ns]").view("int64")


def _as_float(values: pd.Series) -> np.ndarray:
    if ptypes.is_datetime64_any_dtype(values.dtype):
        out = _datetime_ns(values).astype(np.float64) / 1e9
        out[values.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(values).to_numpy(dtype=np.float64, na_value=np.nan)


@dataclass
class _MissingValues:
    """A numeric column with missing values, searched with the clean ones: its missing values
    are filled with the reference's smallest value (0 once centred), and each block corrects
    the pairs involving a missing value (one side missing: 1; both: 0)."""

    column: int  # index among the clean columns
    q_missing: torch.Tensor  # (n_q,) bool
    r_missing_rows: torch.Tensor  # indices of reference rows with the value missing
    r_present: torch.Tensor  # (n_r,) float64: 1 where the reference value is present


@dataclass
class _Encoded:
    clean_q: torch.Tensor  # (n_q, c) scaled, no NaN, reference range > 0
    clean_r: torch.Tensor
    over_q: list[tuple[int, torch.Tensor]]  # per clean column: query rows outside ref range
    missing: list[_MissingValues]  # clean columns whose missing values were filled in
    slow_numeric: list[tuple[np.ndarray, np.ndarray, float]]  # raw q, raw r, range
    onehot_q: torch.Tensor | None  # (n_q, one-hot columns): index of each value's one-hot column
    onehot_r: torch.Tensor | None  # (n_r, total levels) one-hot rows
    n_onehot_columns: int
    slow_codes: list[tuple[torch.Tensor, torch.Tensor]]
    n_columns: int


def column_spans(frame: pd.DataFrame) -> dict[str, float]:
    """max - min of each numerical / datetime column (datetimes in seconds), ignoring missing."""
    spans = {}
    for column, kind in column_kinds(frame).items():
        if kind != "categorical":
            values = _as_float(frame[column])
            spans[column] = float(np.nanmax(values) - np.nanmin(values)) if np.isfinite(values).any() else 0.0
    return spans


def _encode(queries: pd.DataFrame, reference: pd.DataFrame, spans: dict[str, float] | None) -> _Encoded:
    missing = [c for c in reference.columns if c not in queries.columns]
    if missing:
        raise ValueError(f"query rows lack reference columns {missing}")
    kinds = column_kinds(reference)
    clean_q, clean_r, slow_numeric, missing_values = [], [], [], []
    onehot_q, onehot_r, slow_codes = [], [], []
    n_onehot = n_levels = 0
    for column, kind in kinds.items():
        if kind in ("numerical", "datetime"):
            q, r = _as_float(queries[column]), _as_float(reference[column])
            if spans is not None:
                span = spans[column]
            else:
                span = float(np.nanmax(r) - np.nanmin(r)) if np.isfinite(r).any() else 0.0
            q_nan, r_nan = np.isnan(q), np.isnan(r)
            if span > 0 and not r_nan.all():
                # centred on the reference's minimum before scaling: large values (epoch
                # seconds) keep their precision in the differences
                fill = float(np.nanmin(r))
                if q_nan.any() or r_nan.any():
                    missing_values.append(
                        _MissingValues(
                            column=len(clean_q),
                            q_missing=torch.from_numpy(q_nan),
                            r_missing_rows=torch.from_numpy(np.flatnonzero(r_nan)),
                            r_present=torch.from_numpy((~r_nan).astype(np.float64)),
                        )
                    )
                clean_q.append((np.where(q_nan, fill, q) - fill) / span)
                clean_r.append((np.where(r_nan, fill, r) - fill) / span)
            else:
                slow_numeric.append((q, r, span))
        else:
            codes, _ = pd.factorize(
                pd.concat(
                    [queries[column].astype(object), reference[column].astype(object)], ignore_index=True
                ),
                use_na_sentinel=False,
            )
            q_codes, r_codes = codes[: len(queries)], codes[len(queries) :]
            levels = int(codes.max()) + 1
            if levels <= ONE_HOT_MAX_LEVELS:
                onehot_q.append(q_codes + n_levels)
                onehot_r.append(r_codes + n_levels)
                n_levels += levels
                n_onehot += 1
            else:
                slow_codes.append((torch.from_numpy(q_codes), torch.from_numpy(r_codes)))
    n_q, n_r = len(queries), len(reference)
    cq = torch.from_numpy(np.stack(clean_q, axis=1)) if clean_q else torch.zeros(n_q, 0, dtype=torch.float64)
    cr = torch.from_numpy(np.stack(clean_r, axis=1)) if clean_r else torch.zeros(n_r, 0, dtype=torch.float64)
    over = []
    for j in range(cq.shape[1]):
        # rows with some |x - y| > 1 to cap: outside the reference range, or inside a reference
        # range wider than the span (spans of other data, e.g. real rows for a synthetic reference)
        low, high = cr[:, j].min(), cr[:, j].max()
        rows = torch.nonzero((cq[:, j] - low > 1.0) | (high - cq[:, j] > 1.0)).flatten()
        if len(rows):
            over.append((j, rows))
    return _Encoded(
        clean_q=cq,
        clean_r=cr,
        over_q=over,
        missing=missing_values,
        slow_numeric=slow_numeric,
        onehot_q=torch.from_numpy(np.stack(onehot_q, axis=1).astype(np.int64)) if onehot_q else None,
        onehot_r=_one_hot(np.stack(onehot_r, axis=1), n_levels) if onehot_r else None,
        n_onehot_columns=n_onehot,
        slow_codes=slow_codes,
        n_columns=len(kinds),
    )


def _one_hot(indices, width: int) -> torch.Tensor:
    """Rows of ``width`` zeros with a 1 at each of the row's ``indices`` (one per column)."""
    indices = torch.as_tensor(indices, dtype=torch.int64)
    # float32: the products count matching columns, exact far beyond any column count
    return torch.zeros(indices.shape[0], width, dtype=torch.float32).scatter_(1, indices, 1.0)


def _block_distance_sums(enc: _Encoded, lo: int, hi: int) -> torch.Tensor:
    """Sum over columns of the column distances, query rows [lo, hi) x all reference rows."""
    n_r = enc.clean_r.shape[0]
    if enc.clean_q.shape[1]:
        total = torch.cdist(enc.clean_q[lo:hi].unsqueeze(0), enc.clean_r.unsqueeze(0), p=1)[0]
    else:
        total = torch.zeros(hi - lo, n_r, dtype=torch.float64)
    for j, rows in enc.over_q:
        rows = rows[(rows >= lo) & (rows < hi)]
        if len(rows):
            # cap at 1: subtract the part of |x - y| (scaled) that exceeds 1
            excess = (enc.clean_q[rows, j].unsqueeze(1) - enc.clean_r[:, j].unsqueeze(0)).abs_()
            total[rows - lo] -= excess.sub_(1.0).clamp_(min=0.0)
    for m in enc.missing:
        if len(m.r_missing_rows):
            # the search added min(|x - 0|, 1) (the fill is 0) for a missing reference value: 1 if x
            # is present
            x = enc.clean_q[lo:hi, m.column]
            present = (~m.q_missing[lo:hi]).to(torch.float64)
            total[:, m.r_missing_rows] += (present - x.abs().clamp_(max=1.0)).unsqueeze(1)
        rows = torch.nonzero(m.q_missing[lo:hi]).flatten()
        if len(rows):
            # it added min(|0 - y|, 1) for a missing query value: 1 if y is present
            y = enc.clean_r[:, m.column]
            total[rows] += ((1.0 - y.abs().clamp_(max=1.0)) * m.r_present).unsqueeze(0)
    for q, r, span in enc.slow_numeric:
        qb = torch.from_numpy(q[lo:hi]).unsqueeze(1)
        rb = torch.from_numpy(r).unsqueeze(0)
        diff = (qb - rb).abs_()
        diff = diff.div_(span).clamp_(max=1.0) if span > 0 else (diff > 0).to(torch.float64)
        q_nan, r_nan = torch.isnan(qb), torch.isnan(rb)
        diff = torch.where(q_nan ^ r_nan, 1.0, diff)
        diff = torch.where(q_nan & r_nan, 0.0, diff)
        total += diff
    if enc.onehot_q is not None:
        block = _one_hot(enc.onehot_q[lo:hi], enc.onehot_r.shape[1])
        total += enc.n_onehot_columns - (block @ enc.onehot_r.T).to(torch.float64)
    for q_codes, r_codes in enc.slow_codes:
        total += (q_codes[lo:hi].unsqueeze(1) != r_codes.unsqueeze(0)).to(torch.float64)
    return total


def nearest_distances(
    queries: pd.DataFrame,
    reference: pd.DataFrame,
    k: int = 1,
    spans: dict[str, float] | None = None,
) -> np.ndarray:
    """Row distances from each query row to its ``k`` nearest reference rows, ascending.

    ``spans`` gives the range of each numerical column (see :func:`column_spans`); by default
    the reference's own. Returns an array of shape ``(len(queries), k)``. Exact, float64.
    """
    if len(reference) < k:
        raise ValueError(f"need at least {k} reference rows, got {len(reference)}")
    if reference.shape[1] == 0:
        raise ValueError("no columns to compare")
    enc = _encode(queries, reference, spans)
    # a block holds query rows x reference rows distances and query rows x levels one-hot values
    width = max(len(reference), enc.onehot_r.shape[1] if enc.onehot_r is not None else 0)
    chunk = max(1, CHUNK_ELEMENTS // max(1, width))
    out = np.empty((len(queries), k), dtype=np.float64)
    with torch.no_grad():
        for lo in range(0, len(queries), chunk):
            hi = min(lo + chunk, len(queries))
            sums = _block_distance_sums(enc, lo, hi)
            if k == 1:
                values = sums.min(dim=1, keepdim=True).values
            else:
                values = torch.topk(sums, k, dim=1, largest=False).values
            out[lo:hi] = values.numpy() / enc.n_columns
    return np.clip(out, 0.0, None)


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """64-bit hash per row of a dtype-normalised copy, for exact-match detection."""
    canonical = {}
    for column, kind in column_kinds(frame).items():
        values = frame[column]
        if kind == "datetime":
            canonical[column] = _datetime_ns(values)
        elif kind == "numerical":
            canonical[column] = pd.to_numeric(values).astype(np.float64)
        else:
            canonical[column] = values.astype(object).where(values.notna(), None).astype(str)
    return pd.util.hash_pandas_object(pd.DataFrame(canonical), index=False).to_numpy()
