"""Requests, responses, usage and errors shared by every backend."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class LLMRequest:
    """One call. Chat requests have ``messages`` ({"role", "content"} dicts, roles
    system / user / assistant); raw-completion requests (Magpie) have ``prompt`` instead.
    A scoring request has ``prompt`` and ``continuation``: nothing is generated, and the
    response carries the log-probability of each continuation token given the prompt (IFD).
    ``json_schema`` (a JSON Schema, as JSON text) constrains the output to one such object
    where the backend can (llama.cpp grammar, Anthropic tool input, OpenAI response_format).
    ``sample_index`` tells repeated samples of the same prompt apart (it is part of the cache
    key and seeds local sampling)."""

    messages: tuple[tuple[str, str], ...] = ()
    prompt: str | None = None
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    sample_index: int = 0
    top_logprobs: int = 0
    json_schema: str | None = None
    continuation: str | None = None

    @classmethod
    def chat(cls, messages: list[dict[str, str]], **params) -> LLMRequest:
        return cls(messages=tuple((m["role"], m["content"]) for m in messages), **params)

    @classmethod
    def completion(cls, prompt: str, **params) -> LLMRequest:
        return cls(prompt=prompt, **params)

    @classmethod
    def score(cls, prompt: str, continuation: str) -> LLMRequest:
        """Log-probabilities of ``continuation``'s tokens after ``prompt`` (no sampling)."""
        return cls(prompt=prompt, continuation=continuation, max_tokens=1, temperature=0.0)

    def __post_init__(self):
        if (self.prompt is None) == (not self.messages):
            raise ValueError("an LLMRequest has either messages (chat) or a prompt (completion)")
        if self.continuation is not None and self.prompt is None:
            raise ValueError("a scoring request (continuation) needs a prompt, not messages")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")

    @property
    def kind(self) -> str:
        if self.continuation is not None:
            return "score"
        return "completion" if self.prompt is not None else "chat"

    @property
    def system(self) -> str | None:
        parts = [content for role, content in self.messages if role == "system"]
        return "\n\n".join(parts) if parts else None

    def chat_messages(self, include_system: bool = True) -> list[dict[str, str]]:
        return [
            {"role": role, "content": content}
            for role, content in self.messages
            if include_system or role != "system"
        ]

    def cache_key(self, backend: str, model: str) -> str:
        """sha256 over backend, model, messages / prompt, sampling params and sample index."""
        fields = asdict(self)
        for name in ("json_schema", "continuation"):  # absent: keys stay as before these existed
            if fields[name] is None:
                del fields[name]
        payload = {"backend": backend, "model": model, **fields}
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class LLMResponse:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    finish_reason: str | None = None
    # generated tokens and, per position, {token: logprob} of the most likely ones
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float]] | None = None
    # scoring requests: log-probability of each continuation token, in order
    token_logprobs: list[float] | None = None
    from_cache: bool = False
    # when the response arrived (Unix seconds); the cache keeps it, so a rebuild from the cache
    # stamps its rows with the same time and writes the same bytes
    received_at: float | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("from_cache")
        data.pop("received_at")
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, blob: str, received_at: float | None = None) -> LLMResponse:
        return cls(**json.loads(blob), from_cache=True, received_at=received_at)


@dataclass
class Usage:
    """What a stage cost: every request, how many went to the backend, tokens and dollars."""

    requests_total: int = 0
    calls_new: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    estimated_cost_usd: float = 0.0
    retries: int = 0
    failures: int = 0
    rate_limited: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Usage) -> None:
        for name in (
            "requests_total",
            "calls_new",
            "cache_hits",
            "input_tokens",
            "output_tokens",
            "estimated_cost_usd",
            "retries",
            "failures",
            "rate_limited",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


def retry_after_seconds(response) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``), if any."""
    if response is None:
        return None
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = response.headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:  # an HTTP date: fall back to our own backoff
                continue
    return None


class LLMError(RuntimeError):
    """A request failed for good (after retries), or the backend cannot serve it."""


class RetryableError(LLMError):
    """Transient failure (429, 5xx, timeout, connection): try again, after ``retry_after`` s
    when the server said so."""

    def __init__(self, message: str, retry_after: float | None = None, rate_limited: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class LLMConfigError(LLMError):
    """Settings that cannot work (unknown backend, missing key, unsupported technique): trying
    again changes nothing."""


class UnsupportedRequestError(LLMConfigError):
    """The backend cannot serve this kind of request (e.g. raw completion on Anthropic)."""
