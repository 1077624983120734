"""Tabular lane: real_table -> tabular_synth, gated by blocking TSTR, DCR and data-quality checks."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    Config,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)
from pydantic import Field

from synth_assets.defs.locations import InputLocation
from synth_assets.defs.ui import number, settings, summary, table, tag_run
from synth_assets.tabular.sources import load_real_table
from synth_assets.tabular.split import TableSplit, split_table
from synth_assets.tabular.synthesizers import SyntheticTable, synthesize

GROUP = "tabular"
PREVIEW_ROWS = 5


class RealTableConfig(Config):
    source: str = Field(
        default="breast_cancer",
        description="Built-in table (breast_cancer, wine, diabetes) or a path to a CSV / Parquet file.",
    )
    target: str | None = Field(default=None, description="Target column; 'target' for built-ins.")
    task_type: str | None = Field(
        default=None, description="binary, multiclass or regression; detected when omitted."
    )
    holdout_fraction: float = Field(default=0.3, description="Share of rows kept out as holdout.")
    seed: int = Field(default=0, description="Seed of the stratified split.")


class TabularSynthConfig(Config):
    synthesizer: str = Field(
        default="gaussian_copula", description="gaussian_copula, ctgan, tvae or copula_gan."
    )
    epochs: int = Field(default=300, description="Training epochs (ctgan, tvae, copula_gan).")
    num_rows: int | None = Field(default=None, description="Rows to sample; default train size.")
    seed: int = Field(default=0, description="Seed for fitting and sampling.")


def _schema(frame: pd.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name=str(c), type=str(t)) for c, t in frame.dtypes.items()])


@asset(group_name=GROUP, kinds={"pandas", "parquet"})
def real_table(
    context: AssetExecutionContext, config: RealTableConfig, input_location: InputLocation
) -> TableSplit:
    """The real table, split (seeded, stratified) into train and holdout.

    The holdout is used only for evaluation and never trains a synthesizer.
    """
    real = load_real_table(
        config.source,
        target=config.target,
        task_type=config.task_type,
        allowed_dir=input_location.allowed_dir,
    )
    context.log.info(
        f"loaded {real.source}: {real.frame.shape[0]} rows x {real.frame.shape[1]} "
        f"columns, target {real.target!r} ({real.task_type})"
    )
    split = split_table(real, holdout_fraction=config.holdout_fraction, seed=config.seed)
    tag_run(context, {"data_source": real.source})
    metadata = {
        "summary": summary(
            f"{real.source}: {len(split.train)} train + {len(split.holdout)} holdout rows x "
            f"{split.train.shape[1]} columns; target {real.target!r} ({real.task_type})"
        ),
        "preview": table(split.train, PREVIEW_ROWS),
        "source": real.source,
        "target": real.target,
        "task_type": real.task_type,
        "n_train": len(split.train),
        "n_holdout": len(split.holdout),
        "n_columns": split.train.shape[1],
        "dagster/row_count": len(split.train) + len(split.holdout),
        "dagster/column_schema": _schema(split.train),
    }
    if real.task_type != "regression":
        balance = split.train[real.target].value_counts(normalize=True).sort_index()
        metadata["train_class_shares"] = MetadataValue.json(
            {str(k): round(float(v), 4) for k, v in balance.items()}
        )
    context.add_output_metadata(metadata)
    return split


@asset(group_name=GROUP, kinds={"sdv", "parquet"})
def tabular_synth(
    context: AssetExecutionContext, config: TabularSynthConfig, real_table: TableSplit
) -> SyntheticTable:
    """Synthetic rows from an SDV synthesizer fit on the train split only; same schema as real."""
    synthetic = synthesize(
        real_table.train,
        kind=config.synthesizer,
        num_rows=config.num_rows,
        epochs=config.epochs,
        seed=config.seed,
        log=context.log.info,
    )
    tag_run(context, {"synthesizer": synthetic.synthesizer})
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(synthetic.data)} synthetic rows x {synthetic.data.shape[1]} columns from "
                f"{synthetic.synthesizer} (fit {synthetic.fit_seconds:.1f} s on "
                f"{len(real_table.train)} train rows); privacy guarantee: {synthetic.privacy_guarantee}"
            ),
            "preview": table(synthetic.data, PREVIEW_ROWS),
            "synthesizer": synthetic.synthesizer,
            "settings": settings(epochs=synthetic.epochs, seed=synthetic.seed, num_rows=len(synthetic.data)),
            "privacy_guarantee": synthetic.privacy_guarantee,
            "fit_seconds": number(synthetic.fit_seconds),
            "sample_seconds": number(synthetic.sample_seconds),
            "created_at": synthetic.created_at,
            "sdv_version": synthetic.sdv_version,
            "dagster/row_count": len(synthetic.data),
            "dagster/column_schema": _schema(synthetic.data),
        }
    )
    return synthetic
