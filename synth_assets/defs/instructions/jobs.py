"""The instruction lane's job and its daily schedule (created STOPPED: turn it on in the UI)."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from synth_assets.defs.partitions import daily_partitions

instruction_lane = define_asset_job(
    "instruction_lane",
    tags={"synth_assets/lane": "instructions"},
    selection=AssetSelection.groups("instructions"),
    partitions_def=daily_partitions,
    description="seed_corpus, seed_topics -> raw -> evolved -> critic-filtered instructions for one day.",
)

instruction_lane_daily = build_schedule_from_partitioned_job(
    instruction_lane,
    name="instruction_lane_daily",
    hour_of_day=1,
    description="Yesterday's instruction partition, every day at 01:00 UTC.",
    default_status=DefaultScheduleStatus.STOPPED,
)
