"""export/<lane>_export: the anchored mixes in standard formats with a dataset card and SHA-256
manifest, written atomically under ``export_dir`` (default ``<output dir>/exports/<lane>``).

image_export signs every synthetic PNG with a C2PA manifest that says it is AI-generated (see
:mod:`synth_assets.exports.provenance`); this layer only picks the signing pair and hands over
the image mix's per-image seeds. Only file paths enter config and metadata, never a key."""

import functools
import json
import shutil
import time
from pathlib import Path

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from pydantic import Field

from synth_assets.defs.check_results import latest_materialization
from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.locations import OutputLocation
from synth_assets.defs.partitions import daily_partitions
from synth_assets.defs.ui import number, summary
from synth_assets.defs.versions import code_version
from synth_assets.exports.provenance import ImageSigner
from synth_assets.exports.signing_keys import (
    CERT_ENV,
    KEY_ENV,
    LOCAL_SIGNER_DIR,
    resolve_credentials,
)
from synth_assets.exports.writers import (
    CARD,
    MANIFEST,
    VERSION_FILE,
    export_images,
    export_instructions,
    export_table,
)
from synth_assets.mix.datasets import AnchoredMix
from synth_assets.reports.scorecard import Scorecard
from synth_assets.storage import atomic_directory

GROUP = "datasets"
# lane -> the stem of its assets' names (tabular_mix, image_mix, instruction_scorecard, ...)
LANE_NAMES = {"tabular": "tabular", "images": "image", "instructions": "instruction"}
PREFIX = "export"
HISTORY = "history"  # <output dir>/exports/history/<lane>/<version>: every version exported

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
        "critic_pass_rate and diversity checks before being mixed with human-written pairs. Where "
        "people reviewed a pair, their keep or reject overruled the critic (counted under "
        "human_overrides in the provenance)."
    ),
}


class ExportConfig(Config):
    export_dir: str | None = Field(
        default=None,
        description="Where the dataset folder goes; default <output dir>/exports/<lane>[/<partition>].",
    )


class ImageExportConfig(ExportConfig):
    signing_key: str | None = Field(
        default=None,
        description=f"PEM private key file (unencrypted; keep it mode 0600) that signs the C2PA manifests "
        f"of synthetic images; else ${KEY_ENV}. Unset (with signing_cert): a self-signed pair made once "
        "under <output dir>/provenance/local-signer/, which no C2PA validator trusts.",
    )
    signing_cert: str | None = Field(
        default=None,
        description=f"PEM certificate chain file (the signer's end-entity certificate first) for "
        f"signing_key; else ${CERT_ENV}.",
    )
    watermark: bool = Field(
        default=True,
        description="Embed an invisible watermark in synthetic images of at least 256 px on the short "
        "side (before signing).",
    )


def _export(
    context,
    config: ExportConfig,
    output: OutputLocation,
    lane: str,
    writer,
    mix: AnchoredMix,
    card: Scorecard,
    extra=None,
) -> MaterializeResult:
    default = output.path("exports", lane)
    if context.assets_def.partitions_def is not None:
        default = default / context.partition_key
    folder = Path(config.export_dir).expanduser() if config.export_dir else default
    upstream = upstream_versions(context)
    started = time.perf_counter()
    writer(mix, folder, card, HOW[lane], upstream=upstream)
    seconds = time.perf_counter() - started
    files = [p for p in folder.rglob("*") if p.is_file()]
    version = json.loads((folder / VERSION_FILE).read_text())["version"]
    kept = archive(folder, output.path("exports", HISTORY, lane, version))
    context.log.info(
        f"exported {lane} version {version} to {folder}: {len(files)} files in {seconds:.1f} s"
        + (f"; kept a copy in {kept}" if kept else "")
    )
    return MaterializeResult(
        data_version=DataVersion(version),
        metadata={
            "summary": summary(
                f"{lane} version {version}: {len(mix.data)} rows in {len(files)} files at {folder.resolve()}"
            ),
            "version": version,
            "upstream_versions": MetadataValue.json(upstream),
            "history": MetadataValue.path(str(output.path("exports", HISTORY, lane).resolve())),
            "path": MetadataValue.path(str(folder.resolve())),
            "n_files": len(files),
            "bytes": sum(p.stat().st_size for p in files),
            "real_share": number(mix.facts.real_share),
            "dagster/row_count": len(mix.data),
            "dataset_card": MetadataValue.md((folder / CARD).read_text()),
            "sha256_manifest": MetadataValue.path(str((folder / MANIFEST).resolve())),
            **(extra(folder) if extra else {}),
        },
    )


