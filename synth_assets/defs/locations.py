"""Where the project reads and writes files, as resources (set in the UI's resource page, run
config or the environment; see :mod:`synth_assets.defs.resources`)."""

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

DEFAULT_OUTPUT_DIR = "outputs"
DEFAULT_INBOX_DIR = "inbox"


class OutputLocation(ConfigurableResource):
    """The one folder every output goes under: asset bundles (the IO manager), exports and the
    HTML validation reports."""

    base_dir: str = Field(default=DEFAULT_OUTPUT_DIR, description="Folder for all outputs.")

    def path(self, *parts: str) -> Path:
        return Path(self.base_dir).expanduser().resolve().joinpath(*parts)


class InputLocation(ConfigurableResource):
    """Where real_table and real_images may read user-given files from: anywhere when unset,
    else only inside ``allowed_dir`` (symlinks resolved)."""

    allowed_dir: str | None = Field(
        default=None, description="If set, data files are only read inside this folder."
    )


class InboxLocation(ConfigurableResource):
    """The folder the tabular_inbox sensor watches for new tables."""

    path: str = Field(default=DEFAULT_INBOX_DIR, description="Folder of CSV / Parquet + YAML drops.")

    def folder(self) -> Path:
        return Path(self.path).expanduser().resolve()
