"""IFD: the arithmetic on hand-made log-probabilities, the keep ordering, and the real embedded
model on hand-made pairs (in-process and through llama.cpp's OpenAI-compatible server)."""

import http.server
import json
import math
import threading

import pytest

from synth_assets.instructions import generation, ifd
from synth_assets.instructions.critic import VERDICT_SCHEMA, parse_judgement
from synth_assets.instructions.judging import _keep_by_ifd
from synth_assets.llm.backends import make_backend
from synth_assets.llm.client import LLMClient
from synth_assets.llm.local_backend import LocalBackend, smollm2_gguf_path
from synth_assets.llm.types import LLMConfigError, LLMError, LLMRequest
from synth_assets_tests.fakes import ScriptedBackend
from synth_assets_tests.servers.llama_server import LlamaCppServer

DAYS = (
    "List the days of the week in order.",
    "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday.",
)
PHOTO = (
    "Explain what photosynthesis is.",
    "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide "
    "to make glucose and release oxygen.",
)


def test_ifd_is_the_ratio_of_mean_losses():
    score = ifd.ifd_from_logprobs([-1.0, -2.0, -3.0], [-2.0, -4.0, -6.0])
    assert score.loss_conditional == pytest.approx(2.0) and score.loss_direct == pytest.approx(4.0)
    assert score.ifd == pytest.approx(0.5) and score.n_tokens == 3
    assert ifd.ifd_from_logprobs([-3.0], [-1.5]).ifd == pytest.approx(2.0)
    assert math.isinf(ifd.ifd_from_logprobs([-1.0], [0.0]).ifd)
    with pytest.raises(ValueError, match="at least one response token"):
        ifd.ifd_from_logprobs([], [-1.0])


def test_critic_score_orders_aligned_pairs_first_then_by_fit():
    values = [0.2, 0.9, 0.99, 1.0, 1.3, math.inf]
    ranked = sorted(values, key=ifd.critic_score, reverse=True)
    assert ranked == [0.99, 0.9, 0.2, 1.0, 1.3, math.inf]
    assert all(ifd.critic_score(v) > ifd.critic_score(w) for v in (0.1, 0.5) for w in (1.0, 1.5))


def test_keep_rule_below_max_ifd_and_within_best_fraction():
    scores = [ifd.IFDScore(v, 1.0, 1.0, 5) for v in (0.5, 0.9, 0.95, 1.2)]
    reasons = _keep_by_ifd(scores, keep_fraction=1.0, max_ifd=1.0)
    assert reasons[:3] == [None, None, None] and reasons[3].startswith("ifd_not_below_1")
    reasons = _keep_by_ifd(scores, keep_fraction=0.5, max_ifd=1.0)
    # the best half by critic_score: 0.95 and 0.9; 0.5 is outside it, 1.2 does not fit
    assert [r is None for r in reasons] == [False, True, True, False]
    assert reasons[0].startswith("ifd_outside_best_fraction")
    with pytest.raises(LLMConfigError, match="keep_fraction"):
        _keep_by_ifd(scores, keep_fraction=0.0, max_ifd=1.0)


def test_contexts_chat_template_and_plain():
    template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    conditional, direct = ifd.contexts("Name a colour.", template)
    assert conditional == "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n"
    assert direct == "<|im_start|>assistant\n"
    assert ifd.contexts("Name a colour.", None) == ("Instruction: Name a colour.\nResponse: ", "Response: ")


def test_ifd_needs_a_backend_with_logprobs():
    backend = ScriptedBackend(lambda request: "x")  # supports_logprobs = False, like Anthropic
    with pytest.raises(LLMConfigError, match="set critic: llm_judge"):
        ifd.score_pairs(LLMClient(backend), [DAYS[0]], [DAYS[1]], "test")


@pytest.fixture(scope="module")
def local_client():
    return LLMClient(LocalBackend())


