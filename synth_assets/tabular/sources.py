"""Real tables: built-in scikit-learn datasets (offline) and user CSV / Parquet files.

Everything here validates eagerly and raises :class:`~synth_assets.errors.InputDataError` with
a message naming the file, column or value at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandas.api import types as ptypes
from sklearn import datasets

from synth_assets.data_paths import require_inside
from synth_assets.errors import InputDataError

TASK_TYPES = ("binary", "multiclass", "regression")

# name -> (loader, task type). All ship inside scikit-learn: no download.
BUILTIN_TABLES = {
    "breast_cancer": (datasets.load_breast_cancer, "binary"),
    "wine": (datasets.load_wine, "multiclass"),
    "diabetes": (datasets.load_diabetes, "regression"),
}
FILE_SUFFIXES = (".csv", ".parquet", ".pq")
# An integer target with at most this many distinct values is treated as class labels.
MAX_CLASSES_FOR_INT_TARGET = 20


@dataclass(frozen=True)
class RealTable:
    frame: pd.DataFrame
    target: str
    task_type: str
    source: str


def load_real_table(
    source: str,
    target: str | None = None,
    task_type: str | None = None,
    allowed_dir: str | None = None,
) -> RealTable:
    """Load a built-in table by name or a CSV / Parquet file by path, validated.

    ``target`` defaults to ``"target"`` for built-ins and is required for files. ``task_type``
    is detected from the target column when not given.
    """
    if task_type is not None and task_type not in TASK_TYPES:
        raise InputDataError(f"task_type must be one of {TASK_TYPES}, got {task_type!r}")
    if source in BUILTIN_TABLES:
        loader, _ = BUILTIN_TABLES[source]
        frame = loader(as_frame=True).frame
        target = target or "target"
        label = f"builtin:{source}"
    else:
        path = Path(source)
        if path.suffix.lower() not in FILE_SUFFIXES:
            raise InputDataError(
                f"source {source!r} is neither a built-in table ({', '.join(BUILTIN_TABLES)}) "
                f"nor a file ending in {', '.join(FILE_SUFFIXES)}"
            )
        if target is None:
            raise InputDataError(f"target column must be given for file source {source!r}")
        frame = read_table_file(path, allowed_dir)
        label = str(path)
    validate_frame(frame, target, label)
    detected = detect_task_type(frame[target])
    if task_type is None:
        task_type = detected
    else:
        _check_task_type(frame[target], task_type, target)
    return RealTable(frame=frame, target=target, task_type=task_type, source=label)


def read_table_file(path: Path, allowed_dir: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file; ISO-formatted date strings in CSVs become datetimes."""
    path = Path(path).expanduser()
    require_inside(path, allowed_dir)
    if not path.exists():
        raise InputDataError(f"data file not found: {path}")
    if not path.is_file():
        raise InputDataError(f"data path is not a regular file: {path}")
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path)
            frame = _parse_iso_datetimes(frame)
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError as exc:
        raise InputDataError(f"data file is empty: {path}") from exc
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, ValueError) as exc:
        raise InputDataError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    if frame.empty:
        raise InputDataError(f"data file has no rows: {path}")
    return frame


def _parse_iso_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns whose every non-null value is an ISO 8601 date into datetime64."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object or values.notna().sum() == 0:
            continue
        sample = values.dropna().astype(str)
        if not sample.str.match(r"^\d{4}-\d{2}-\d{2}").all():
            continue
        try:
            frame[column] = pd.to_datetime(values, format="ISO8601")
        except (ValueError, TypeError):
            continue
    return frame


def validate_frame(frame: pd.DataFrame, target: str, label: str) -> None:
    if frame.empty:
        raise InputDataError(f"{label}: table has no rows")
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InputDataError(f"{label}: duplicate column names {dupes}")
    if target not in frame.columns:
        raise InputDataError(
            f"{label}: target column {target!r} not found; columns are {list(frame.columns)}"
        )
    all_null = [c for c in frame.columns if frame[c].isna().all()]
    if all_null:
        raise InputDataError(f"{label}: column(s) entirely null, nothing to learn from: {all_null}")
    missing_target = int(frame[target].isna().sum())
    if missing_target:
        raise InputDataError(f"{label}: target column {target!r} has {missing_target} missing values")
    if frame[target].nunique() < 2:
        raise InputDataError(
            f"{label}: target column {target!r} has a single value "
            f"({frame[target].iloc[0]!r}); nothing to predict"
        )


def detect_task_type(y: pd.Series) -> str:
    """binary / multiclass for labels (text, bool, category, small-cardinality integers),
    regression for other numeric targets."""
    n_unique = y.nunique()
    is_label = (
        not ptypes.is_numeric_dtype(y)
        or ptypes.is_bool_dtype(y)
        or (_is_integral(y) and n_unique <= MAX_CLASSES_FOR_INT_TARGET)
    )
    if is_label:
        return "binary" if n_unique == 2 else "multiclass"
    return "regression"


def _is_integral(y: pd.Series) -> bool:
    if ptypes.is_integer_dtype(y):
        return True
    if ptypes.is_float_dtype(y):
        values = y.dropna()
        return bool((values == values.round()).all())
    return False


def _check_task_type(y: pd.Series, task_type: str, target: str) -> None:
    n_unique = y.nunique()
    if task_type == "regression" and not (ptypes.is_numeric_dtype(y) and not ptypes.is_bool_dtype(y)):
        raise InputDataError(f"task_type 'regression' needs a numeric target; {target!r} is {y.dtype}")
    if task_type == "binary" and n_unique != 2:
        raise InputDataError(f"task_type 'binary' needs 2 classes; {target!r} has {n_unique}")
