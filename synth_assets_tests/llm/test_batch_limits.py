"""Message Batches at scale: the batch backend splits at both of the API's limits (requests
per batch, bytes per create body), reads results as a stream and stores them in groups; the
loopback fake enforces the same limits. Small limits stand in for 100,000 requests / 256 MB."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from synth_assets.llm.anthropic_backend import (
    BATCH_ENVELOPE_BYTES,
    BATCH_ITEM_SEPARATOR_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    AnthropicBatchBackend,
)
from synth_assets.llm.cache import ResponseCache
from synth_assets.llm.client import LLMClient, RetryPolicy
from synth_assets.llm.types import LLMError, LLMRequest, LLMResponse
from synth_assets_tests.servers import anthropic_fake
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer, default_responder

pytestmark = pytest.mark.timeout(60)

MODEL = "claude-fake-model"
FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.1)


def chat(text: str) -> LLMRequest:
    return LLMRequest.chat([{"role": "user", "content": text}])


def expected_text(request: LLMRequest) -> str:
    return default_responder({"messages": request.chat_messages(include_system=False)})


def make_backend(server, **kwargs) -> AnthropicBatchBackend:
    return AnthropicBatchBackend(
        model=MODEL, base_url=server.base_url, timeout=5.0, poll_interval=0, sleep=lambda s: None, **kwargs
    )


def make_client(server, cache, log=None, **kwargs) -> LLMClient:
    return LLMClient(make_backend(server, **kwargs), cache=cache, retry=FAST, log=log or (lambda m: None))


def key_of(request: LLMRequest) -> str:
    return request.cache_key("anthropic_batch", MODEL)


def batch_rows(cache_path) -> list[tuple[str, str, list[str]]]:
    with sqlite3.connect(cache_path) as db:
        rows = db.execute("SELECT batch_id, status, custom_ids FROM batches ORDER BY created_at").fetchall()
    return [(batch_id, status, json.loads(ids)) for batch_id, status, ids in rows]


# -- splitting at the request limit ----------------------------------------------------------


def test_split_at_max_batch_requests(server, cache, cache_path):
    requests = [chat(f"count question {i}") for i in range(7)]
    keys = [key_of(r) for r in requests]
    logs = []
    client = make_client(server, cache, log=logs.append, max_batch_requests=3)
    responses, usage = client.generate(requests, stage="split")

    creates = server.batch_creates()
    assert [[item["custom_id"] for item in body["requests"]] for body in creates] == [
        keys[0:3],
        keys[3:6],
        keys[6:7],
    ]
    assert [r.text for r in responses] == [expected_text(r) for r in requests]
    assert usage.calls_new == 7 and usage.failures == 0
    assert len(cache) == 7
    assert [(status, ids) for _, status, ids in batch_rows(cache_path)] == [
        ("collected", keys[0:3]),
        ("collected", keys[3:6]),
        ("collected", keys[6:7]),
    ]
    assert any("part 3 of 3" in line for line in logs), logs


def test_server_request_limit_matches_the_backend_limit(cache):
    """With the backend's limit above the server's, the server's 400 is what stops the stage:
    the fake enforces the limit and the backend's splitting is what keeps under it."""
    requests = [chat(f"too many {i}") for i in range(4)]
    with FakeAnthropicServer(max_batch_requests=3) as server:
        with pytest.raises(LLMError, match="HTTP 400.*at most 3"):
            make_client(server, cache, max_batch_requests=4).generate(requests, stage="over")
        responses, _ = make_client(server, cache, max_batch_requests=3).generate(requests, stage="under")
    assert [r.text for r in responses] == [expected_text(r) for r in requests]


# -- splitting at the byte limit -------------------------------------------------------------


def test_split_fills_each_part_up_to_the_byte_limit(server):
    backend = make_backend(
        server, max_batch_bytes=BATCH_ENVELOPE_BYTES + 100 + BATCH_ITEM_SEPARATOR_BYTES + 100
    )
    sizes = {"a": 100, "b": 100, "c": 100, "d": 99, "e": 1}
    # two 100-byte items and their separator fill the room exactly; one byte more does not fit
    assert backend.split(list(sizes), sizes) == [["a", "b"], ["c", "d"], ["e"]]
    backend.max_batch_requests = 1
    assert backend.split(["a", "e"], sizes) == [["a"], ["e"]]


