"""The image lane's pass rules, in one object: the checks fill it from their config and turn an
:class:`ImageEvaluation` into verdicts (docs/metrics.md, "FID", "KID", "Precision, recall,
density, coverage", "Class agreement"). Every rule is relative to the real-vs-real baseline
measured at the same n."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from synth_assets.images.evaluation import ImageEvaluation
from synth_assets.metrics.balance import balance_report
from synth_assets.verdicts import Verdict, fmt


@dataclass(frozen=True)
class ImageRules:
    fid_abs: float = 10.0  # FID always accepted up to this value
    fid_baseline_multiplier: float = 2.0  # ... or up to this multiple of real-vs-real FID
    kid_z: float = 3.0  # KID up to its baseline + kid_z pooled subset standard deviations
    min_recall_ratio: float = 0.80  # recall and coverage at least this share of the baseline's
    min_class_agreement: float = 0.80
    min_class_share_ratio: float = 0.5  # a class the classifier sees < half as often as requested
    min_agreement_per_class: float = 0.5  # ... or whose own images agree less than this

    def fid_limit(self, e: ImageEvaluation) -> float:
        return max(self.fid_abs, self.fid_baseline_multiplier * e.fid_baseline)

    def kid_limit(self, e: ImageEvaluation) -> float:
        return e.kid_baseline + self.kid_z * float(np.hypot(e.kid_std, e.kid_baseline_std))

    def min_recall(self, e: ImageEvaluation) -> float:
        return self.min_recall_ratio * e.manifold_baseline.recall

    def min_coverage(self, e: ImageEvaluation) -> float:
        return self.min_recall_ratio * e.manifold_baseline.coverage

    def _settings(self, e: ImageEvaluation) -> dict:
        return {"n": e.n, "feature_extractor": e.feature_extractor}

    def fid(self, e: ImageEvaluation) -> Verdict:
        limit = self.fid_limit(e)
        passed = e.fid <= limit
        return Verdict(
            "fid",
            passed,
            "fid",
            e.fid,
            f"<= {fmt(limit)}",
            f"FID {fmt(e.fid)} {'<=' if passed else '>'} {fmt(limit)} = max({self.fid_abs:g}, "
            f"{self.fid_baseline_multiplier:g} x real-vs-real {fmt(e.fid_baseline)}) at n={e.n}",
            values={"fid_baseline": e.fid_baseline},
            settings={
                **self._settings(e),
                "fid_abs": self.fid_abs,
                "fid_baseline_multiplier": self.fid_baseline_multiplier,
            },
        )

    def kid(self, e: ImageEvaluation) -> Verdict:
        limit = self.kid_limit(e)
        passed = e.kid <= limit
        return Verdict(
            "kid",
            passed,
            "kid",
            e.kid,
            f"<= {fmt(limit)}",
            f"KID {fmt(e.kid)} (std {fmt(e.kid_std)}) {'<=' if passed else '>'} {fmt(limit)} = "
            f"real-vs-real {fmt(e.kid_baseline)} + {self.kid_z:g} pooled std, at n={e.n}",
            values={
                "kid_std": e.kid_std,
                "kid_baseline": e.kid_baseline,
                "kid_baseline_std": e.kid_baseline_std,
            },
            settings={**self._settings(e), "kid_z": self.kid_z},
        )

    def prdc(self, e: ImageEvaluation) -> Verdict:
        fake, real = e.manifold, e.manifold_baseline
        min_recall, min_coverage = self.min_recall(e), self.min_coverage(e)
        recall_ok, coverage_ok = fake.recall >= min_recall, fake.coverage >= min_coverage
        return Verdict(
            "prdc",
            recall_ok and coverage_ok,
            "recall",
            fake.recall,
            f"recall >= {fmt(min_recall)}, coverage >= {fmt(min_coverage)}",
            f"recall {fmt(fake.recall)} {'>=' if recall_ok else '<'} {fmt(min_recall)}, coverage "
            f"{fmt(fake.coverage)} {'>=' if coverage_ok else '<'} {fmt(min_coverage)} "
            f"({self.min_recall_ratio:g} x real-vs-real); precision {fmt(fake.precision)}, "
            f"density {fmt(fake.density)}",
            values={
                **{k: v for k, v in asdict(fake).items() if k != "recall"},
                **{f"{k}_baseline": v for k, v in asdict(real).items()},
            },
            settings={**self._settings(e), "min_recall_ratio": self.min_recall_ratio},
            details={"min_coverage": min_coverage},
        )

    def class_agreement(self, e: ImageEvaluation) -> Verdict:
        passed = e.class_agreement >= self.min_class_agreement
        return Verdict(
            "class_agreement",
            passed,
            "class_agreement",
            e.class_agreement,
            f">= {self.min_class_agreement:g}",
            f"class agreement {fmt(e.class_agreement)} {'>=' if passed else '<'} "
            f"{self.min_class_agreement:g} (the classifier's own real holdout accuracy: "
            f"{fmt(e.classifier_holdout_accuracy)})",
            values={"classifier_holdout_accuracy": e.classifier_holdout_accuracy},
            settings={"classifier": e.feature_extractor},
        )

    @property
    def balance_rule(self) -> str:
        return (
            f"predicted share >= {self.min_class_share_ratio:g} x requested, agreement per class "
            f">= {self.min_agreement_per_class:g}"
        )

    def class_balance(self, e: ImageEvaluation) -> Verdict:
        """Per class: the share of generated images the real-trained classifier puts in it
        against the share requested, and the agreement among the images conditioned on it. An
        overall agreement can pass while one class is never drawn recognisably."""
        if not e.per_class:
            return Verdict(
                "class_balance", False, "class_share_ratio", None, self.balance_rule,
                "class_share_ratio not measured: the evaluation has no per-class results",
            )  # fmt: skip
        names = [row["class"] for row in e.per_class]
        predicted = [name for row in e.per_class for name in [row["class"]] * row["predicted"]]
        requested = {row["class"]: row["requested"] for row in e.per_class}
        report = balance_report(predicted, requested, self.min_class_share_ratio, min_expected=1.0)
        problems = [
            f"class '{row.group}' is {fmt(row.share)} of what the classifier sees, {fmt(row.expected_share)} "
            "requested"
            for row in report.groups[report.groups["under"]].itertuples()
        ]
        problems += [
            f"class '{row['class']}' agreement {fmt(row['agreement'])} < {self.min_agreement_per_class:g}"
            for row in e.per_class
            if row["agreement"] is not None and row["agreement"] < self.min_agreement_per_class
        ]
        agreements = [row["agreement"] for row in e.per_class if row["agreement"] is not None]
        groups = report.groups.set_index("group")
        rows = [
            row
            | {
                "requested_share": groups.at[row["class"], "expected_share"],
                "predicted_share": groups.at[row["class"], "share"],
            }
            for row in e.per_class
        ]
        return Verdict(
            "class_balance",
            not problems,
            "class_share_ratio",
            report.min_ratio,
            self.balance_rule,
            ("; ".join(problems) if problems else f"every one of {len(names)} classes within the rule")
            + f": predicted-class entropy {fmt(report.entropy)} (requested {fmt(report.expected_entropy)}), "
            f"lowest agreement in a class {fmt(min(agreements)) if agreements else 'n/a'}",
            values={
                "class_entropy": report.entropy,
                "min_agreement_per_class": min(agreements) if agreements else float("nan"),
            },
            settings={"classifier": e.feature_extractor, "n_classes": len(names)},
            details={"per_class": rows},
        )

    def verdicts(self, e: ImageEvaluation) -> list[Verdict]:
        return [self.fid(e), self.kid(e), self.prdc(e), self.class_agreement(e), self.class_balance(e)]
