"""The instruction lane's stages as plain functions over a client: generate, evolve, judge.

Each stage returns kept rows, rejected rows (with the reason; nothing is dropped silently) and
the LLM usage. Every row carries provenance: id, topic, persona, technique, backend, model,
template version, seed, parent id, round, created_at. All randomness is drawn from ``seed``, so
a partition re-run builds the same requests, which the response cache then answers for free.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

import pandas as pd

from synth_assets.instructions import critic, evol, generation
from synth_assets.instructions.filters import NearDuplicateFilter, rule_violation
from synth_assets.llm.types import LLMConfigError, LLMRequest, Usage

INSTRUCTION_MAX_TOKENS = 96
ANSWER_MAX_TOKENS = 256
JUDGE_MAX_TOKENS = 96
JUDGE_TOP_LOGPROBS = 5
ROW_COLUMNS = [
    "id",
    "topic",
    "persona",
    "technique",
    "instruction",
    "input",
    "response",
    "operator",
    "round",
    "parent_id",
    "backend",
    "model",
    "template_version",
    "seed",
    "created_at",
]


@dataclass
class StageOutput:
    kept: pd.DataFrame
    rejects: pd.DataFrame
    usage: Usage = field(default_factory=Usage)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _row_id(*parts) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def _frame(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=ROW_COLUMNS + list(extra))


def _backend_fields(client) -> dict:
    return {"backend": client.backend.name, "model": client.backend.model}


# -- stage 1: raw instructions ---------------------------------------------------------------------


def generate_raw(
    client,
    topics: list[str],
    personas: list[str],
    seed_tasks: list[dict],
    technique: str,
    per_topic: int,
    seed: int,
    rounds: int = 2,
    log=lambda m: None,
) -> StageOutput:
    """``per_topic`` candidate instructions per topic with ``technique``, filtered (Self-Instruct
    rules, ROUGE-L near-duplicates against seeds and kept ones). ``self_instruct`` runs in
    ``rounds`` rounds so later prompts can show instructions kept earlier."""
    if technique not in generation.TECHNIQUES:
        raise ValueError(f"technique must be one of {generation.TECHNIQUES}, got {technique!r}")
    backend = client.backend
    if technique == "magpie":
        if not backend.supports_raw_completion:
            raise LLMConfigError(
                f"magpie needs raw completion, which the {backend.name} backend does not "
                "offer; use backend 'local' or 'openai_compatible'"
            )
        if not getattr(backend, "chat_template", None):
            raise LLMConfigError(
                f"magpie needs the model's chat template; set chat_template for {backend.name}"
            )
    rng = random.Random(seed)
    seeds = [task["instruction"] for task in seed_tasks]
    dedupe = NearDuplicateFilter(seeds)
    kept, rejects, usage = [], [], Usage()
    plan = [(topic, i) for i in range(per_topic) for topic in topics]
    n_rounds = max(1, min(rounds, per_topic)) if technique == "self_instruct" else 1
    for round_no in range(n_rounds):
        chunk = plan[round_no::n_rounds]
        requests, meta = [], []
        for topic, i in chunk:
            persona = rng.choice(personas) if personas else None
            request = _generation_request(technique, topic, persona, seeds, kept, backend, rng, seed, i)
            requests.append(request)
            meta.append((topic, persona, i))
        responses, stage_usage = client.generate(requests, stage=f"raw_instructions[{technique}]")
        usage.add(stage_usage)
        for (topic, persona, i), response in zip(meta, responses, strict=True):
            instruction = generation.clean_instruction(response.text)
            row = {
                "id": _row_id(seed, technique, topic, i),
                "topic": topic,
                "persona": persona,
                "technique": technique,
                "instruction": instruction,
                "input": "",
                "response": None,
                "operator": None,
                "round": 0,
                "parent_id": None,
                "seed": seed,
                "template_version": generation.GENERATION_TEMPLATE_VERSION,
                "created_at": _now(),
                **_backend_fields(client),
            }
            reason = rule_violation(instruction) if instruction else "empty"
            reason = reason or dedupe.check_and_add(instruction)
            (rejects if reason else kept).append({**row, "reason": reason} if reason else row)
        log(
            f"raw_instructions: round {round_no + 1} of {n_rounds}: {len(kept)} kept, {len(rejects)} rejected"
        )
    return StageOutput(_frame(kept), _frame(rejects, ("reason",)).assign(stage="raw_instructions"), usage)


def _generation_request(technique, topic, persona, seeds, kept, backend, rng, seed, index) -> LLMRequest:
    params = dict(
        max_tokens=INSTRUCTION_MAX_TOKENS, temperature=1.0, top_p=0.95, sample_index=seed * 10_000 + index
    )
    if technique == "self_instruct":
        examples = rng.sample(seeds, k=min(2, len(seeds)))
        if kept:
            examples.append(rng.choice(kept)["instruction"])
        return LLMRequest.chat(generation.self_instruct_messages(topic, examples, persona), **params)
    if technique == "topic_prompt":
        return LLMRequest.chat(generation.topic_prompt_messages(topic, persona), **params)
    prefix = generation.pre_query_prefix(backend.chat_template, generation.magpie_system_prompt(topic))
    stop = generation.user_turn_end(backend.chat_template)
    return LLMRequest.completion(prefix, stop=(stop,) if stop else (), **params)


# -- stage 2: Evol-Instruct ------------------------------------------------------------------------


def evolve(
    client, raw: pd.DataFrame, rounds: int, operators: list[str], seed: int, log=lambda m: None
) -> StageOutput:
    """Evolve ``raw`` for ``rounds`` rounds, eliminate failed evolutions, answer every survivor
    (the round-0 originals included). Lineage: parent_id, operator, round."""
    unknown = set(operators) - set(evol.OPERATORS)
    if unknown or not operators:
        raise ValueError(f"operators must be a non-empty subset of {evol.OPERATORS}, got {operators}")
    rng = random.Random(seed)
    usage = Usage()
    rejects: list[dict] = []
    current = raw.to_dict("records")
    survivors = list(current)
    for round_no in range(1, rounds + 1):
        if not current:
            break
        picks = [rng.choice(operators) for _ in current]
        requests = [
            LLMRequest.chat(
                evol.evolve_messages(row["instruction"], op),
                max_tokens=INSTRUCTION_MAX_TOKENS,
                temperature=0.7,
                sample_index=round_no,
            )
            for row, op in zip(current, picks, strict=True)
        ]
        responses, stage_usage = client.generate(requests, stage=f"evolved_instructions[round {round_no}]")
        usage.add(stage_usage)
        evolved = []
        for parent, op, response in zip(current, picks, responses, strict=True):
            text = response.text.strip()
            row = {
                **parent,
                "id": _row_id(parent["id"], round_no, op),
                "instruction": text,
                "operator": op,
                "round": round_no,
                "parent_id": parent["id"],
                "response": None,
                "template_version": evol.EVOL_TEMPLATE_VERSION,
                "created_at": _now(),
                **_backend_fields(client),
            }
            reason = evol.instruction_elimination(text, parent["instruction"], op) or rule_violation(text)
            if reason:
                rejects.append({**row, "reason": reason})
            else:
                evolved.append(row)
        log(
            f"evolved_instructions: round {round_no} of {rounds}: "
            f"{len(evolved)} of {len(current)} evolutions kept"
        )
        survivors.extend(evolved)
        current = evolved
    answers, stage_usage = client.generate(
        [
            LLMRequest.chat(
                generation.answer_messages(row["instruction"]), max_tokens=ANSWER_MAX_TOKENS, temperature=0.7
            )
            for row in survivors
        ],
        stage="evolved_instructions[responses]",
    )
    usage.add(stage_usage)
    kept = []
    for row, answer in zip(survivors, answers, strict=True):
        row = {**row, "response": answer.text.strip()}
        reason = evol.response_elimination(row["response"])
        (rejects if reason else kept).append({**row, "reason": reason} if reason else row)
    log(f"evolved_instructions: {len(kept)} pairs kept, {len(rejects)} eliminated")
    return StageOutput(_frame(kept), _frame(rejects, ("reason",)).assign(stage="evolved_instructions"), usage)


# -- stage 3: critic -------------------------------------------------------------------------------


def judge(
    client, pairs: pd.DataFrame, threshold: float, use_logprobs: bool, log=lambda m: None
) -> StageOutput:
    """Score every pair 1-5 with the critic; keep those scoring >= ``threshold``. Unparseable
    verdicts are asked once more (a new sample), then rejected as ``unparseable``. With
    ``use_logprobs`` (backends that return them) the kept / rejected decision uses the
    probability-weighted score over the digits 1-5 where the verdict's digit was generated.
    Backends with raw completion and a known chat template get the judge prompt rendered with
    the answer already begun as ``{"score": ``, which small models otherwise rarely produce."""
    if use_logprobs and not client.backend.supports_logprobs:
        raise LLMConfigError(
            f"the {client.backend.name} backend returns no token logprobs; set use_logprobs false"
        )
    rows = pairs.to_dict("records")
    usage = Usage()
    verdicts: dict[int, tuple[int, str, float | None]] = {}
    pending = list(range(len(rows)))
    template = getattr(client.backend, "chat_template", None)
    prefill = client.backend.supports_raw_completion and bool(template)
    for attempt in range(2):
        if not pending:
            break
        params = dict(
            max_tokens=JUDGE_MAX_TOKENS,
            temperature=0.0 if attempt == 0 else 0.7,
            sample_index=attempt,
            top_logprobs=JUDGE_TOP_LOGPROBS if use_logprobs else 0,
        )
        requests = []
        for i in pending:
            messages = critic.judge_messages(rows[i]["instruction"], rows[i]["response"])
            if prefill:
                # Raw completion: the assistant turn starts with '{"score": ', so the very
                # next token is the digit (and its logprobs are the verdict's).
                prompt = generation.render_chat(template, messages) + critic.PREFILL
                stop = generation.user_turn_end(template)
                requests.append(LLMRequest.completion(prompt, stop=(stop,) if stop else (), **params))
            else:
                requests.append(LLMRequest.chat(messages, **params))
        responses, stage_usage = client.generate(
            requests, stage=f"critic_filtered_instructions[attempt {attempt + 1}]"
        )
        usage.add(stage_usage)
        retry = []
        for i, response in zip(pending, responses, strict=True):
            text = critic.PREFILL + response.text if prefill else response.text
            parsed = critic.parse_judgement(text)
            if parsed is None:
                retry.append(i)
                continue
            expected = None
            if use_logprobs and response.tokens and response.top_logprobs:
                position = critic.first_score_position(response.tokens)
                if position is not None:
                    expected = critic.expected_score(response.top_logprobs[position])
            verdicts[i] = (parsed[0], parsed[1], expected)
        pending = retry
    kept, rejects = [], []
    for i, row in enumerate(rows):
        if i not in verdicts:
            rejects.append(
                {
                    **row,
                    "judge_score": None,
                    "judge_score_expected": None,
                    "judge_reason": None,
                    "reason": "unparseable",
                }
            )
            continue
        score, reason, expected = verdicts[i]
        decisive = expected if (use_logprobs and expected is not None) else score
        row = {
            **row,
            "judge_score": score,
            "judge_score_expected": expected,
            "judge_reason": reason,
            "judge_template_version": critic.JUDGE_TEMPLATE_VERSION,
        }
        if decisive >= threshold:
            kept.append(row)
        else:
            rejects.append({**row, "reason": f"judge_score_below_threshold ({decisive:.2f} < {threshold})"})
    log(f"critic_filtered_instructions: {len(kept)} of {len(rows)} pairs kept (threshold {threshold})")
    judged = ("judge_score", "judge_score_expected", "judge_reason", "judge_template_version")
    return StageOutput(
        _frame(kept, judged),
        _frame(rejects, (*judged, "reason")).assign(stage="critic_filtered_instructions"),
        usage,
    )
