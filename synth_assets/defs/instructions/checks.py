"""The instruction lane's blocking checks on critic_filtered_instructions (per day): the critic
is calibrated, keeps enough pairs, and what it keeps is diverse. Their thresholds fill one
:class:`InstructionRules`."""

from dagster import AssetCheckResult, Config, asset_check
from pydantic import Field

from synth_assets.defs.check_results import check_result
from synth_assets.defs.instructions.assets import critic_filtered_instructions
from synth_assets.defs.partitions import daily_partitions
from synth_assets.instructions.datasets import InstructionSet
from synth_assets.instructions.rules import InstructionRules

DEFAULTS = InstructionRules()


class CriticValidityConfig(Config):
    min_auc: float = Field(
        default=DEFAULTS.min_calibration_auc,
        description="Least calibration ROC AUC (good pairs vs corrupted copies) of every critic in use.",
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


def _backend(instructions: InstructionSet) -> str:
    for frame in (instructions.kept, instructions.rejects):
        if "backend" in frame and frame["backend"].notna().any():
            return str(frame["backend"].dropna().iloc[0])
    return ""


@asset_check(
    asset=critic_filtered_instructions, name="critic_validity", blocking=True, partitions_def=daily_partitions
)
def critic_validity(
    config: CriticValidityConfig, critic_filtered_instructions: InstructionSet
) -> AssetCheckResult:
    """Every critic in use must tell the calibration set's good pairs from corrupted copies
    (swapped, truncated, echoed, refused, off-topic, wrong number) with ROC AUC >= ``min_auc``
    (docs/metrics.md, "Critic calibration AUC")."""
    rules = InstructionRules(min_calibration_auc=config.min_auc)
    return check_result(
        rules.critic_validity(
            critic_filtered_instructions.calibration, _backend(critic_filtered_instructions)
        )
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


instruction_checks = [critic_validity, critic_pass_rate, diversity]
