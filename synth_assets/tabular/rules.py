"""The tabular lane's pass rules, in one object: the checks fill it from their config and turn
measurements into verdicts (docs/metrics.md, "TSTR ratio", "DCR share", "Data quality",
"Id leakage", "Constraint violations", "Membership inference"). The scorecard-only rule
(fidelity) lives here too."""

from __future__ import annotations

from dataclasses import dataclass

from synth_assets.metrics.privacy import DCRResult
from synth_assets.metrics.quality import QualityResult
from synth_assets.metrics.utility import TSTRResult
from synth_assets.verdicts import Verdict, fmt


@dataclass(frozen=True)
class TabularRules:
    tstr_min_ratio: float = 0.90  # TSTR / TRTR on the real holdout
    dcr_max_share: float = 0.55  # 0.5 is ideal; copies of train rows push it towards 1
    quality_max_failed: int = 0  # Great Expectations failures beyond the real holdout's own
    fidelity_min_overall: float = 0.80  # SDMetrics quality score (scorecard only)
    mia_max_auc: float = 0.60  # distance membership-inference attack
    max_leaked_ids: int = 0  # synthetic rows carrying a real id
    max_rule_violations: int = 0  # synthetic rows breaking a declared or enforced rule
    max_share_shift: float = 0.05  # bias: a group's share of rows, real vs synthetic
    max_gap_increase: float = 0.05  # bias: widening of the outcome gap between groups

    @property
    def tstr_rule(self) -> str:
        return f">= {self.tstr_min_ratio:g}"

    @property
    def dcr_rule(self) -> str:
        return f"<= {self.dcr_max_share:g}, exact train copies <= the holdout's"

    @property
    def quality_rule(self) -> str:
        return f"<= {self.quality_max_failed} failed beyond the real holdout's own failures"

    @property
    def id_rule(self) -> str:
        return f"<= {self.max_leaked_ids} rows with a real id"

    @property
    def constraint_rule(self) -> str:
        return f"<= {self.max_rule_violations} rows breaking a rule"

    @property
    def mia_rule(self) -> str:
        return f"<= {self.mia_max_auc:g} (distance attack)"

    @property
    def bias_rule(self) -> str:
        return f"share shift <= {self.max_share_shift:g}, parity gap widening <= {self.max_gap_increase:g}"

    def bias_amplification(self, reports: list, source: str) -> Verdict:
        """``reports``: one :class:`~synth_assets.metrics.bias.BiasReport` per sensitive column."""
        if not reports:
            return Verdict(
                "bias_amplification", True, "max_gap_increase", 0.0, self.bias_rule,
                "no sensitive columns (none set in config, none suggested by name)",
                settings={"sensitive_columns": [], "source": source},
            )  # fmt: skip
        problems, values, per_column = [], {}, {}
        for r in reports:
            shift_ok = r.max_share_shift <= self.max_share_shift
            gap_ok = r.gap_increase <= self.max_gap_increase
            if not shift_ok:
                problems.append(f"{r.column}: a group's share moved {fmt(r.max_share_shift)}")
            if not gap_ok:
                problems.append(
                    f"{r.column}: parity gap {fmt(r.parity_gap_real)} -> {fmt(r.parity_gap_synthetic)}"
                )
            values[f"gap_increase_{r.column}"] = r.gap_increase
            values[f"share_shift_{r.column}"] = r.max_share_shift
            per_column[r.column] = {
                "outcome": r.outcome,
                "parity_gap_real": r.parity_gap_real,
                "parity_gap_synthetic": r.parity_gap_synthetic,
                "disparate_impact_real": r.disparate_impact_real,
                "disparate_impact_synthetic": r.disparate_impact_synthetic,
                "groups": r.groups.astype(object).where(r.groups.notna(), None).to_dict(orient="records"),
            }
        worst = max(r.gap_increase for r in reports)
        columns = ", ".join(
            f"{r.column} (gap {fmt(r.parity_gap_real)} -> {fmt(r.parity_gap_synthetic)}, "
            f"share shift {fmt(r.max_share_shift)})"
            for r in reports
        )
        return Verdict(
            "bias_amplification",
            not problems,
            "max_gap_increase",
            worst,
            self.bias_rule,
            ("; ".join(problems) if problems else "no group shifted or gap widened beyond the rule")
            + f": {columns}",
            values=values,
            settings={"sensitive_columns": [r.column for r in reports], "source": source},
            details={"per_column": per_column},
        )

    def id_leakage(self, leaked: dict[str, int], n_rows: int, id_handling: str) -> Verdict:
        total = sum(leaked.values())
        passed = total <= self.max_leaked_ids
        if not leaked:
            text = "no id columns"
        else:
            per_column = ", ".join(f"{c}: {n}" for c, n in leaked.items())
            text = f"{total} of {n_rows} synthetic rows carry a real id ({per_column})"
        return Verdict(
            "id_leakage",
            passed,
            "leaked_ids",
            float(total),
            self.id_rule,
            text + ("" if passed else "; every real id in synthetic data tells who was in the real table"),
            values={f"leaked_{c}": n for c, n in leaked.items()},
            settings={"id_columns": list(leaked), "id_handling": id_handling, "n_rows": n_rows},
        )

    def constraint_violations(self, per_rule: dict[str, int], n_breaking: int, n_rows: int) -> Verdict:
        passed = n_breaking <= self.max_rule_violations
        broken = {rule: n for rule, n in per_rule.items() if n}
        text = f"{n_breaking} of {n_rows} synthetic rows break one of {len(per_rule)} rule(s)" + (
            ": " + "; ".join(f"{rule} ({n})" for rule, n in broken.items()) if broken else ""
        )
        return Verdict(
            "constraint_violations",
            passed,
            "rows_breaking_rules",
            float(n_breaking),
            self.constraint_rule,
            text,
            values={"n_rules_broken": len(broken)},
            settings={"n_rules": len(per_rule), "n_rows": n_rows},
            details={"violations_per_rule": per_rule},
        )

    def membership_inference(
        self, distance_auc: float, density_auc: float | None, density_note: str, n_members: int
    ) -> Verdict:
        passed = distance_auc <= self.mia_max_auc
        text = (
            f"distance attack AUC {fmt(distance_auc)} {'<=' if passed else '>'} {self.mia_max_auc:g} "
            f"({n_members} train members vs as many holdout rows; 0.5 reveals nothing)"
        )
        text += (
            f"; density-ratio attack AUC {fmt(density_auc)} (reported)"
            if density_auc is not None
            else f"; {density_note}"
        )
        return Verdict(
            "membership_inference",
            passed,
            "mia_auc",
            distance_auc,
            self.mia_rule,
            text,
            values={"density_ratio_auc": density_auc} if density_auc is not None else {},
            settings={"n_members": n_members, "baseline": 0.5},
        )

    def tstr(self, r: TSTRResult) -> Verdict:
        passed = r.tstr_ratio >= self.tstr_min_ratio
        return Verdict(
            "tstr",
            passed,
            "tstr_ratio",
            r.tstr_ratio,
            self.tstr_rule,
            f"TSTR/TRTR {fmt(r.tstr_ratio)} {'>=' if passed else '<'} {self.tstr_min_ratio:g}: "
            f"{r.model} {r.metric} {fmt(r.tstr_score)} trained on synthetic vs {fmt(r.trtr_score)} on "
            f"real train, tested on {r.n_test} real holdout rows",
            values={f"tstr_{r.metric}": r.tstr_score, f"trtr_{r.metric}": r.trtr_score},
            settings={
                "model": r.model,
                "metric": r.metric,
                "n_test": r.n_test,
                "n_train_real": r.n_train_real,
                "n_train_synthetic": r.n_train_synthetic,
            },
        )

    def dcr(self, r: DCRResult, privacy_guarantee: str) -> Verdict:
        share_ok = r.dcr_share <= self.dcr_max_share
        copies_ok = r.exact_match_share <= r.holdout_exact_match_share
        reasons = [f"DCR share {fmt(r.dcr_share)} {'<=' if share_ok else '>'} {self.dcr_max_share:g}"]
        reasons.append(
            f"exact train copies {fmt(r.exact_match_share)} "
            f"{'<=' if copies_ok else '>'} holdout's own {fmt(r.holdout_exact_match_share)}"
        )
        return Verdict(
            "dcr",
            share_ok and copies_ok,
            "dcr_share",
            r.dcr_share,
            self.dcr_rule,
            "; ".join(reasons)
            + f" ({r.n_rows_compared} synthetic rows compared); guarantee: {privacy_guarantee}",
            values={
                "exact_match_share": r.exact_match_share,
                "holdout_exact_match_share": r.holdout_exact_match_share,
                "median_dcr": r.median_dcr,
                "median_dcr_holdout": r.median_dcr_holdout,
            },
            settings={
                "baseline": 0.5,
                "n_rows_compared": r.n_rows_compared,
                "n_reference_rows": r.n_reference_rows,
                "n_train_folds": r.n_train_folds,
                "privacy_guarantee": privacy_guarantee,
            },
        )

    def data_quality(self, result: QualityResult, holdout: QualityResult) -> Verdict:
        """Judged against the real holdout, which the same suite tests: unseen real rows also
        fall outside the train ranges now and then. The synthetic table fails only on
        expectations the holdout passes, or by failing more of them than the holdout."""
        n_failed, n_holdout = len(result.failed), len(holdout.failed)
        holdout_keys = {_key(f) for f in holdout.failed}
        beyond = [f for f in result.failed if _key(f) not in holdout_keys]
        passed = len(beyond) <= self.quality_max_failed and n_failed <= n_holdout + self.quality_max_failed
        named = ", ".join(_name(f) for f in beyond[:3]) + (", ..." if len(beyond) > 3 else "")
        return Verdict(
            "data_quality",
            passed,
            "n_failed_beyond_holdout",
            float(len(beyond)),
            self.quality_rule,
            f"{n_failed} of {result.n_expectations} expectations failed, real holdout {n_holdout}; "
            f"{len(beyond)} fail only on synthetic" + (f": {named}" if beyond else ""),
            values={"n_failed_synthetic": n_failed, "n_failed_holdout": n_holdout},
            settings={"n_expectations": result.n_expectations},
            details={"failed_expectations": result.failed, "holdout_failed_expectations": holdout.failed},
        )


def _key(failure: dict) -> tuple:
    return failure["expectation"], failure.get("column")


def _name(failure: dict) -> str:
    return (
        f"{failure['expectation']}({failure['column']})"
        if failure.get("column")
        else str(failure["expectation"])
    )
