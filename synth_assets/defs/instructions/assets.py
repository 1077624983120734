"""Instruction lane: seed_corpus + seed_topics -> raw_instructions -> evolved_instructions ->
critic_filtered_instructions, daily partitioned (the partition key seeds all randomness)."""

from dagster import (
    AssetExecutionContext,
    Backoff,
    Config,
    MetadataValue,
    RetryPolicy,
    asset,
)
from pydantic import Field

from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.llm_resource import LLMResource
from synth_assets.defs.partitions import daily_partitions, partition_seed
from synth_assets.defs.ui import settings, summary, table, tag_run
from synth_assets.defs.versions import code_version
from synth_assets.instructions import evol, judging, pipeline
from synth_assets.instructions.calibration import CALIBRATION_VERSION, calibration_set
from synth_assets.instructions.constitution import load_constitution
from synth_assets.instructions.corpus import CORPUS_VERSION, CorpusSpec, load_corpus, sample_chunks
from synth_assets.instructions.datasets import Corpus, InstructionSet, SeedTopics, load_seed_topics
from synth_assets.instructions.generation import TECHNIQUES
from synth_assets.instructions.languages import is_english, normalise

GROUP = "instructions"
LLM_POOL = "llm"
CELERY_QUEUE_TAG = "dagster-celery/queue"
# Requests are retried inside the client; this covers a step that dies (OOM, lost worker).
# Responses are cached, so a retried step pays only for what it had not received.
llm_retry = RetryPolicy(max_retries=1, delay=10, backoff=Backoff.EXPONENTIAL)


def _usage_metadata(client, usage, parse_failures: int = 0) -> dict:
    return {
        "parse_failures": parse_failures,
        "llm_requests_total": usage.requests_total,
        "llm_calls_new": usage.calls_new,
        "llm_cache_hits": usage.cache_hits,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "estimated_cost_usd": MetadataValue.float(round(usage.estimated_cost_usd, 6)),
        "llm_retries": usage.retries,
        "backend": client.backend.name,
        "model": client.backend.model,
    }


def _reasons(rejects) -> MetadataValue:
    if rejects.empty:
        return MetadataValue.json({})
    counts = rejects["reason"].str.split(" ").str[0].value_counts()
    return MetadataValue.json({k: int(v) for k, v in counts.items()})


def _preview(frame, columns) -> MetadataValue:
    if frame.empty:
        return MetadataValue.text("(no rows)")
    return table(frame[[c for c in columns if c in frame]], 5)


class SeedTopicsConfig(Config):
    topics_path: str | None = Field(default=None, description="YAML with version, topics, personas.")
    seed_tasks_path: str | None = Field(default=None, description="JSONL of human-written seed tasks.")


def llm_stage(name: str):
    """The decorator of an LLM-bound stage: daily partitions, the llm pool (and Celery queue),
    the LLM retry policy."""
    return asset(
        code_version=code_version(name),
        group_name=GROUP,
        partitions_def=daily_partitions,
        pool=LLM_POOL,
        retry_policy=llm_retry,
        kinds={"llm"},
        # on the Celery executor (synth_assets.distributed) these steps go to the llm queue
        op_tags={CELERY_QUEUE_TAG: LLM_POOL},
    )


def lane_language(instructions: InstructionSet) -> str:
    """The language raw_instructions was asked for (English for sets stored before it was kept)."""
    return normalise(instructions.meta.get("language"))


@asset(code_version=code_version("seed_topics"), group_name=GROUP, kinds={"yaml"})
def seed_topics(context: AssetExecutionContext, config: SeedTopicsConfig) -> SeedTopics:
    """Topics and personas from a versioned YAML file, and the human-written seed task pool
    (few-shot examples now, the real anchor of the mix later)."""
    seeds = load_seed_topics(config.topics_path, config.seed_tasks_path)
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(seeds.topics)} topics, {len(seeds.personas)} personas and {len(seeds.seed_tasks)} "
                f"human seed tasks (version {seeds.version})"
            ),
            "version": seeds.version,
            "n_topics": len(seeds.topics),
            "n_personas": len(seeds.personas),
            "n_seed_tasks": len(seeds.seed_tasks),
            "source": seeds.source,
        }
    )
    return seeds


