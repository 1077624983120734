"""The daily partitions shared by the instruction lane and publish.

They start at ``SYNTH_ASSETS_PARTITIONS_START`` (YYYY-MM-DD) when it is set, otherwise
``DEFAULT_HISTORY_DAYS`` days before today (UTC), so a new deployment shows a short, recent
history instead of months of missing days. Set the variable to keep older partitions in view.
"""

import datetime as dt
import warnings

from dagster import DailyPartitionsDefinition, EnvVar

# Checks on a partitioned asset take its partitions_def; Dagster 1.13 flags that as preview.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

PARTITIONS_START = EnvVar("SYNTH_ASSETS_PARTITIONS_START")
DEFAULT_HISTORY_DAYS = 30


def partitions_start(value: str | None, today: dt.date) -> dt.date:
    """The first partition: ``value`` (YYYY-MM-DD, not after today) or DEFAULT_HISTORY_DAYS ago."""
    if not value:
        return today - dt.timedelta(days=DEFAULT_HISTORY_DAYS)
    try:
        start = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{PARTITIONS_START.env_var_name}={value!r} is not a date; use YYYY-MM-DD") from None
    if start > today:
        raise ValueError(
            f"{PARTITIONS_START.env_var_name}={value} is after today ({today}); no partition would exist"
        )
    return start


def partition_seed(partition_key: str) -> int:
    """2026-11-20 -> 20261120: every random choice of a partition derives from its date."""
    return int(dt.date.fromisoformat(partition_key).strftime("%Y%m%d"))


daily_partitions = DailyPartitionsDefinition(
    start_date=partitions_start(PARTITIONS_START.get_value(), dt.datetime.now(dt.UTC).date()).isoformat()
)
