"""anchored_mix/<lane>_mix: synthetic data that passed its gate plus a real anchor (>= 5 %)."""

from dagster import AssetExecutionContext, AssetIn, AssetKey, Config, Failure, MetadataValue, asset
from pydantic import Field

from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.gates import require_passed_gate
from synth_assets.defs.io_manager import OPTIONAL
from synth_assets.defs.partitions import daily_partitions
from synth_assets.defs.ui import number, summary
from synth_assets.defs.versions import code_version
from synth_assets.images.sources import ImageSplit
from synth_assets.images.synthetic import SyntheticImages
from synth_assets.instructions.datasets import InstructionSet, SeedTopics
from synth_assets.instructions.review import KEEP, REJECT, ReviewTable, apply_decisions
from synth_assets.mix.anchor import DEFAULT_REAL_SHARE, MIN_REAL_SHARE
from synth_assets.mix.datasets import (
    GENERATION_FIELDS,
    SOURCE,
    AnchoredMix,
    mix_images,
    mix_instructions,
    mix_tables,
)
from synth_assets.tabular.split import TableSplit
from synth_assets.tabular.synthesizers import SyntheticTable

GROUP = "datasets"
PREFIX = "anchored_mix"


class MixConfig(Config):
    real_share: float = Field(
        default=DEFAULT_REAL_SHARE,
        description=f"Share of real items in the mix; at least {MIN_REAL_SHARE} (model-collapse mitigation).",
    )
    seed: int = Field(default=0, description="Seed for drawing the real items.")


def _report(context, mix: AnchoredMix, gate: dict[str, str]) -> None:
    """``gate``: {check: run id of its passing evaluation}. The runs go to the metadata only:
    the stored mix names the checks, so rebuilding it from the same data stores the same bytes."""
    facts = mix.facts
    if facts.short_by:
        context.log.warning(f"{mix.lane}: not enough real data for the requested share: {facts.note}")
    context.log.info(f"{mix.lane} mix: {facts.note}")
    counts = mix.data[SOURCE].value_counts()
    context.add_output_metadata(
        {
            "summary": summary(
                f"{mix.lane}: {facts.n_synthetic} synthetic items that passed their gate + "
                f"{facts.n_real} real ({facts.real_share:.1%} real)"
            ),
            "real_share": number(facts.real_share),
            "requested_real_share": facts.requested_share,
            "n_real": facts.n_real,
            "n_synthetic": facts.n_synthetic,
            "short_of_real_items": facts.short_by,
            "dagster/row_count": len(mix.data),
            "sources": MetadataValue.json({str(k): int(v) for k, v in counts.items()}),
            "provenance": MetadataValue.json(mix.provenance),
            "gate_runs": MetadataValue.json(gate),
        }
    )


@asset(code_version=code_version("tabular_mix"), key_prefix=PREFIX, group_name=GROUP, kinds={"pandas"})
def tabular_mix(
    context: AssetExecutionContext, config: MixConfig, real_table: TableSplit, tabular_synth: SyntheticTable
) -> AnchoredMix:
    """Synthetic rows that passed every blocking check of tabular_synth, plus real rows from the
    train split only (the holdout never enters a dataset), in the synthetic table's columns (id
    columns the synthesizer dropped are dropped from the real rows too)."""
    gate = require_passed_gate(context, AssetKey("tabular_synth"))
    with settings_errors_are_final():
        real = real_table.train[list(tabular_synth.data.columns)]
        data, facts = mix_tables(tabular_synth.data, real, config.real_share, config.seed)
    provenance = {
        "real_source": real_table.source,
        "real_part": "train split only",
        "generator": f"SDV {tabular_synth.synthesizer} (sdv {tabular_synth.sdv_version}), "
        f"seed {tabular_synth.seed}",
        "privacy_guarantee": tabular_synth.privacy_guarantee,
        "passed_checks": sorted(gate),
    }
    mix = AnchoredMix("tabular", data, facts, provenance=provenance)
    _report(context, mix, gate)
    return mix


