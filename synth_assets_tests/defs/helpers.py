"""Shared ways to run assets in-process and read results back, and the project's assets and
checks by lane, as ``load_from_defs_folder`` finds them."""

import datetime as dt

from dagster import AssetChecksDefinition, AssetsDefinition, DagsterInstance, materialize

from synth_assets.definitions import defs
from synth_assets.defs.io_manager import BundleIOManagerFactory
from synth_assets.defs.locations import InputLocation, OutputLocation
from synth_assets.defs.review_resource import ReviewResource

PROJECT = defs()


def _unique(items) -> list:
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def group_assets(*groups: str) -> list[AssetsDefinition]:
    return _unique(
        a
        for a in PROJECT.assets
        if isinstance(a, AssetsDefinition)
        and not isinstance(a, AssetChecksDefinition)
        and set(a.group_names_by_key.values()) & set(groups)
    )


def group_checks(*groups: str) -> list[AssetChecksDefinition]:
    keys = {key for a in group_assets(*groups) for key in a.keys}
    return _unique(c for c in PROJECT.asset_checks if {s.asset_key for s in c.check_specs} & keys)


def prefixed(prefix: str) -> list[AssetsDefinition]:
    return [a for a in group_assets("validation", "datasets") if a.key.path[0] == prefix]


tabular_assets, tabular_checks = group_assets("tabular"), group_checks("tabular")
# what the tabular lane must check, written out so a check that goes missing fails the tests
TABULAR_CHECK_NAMES = {
    "tstr",
    "dcr",
    "data_quality",
    "id_leakage",
    "constraint_violations",
    "membership_inference",
    "bias_amplification",
}
IMAGE_CHECK_NAMES = {"fid", "kid", "prdc", "class_agreement", "class_balance"}
INSTRUCTION_CHECK_NAMES = {"critic_validity", "critic_pass_rate", "diversity", "topic_balance"}
image_assets, image_checks = group_assets("images"), group_checks("images")
instruction_assets, instruction_checks = group_assets("instructions"), group_checks("instructions")
scorecard_assets = group_assets("validation")
mix_assets, export_assets = prefixed("anchored_mix"), prefixed("export")


def recent_day(days_ago: int) -> str:
    """A partition key ``days_ago`` days before today (UTC): inside the default partition window."""
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)).isoformat()


def output_resources(tmp_path) -> dict:
    """The IO manager and the output location, both under ``tmp_path / "out"``."""
    location = OutputLocation(base_dir=str(tmp_path / "out"))
    return {
        "io_manager": BundleIOManagerFactory(location=location),
        "output_location": location,
        "input_location": InputLocation(),
        "review": ReviewResource(),
    }


def run_assets(tmp_path, assets, ops=None, instance=None, **kwargs):
    """Materialize ``assets`` with outputs under ``tmp_path / "out"``; never raises on failure."""
    return materialize(
        assets,
        run_config={"ops": ops or {}},
        resources={**output_resources(tmp_path), **kwargs.pop("resources", {})},
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