def test_item_bytes_is_an_upper_bound_on_any_json_encoding(server):
    backend = make_backend(server)
    params = backend.params(chat('한국어 질문입니다, with emoji 🎉 and "quotes"'))
    item = {"custom_id": "k" * 64, "params": params}
    estimate = backend.item_bytes("k" * 64, params)
    for ensure_ascii in (True, False):
        for separators in ((",", ":"), (", ", ": ")):
            sent = json.dumps(item, ensure_ascii=ensure_ascii, separators=separators).encode()
            assert len(sent) <= estimate


def test_split_at_max_batch_bytes_and_the_server_accepts_every_part(cache, cache_path):
    # non-ASCII prompts: the estimate (\\uXXXX escapes) is larger than their UTF-8
    requests = [
        chat(f"byte question {i}: " + ("long text " if i % 2 else "한국어 문장 ") * 30) for i in range(10)
    ]
    keys = [key_of(r) for r in requests]
    limit = 4 * 1024
    with FakeAnthropicServer(max_batch_bytes=limit) as server:
        client = make_client(server, cache, max_batch_bytes=limit)
        backend = client.backend
        sizes = {key_of(r): backend.item_bytes(key_of(r), backend.params(r)) for r in requests}
        assert sum(sizes.values()) > 2 * limit  # the limit forces at least three parts
        responses, usage = client.generate(requests, stage="bytes")

        creates = server.recorded("POST", "/v1/messages/batches")
        parts = [[item["custom_id"] for item in r.body["requests"]] for r in creates]
        assert len(creates) >= 3
        assert [key for part in parts for key in part] == keys  # in order, each once
        for record in creates:
            assert int(record.headers["content-length"]) <= limit
            assert len(json.dumps(record.body).encode()) <= limit
        # each part but the last is full: its next request would not have fitted
        for part, following in zip(parts, parts[1:], strict=False):
            used = BATCH_ENVELOPE_BYTES + sum(sizes[k] for k in part) + BATCH_ITEM_SEPARATOR_BYTES * len(part)
            assert used + sizes[following[0]] > limit
    assert [r.text for r in responses] == [expected_text(r) for r in requests]
    assert usage.calls_new == 10 and usage.failures == 0
    assert all(status == "collected" for _, status, _ in batch_rows(cache_path))


def test_request_over_the_byte_limit_alone_is_refused_before_anything_is_sent(server, cache):
    small = [chat("short one"), chat("short two")]
    huge = chat("x" * 5000)
    client = make_client(server, cache, max_batch_bytes=2048)
    with pytest.raises(LLMError) as info:
        client.generate([small[0], huge, small[1]], stage="oversize")
    message = str(info.value)
    assert key_of(huge) in message and "oversize" in message
    size = client.backend.item_bytes(key_of(huge), client.backend.params(huge))
    assert f"{size:,} bytes" in message and "2,048" in message
    assert server.requests == []
    assert len(cache) == 0 and cache.open_batches("any") == []


def test_limits_are_checked(server):
    with pytest.raises(LLMError, match="max_batch_requests"):
        make_backend(server, max_batch_requests=MAX_BATCH_REQUESTS + 1)
    with pytest.raises(LLMError, match="max_batch_bytes"):
        make_backend(server, max_batch_bytes=MAX_BATCH_BYTES + 1)
    with pytest.raises(LLMError, match="max_batch_bytes"):
        make_backend(server, max_batch_bytes=BATCH_ENVELOPE_BYTES)
    backend = make_backend(server)
    assert (backend.max_batch_requests, backend.max_batch_bytes) == (100_000, 256_000_000)


# -- the fake server's limits ----------------------------------------------------------------


def batch_item(i: int, text: str = "hi") -> dict:
    params = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": f"req-{i}", "params": params}


def test_fake_server_enforces_the_create_limits():
    assert anthropic_fake.MAX_BATCH_REQUESTS == 100_000
    assert anthropic_fake.MAX_BATCH_BYTES == 256_000_000
    headers = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}
    with FakeAnthropicServer(max_batch_requests=3, max_batch_bytes=10_000) as server:
        url = f"{server.base_url}/v1/messages/batches"
        with httpx.Client(headers=headers, timeout=5.0) as http:
            big = http.post(url, json={"requests": [batch_item(0, "y" * 20_000)]})
            many = http.post(url, json={"requests": [batch_item(i) for i in range(4)]})
            fits = http.post(url, json={"requests": [batch_item(i) for i in range(3)]})
            # the connection survives a 413 whose body was read off and discarded
            again = http.post(url, json={"requests": [batch_item(9)]})
        assert big.status_code == 413
        assert big.json()["error"]["type"] == "request_too_large"
        assert many.status_code == 400
        assert many.json()["error"]["type"] == "invalid_request_error"
        assert "at most 3" in many.json()["error"]["message"]
        assert fits.status_code == 200 and fits.json()["type"] == "message_batch"
        assert again.status_code == 200
        bodies = server.batch_creates()
        assert bodies[0] is None  # an oversize body is never kept
        assert len(bodies[1]["requests"]) == 4 and len(bodies[2]["requests"]) == 3


