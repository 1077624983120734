"""The tabular lane's job."""

from dagster import AssetSelection, define_asset_job

tabular_lane = define_asset_job(
    "tabular_lane",
    tags={"synth_assets/lane": "tabular"},
    selection=AssetSelection.groups("tabular"),
    description="real_table -> tabular_synth with the blocking tstr, dcr and data_quality checks.",
)
