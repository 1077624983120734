"""The image lane's checks on synthetic_images, from one feature extractor trained on real
train: FID blocks; KID, precision/recall/density/coverage, class agreement and class balance warn. Their
thresholds fill one :class:`ImageRules`."""

from dagster import AssetCheckSpec, AssetIn, Config, multi_asset_check
from pydantic import Field

from synth_assets.defs.check_results import check_result
from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.images.evaluation import evaluate_images
from synth_assets.images.features import require_extractor
from synth_assets.images.rules import ImageRules
from synth_assets.images.sources import ImageSplit
from synth_assets.images.synthetic import SyntheticImages
from synth_assets.metrics.image import TooFewSamplesError
from synth_assets.verdicts import not_measured

DEFAULTS = ImageRules()
ASSET = "synthetic_images"
CHECKS = {
    "fid": "Blocking: FID vs real holdout <= max(fid_abs_threshold, multiplier x real-vs-real FID).",
    "kid": "Unbiased KID (cubic polynomial kernel) against the real holdout, beside its baseline.",
    "prdc": "Precision, recall, density, coverage (k-NN manifolds); low recall/coverage: mode collapse.",
    "class_agreement": "Share of images the real-trained classifier assigns to the class they were "
    "conditioned on.",
    "class_balance": "Per class: predicted share vs requested share, and agreement within the class; "
    "warns by default, blocks with class_balance_blocking.",
}
BLOCKING = {"fid"}
CONFIGURABLE = {"class_balance"}  # blocking spec; severity ERROR only when its config says so


class ImageChecksConfig(Config):
    feature_extractor: str = Field(
        default="real-train-cnn",
        description="Features for FID / KID / PRDC: 'real-train-cnn' (Inception is not available here).",
    )
    n: int = Field(
        default=500, description="Images per side for FID, KID and PRDC (fixed; FID depends on n)."
    )
    fid_abs_threshold: float = Field(
        default=DEFAULTS.fid_abs, description="FID always accepted up to this value."
    )
    fid_baseline_multiplier: float = Field(
        default=DEFAULTS.fid_baseline_multiplier,
        description="FID accepted up to this multiple of the real-vs-real baseline.",
    )
    kid_z: float = Field(
        default=DEFAULTS.kid_z,
        description="kid warns above baseline + kid_z x the pooled subset std of both.",
    )
    min_recall_ratio: float = Field(
        default=DEFAULTS.min_recall_ratio, description="prdc warns when recall or coverage < this x baseline."
    )
    min_class_agreement: float = Field(
        default=DEFAULTS.min_class_agreement, description="class_agreement warns below this share."
    )
    min_class_share_ratio: float = Field(
        default=DEFAULTS.min_class_share_ratio,
        description="class_balance fails when the classifier sees a class less than this x as often "
        "as requested.",
    )
    min_agreement_per_class: float = Field(
        default=DEFAULTS.min_agreement_per_class,
        description="class_balance fails when a class's own images agree less than this.",
    )
    class_balance_blocking: bool = Field(
        default=False, description="A class_balance failure stops the mix (default: warn only)."
    )
    seed: int = 0

    def rules(self) -> ImageRules:
        return ImageRules(
            self.fid_abs_threshold,
            self.fid_baseline_multiplier,
            self.kid_z,
            self.min_recall_ratio,
            self.min_class_agreement,
            self.min_class_share_ratio,
            self.min_agreement_per_class,
        )

    def blocks(self, check: str) -> bool:
        return check in BLOCKING or (check in CONFIGURABLE and self.class_balance_blocking)


@multi_asset_check(
    specs=[
        AssetCheckSpec(
            name,
            asset=ASSET,
            additional_deps=["real_images"],
            blocking=name in BLOCKING | CONFIGURABLE,
            description=text,
        )
        for name, text in CHECKS.items()
    ],
    ins={"synthetic_images": AssetIn("synthetic_images"), "real_images": AssetIn("real_images")},
)
def image_fidelity_checks(
    context, config: ImageChecksConfig, synthetic_images: SyntheticImages, real_images: ImageSplit
):
    """FID, KID, PRDC, class agreement and class balance from one feature extractor trained on
    real train (docs/metrics.md, "FID", "KID", "Precision, recall, density, coverage", "Class
    agreement", "Class balance")."""
    with settings_errors_are_final():
        require_extractor(config.feature_extractor)
    try:
        evaluation = evaluate_images(
            real_images,
            synthetic_images.images,
            synthetic_images.labels,
            n=config.n,
            seed=config.seed,
            log=context.log.info,
        )
    except (TooFewSamplesError, ValueError) as exc:
        for name in CHECKS:
            verdict = not_measured(name, name, "", f"{type(exc).__name__}: {exc}", n=config.n)
            yield check_result(verdict, blocking=config.blocks(name), asset_key=ASSET)
        return
    for verdict in config.rules().verdicts(evaluation):
        context.log.info(f"{verdict.check}: {verdict.summary}")
        yield check_result(verdict, blocking=config.blocks(verdict.check), asset_key=ASSET)


image_checks = [image_fidelity_checks]
