"""The instruction lane's generation stages as plain functions over a client: generate and
evolve (the critic stage is :mod:`synth_assets.instructions.judging`).

Each stage returns kept rows, rejected rows (with the reason; nothing is dropped silently), the
LLM usage and how many replies could not be read. Every row carries provenance: id, topic,
persona, technique, backend, model, template version, seed, parent id, round, created_at, and
where the response came from (``response_origin`` human or model, ``source_doc``). All
randomness is drawn from ``seed``, so a partition re-run builds the same requests, which the
response cache then answers for free.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

import pandas as pd

from synth_assets.instructions import constitution as constitution_prompts
from synth_assets.instructions import evol, generation
from synth_assets.instructions.constitution import Constitution
from synth_assets.instructions.dedup import NearDuplicateIndex
from synth_assets.instructions.filters import rule_violation
from synth_assets.instructions.validators import instruction_problem
from synth_assets.llm.types import LLMConfigError, LLMRequest, Usage

INSTRUCTION_MAX_TOKENS = 96
ANSWER_MAX_TOKENS = 256
CRITIQUE_MAX_TOKENS = 128
BACKTRANSLATION_EXAMPLES = 2
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
    "response_origin",
    "source_doc",
    "corpus",
    "corpus_license",
    "finish_reason",
    "principle_id",  # constitutional revision: the principle the critique applied
    "critique",
]


@dataclass
class StageOutput:
    kept: pd.DataFrame
    rejects: pd.DataFrame
    usage: Usage = field(default_factory=Usage)
    parse_failures: int = 0  # replies from which no instruction / verdict could be read
    calibration: pd.DataFrame | None = None  # the critic stage's scores of the calibration set


def _when(response) -> str | None:
    """When the LLM response that made a row arrived (kept by the cache, so rebuilding from the
    cache gives the same rows, byte for byte)."""
    if response.received_at is None:
        return None
    return dt.datetime.fromtimestamp(response.received_at, dt.UTC).isoformat(timespec="seconds")


def _row_id(*parts) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def rows_frame(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=ROW_COLUMNS + list(extra))


def _backend_fields(client) -> dict:
    return {"backend": client.backend.name, "model": client.backend.model}


def _new_row(client, **fields) -> dict:
    """A round-0 row of raw_instructions: every provenance column, ``fields`` over the defaults."""
    return {
        **dict.fromkeys(ROW_COLUMNS),
        "input": "",
        "round": 0,
        "template_version": generation.GENERATION_TEMPLATE_VERSION,
        **_backend_fields(client),
        **fields,
    }


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
    chunks: pd.DataFrame | None = None,
    language: str | None = None,
) -> StageOutput:
    """Candidate instructions with ``technique``, filtered (not a task or question, Self-Instruct
    rules, ROUGE-L near-duplicates against seeds and kept ones).

    ``backtranslation``: one instruction per corpus chunk in ``chunks`` (columns chunk_id, doc,
    text; optional subject, corpus, corpus_license), the chunk being the pair's human-written
    response. Otherwise ``per_topic``
    instructions per topic; ``self_instruct`` runs in ``rounds`` rounds so later prompts can show
    instructions kept earlier. ``language``: the ISO 639-1 code every template asks for (None or
    ``en``: the English prompts)."""
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
    if technique == "backtranslation":
        if chunks is None or chunks.empty:
            raise ValueError("backtranslation needs corpus chunks (the seed_corpus asset)")
        return _backtranslate(client, chunks, seed_tasks, seed, log, language)
    rng = random.Random(seed)
    seeds = [task["instruction"] for task in seed_tasks]
    dedupe = NearDuplicateIndex(seeds)
    kept, rejects, usage, unreadable = [], [], Usage(), 0
    plan = [(topic, i) for i in range(per_topic) for topic in topics]
    n_rounds = max(1, min(rounds, per_topic)) if technique == "self_instruct" else 1
    for round_no in range(n_rounds):
        chunk = plan[round_no::n_rounds]
        requests, meta = [], []
        for topic, i in chunk:
            persona = rng.choice(personas) if personas else None
            request = _generation_request(
                technique, topic, persona, seeds, kept, backend, rng, seed, i, language
            )
            requests.append(request)
            meta.append((topic, persona, i))
        responses, stage_usage = client.generate(requests, stage=f"raw_instructions[{technique}]")
        usage.add(stage_usage)
        for (topic, persona, i), response in zip(meta, responses, strict=True):
            if technique == "magpie":  # the model writes the user turn itself: free text
                instruction = generation.clean_instruction(response.text)
            else:
                instruction, _ = generation.read_instruction(response.text)
            unreadable += not instruction
            row = _new_row(
                client,
                id=_row_id(seed, technique, topic, i),
                topic=topic,
                persona=persona,
                technique=technique,
                instruction=instruction,
                seed=seed,
                created_at=_when(response),
            )
            reason = _instruction_reason(instruction, response.finish_reason, True, language)
            reason = reason or dedupe.check_and_add(instruction)
            (rejects if reason else kept).append({**row, "reason": reason} if reason else row)
        log(
            f"raw_instructions: round {round_no + 1} of {n_rounds}: {len(kept)} kept, {len(rejects)} rejected"
        )
    return _raw_output(kept, rejects, usage, unreadable)


def _raw_output(kept, rejects, usage, unreadable) -> StageOutput:
    return StageOutput(
        rows_frame(kept), rows_frame(rejects, ("reason",)).assign(stage="raw_instructions"), usage, unreadable
    )


def _instruction_reason(
    instruction: str, finish_reason: str | None, blacklist: bool, language: str | None = None
) -> str | None:
    """Why a generated instruction is rejected before it meets a response, or None."""
    if not instruction:
        return "unparseable"
    if finish_reason == "length":
        return "cut_off"
    return instruction_problem(instruction, language) or rule_violation(instruction, blacklist, language)


def _backtranslate(
    client, chunks: pd.DataFrame, seed_tasks: list[dict], seed: int, log, language: str | None = None
) -> StageOutput:
    """Instruction back-translation: the model writes the instruction each chunk answers,
    shown ``BACKTRANSLATION_EXAMPLES`` human seed pairs (answer -> instruction) first. The
    examples are drawn once per partition, so every prompt of the day shares its prefix (which
    llama.cpp then evaluates once). A ``subject`` column (the documented object of a
    docstring) is shown beside its chunk, after documentation examples that name theirs."""
    rng = random.Random(seed)
    pool = [(task["output"], None, task["instruction"]) for task in seed_tasks if task.get("output")]
    if "subject" in chunks.columns:
        examples = list(generation.DOCUMENTATION_EXAMPLES)
    elif pool:
        examples = rng.sample(pool, k=min(BACKTRANSLATION_EXAMPLES, len(pool)))
    else:
        raise ValueError("backtranslation needs seed tasks with outputs (the few-shot examples)")
    chunk_rows = chunks.to_dict("records")
    requests = [
        LLMRequest.chat(
            generation.backtranslation_messages(chunk["text"], examples, chunk.get("subject"), language),
            max_tokens=INSTRUCTION_MAX_TOKENS,
            temperature=0.7,
            top_p=0.95,
            sample_index=seed,
            json_schema=generation.instruction_schema(language),
        )
        for chunk in chunk_rows
    ]
    log(f"raw_instructions: back-translating {len(requests)} corpus chunks")
    responses, usage = client.generate(requests, stage="raw_instructions[backtranslation]")
    dedupe = NearDuplicateIndex([task["instruction"] for task in seed_tasks])
    kept, rejects, unreadable = [], [], 0
    for chunk, response in zip(chunk_rows, responses, strict=True):
        instruction, _ = generation.read_instruction(response.text)
        unreadable += not instruction
        row = _new_row(
            client,
            id=_row_id(seed, "backtranslation", chunk["chunk_id"]),
            topic=str(chunk["doc"]).split(":")[0],
            technique="backtranslation",
            instruction=instruction,
            created_at=_when(response),
            response=chunk["text"],
            seed=seed,
            response_origin="human",
            source_doc=chunk["doc"],
            corpus=chunk.get("corpus"),
            corpus_license=chunk.get("corpus_license"),
        )
        # the corpus decides the subject: files, maps or plots are fine to ask about here
        reason = _instruction_reason(instruction, response.finish_reason, False, language)
        reason = reason or dedupe.check_and_add(instruction)
        (rejects if reason else kept).append({**row, "reason": reason} if reason else row)
    log(f"raw_instructions: {len(kept)} of {len(chunk_rows)} back-translated instructions kept")
    return _raw_output(kept, rejects, usage, unreadable)


def _generation_request(
    technique, topic, persona, seeds, kept, backend, rng, seed, index, language=None
) -> LLMRequest:
    params = dict(
        max_tokens=INSTRUCTION_MAX_TOKENS, temperature=1.0, top_p=0.95, sample_index=seed * 10_000 + index
    )
    if technique == "self_instruct":
        examples = rng.sample(seeds, k=min(2, len(seeds)))
        if kept:
            examples.append(rng.choice(kept)["instruction"])
        return LLMRequest.chat(
            generation.self_instruct_messages(topic, examples, persona, language),
            json_schema=generation.instruction_schema(language),
            **params,
        )
    if technique == "topic_prompt":
        return LLMRequest.chat(
            generation.topic_prompt_messages(topic, persona, language),
            json_schema=generation.instruction_schema(language),
            **params,
        )
    prefix = generation.pre_query_prefix(
        backend.chat_template, generation.magpie_system_prompt(topic, language)
    )
    stop = generation.user_turn_end(backend.chat_template)
    return LLMRequest.completion(prefix, stop=(stop,) if stop else (), **params)


# -- stage 2: Evol-Instruct ------------------------------------------------------------------------


def evolve(
    client,
    raw: pd.DataFrame,
    rounds: int,
    operators: list[str],
    seed: int,
    log=lambda m: None,
    answer_augmentation: bool = False,
    language: str | None = None,
    constitution: Constitution | None = None,
) -> StageOutput:
    """Evolve ``raw`` for ``rounds`` rounds (0: none), eliminate failed evolutions, answer every
    survivor that has no response yet (back-translated pairs keep their human one). Lineage:
    parent_id, operator, round.

    ``answer_augmentation``: every human response also gets a model rewrite, as a row with
    operator ``answer_augmentation`` and the original as parent; the critic keeps it only where
    it prefers it to the original (:func:`synth_assets.instructions.judging.resolve_augmented`)."""
    unknown = set(operators) - set(evol.OPERATORS)
    if unknown or not operators:
        raise ValueError(f"operators must be a non-empty subset of {evol.OPERATORS}, got {operators}")
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    rng = random.Random(seed)
    usage, unreadable = Usage(), 0
    rejects: list[dict] = []
    current = raw.to_dict("records")
    survivors = list(current)
    for round_no in range(1, rounds + 1):
        if not current:
            break
        picks = [rng.choice(operators) for _ in current]
        requests = [
            LLMRequest.chat(
                evol.evolve_messages(row["instruction"], op, language),
                max_tokens=INSTRUCTION_MAX_TOKENS,
                temperature=0.7,
                sample_index=round_no,
                json_schema=generation.instruction_schema(language),
            )
            for row, op in zip(current, picks, strict=True)
        ]
        responses, stage_usage = client.generate(requests, stage=f"evolved_instructions[round {round_no}]")
        usage.add(stage_usage)
        evolved = []
        for parent, op, response in zip(current, picks, responses, strict=True):
            text, _ = generation.read_instruction(response.text)
            unreadable += not text
            row = {
                **parent,
                "id": _row_id(parent["id"], round_no, op),
                "instruction": text,
                "operator": op,
                "round": round_no,
                "parent_id": parent["id"],
                "response": None,
                "response_origin": None,
                "finish_reason": None,
                "template_version": evol.EVOL_TEMPLATE_VERSION,
                "created_at": _when(response),
                **_backend_fields(client),
            }
            reason = (
                ("unparseable" if not text else None)
                or evol.instruction_elimination(text, parent["instruction"], op)
                or rule_violation(text, parent["technique"] != "backtranslation", language)
            )
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
    unanswered = [row for row in survivors if not isinstance(row.get("response"), str)]
    answer_requests = [
        LLMRequest.chat(
            generation.answer_messages(row["instruction"], language),
            max_tokens=ANSWER_MAX_TOKENS,
            temperature=0.7,
        )
        for row in unanswered
    ]
    augmented = []
    if answer_augmentation:
        for row in survivors:
            if row.get("response_origin") == "human":
                augmented.append(
                    {
                        **row,
                        "id": _row_id(row["id"], "answer_augmentation"),
                        "operator": "answer_augmentation",
                        "parent_id": row["id"],
                        "template_version": generation.GENERATION_TEMPLATE_VERSION,
                        **_backend_fields(client),
                    }
                )
        answer_requests += [
            LLMRequest.chat(
                generation.augmentation_messages(row["instruction"], row["response"], language),
                max_tokens=ANSWER_MAX_TOKENS,
                temperature=0.7,
            )
            for row in augmented
        ]
    answers: list = []
    if answer_requests:
        answers, stage_usage = client.generate(answer_requests, stage="evolved_instructions[responses]")
        usage.add(stage_usage)
    for row, answer in zip(unanswered + augmented, answers, strict=True):
        row.update(
            response=answer.text.strip(),
            response_origin="model",
            finish_reason=answer.finish_reason,
            created_at=_when(answer),
        )
    kept = []
    for row in survivors + augmented:
        reason = evol.response_elimination(row["response"])
        (rejects if reason else kept).append({**row, "reason": reason} if reason else row)
    revised = []
    if constitution is not None:
        originals = [row for row in kept if row.get("operator") != "answer_augmentation"]
        revised, stage_usage = constitutional_revision(client, originals, constitution, seed, language, log)
        usage.add(stage_usage)
        for row in revised:
            reason = evol.response_elimination(row["response"])
            (rejects if reason else kept).append({**row, "reason": reason} if reason else row)
    log(
        f"evolved_instructions: {len(kept)} pairs kept ({len(augmented)} augmented answers, "
        f"{len(revised)} constitutional revisions), {len(rejects)} eliminated"
    )
    return StageOutput(
        rows_frame(kept),
        rows_frame(rejects, ("reason",)).assign(stage="evolved_instructions"),
        usage,
        unreadable,
    )


# -- constitution-guided revision ------------------------------------------------------------------


def constitutional_revision(
    client,
    rows: list[dict],
    constitution: Constitution,
    seed: int,
    language: str | None = None,
    log=lambda m: None,
) -> tuple[list[dict], Usage]:
    """For each pair in ``rows``: a critique against a principle drawn from ``constitution``
    (seeded per pair), then a revision. Returns the revisions as new rows (operator
    ``constitutional_revision``, the pair as parent, ``principle_id`` and ``critique``), which the
    critic keeps only where it prefers them to their parent."""
    usage = Usage()
    if not rows:
        return [], usage
    principles = [
        constitution.principles[random.Random(f"{seed}:{row['id']}").randrange(len(constitution.principles))]
        for row in rows
    ]
    log(f"evolved_instructions: critiquing {len(rows)} pairs against constitution v{constitution.version}")
    critiques, stage_usage = client.generate(
        [
            LLMRequest.chat(
                constitution_prompts.critique_messages(row["instruction"], row["response"], p, language),
                max_tokens=CRITIQUE_MAX_TOKENS,
                temperature=0.0,
            )
            for row, p in zip(rows, principles, strict=True)
        ],
        stage="evolved_instructions[critique]",
    )
    usage.add(stage_usage)
    revisions, stage_usage = client.generate(
        [
            LLMRequest.chat(
                constitution_prompts.revision_messages(
                    row["instruction"], row["response"], p, c.text.strip(), language
                ),
                max_tokens=ANSWER_MAX_TOKENS,
                temperature=0.7,
            )
            for row, p, c in zip(rows, principles, critiques, strict=True)
        ],
        stage="evolved_instructions[revision]",
    )
    usage.add(stage_usage)
    out = []
    for row, principle, critique, revision in zip(rows, principles, critiques, revisions, strict=True):
        out.append(
            {
                **row,
                "id": _row_id(row["id"], constitution_prompts.OPERATOR, constitution.version),
                "operator": constitution_prompts.OPERATOR,
                "parent_id": row["id"],
                "response": revision.text.strip(),
                "response_origin": "model",
                "finish_reason": revision.finish_reason,
                "principle_id": f"{principle.id}@v{constitution.version}",
                "critique": critique.text.strip(),
                "template_version": constitution_prompts.CONSTITUTION_TEMPLATE_VERSION,
                "created_at": _when(revision),
                **_backend_fields(client),
            }
        )
    return out, usage
