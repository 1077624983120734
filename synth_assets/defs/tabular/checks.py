"""The tabular lane's blocking checks on tabular_synth: TSTR (utility), DCR and membership
inference (privacy), id leakage, rules between columns, and a Great Expectations suite (data
quality). Their thresholds fill one :class:`TabularRules`. Id columns are compared only by
``id_leakage``: every other check sees the table without them."""

import pandas as pd
from dagster import AssetCheckResult, AssetIn, Config, asset_check
from pydantic import Field

from synth_assets.defs.check_results import check_result
from synth_assets.defs.tabular.assets import tabular_synth
from synth_assets.defs.ui import table
from synth_assets.errors import InputDataError
from synth_assets.metrics.bias import bias_report, suggest_sensitive_columns
from synth_assets.metrics.membership import density_ratio_mia_auc
from synth_assets.metrics.privacy import dcr_report, membership_inference_auc
from synth_assets.metrics.quality import RANGE_TOLERANCE, run_quality_suite
from synth_assets.metrics.utility import MODELS, UndefinedMetricError, tstr_report
from synth_assets.tabular.constraints import violation_report
from synth_assets.tabular.identifiers import leaked_ids
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


class QualityCheckConfig(Config):
    range_tolerance: float = Field(
        default=RANGE_TOLERANCE, description="Range expectations widen by this share of the column's range."
    )


class BiasCheckConfig(Config):
    sensitive_columns: list[str] | None = Field(
        default=None,
        description="Columns to audit; suggested from names (gender, sex, age, ...) when omitted.",
    )
    max_share_shift: float = Field(
        default=DEFAULTS.max_share_shift, description="Most a group's share may move."
    )
    max_gap_increase: float = Field(
        default=DEFAULTS.max_gap_increase, description="Most the outcome gap between groups may widen."
    )
    blocking: bool = Field(default=False, description="Fail with ERROR (stops downstream) instead of WARN.")


class MembershipCheckConfig(Config):
    threshold: float = Field(default=DEFAULTS.mia_max_auc, description="Maximum AUC of the distance attack.")
    max_rows: int = Field(default=5000, description="Cap on rows per side (seeded sample).")
    seed: int = 0


def _report(context, verdict, **kwargs) -> AssetCheckResult:
    """Every check logs its one-line verdict and reports it."""
    context.log.info(verdict.summary)
    return check_result(verdict, **kwargs)


def compared(split: TableSplit, synthetic: SyntheticTable) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Synthetic, train and holdout rows without the id columns."""
    ids = synthetic.id_columns
    return tuple(split.without_ids(f, ids) for f in (synthetic.data, split.train, split.holdout))


@asset_check(asset=tabular_synth, name="tstr", blocking=True, additional_ins=_REAL)
def tstr_check(
    context, config: TSTRCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Utility: TSTR / TRTR ratio on the real holdout must reach the threshold (docs/metrics.md,
    "TSTR ratio")."""
    rules = TabularRules(tstr_min_ratio=config.threshold)
    context.log.info(f"fitting {config.model} on synthetic and on real train")
    try:
        data, train, holdout = compared(real_table, tabular_synth)
        result = tstr_report(
            data,
            train,
            holdout,
            real_table.target,
            real_table.task_type,
            config.model,
            config.seed,
        )
    except UndefinedMetricError as exc:
        verdict = not_measured("tstr", "tstr_ratio", rules.tstr_rule, str(exc), model=config.model)
    else:
        verdict = rules.tstr(result)
    return _report(context, verdict)


