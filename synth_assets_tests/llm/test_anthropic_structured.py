"""Structured output on the Anthropic backends: a request with ``json_schema`` is sent with one
forced tool whose ``input_schema`` is the schema, and the tool's input comes back as JSON text.
Against the fake API server on 127.0.0.1 (real HTTP through the official SDK, no key)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from synth_assets.llm.anthropic_backend import STRUCTURED_TOOL, AnthropicBackend, AnthropicBatchBackend
from synth_assets.llm.cache import ResponseCache
from synth_assets.llm.client import LLMClient, RetryPolicy
from synth_assets.llm.types import LLMError, LLMRequest
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer, default_responder

from .conftest import FAKE_KEY

pytestmark = pytest.mark.timeout(30)

MODEL = "claude-fake-model"
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.1)
VERDICT = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
        "reason": {"type": "string"},
    },
    "required": ["score", "reason"],
}
INSTRUCTION = {
    "type": "object",
    "properties": {"instruction": {"type": "string"}},
    "required": ["instruction"],
}
FORCED = {"type": "tool", "name": STRUCTURED_TOOL}


@pytest.fixture
def cache(tmp_path):
    db = ResponseCache(tmp_path / "llm_cache.sqlite")
    yield db
    db.close()


def ask(text: str, schema: dict | None = None, **params) -> LLMRequest:
    return LLMRequest.chat(
        [{"role": "user", "content": text}],
        json_schema=json.dumps(schema) if schema is not None else None,
        **params,
    )


def make_client(server, cache=None) -> LLMClient:
    backend = AnthropicBackend(model=MODEL, base_url=server.base_url, timeout=5.0)
    return LLMClient(backend, cache=cache, retry=FAST, sleep=lambda s: None)


def make_batch_client(server, cache) -> LLMClient:
    backend = AnthropicBatchBackend(
        model=MODEL, base_url=server.base_url, timeout=5.0, poll_interval=0, sleep=lambda s: None
    )
    return LLMClient(backend, cache=cache, retry=FAST, sleep=lambda s: None)


def by_prompt(bodies: list[dict]) -> dict[str, dict]:
    return {body["messages"][-1]["content"]: body for body in bodies}


def expected_tool(schema: dict) -> list[dict]:
    return [{"name": STRUCTURED_TOOL, "description": "Record your answer.", "input_schema": schema}]


def post(server, path: str, body: dict) -> tuple[int, dict]:
    """A raw POST to the fake (no SDK): status and parsed JSON reply."""
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        headers={
            "x-api-key": FAKE_KEY,
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5.0) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- single calls ------------------------------------------------------------------------------


def test_schema_request_forces_the_tool_and_returns_its_input_as_json(cache):
    verdict = {"score": 4, "reason": "clear and correct"}
    with FakeAnthropicServer(responder=lambda body: json.dumps(verdict)) as server:
        responses, usage = make_client(server, cache).generate(
            [ask("Rate this answer", VERDICT, temperature=0.0)], stage="judge"
        )
        [body] = server.message_requests()

    assert body["tools"] == expected_tool(VERDICT)
    assert body["tool_choice"] == FORCED
    assert body["messages"] == [{"role": "user", "content": "Rate this answer"}]
    assert body["temperature"] == 0.0
    [response] = responses
    assert json.loads(response.text) == verdict
    assert response.finish_reason == "tool_use"
    assert response.output_tokens > 0 and usage.calls_new == 1
    # the cached text is the same JSON, so a rerun parses it the same way
    key = ask("Rate this answer", VERDICT, temperature=0.0).cache_key("anthropic", MODEL)
    assert cache.get_many([key])[key].text == response.text


def test_plain_text_from_the_model_fills_a_single_required_string(server):
    responses, _ = make_client(server).generate([ask("Write an instruction", INSTRUCTION)], stage="gen")
    [body] = server.message_requests()
    assert body["tool_choice"] == FORCED
    assert json.loads(responses[0].text) == {"instruction": "echo: Write an instruction"}
    assert responses[0].finish_reason == "tool_use"


def test_request_without_schema_sends_no_tools(server):
    requests = [ask("no schema here"), ask("with schema", INSTRUCTION)]
    responses, _ = make_client(server).generate(requests, stage="mixed")
    bodies = by_prompt(server.message_requests())

    assert "tools" not in bodies["no schema here"] and "tool_choice" not in bodies["no schema here"]
    assert bodies["with schema"]["tools"] == expected_tool(INSTRUCTION)
    assert responses[0].text == "echo: no schema here" and responses[0].finish_reason == "end_turn"
    assert json.loads(responses[1].text) == {"instruction": "echo: with schema"}


def test_schema_changes_the_cache_key_so_text_answers_are_not_reused(server, cache):
    client = make_client(server, cache)
    plain, _ = client.generate([ask("same prompt")], stage="a")
    structured, usage = client.generate([ask("same prompt", INSTRUCTION)], stage="b")
    assert plain[0].text == "echo: same prompt"
    assert json.loads(structured[0].text) == {"instruction": "echo: same prompt"}
    assert usage.calls_new == 1 and usage.cache_hits == 0
    assert len(server.message_requests()) == 2


@pytest.mark.parametrize("scripted", [None, "I think it is a 4"], ids=["responder", "scripted-text"])
def test_model_answering_with_text_falls_back_to_the_text(cache, scripted):
    with FakeAnthropicServer(ignore_tools=True) as server:
        if scripted:
            server.then(("text", scripted))
        responses, _ = make_client(server, cache).generate([ask("Rate this", VERDICT)], stage="judge")
        [body] = server.message_requests()
    # the tool was still forced: the fake (a model ignoring it) answered with text
    assert body["tools"] == expected_tool(VERDICT) and body["tool_choice"] == FORCED
    assert responses[0].text == (scripted or "echo: Rate this")
    assert responses[0].finish_reason == "end_turn"


def test_scripted_json_text_becomes_the_tool_input(server):
    server.then(("text", '{"score": 2, "reason": "vague"}'))
    responses, _ = make_client(server).generate([ask("Rate this", VERDICT)], stage="judge")
    assert json.loads(responses[0].text) == {"score": 2, "reason": "vague"}


def test_to_response_reads_only_the_structured_tool():
    usage = SimpleNamespace(input_tokens=3, output_tokens=7)

    def message(*blocks, stop_reason="tool_use"):
        return SimpleNamespace(content=list(blocks), usage=usage, stop_reason=stop_reason)

    text = SimpleNamespace(type="text", text="Let me answer. ")
    mine = SimpleNamespace(
        type="tool_use", id="toolu_1", name=STRUCTURED_TOOL, input={"score": 5, "reason": "ü"}
    )
    other = SimpleNamespace(type="tool_use", id="toolu_2", name="web_search", input={"q": "x"})

    response = AnthropicBackend.to_response(message(text, mine))
    assert json.loads(response.text) == {"score": 5, "reason": "ü"}
    assert response.finish_reason == "tool_use"
    assert (response.input_tokens, response.output_tokens) == (3, 7)
    assert (
        AnthropicBackend.to_response(message(text, other, stop_reason="end_turn")).text == "Let me answer. "
    )
    assert AnthropicBackend.to_response(message(text, stop_reason="max_tokens")).finish_reason == "max_tokens"


def test_truncated_tool_call_reports_max_tokens(server):
    server.then(("text", json.dumps({"instruction": "word " * 50})))
    responses, _ = make_client(server).generate([ask("Long one", INSTRUCTION, max_tokens=10)], stage="gen")
    assert responses[0].finish_reason == "max_tokens"
    assert json.loads(responses[0].text) == {}


@pytest.mark.parametrize(
    "schema",
    ['{"type": "string"}', "not json", '["type", "object"]'],
    ids=["not-an-object-schema", "invalid-json", "not-a-dict"],
)
def test_schema_the_api_cannot_take_fails_before_any_call(server, cache, schema):
    request = LLMRequest.chat([{"role": "user", "content": "hi"}], json_schema=schema)
    with pytest.raises(LLMError, match="json_schema"):
        make_client(server, cache).generate([request], stage="gen")
    with pytest.raises(LLMError, match="json_schema"):
        make_batch_client(server, cache).generate([request], stage="gen")
    assert server.requests == []


# -- Message Batches ---------------------------------------------------------------------------


def test_batch_sends_tools_in_params_and_reads_tool_use_results(cache):
    def responder(body):
        prompt = body["messages"][-1]["content"]
        if prompt.startswith("Rate"):
            return json.dumps({"score": len(prompt) % 5 + 1, "reason": prompt})
        return default_responder(body)

    requests = [
        ask("Rate answer one", VERDICT),
        ask("plain question"),
        ask("Make an instruction", INSTRUCTION),
    ]
    with FakeAnthropicServer(responder=responder) as server:
        client = make_batch_client(server, cache)
        responses, usage = client.generate(requests, stage="judge")
        [create] = server.batch_creates()
        assert server.message_requests() == []  # nothing went through the single-call endpoint
        params = by_prompt([item["params"] for item in create["requests"]])

        assert params["Rate answer one"]["tools"] == expected_tool(VERDICT)
        assert params["Rate answer one"]["tool_choice"] == FORCED
        assert params["Make an instruction"]["tools"] == expected_tool(INSTRUCTION)
        assert "tools" not in params["plain question"] and "tool_choice" not in params["plain question"]

        assert json.loads(responses[0].text) == {
            "score": len("Rate answer one") % 5 + 1,
            "reason": "Rate answer one",
        }
        assert responses[0].finish_reason == "tool_use"
        assert responses[1].text == "echo: plain question" and responses[1].finish_reason == "end_turn"
        assert json.loads(responses[2].text) == {"instruction": "echo: Make an instruction"}
        assert usage.calls_new == 3

        again, usage2 = client.generate(requests, stage="judge")
        assert len(server.batch_creates()) == 1 and usage2.cache_hits == 3
        assert [r.text for r in again] == [r.text for r in responses]


def test_batch_falls_back_to_text_when_the_model_ignores_the_tool(cache):
    with FakeAnthropicServer(ignore_tools=True) as server:
        responses, _ = make_batch_client(server, cache).generate([ask("Rate it", VERDICT)], stage="judge")
        [create] = server.batch_creates()
    assert create["requests"][0]["params"]["tool_choice"] == FORCED
    assert responses[0].text == "echo: Rate it" and responses[0].finish_reason == "end_turn"


# -- the fake validates tools like the real API ----------------------------------------------


GOOD_TOOL = {"name": "respond", "input_schema": {"type": "object", "properties": {}}}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tools": [GOOD_TOOL], "tool_choice": {"type": "tool", "name": "other"}}, "not found in tools"),
        ({"tools": [{"input_schema": {"type": "object"}}]}, "tools.0.name"),
        ({"tools": [{"name": "respond"}]}, "input_schema: Field required"),
        ({"tools": [{"name": "respond", "input_schema": {"type": "string"}}]}, "input_schema.type"),
        ({"tools": [{"name": "respond", "input_schema": "object"}]}, "input_schema"),
        ({"tools": [GOOD_TOOL, GOOD_TOOL]}, "unique"),
        ({"tool_choice": {"type": "tool", "name": "respond"}}, "providing tools"),
        ({"tools": [GOOD_TOOL], "tool_choice": {"type": "bogus"}}, "tool_choice"),
    ],
    ids=[
        "unknown-forced-tool",
        "no-name",
        "no-schema",
        "schema-not-object",
        "schema-not-dict",
        "dup",
        "no-tools",
        "bad-choice",
    ],
)
def test_fake_rejects_bad_tools_with_400(server, extra, message):
    body = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}], **extra}
    status, reply = post(server, "/v1/messages", body)
    assert status == 400
    assert reply["error"]["type"] == "invalid_request_error" and message in reply["error"]["message"]

    status, reply = post(server, "/v1/messages/batches", {"requests": [{"custom_id": "r1", "params": body}]})
    assert status == 400 and message in reply["error"]["message"]
    assert server.batches == {}


def test_fake_auto_tool_choice_answers_with_text(server):
    body = {
        "model": MODEL,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [GOOD_TOOL],
        "tool_choice": {"type": "auto"},
    }
    status, reply = post(server, "/v1/messages", body)
    assert (
        status == 200
        and reply["stop_reason"] == "end_turn"
        and reply["content"] == [{"type": "text", "text": "echo: hi"}]
    )


# -- the key -----------------------------------------------------------------------------------


def test_api_key_never_appears_in_recorded_bodies(server, cache, api_key):
    make_client(server, cache).generate([ask("Rate a", VERDICT), ask("plain b")], stage="single")
    make_batch_client(server, cache).generate([ask("Rate c", VERDICT), ask("plain d")], stage="batched")
    assert len(server.message_requests()) == 2 and len(server.batch_creates()) == 1
    assert all(r.had_auth for r in server.requests)  # the key did reach the server, in a header
    bodies = json.dumps([r.body for r in server.requests])
    assert "tool_choice" in bodies
    assert api_key not in bodies
    assert api_key not in repr(server.requests)