def upstream_versions(context) -> dict[str, str]:
    """The latest data version of every asset upstream of this one (for partitioned ones, of
    this run's partition), from the instance: the versions an export was made from."""
    graph = context.job_def.asset_layer.asset_graph  # the assets the job knows: all, when run from the UI
    partition = context.partition_key if context.has_partition_key else None
    out = {}
    for key in sorted(graph.get_ancestor_asset_keys(context.asset_key), key=lambda k: k.to_user_string()):
        partitioned = graph.get(key).partitions_def is not None
        record = latest_materialization(context.instance, key, partition if partitioned else None)
        if record is not None:
            tags = record.asset_materialization.tags or {}
            out[key.to_user_string()] = tags.get(DATA_VERSION_TAG, "unknown")
    return out


def archive(folder: Path, target: Path) -> Path | None:
    """Keep a copy of an export under its version (``make diff`` finds old versions there);
    None when that version is kept already."""
    if (target / VERSION_FILE).is_file():
        return None
    with atomic_directory(target) as staging:
        shutil.copytree(folder, staging, dirs_exist_ok=True)
    return target


def _ins(lane: str) -> dict:
    return {
        "mix": AssetIn(AssetKey(["anchored_mix", f"{LANE_NAMES[lane]}_mix"])),
        "card": AssetIn(AssetKey(["scorecard", f"{LANE_NAMES[lane]}_scorecard"])),
    }


@asset(
    code_version=code_version("tabular_export"),
    key_prefix=PREFIX,
    group_name=GROUP,
    ins=_ins("tabular"),
    kinds={"parquet", "csv"},
)
def tabular_export(
    context: AssetExecutionContext,
    config: ExportConfig,
    output_location: OutputLocation,
    mix: AnchoredMix,
    card: Scorecard,
):
    """data.parquet and data.csv with the source column, README.md (dataset card), SHA256SUMS."""
    return _export(context, config, output_location, "tabular", export_table, mix, card)


@asset(
    code_version=code_version("image_export"),
    key_prefix=PREFIX,
    group_name=GROUP,
    ins=_ins("images"),
    kinds={"png"},
)
def image_export(
    context: AssetExecutionContext,
    config: ImageExportConfig,
    output_location: OutputLocation,
    mix: AnchoredMix,
    card: Scorecard,
):
    """images/<class>/*.png and manifest.csv, README.md (dataset card), SHA256SUMS. Synthetic
    PNGs carry a signed C2PA manifest (AI-generated, model, seed) and, from 256 px, an invisible
    watermark; real PNGs carry no manifest."""
    with settings_errors_are_final():  # a bad key or certificate: retrying would not help
        credentials = resolve_credentials(
            config.signing_key, config.signing_cert, output_location.path(*LOCAL_SIGNER_DIR)
        )
        ImageSigner(credentials).close()  # c2pa accepts the certificate: checked before writing
    context.log.info(f"C2PA: {credentials.statement}")
    writer = functools.partial(
        export_images,
        credentials=credentials,
        watermark=config.watermark,
    )

    def provenance_metadata(folder: Path) -> dict:
        rows = pd.read_csv(folder / "manifest.csv", dtype={"watermark_payload": str}, keep_default_na=False)
        return {
            "c2pa_signed": int(rows["c2pa_manifest"].sum()),
            "c2pa_signer": credentials.statement,
            "watermarked": int((rows["watermark_payload"] != "").sum()),
        }

    return _export(context, config, output_location, "images", writer, mix, card, extra=provenance_metadata)


@asset(
    code_version=code_version("instruction_export"),
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
