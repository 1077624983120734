"""The resources every lane shares, configured from the environment through ``EnvVar`` (the
values stay references: the UI's resource page shows which variable set them).

- ``SYNTH_ASSETS_OUTPUT_DIR``: where outputs go (default ./outputs);
- ``SYNTH_ASSETS_INBOX``: the folder the tabular_inbox sensor watches (default ./inbox);
- ``SYNTH_ASSETS_DATA_DIR``: if set, the only folder real_table and real_images read files from;
- ``SYNTH_ASSETS_LLM_BACKEND`` / ``_MODEL`` / ``_BASE_URL``: the instruction lane's default LLM
  (unset: the embedded local model). Run config still overrides each field.
- ``SYNTH_ASSETS_REVIEW_BACKEND`` / ``SYNTH_ASSETS_LABEL_STUDIO_URL``: where human reviews go
  (unset: JSONL files in <output dir>/review_inbox).
API keys (LLM providers, LABEL_STUDIO_API_KEY) are read in the step process and never enter any
config.
"""

from dagster import Definitions, EnvVar, definitions

from synth_assets.defs.io_manager import BundleIOManagerFactory
from synth_assets.defs.llm_resource import LLMResource
from synth_assets.defs.locations import (
    DEFAULT_INBOX_DIR,
    DEFAULT_OUTPUT_DIR,
    InboxLocation,
    InputLocation,
    OutputLocation,
)
from synth_assets.defs.review_resource import ReviewResource

OUTPUT_DIR = EnvVar("SYNTH_ASSETS_OUTPUT_DIR")
INBOX_DIR = EnvVar("SYNTH_ASSETS_INBOX")
DATA_DIR = EnvVar("SYNTH_ASSETS_DATA_DIR")
LLM_SETTINGS = {name: EnvVar(f"SYNTH_ASSETS_LLM_{name.upper()}") for name in ("backend", "model", "base_url")}
REVIEW_SETTINGS = {
    "backend": EnvVar("SYNTH_ASSETS_REVIEW_BACKEND"),
    "label_studio_url": EnvVar("SYNTH_ASSETS_LABEL_STUDIO_URL"),
}


def _set_or(variable: EnvVar, default: str) -> str:
    """The variable itself (resolved when the resource is built) when it is set, else the default."""
    return variable if variable.get_value() else default


def shared_resources() -> dict:
    output = OutputLocation(base_dir=_set_or(OUTPUT_DIR, DEFAULT_OUTPUT_DIR))
    return {
        "output_location": output,
        "io_manager": BundleIOManagerFactory(location=output),
        "inbox": InboxLocation(path=_set_or(INBOX_DIR, DEFAULT_INBOX_DIR)),
        "input_location": InputLocation(allowed_dir=DATA_DIR if DATA_DIR.get_value() else None),
        "llm": LLMResource(**{name: var for name, var in LLM_SETTINGS.items() if var.get_value()}),
        "review": ReviewResource(**{name: var for name, var in REVIEW_SETTINGS.items() if var.get_value()}),
    }


@definitions
def resources() -> Definitions:
    return Definitions(resources=shared_resources())
