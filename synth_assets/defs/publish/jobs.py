"""Publish (scorecards, mixes, exports), the whole graph, the re-validation of stored data, and
their schedules (created STOPPED: turn them on in the UI's Automation page)."""

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from synth_assets.defs.partitions import daily_partitions

publish = define_asset_job(
    "publish",
    tags={"synth_assets/lane": "publish"},
    selection=AssetSelection.groups("validation", "datasets"),
    partitions_def=daily_partitions,
    description="Scorecards (per lane, combined, HTML report), the collapse curve, anchored mixes of "
    "the data that passed its gates, and the exports; the partition picks the instruction lane's day.",
)
full_graph = define_asset_job(
    "full_graph",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Every asset and check for one day: the three lanes, then publish.",
)
revalidate = define_asset_job(
    "revalidate",
    selection=AssetSelection.checks_for_assets(AssetKey("tabular_synth"), AssetKey("synthetic_images")),
    description="Re-run the tabular and image checks on the stored assets (nothing is regenerated): "
    "catches a changed threshold or a changed real holdout.",
)

publish_daily = build_schedule_from_partitioned_job(
    publish,
    name="publish_daily",
    hour_of_day=4,
    description="Scorecards, mixes and exports for yesterday's partition, every day at 04:00 UTC.",
    default_status=DefaultScheduleStatus.STOPPED,
)
revalidate_weekly = ScheduleDefinition(
    name="revalidate_weekly",
    job=revalidate,
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    description="Re-run the tabular and image checks on the stored data every Monday at 03:00 UTC.",
    default_status=DefaultScheduleStatus.STOPPED,
)
