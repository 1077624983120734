"""The instruction lane's blocking checks on critic_filtered_instructions (per day): the critic
is calibrated, keeps enough pairs, and what it keeps is diverse. Their thresholds fill one
:class:`InstructionRules`."""

import pandas as pd
from dagster import AssetCheckResult, AssetIn, AssetKey, Config, asset_check
from pydantic import Field

from synth_assets.defs.check_results import check_result, latest_materialization
from synth_assets.defs.instructions.assets import critic_filtered_instructions
from synth_assets.defs.partitions import daily_partitions
from synth_assets.instructions.datasets import InstructionSet, SeedTopics
from synth_assets.instructions.rules import InstructionRules

DEFAULTS = InstructionRules()


class CriticValidityConfig(Config):
    min_auc: float = Field(
        default=DEFAULTS.min_calibration_auc,
        description="Least calibration ROC AUC (good pairs vs corrupted copies) of every critic in use.",
    )
    min_human_kappa: float | None = Field(
        default=DEFAULTS.min_human_kappa,
        description="Least Cohen's kappa between the critic and people's reviews (human_reviews) once "
        "min_human_reviews pairs are reviewed; unset: the agreement is reported, not judged.",
    )
    min_human_reviews: int = Field(
        default=DEFAULTS.min_human_reviews, description="Reviewed pairs needed before kappa is judged."
    )


class PassRateConfig(Config):
    min_pass_rate: float = Field(
        default=DEFAULTS.min_pass_rate, description="Least share of judged pairs the critic keeps."
    )


class DiversityConfig(Config):
    min_distinct_2: float = Field(
        default=DEFAULTS.min_distinct_2, description="Least distinct-2 of the kept instructions."
    )
    max_mean_nn_rouge_l: float = Field(
        default=DEFAULTS.max_mean_nn_rouge_l, description="Most mean nearest-neighbour ROUGE-L."
    )


class TopicBalanceConfig(Config):
    min_share_ratio: float = Field(
        default=DEFAULTS.min_share_ratio,
        description="Warn when a topic or persona keeps less than this share of its fair share.",
    )
    min_expected: float = Field(
        default=DEFAULTS.min_expected,
        description="Judge a topic or persona only when at least this many kept pairs were expected in it.",
    )
    blocking: bool = Field(
        default=False, description="Fail with ERROR severity, stopping the mix (default: warn only)."
    )


def _backend(instructions: InstructionSet) -> str:
    for frame in (instructions.kept, instructions.rejects):
        if "backend" in frame and frame["backend"].notna().any():
            return str(frame["backend"].dropna().iloc[0])
    return ""


@asset_check(
    asset=critic_filtered_instructions, name="critic_validity", blocking=True, partitions_def=daily_partitions
)
def critic_validity(
    context, config: CriticValidityConfig, critic_filtered_instructions: InstructionSet
) -> AssetCheckResult:
    """Every critic in use must tell the calibration set's good pairs from corrupted copies
    (swapped, truncated, echoed, refused, off-topic, wrong number) with ROC AUC >= ``min_auc``
    (docs/metrics.md, "Critic calibration AUC"). Beside it, the critic's agreement with people:
    kappa and accuracy from the day's latest human_reviews (collected after an earlier build of
    this day), judged when ``min_human_kappa`` is set."""
    rules = InstructionRules(
        min_calibration_auc=config.min_auc,
        min_human_kappa=config.min_human_kappa,
        min_human_reviews=config.min_human_reviews,
    )
    return check_result(
        rules.critic_validity(
            critic_filtered_instructions.calibration,
            _backend(critic_filtered_instructions),
            human_agreement(context.instance, context.partition_key),
        )
    )


def human_agreement(instance, partition_key: str) -> dict | None:
    """The critic-vs-people agreement recorded by the day's latest human_reviews, if any."""
    record = latest_materialization(instance, AssetKey("human_reviews"), partition_key)
    if record is None:
        return None
    metadata = record.asset_materialization.metadata
    value = {name: metadata[name].value if name in metadata else None for name in ("kappa", "accuracy")}
    return {"n": metadata["n_reviewed"].value if "n_reviewed" in metadata else 0, **value}


@asset_check(
    asset=critic_filtered_instructions,
    name="critic_pass_rate",
    blocking=True,
    partitions_def=daily_partitions,
)
def critic_pass_rate(
    config: PassRateConfig, critic_filtered_instructions: InstructionSet
) -> AssetCheckResult:
    """Share of judged pairs kept by the critic must reach ``min_pass_rate`` (docs/metrics.md,
    "Critic pass rate")."""
    n_kept = len(critic_filtered_instructions.kept)
    n_judged = n_kept + len(critic_filtered_instructions.rejects)
    return check_result(InstructionRules(min_pass_rate=config.min_pass_rate).pass_rate(n_kept, n_judged))


@asset_check(
    asset=critic_filtered_instructions, name="diversity", blocking=True, partitions_def=daily_partitions
)
def diversity(config: DiversityConfig, critic_filtered_instructions: InstructionSet) -> AssetCheckResult:
    """Diversity floor of the kept instructions: distinct-2 at least ``min_distinct_2`` and mean
    nearest-neighbour ROUGE-L at most ``max_mean_nn_rouge_l`` (docs/metrics.md, "Diversity (text)")."""
    rules = InstructionRules(
        min_distinct_2=config.min_distinct_2, max_mean_nn_rouge_l=config.max_mean_nn_rouge_l
    )
    return check_result(
        rules.diversity(critic_filtered_instructions.kept["instruction"].astype(str).tolist())
    )


@asset_check(
    asset=critic_filtered_instructions,
    name="topic_balance",
    blocking=True,
    partitions_def=daily_partitions,
    additional_ins={"raw_instructions": AssetIn("raw_instructions"), "seed_topics": AssetIn("seed_topics")},
)
def topic_balance(
    context,
    config: TopicBalanceConfig,
    critic_filtered_instructions: InstructionSet,
    raw_instructions: InstructionSet,
    seed_topics: SeedTopics,
) -> AssetCheckResult:
    """Coverage of the kept set: no topic or persona may fall below ``min_share_ratio`` of its
    fair share after filtering, since a critic's preferences skew a dataset (docs/metrics.md,
    "Topic balance"). Warns by default; ``blocking: true`` makes a failure stop the mix."""
    rules = InstructionRules(min_share_ratio=config.min_share_ratio, min_expected=config.min_expected)
    verdict = rules.topic_balance_of(
        critic_filtered_instructions.kept,
        pd.concat([raw_instructions.kept, raw_instructions.rejects], ignore_index=True),
        str(raw_instructions.meta.get("technique", "")),
        seed_topics.personas,
    )
    context.log.info(f"topic_balance: {verdict.summary}")
    return check_result(verdict, blocking=config.blocking)


instruction_checks = [critic_validity, critic_pass_rate, diversity, topic_balance]
