"""Instruction lane: seed_topics -> raw_instructions -> evolved_instructions ->
critic_filtered_instructions, daily partitioned (the partition key seeds all randomness)."""

import datetime as dt
import warnings

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    Backoff,
    Config,
    DailyPartitionsDefinition,
    MetadataValue,
    RetryPolicy,
    asset,
    asset_check,
)
from pydantic import Field

from synth_assets import thresholds as T
from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.llm_resource import LLMResource
from synth_assets.instructions import evol, pipeline
from synth_assets.instructions.datasets import InstructionSet, SeedTopics, load_seed_topics
from synth_assets.instructions.diversity import distinct_n, mean_nearest_rouge_l
from synth_assets.instructions.generation import TECHNIQUES

# Checks on a partitioned asset take its partitions_def; Dagster 1.13 flags that as preview.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

GROUP = "instructions"
LLM_POOL = "llm"
daily_partitions = DailyPartitionsDefinition(start_date="2026-01-01")
# Requests are retried inside the client; this covers a step that dies (OOM, lost worker).
# Responses are cached, so a retried step pays only for what it had not received.
llm_retry = RetryPolicy(max_retries=1, delay=10, backoff=Backoff.EXPONENTIAL)


def partition_seed(partition_key: str) -> int:
    """2026-11-20 -> 20261120: every random choice of a partition derives from its date."""
    return int(dt.date.fromisoformat(partition_key).strftime("%Y%m%d"))


def _usage_metadata(client, usage) -> dict:
    return {
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
        return MetadataValue.md("(no rows)")
    shown = frame[columns].head(5).copy()
    for column in columns:
        shown[column] = (
            shown[column].astype(str).str.slice(0, 120).str.replace("|", "\\|").str.replace("\n", " ")
        )
    return MetadataValue.md(shown.to_markdown(index=False))


class SeedTopicsConfig(Config):
    topics_path: str | None = Field(default=None, description="YAML with version, topics, personas.")
    seed_tasks_path: str | None = Field(default=None, description="JSONL of human-written seed tasks.")


@asset(group_name=GROUP, kinds={"yaml"})
def seed_topics(context: AssetExecutionContext, config: SeedTopicsConfig) -> SeedTopics:
    """Topics and personas from a versioned YAML file, and the human-written seed task pool
    (few-shot examples now, the real anchor of the mix later)."""
    seeds = load_seed_topics(config.topics_path, config.seed_tasks_path)
    context.add_output_metadata(
        {
            "version": seeds.version,
            "n_topics": len(seeds.topics),
            "n_personas": len(seeds.personas),
            "n_seed_tasks": len(seeds.seed_tasks),
            "source": seeds.source,
        }
    )
    return seeds


class RawInstructionsConfig(Config):
    technique: str = Field(default="self_instruct", description=f"One of {TECHNIQUES}.")
    per_topic: int = Field(default=2, description="Candidate instructions per topic.")
    max_topics: int | None = Field(default=None, description="Use only the first N topics.")
    rounds: int = Field(default=2, description="self_instruct rounds (later rounds see kept ones).")


@asset(
    group_name=GROUP, partitions_def=daily_partitions, pool=LLM_POOL, retry_policy=llm_retry, kinds={"llm"}
)
def raw_instructions(
    context: AssetExecutionContext, config: RawInstructionsConfig, llm: LLMResource, seed_topics: SeedTopics
) -> InstructionSet:
    """Generated instructions (Self-Instruct, Magpie or topic prompts), filtered by the
    Self-Instruct rules and ROUGE-L near-duplicate test; rejects kept with their reason."""
    seed = partition_seed(context.partition_key)
    topics = seed_topics.topics[: config.max_topics] if config.max_topics else seed_topics.topics
    storage = context.instance.storage_directory()
    with settings_errors_are_final(), llm.client(storage, context.log.info) as client:
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
        )
    for frame in (out.kept, out.rejects):
        frame["topics_version"] = seed_topics.version
    context.add_output_metadata(
        {
            **_usage_metadata(client, out.usage),
            "technique": config.technique,
            "seed": seed,
            "n_kept": len(out.kept),
            "n_rejected": len(out.rejects),
            "reject_reasons": _reasons(out.rejects),
            "dagster/row_count": len(out.kept),
            "preview": _preview(out.kept, ["topic", "instruction"]),
        }
    )
    return InstructionSet(out.kept, out.rejects, {"seed": seed, "technique": config.technique})


class EvolConfig(Config):
    rounds: int = Field(default=1, description="Evolution rounds.")
    operators: list[str] = Field(default=list(evol.OPERATORS), description=f"Subset of {evol.OPERATORS}.")


