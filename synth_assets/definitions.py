"""Dagster entry point: the lanes' assets and checks, publish, jobs, schedules, the inbox sensor
and resources."""

from dagster import Definitions

from synth_assets.defs.automation import schedules, sensors
from synth_assets.defs.exports import export_assets
from synth_assets.defs.images import image_assets, image_checks
from synth_assets.defs.instructions import instruction_assets, instruction_checks
from synth_assets.defs.io_manager import BundleIOManagerFactory, default_output_dir
from synth_assets.defs.jobs import jobs
from synth_assets.defs.llm_resource import LLMResource
from synth_assets.defs.mix import mix_assets
from synth_assets.defs.scorecards import scorecard_assets
from synth_assets.defs.tabular import tabular_assets, tabular_checks

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
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={
        "io_manager": BundleIOManagerFactory(base_dir=default_output_dir()),
        "llm": LLMResource.from_environment(),
    },
)
