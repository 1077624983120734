"""Real tables: built-in scikit-learn datasets (offline) and user CSV / Parquet files.

Everything here validates eagerly and raises :class:`~synth_assets.errors.InputDataError` with
a message naming the file, column or value at fault.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
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
# Characters that cannot separate CSV fields: they end a row or quote a field.
FORBIDDEN_SEPS = ("\n", "\r", '"')


def plain(value):
    """``value`` as plain Python for an error message: numpy scalars become the Python scalar
    they hold (``np.True_`` -> ``True``, ``np.int64(1)`` -> ``1``), lists and tuples are converted
    element-wise, anything else is returned unchanged."""
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return str(value)  # .item() would give a bare integer for nanosecond precision
    if isinstance(value, np.generic):
        return value.item()
    return value


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
    *,
    encoding: str = "utf-8",
    sep: str = ",",
) -> RealTable:
    """Load a built-in table by name or a CSV / Parquet file by path, validated.

    ``target`` defaults to ``"target"`` for built-ins and is required for files. ``task_type``
    is detected from the target column when not given. ``encoding`` and ``sep`` apply to CSV
    files only (see :func:`read_table_file`).
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
        frame = read_table_file(path, allowed_dir, encoding=encoding, sep=sep)
        label = str(path)
    validate_frame(frame, target, label)
    detected = detect_task_type(frame[target])
    if task_type is None:
        task_type = detected
    else:
        _check_task_type(frame[target], task_type, target)
    return RealTable(frame=frame, target=target, task_type=task_type, source=label)


def read_table_file(
    path: Path,
    allowed_dir: str | None = None,
    *,
    encoding: str = "utf-8",
    sep: str = ",",
) -> pd.DataFrame:
    """Read a CSV or Parquet file; ISO-formatted date strings in CSVs become datetimes.

    ``encoding`` (a Python codec name) and ``sep`` (one character) apply to CSV files and are
    ignored for Parquet. Duplicate column names are refused before pandas can rename them.
    """
    path = Path(path).expanduser()
    require_inside(path, allowed_dir)
    if not path.exists():
        raise InputDataError(f"data file not found: {path}")
    if not path.is_file():
        raise InputDataError(f"data path is not a regular file: {path}")
    is_csv = path.suffix.lower() == ".csv"
    if is_csv:
        _check_csv_options(path, encoding, sep)
    try:
        if is_csv:
            _check_unique_names(path, _csv_header(path, encoding, sep))
            frame = pd.read_csv(path, encoding=encoding, sep=sep)
            frame = _parse_iso_datetimes(frame)
        else:
            _check_unique_names(path, pq.read_schema(path).names)
            frame = pd.read_parquet(path)
    except InputDataError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise InputDataError(f"data file is empty: {path}") from exc
    except UnicodeDecodeError as exc:
        raise InputDataError(_decode_error_message(path, encoding, exc)) from exc
    except (pd.errors.ParserError, csv.Error, OSError, ValueError) as exc:
        raise InputDataError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    if frame.empty:
        raise InputDataError(f"data file has no rows: {path}")
    return frame


def _check_csv_options(path: Path, encoding: str, sep: str) -> None:
    if not isinstance(encoding, str):
        raise InputDataError(f"{path}: encoding must be a codec name such as 'utf-8', got {encoding!r}")
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InputDataError(
            f"{path}: unknown encoding {encoding!r}; use a Python codec name such as "
            "'utf-8', 'latin-1' or 'cp1252'"
        ) from exc
    if not isinstance(sep, str) or len(sep) != 1 or sep in FORBIDDEN_SEPS:
        raise InputDataError(
            f"{path}: sep must be a single character such as ',', ';' or '\\t' "
            f"(not a newline or '\"'), got {sep!r}"
        )


def _csv_header(path: Path, encoding: str, sep: str) -> list[str]:
    """Column names as written in the first non-blank row of the CSV (pandas skips blank
    lines before the header too); [] for a file without one."""
    with path.open(newline="", encoding=encoding) as handle:
        for row in csv.reader(handle, delimiter=sep):
            if row:
                if row[0].startswith("\ufeff"):  # a UTF-8 byte order mark, dropped by pandas
                    row[0] = row[0][1:]
                return row
    return []


def _check_unique_names(path: Path, names: list[str]) -> None:
    """Refuse a table whose header repeats a column name. Blank CSV names are left to pandas,
    which numbers them (``Unnamed: 3``)."""
    seen, dupes = set(), []
    for name in names:
        if name == "":
            continue
        if name in seen and name not in dupes:
            dupes.append(name)
        seen.add(name)
    if dupes:
        raise InputDataError(
            f"{path}: duplicate column names {dupes} in the header; rename them so each column is unique"
        )


def _decode_error_message(path: Path, encoding: str, exc: UnicodeDecodeError) -> str:
    found = _first_undecodable_byte(path, encoding)
    if found is None:  # not reproducible from the file: report what the decoder said
        found = exc.object[exc.start : exc.start + 1], None
    bad, offset = found
    where = f"byte 0x{bad.hex()}" + ("" if offset is None else f" at position {offset}")
    suggestion = "latin-1" if codecs.lookup(encoding).name != "iso8859-1" else "cp1252"
    return (
        f"cannot read {path}: not valid {encoding} ({where}); "
        f"set the encoding option to the file's encoding, e.g. encoding: {suggestion}"
    )


def _first_undecodable_byte(path: Path, encoding: str, chunk_size: int = 1 << 20):
    """(byte, offset in the file) of the first byte ``encoding`` cannot decode, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(chunk_size):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return exc.object[exc.start : exc.start + 1], offset - pending + exc.start
                offset += len(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:  # truncated multi-byte sequence at the end of the file
        return exc.object[exc.start : exc.start + 1], offset - len(exc.object) + exc.start
    except (OSError, TypeError, ValueError):
        return None
    return None


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
        raise InputDataError(
            f"{label}: duplicate column names {plain(dupes)}; rename them so each column is unique"
        )
    if target not in frame.columns:
        raise InputDataError(
            f"{label}: target column {target!r} not found; columns are {plain(list(frame.columns))}"
        )
    all_null = [c for c in frame.columns if frame[c].isna().all()]
    if all_null:
        raise InputDataError(f"{label}: column(s) entirely null, nothing to learn from: {plain(all_null)}")
    missing_target = int(frame[target].isna().sum())
    if missing_target:
        raise InputDataError(f"{label}: target column {target!r} has {missing_target} missing values")
    if frame[target].nunique() < 2:
        raise InputDataError(
            f"{label}: target column {target!r} has a single value "
            f"({plain(frame[target].iloc[0])!r}); nothing to predict"
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
