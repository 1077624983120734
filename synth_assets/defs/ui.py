"""Metadata laid out for the Dagster UI: a short summary first (text, shown inline), numbers
rounded to 4 significant digits, and tables as table entries (which the UI shows without a
click, unlike markdown over 1,000 characters)."""

from __future__ import annotations

import pandas as pd
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from synth_assets.verdicts import fmt, round_sig

MAX_SUMMARY = 1000
MAX_CELL = 120


def summary(text: str) -> MetadataValue:
    return MetadataValue.text(text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…")


def settings(**values) -> MetadataValue:
    """Constants of a run (seed, epochs, thresholds, ...) in one text entry: numbers as separate
    entries would be plotted over time as if they were measurements."""
    return MetadataValue.text(" · ".join(f"{k} {fmt(v)}" for k, v in values.items()))


def number(value: float | int) -> MetadataValue:
    if isinstance(value, bool):
        return MetadataValue.bool(value)
    if isinstance(value, int):
        return MetadataValue.int(value)
    return MetadataValue.float(round_sig(float(value)))


def _cell(value):
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return round_sig(value)
    text = str(value).replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "string"


def table(frame: pd.DataFrame, max_rows: int = 10) -> MetadataValue:
    """``frame``'s first ``max_rows`` rows as a table entry (column names as strings, long text cut)."""
    shown = frame.head(max_rows)
    columns = [str(c) for c in shown.columns]
    records = [
        TableRecord({name: _cell(v) for name, v in zip(columns, row, strict=True)})
        for row in shown.itertuples(index=False, name=None)
    ]
    schema = TableSchema(
        columns=[
            TableColumn(name=name, type=_kind(shown[c]))
            for name, c in zip(columns, shown.columns, strict=True)
        ]
    )
    return MetadataValue.table(records, schema=schema)


def tag_run(context, tags: dict[str, str]) -> None:
    """Tag the running run (synthesizer, data source, LLM backend) so runs with different settings
    tell apart in the run list. No public API adds tags to a run in flight (Dagster 1.13):
    ``DagsterInstance.add_run_tags`` is the instance method the UI's own tag editor uses."""
    context.instance.add_run_tags(
        context.run.run_id, {f"synth_assets/{k}": str(v)[:255] for k, v in tags.items()}
    )
