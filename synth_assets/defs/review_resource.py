"""Where human reviews of instruction pairs go and come back from: a Label Studio server (over
its HTTP API) or, by default, JSONL files in a review inbox folder.

The Label Studio API key is read from the environment variable LABEL_STUDIO_API_KEY by the
process that talks to the server (:mod:`synth_assets.instructions.label_studio`); it is never
part of this config, the run config or any log. The deployment's defaults come from
SYNTH_ASSETS_REVIEW_BACKEND and SYNTH_ASSETS_LABEL_STUDIO_URL (:mod:`synth_assets.defs.resources`).
"""

from dagster import ConfigurableResource
from pydantic import Field

from synth_assets.defs.locations import OutputLocation
from synth_assets.errors import InputDataError
from synth_assets.instructions.label_studio import LabelStudioReviews
from synth_assets.instructions.review import ReviewInbox

BACKENDS = ("file", "label_studio")
DEFAULT_PROJECT = "synth_assets instruction review"


class ReviewResource(ConfigurableResource):
    backend: str = Field(default="file", description=f"One of {BACKENDS}.")
    inbox_dir: str | None = Field(
        default=None,
        description="file: folder of <partition>.jsonl review files; default <output dir>/review_inbox.",
    )
    label_studio_url: str = Field(
        default="http://127.0.0.1:8080", description="label_studio: the server's URL."
    )
    project_title: str = Field(
        default=DEFAULT_PROJECT, description="label_studio: the project (by exact title)."
    )

    def target(self, output: OutputLocation) -> str:
        """Where reviews go, for logs and metadata (no secrets)."""
        if self.backend == "label_studio":
            return f"Label Studio {self.label_studio_url} project '{self.project_title}'"
        return str(self._inbox(output))

    def _inbox(self, output: OutputLocation):
        from pathlib import Path

        return Path(self.inbox_dir).expanduser().resolve() if self.inbox_dir else output.path("review_inbox")

    def tool(self, output: OutputLocation) -> ReviewInbox | LabelStudioReviews:
        if self.backend == "file":
            return ReviewInbox(self._inbox(output))
        if self.backend == "label_studio":
            return LabelStudioReviews(self.label_studio_url, self.project_title)
        raise InputDataError(f"review backend must be one of {BACKENDS}, got {self.backend!r}")
