"""Anthropic Messages API backends (official SDK): one call per request, or Message Batches.

The SDK's own retries are switched off (``max_retries=0``) so that the client's retry,
backoff and adaptive concurrency are the only ones in play. The API key is read from the
environment and handed to the SDK only; it is never logged, cached or put in metadata.

Structured output: a request with ``json_schema`` is sent with a single tool whose
``input_schema`` is that schema and a ``tool_choice`` that forces it, so the model answers
through the tool. The tool's input comes back as the response text (``json.dumps``), so the
callers' JSON parse reads it unchanged; a reply without the tool call falls back to its text.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable

from synth_assets.llm.types import (
    LLMConfigError,
    LLMError,
    LLMRequest,
    LLMResponse,
    RetryableError,
    UnsupportedRequestError,
    retry_after_seconds,
)

API_KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_MODEL = "claude-haiku-4-5"
RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
MAX_BATCH_REQUESTS = 100_000  # the API's cap per Message Batch
STRUCTURED_TOOL = "respond"  # the one tool a request with json_schema must answer through


class BatchNotFoundError(LLMError):
    """A recorded batch id the API does not know (expired, other workspace or base_url)."""


def translate_error(exc: Exception) -> LLMError:
    """SDK exception -> RetryableError (429, 5xx, 408, 409, timeouts, connection) or LLMError."""
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return RetryableError(f"timeout: {exc}")
    if isinstance(exc, anthropic.APIConnectionError):
        return RetryableError(f"connection error: {exc}")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        message = f"HTTP {status}: {getattr(exc, 'message', exc)}"
        if status in RETRYABLE_STATUS:
            # 429 (rate limit) and 529 (overloaded) both mean "send less": the client backs off
            return RetryableError(
                message, retry_after=retry_after_seconds(exc.response), rate_limited=status in (429, 529)
            )
        return LLMError(message)
    return LLMError(f"{type(exc).__name__}: {exc}")


class AnthropicBackend:
    name = "anthropic"
    supports_raw_completion = False
    supports_logprobs = False
    default_concurrency = 8
    price_multiplier = 1.0

    def __init__(self, model: str = DEFAULT_MODEL, base_url: str | None = None, timeout: float = 60.0):
        import anthropic

        api_key = os.environ.get(API_KEY_ENV)
        if not api_key:
            raise LLMConfigError(
                f"the {self.name} backend needs an API key in the environment variable "
                f"{API_KEY_ENV}, which is not set"
            )
        self.model = model
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    def params(self, request: LLMRequest) -> dict:
        if request.kind == "score":
            raise UnsupportedRequestError(
                f"the {self.name} backend returns no token log-probabilities, which the ifd critic "
                "needs; use critic 'llm_judge' with this backend"
            )
        if request.kind == "completion":
            raise UnsupportedRequestError(
                f"the {self.name} backend has no raw completion (the Messages API always applies "
                "the chat template); magpie needs backend 'local' or 'openai_compatible'"
            )
        params = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": request.chat_messages(include_system=False),
            "temperature": request.temperature,
        }
        if request.system:
            params["system"] = request.system
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        if request.json_schema is not None:
            params["tools"] = [
                {
                    "name": STRUCTURED_TOOL,
                    "description": "Record your answer.",
                    "input_schema": self.input_schema(request.json_schema),
                }
            ]
            params["tool_choice"] = {"type": "tool", "name": STRUCTURED_TOOL}
        return params

    def input_schema(self, json_schema: str) -> dict:
        """The request's schema as a tool ``input_schema``: the API takes object schemas only."""
        try:
            schema = json.loads(json_schema)
        except ValueError as exc:
            raise LLMConfigError(f"json_schema is not valid JSON: {exc}") from exc
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise UnsupportedRequestError(
                f"the {self.name} backend takes a json_schema of type 'object' only (it becomes a "
                "tool's input_schema)"
            )
        return schema

    @staticmethod
    def to_response(message) -> LLMResponse:
        """The forced tool's input as JSON text when the model called it, else the text blocks."""
        tool_inputs = [
            block.input
            for block in message.content
            if getattr(block, "type", "") == "tool_use" and getattr(block, "name", "") == STRUCTURED_TOOL
        ]
        if tool_inputs:
            text = json.dumps(tool_inputs[0], ensure_ascii=False)
        else:
            text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
        return LLMResponse(
            text=text,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            finish_reason=message.stop_reason,
        )

    def generate_one(self, request: LLMRequest) -> LLMResponse:
        params = self.params(request)
        # this SDK version has no typed sampling arguments; the API accepts them in the body
        extra_body = {"temperature": params.pop("temperature")}
        try:
            message = self._client.messages.create(**params, extra_body=extra_body)
        except Exception as exc:  # the SDK's errors, translated; anything else is a bug: re-raise
            import anthropic

            if isinstance(exc, anthropic.AnthropicError):
                raise translate_error(exc) from exc
            raise
        return self.to_response(message)


