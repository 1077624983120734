"""The daily partitions shared by the instruction lane and publish.

They start at ``SYNTH_ASSETS_PARTITIONS_START`` (YYYY-MM-DD) when it is set, otherwise on the
first day of the previous month (UTC): a new deployment shows one to two months of recent days
instead of a long run of missing ones, and the start moves only when a month begins (not every
night, which would drop a partition from under a run crossing midnight). Set the variable to
keep older partitions in view.
"""

import datetime as dt
import warnings

from dagster import DailyPartitionsDefinition, EnvVar

# Checks on a partitioned asset take its partitions_def; Dagster 1.13 flags that as preview.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

PARTITIONS_START = EnvVar("SYNTH_ASSETS_PARTITIONS_START")


def first_of_previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def partitions_start(value: str | None, today: dt.date) -> dt.date:
    """The first partition: ``value`` (YYYY-MM-DD, not after today) or the first day of the
    previous month."""
    if not value:
        return first_of_previous_month(today)
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
