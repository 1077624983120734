"""Dagster entry point: the lanes' assets and checks, publish, jobs, schedules, the inbox sensor
and resources."""

from dagster import Definitions, multiprocess_executor

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

# Every step runs in its own process, forked from a server that has already imported the slow,
# fork-safe libraries (about 4 of the 8 s a fresh step spends importing). torch is left out on
# purpose: a child forked after torch is imported ran its ops about 2x slower (its OpenMP
# pool does not survive a fork), so each step imports torch itself.
PRELOADED = [
    "dagster",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy.stats",
    "sklearn",
    "nltk",
    "rouge_score.rouge_scorer",
]
executor = multiprocess_executor.configured({"start_method": {"forkserver": {"preload_modules": PRELOADED}}})

defs = Definitions(
    executor=executor,
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
