"""The tabular lane's blocking checks on tabular_synth: TSTR (utility), DCR (privacy) and a
Great Expectations suite (data quality). Their thresholds fill one :class:`TabularRules`."""

import pandas as pd
from dagster import AssetCheckResult, AssetIn, Config, asset_check
from pydantic import Field

from synth_assets.defs.check_results import check_result
from synth_assets.defs.tabular.assets import tabular_synth
from synth_assets.defs.ui import table
from synth_assets.errors import InputDataError
from synth_assets.metrics.privacy import dcr_report
from synth_assets.metrics.quality import run_quality_suite
from synth_assets.metrics.utility import MODELS, UndefinedMetricError, tstr_report
from synth_assets.tabular.rules import TabularRules
from synth_assets.tabular.split import TableSplit
from synth_assets.tabular.synthesizers import SyntheticTable
from synth_assets.verdicts import not_measured

DEFAULTS = TabularRules()
_REAL = {"real_table": AssetIn("real_table")}


class TSTRCheckConfig(Config):
    threshold: float = Field(default=DEFAULTS.tstr_min_ratio, description="Minimum TSTR / TRTR ratio.")
    model: str = Field(default="gradient_boosting", description=f"One of {MODELS}.")
    seed: int = 0


class DCRCheckConfig(Config):
    threshold: float = Field(default=DEFAULTS.dcr_max_share, description="Maximum DCR share (0.5 is ideal).")
    max_rows: int | None = Field(
        default=10_000, description="Cap on synthetic and reference rows compared (seeded sample)."
    )
    seed: int = 0


@asset_check(asset=tabular_synth, name="tstr", blocking=True, additional_ins=_REAL)
def tstr_check(
    context, config: TSTRCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Utility: TSTR / TRTR ratio on the real holdout must reach the threshold (docs/metrics.md,
    "TSTR ratio")."""
    rules = TabularRules(tstr_min_ratio=config.threshold)
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
        verdict = not_measured("tstr", "tstr_ratio", rules.tstr_rule, str(exc), model=config.model)
    else:
        verdict = rules.tstr(result)
    context.log.info(verdict.summary)
    return check_result(verdict)


@asset_check(asset=tabular_synth, name="dcr", blocking=True, additional_ins=_REAL)
def dcr_check(
    context, config: DCRCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Privacy: DCR share at most the threshold and no more exact train copies than the holdout
    itself has (docs/metrics.md, "DCR share"). States the formal privacy guarantee, if any."""
    rules = TabularRules(dcr_max_share=config.threshold)
    try:
        result = dcr_report(
            tabular_synth.data,
            real_table.train,
            real_table.holdout,
            seed=config.seed,
            max_rows=config.max_rows,
            log=context.log.info,
        )
    except (ValueError, InputDataError) as exc:  # no rows or no comparable columns
        verdict = not_measured("dcr", "dcr_share", rules.dcr_rule, f"{type(exc).__name__}: {exc}")
    else:
        verdict = rules.dcr(result, tabular_synth.privacy_guarantee)
    context.log.info(verdict.summary)
    return check_result(verdict)


@asset_check(asset=tabular_synth, name="data_quality", blocking=True, additional_ins=_REAL)
def data_quality_check(context, tabular_synth: SyntheticTable, real_table: TableSplit) -> AssetCheckResult:
    """Great Expectations suite derived from the real train split; every expectation must hold.
    The same suite on the real holdout is reported as the baseline (docs/metrics.md, "Data quality")."""
    try:
        result = run_quality_suite(tabular_synth.data, real_table.train, tabular_synth.requested_rows)
        holdout = run_quality_suite(real_table.holdout, real_table.train, len(real_table.holdout))
    except (ValueError, InputDataError) as exc:
        verdict = not_measured("data_quality", "n_failed_expectations", DEFAULTS.quality_rule, str(exc))
        context.log.info(verdict.summary)
        return check_result(verdict)
    verdict = DEFAULTS.data_quality(result, holdout)
    context.log.info(verdict.summary)
    failed = pd.DataFrame(
        [
            {"expectation": f["expectation"], "column": f["column"] or "", "detail": str(f["detail"])}
            for f in result.failed
        ]
    )
    return check_result(verdict, tables={"failed_expectations": table(failed, 50)} if len(failed) else None)


tabular_checks = [tstr_check, dcr_check, data_quality_check]
