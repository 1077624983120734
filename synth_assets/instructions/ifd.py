"""Instruction-Following Difficulty (IFD): a critic a small model can be.

IFD (docs/metrics.md, "IFD"; Li et al., "From Quantity to Quality", NAACL 2024;
Superfiltering, ACL 2024) is the mean token loss of the response given the instruction divided
by the mean token loss of the response alone, both from the same model's token log-likelihoods and
over the response tokens only:

    IFD = mean NLL(response | instruction) / mean NLL(response)

Below 1 the instruction helps to predict the response; at or above 1 the pair does not fit
(a response swapped in from another pair, off-topic text, a canned refusal). Superfiltering
showed that a 124M GPT-2 ranks pairs by IFD much as a 7B model does, so the 135M embedded model
can serve where it cannot serve as a 1-5 judge.

Prompts: with a chat template the conditional context is the chat-formatted user turn and the
response is the assistant's reply; the direct context is the assistant turn alone. Without a
template (a base model behind an OpenAI-compatible server) a plain ``Instruction: / Response:``
layout is used instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from synth_assets.instructions.generation import render_chat
from synth_assets.llm.types import LLMConfigError, LLMRequest, Usage

IFD_VERSION = "ifd-v1"
PLAIN_INSTRUCTION = "Instruction: {instruction}\nResponse: "
PLAIN_DIRECT = "Response: "


@dataclass(frozen=True)
class IFDScore:
    ifd: float
    loss_conditional: float  # mean NLL of the response tokens given the instruction
    loss_direct: float  # mean NLL of the response tokens alone
    n_tokens: int


def contexts(instruction: str, chat_template: str | None) -> tuple[str, str]:
    """(conditional context, direct context) that the response is scored after."""
    if chat_template:
        return (
            render_chat(chat_template, [{"role": "user", "content": instruction}]),
            render_chat(chat_template, []),
        )
    return PLAIN_INSTRUCTION.format(instruction=instruction), PLAIN_DIRECT


def ifd_from_logprobs(conditional: list[float], direct: list[float]) -> IFDScore:
    """IFD from the response tokens' log-probabilities in both contexts."""
    if not conditional or not direct:
        raise ValueError("IFD needs at least one response token in each context")
    loss_c = -sum(conditional) / len(conditional)
    loss_d = -sum(direct) / len(direct)
    ifd = loss_c / loss_d if loss_d > 0 else math.inf
    return IFDScore(ifd=ifd, loss_conditional=loss_c, loss_direct=loss_d, n_tokens=len(conditional))


def critic_score(ifd: float) -> float:
    """One sortable critic score from IFD (higher = keep first), the ordering of the keep rule:
    pairs whose instruction helps (IFD < 1) rank above every pair that does not fit, and among
    those the higher IFD ranks first, as Cherry LLM and Superfiltering select (the response
    carries more than the instruction gives away; a response that only restates its
    instruction has an IFD near 0). Pairs with IFD >= 1 score -IFD: the worse the fit, the
    lower."""
    if not math.isfinite(ifd):
        return -math.inf
    return ifd if ifd < 1 else -ifd


def score_pairs(
    client, instructions: list[str], responses: list[str], stage: str
) -> tuple[list[IFDScore], Usage]:
    """IFD of every (instruction, response), two scoring requests per pair through the
    client (cached, retried, progress-logged like every other call)."""
    backend = client.backend
    if not getattr(backend, "supports_logprobs", False):
        raise LLMConfigError(
            f"the {backend.name} backend returns no token log-probabilities, which the ifd critic "
            "needs; set critic: llm_judge for this backend"
        )
    template = getattr(backend, "chat_template", None)
    pairs = [(contexts(i, template), r) for i, r in zip(instructions, responses, strict=True)]
    # all conditional passes, then all direct ones: neighbours share their chat prefix
    requests = [LLMRequest.score(cond, response) for (cond, _), response in pairs]
    requests += [LLMRequest.score(direct, response) for (_, direct), response in pairs]
    answers, usage = client.generate(requests, stage=stage)
    n = len(pairs)
    scores = [
        ifd_from_logprobs(answers[i].token_logprobs or [], answers[n + i].token_logprobs or [])
        for i in range(n)
    ]
    return scores, usage


def as_frame(scores: list[IFDScore]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ifd": [s.ifd for s in scores],
            "ifd_loss_conditional": [s.loss_conditional for s in scores],
            "ifd_loss_direct": [s.loss_direct for s in scores],
            "ifd_tokens": [s.n_tokens for s in scores],
            "critic_score": [critic_score(s.ifd) for s in scores],
        }
    )
