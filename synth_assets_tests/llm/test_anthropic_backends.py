"""The Anthropic backends through the real ``anthropic`` SDK, against a fake API server on
127.0.0.1 (``synth_assets_tests.servers.anthropic_fake``): real HTTP, no network, no key."""

from __future__ import annotations

import json
import sqlite3

import pytest

from synth_assets.llm.anthropic_backend import AnthropicBackend, AnthropicBatchBackend
from synth_assets.llm.backends import make_backend
from synth_assets.llm.cache import ResponseCache
from synth_assets.llm.client import LLMClient, Price, RetryPolicy
from synth_assets.llm.types import LLMError, LLMRequest, UnsupportedRequestError
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer, FakeAPIError, default_responder

pytestmark = pytest.mark.timeout(30)

MODEL = "claude-fake-model"
PRICE = Price(input_per_mtok=1.0, output_per_mtok=5.0)
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=1.0)


class Recorder(list):
    """A ``sleep`` / ``log`` stand-in that remembers its arguments and returns at once."""

    def __call__(self, value):
        self.append(value)


def chat(text: str, system: str | None = None, **params) -> LLMRequest:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": text})
    return LLMRequest.chat(messages, **params)


def expected_text(request: LLMRequest) -> str:
    return default_responder({"messages": request.chat_messages(include_system=False)})


def words(text: str | None) -> int:
    return len((text or "").split())


def make_client(server, cache=None, *, timeout=5.0, **kwargs) -> LLMClient:
    backend = AnthropicBackend(model=MODEL, base_url=server.base_url, timeout=timeout)
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("sleep", Recorder())
    return LLMClient(backend, cache=cache, **kwargs)


def make_batch_client(server, cache, **kwargs) -> tuple[LLMClient, Recorder]:
    polls = Recorder()
    backend = AnthropicBatchBackend(
        model=MODEL,
        base_url=server.base_url,
        timeout=5.0,
        poll_interval=0,
        sleep=kwargs.pop("backend_sleep", polls),
        max_rounds=kwargs.pop("max_rounds", 3),
    )
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("sleep", Recorder())
    return LLMClient(backend, cache=cache, **kwargs), polls


def canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True)


# -- single calls ------------------------------------------------------------------------------


def test_success_text_tokens_usage_and_request_body(server, cache):
    requests = [
        chat(
            "Describe a sunny day in the mountains", system="You are terse.", max_tokens=64, temperature=0.3
        ),
        chat("Name three colours", max_tokens=32, stop=("END",)),
        chat("What is two plus two?", temperature=0.0),
    ]
    client = make_client(server, cache, prices={MODEL: PRICE}, concurrency=2)
    responses, usage = client.generate(requests, stage="unit")

    assert [r.text for r in responses] == [expected_text(r) for r in requests]
    assert all(r.finish_reason == "end_turn" and not r.from_cache for r in responses)
    # the fake counts words: system + user message in, response text out
    for request, response in zip(requests, responses, strict=True):
        assert response.input_tokens == words(request.system) + words(request.messages[-1][1])
        assert response.output_tokens == words(response.text)
    assert usage.requests_total == 3 and usage.calls_new == 3 and usage.cache_hits == 0
    assert usage.retries == usage.failures == usage.rate_limited == 0
    assert usage.input_tokens == sum(r.input_tokens for r in responses) == (3 + 7) + 3 + 5
    assert usage.output_tokens == sum(r.output_tokens for r in responses)
    expected_cost = (usage.input_tokens * 1.0 + usage.output_tokens * 5.0) / 1e6
    assert usage.estimated_cost_usd == pytest.approx(expected_cost)
    assert len(cache) == 3

    bodies = sorted(server.message_requests(), key=lambda b: b["messages"][0]["content"])
    assert len(bodies) == 3
    by_text = {b["messages"][0]["content"]: b for b in bodies}
    first = by_text["Describe a sunny day in the mountains"]
    assert first["model"] == MODEL and first["max_tokens"] == 64
    assert first["system"] == "You are terse."  # top-level, not a message
    assert first["messages"] == [{"role": "user", "content": "Describe a sunny day in the mountains"}]
    assert first["temperature"] == 0.3
    assert by_text["Name three colours"]["stop_sequences"] == ["END"]
    assert "system" not in by_text["What is two plus two?"]
    assert by_text["What is two plus two?"]["temperature"] == 0.0
    assert all(r.had_auth for r in server.requests)