def test_fake_server_without_recorded_bodies_still_answers(cache):
    requests = [chat(f"unrecorded {i}") for i in range(5)]
    with FakeAnthropicServer(record_bodies=False) as server:
        responses, _ = make_client(server, cache, max_batch_requests=2).generate(requests, stage="quiet")
        assert server.batch_creates() == [None, None, None]
        assert all(batch.requests == [] for batch in server.batches.values())  # dropped once ended
    assert [r.text for r in responses] == [expected_text(r) for r in requests]


def test_backend_surfaces_the_servers_413(cache):
    requests = [chat(f"payload {i} " + "z" * 400) for i in range(6)]
    with FakeAnthropicServer(max_batch_bytes=2048) as server:
        with pytest.raises(LLMError, match="HTTP 413"):
            make_client(server, cache).generate(requests, stage="too-big")
        assert len(server.batch_creates()) == 1 and server.batches == {}


# -- reading results: streaming, grouped storage, crash and resume ---------------------------


class _Crash(BaseException):
    """Stands in for the process dying while results are being stored."""


class CrashingCache(ResponseCache):
    """Dies on the ``crash_on``-th group stored."""

    def __init__(self, path, crash_on: int):
        super().__init__(path)
        self.crash_on = crash_on
        self.groups = 0

    def put_many(self, items):
        items = list(items)
        if items:
            self.groups += 1
            if self.groups == self.crash_on:
                raise _Crash()
        super().put_many(items)


@pytest.mark.parametrize("how", ["connection-cut", "killed-while-storing"])
def test_crash_while_reading_results_leaves_the_batch_open_and_a_rerun_resumes_it(cache_path, how):
    requests = [chat(f"stream question {i}") for i in range(5)]
    keys = [key_of(r) for r in requests]
    with FakeAnthropicServer(results_order="request") as server:
        if how == "connection-cut":
            server.then(("cut", 3), endpoint="batch_results")
            first = ResponseCache(cache_path)
            with pytest.raises(LLMError, match="reading Message Batch"):
                make_client(server, first, store_every=2).generate(requests, stage="stream")
            stored = 3  # one full group of 2, and what was read before the cut
        else:
            first = CrashingCache(cache_path, crash_on=2)
            with pytest.raises(_Crash):
                make_client(server, first, store_every=2).generate(requests, stage="stream")
            stored = 2  # the first group only
        first.close()
        [(batch_id, status, ids)] = batch_rows(cache_path)
        assert status == "submitted" and ids == keys
        with sqlite3.connect(cache_path) as db:
            assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == stored

        logs = []
        second = ResponseCache(cache_path)
        try:
            responses, usage = make_client(server, second, log=logs.append, store_every=2).generate(
                requests, stage="stream"
            )
        finally:
            second.close()
        assert len(server.batch_creates()) == 1, "the requests were submitted (and paid for) again"
        assert any(f"resuming Message Batch {batch_id}" in line for line in logs), logs
        assert [r.text for r in responses] == [expected_text(r) for r in requests]
        assert usage.cache_hits == stored and usage.calls_new == 5 - stored
        assert [status for _, status, _ in batch_rows(cache_path)] == ["collected"]


def test_results_are_stored_in_groups(server, cache, monkeypatch):
    groups = []
    real = ResponseCache.put_many

    def spy(self, items):
        items = list(items)
        groups.append(len(items))
        real(self, items)

    monkeypatch.setattr(ResponseCache, "put_many", spy)
    monkeypatch.setattr(ResponseCache, "put", lambda *a, **k: pytest.fail("one commit per result"))
    requests = [chat(f"grouped {i}") for i in range(7)]
    responses, _ = make_client(server, cache, store_every=3).generate(requests, stage="groups")
    assert [n for n in groups if n] == [3, 3, 1]
    assert len(cache) == 7 and all(r.text for r in responses)


