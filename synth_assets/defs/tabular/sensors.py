"""The inbox sensor: a table dropped into the inbox folder starts the tabular lane on it.
Created STOPPED: turn it on in the UI (Automation); the daemon (`dg dev` runs one) runs it."""

from dagster import DefaultSensorStatus, RunRequest, SkipReason, sensor

from synth_assets.defs.locations import InboxLocation
from synth_assets.defs.tabular.jobs import tabular_lane
from synth_assets.tabular.inbox import REAL_TABLE_KEYS, SYNTH_KEYS, scan_inbox


@sensor(
    job=tabular_lane,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="A CSV / Parquet file plus <name>.yaml (target: <column>) dropped into the inbox "
    "folder (resource 'inbox', env SYNTH_ASSETS_INBOX, default ./inbox) starts the tabular lane on "
    "it; bad files are reported and left in place.",
)
def tabular_inbox(context, inbox: InboxLocation):
    folder = inbox.folder()
    ready, problems = scan_inbox(folder)
    for name, reason in problems:
        context.log.warning(f"inbox {folder}: {name}: {reason} (left in place)")
    for dataset in ready:
        spec = dataset.spec
        real = {"source": str(dataset.data_path), "target": spec["target"]}
        real.update({k: spec[k] for k in REAL_TABLE_KEYS if k in spec})
        synth = {k: spec[k] for k in SYNTH_KEYS if k in spec}
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