def test_429_with_retry_after_is_waited_out_and_retried(server, cache):
    server.then(("status", 429, {"retry-after": "0.2"}))
    sleeps = Recorder()
    client = make_client(server, cache, sleep=sleeps, concurrency=4)
    responses, usage = client.generate([chat("hello rate limit")], stage="unit")

    assert responses[0].text == "echo: hello rate limit"
    assert usage.rate_limited == 1 and usage.retries >= 1 and usage.failures == 0
    assert usage.calls_new == 1
    assert len(server.message_requests()) == 2
    assert sleeps and max(sleeps) >= 0.2, f"the client did not wait out retry-after: {sleeps}"
    assert max(sleeps) < 0.5
    assert client.limiter.lowest == 2  # a 429 halves the allowed concurrency


@pytest.mark.parametrize(
    "failure",
    [("status", 500), ("status", 529), ("close",)],
    ids=["500", "529-overloaded", "dropped-connection"],
)
def test_transient_failure_then_success(server, cache, failure):
    server.then(failure)
    client = make_client(server, cache)
    responses, usage = client.generate([chat("try again please")], stage="unit")

    assert responses[0].text == "echo: try again please"
    overloaded = failure == ("status", 529)  # 529 means "send less", like 429
    assert usage.retries == 1 and usage.rate_limited == int(overloaded) and usage.failures == 0
    assert len(server.message_requests()) == 2
    assert server.pending() == 0


def test_non_retryable_400_fails_at_once(server, cache):
    server.then(("status", 400, None, "messages.0.content: bad"))
    client = make_client(server, cache)
    with pytest.raises(LLMError, match="HTTP 400") as info:
        client.generate([chat("bad request")], stage="unit")
    assert "1 of 1" in str(info.value)
    assert len(server.message_requests()) == 1  # not retried
    assert len(cache) == 0


def test_response_slower_than_timeout_is_retried(server, cache):
    server.then(("sleep", 2.0))
    client = make_client(server, cache, timeout=0.5)
    responses, usage = client.generate([chat("slow one")], stage="unit")

    # without the 0.5 s timeout the slow answer would have been accepted on the first attempt
    assert responses[0].text == "echo: slow one"
    assert usage.retries == 1 and usage.failures == 0
    assert len(server.message_requests()) == 2


def test_concurrent_requests_are_served_in_parallel(cache):
    with FakeAnthropicServer(latency=0.2) as server:
        client = make_client(server, cache, concurrency=8)
        responses, usage = client.generate([chat(f"prompt number {i}") for i in range(8)], stage="unit")
    assert [r.text for r in responses] == [f"echo: prompt number {i}" for i in range(8)]
    assert usage.calls_new == 8
    assert server.max_in_flight >= 4  # speed itself is measured by bench/llm_throughput.py


# -- configuration errors ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_missing_api_key_is_a_clear_error(monkeypatch, server, value):
    if value is None:
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    else:
        monkeypatch.setenv("ANTHROPIC_API_KEY", value)
    with pytest.raises(LLMError, match="ANTHROPIC_API_KEY"):
        AnthropicBackend(model=MODEL, base_url=server.base_url)
    with pytest.raises(LLMError, match="ANTHROPIC_API_KEY"):
        AnthropicBatchBackend(model=MODEL, base_url=server.base_url)
    with pytest.raises(LLMError, match="ANTHROPIC_API_KEY"):
        make_backend("anthropic", base_url=server.base_url)
    assert server.requests == []


def test_raw_completion_is_refused_with_a_pointer_to_magpie(server, cache):
    backend = AnthropicBackend(model=MODEL, base_url=server.base_url)
    with pytest.raises(UnsupportedRequestError, match="magpie"):
        backend.params(LLMRequest.completion("<|im_start|>user\n"))
    client = make_client(server, cache)
    with pytest.raises(LLMError, match="magpie"):
        client.generate([LLMRequest.completion("<|im_start|>user\n")], stage="magpie")
    batch_client, _ = make_batch_client(server, cache)
    with pytest.raises(LLMError, match="magpie"):
        batch_client.generate([LLMRequest.completion("<|im_start|>user\n")], stage="magpie")
    assert server.requests == []


def test_batch_backend_needs_the_cache(server):
    client, _ = make_batch_client(server, None)
    with pytest.raises(LLMError, match="cache"):
        client.generate([chat("no cache")], stage="unit")
    assert server.batch_creates() == []


def test_api_key_is_never_cached_or_logged(server, cache_path, api_key):
    logs = Recorder()
    cache = ResponseCache(cache_path)
    server.then(("status", 429, {"retry-after": "0"}), ("status", 500))
    client = make_client(server, cache, log=logs, concurrency=2)
    client.generate([chat(f"secret-free prompt {i}") for i in range(3)], stage="single")
    server.responder = lambda body: (_ for _ in ()).throw(FakeAPIError(400, "no"))
    with pytest.raises(LLMError) as failure:
        client.generate([chat("this one fails")], stage="single-fail")
    server.responder = default_responder
    batch_client, _ = make_batch_client(server, cache, log=logs)
    batch_client.generate([chat(f"batched prompt {i}") for i in range(2)], stage="batched")
    cache.close()

    assert logs, "expected the client to log progress"
    assert server.requests and all(r.had_auth for r in server.requests)  # the key did reach the server
    secret = api_key.encode()
    files = sorted(cache_path.parent.glob(cache_path.name + "*"))  # the db and its -wal / -shm files
    assert files
    for path in files:
        assert secret not in path.read_bytes(), f"API key found in {path.name}"
    for message in logs:
        assert api_key not in message
    assert api_key not in str(failure.value)
    assert api_key not in repr(server.requests)


