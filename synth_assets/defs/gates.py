"""The gate across runs. A failing blocking check stops downstream assets in its own run, but
the checked asset is still stored; a later run could read it. Consumers of gated data call
:func:`require_passed_gate` first: every blocking check of the upstream asset must have passed
on its latest materialization (of the partition in question)."""

from dagster import AssetCheckKey, AssetKey, AssetRecordsFilter, Failure
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from synth_assets.defs.images import image_checks
from synth_assets.defs.instructions import instruction_checks
from synth_assets.defs.tabular import tabular_checks

GATED_CHECKS = [*tabular_checks, *image_checks, *instruction_checks]


def blocking_check_keys(asset_key: AssetKey) -> list[AssetCheckKey]:
    """The blocking checks this project defines on ``asset_key`` (from the check definitions
    themselves, so a job or selection that leaves them out cannot open the gate)."""
    specs = [spec for checks in GATED_CHECKS for spec in checks.check_specs]
    return sorted((s.key for s in specs if s.asset_key == asset_key and s.blocking), key=lambda key: key.name)


def _evaluated(record, evaluation, materialization) -> bool:
    """Did this evaluation look at ``materialization``? Dagster records the target when it
    knows it; a check of an unpartitioned asset in a partitioned run carries none, and then
    the evaluation must at least come after the materialization."""
    target = evaluation.target_materialization_data
    if target is not None:
        return target.storage_id == materialization.storage_id
    return record.event is not None and record.event.timestamp >= materialization.timestamp


def require_passed_gate(context, asset_key: AssetKey, partition_key: str | None = None) -> dict[str, str]:
    """Fail the step (no retry) unless each blocking check on ``asset_key`` passed on its latest
    materialization; returns ``{check name: run id of the passing evaluation}``."""
    instance, what = (
        context.instance,
        asset_key.to_user_string() + (f" [{partition_key}]" if partition_key else ""),
    )
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition_key] if partition_key else None),
        limit=1,
    ).records
    if not records:
        raise Failure(f"{what} has not been materialized; run its lane first", allow_retries=False)
    latest = records[0]
    keys = blocking_check_keys(asset_key)
    if not keys:  # fail closed: ungated data never enters a mix
        raise Failure(
            f"no blocking checks are defined for {what}; refusing to use ungated data", allow_retries=False
        )
    executions = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        keys, partition_filter=PartitionKeyFilter(key=partition_key) if partition_key else None
    )
    passed = {}
    for key in keys:
        record = executions.get(key)
        evaluation = record.evaluation if record else None
        if evaluation is None:
            raise Failure(
                f"{what}: blocking check '{key.name}' has no result; run its lane first", allow_retries=False
            )
        if not _evaluated(record, evaluation, latest):
            raise Failure(
                f"{what}: blocking check '{key.name}' did not evaluate the latest materialization; "
                "re-run the lane with its checks",
                allow_retries=False,
            )
        if record.status != AssetCheckExecutionRecordStatus.SUCCEEDED or not evaluation.passed:
            raise Failure(
                f"{what} failed its blocking check '{key.name}' (run {record.run_id}); the data stays out of "
                "every mix and export until the lane passes",
                allow_retries=False,
                metadata={k: v for k, v in evaluation.metadata.items()},
            )
        passed[key.name] = record.run_id
    return passed
