"""The image lane's pass rules, in one object: the checks fill it from their config and turn an
:class:`ImageEvaluation` into verdicts (docs/metrics.md, "FID", "KID", "Precision, recall,
density, coverage", "Class agreement"). Every rule is relative to the real-vs-real baseline
measured at the same n."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from synth_assets.images.evaluation import ImageEvaluation
from synth_assets.verdicts import Verdict, fmt


@dataclass(frozen=True)
class ImageRules:
    fid_abs: float = 10.0  # FID always accepted up to this value
    fid_baseline_multiplier: float = 2.0  # ... or up to this multiple of real-vs-real FID
    kid_z: float = 3.0  # KID up to its baseline + kid_z pooled subset standard deviations
    min_recall_ratio: float = 0.80  # recall and coverage at least this share of the baseline's
    min_class_agreement: float = 0.80

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

    def verdicts(self, e: ImageEvaluation) -> list[Verdict]:
        return [self.fid(e), self.kid(e), self.prdc(e), self.class_agreement(e)]