def test_malformed_judge_output_round_trips_as_text(server, cache):
    server.then(("text", "I think it is good"))
    client = make_client(server, cache)
    responses, usage = client.generate([chat("Rate this answer from 1 to 5 as JSON")], stage="judge")
    assert responses[0].text == "I think it is good"
    assert responses[0].output_tokens == 5
    assert (
        cache.get_many([chat("Rate this answer from 1 to 5 as JSON").cache_key("anthropic", MODEL)])
        .popitem()[1]
        .text
        == "I think it is good"
    )


# -- persistent cache and interrupted stages ---------------------------------------------------


def test_persistent_cache_makes_no_new_calls(server, cache_path):
    requests = [chat(f"cached prompt {i}", max_tokens=16) for i in range(4)]
    first_cache = ResponseCache(cache_path)
    first, first_usage = make_client(server, first_cache).generate(requests, stage="unit")
    first_cache.close()
    assert first_usage.calls_new == 4
    sent = len(server.requests)

    second_cache = ResponseCache(cache_path)
    try:
        again, usage = make_client(server, second_cache).generate(requests, stage="unit")
    finally:
        second_cache.close()
    assert len(server.requests) == sent
    assert usage.cache_hits == 4 and usage.calls_new == 0 and usage.requests_total == 4
    assert usage.input_tokens == usage.output_tokens == 0 and usage.estimated_cost_usd == 0
    assert [r.text for r in again] == [r.text for r in first]
    assert all(r.from_cache for r in again)


def test_interrupted_stage_resumes_without_repeating_completed_calls(server, cache_path):
    requests = [chat(f"question {i}: tell me something") for i in range(6)]
    requests[3] = chat("question 3: poison pill")

    def flaky(body):
        if "poison" in body["messages"][-1]["content"]:
            raise FakeAPIError(400, "scripted invalid request")
        return default_responder(body)

    server.responder = flaky
    cache = ResponseCache(cache_path)
    with pytest.raises(LLMError, match="1 of 6"):
        make_client(server, cache, concurrency=3).generate(requests, stage="unit")
    cache.close()
    first_run = [canonical(b) for b in server.message_requests()]
    assert len(first_run) == 6
    completed = {b for b in first_run if "poison" not in b}
    assert len(completed) == 5

    server.responder = default_responder
    server.clear()
    cache = ResponseCache(cache_path)
    try:
        responses, usage = make_client(server, cache, concurrency=3).generate(requests, stage="unit")
    finally:
        cache.close()
    second_run = [canonical(b) for b in server.message_requests()]
    assert not completed & set(second_run), "a completed request was sent again"
    assert len(second_run) == 1 and "poison" in second_run[0]
    assert [r.text for r in responses] == [expected_text(r) for r in requests]
    assert usage.cache_hits == 5 and usage.calls_new == 1
    assert [r.from_cache for r in responses] == [True, True, True, False, True, True]


# -- Message Batches ---------------------------------------------------------------------------


def test_batch_one_batch_per_stage_matched_by_custom_id_and_resubmits_errors(cache):
    requests = [chat(f"batched question {i}", system="Be brief." if i == 2 else None) for i in range(4)]
    keys = [r.cache_key("anthropic_batch", MODEL) for r in requests]
    logs = Recorder()
    with FakeAnthropicServer(batch_polls_until_end=2, batch_errored={keys[1]}) as server:
        client, polls = make_batch_client(server, cache, log=logs, prices={MODEL: PRICE})
        responses, usage = client.generate(requests, stage="judge")
        creates = server.batch_creates()

        assert len(creates) == 2
        assert [item["custom_id"] for item in creates[0]["requests"]] == keys
        assert [item["custom_id"] for item in creates[1]["requests"]] == [keys[1]]
        params = creates[0]["requests"][2]["params"]
        assert params["model"] == MODEL and params["system"] == "Be brief."
        assert params["messages"] == [{"role": "user", "content": "batched question 2"}]
        assert params["temperature"] == 0.7 and params["max_tokens"] == 256
        assert server.message_requests() == []  # nothing went through the single-call endpoint
        assert polls and all(p == 0 for p in polls)  # polled (poll_interval 0) until ended

        # the server returns results in reverse order: they must still come back in request order
        assert [r.text for r in responses] == [expected_text(r) for r in requests]
        assert usage.requests_total == 4 and usage.calls_new == 4 and usage.cache_hits == 0
        assert usage.input_tokens == sum(r.input_tokens for r in responses) > 0
        full = (usage.input_tokens * 1.0 + usage.output_tokens * 5.0) / 1e6
        assert usage.estimated_cost_usd == pytest.approx(0.5 * full)
        assert any("1 errored" in m and "1 to resubmit" in m for m in logs), logs
        assert any("round 2" in m for m in logs), logs
        assert len(cache) == 4

        again, usage2 = client.generate(requests, stage="judge")
        assert len(server.batch_creates()) == 2
        assert usage2.cache_hits == 4 and usage2.calls_new == 0
        assert [r.text for r in again] == [r.text for r in responses]


