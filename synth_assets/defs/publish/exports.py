"""export/<lane>_export: the anchored mixes in standard formats with a dataset card and SHA-256
manifest, written atomically under ``export_dir`` (default ``<output dir>/exports/<lane>``)."""

from pathlib import Path

from dagster import AssetExecutionContext, AssetIn, AssetKey, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from synth_assets.defs.locations import OutputLocation
from synth_assets.defs.partitions import daily_partitions
from synth_assets.defs.ui import number, summary
from synth_assets.exports.writers import CARD, MANIFEST, export_images, export_instructions, export_table
from synth_assets.mix.datasets import AnchoredMix
from synth_assets.reports.scorecard import Scorecard

GROUP = "datasets"
# lane -> the stem of its assets' names (tabular_mix, image_mix, instruction_scorecard, ...)
LANE_NAMES = {"tabular": "tabular", "images": "image", "instructions": "instruction"}
PREFIX = "export"

HOW = {
    "tabular": (
        "An SDV synthesizer was fit on the real train split only; its rows passed the blocking TSTR, "
        "DCR and Great Expectations checks before being mixed with real train rows."
    ),
    "images": (
        "A class-conditional diffusion model (diffusers) generated the images, which passed the "
        "blocking FID check against real images before being mixed with real train images."
    ),
    "instructions": (
        "Instructions were written for passages of human text (back-translation, the default) or "
        "generated (Self-Instruct / Magpie), optionally evolved (Evol-Instruct), and kept by a critic "
        "(instruction-following difficulty from token log-likelihoods, or an LLM judge) that had "
        "passed its calibration check; kept pairs passed the blocking critic_validity, "
        "critic_pass_rate and diversity checks before being mixed with human-written pairs."
    ),
}


class ExportConfig(Config):
    export_dir: str | None = Field(
        default=None,
        description="Where the dataset folder goes; default <output dir>/exports/<lane>[/<partition>].",
    )


def _export(
    context,
    config: ExportConfig,
    output: OutputLocation,
    lane: str,
    writer,
    mix: AnchoredMix,
    card: Scorecard,
) -> MaterializeResult:
    default = output.path("exports", lane)
    if context.assets_def.partitions_def is not None:
        default = default / context.partition_key
    folder = Path(config.export_dir).expanduser() if config.export_dir else default
    writer(mix, folder, card, HOW[lane])
    files = [p for p in folder.rglob("*") if p.is_file()]
    context.log.info(f"exported {lane} to {folder}: {len(files)} files")
    return MaterializeResult(
        metadata={
            "summary": summary(f"{lane}: {len(mix.data)} rows in {len(files)} files at {folder.resolve()}"),
            "path": MetadataValue.path(str(folder.resolve())),
            "n_files": len(files),
            "bytes": sum(p.stat().st_size for p in files),
            "real_share": number(mix.facts.real_share),
            "dagster/row_count": len(mix.data),
            "dataset_card": MetadataValue.md((folder / CARD).read_text()),
            "sha256_manifest": MetadataValue.path(str((folder / MANIFEST).resolve())),
        }
    )


def _ins(lane: str) -> dict:
    return {
        "mix": AssetIn(AssetKey(["anchored_mix", f"{LANE_NAMES[lane]}_mix"])),
        "card": AssetIn(AssetKey(["scorecard", f"{LANE_NAMES[lane]}_scorecard"])),
    }


@asset(key_prefix=PREFIX, group_name=GROUP, ins=_ins("tabular"), kinds={"parquet", "csv"})
def tabular_export(
    context: AssetExecutionContext,
    config: ExportConfig,
    output_location: OutputLocation,
    mix: AnchoredMix,
    card: Scorecard,
):
    """data.parquet and data.csv with the source column, README.md (dataset card), SHA256SUMS."""
    return _export(context, config, output_location, "tabular", export_table, mix, card)


@asset(key_prefix=PREFIX, group_name=GROUP, ins=_ins("images"), kinds={"png"})
def image_export(
    context: AssetExecutionContext,
    config: ExportConfig,
    output_location: OutputLocation,
    mix: AnchoredMix,
    card: Scorecard,
):
    """images/<class>/*.png and manifest.csv, README.md (dataset card), SHA256SUMS."""
    return _export(context, config, output_location, "images", export_images, mix, card)


@asset(
    key_prefix=PREFIX,
    group_name=GROUP,
    ins=_ins("instructions"),
    partitions_def=daily_partitions,
    kinds={"json"},
)
def instruction_export(
    context: AssetExecutionContext,
    config: ExportConfig,
    output_location: OutputLocation,
    mix: AnchoredMix,
    card: Scorecard,
):
    """messages.jsonl (chat format) and alpaca.jsonl, README.md (dataset card), SHA256SUMS."""
    return _export(context, config, output_location, "instructions", export_instructions, mix, card)


export_assets = [tabular_export, image_export, instruction_export]
