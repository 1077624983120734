"""LLM client throughput: a sequential SDK loop vs our client at concurrency 32.

A loopback Messages API server (``synth_assets_tests.servers.anthropic_fake``), in its own
process like a real API, answers every request after 200 ms. 400 distinct requests go (1) one
by one through the official ``anthropic`` SDK, the pattern most tutorials show, and (2) through
``LLMClient`` with the ``anthropic`` backend at concurrency 32 and a fresh response cache;
then (3) the same 400 requests go through our client again, which must answer them all from
the cache.

Prints both rates, the cache pass, then the local backend's tokens/s against llama.cpp called
directly on the same prompts (the overhead of our layer), and last:
``llm_speedup_vs_sequential=<x> efficiency=<achieved / (32 / 0.2 s)> repeat_calls=<n>``.

    python bench/llm_throughput.py [--requests 400] [--skip-local]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LATENCY = 0.2
CONCURRENCY = 32


def _serve(conn, latency: float, responder=None, options: dict | None = None) -> None:
    from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer

    options = dict(options or {}, **({"responder": responder} if responder else {}))
    with FakeAnthropicServer(latency=latency, **options) as server:
        conn.send(server.base_url)
        while conn.recv() == "count":
            conn.send(len(server.message_requests()))


class ServerProcess:
    """The fake API in a child process (so its threads do not share our interpreter lock)."""

    def __init__(self, latency: float, responder=None, options: dict | None = None):
        """``responder``: a module-level function (it is sent to the child process);
        ``options``: more FakeAnthropicServer arguments."""
        import multiprocessing

        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child, latency, responder, options), daemon=True
        )

    def __enter__(self) -> ServerProcess:
        self._process.start()
        self.base_url = self._conn.recv()
        return self

    def message_count(self) -> int:
        self._conn.send("count")
        return self._conn.recv()

    def __exit__(self, *exc) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)


def prompts(n: int) -> list[str]:
    return [f"Request {i}: name one fact about the number {i}." for i in range(n)]


def sequential(server, texts) -> float:
    import anthropic

    client = anthropic.Anthropic(api_key="bench-key", base_url=server.base_url, max_retries=0)
    started = time.perf_counter()
    for text in texts:
        client.messages.create(
            model="claude-bench", max_tokens=64, messages=[{"role": "user", "content": text}]
        )
    return time.perf_counter() - started


def ours(server, texts, cache_path) -> tuple[float, object]:
    from synth_assets.llm.anthropic_backend import AnthropicBackend
    from synth_assets.llm.cache import ResponseCache
    from synth_assets.llm.client import LLMClient
    from synth_assets.llm.types import LLMRequest

    backend = AnthropicBackend(model="claude-bench", base_url=server.base_url)
    client = LLMClient(backend, cache=ResponseCache(cache_path), concurrency=CONCURRENCY)
    requests = [LLMRequest.chat([{"role": "user", "content": t}], max_tokens=64) for t in texts]
    started = time.perf_counter()
    _, usage = client.generate(requests, stage="bench")
    return time.perf_counter() - started, usage


def local_overhead(n: int = 6, max_tokens: int = 64) -> None:
    from llama_cpp import Llama

    from synth_assets.llm.client import LLMClient
    from synth_assets.llm.local_backend import LocalBackend, smollm2_gguf_path
    from synth_assets.llm.types import LLMRequest

    texts = [f"Write two sentences about topic number {i}." for i in range(n)]
    backend = LocalBackend()
    client = LLMClient(backend)  # no cache: every request is generated
    requests = [
        LLMRequest.chat([{"role": "user", "content": t}], max_tokens=max_tokens, temperature=0.7)
        for t in texts
    ]
    llm = Llama(model_path=str(smollm2_gguf_path()), n_ctx=2048, logits_all=True, verbose=False)
    warm_up = [{"role": "user", "content": "Hello."}]
    backend.generate_one(LLMRequest.chat(warm_up, max_tokens=8))
    llm.create_chat_completion(warm_up, max_tokens=8)
    started = time.perf_counter()
    responses, usage = client.generate(requests, stage="bench-local")
    ours_s = time.perf_counter() - started
    started, direct_tokens = time.perf_counter(), 0
    for request in requests:
        out = llm.create_chat_completion(
            request.chat_messages(),
            max_tokens=max_tokens,
            temperature=0.7,
            top_p=0.95,
            seed=backend._seed(request),
        )
        direct_tokens += out["usage"]["completion_tokens"]
    direct_s = time.perf_counter() - started
    ours_tps, direct_tps = usage.output_tokens / ours_s, direct_tokens / direct_s
    print(
        f"local backend: {ours_tps:.1f} tokens/s via LLMClient vs {direct_tps:.1f} tokens/s llama.cpp direct "
        f"({usage.output_tokens} vs {direct_tokens} tokens); overhead ratio {direct_tps / ours_tps:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--skip-local", action="store_true", help="skip the local-model comparison")
    args = parser.parse_args()
    os.environ["ANTHROPIC_API_KEY"] = "bench-key-not-secret"

    texts = prompts(args.requests)
    with ServerProcess(latency=LATENCY) as server, tempfile.TemporaryDirectory() as tmp:
        seq_s = sequential(server, texts)
        seq_rate = len(texts) / seq_s
        print(f"sequential SDK loop: {len(texts)} requests in {seq_s:.1f} s = {seq_rate:.2f} req/s")
        before = server.message_count()
        ours_s, usage = ours(server, texts, Path(tmp) / "cache.sqlite")
        ours_rate = len(texts) / ours_s
        print(
            f"LLMClient, concurrency {CONCURRENCY}: {len(texts)} requests in {ours_s:.2f} s = "
            f"{ours_rate:.2f} req/s ({usage.calls_new} calls, {usage.retries} retries)"
        )
        sent = server.message_count()
        repeat_s, repeat_usage = ours(server, texts, Path(tmp) / "cache.sqlite")
        repeat_calls = server.message_count() - sent
        print(
            f"second pass: {repeat_usage.cache_hits} cache hits, {repeat_calls} calls, {repeat_s:.3f} s "
            f"(first pass sent {sent - before})"
        )
    if not args.skip_local:
        local_overhead()
    efficiency = ours_rate / (CONCURRENCY / LATENCY)
    print(
        f"llm_speedup_vs_sequential={ours_rate / seq_rate:.1f} efficiency={efficiency:.2f} "
        f"repeat_calls={repeat_calls}"
    )


if __name__ == "__main__":
    main()
