"""Shared ways to run assets in-process and read results back."""

from dagster import DagsterInstance, materialize

from synth_assets.defs.io_manager import BundleIOManagerFactory


def run_assets(tmp_path, assets, ops=None, instance=None, **kwargs):
    """Materialize ``assets`` with outputs under ``tmp_path / "out"``; never raises on failure."""
    return materialize(
        assets,
        run_config={"ops": ops or {}},
        resources={
            "io_manager": BundleIOManagerFactory(base_dir=str(tmp_path / "out")),
            **kwargs.pop("resources", {}),
        },
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=False,
        **kwargs,
    )


def check_evaluations(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def step_failure_message(result, step_key: str) -> str:
    failure = next(
        e for e in result.all_events if e.event_type_value == "STEP_FAILURE" and e.step_key == step_key
    )
    return failure.event_specific_data.error.message