def test_results_are_read_as_a_stream(server, cache, monkeypatch):
    """The decoder the SDK returns is iterated, never turned into a list."""
    from anthropic.resources.messages import batches as batches_module

    iterated = []
    real_results = batches_module.Batches.results

    class OnlyIterable:
        def __init__(self, inner):
            self.inner = inner

        def __iter__(self):
            for item in self.inner:
                iterated.append(item.custom_id)
                yield item

        def __len__(self):  # list() would call this first
            raise AssertionError("results were materialised")

    monkeypatch.setattr(
        batches_module.Batches, "results", lambda self, *a, **k: OnlyIterable(real_results(self, *a, **k))
    )
    requests = [chat(f"streamed {i}") for i in range(4)]
    responses, _ = make_client(server, cache).generate(requests, stage="lazy")
    assert sorted(iterated) == sorted(key_of(r) for r in requests)
    assert [r.text for r in responses] == [expected_text(r) for r in requests]


# -- ResponseCache.put_many ------------------------------------------------------------------


def test_put_many_stores_in_one_transaction_and_get_many_reads_back(cache, cache_path):
    items = [
        (
            f"key-{i}",
            "anthropic_batch",
            MODEL,
            LLMResponse(text=f"text {i}", input_tokens=i, output_tokens=2 * i),
        )
        for i in range(3)
    ]
    cache.put_many(items)
    cache.put_many([])
    found = cache.get_many(["key-0", "key-1", "key-2", "key-missing"])
    assert sorted(found) == ["key-0", "key-1", "key-2"]
    for i in range(3):
        response = found[f"key-{i}"]
        assert (response.text, response.input_tokens, response.output_tokens) == (f"text {i}", i, 2 * i)
        assert response.received_at is not None
    assert len(cache) == 3
    with sqlite3.connect(cache_path) as other:  # committed: visible to another connection
        assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 3
    cache.put_many([("key-1", "anthropic_batch", MODEL, LLMResponse(text="replaced"))])
    assert cache.get("key-1").text == "replaced" and len(cache) == 3


@pytest.mark.parametrize("ending", [("short", 3), ("torn", 3)])
def test_results_that_end_early_leave_the_batch_open(cache_path, ending):
    """A results stream that ends cleanly but early, or on half a line, is not taken for the
    whole batch: the batch stays open (nothing is submitted, or paid for, again) and a re-run
    reads it again."""
    requests = [chat(f"early end {i}") for i in range(5)]
    with FakeAnthropicServer(results_order="request") as server:
        server.then(ending, endpoint="batch_results")
        first = ResponseCache(cache_path)
        with pytest.raises(LLMError, match="ended after 3 of 5 results|malformed line"):
            make_client(server, first, store_every=2).generate(requests, stage="early")
        first.close()
        [(_, status, _)] = batch_rows(cache_path)
        assert status == "submitted"
        second = ResponseCache(cache_path)
        try:
            responses, usage = make_client(server, second).generate(requests, stage="early")
        finally:
            second.close()
        assert len(server.batch_creates()) == 1
        assert [r.text for r in responses] == [expected_text(r) for r in requests]
        assert usage.cache_hits == 3 and [s for _, s, _ in batch_rows(cache_path)] == ["collected"]


def test_parts_are_all_submitted_before_any_is_polled(server, cache):
    """A stage split into several batches: the API gets every part at once, not one per
    24-hour window."""
    requests = [chat(f"parallel part {i}") for i in range(7)]
    make_client(server, cache, max_batch_requests=3).generate(requests, stage="parts")
    order = [
        ("create" if r.method == "POST" else "poll")
        for r in server.recorded()
        if r.path.startswith("/v1/messages/batches") and not r.path.endswith("/results")
    ]
    assert order[:3] == ["create"] * 3 and order.count("create") == 3, order


def test_a_resumed_batch_keeps_results_the_stage_no_longer_asks_for(cache_path):
    """A batch submitted for 4 requests, resumed by a run that asks for 2 of them: the other
    two answers are paid for, so they are stored, and a later run asking for them pays nothing."""
    requests = [chat(f"shrinking stage {i}") for i in range(4)]
    with FakeAnthropicServer(results_order="request") as server:
        server.then(("cut", 0), endpoint="batch_results")
        first = ResponseCache(cache_path)
        with pytest.raises(LLMError):
            make_client(server, first).generate(requests, stage="shrink")
        first.close()
        second = ResponseCache(cache_path)
        try:
            make_client(server, second).generate(requests[:2], stage="shrink")
            responses, usage = make_client(server, second).generate(requests[2:], stage="shrink")
        finally:
            second.close()
        assert len(server.batch_creates()) == 1
        assert usage.cache_hits == 2 and [r.text for r in responses] == [
            expected_text(r) for r in requests[2:]
        ]
