"""Any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, ...): chat completions and
raw completions through the official ``openai`` SDK with its own retries off."""

from __future__ import annotations

import json
import os

from synth_assets.llm.types import (
    LLMConfigError,
    LLMError,
    LLMRequest,
    LLMResponse,
    RetryableError,
    retry_after_seconds,
)

API_KEY_ENV = "OPENAI_API_KEY"
RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAICompatibleBackend:
    name = "openai_compatible"
    supports_raw_completion = True
    supports_logprobs = True
    default_concurrency = 8
    price_multiplier = 1.0

    def __init__(self, base_url: str, model: str, timeout: float = 60.0, chat_template: str | None = None):
        from openai import OpenAI

        if not base_url:
            raise LLMConfigError(
                "the openai_compatible backend needs base_url (e.g. http://127.0.0.1:8000/v1)"
            )
        self.model = model
        self.chat_template = chat_template
        # local servers ignore the key; a hosted one reads it from OPENAI_API_KEY
        self._client = OpenAI(
            base_url=base_url, api_key=os.environ.get(API_KEY_ENV) or "unused", max_retries=0, timeout=timeout
        )

    def _translate(self, exc: Exception) -> LLMError:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return RetryableError(f"timeout: {exc}")
        if isinstance(exc, openai.APIConnectionError):
            return RetryableError(f"connection error: {exc}")
        if isinstance(exc, openai.APIStatusError):
            message = f"HTTP {exc.status_code}: {exc.message}"
            if exc.status_code in RETRYABLE_STATUS:
                wait = retry_after_seconds(exc.response)
                return RetryableError(message, retry_after=wait, rate_limited=exc.status_code == 429)
            return LLMError(message)
        return LLMError(f"{type(exc).__name__}: {exc}")

    def _score(self, request: LLMRequest) -> LLMResponse:
        """Continuation log-probabilities through ``/v1/completions`` with ``echo`` and
        ``logprobs``: the server returns the prompt's own token log-probabilities. The
        continuation's tokens are the last prompt tokens whose text covers it (servers differ in
        how they show special tokens and offsets, so the text itself is matched)."""
        import openai

        try:
            out = self._client.completions.create(
                model=self.model,
                prompt=request.prompt + request.continuation,
                max_tokens=1,
                temperature=0.0,
                echo=True,
                logprobs=1,
            )
        except openai.BadRequestError as exc:
            raise LLMConfigError(
                f"the server at {self._client.base_url} refused /v1/completions with echo and "
                f"logprobs ({exc.message}); the ifd critic needs prompt log-probabilities: use a "
                "server that returns them (vLLM, llama-cpp-python's server) or critic 'llm_judge'"
            ) from exc
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        logprobs = out.choices[0].logprobs
        tokens = list(getattr(logprobs, "tokens", None) or []) if logprobs else []
        values = list(getattr(logprobs, "token_logprobs", None) or []) if logprobs else []
        generated = getattr(out.usage, "completion_tokens", None)
        generated = 1 if generated is None else generated  # 0 when the model stopped at once
        prompt = list(zip(tokens, values, strict=False))[: max(0, len(tokens) - generated)]
        covered, picked = "", []
        while prompt and len(covered) < len(request.continuation):
            token, value = prompt.pop()
            covered, picked = token + covered, [(token, value), *picked]
        if not picked or not covered.endswith(request.continuation) or any(v is None for _, v in picked):
            raise LLMConfigError(
                f"the server at {self._client.base_url} returned no usable log-probabilities for "
                "the prompt tokens with echo=true; the ifd critic needs them: use a server that "
                "does (vLLM, llama-cpp-python's server) or critic 'llm_judge'"
            )
        return LLMResponse(
            text="",
            input_tokens=getattr(out.usage, "prompt_tokens", 0) or 0,
            output_tokens=0,
            finish_reason="score",
            tokens=[token for token, _ in picked],
            token_logprobs=[float(value) for _, value in picked],
        )

    def generate_one(self, request: LLMRequest) -> LLMResponse:
        import openai

        if request.kind == "score":
            return self._score(request)
        common = dict(
            model=self.model,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=list(request.stop) or None,
        )
        try:
            if request.kind == "completion":
                out = self._client.completions.create(
                    prompt=request.prompt, logprobs=request.top_logprobs or None, **common
                )
                choice = out.choices[0]
                text = choice.text
                tokens = top = None
                if choice.logprobs and choice.logprobs.tokens:
                    tokens = list(choice.logprobs.tokens)
                    top = [dict(t or {}) for t in (choice.logprobs.top_logprobs or [])]
            else:
                extra = {}
                if request.json_schema:
                    extra["response_format"] = {
                        "type": "json_schema",
                        "json_schema": {"name": "response", "schema": json.loads(request.json_schema)},
                    }
                if request.top_logprobs:
                    extra.update(logprobs=True, top_logprobs=request.top_logprobs)
                out = self._client.chat.completions.create(
                    messages=request.chat_messages(), **common, **extra
                )
                choice = out.choices[0]
                text = choice.message.content or ""
                tokens = top = None
                if choice.logprobs and choice.logprobs.content:
                    tokens = [item.token for item in choice.logprobs.content]
                    top = [
                        {alt.token: alt.logprob for alt in item.top_logprobs}
                        for item in choice.logprobs.content
                    ]
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        usage = out.usage
        return LLMResponse(
            text=text,
            input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            finish_reason=choice.finish_reason,
            tokens=tokens,
            top_logprobs=top,
        )
