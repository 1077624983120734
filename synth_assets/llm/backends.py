"""Backend names -> backend objects."""

from __future__ import annotations

from synth_assets.llm.types import LLMConfigError

BACKENDS = ("local", "anthropic", "anthropic_batch", "openai_compatible")


def make_backend(
    backend: str,
    model: str | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
    chat_template: str | None = None,
    batch_poll_interval: float = 30.0,
):
    """Build the named backend. ``model`` is a GGUF path for ``local`` (default: SmolLM2),
    a model name otherwise."""
    if backend == "local":
        from synth_assets.llm.local_backend import LocalBackend

        return LocalBackend(model_path=model)
    if backend in ("anthropic", "anthropic_batch"):
        from synth_assets.llm.anthropic_backend import (
            DEFAULT_MODEL,
            AnthropicBackend,
            AnthropicBatchBackend,
        )

        if backend == "anthropic":
            return AnthropicBackend(model=model or DEFAULT_MODEL, base_url=base_url, timeout=timeout)
        return AnthropicBatchBackend(
            model=model or DEFAULT_MODEL,
            base_url=base_url,
            timeout=timeout,
            poll_interval=batch_poll_interval,
        )
    if backend == "openai_compatible":
        from synth_assets.llm.openai_backend import OpenAICompatibleBackend

        if not model:
            raise LLMConfigError("the openai_compatible backend needs model (the name the server serves)")
        return OpenAICompatibleBackend(
            base_url=base_url or "", model=model, timeout=timeout, chat_template=chat_template
        )
    raise LLMConfigError(f"unknown LLM backend {backend!r}; choose from {BACKENDS}")
