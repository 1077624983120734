"""The jobs users launch, schedule and backfill."""

from dagster import AssetKey, AssetSelection, define_asset_job

from synth_assets.defs.instructions import daily_partitions

tabular_lane = define_asset_job(
    "tabular_lane",
    tags={"synth_assets/lane": "tabular"},
    selection=AssetSelection.groups("tabular"),
    description="real_table -> tabular_synth with the blocking tstr, dcr and data_quality checks.",
)
instruction_lane = define_asset_job(
    "instruction_lane",
    tags={"synth_assets/lane": "instructions"},
    selection=AssetSelection.groups("instructions"),
    partitions_def=daily_partitions,
    description="seed_topics -> raw -> evolved -> critic-filtered instructions for one day.",
)
image_lane = define_asset_job(
    "image_lane",
    tags={"synth_assets/lane": "images"},
    selection=AssetSelection.groups("images"),
    description="real_images -> image_model -> synthetic_images with the blocking fid check.",
)
publish = define_asset_job(
    "publish",
    tags={"synth_assets/lane": "publish"},
    selection=AssetSelection.groups("validation", "datasets"),
    partitions_def=daily_partitions,
    description="Scorecards (per lane, combined, HTML report), the collapse curve, anchored mixes of "
    "the data that passed its gates, and the exports; the partition picks the instruction lane's day.",
)
revalidate = define_asset_job(
    "revalidate",
    selection=AssetSelection.checks_for_assets(AssetKey("tabular_synth"), AssetKey("synthetic_images")),
    description="Re-run the tabular and image checks on the stored assets (nothing is regenerated): "
    "catches a changed threshold or a changed real holdout.",
)

full_graph = define_asset_job(
    "full_graph",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Every asset and check for one day: the three lanes, then publish.",
)

jobs = [tabular_lane, instruction_lane, image_lane, publish, revalidate, full_graph]
