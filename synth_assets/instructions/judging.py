"""The critic stage: rule validators, then the configured critic(s), then the keep rules; and
the same critics scored on the calibration set, so every run shows whether they can judge.

Critics (``critic``):
- ``ifd``: Instruction-Following Difficulty from token log-likelihoods (:mod:`.ifd`). Keep rule:
  IFD < ``max_ifd`` (1: the instruction helps) and within the best ``keep_fraction`` of the
  pairs that reached the critic, ranked by :func:`.ifd.critic_score`.
- ``llm_judge``: a 1-5 verdict (:mod:`.critic`), constrained to JSON where the backend can;
  keep rule: score >= ``threshold`` (the probability-weighted score with ``use_logprobs``).
- ``both``: a pair must pass both.
Default: ``ifd`` on the local backend (a 135M model cannot judge 1-5; its IFD ranks well),
``llm_judge`` on remote backends.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synth_assets.instructions import critic, ifd
from synth_assets.instructions.pipeline import StageOutput, rows_frame
from synth_assets.instructions.validators import pair_problem
from synth_assets.llm.types import LLMConfigError, LLMRequest, Usage

CRITICS = ("ifd", "llm_judge", "both")
# the verdict's score is its first field, so the budget only bounds the one-sentence reason
JUDGE_MAX_TOKENS = 64
JUDGE_TOP_LOGPROBS = 5
JUDGED_COLUMNS = (
    "ifd",
    "ifd_loss_conditional",
    "ifd_loss_direct",
    "critic_score",
    "judge_score",
    "judge_score_expected",
    "judge_reason",
    "critic",
)


def default_critic(backend_name: str) -> str:
    return "ifd" if backend_name == "local" else "llm_judge"


def active_critics(kind: str) -> tuple[str, ...]:
    if kind not in CRITICS:
        raise LLMConfigError(f"critic must be one of {CRITICS}, got {kind!r}")
    return ("ifd", "llm_judge") if kind == "both" else (kind,)


def judge_verdicts(
    client,
    instructions,
    responses,
    use_logprobs: bool,
    stage: str,
    max_tokens: int = JUDGE_MAX_TOKENS,
    language: str | None = None,
):
    """1-5 verdicts: a list of (score, reason, expected score) or None where no verdict could
    be read after a second sample; the usage; and how many replies were unreadable.

    Requests carry the verdict's JSON schema (a llama.cpp grammar, an Anthropic tool input, an
    OpenAI response_format); the tolerant parser reads the reply either way."""
    if use_logprobs and not client.backend.supports_logprobs:
        raise LLMConfigError(
            f"the {client.backend.name} backend returns no token logprobs; set use_logprobs false"
        )
    usage, unreadable = Usage(), 0
    verdicts: dict[int, tuple[int, str, float | None]] = {}
    pending = list(range(len(instructions)))
    for attempt in range(2):
        if not pending:
            break
        requests = [
            LLMRequest.chat(
                critic.judge_messages(instructions[i], responses[i], language),
                max_tokens=max_tokens,
                temperature=0.0 if attempt == 0 else 0.7,
                sample_index=attempt,
                top_logprobs=JUDGE_TOP_LOGPROBS if use_logprobs else 0,
                json_schema=critic.VERDICT_SCHEMA,
            )
            for i in pending
        ]
        answers, stage_usage = client.generate(requests, stage=f"{stage}[attempt {attempt + 1}]")
        usage.add(stage_usage)
        retry = []
        for i, answer in zip(pending, answers, strict=True):
            parsed = critic.parse_judgement(answer.text)
            if parsed is None:
                unreadable += 1
                retry.append(i)
                continue
            expected = None
            if use_logprobs and answer.tokens and answer.top_logprobs:
                position = critic.first_score_position(answer.tokens)
                if position is not None:
                    expected = critic.expected_score(answer.top_logprobs[position])
            verdicts[i] = (parsed[0], parsed[1], expected)
        pending = retry
    return [verdicts.get(i) for i in range(len(instructions))], usage, unreadable


def _keep_by_ifd(scores: list[ifd.IFDScore], keep_fraction: float, max_ifd: float) -> list[str | None]:
    """Reject reason per pair (None: kept) under the IFD keep rule."""
    if not 0 < keep_fraction <= 1:
        raise LLMConfigError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    order = np.argsort([-ifd.critic_score(s.ifd) for s in scores], kind="stable")
    n_best = math.ceil(keep_fraction * len(scores))
    rank = np.empty(len(scores), dtype=int)
    rank[order] = np.arange(len(scores))
    reasons = []
    for score, position in zip(scores, rank, strict=True):
        if not score.ifd < max_ifd:
            reasons.append(f"ifd_not_below_{max_ifd:g} ({score.ifd:.3f})")
        elif position >= n_best:
            reasons.append(f"ifd_outside_best_fraction ({score.ifd:.3f}; best {keep_fraction:.0%})")
        else:
            reasons.append(None)
    return reasons


REWRITES = {"answer_augmentation": "augmented_answer", "constitutional_revision": "constitutional_revision"}


def resolve_augmented(kept: list[dict], rejects: list[dict]) -> None:
    """Answer augmentation and constitutional revision: a rewritten answer stays only where the
    critic scores it above the original (same instruction); then it replaces the original. A
    pair with several rewrites keeps the best-scored one. In place."""
    by_id = {row["id"]: row for row in kept}
    rewrites = [r for r in kept if r.get("operator") in REWRITES]
    rewrites.sort(key=lambda r: r["critic_score"], reverse=True)
    replaced: dict[str, str] = {}  # original id -> id of the rewrite that replaced it
    for row in rewrites:
        parent = by_id.get(row["parent_id"])
        if (
            parent is not None
            and parent["id"] not in replaced
            and row["critic_score"] > parent["critic_score"]
        ):
            kept.remove(parent)
            replaced[parent["id"]] = row["id"]
            rejects.append({**parent, "reason": f"replaced_by_{REWRITES[row['operator']]} ({row['id']})"})
            continue
        kept.remove(row)
        if parent is None:
            why = "original rejected"
        elif parent["id"] in replaced:
            why = f"a better-scored rewrite replaced it: {replaced[parent['id']]}"
        else:
            why = f"{parent['critic_score']:.3f} >= {row['critic_score']:.3f}"
        rejects.append({**row, "reason": f"critic_prefers_original ({why})"})


def judge(
    client,
    pairs: pd.DataFrame,
    critic_kind: str,
    threshold: float = 4.0,
    keep_fraction: float = 0.8,
    max_ifd: float = 1.0,
    use_logprobs: bool = False,
    language: str | None = None,
    calibration: pd.DataFrame | None = None,
    log=lambda m: None,
) -> StageOutput:
    """Validate, score and keep ``pairs``; score ``calibration`` (if given) with the same critics.

    Every row leaving this stage has the critic's columns (IFD parts, ``critic_score``, judge
    score and reason) and, if rejected, its ``reason``."""
    critics = active_critics(critic_kind)
    rows = pairs.to_dict("records")
    rejects, valid = [], []
    for row in rows:
        finish = row.get("finish_reason")
        reason = pair_problem(
            str(row["instruction"]),
            str(row["response"]),
            finish_reason=finish if isinstance(finish, str) else None,
            language=language,
        )
        if reason:
            rejects.append({**row, "reason": f"validator:{reason}"})
        else:
            valid.append({**row, "critic": critic_kind})
    log(f"critic_filtered_instructions: {len(valid)} of {len(rows)} pairs pass the rule validators")
    usage, unreadable = Usage(), 0
    instructions = [str(r["instruction"]) for r in valid]
    responses = [str(r["response"]) for r in valid]
    decisions: list[list[str | None]] = []
    if "ifd" in critics and valid:
        scores, stage_usage = ifd.score_pairs(
            client, instructions, responses, "critic_filtered_instructions[ifd]"
        )
        usage.add(stage_usage)
        for row, score in zip(valid, scores, strict=True):
            row.update(
                ifd=score.ifd,
                ifd_loss_conditional=score.loss_conditional,
                ifd_loss_direct=score.loss_direct,
                critic_score=ifd.critic_score(score.ifd),
            )
        decisions.append(_keep_by_ifd(scores, keep_fraction, max_ifd))
    if "llm_judge" in critics and valid:
        # the pairs' language goes to the judge; the shipped calibration set is English and is
        # judged without it
        verdicts, stage_usage, bad = judge_verdicts(
            client,
            instructions,
            responses,
            use_logprobs,
            "critic_filtered_instructions[judge]",
            language=language,
        )
        usage.add(stage_usage)
        unreadable += bad
        judge_reasons = []
        for row, verdict in zip(valid, verdicts, strict=True):
            if verdict is None:
                judge_reasons.append("unparseable")
                continue
            score, why, expected = verdict
            decisive = expected if (use_logprobs and expected is not None) else score
            row.update(judge_score=score, judge_score_expected=expected, judge_reason=why)
            if "ifd" not in critics:
                row["critic_score"] = float(decisive)
            judge_reasons.append(
                None
                if decisive >= threshold
                else f"judge_score_below_threshold ({decisive:.2f} < {threshold})"
            )
        decisions.append(judge_reasons)
    kept = []
    for i, row in enumerate(valid):
        reason = next((d[i] for d in decisions if d[i]), None)
        (rejects if reason else kept).append({**row, "reason": reason} if reason else row)
    resolve_augmented(kept, rejects)
    log(f"critic_filtered_instructions: {len(kept)} of {len(rows)} pairs kept ({critic_kind})")
    scored = None
    if calibration is not None:
        scored, stage_usage, bad = score_calibration(client, calibration, critics, use_logprobs, log)
        usage.add(stage_usage)
        unreadable += bad
    return StageOutput(
        rows_frame(kept, JUDGED_COLUMNS),
        rows_frame(rejects, (*JUDGED_COLUMNS, "reason")).assign(stage="critic_filtered_instructions"),
        usage,
        unreadable,
        scored,
    )


def score_calibration(
    client,
    calibration: pd.DataFrame,
    critics,
    use_logprobs: bool,
    log,
    judge_max_tokens: int = JUDGE_MAX_TOKENS,
):
    """The calibration set scored by each critic: one row per (pair, critic) with ``score``
    (higher = judged better; NaN where no verdict could be read)."""
    instructions = calibration["instruction"].astype(str).tolist()
    responses = calibration["response"].astype(str).tolist()
    usage, unreadable, frames = Usage(), 0, []
    for name in critics:
        log(f"critic_filtered_instructions: calibrating {name} on {len(calibration)} pairs")
        if name == "ifd":
            scores, stage_usage = ifd.score_pairs(client, instructions, responses, "calibration[ifd]")
            values = [ifd.critic_score(s.ifd) for s in scores]
            extra = {"ifd": [s.ifd for s in scores]}
        else:
            verdicts, stage_usage, bad = judge_verdicts(
                client, instructions, responses, use_logprobs, "calibration[judge]", judge_max_tokens
            )
            unreadable += bad
            values = [
                np.nan if v is None else float(v[2] if use_logprobs and v[2] is not None else v[0])
                for v in verdicts
            ]
            extra = {"ifd": np.nan}
        usage.add(stage_usage)
        frames.append(calibration.assign(critic=name, score=values, **extra))
    scored = pd.concat(frames, ignore_index=True)
    log(f"critic_filtered_instructions: scored {len(scored)} calibration rows; critic_validity judges them")
    return scored, usage, unreadable
