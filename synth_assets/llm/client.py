"""The one client every stage uses: a list of requests in, a list of responses out.

Cached responses are returned without a call; the rest go to the backend with at most
``concurrency`` requests in flight. Transient failures are retried with exponential backoff
and full jitter, honouring the server's ``retry-after``; a 429 halves the allowed concurrency,
which then grows back by one after as many successes as the current limit (AIMD). Each
response is written to the cache as it arrives. Requests that still fail after the last
attempt are reported together at the end, after every other response has been stored.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from synth_assets.llm.cache import ResponseCache
from synth_assets.llm.types import LLMError, LLMRequest, LLMResponse, RetryableError, Usage


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 0)."""
        if retry_after is not None:
            return min(self.max_delay, retry_after) + rng.uniform(0, 0.1 * self.base_delay)
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


class AdaptiveLimiter:
    """At most ``limit`` holders at once; ``limit`` halves on a rate limit and grows by one
    after ``limit`` consecutive successes, never above ``maximum``."""

    def __init__(self, maximum: int):
        if maximum < 1:
            raise ValueError(f"concurrency must be >= 1, got {maximum}")
        self.maximum = self.limit = maximum
        self.in_flight = 0
        self.lowest = maximum
        self._successes = 0
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1

    def release(self, rate_limited: bool = False, success: bool = True) -> None:
        with self._cond:
            self.in_flight -= 1
            if rate_limited:
                self.limit = max(1, self.limit // 2)
                self.lowest = min(self.lowest, self.limit)
                self._successes = 0
            elif success:
                self._successes += 1
                if self._successes >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self._successes = 0
            self._cond.notify_all()


@dataclass
class _Progress:
    total: int
    log: Callable[[str], None]
    stage: str
    done: int = 0
    last: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def step(self) -> None:
        with self.lock:
            self.done += 1
            now = time.monotonic()
            if self.done == self.total or now - self.last >= 5.0:
                self.last = now
                self.log(f"{self.stage}: {self.done} of {self.total} new LLM calls done")


class LLMClient:
    def __init__(
        self,
        backend,
        cache: ResponseCache | None = None,
        concurrency: int | None = None,
        retry: RetryPolicy = RetryPolicy(),
        prices: dict[str, Price] | None = None,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
    ):
        self.backend = backend
        self.cache = cache
        self.concurrency = concurrency or backend.default_concurrency
        self.retry = retry
        self.prices = prices or {}
        self.log = log
        self.sleep = sleep
        self._rng = random.Random(seed)
        self.limiter = AdaptiveLimiter(self.concurrency)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        price = self.prices.get(self.backend.model)
        if price is None:
            return 0.0
        discount = getattr(self.backend, "price_multiplier", 1.0)
        return discount * (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6

    def generate(self, requests: Sequence[LLMRequest], stage: str = "llm") -> tuple[list[LLMResponse], Usage]:
        """Responses in request order, and what they cost. Raises :class:`LLMError` naming the
        failed requests if any failed for good (every other response is already cached)."""
        usage = Usage(requests_total=len(requests))
        keys = [r.cache_key(self.backend.name, self.backend.model) for r in requests]
        cached = self.cache.get_many(list(dict.fromkeys(keys))) if self.cache is not None else {}
        results: dict[str, LLMResponse] = dict(cached)
        missing: dict[str, LLMRequest] = {}
        for key, request in zip(keys, requests, strict=True):
            if key not in results:
                missing.setdefault(key, request)
        # requests answered without a call of their own: cached, or a duplicate in this list
        usage.cache_hits = len(requests) - len(missing)
        if missing:
            self.log(
                f"{stage}: {len(requests)} requests, {usage.cache_hits} cached, "
                f"{len(missing)} new calls to {self.backend.name}:{self.backend.model}"
            )
        failures: dict[str, str] = {}
        if missing and hasattr(self.backend, "run_batch"):
            fresh, failures = self.backend.run_batch(missing, self.cache, stage, self.log)
            for key, response in fresh.items():
                if response.received_at is None:
                    response.received_at = time.time()
                self._account(usage, response)
                results[key] = response
        elif missing:
            progress = _Progress(len(missing), self.log, stage)
            lock = threading.Lock()

            def work(item: tuple[str, LLMRequest]) -> None:
                key, request = item
                try:
                    response = self._call_with_retries(request, usage, lock)
                except LLMError as exc:
                    with lock:
                        failures[key] = f"{type(exc).__name__}: {exc}"
                    return
                finally:
                    progress.step()
                if response.received_at is None:
                    response.received_at = time.time()
                if self.cache is not None:
                    self.cache.put(key, self.backend.name, self.backend.model, response)
                with lock:
                    self._account(usage, response)
                    results[key] = response

            workers = min(self.concurrency, len(missing))
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")
            try:
                list(pool.map(work, missing.items()))
            except BaseException:  # Ctrl-C or a bug: stop sending, keep what is cached
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
        if failures:
            usage.failures = len(failures)
            usage.errors = sorted(set(failures.values()))[:10]
            error = LLMError(
                f"{stage}: {len(failures)} of {len(missing)} new LLM calls failed after "
                f"retries (the {len(missing) - len(failures)} that succeeded are cached): "
                f"{usage.errors[0]}"
            )
            error.usage = usage  # what the successful calls cost is still known
            raise error
        return [results[key] for key in keys], usage

    def _account(self, usage: Usage, response: LLMResponse) -> None:
        usage.calls_new += 1
        usage.input_tokens += response.input_tokens
        usage.output_tokens += response.output_tokens
        usage.estimated_cost_usd += self.cost(response.input_tokens, response.output_tokens)

    def _call_with_retries(self, request: LLMRequest, usage: Usage, lock: threading.Lock) -> LLMResponse:
        for attempt in range(self.retry.max_attempts):
            self.limiter.acquire()
            try:
                response = self.backend.generate_one(request)
            except RetryableError as exc:
                self.limiter.release(rate_limited=exc.rate_limited, success=False)
                last = attempt + 1 == self.retry.max_attempts
                with lock:
                    usage.retries += int(not last)
                    usage.rate_limited += int(exc.rate_limited)
                if last:
                    raise LLMError(f"gave up after {self.retry.max_attempts} attempts: {exc}") from exc
                self.sleep(self.retry.delay(attempt, exc.retry_after, self._rng))
                continue
            except BaseException:
                self.limiter.release(success=False)
                raise
            self.limiter.release()
            return response
        raise AssertionError("unreachable")
