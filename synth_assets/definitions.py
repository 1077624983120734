"""Dagster entry point: collects the lanes' assets, checks, resources and jobs."""

from dagster import AssetSelection, Definitions, define_asset_job

from synth_assets.defs.exports import export_assets
from synth_assets.defs.images import image_assets, image_checks
from synth_assets.defs.instructions import daily_partitions, instruction_assets, instruction_checks
from synth_assets.defs.io_manager import BundleIOManagerFactory, default_output_dir
from synth_assets.defs.llm_resource import LLMResource
from synth_assets.defs.mix import mix_assets
from synth_assets.defs.scorecards import scorecard_assets
from synth_assets.defs.tabular import tabular_assets, tabular_checks

tabular_lane = define_asset_job(
    "tabular_lane",
    selection=AssetSelection.groups("tabular"),
    description="real_table -> tabular_synth with the blocking tstr, dcr and data_quality checks.",
)
instruction_lane = define_asset_job(
    "instruction_lane",
    selection=AssetSelection.groups("instructions"),
    partitions_def=daily_partitions,
    description="seed_topics -> raw -> evolved -> critic-filtered instructions for one day.",
)

image_lane = define_asset_job(
    "image_lane",
    selection=AssetSelection.groups("images"),
    description="real_images -> image_model -> synthetic_images with the blocking fid check.",
)
publish = define_asset_job(
    "publish",
    selection=AssetSelection.groups("validation", "datasets"),
    partitions_def=daily_partitions,
    description="Scorecards (per lane, combined, HTML report), the collapse curve, anchored mixes of "
    "the data that passed its gates, and the exports; the partition picks the instruction lane's day.",
)

defs = Definitions(
    assets=[
        *tabular_assets,
        *instruction_assets,
        *image_assets,
        *scorecard_assets,
        *mix_assets,
        *export_assets,
    ],
    asset_checks=[*tabular_checks, *instruction_checks, *image_checks],
    jobs=[tabular_lane, instruction_lane, image_lane, publish],
    resources={
        "io_manager": BundleIOManagerFactory(base_dir=default_output_dir()),
        "llm": LLMResource(),
    },
)
