"""Pure tests of the client's policies: AIMD concurrency, backoff, cache keys, accounting."""

import random
import threading

import pytest

from synth_assets.llm.client import AdaptiveLimiter, LLMClient, Price, RetryPolicy
from synth_assets.llm.types import LLMRequest, RetryableError

from ..fakes import ScriptedBackend


def test_limiter_halves_on_rate_limit_and_recovers_one_step_per_run_of_successes():
    limiter = AdaptiveLimiter(8)
    limiter.acquire()
    limiter.release(rate_limited=True)
    assert limiter.limit == 4
    limiter.acquire()
    limiter.release(rate_limited=True)
    assert limiter.limit == 2 and limiter.lowest == 2
    for expected in (3, 4):  # `limit` consecutive successes raise the limit by one
        for _ in range(expected - 1):
            limiter.acquire()
            limiter.release()
        assert limiter.limit == expected
    for _ in range(100):
        limiter.acquire()
        limiter.release()
    assert limiter.limit == 8  # never above the configured maximum


def test_limiter_blocks_at_the_limit():
    limiter = AdaptiveLimiter(1)
    limiter.acquire()
    entered = threading.Event()

    def second():
        limiter.acquire()
        entered.set()
        limiter.release()

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.2)
    limiter.release()
    assert entered.wait(2)
    thread.join()


def test_backoff_honours_retry_after_and_grows_exponentially_with_a_cap():
    policy, rng = RetryPolicy(base_delay=0.5, max_delay=4.0), random.Random(0)
    assert 2.0 <= policy.delay(0, 2.0, rng) <= 2.05
    assert policy.delay(0, 100.0, rng) <= 4.05  # even the server's wish is capped
    draws = [policy.delay(attempt, None, rng) for attempt in range(8) for _ in range(200)]
    assert max(draws[:200]) <= 0.5 and max(draws) <= 4.0 and max(draws[-200:]) > 2.0


def test_cache_key_covers_every_sampling_parameter():
    base = LLMRequest.chat([{"role": "user", "content": "hi"}])
    variants = [
        LLMRequest.chat([{"role": "user", "content": "hi!"}]),
        LLMRequest.chat([{"role": "user", "content": "hi"}], temperature=0.1),
        LLMRequest.chat([{"role": "user", "content": "hi"}], max_tokens=9),
        LLMRequest.chat([{"role": "user", "content": "hi"}], sample_index=1),
        LLMRequest.completion("hi"),
    ]
    keys = {base.cache_key("b", "m"), base.cache_key("b", "m2"), base.cache_key("b2", "m")}
    keys |= {v.cache_key("b", "m") for v in variants}
    assert len(keys) == 8 and base.cache_key("b", "m") == LLMRequest.chat(
        [{"role": "user", "content": "hi"}]
    ).cache_key("b", "m")


def test_duplicates_are_answered_once_and_cost_is_counted_per_new_call():
    backend = ScriptedBackend(lambda r: "one two three")
    client = LLMClient(backend, prices={"scripted-1": Price(1.0, 10.0)})
    same = LLMRequest.chat([{"role": "user", "content": "x"}])
    responses, usage = client.generate([same, same, LLMRequest.chat([{"role": "user", "content": "y"}])])
    assert len(backend.calls) == 2 and [r.text for r in responses] == ["one two three"] * 3
    assert (usage.requests_total, usage.calls_new, usage.cache_hits) == (3, 2, 1)
    assert usage.estimated_cost_usd == pytest.approx(2 * (10 * 1.0 + 3 * 10.0) / 1e6)


def test_transient_errors_are_retried_then_reported_with_what_succeeded():
    attempts = {}

    def flaky(request):
        text = request.messages[-1][1]
        attempts[text] = attempts.get(text, 0) + 1
        if text == "always" or (text == "once" and attempts[text] == 1):
            raise RetryableError("HTTP 503", retry_after=0.0)
        return "ok"

    client = LLMClient(ScriptedBackend(flaky), retry=RetryPolicy(max_attempts=3), sleep=lambda s: None)
    ok, _ = client.generate([LLMRequest.chat([{"role": "user", "content": "once"}])])
    assert ok[0].text == "ok" and attempts["once"] == 2
    from synth_assets.llm.types import LLMError

    with pytest.raises(LLMError, match="1 of 2 new LLM calls failed") as info:
        client.generate([LLMRequest.chat([{"role": "user", "content": c}]) for c in ("always", "fine")])
    assert attempts["always"] == 3 and info.value.usage.calls_new == 1