class SeedCorpusConfig(Config):
    kind: str = Field(
        default="python_docs",
        description="python_docs (the standard library's docstrings, offline) | folder | jsonl | parquet.",
    )
    path: str | None = Field(default=None, description="Folder of .md/.txt, a .jsonl or a .parquet file.")
    field: str = Field(default="text", description="JSONL field or Parquet column with the text.")
    min_chars: int = Field(default=200, description="Shortest chunk kept.")
    max_chars: int = Field(default=1000, description="Longer paragraphs are split at sentences.")
    max_chunks: int = Field(default=20_000, description="Pool cap (a seeded reservoir sample beyond).")
    license: str | None = Field(default=None, description="Licence note for your corpus' dataset card.")


@asset(code_version=code_version("seed_corpus"), group_name=GROUP, kinds={"pandas"})
def seed_corpus(context: AssetExecutionContext, config: SeedCorpusConfig) -> Corpus:
    """Human-written text chunks, deduplicated and length-bounded: the responses of
    back-translated pairs (each day samples its own from this pool)."""
    spec = CorpusSpec(
        kind=config.kind,
        path=config.path,
        field=config.field,
        min_chars=config.min_chars,
        max_chars=config.max_chars,
        max_chunks=config.max_chunks,
        license=config.license,
    )
    with settings_errors_are_final():
        chunks = load_corpus(spec, log=context.log.info)
    facts = {
        "kind": spec.kind,
        "source": spec.path or spec.kind,
        "license": spec.license or "",  # python_docs: the PSF licence, filled in by CorpusSpec
        "version": CORPUS_VERSION,
    }
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(chunks)} chunks from {chunks['doc'].nunique()} documents of {facts['source']}"
                + (f" ({facts['license']})" if facts["license"] else "")
            ),
            "preview": table(chunks[["doc", "text"]], 5),
            **facts,
            "n_chunks": len(chunks),
            "n_docs": int(chunks["doc"].nunique()),
            "median_chars": MetadataValue.float(float(chunks["n_chars"].median())),
            "dagster/row_count": len(chunks),
        }
    )
    return Corpus(chunks, facts)


class RawInstructionsConfig(Config):
    technique: str = Field(default="backtranslation", description=f"One of {TECHNIQUES}.")
    n_chunks: int = Field(default=40, description="backtranslation: corpus chunks sampled per partition.")
    per_topic: int = Field(default=2, description="Other techniques: candidate instructions per topic.")
    max_topics: int | None = Field(default=None, description="Use only the first N topics.")
    rounds: int = Field(default=2, description="self_instruct rounds (later rounds see kept ones).")
    language: str = Field(
        default="en",
        description="ISO 639-1 code of the pairs (e.g. ko): every template of the lane (generation, "
        "evolution, answers, judge) asks for it and the validators reject pairs detected in another.",
    )


@llm_stage("raw_instructions")
def raw_instructions(
    context: AssetExecutionContext,
    config: RawInstructionsConfig,
    llm: LLMResource,
    seed_topics: SeedTopics,
    seed_corpus: Corpus,
) -> InstructionSet:
    """Candidate instructions: back-translated from the day's corpus chunks (the default), or
    Self-Instruct, Magpie or topic prompts; filtered (not a task or question, Self-Instruct
    rules, ROUGE-L near-duplicates); rejects kept with their reason."""
    seed = partition_seed(context.partition_key)
    topics = seed_topics.topics[: config.max_topics] if config.max_topics else seed_topics.topics
    chunks = None
    if config.technique == "backtranslation":
        chunks = sample_chunks(seed_corpus.chunks, config.n_chunks, seed).assign(
            corpus=seed_corpus.facts["source"], corpus_license=seed_corpus.facts["license"]
        )
        if seed_corpus.facts["kind"] == "python_docs":  # a docstring's subject is its object's name
            chunks = chunks.assign(subject=chunks["doc"])
    storage = context.instance.storage_directory()
    with settings_errors_are_final(), llm.client(storage, context.log.info) as client:
        language = normalise(config.language)
        out = pipeline.generate_raw(
            client,
            topics,
            seed_topics.personas,
            seed_topics.seed_tasks.to_dict("records"),
            config.technique,
            config.per_topic,
            seed,
            rounds=config.rounds,
            log=context.log.info,
            chunks=chunks,
            language=language,
        )
    for frame in (out.kept, out.rejects):
        frame["topics_version"] = seed_topics.version
    tag_run(
        context,
        {"llm_backend": f"{client.backend.name}:{client.backend.model}", "technique": config.technique},
    )
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(out.kept)} candidate pairs kept, {len(out.rejects)} filtered out "
                f"({config.technique}, {client.backend.name} {client.backend.model})"
            ),
            "preview": _preview(out.kept, ["topic", "instruction"]),
            **_usage_metadata(client, out.usage, out.parse_failures),
            "technique": config.technique,
            "language": language,
            "settings": settings(seed=seed, per_topic=config.per_topic, n_chunks=config.n_chunks),
            "n_kept": len(out.kept),
            "n_rejected": len(out.rejects),
            "reject_reasons": _reasons(out.rejects),
            "dagster/row_count": len(out.kept),
        }
    )
    return InstructionSet(
        out.kept, out.rejects, {"seed": seed, "technique": config.technique, "language": language}
    )