def test_batch_expired_after_last_round_is_reported(cache):
    requests = [chat("batch a"), chat("batch b")]
    keys = [r.cache_key("anthropic_batch", MODEL) for r in requests]
    with FakeAnthropicServer(batch_expired={keys[0]}) as server:
        client, _ = make_batch_client(server, cache, max_rounds=1)
        with pytest.raises(LLMError, match="expired") as info:
            client.generate(requests, stage="judge")
        assert "1 of 2" in str(info.value)
        assert len(server.batch_creates()) == 1
    assert list(cache.get_many(keys)) == [keys[1]]


class _Crash(BaseException):
    """Stands in for the process dying (Ctrl-C, OOM kill) while a batch is being polled."""


@pytest.mark.parametrize("how", ["killed-while-polling", "retrieve-fails"])
def test_batch_resume_collects_the_same_batch(cache_path, how):
    requests = [chat(f"resume question {i}") for i in range(4)]
    keys = [r.cache_key("anthropic_batch", MODEL) for r in requests]
    with FakeAnthropicServer() as server:
        cache = ResponseCache(cache_path)
        if how == "killed-while-polling":
            server.batch_polls_until_end = 10**6

            def die(seconds):
                raise _Crash()

            client, _ = make_batch_client(server, cache, backend_sleep=die)
            with pytest.raises(_Crash):
                client.generate(requests, stage="judge")
        else:
            server.then(("status", 400, None, "scripted retrieve failure"), endpoint="batch_retrieve")
            client, _ = make_batch_client(server, cache)
            with pytest.raises(LLMError, match="retrieve Message Batch"):
                client.generate(requests, stage="judge")
        cache.close()
        [created] = server.batch_creates()
        assert [item["custom_id"] for item in created["requests"]] == keys
        with sqlite3.connect(cache_path) as db:
            [(batch_id, status)] = db.execute("SELECT batch_id, status FROM batches").fetchall()
        assert status == "submitted"

        server.batch_polls_until_end = 1
        logs = Recorder()
        cache = ResponseCache(cache_path)
        try:
            client, _ = make_batch_client(server, cache, log=logs)
            responses, usage = client.generate(requests, stage="judge")
        finally:
            cache.close()
        assert len(server.batch_creates()) == 1, "the requests were submitted (and paid for) again"
        assert set(server.batch_retrieves()) == {batch_id}
        assert any(f"resuming Message Batch {batch_id}" in m for m in logs), logs
        assert [r.text for r in responses] == [expected_text(r) for r in requests]
        assert usage.calls_new == 4 and usage.cache_hits == 0
        with sqlite3.connect(cache_path) as db:
            assert db.execute("SELECT status FROM batches").fetchall() == [("collected",)]


def test_batch_unknown_to_the_api_is_submitted_again(server, tmp_path):
    """A recorded batch id the API no longer knows (expired results, other workspace) must not
    wedge the stage: it is closed, logged, and its requests go into a new batch."""
    import hashlib

    cache = ResponseCache(tmp_path / "cache.sqlite")
    backend = AnthropicBatchBackend(
        model=MODEL, base_url=server.base_url, poll_interval=0, sleep=lambda s: None
    )
    request = chat("resubmit me")
    key = request.cache_key(backend.name, MODEL)
    cache.record_batch("msgbatch_gone", hashlib.sha256(b"st").hexdigest()[:16], [key])
    logs = []
    client = LLMClient(backend, cache=cache, log=logs.append)
    responses, usage = client.generate([request], stage="st")
    assert responses[0].text == "echo: resubmit me"
    assert len(server.batch_creates()) == 1 and usage.calls_new == 1
    assert any("msgbatch_gone is unknown to the API" in line for line in logs)
    assert cache.open_batches(hashlib.sha256(b"st").hexdigest()[:16]) == []
