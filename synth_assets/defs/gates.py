"""The gate across runs. A failing blocking check stops downstream assets in its own run, but
the checked asset is still stored; a later run could read it. Consumers of gated data call
:func:`require_passed_gate` first: every blocking check of the upstream asset must have passed
on its latest materialization (of the partition in question)."""

from dagster import AssetCheckKey, AssetKey, Failure

from synth_assets.defs.check_results import latest_check_records, latest_materialization
from synth_assets.defs.images.checks import image_checks
from synth_assets.defs.instructions.checks import instruction_checks
from synth_assets.defs.tabular.checks import tabular_checks

GATED_CHECKS = [*tabular_checks, *image_checks, *instruction_checks]


def check_keys(asset_key: AssetKey, blocking_only: bool = False) -> list[AssetCheckKey]:
    """The checks this project defines on ``asset_key`` (from the check definitions themselves,
    so a job or selection that leaves them out cannot open the gate)."""
    specs = [spec for checks in GATED_CHECKS for spec in checks.check_specs]
    return [s.key for s in specs if s.asset_key == asset_key and (s.blocking or not blocking_only)]


def require_passed_gate(context, asset_key: AssetKey, partition_key: str | None = None) -> dict[str, str]:
    """Fail the step (no retry) unless each blocking check on ``asset_key`` passed on its latest
    materialization; returns ``{check name: run id of the passing evaluation}``."""
    what = asset_key.to_user_string() + (f" [{partition_key}]" if partition_key else "")
    if latest_materialization(context.instance, asset_key, partition_key) is None:
        raise Failure(f"{what} has not been materialized; run its lane first", allow_retries=False)
    keys = check_keys(asset_key, blocking_only=True)
    if not keys:  # fail closed: ungated data never enters a mix
        raise Failure(
            f"no blocking checks are defined for {what}; refusing to use ungated data", allow_retries=False
        )
    passed = {}
    for name, record in sorted(latest_check_records(context.instance, keys, partition_key).items()):
        if record.state == "absent":
            raise Failure(
                f"{what}: blocking check '{name}' has no result; run its lane first", allow_retries=False
            )
        if record.state == "errored":
            raise Failure(f"{what}: blocking check '{name}': {record.verdict.summary}", allow_retries=False)
        if record.state == "stale":
            raise Failure(
                f"{what}: blocking check '{name}' did not evaluate the latest materialization; "
                "re-run the lane with its checks",
                allow_retries=False,
            )
        if record.state == "failed" and record.severity == "WARN":  # a warning by its own config
            continue
        if record.state == "failed":
            raise Failure(
                f"{what} failed its blocking check '{name}' (run {record.run_id}): {record.verdict.summary}. "
                "The data stays out of every mix and export until the lane passes",
                allow_retries=False,
                metadata={"verdict": record.verdict.summary},
            )
        passed[name] = record.run_id
    return passed