class EvolConfig(Config):
    rounds: int = Field(
        default=0,
        description="Evolution rounds. 0 on the embedded 135M model, whose evolutions and answers "
        "turn good back-translated pairs into junk; 1-2 with a capable model.",
    )
    operators: list[str] = Field(default=list(evol.OPERATORS), description=f"Subset of {evol.OPERATORS}.")
    answer_augmentation: bool = Field(
        default=False,
        description="Rewrite each human answer; the critic keeps the rewrite only if it prefers it.",
    )
    constitutional_revision: bool = Field(
        default=False,
        description="Critique each pair against a principle of the constitution, then revise it; the "
        "critic keeps the revision only if it prefers it (off by default: a 135M model's critiques "
        "are not worth their calls).",
    )
    constitution_path: str | None = Field(
        default=None,
        description="YAML constitution (version, principles with id and text); default: the shipped one.",
    )


@llm_stage("evolved_instructions")
def evolved_instructions(
    context: AssetExecutionContext, config: EvolConfig, llm: LLMResource, raw_instructions: InstructionSet
) -> InstructionSet:
    """Evol-Instruct: in-depth and in-breadth evolutions with elimination; every survivor
    without a response (originals included, round 0) answered; optional answer augmentation of
    human answers. Lineage: parent_id, operator, round."""
    seed = partition_seed(context.partition_key)
    storage = context.instance.storage_directory()
    with settings_errors_are_final(), llm.client(storage, context.log.info) as client:
        constitution = load_constitution(config.constitution_path) if config.constitutional_revision else None
        out = pipeline.evolve(
            client,
            raw_instructions.kept,
            config.rounds,
            config.operators,
            seed,
            log=context.log.info,
            answer_augmentation=config.answer_augmentation,
            language=lane_language(raw_instructions),
            constitution=constitution,
        )
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(out.kept)} pairs after {config.rounds} Evol-Instruct round(s), {len(out.rejects)} "
                "evolutions eliminated"
            ),
            "preview": _preview(out.kept, ["operator", "instruction", "response"]),
            **_usage_metadata(client, out.usage, out.parse_failures),
            "settings": settings(
                rounds=config.rounds,
                answer_augmentation=config.answer_augmentation,
                constitutional_revision=config.constitutional_revision,
            ),
            "constitution": f"{constitution.source} (version {constitution.version})"
            if constitution
            else "off",
            "n_constitutional_revisions": int((out.kept.get("operator") == "constitutional_revision").sum())
            + int((out.rejects.get("operator") == "constitutional_revision").sum()),
            "n_kept": len(out.kept),
            "n_eliminated": len(out.rejects),
            "elimination_reasons": _reasons(out.rejects),
            "kept_by_round": MetadataValue.json(
                {str(k): int(v) for k, v in out.kept["round"].value_counts().items()}
            ),
            "dagster/row_count": len(out.kept),
        }
    )
    meta = {"seed": seed, "rounds": config.rounds, "language": lane_language(raw_instructions)}
    return InstructionSet(out.kept, out.rejects, meta)