@asset(
    group_name=GROUP, partitions_def=daily_partitions, pool=LLM_POOL, retry_policy=llm_retry, kinds={"llm"}
)
def evolved_instructions(
    context: AssetExecutionContext, config: EvolConfig, llm: LLMResource, raw_instructions: InstructionSet
) -> InstructionSet:
    """Evol-Instruct: in-depth and in-breadth evolutions with elimination; every survivor
    (originals included, round 0) answered. Lineage: parent_id, operator, round."""
    seed = partition_seed(context.partition_key)
    storage = context.instance.storage_directory()
    with settings_errors_are_final(), llm.client(storage, context.log.info) as client:
        out = pipeline.evolve(
            client, raw_instructions.kept, config.rounds, config.operators, seed, log=context.log.info
        )
    context.add_output_metadata(
        {
            **_usage_metadata(client, out.usage),
            "rounds": config.rounds,
            "n_kept": len(out.kept),
            "n_eliminated": len(out.rejects),
            "elimination_reasons": _reasons(out.rejects),
            "kept_by_round": MetadataValue.json(
                {str(k): int(v) for k, v in out.kept["round"].value_counts().items()}
            ),
            "dagster/row_count": len(out.kept),
            "preview": _preview(out.kept, ["operator", "instruction", "response"]),
        }
    )
    return InstructionSet(out.kept, out.rejects, {"seed": seed, "rounds": config.rounds})


class CriticConfig(Config):
    threshold: float = Field(default=4.0, description="Keep pairs the judge scores at least this (1-5).")
    use_logprobs: bool = Field(
        default=False, description="Decide on the probability-weighted score (local, openai_compatible)."
    )


@asset(
    group_name=GROUP, partitions_def=daily_partitions, pool=LLM_POOL, retry_policy=llm_retry, kinds={"llm"}
)
def critic_filtered_instructions(
    context: AssetExecutionContext,
    config: CriticConfig,
    llm: LLMResource,
    evolved_instructions: InstructionSet,
) -> InstructionSet:
    """Pairs the LLM judge scores >= threshold (1-5); rejects recorded with score and reason."""
    pairs = evolved_instructions.kept
    storage = context.instance.storage_directory()
    with settings_errors_are_final(), llm.client(storage, context.log.info) as client:
        out = pipeline.judge(client, pairs, config.threshold, config.use_logprobs, log=context.log.info)
    scores = out.kept["judge_score"].tolist() + out.rejects["judge_score"].dropna().tolist()
    histogram = {str(s): scores.count(s) for s in range(1, 6)}
    context.add_output_metadata(
        {
            **_usage_metadata(client, out.usage),
            "threshold": config.threshold,
            "n_judged": len(pairs),
            "n_kept": len(out.kept),
            "n_rejected": len(out.rejects),
            "reject_reasons": _reasons(out.rejects),
            "judge_score_histogram": MetadataValue.json(histogram),
            "dagster/row_count": len(out.kept),
            "preview": _preview(out.kept, ["judge_score", "instruction", "response"]),
        }
    )
    return InstructionSet(out.kept, out.rejects, {"threshold": config.threshold, "n_judged": len(pairs)})


class PassRateConfig(Config):
    min_pass_rate: float = Field(
        default=T.CRITIC_MIN_PASS_RATE, description="Least share of judged pairs the critic keeps."
    )


@asset_check(
    asset=critic_filtered_instructions,
    name="critic_pass_rate",
    blocking=True,
    partitions_def=daily_partitions,
)
def critic_pass_rate(
    config: PassRateConfig, critic_filtered_instructions: InstructionSet
) -> AssetCheckResult:
    """Share of judged pairs kept by the critic must reach ``min_pass_rate``."""
    n_kept = len(critic_filtered_instructions.kept)
    n_judged = n_kept + len(critic_filtered_instructions.rejects)
    if n_judged == 0:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            metadata={"error": "no pairs reached the critic", "threshold": config.min_pass_rate},
        )
    rate = n_kept / n_judged
    return AssetCheckResult(
        passed=rate >= config.min_pass_rate,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "pass_rate": rate,
            "threshold": config.min_pass_rate,
            "n_kept": n_kept,
            "n_judged": n_judged,
        },
    )


class DiversityConfig(Config):
    min_distinct_2: float = Field(
        default=T.MIN_DISTINCT_2, description="Least distinct-2 of the kept instructions."
    )
    max_mean_nn_rouge_l: float = Field(
        default=T.MAX_MEAN_NN_ROUGE_L, description="Most mean nearest-neighbour ROUGE-L."
    )


@asset_check(
    asset=critic_filtered_instructions, name="diversity", blocking=True, partitions_def=daily_partitions
)
def diversity(config: DiversityConfig, critic_filtered_instructions: InstructionSet) -> AssetCheckResult:
    """Diversity floor of the kept instructions: distinct-2 at least ``min_distinct_2`` and mean
    nearest-neighbour ROUGE-L at most ``max_mean_nn_rouge_l``."""
    instructions = critic_filtered_instructions.kept["instruction"].tolist()
    thresholds = {"min_distinct_2": config.min_distinct_2, "max_mean_nn_rouge_l": config.max_mean_nn_rouge_l}
    if len(instructions) < 2:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "error": f"{len(instructions)} kept instruction(s); diversity needs at least 2",
                **thresholds,
            },
        )
    d2, rouge = distinct_n(instructions, 2), mean_nearest_rouge_l(instructions)
    return AssetCheckResult(
        passed=d2 >= config.min_distinct_2 and rouge <= config.max_mean_nn_rouge_l,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "distinct_2": d2,
            "mean_nn_rouge_l": rouge,
            "n_instructions": len(instructions),
            **thresholds,
        },
    )


instruction_assets = [seed_topics, raw_instructions, evolved_instructions, critic_filtered_instructions]
instruction_checks = [critic_pass_rate, diversity]
