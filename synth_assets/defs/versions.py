"""Code versions of the assets (Dagster's ``code_version``). Bump an asset's entry when a change
to its code, or to the pure logic it calls, changes what it writes for the same inputs and
config; the UI then marks it and everything downstream stale until they are rebuilt. The LLM
stages carry the versions of their prompt templates, so a template change does the same.

Each materialization also carries a ``DataVersion``: the hash of the bundle it stored (see
``defs/io_manager.py``), so a rebuild that writes the same bytes changes nothing downstream.
"""

from synth_assets.instructions.calibration import CALIBRATION_VERSION
from synth_assets.instructions.constitution import CONSTITUTION_TEMPLATE_VERSION
from synth_assets.instructions.critic import JUDGE_TEMPLATE_VERSION
from synth_assets.instructions.evol import EVOL_TEMPLATE_VERSION
from synth_assets.instructions.generation import GENERATION_TEMPLATE_VERSION

CODE_VERSIONS = {
    # tabular lane
    "real_table": "2",
    "tabular_synth": "3",
    # image lane
    "real_images": "1",
    "image_model": "1",
    "synthetic_images": "1",
    # instruction lane
    "seed_topics": "1",
    "seed_corpus": "1",
    "raw_instructions": f"2+{GENERATION_TEMPLATE_VERSION}",
    "evolved_instructions": f"1+{EVOL_TEMPLATE_VERSION}+{CONSTITUTION_TEMPLATE_VERSION}",
    "critic_filtered_instructions": f"1+{JUDGE_TEMPLATE_VERSION}+{CALIBRATION_VERSION}",
    "review_requests": "1",
    "human_reviews": "1",
    # publish
    "collapse_curve": "1",
    "tabular_mix": "1",
    "image_mix": "1",
    "instruction_mix": "2",
    "tabular_scorecard": "1",
    "image_scorecard": "1",
    "instruction_scorecard": "2",
    "instruction_utility": "1",
    "combined": "1",
    "tabular_export": "2",
    "image_export": "2",
    "instruction_export": "3",
}


def code_version(asset_name: str) -> str:
    return CODE_VERSIONS[asset_name]
