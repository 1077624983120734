"""IO manager that stores asset values as bundles (Parquet frames + JSON metadata), atomically.

Outputs land under ``<base_dir>/<asset key>/`` (``/<partition key>`` for partitioned assets):
Parquet files for frames, ``.npy`` for arrays, folders for model weights and PNGs, and
``bundle.json`` (see :mod:`synth_assets.storage`).
"""

from __future__ import annotations

from pathlib import Path

from dagster import (
    ConfigurableIOManagerFactory,
    DagsterInvariantViolationError,
    DataVersion,
    InputContext,
    OutputContext,
    UPathIOManager,
)
from upath import UPath

from synth_assets.defs.locations import OutputLocation
from synth_assets.images.model import ImageModel, PretrainedImageModel, TrainedImageModel
from synth_assets.images.sources import ImageSplit
from synth_assets.images.synthetic import SyntheticImages
from synth_assets.instructions.datasets import Corpus, InstructionSet, SeedTopics
from synth_assets.instructions.review import ReviewTable
from synth_assets.instructions.utility import UtilityReport
from synth_assets.mix.datasets import AnchoredMix
from synth_assets.reports.scorecard import Scorecard
from synth_assets.storage import folder_digest, load_bundle, save_bundle
from synth_assets.tabular.collapse import CollapseCurve
from synth_assets.tabular.split import TableSplit
from synth_assets.tabular.synthesizers import SyntheticTable

BUNDLE_TYPES = {
    cls.__name__: cls
    for cls in (
        TableSplit,
        SyntheticTable,
        SeedTopics,
        Corpus,
        InstructionSet,
        ImageSplit,
        TrainedImageModel,
        PretrainedImageModel,
        ImageModel,  # bundles written before the split: dispatches on fields['mode']
        SyntheticImages,
        AnchoredMix,
        Scorecard,
        CollapseCurve,
        UtilityReport,
        ReviewTable,
    )
}


OPTIONAL = "synth_assets/optional"


def content_version(bundle: Path) -> str:
    """The version of a stored bundle: the first 16 hex digits of the SHA-256 of its files."""
    return folder_digest(bundle)[:16]


class BundleIOManager(UPathIOManager):
    extension = ""

    def dump_to_path(self, context: OutputContext, obj, path: UPath) -> None:
        kind = type(obj).__name__
        if kind not in BUNDLE_TYPES:
            raise TypeError(
                f"{context.asset_key.to_user_string()}: cannot store a {kind}; "
                f"supported: {sorted(BUNDLE_TYPES)}"
            )
        parts, meta = obj.to_bundle()
        save_bundle(Path(path), parts, {"type": kind, "fields": meta})
        if not (context.has_asset_partitions and len(context.asset_partition_keys) > 1):
            version = content_version(Path(path))
            context.add_output_metadata({"content_hash": version})
            # the materialization's data version is its stored content: identical bundles share it,
            # so a rebuild that changes nothing leaves everything downstream up to date
            try:
                context.step_context.set_data_version(context.asset_key, DataVersion(version))
            except DagsterInvariantViolationError:  # an output context built outside a run
                pass

    def handle_output(self, context: OutputContext, obj) -> None:
        """A single-run backfill hands over ``{partition key: value}`` for its whole range; each
        value is written to its own partition's bundle, as a one-partition run would."""
        if not (context.has_asset_partitions and len(context.asset_partition_keys) > 1):
            return super().handle_output(context, obj)
        keys = set(context.asset_partition_keys)
        if not isinstance(obj, dict) or set(obj) != keys:
            got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
            raise TypeError(
                f"{context.asset_key.to_user_string()}: a run over {len(keys)} partitions must return "
                f"{{partition key: value}} for exactly those partitions, got {got}"
            )
        paths = self._get_paths_for_partitions(context)
        for key in sorted(keys):
            self.dump_to_path(context=context, obj=obj[key], path=paths[key])
        context.add_output_metadata({"partitions_written": len(keys)})

    def load_from_path(self, context: InputContext, path: UPath):
        """An input declared with ``AssetIn(metadata={OPTIONAL: True})`` loads as None when its
        asset was never stored (e.g. a lane stopped by its gate before getting that far)."""
        if (context.definition_metadata or {}).get(OPTIONAL) and not Path(path).exists():
            return None
        parts, meta = load_bundle(Path(path))
        return BUNDLE_TYPES[meta["type"]].from_bundle(parts, meta["fields"])


class BundleIOManagerFactory(ConfigurableIOManagerFactory):
    """Stores asset values under the output location's ``base_dir``."""

    location: OutputLocation

    def create_io_manager(self, context) -> BundleIOManager:
        return BundleIOManager(base_path=UPath(self.location.path()))