class CriticConfig(Config):
    critic: str | None = Field(
        default=None,
        description=f"One of {judging.CRITICS}; default ifd on the local backend, llm_judge on remote ones.",
    )
    keep_fraction: float = Field(
        default=1.0,
        description="ifd: keep at most this best share of the pairs (highest IFD below max_ifd first, "
        "as Cherry LLM / Superfiltering select); 1 keeps every pair whose instruction helps.",
    )
    max_ifd: float = Field(default=1.0, description="ifd: keep only pairs below this IFD.")
    threshold: float = Field(default=4.0, description="llm_judge: keep pairs scored at least this (1-5).")
    use_logprobs: bool = Field(
        default=False, description="llm_judge: decide on the probability-weighted score (local, openai)."
    )
    language: str | None = Field(
        default=None,
        description="ISO 639-1 code the pairs must be written in (validator); default: the lane's "
        "language (raw_instructions' `language`), checked when it is not English.",
    )
    calibrate: bool = Field(default=True, description="Score the calibration set with the critic(s).")


def _ifd_summary(frame) -> dict:
    values = frame["ifd"].dropna() if "ifd" in frame else []
    if len(values) == 0:
        return {}
    quantiles = values.quantile([0.1, 0.5, 0.9])
    return {k: round(float(v), 4) for k, v in zip(("p10", "median", "p90"), quantiles, strict=True)} | {
        "below_1": int((values < 1).sum()),
        "n": len(values),
    }


@llm_stage("critic_filtered_instructions")
def critic_filtered_instructions(
    context: AssetExecutionContext,
    config: CriticConfig,
    llm: LLMResource,
    evolved_instructions: InstructionSet,
) -> InstructionSet:
    """Pairs that pass the rule validators and the critic (IFD, LLM judge or both); rejects kept
    with their reason and scores. The critic also scores the shipped calibration set (good
    pairs and corruptions of them): its AUC is what the blocking check critic_validity gates."""
    pairs = evolved_instructions.kept
    storage = context.instance.storage_directory()
    with settings_errors_are_final(), llm.client(storage, context.log.info) as client:
        kind = config.critic or judging.default_critic(client.backend.name)
        language = lane_language(evolved_instructions)
        # an English lane is checked only when asked (its default lets any language through)
        checked = (
            normalise(config.language) if config.language else (None if is_english(language) else language)
        )
        out = judging.judge(
            client,
            pairs,
            kind,
            threshold=config.threshold,
            keep_fraction=config.keep_fraction,
            max_ifd=config.max_ifd,
            use_logprobs=config.use_logprobs,
            language=checked,
            calibration=calibration_set() if config.calibrate else None,
            log=context.log.info,
        )
    judged = [out.kept, out.rejects]
    scores = [s for f in judged if "judge_score" in f for s in f["judge_score"].dropna().tolist()]
    n_calibration = 0 if out.calibration is None else int(out.calibration["id"].nunique())
    meta = {
        "critic": kind,
        "keep_fraction": config.keep_fraction,
        "max_ifd": config.max_ifd,
        "threshold": config.threshold,
        "n_judged": len(pairs),
        "calibration_version": CALIBRATION_VERSION,
        "language": language,
    }
    context.add_output_metadata(
        {
            "summary": summary(
                f"critic {kind} kept {len(out.kept)} of {len(pairs)} pairs; "
                + (
                    f"it also scored {n_calibration} calibration pairs, judged by the critic_validity check"
                    if n_calibration
                    else "not calibrated (calibrate: false)"
                )
            ),
            "preview": _preview(out.kept, ["critic_score", "instruction", "response"]),
            **_usage_metadata(client, out.usage, out.parse_failures),
            "critic": kind,
            "settings": settings(
                keep_fraction=config.keep_fraction,
                max_ifd=config.max_ifd,
                threshold=config.threshold,
                calibration_version=CALIBRATION_VERSION,
            ),
            "n_calibration_pairs": n_calibration,
            "n_judged": len(pairs),
            "n_kept": len(out.kept),
            "n_rejected": len(out.rejects),
            "reject_reasons": _reasons(out.rejects),
            "ifd_kept": MetadataValue.json(_ifd_summary(out.kept)),
            "ifd_rejected": MetadataValue.json(_ifd_summary(out.rejects)),
            "judge_score_histogram": MetadataValue.json({str(s): scores.count(s) for s in range(1, 6)}),
            "dagster/row_count": len(out.kept),
        }
    )
    return InstructionSet(out.kept, out.rejects, meta, calibration=out.calibration)
