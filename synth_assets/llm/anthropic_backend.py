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
import importlib
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
MAX_BATCH_REQUESTS = 100_000  # the API's cap on requests per Message Batch
# the API's cap on one batch's create body (HTTP 413 above): "256 MB", read as 256,000,000 bytes,
# the stricter of 10^6 and 2^20
MAX_BATCH_BYTES = 256_000_000
# '{"requests": [' and ']}' around the items, with room to spare
BATCH_ENVELOPE_BYTES = 1024
BATCH_ITEM_SEPARATOR_BYTES = 2  # ", " between items (json.dumps' default, the widest)
BATCH_STORE_EVERY = 1_000  # batch results stored per cache transaction
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


def transport_errors() -> tuple[type[Exception], ...]:
    """Errors of the HTTP client under the SDK (``httpx2`` in anthropic 2.x, ``httpx`` in
    older versions). The SDK wraps them while it sends a request, not while a streamed body
    is iterated, so a connection dropped midway through batch results arrives as one of these."""
    errors = []
    for name in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(name).TransportError)
        except ImportError:
            continue
    return tuple(errors)


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

    One batch per stage, ``custom_id`` = the request's cache key, split into several batches
    where one would exceed either of the API's limits: ``max_batch_requests`` requests or
    ``max_batch_bytes`` of create body. Each request's share of the body is measured once,
    up front, as ``json.dumps`` of its item with its defaults (``\\uXXXX`` escapes, spaced
    separators): never shorter than the compact UTF-8 JSON the SDK sends, so the sum is an
    upper bound on the body; a request that alone exceeds the byte limit stops the stage
    before anything is submitted.
    A batch's ``params`` are built only when it is submitted and dropped once the create
    returns, so memory holds one batch at a time, not the whole stage.

    The batch id is written to the cache database *before* polling starts, so a stage
    restarted after a crash finds its open batch and collects it instead of submitting (and
    paying for) the requests again. Results are read as a stream (the JSONL is never held
    whole), matched by ``custom_id`` and stored ``store_every`` at a time, one transaction
    per group rather than one commit per response. Grouping loses nothing: the batch is
    closed in the cache only after every result is stored, so a crash while reading leaves it
    open and the next run reads its results from the API again (kept there 29 days). Errored,
    expired or canceled requests are logged and resubmitted in a new batch, up to
    ``max_rounds`` rounds in all. Within a round every part is submitted before any is
    polled, so several batches are processed side by side.
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
        max_batch_requests: int = MAX_BATCH_REQUESTS,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        store_every: int = BATCH_STORE_EVERY,
    ):
        super().__init__(model=model, base_url=base_url, timeout=timeout)
        if not 1 <= max_batch_requests <= MAX_BATCH_REQUESTS:
            raise LLMConfigError(
                f"max_batch_requests must be between 1 and {MAX_BATCH_REQUESTS}, got {max_batch_requests}"
            )
        if not BATCH_ENVELOPE_BYTES < max_batch_bytes <= MAX_BATCH_BYTES:
            raise LLMConfigError(
                f"max_batch_bytes must be above {BATCH_ENVELOPE_BYTES} and at most {MAX_BATCH_BYTES}, "
                f"got {max_batch_bytes}"
            )
        if store_every < 1:
            raise LLMConfigError(f"store_every must be >= 1, got {store_every}")
        self.poll_interval = poll_interval
        self.max_rounds = max_rounds
        self.sleep = sleep
        self.max_batch_requests = max_batch_requests
        self.max_batch_bytes = max_batch_bytes
        self.store_every = store_every

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

    @staticmethod
    def item_bytes(custom_id: str, params: dict) -> int:
        """Upper bound on one request's bytes in a create body. The SDK sends compact UTF-8
        JSON (``ensure_ascii=False``, ``","`` and ``":"``); ``json.dumps`` with its defaults
        is never shorter: a ``\\uXXXX`` escape (6 bytes, 12 for a surrogate pair) is longer
        than the character's UTF-8 (2 to 4), and ``", "`` / ``": "`` than ``","`` / ``":"``."""
        return len(json.dumps({"custom_id": custom_id, "params": params}))

    def measure(self, missing: dict[str, LLMRequest], stage: str = "batch") -> dict[str, int]:
        """Each request's :meth:`item_bytes`, its params built one at a time and dropped.
        Raises :class:`LLMError` for a request that no batch can hold."""
        sizes = {}
        room = self.max_batch_bytes - BATCH_ENVELOPE_BYTES
        for key, request in missing.items():
            size = self.item_bytes(key, self.params(request))
            if size > room:
                raise LLMError(
                    f"{stage}: request {key} is {size:,} bytes as JSON, more than one Message Batch takes "
                    f"({self.max_batch_bytes:,} bytes per batch, {room:,} of it for requests); "
                    "shorten its prompt"
                )
            sizes[key] = size
        return sizes

    def split(self, keys: list[str], sizes: dict[str, int]) -> list[list[str]]:
        """``keys`` in order, cut into parts of at most ``max_batch_requests`` requests whose
        create body stays within ``max_batch_bytes``."""
        parts: list[list[str]] = []
        part: list[str] = []
        used = BATCH_ENVELOPE_BYTES
        for key in keys:
            cost = sizes[key] + (BATCH_ITEM_SEPARATOR_BYTES if part else 0)
            if part and (len(part) >= self.max_batch_requests or used + cost > self.max_batch_bytes):
                parts.append(part)
                part, used, cost = [], BATCH_ENVELOPE_BYTES, sizes[key]
            part.append(key)
            used += cost
        if part:
            parts.append(part)
        return parts

    def run_batch(
        self, missing: dict[str, LLMRequest], cache, stage: str, log: Callable[[str], None]
    ) -> tuple[dict[str, LLMResponse], dict[str, str]]:
        if cache is None:
            raise LLMConfigError("the anthropic_batch backend needs the response cache to persist batch ids")
        sizes = self.measure(missing, stage)
        fresh: dict[str, LLMResponse] = {}
        failed: dict[str, str] = {}
        stage_key = hashlib.sha256(stage.encode()).hexdigest()[:16]
        # 1. resume batches a previous attempt submitted for any of these requests
        for batch_id, custom_ids in cache.open_batches(stage_key):
            if not missing.keys().isdisjoint(custom_ids):
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
            parts = self.split(pending, sizes)
            # every part is submitted before any is polled: the API works on them side by side
            # (one 24-hour window, not one per part)
            batch_ids = []
            for part_no, part in enumerate(parts, 1):
                batch_ids.append(self._submit(part, missing))
                cache.record_batch(batch_ids[-1], stage_key, part)
                log(
                    f"{stage}: submitted Message Batch {batch_ids[-1]} with {len(part)} requests "
                    f"(round {round_no} of {self.max_rounds}"
                    + (f", part {part_no} of {len(parts)}" if len(parts) > 1 else "")
                    + ")"
                )
            for batch_id in batch_ids:
                self._collect(batch_id, missing, cache, fresh, failed, stage, log)
        remaining = {key: failed.get(key, "no result") for key in missing if key not in fresh}
        return fresh, remaining

    def _submit(self, part: list[str], missing: dict[str, LLMRequest]) -> str:
        """Create one batch of ``part``; its params live only for this call."""
        requests = [{"custom_id": key, "params": self.params(missing[key])} for key in part]
        # Creating is not idempotent: a retry after a timeout could create (and bill) a second
        # batch, so it is tried once and a failure stops the stage.
        batch = self._api(
            "create Message Batch", self._client.messages.batches.create, attempts=1, requests=requests
        )
        return batch.id

    @staticmethod
    def _stream_error(exc: Exception, batch_id: str) -> LLMError:
        """The error for a results stream that broke: the SDK's own errors translated, a dropped
        connection (not wrapped by the SDK while a body is iterated) or a line cut short (the
        SDK's JSON decoder fails on it) retryable."""
        import anthropic

        if isinstance(exc, anthropic.AnthropicError):
            return translate_error(exc)
        if isinstance(exc, ValueError):
            return RetryableError(f"malformed line in Message Batch {batch_id} results: {exc}")
        return RetryableError(f"connection error while reading Message Batch {batch_id} results: {exc}")

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
        group: list[tuple[str, str, str, LLMResponse]] = []
        n_read = 0
        results = self._api("read Message Batch results", self._client.messages.batches.results, batch_id)
        try:
            for item in results:  # decoded line by line as the JSONL arrives
                n_read += 1
                key, result = item.custom_id, item.result
                if key in fresh:
                    continue
                if result.type == "succeeded":
                    # stored even when this stage no longer asks for it (a resumed batch): paid for
                    response = self.to_response(result.message)
                    group.append((key, self.name, self.model, response))
                    if key in missing:
                        fresh[key] = response
                        failed.pop(key, None)
                    if len(group) >= self.store_every:
                        cache.put_many(group)
                        group = []
                elif key in missing:
                    detail = getattr(getattr(result, "error", None), "error", None)
                    failed[key] = f"{result.type}" + (
                        f": {getattr(detail, 'message', detail)}" if detail else ""
                    )
                    problems.append(failed[key])
        except (anthropic.AnthropicError, ValueError, *transport_errors()) as exc:
            cache.put_many(group)  # the stream broke midway: keep what was read
            raise self._stream_error(exc, batch_id) from exc
        finally:
            close = getattr(results, "close", None)  # the HTTP response, if not read to its end
            if close is not None:
                close()
        cache.put_many(group)
        expected = counts.succeeded + counts.errored + counts.expired + counts.canceled
        if n_read < expected:  # a stream that ended early: the batch stays open for the next run
            raise RetryableError(
                f"Message Batch {batch_id} results ended after {n_read} of {expected} results; the "
                "batch stays open and a re-run reads it again"
            )
        cache.close_batch(batch_id)  # only now: every result of the batch is stored
        log(
            f"{stage}: batch {batch_id} ended: {counts.succeeded} succeeded, {counts.errored} errored, "
            f"{counts.expired} expired, {counts.canceled} canceled"
            + (f"; {len(problems)} to resubmit, e.g. {problems[0]}" if problems else "")
        )
