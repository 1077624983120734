"""The tabular lane's pass rules, in one object: the checks fill it from their config and turn
measurements into verdicts (docs/metrics.md, "TSTR ratio", "DCR share", "Data quality").
The scorecard-only rules (fidelity, membership inference) live here too."""

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
    quality_max_failed: int = 0  # Great Expectations: every expectation must hold
    fidelity_min_overall: float = 0.80  # SDMetrics quality score (scorecard only)
    mia_max_auc: float = 0.60  # distance membership-inference attack (scorecard only)

    @property
    def tstr_rule(self) -> str:
        return f">= {self.tstr_min_ratio:g}"

    @property
    def dcr_rule(self) -> str:
        return f"<= {self.dcr_max_share:g}, exact train copies <= the holdout's"

    @property
    def quality_rule(self) -> str:
        return f"<= {self.quality_max_failed} failed"

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
            "; ".join(reasons) + f" ({r.n_rows_compared} synthetic rows compared)",
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
        n_failed = len(result.failed)
        passed = n_failed <= self.quality_max_failed
        failed = ", ".join(
            f"{f['expectation']}({f['column']})" if f.get("column") else str(f["expectation"])
            for f in result.failed[:3]
        )
        return Verdict(
            "data_quality",
            passed,
            "n_failed_expectations",
            float(n_failed),
            self.quality_rule,
            f"{n_failed} of {result.n_expectations} expectations failed (real holdout: "
            f"{len(holdout.failed)})" + (f": {failed}" + (", ..." if n_failed > 3 else "") if failed else ""),
            settings={"n_expectations": result.n_expectations, "holdout_n_failed": len(holdout.failed)},
            details={"failed_expectations": result.failed},
        )
