"""Dagster entry point: collects the lanes' assets, checks, resources and jobs."""

from dagster import AssetSelection, Definitions, define_asset_job

from synth_assets.defs.io_manager import BundleIOManagerFactory, default_output_dir
from synth_assets.defs.tabular import tabular_assets, tabular_checks

synth_all = define_asset_job(
    "synth_all",
    selection=AssetSelection.all(),
    description="Materialize the whole asset graph with every asset check.",
)

defs = Definitions(
    assets=[*tabular_assets],
    asset_checks=[*tabular_checks],
    jobs=[synth_all],
    resources={"io_manager": BundleIOManagerFactory(base_dir=default_output_dir())},
)
