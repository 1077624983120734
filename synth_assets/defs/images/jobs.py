"""The image lane's job."""

from dagster import AssetSelection, define_asset_job

image_lane = define_asset_job(
    "image_lane",
    tags={"synth_assets/lane": "images"},
    selection=AssetSelection.groups("images"),
    description="real_images -> image_model -> synthetic_images with the blocking fid check.",
)
