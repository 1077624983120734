"""Tabular lane: real_table -> tabular_synth, gated by blocking TSTR, DCR and data-quality checks."""

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    Config,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
    asset_check,
)
from pydantic import Field

from synth_assets import thresholds as T
from synth_assets.data_paths import allowed_data_dir
from synth_assets.metrics.privacy import dcr_report
from synth_assets.metrics.quality import run_quality_suite
from synth_assets.metrics.utility import MODELS, UndefinedMetricError, tstr_report
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


class TSTRCheckConfig(Config):
    threshold: float = Field(default=T.TSTR_MIN_RATIO, description="Minimum TSTR / TRTR ratio.")
    model: str = Field(default="gradient_boosting", description=f"One of {MODELS}.")
    seed: int = 0


class DCRCheckConfig(Config):
    threshold: float = Field(default=T.DCR_MAX_SHARE, description="Maximum DCR share (0.5 is ideal).")
    max_rows: int | None = Field(
        default=10_000, description="Cap on synthetic and reference rows compared (seeded sample)."
    )
    seed: int = 0


def _schema(frame: pd.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name=str(c), type=str(t)) for c, t in frame.dtypes.items()])


def _preview(frame: pd.DataFrame) -> MetadataValue:
    return MetadataValue.md(frame.head(PREVIEW_ROWS).to_markdown(index=False))


@asset(group_name=GROUP, kinds={"pandas", "parquet"})
def real_table(context: AssetExecutionContext, config: RealTableConfig) -> TableSplit:
    """The real table, split (seeded, stratified) into train and holdout.

    The holdout is used only for evaluation and never trains a synthesizer.
    """
    real = load_real_table(
        config.source,
        target=config.target,
        task_type=config.task_type,
        allowed_dir=allowed_data_dir(),
    )
    context.log.info(
        f"loaded {real.source}: {real.frame.shape[0]} rows x {real.frame.shape[1]} "
        f"columns, target {real.target!r} ({real.task_type})"
    )
    split = split_table(real, holdout_fraction=config.holdout_fraction, seed=config.seed)
    metadata = {
        "source": real.source,
        "target": real.target,
        "task_type": real.task_type,
        "n_train": len(split.train),
        "n_holdout": len(split.holdout),
        "n_columns": split.train.shape[1],
        "dagster/row_count": len(split.train) + len(split.holdout),
        "dagster/column_schema": _schema(split.train),
        "preview": _preview(split.train),
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
    context.add_output_metadata(
        {
            "synthesizer": synthetic.synthesizer,
            "epochs": synthetic.epochs,
            "seed": synthetic.seed,
            "privacy_guarantee": synthetic.privacy_guarantee,
            "fit_seconds": synthetic.fit_seconds,
            "sample_seconds": synthetic.sample_seconds,
            "created_at": synthetic.created_at,
            "sdv_version": synthetic.sdv_version,
            "dagster/row_count": len(synthetic.data),
            "dagster/column_schema": _schema(synthetic.data),
            "preview": _preview(synthetic.data),
        }
    )
    return synthetic


_REAL = {"real_table": AssetIn("real_table")}


@asset_check(asset=tabular_synth, name="tstr", blocking=True, additional_ins=_REAL)
def tstr_check(
    context, config: TSTRCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Utility: TSTR / TRTR ratio on the real holdout must reach the threshold (default 0.90)."""
    context.log.info(f"fitting {config.model} on synthetic and on real train")
    try:
        result = tstr_report(
            tabular_synth.data,
            real_table.train,
            real_table.holdout,
            real_table.target,
            real_table.task_type,
            config.model,
            config.seed,
        )
    except UndefinedMetricError as exc:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            metadata={"error": str(exc), "threshold": config.threshold},
        )
    context.log.info(
        f"TSTR {result.metric} {result.tstr_score:.4f} / TRTR {result.trtr_score:.4f} = "
        f"{result.tstr_ratio:.4f} (threshold {config.threshold})"
    )
    return AssetCheckResult(
        passed=result.tstr_ratio >= config.threshold,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "tstr_score": result.tstr_score,
            "trtr_score": result.trtr_score,
            "tstr_ratio": result.tstr_ratio,
            "threshold": config.threshold,
            "baseline": result.trtr_score,
            "metric": result.metric,
            "model": result.model,
            "n_test": result.n_test,
        },
    )


@asset_check(asset=tabular_synth, name="dcr", blocking=True, additional_ins=_REAL)
def dcr_check(
    context, config: DCRCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Privacy: DCR share <= threshold (default 0.55) and no more exact train copies than the
    holdout itself has. States the formal privacy guarantee, if any."""
    result = dcr_report(
        tabular_synth.data,
        real_table.train,
        real_table.holdout,
        seed=config.seed,
        max_rows=config.max_rows,
        log=context.log.info,
    )
    share_ok = result.dcr_share <= config.threshold
    copies_ok = result.exact_match_share <= result.holdout_exact_match_share
    context.log.info(
        f"DCR share {result.dcr_share:.4f} (threshold {config.threshold}), exact matches "
        f"{result.exact_match_share:.4f} (holdout {result.holdout_exact_match_share:.4f})"
    )
    return AssetCheckResult(
        passed=share_ok and copies_ok,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "dcr_share": result.dcr_share,
            "threshold": config.threshold,
            "baseline": 0.5,
            "exact_match_share": result.exact_match_share,
            "holdout_exact_match_share": result.holdout_exact_match_share,
            "median_dcr": result.median_dcr,
            "median_dcr_holdout": result.median_dcr_holdout,
            "n_rows_compared": result.n_rows_compared,
            "n_reference_rows": result.n_reference_rows,
            "n_train_folds": result.n_train_folds,
            "privacy_guarantee": tabular_synth.privacy_guarantee,
        },
    )


@asset_check(asset=tabular_synth, name="data_quality", blocking=True, additional_ins=_REAL)
def data_quality_check(context, tabular_synth: SyntheticTable, real_table: TableSplit) -> AssetCheckResult:
    """Great Expectations suite derived from the real train split; every expectation must hold.
    The same suite on the real holdout is reported as the baseline."""
    result = run_quality_suite(tabular_synth.data, real_table.train, tabular_synth.requested_rows)
    baseline = run_quality_suite(real_table.holdout, real_table.train, len(real_table.holdout))
    context.log.info(
        f"{len(result.failed)} of {result.n_expectations} expectations failed "
        f"(real holdout: {len(baseline.failed)})"
    )
    failed_md = "\n".join(
        f"| {f['expectation']} | {f['column'] or ''} | {str(f['detail'])[:200]} |" for f in result.failed
    )
    return AssetCheckResult(
        passed=result.success,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "n_expectations": result.n_expectations,
            "n_failed": len(result.failed),
            "threshold": 0,
            "baseline_holdout_n_failed": len(baseline.failed),
            "failed_expectations": MetadataValue.md(
                "| expectation | column | detail |\n|---|---|---|\n" + failed_md if failed_md else "none"
            ),
            "failed_expectations_json": MetadataValue.json(result.failed),
        },
    )


tabular_assets = [real_table, tabular_synth]
tabular_checks = [tstr_check, dcr_check, data_quality_check]
