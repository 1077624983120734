"""Schedules and the inbox sensor. Schedules are created STOPPED: turn them on in the UI
(Automation) or with `dagster schedule start`; the daemon (`dagster dev` runs one) runs them."""

import os
from pathlib import Path

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SkipReason,
    build_schedule_from_partitioned_job,
    sensor,
)

from synth_assets.defs.jobs import instruction_lane, publish, revalidate, tabular_lane
from synth_assets.tabular.inbox import scan_inbox

INBOX_ENV = "SYNTH_ASSETS_INBOX"

instruction_lane_daily = build_schedule_from_partitioned_job(
    instruction_lane,
    name="instruction_lane_daily",
    hour_of_day=1,
    description="Yesterday's instruction partition, every day at 01:00 UTC.",
    default_status=DefaultScheduleStatus.STOPPED,
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


def inbox_dir() -> Path:
    return Path(os.environ.get(INBOX_ENV, "inbox")).expanduser().resolve()


@sensor(
    job=tabular_lane,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description=f"A CSV / Parquet file plus <name>.yaml (target: <column>) dropped into ${INBOX_ENV} "
    "(default ./inbox) starts the tabular lane on it; bad files are reported and left in place.",
)
def tabular_inbox(context):
    folder = inbox_dir()
    ready, problems = scan_inbox(folder)
    for name, reason in problems:
        context.log.warning(f"inbox {folder}: {name}: {reason} (left in place)")
    for dataset in ready:
        spec = dataset.spec
        real = {"source": str(dataset.data_path), "target": spec["target"]}
        real.update({k: spec[k] for k in ("task_type", "holdout_fraction") if k in spec})
        synth = {k: spec[k] for k in ("synthesizer", "epochs") if k in spec}
        ops = {"real_table": {"config": real}}
        if synth:
            ops["tabular_synth"] = {"config": synth}
        yield RunRequest(
            run_key=f"{dataset.name}-{dataset.fingerprint}",
            run_config={"ops": ops},
            tags={"synth_assets/inbox": dataset.name, "synth_assets/fingerprint": dataset.fingerprint},
        )
    if not ready:
        shown = "; ".join(f"{name}: {reason}" for name, reason in problems) or "empty"
        yield SkipReason(f"nothing to synthesize in {folder} ({shown})")


schedules = [instruction_lane_daily, publish_daily, revalidate_weekly]
sensors = [tabular_inbox]
