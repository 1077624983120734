"""Tabular lane: real_table -> tabular_synth, gated by blocking TSTR, DCR and data-quality checks."""

import dataclasses

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

from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.locations import InputLocation
from synth_assets.defs.ui import number, settings, summary, table, tag_run
from synth_assets.defs.versions import code_version
from synth_assets.tabular.constraints import auto_rules, detect_inequalities, parse_constraints
from synth_assets.tabular.identifiers import ID_HANDLINGS, find_id_columns
from synth_assets.tabular.sources import load_real_table
from synth_assets.tabular.split import TableSplit, split_table
from synth_assets.tabular.synthesizers import MISSING_VALUE_MODES, SyntheticTable, synthesize

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
    encoding: str = Field(default="utf-8", description="Text encoding of a CSV file, e.g. latin-1.")
    sep: str = Field(default=",", description="Field separator of a CSV file, e.g. ';'.")
    id_columns: list[str] | None = Field(
        default=None,
        description="Identifier columns, never modelled; detected when omitted ([] for none).",
    )


class ConstraintConfig(Config):
    type: str = Field(description="inequality, range, fixed_combinations, positive or negative.")
    columns: list[str] = Field(description="inequality: [low, high]; range: [low, middle, high]; ...")
    strict: bool = Field(default=False, description="< instead of <= (inequality, range, sign).")


class DPBoundConfig(Config):
    column: str
    low: str = Field(description="Lower bound: a number, or a date such as 2020-01-01.")
    high: str = Field(description="Upper bound.")


class TabularSynthConfig(Config):
    synthesizer: str = Field(
        default="gaussian_copula",
        description="gaussian_copula, ctgan, tvae, copula_gan, or differentially private mst / aim.",
    )
    epochs: int = Field(default=300, description="Training epochs (ctgan, tvae, copula_gan).")
    num_rows: int | None = Field(default=None, description="Rows to sample; default train size.")
    seed: int = Field(default=0, description="Seed for fitting and sampling.")
    id_handling: str = Field(
        default="fresh",
        description=f"{' or '.join(ID_HANDLINGS)}: new ids disjoint from every real id, or none.",
    )
    constraints: list[ConstraintConfig] = Field(
        default=[], description="Rules between columns that every synthetic row must keep."
    )
    auto_constraints: bool = Field(
        default=True, description="Also enforce detected rules (date pairs, same-named quantities)."
    )
    max_auto_constraints: int = Field(
        default=10, description="At most this many detected rules are enforced."
    )
    epsilon: float = Field(default=1.0, description="Privacy budget of mst / aim (smaller: more private).")
    delta: float = Field(default=1e-5, description="Delta of mst / aim; keep it well below 1 / rows.")
    dp_bins: int = Field(default=16, description="mst / aim: bins per continuous column.")
    dp_bounds: list[DPBoundConfig] = Field(
        default=[], description="mst / aim: public bounds per continuous column; others come from the data."
    )
    missing_values: str = Field(
        default="joint",
        description=f"{' or '.join(MISSING_VALUE_MODES)}: model null indicators with the other "
        "columns, or draw nulls independently.",
    )


def _schema(frame: pd.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name=str(c), type=str(t)) for c, t in frame.dtypes.items()])


@asset(code_version=code_version("real_table"), group_name=GROUP, kinds={"pandas", "parquet"})
def real_table(
    context: AssetExecutionContext, config: RealTableConfig, input_location: InputLocation
) -> TableSplit:
    """The real table, split (seeded, stratified) into train and holdout.

    The holdout is used only for evaluation and never trains a synthesizer.
    """
    with settings_errors_are_final():
        real = load_real_table(
            config.source,
            target=config.target,
            task_type=config.task_type,
            allowed_dir=input_location.allowed_dir,
            encoding=config.encoding,
            sep=config.sep,
        )
        ids = find_id_columns(real.frame, real.target, config.id_columns)
    context.log.info(
        f"loaded {real.source}: {real.frame.shape[0]} rows x {real.frame.shape[1]} "
        f"columns, target {real.target!r} ({real.task_type})"
    )
    with settings_errors_are_final():
        split = split_table(real, holdout_fraction=config.holdout_fraction, seed=config.seed)
    split = dataclasses.replace(split, id_columns=tuple(i.name for i in ids))
    if ids:
        context.log.info("id columns (never modelled): " + "; ".join(f"{i.name} ({i.reason})" for i in ids))
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
        "id_columns": MetadataValue.json({i.name: i.reason for i in ids}),
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


@asset(code_version=code_version("tabular_synth"), group_name=GROUP, kinds={"sdv", "parquet"})
def tabular_synth(
    context: AssetExecutionContext, config: TabularSynthConfig, real_table: TableSplit
) -> SyntheticTable:
    """Synthetic rows from a synthesizer (SDV, or smartnoise-synth's differentially private MST /
    AIM) fit on the train split only; same schema as real. Id columns get fresh values, rules
    between columns are enforced, the privacy guarantee is stated."""
    train = real_table.train
    with settings_errors_are_final():
        declared = parse_constraints([c.model_dump() for c in config.constraints], train)
    detected = detect_inequalities(train, exclude=set(real_table.id_columns))
    declared_text = {r.describe() for r in declared}
    detected = [r for r in detected if r.describe() not in declared_text]
    applied = auto_rules(detected, train, config.max_auto_constraints) if config.auto_constraints else []
    if detected:
        context.log.info(
            f"{len(detected)} rule(s) hold in every train row; enforcing {len(applied)}: "
            + "; ".join(r.describe() for r in applied)
        )
    with settings_errors_are_final():
        synthetic = synthesize(
            train,
            kind=config.synthesizer,
            num_rows=config.num_rows,
            epochs=config.epochs,
            seed=config.seed,
            log=context.log.info,
            id_columns=list(real_table.id_columns),
            real_ids=real_table.all_rows[list(real_table.id_columns)],
            id_handling=config.id_handling,
            constraints=declared + applied,
            missing_values=config.missing_values,
            epsilon=config.epsilon,
            delta=config.delta,
            dp_bins=config.dp_bins,
            dp_bounds={b.column: (b.low, b.high) for b in config.dp_bounds},
        )
    proposed = pd.DataFrame(
        [{"rule": r.describe(), "source": r.source, "enforced": True} for r in declared]
        + [{"rule": r.describe(), "source": "detected", "enforced": r in applied} for r in detected]
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
            "settings": settings(
                epochs=synthetic.epochs,
                seed=synthetic.seed,
                num_rows=len(synthetic.data),
                id_handling=synthetic.id_handling,
                missing_values=synthetic.missing_values,
                **({"epsilon": synthetic.epsilon, "delta": synthetic.delta} if synthetic.epsilon else {}),
            ),
            "id_columns": MetadataValue.json(synthetic.id_columns),
            "rules": table(proposed, 50) if len(proposed) else "none declared or detected",
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