@asset(code_version=code_version("image_mix"), key_prefix=PREFIX, group_name=GROUP, kinds={"numpy"})
def image_mix(
    context: AssetExecutionContext,
    config: MixConfig,
    real_images: ImageSplit,
    synthetic_images: SyntheticImages,
) -> AnchoredMix:
    """Generated images that passed fid, plus real train images."""
    gate = require_passed_gate(context, AssetKey("synthetic_images"))
    with settings_errors_are_final():
        images, index, facts = mix_images(
            synthetic_images.images,
            synthetic_images.labels,
            real_images.train,
            real_images.train_labels,
            config.real_share,
            config.seed,
            synthetic_records=synthetic_images.manifest[list(GENERATION_FIELDS)],
        )
    provenance = {
        "real_source": real_images.source,
        "real_part": "train split only",
        "generator": synthetic_images.generator,
        "passed_checks": sorted(gate),
    }
    mix = AnchoredMix("images", index, facts, images, real_images.class_names, provenance)
    _report(context, mix, gate)
    return mix


@asset(
    code_version=code_version("instruction_mix"),
    key_prefix=PREFIX,
    group_name=GROUP,
    partitions_def=daily_partitions,
    kinds={"pandas"},
    ins={
        "seed_topics": AssetIn("seed_topics"),
        "critic_filtered_instructions": AssetIn("critic_filtered_instructions"),
        # absent where the lane stopped at its gate: then the gate below says why
        "human_reviews": AssetIn("human_reviews", metadata={OPTIONAL: True}),
    },
)
def instruction_mix(
    context: AssetExecutionContext,
    config: MixConfig,
    seed_topics: SeedTopics,
    critic_filtered_instructions: InstructionSet,
    human_reviews: ReviewTable | None,
) -> AnchoredMix:
    """Critic-kept pairs that passed the critic's checks, with people's review decisions
    applied (a pair a person rejected is left out, a critic-rejected pair a person kept goes
    in), plus human-written pairs from the seed task pool."""
    gate = require_passed_gate(context, AssetKey("critic_filtered_instructions"), context.partition_key)
    critic = critic_filtered_instructions
    if human_reviews is None:
        raise Failure(
            f"human_reviews [{context.partition_key}] has not been materialized: run the instruction lane",
            allow_retries=False,
        )
    kept, _, overrides = apply_decisions(critic.kept, critic.rejects, human_reviews.rows)
    if len(overrides):
        context.log.info(
            f"instruction_mix: people overruled the critic on {len(overrides)} pair(s): "
            + ", ".join(
                f"{r.id} {r.critic_verdict} -> {r.decision}" for r in overrides.itertuples(index=False)
            )
        )
    with settings_errors_are_final():
        data, facts = mix_instructions(kept, seed_topics.seed_tasks, config.real_share, config.seed)
    backends = sorted(set(kept["backend"])) if "backend" in kept else []
    models = sorted(set(kept["model"])) if "model" in kept else []
    provenance = {
        "real_source": f"seed_tasks of {seed_topics.source} (version {seed_topics.version})",
        "generator": f"{', '.join(backends)}: {', '.join(models)}",
        "partition": context.partition_key,
        # back-translated pairs: the responses are human text from the corpus, with its licence
        "response_sources": sorted(
            {
                f"{c} ({lic})" if lic else str(c)
                for c, lic in zip(kept.get("corpus", []), kept.get("corpus_license", []), strict=False)
                if isinstance(c, str)
            }
        ),
        "passed_checks": sorted(gate),
        "human_overrides": {
            "kept_by_people": int((overrides["decision"] == KEEP).sum()),
            "rejected_by_people": int((overrides["decision"] == REJECT).sum()),
        },
    }
    mix = AnchoredMix("instructions", data, facts, provenance=provenance)
    _report(context, mix, gate)
    return mix


mix_assets = [tabular_mix, image_mix, instruction_mix]