@pytest.mark.slow
def test_real_model_fitting_pair_below_one_swapped_above(local_client):
    instructions = [DAYS[0], PHOTO[0], DAYS[0], PHOTO[0]]
    responses = [DAYS[1], PHOTO[1], PHOTO[1], DAYS[1]]  # the last two are swapped
    scores, usage = ifd.score_pairs(local_client, instructions, responses, "test")
    assert scores[0].ifd < 1 and scores[1].ifd < 1
    assert scores[2].ifd > 1 and scores[3].ifd > 1
    assert usage.requests_total == 8 and all(s.n_tokens > 5 for s in scores)


@pytest.mark.slow
def test_local_scoring_matches_a_fresh_pass_after_prefix_reuse(local_client):
    """Scores computed after other requests (KV prefix reuse) equal those of a fresh model."""
    backend = local_client.backend
    first = LLMRequest.score(ifd.contexts(PHOTO[0], backend.chat_template)[0], PHOTO[1])
    backend.generate_one(LLMRequest.score(ifd.contexts(DAYS[0], backend.chat_template)[0], DAYS[1]))
    backend.generate_one(LLMRequest.chat([{"role": "user", "content": "Hi"}], max_tokens=5))
    reused = backend.generate_one(first).token_logprobs
    fresh = LocalBackend().generate_one(first).token_logprobs
    assert reused == pytest.approx(fresh, abs=1e-4)


@pytest.mark.slow
def test_local_grammar_gives_exactly_one_object(local_client):
    backend = local_client.backend
    instruction = backend.generate_one(
        LLMRequest.chat(
            generation.backtranslation_messages(PHOTO[1], list(generation.DOCUMENTATION_EXAMPLES)),
            max_tokens=64,
            temperature=1.0,
            json_schema=generation.INSTRUCTION_SCHEMA,
        )
    )
    text, structured = generation.read_instruction(instruction.text)
    assert structured and text.split()[0] in generation.INSTRUCTION_OPENERS
    verdict = backend.generate_one(
        LLMRequest.chat(
            [{"role": "user", "content": f"Rate 1-5: {PHOTO[0]} -> {PHOTO[1]}"}],
            max_tokens=48,
            temperature=1.0,
            json_schema=VERDICT_SCHEMA,
        )
    )
    assert set(json.loads(verdict.text)) == {"score", "reason"} and parse_judgement(verdict.text)


@pytest.mark.slow
def test_openai_compatible_ifd_matches_local(local_client):
    """/v1/completions with echo + logprobs on llama.cpp's server gives the same IFD as in-process."""
    with LlamaCppServer(smollm2_gguf_path()) as server:
        backend = make_backend(
            "openai_compatible",
            model=server.alias,
            base_url=server.base_url,
            chat_template=local_client.backend.chat_template,
        )
        remote, _ = ifd.score_pairs(LLMClient(backend), [DAYS[0], DAYS[0]], [DAYS[1], PHOTO[1]], "test")
    local, _ = ifd.score_pairs(local_client, [DAYS[0], DAYS[0]], [DAYS[1], PHOTO[1]], "test")
    assert remote[0].ifd < 1 < remote[1].ifd
    for a, b in zip(remote, local, strict=True):
        assert a.ifd == pytest.approx(b.ifd, rel=0.05)


class _NoLogprobsCompletions(http.server.BaseHTTPRequestHandler):
    """A /v1/completions server that ignores echo and logprobs, as some servers do."""

    def do_POST(self):  # noqa: N802 - stdlib name
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps(
            {
                "id": "cmpl-1",
                "object": "text_completion",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "text": "x", "finish_reason": "length", "logprobs": None}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_openai_compatible_server_without_prompt_logprobs_is_a_clear_error():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoLogprobsCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        backend = make_backend(
            "openai_compatible", model="m", base_url=f"http://127.0.0.1:{server.server_port}/v1"
        )
        expected = "no usable log-probabilities .* the ifd critic needs them.* or critic 'llm_judge'"
        with pytest.raises(LLMError, match=expected):
            ifd.score_pairs(LLMClient(backend), [DAYS[0]], [DAYS[1]], "test")
    finally:
        server.shutdown()