class AnthropicBatchBackend(AnthropicBackend):
    """Message Batches API: half the price, results within 24 h.

    One batch per stage, ``custom_id`` = the request's cache key. The batch id is written to
    the cache database *before* polling starts, so a stage restarted after a crash finds its
    open batch and collects it instead of submitting (and paying for) the requests again.
    Results are matched by ``custom_id`` and cached one by one as they are read; errored,
    expired or canceled requests are logged and resubmitted in a new batch, up to
    ``max_rounds`` batches in all.
    """

    name = "anthropic_batch"
    price_multiplier = 0.5

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        timeout: float = 60.0,
        poll_interval: float = 30.0,
        max_rounds: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(model=model, base_url=base_url, timeout=timeout)
        self.poll_interval = poll_interval
        self.max_rounds = max_rounds
        self.sleep = sleep

    def _api(self, what: str, fn, *args, attempts: int = 6, **kwargs):
        """Batch endpoints with the same transient-error policy as single calls."""
        import anthropic

        for attempt in range(attempts):
            try:
                return fn(*args, **kwargs)
            except anthropic.AnthropicError as exc:
                error = translate_error(exc)
                if not isinstance(error, RetryableError) or attempt + 1 == attempts:
                    raise LLMError(f"{what}: {error}") from exc
                self.sleep(error.retry_after if error.retry_after is not None else min(30.0, 2.0**attempt))
        raise AssertionError("unreachable")

    def run_batch(
        self, missing: dict[str, LLMRequest], cache, stage: str, log: Callable[[str], None]
    ) -> tuple[dict[str, LLMResponse], dict[str, str]]:
        if cache is None:
            raise LLMConfigError("the anthropic_batch backend needs the response cache to persist batch ids")
        params = {key: self.params(request) for key, request in missing.items()}
        fresh: dict[str, LLMResponse] = {}
        failed: dict[str, str] = {}
        stage_key = hashlib.sha256(stage.encode()).hexdigest()[:16]
        # 1. resume batches a previous attempt submitted for any of these requests
        for batch_id, custom_ids in cache.open_batches(stage_key):
            if set(custom_ids) & set(missing):
                log(
                    f"{stage}: resuming Message Batch {batch_id} ({len(custom_ids)} requests) "
                    "submitted by an earlier run"
                )
                try:
                    self._collect(batch_id, missing, cache, fresh, failed, stage, log)
                except BatchNotFoundError:
                    log(
                        f"{stage}: Message Batch {batch_id} is unknown to the API (results expire after "
                        "29 days; another key or base_url?); its requests are submitted again"
                    )
                    cache.close_batch(batch_id)
        # 2. submit what is still missing, resubmitting failures, up to max_rounds batches
        for round_no in range(1, self.max_rounds + 1):
            pending = [key for key in missing if key not in fresh]
            if not pending:
                break
            failed = {key: failed[key] for key in pending if key in failed}
            for start in range(0, len(pending), MAX_BATCH_REQUESTS):
                part = pending[start : start + MAX_BATCH_REQUESTS]
                # Creating is not idempotent: a retry after a timeout could create (and bill) a
                # second batch, so it is tried once and a failure stops the stage.
                batch = self._api(
                    "create Message Batch",
                    self._client.messages.batches.create,
                    attempts=1,
                    requests=[{"custom_id": key, "params": params[key]} for key in part],
                )
                cache.record_batch(batch.id, stage_key, part)
                log(
                    f"{stage}: submitted Message Batch {batch.id} with {len(part)} requests "
                    f"(round {round_no} of {self.max_rounds})"
                )
                self._collect(batch.id, missing, cache, fresh, failed, stage, log)
        remaining = {key: failed.get(key, "no result") for key in missing if key not in fresh}
        return fresh, remaining

    def _collect(self, batch_id, missing, cache, fresh, failed, stage, log) -> None:
        import anthropic

        while True:
            try:
                batch = self._api("retrieve Message Batch", self._client.messages.batches.retrieve, batch_id)
            except LLMError as exc:
                if isinstance(exc.__cause__, anthropic.NotFoundError):
                    raise BatchNotFoundError(batch_id) from exc
                raise
            counts = batch.request_counts
            if batch.processing_status == "ended":
                break
            log(
                f"{stage}: batch {batch_id} {batch.processing_status}: {counts.processing} processing, "
                f"{counts.succeeded} succeeded, {counts.errored} errored"
            )
            self.sleep(self.poll_interval)
        problems = []
        try:
            results = list(
                self._api("read Message Batch results", self._client.messages.batches.results, batch_id)
            )
        except anthropic.AnthropicError as exc:  # errors while streaming the JSONL
            raise translate_error(exc) from exc
        for item in results:
            key, result = item.custom_id, item.result
            if key not in missing or key in fresh:
                continue
            if result.type == "succeeded":
                response = self.to_response(result.message)
                cache.put(key, self.name, self.model, response)
                fresh[key] = response
                failed.pop(key, None)
            else:
                detail = getattr(getattr(result, "error", None), "error", None)
                failed[key] = f"{result.type}" + (f": {getattr(detail, 'message', detail)}" if detail else "")
                problems.append(failed[key])
        cache.close_batch(batch_id)
        log(
            f"{stage}: batch {batch_id} ended: {counts.succeeded} succeeded, {counts.errored} errored, "
            f"{counts.expired} expired, {counts.canceled} canceled"
            + (f"; {len(problems)} to resubmit, e.g. {problems[0]}" if problems else "")
        )
