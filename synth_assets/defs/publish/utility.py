"""instruction_utility: does the instruction lane's kept data teach the embedded model more
than what the critic rejected, or than no selection at all? (synth_assets.instructions.utility)
It runs in publish, not in the lane's gate: it measures, it does not block."""

from dagster import AssetExecutionContext, Config, MetadataValue, asset
from pydantic import Field

from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.partitions import daily_partitions
from synth_assets.defs.ui import number, settings, summary, table
from synth_assets.defs.versions import code_version
from synth_assets.instructions.calibration import calibration_set
from synth_assets.instructions.datasets import InstructionSet, SeedTopics
from synth_assets.instructions.languages import is_english, normalise
from synth_assets.instructions.utility import (
    UtilityReport,
    UtilitySettings,
    instruction_utility,
    pairs_of,
    skipped,
)

GROUP = "validation"


class UtilityConfig(Config):
    enabled: bool = Field(
        default=True,
        description="Fine-tune and measure (about two minutes on 2 CPU cores at the defaults); false "
        "stores a report that says it was switched off.",
    )
    epochs: int = Field(default=UtilitySettings.epochs, description="Passes over each training set.")
    max_pairs: int = Field(
        default=UtilitySettings.max_pairs,
        description="Pairs per training set; kept, rejected and random all get the same number (the "
        "smallest set's size up to this).",
    )
    min_pairs: int = Field(
        default=UtilitySettings.min_pairs, description="A set with fewer pairs is left out."
    )
    max_heldout: int = Field(default=UtilitySettings.max_heldout, description="Held-out human pairs scored.")
    max_tokens: int = Field(
        default=UtilitySettings.max_tokens, description="Tokens per pair (prompt + answer)."
    )
    learning_rate: float = Field(default=UtilitySettings.learning_rate, description="AdamW learning rate.")
    lora_rank: int = Field(default=UtilitySettings.lora_rank, description="LoRA rank (q and v projections).")
    seed: int = Field(default=UtilitySettings.seed, description="Seeds the samples, LoRA init and order.")


def heldout_pairs(seed_topics: SeedTopics) -> list[tuple[str, str]]:
    """Human-written pairs the lane never trains on: the seed tasks and the good calibration pairs."""
    calibration = calibration_set()
    return pairs_of(seed_topics.seed_tasks, response="output") + pairs_of(
        calibration[calibration["label"] == 1]
    )


@asset(
    name="instruction_utility",
    code_version=code_version("instruction_utility"),
    group_name=GROUP,
    partitions_def=daily_partitions,
    kinds={"pytorch"},
)
def instruction_utility_asset(
    context: AssetExecutionContext,
    config: UtilityConfig,
    seed_topics: SeedTopics,
    critic_filtered_instructions: InstructionSet,
) -> UtilityReport:
    """The instruction lane's TSTR: LoRA fine-tunes of the embedded SmolLM2-135M on the kept
    pairs, on as many critic-rejected pairs and on as many random judged pairs, each scored by
    its loss on held-out human pairs (seed tasks, good calibration pairs) against the untuned
    model's. Reported in the instruction scorecard."""
    with settings_errors_are_final():
        chosen = UtilitySettings(
            epochs=config.epochs,
            learning_rate=config.learning_rate,
            lora_rank=config.lora_rank,
            max_pairs=config.max_pairs,
            min_pairs=config.min_pairs,
            max_heldout=config.max_heldout,
            max_tokens=config.max_tokens,
            seed=config.seed,
        )
    critic = critic_filtered_instructions
    if not config.enabled:
        report = skipped("switched off (instruction_utility config enabled: false)", chosen)
    else:
        judged = pairs_of(critic.kept) + pairs_of(critic.rejects)
        report = instruction_utility(
            pairs_of(critic.kept),
            pairs_of(critic.rejects),
            judged,
            heldout_pairs(seed_topics),
            chosen,
            log=context.log.info,
        )
    language = normalise(critic.meta.get("language"))
    if not is_english(language):
        report.notes.append(f"The held-out human pairs are English; the lane writes {language}.")
    comparisons = {row["comparison"]: row["ratio"] for row in report.comparisons.to_dict("records")}
    if report.skipped:
        headline = f"not measured: {report.skipped}"
    else:
        headline = f"held-out loss {report.loss_before:.4f} before tuning; gains " + ", ".join(
            f"{row.set} {row.gain:+.4f}" for row in report.results.itertuples(index=False)
        )
        headline += "".join(f"; {name} {ratio:.3g}" for name, ratio in comparisons.items())
    metadata = {
        "summary": summary(headline),
        "settings": settings(**report.settings) if report.settings else MetadataValue.text(""),
        "n_heldout": report.n_heldout,
        "notes": MetadataValue.text("\n".join(report.notes)),
    }
    if not report.skipped:
        metadata |= {
            "results": table(report.results),
            "comparisons": table(report.comparisons),
            "loss_before": number(report.loss_before),
            **{f"loss_gain_{row.set}": number(row.gain) for row in report.results.itertuples(index=False)},
            **{name: number(ratio) for name, ratio in comparisons.items() if ratio == ratio},
            "seconds": MetadataValue.json({k: round(v, 1) for k, v in report.seconds.items()}),
        }
    context.add_output_metadata(metadata)
    return report