@asset_check(asset=tabular_synth, name="dcr", blocking=True, additional_ins=_REAL)
def dcr_check(
    context, config: DCRCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Privacy: DCR share at most the threshold and no more exact train copies than the holdout
    itself has (docs/metrics.md, "DCR share"). States the formal privacy guarantee, if any."""
    rules = TabularRules(dcr_max_share=config.threshold)
    data, train, holdout = compared(real_table, tabular_synth)
    try:
        result = dcr_report(
            data,
            train,
            holdout,
            seed=config.seed,
            max_rows=config.max_rows,
            log=context.log.info,
        )
    except (ValueError, InputDataError) as exc:  # no rows or no comparable columns
        verdict = not_measured("dcr", "dcr_share", rules.dcr_rule, f"{type(exc).__name__}: {exc}")
    else:
        verdict = rules.dcr(result, tabular_synth.privacy_guarantee)
    return _report(context, verdict)


@asset_check(asset=tabular_synth, name="data_quality", blocking=True, additional_ins=_REAL)
def data_quality_check(
    context, config: QualityCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Great Expectations suite derived from the real train split, run on the synthetic table and
    on the real holdout; the synthetic table may fail only what the holdout fails too
    (docs/metrics.md, "Data quality")."""
    data, train, holdout_rows = compared(real_table, tabular_synth)
    try:
        bounds = tabular_synth.public_bounds
        result = run_quality_suite(data, train, tabular_synth.requested_rows, config.range_tolerance, bounds)
        holdout = run_quality_suite(holdout_rows, train, len(holdout_rows), config.range_tolerance, bounds)
    except (ValueError, InputDataError) as exc:
        verdict = not_measured("data_quality", "n_failed_beyond_holdout", DEFAULTS.quality_rule, str(exc))
        return _report(context, verdict)
    verdict = DEFAULTS.data_quality(result, holdout)
    failed = pd.DataFrame(
        [
            {"expectation": f["expectation"], "column": f["column"] or "", "detail": str(f["detail"])}
            for f in result.failed
        ]
    )
    return _report(
        context, verdict, tables={"failed_expectations": table(failed, 50)} if len(failed) else None
    )


@asset_check(asset=tabular_synth, name="id_leakage", blocking=True, additional_ins=_REAL)
def id_leakage_check(context, tabular_synth: SyntheticTable, real_table: TableSplit) -> AssetCheckResult:
    """Privacy: no synthetic row may carry an id that occurs in the real table, train or
    holdout (docs/metrics.md, "Id leakage")."""
    ids = list(dict.fromkeys([*real_table.id_columns, *tabular_synth.id_columns]))
    leaked = leaked_ids(tabular_synth.data, real_table.all_rows, ids)
    verdict = DEFAULTS.id_leakage(leaked, len(tabular_synth.data), tabular_synth.id_handling)
    return _report(context, verdict)


@asset_check(asset=tabular_synth, name="constraint_violations", blocking=True, additional_ins=_REAL)
def constraint_violations_check(
    context, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Rules between columns: no synthetic row may break a rule declared in config or detected
    and enforced (docs/metrics.md, "Constraint violations")."""
    per_rule, n_breaking = violation_report(tabular_synth.data, tabular_synth.rules, real_table.train)
    verdict = DEFAULTS.constraint_violations(per_rule, n_breaking, len(tabular_synth.data))
    return _report(context, verdict)


@asset_check(asset=tabular_synth, name="membership_inference", blocking=True, additional_ins=_REAL)
def membership_inference_check(
    context, config: MembershipCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Privacy: an attacker holding the synthetic rows must not tell train rows from holdout rows
    (distance attack AUC at most the threshold); a density-ratio attack is reported beside it
    (docs/metrics.md, "Membership inference"). DCR can pass while this fails."""
    rules = TabularRules(mia_max_auc=config.threshold)
    data, train, holdout = compared(real_table, tabular_synth)
    n = min(len(train), len(holdout), config.max_rows)
    try:
        auc = membership_inference_auc(data, train, holdout, max_rows=config.max_rows, seed=config.seed)
    except ValueError as exc:
        verdict = not_measured("membership_inference", "mia_auc", rules.mia_rule, str(exc))
        return _report(context, verdict)
    try:
        density = density_ratio_mia_auc(data, train, holdout, max_rows=config.max_rows, seed=config.seed)
        density_auc, note = density.auc, ""
    except ValueError as exc:
        density_auc, note = None, f"density-ratio attack not measured: {exc}"
    verdict = rules.membership_inference(auc, density_auc, note, n)
    return _report(context, verdict)


@asset_check(asset=tabular_synth, name="bias_amplification", blocking=True, additional_ins=_REAL)
def bias_amplification_check(
    context, config: BiasCheckConfig, tabular_synth: SyntheticTable, real_table: TableSplit
) -> AssetCheckResult:
    """Fairness: per sensitive column, no group's share of rows may move, and the gap in outcomes
    between groups may not widen, beyond the rule (docs/metrics.md, "Bias amplification"). Warns
    by default; ``blocking: true`` makes a failure stop downstream assets and the mixes."""
    rules = TabularRules(max_share_shift=config.max_share_shift, max_gap_increase=config.max_gap_increase)
    data, train, _ = compared(real_table, tabular_synth)
    if config.sensitive_columns is None:
        columns, source = suggest_sensitive_columns(train, real_table.target), "suggested by name"
    else:
        columns, source = config.sensitive_columns, "config"
    unknown = [c for c in columns if c not in train.columns or c not in data.columns]
    if unknown:
        verdict = not_measured(
            "bias_amplification", "max_gap_increase", rules.bias_rule, f"unknown or id column(s) {unknown}"
        )
    else:
        reports = [bias_report(train, data, c, real_table.target, real_table.task_type) for c in columns]
        verdict = rules.bias_amplification(reports, source)
    return _report(context, verdict, blocking=config.blocking)


tabular_checks = [
    tstr_check,
    dcr_check,
    data_quality_check,
    id_leakage_check,
    constraint_violations_check,
    membership_inference_check,
    bias_amplification_check,
]
