"""Verdicts in and out of Dagster: a :class:`~synth_assets.verdicts.Verdict` becomes an
``AssetCheckResult`` laid out for the UI, and the latest evaluations come back from the instance
for the gates and the scorecards (which never measure a gated metric again)."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    MetadataValue,
)

# No public API reads the latest check evaluation per partition (Dagster 1.13): the event log
# storage's query, its partition filter and the execution status are what the UI itself uses.
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from synth_assets.defs.ui import summary
from synth_assets.verdicts import Verdict, not_measured, round_sig

MEASUREMENT = "measurement"  # the metadata entry holding the whole verdict as JSON


def check_result(
    verdict: Verdict, blocking: bool = True, asset_key: str | None = None, tables: dict | None = None
) -> AssetCheckResult:
    """The UI reads top down: the one-line verdict first, then the measured numbers (rounded to
    4 significant digits, so they plot as time series), the constants in one text entry, and
    the whole verdict as JSON for the scorecards. ``tables``: extra table entries (failed
    expectations, ...), shown after the numbers."""
    metadata = {"verdict": summary(verdict.summary)}
    if verdict.value is not None:
        metadata[verdict.metric] = MetadataValue.float(round_sig(verdict.value))
    for name, value in verdict.values.items():
        metadata[name] = MetadataValue.float(round_sig(value))
    metadata.update(tables or {})
    metadata["settings"] = MetadataValue.text(verdict.settings_text())
    metadata[MEASUREMENT] = MetadataValue.json(verdict.to_json())
    return AssetCheckResult(
        check_name=verdict.check,
        asset_key=asset_key,
        passed=verdict.passed,
        severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
        metadata=metadata,
        description=summary(verdict.summary).value,
    )


@dataclass(frozen=True)
class CheckRecord:
    """The latest evaluation of one check on the latest materialization (of one partition)."""

    key: AssetCheckKey
    run_id: str | None
    state: str  # passed | failed (on the latest materialization) | stale | errored (no result) | absent
    verdict: Verdict
    severity: str = "ERROR"  # of the latest result: a WARN failure is reported, it gates nothing

    @property
    def passed(self) -> bool:
        return self.state == "passed"

    @property
    def evaluated_latest(self) -> bool:
        return self.state in ("passed", "failed")


def _evaluated(record, evaluation, materialization) -> bool:
    """Did this evaluation look at ``materialization``? Dagster records the target when it
    knows it; a check of an unpartitioned asset in a partitioned run carries none, and then
    the evaluation must at least come after the materialization."""
    target = evaluation.target_materialization_data
    if target is not None:
        return target.storage_id == materialization.storage_id
    return record.event is not None and record.event.timestamp >= materialization.timestamp


def latest_materialization(instance: DagsterInstance, asset_key: AssetKey, partition_key: str | None):
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition_key] if partition_key else None),
        limit=1,
    ).records
    return records[0] if records else None


def latest_check_records(
    instance: DagsterInstance,
    keys: list[AssetCheckKey],
    partition_key: str | None = None,
) -> dict[str, CheckRecord]:
    """``{check name: CheckRecord}`` for ``keys`` (all on one asset). A check with no result on
    the asset's latest materialization gets a failed verdict that says so."""
    if not keys:
        return {}
    asset_key = keys[0].asset_key
    latest = latest_materialization(instance, asset_key, partition_key)
    executions = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        keys, partition_filter=PartitionKeyFilter(key=partition_key) if partition_key else None
    )
    out = {}
    for key in keys:
        record = executions.get(key)
        if latest is None or record is None:
            reason = "not materialized" if latest is None else "no result"
            verdict = not_measured(key.name, key.name, "", f"{reason}; run the lane with its checks")
            out[key.name] = CheckRecord(key, None, "absent", verdict)
            continue
        if record.status == AssetCheckExecutionRecordStatus.PLANNED:  # no result in that run (yet)
            run = instance.get_run_by_id(record.run_id)
            what = "is still running" if run is not None and not run.is_finished else "errored or was skipped"
            verdict = not_measured(
                key.name, key.name, "", f"the check {what} in run {record.run_id}; see that run's logs"
            )
            out[key.name] = CheckRecord(key, record.run_id, "errored", verdict)
            continue
        evaluation = record.evaluation
        fresh = _evaluated(record, evaluation, latest)
        entry = evaluation.metadata.get(MEASUREMENT)
        if entry is not None:
            verdict = Verdict.from_json(entry.value)
        else:  # a result without a measurement (reported by hand, or by an older version)
            verdict = not_measured(
                key.name, key.name, "", evaluation.description or "no measurement recorded"
            )
        if not fresh:
            verdict = not_measured(
                key.name,
                verdict.metric,
                verdict.threshold,
                "its latest result is from an older materialization; re-run the lane with its checks",
            )
        state = ("passed" if evaluation.passed else "failed") if fresh else "stale"
        out[key.name] = CheckRecord(key, record.run_id, state, verdict, evaluation.severity.value)
    return out
