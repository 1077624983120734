"""Image lane: real_images -> image_model -> synthetic_images, gated by a blocking FID check
beside its real-vs-real baseline; KID, precision/recall/density/coverage and class agreement
warn."""

import time

import numpy as np
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    Config,
    MetadataValue,
    asset,
    multi_asset_check,
)
from pydantic import Field

from synth_assets import thresholds as T
from synth_assets.data_paths import allowed_data_dir
from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.images import diffusion, pretrained
from synth_assets.images.evaluation import ImageThresholds, evaluate_images
from synth_assets.images.features import require_extractor
from synth_assets.images.model import PRETRAINED, TRAINED, ImageModel
from synth_assets.images.sources import ImageSplit, load_real_images, split_images
from synth_assets.images.synthetic import SyntheticImages, image_grid
from synth_assets.metrics.image import TooFewSamplesError
from synth_assets.reports.scorecard import png_markdown

GROUP = "images"
MODES = (TRAINED, PRETRAINED)


class RealImagesConfig(Config):
    source: str = Field(
        default="digits",
        description="'digits' (scikit-learn's 8x8 digits) or a folder with one sub-folder per class.",
    )
    holdout_fraction: float = Field(default=0.3, description="Share of images kept out as holdout.")
    seed: int = Field(default=0, description="Seed of the stratified split.")


class ImageModelConfig(Config):
    mode: str = Field(default=TRAINED, description=f"One of {MODES}.")
    steps: int = Field(default=1500, description="train: optimisation steps.")
    batch_size: int = Field(default=128, description="train: images per step.")
    learning_rate: float = Field(default=2e-3, description="train: AdamW learning rate (cosine decay).")
    width: int = Field(default=32, description="train: channels of the first UNet block.")
    seed: int = Field(default=0, description="train: seed of initialisation and batches.")
    pipeline_path: str | None = Field(
        default=None, description="pretrained: local diffusers pipeline folder (model_index.json)."
    )
    prompt_template: str = Field(
        default=pretrained.DEFAULT_PROMPT_TEMPLATE, description="pretrained: prompt per class."
    )
    prompts: dict[str, str] = Field(default={}, description="pretrained: prompts for given classes.")


class SyntheticImagesConfig(Config):
    per_class: int = Field(default=100, description="Images generated per class.")
    steps: int = Field(default=50, description="Sampler steps (DDIM for a trained model).")
    seed: int = Field(default=0, description="Image i uses noise seed seed * 1e6 + i.")
    guidance_scale: float | None = Field(default=None, description="pretrained: classifier-free guidance.")
    batch_size: int = Field(default=4, description="pretrained: prompts per pipeline call.")


class ImageChecksConfig(Config):
    feature_extractor: str = Field(
        default="real-train-cnn",
        description="Features for FID / KID / PRDC: 'real-train-cnn' (Inception is not available here).",
    )
    n: int = Field(
        default=500, description="Images per side for FID, KID and PRDC (fixed; FID depends on n)."
    )
    fid_abs_threshold: float = Field(
        default=T.FID_ABS_THRESHOLD, description="FID always accepted up to this value."
    )
    fid_baseline_multiplier: float = Field(
        default=T.FID_BASELINE_MULTIPLIER,
        description="FID accepted up to this multiple of the real-vs-real baseline.",
    )
    kid_z: float = Field(
        default=T.KID_Z, description="kid warns above baseline + kid_z x the pooled subset std of both."
    )
    min_recall_ratio: float = Field(
        default=T.MIN_RECALL_RATIO, description="prdc warns when recall or coverage < this x baseline."
    )
    min_class_agreement: float = Field(
        default=T.MIN_CLASS_AGREEMENT, description="class_agreement warns below this share."
    )
    seed: int = 0


def _grid_markdown(images: np.ndarray, labels: np.ndarray, n_classes: int, title: str) -> MetadataValue:
    grid = png_markdown(image_grid(images, labels, n_classes), title)
    return MetadataValue.md(f"**{title}** (one row per class)\n\n{grid}")


@asset(group_name=GROUP, kinds={"numpy"})
def real_images(context: AssetExecutionContext, config: RealImagesConfig) -> ImageSplit:
    """Real images with labels, split (seeded, stratified) into train and holdout. Only train
    fits a model; the holdout is for evaluation."""
    with settings_errors_are_final():
        images, labels, class_names, source = load_real_images(config.source, allowed_data_dir())
        split = split_images(images, labels, class_names, source, config.holdout_fraction, config.seed)
    context.log.info(f"loaded {source}: {len(images)} images {images.shape[1:]}, {len(class_names)} classes")
    context.add_output_metadata(
        {
            "source": source,
            "n_train": len(split.train),
            "n_holdout": len(split.holdout),
            "image_shape": list(split.shape),
            "classes": MetadataValue.json(
                {name: int(np.sum(split.train_labels == i)) for i, name in enumerate(class_names)}
            ),
            "preview": _grid_markdown(split.train, split.train_labels, len(class_names), "real train images"),
        }
    )
    return split


@asset(group_name=GROUP, kinds={"diffusers", "pytorch"})
def image_model(
    context: AssetExecutionContext, config: ImageModelConfig, real_images: ImageSplit
) -> ImageModel:
    """The generator: a class-conditional diffusers UNet2DModel trained on the real train split
    (mode 'train', CPU by default, CUDA when present), or a local pretrained diffusers pipeline
    prompted per class (mode 'pretrained': SD, SDXL, FLUX, ... with local files only)."""
    classes, shape = real_images.class_names, real_images.shape
    with settings_errors_are_final():
        if config.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {config.mode!r}")
        if config.mode == PRETRAINED:
            if not config.pipeline_path:
                raise ValueError("mode 'pretrained' needs pipeline_path (a local diffusers pipeline folder)")
            info = pretrained.describe_pipeline(config.pipeline_path)
            prompts = pretrained.class_prompts(classes, config.prompt_template, config.prompts)
            context.add_output_metadata(
                {
                    "mode": PRETRAINED,
                    "pipeline_path": config.pipeline_path,
                    **info,
                    "prompts": MetadataValue.json(dict(zip(classes, prompts, strict=True))),
                }
            )
            return ImageModel(
                PRETRAINED, classes, shape, info, pipeline_path=config.pipeline_path, prompts=prompts
            )
        settings = diffusion.TrainSettings(
            steps=config.steps,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            width=config.width,
            seed=config.seed,
        )
        started = time.perf_counter()
        unet, scheduler, losses = diffusion.train(
            real_images.train, real_images.train_labels, len(classes), settings, log=context.log.info
        )
    seconds = time.perf_counter() - started
    info = {
        **settings.__dict__,
        "device": str(next(unet.parameters()).device),
        "train_seconds": round(seconds, 2),
        "parameters": sum(p.numel() for p in unet.parameters()),
        "final_loss": float(np.mean(losses[-50:])),
    }
    context.add_output_metadata({"mode": TRAINED, **info, "steps_per_s": round(settings.steps / seconds, 2)})
    return ImageModel(TRAINED, classes, shape, info, unet=unet, scheduler=scheduler, losses=losses)


@asset(group_name=GROUP, kinds={"diffusers", "png"})
def synthetic_images(
    context: AssetExecutionContext, config: SyntheticImagesConfig, image_model: ImageModel
) -> SyntheticImages:
    """``per_class`` images per class as PNG files (text chunks mark each one synthetic and name
    its generator) with a manifest of class, seed, model, steps and sampler."""
    with settings_errors_are_final():
        if config.per_class < 1 or config.steps < 1:
            raise ValueError(f"per_class and steps must be >= 1, got {config.per_class} and {config.steps}")
        labels = np.repeat(np.arange(len(image_model.class_names)), config.per_class)
        extra = (
            {}
            if image_model.mode == TRAINED
            else {"batch_size": config.batch_size, "guidance_scale": config.guidance_scale}
        )
        started = time.perf_counter()
        images, seeds, sampler = image_model.generate(
            labels, config.steps, config.seed, log=context.log.info, **extra
        )
    seconds = time.perf_counter() - started
    context.log.info(f"generated {len(images)} images in {seconds:.1f} s with {sampler}")
    synthetic = SyntheticImages.build(
        images, labels, seeds, image_model.class_names, image_model.name, config.steps, sampler
    )
    context.add_output_metadata(
        {
            "n_images": len(images),
            "per_class": config.per_class,
            "generator": image_model.name,
            "sampler": sampler,
            "steps": config.steps,
            "generate_seconds": round(seconds, 2),
            "images_per_s": round(len(images) / seconds, 1),
            "preview": _grid_markdown(images, labels, len(image_model.class_names), "synthetic images"),
        }
    )
    return synthetic


_CHECKS = ("fid", "kid", "prdc", "class_agreement")


@multi_asset_check(
    specs=[
        AssetCheckSpec(
            name,
            asset="synthetic_images",
            additional_deps=["real_images"],
            blocking=name == "fid",
            description=description,
        )
        for name, description in zip(
            _CHECKS,
            (
                "Blocking: FID vs real holdout <= max(fid_abs_threshold, multiplier x real-vs-real FID).",
                "Unbiased KID (cubic polynomial kernel) against the real holdout, beside its baseline.",
                "Precision, recall, density, coverage (k-NN manifolds); low recall/coverage: mode collapse.",
                "Share of images the real-trained classifier assigns to the class they were conditioned on.",
            ),
            strict=True,
        )
    ],
    ins={"synthetic_images": AssetIn("synthetic_images"), "real_images": AssetIn("real_images")},
)
def image_fidelity_checks(
    context, config: ImageChecksConfig, synthetic_images: SyntheticImages, real_images: ImageSplit
):
    """FID, KID, PRDC and class agreement from one feature extractor trained on real train."""
    with settings_errors_are_final():
        require_extractor(config.feature_extractor)
    try:
        result = evaluate_images(
            real_images,
            synthetic_images.images,
            synthetic_images.labels,
            n=config.n,
            seed=config.seed,
            log=context.log.info,
        )
    except (TooFewSamplesError, ValueError) as exc:
        for name in _CHECKS:
            yield AssetCheckResult(
                check_name=name,
                asset_key="synthetic_images",
                passed=False,
                severity=AssetCheckSeverity.ERROR if name == "fid" else AssetCheckSeverity.WARN,
                metadata={"error": f"{type(exc).__name__}: {exc}"},
            )
        return
    common = {"n": result.n, "feature_extractor": result.feature_extractor}
    rules = ImageThresholds(
        config.fid_abs_threshold, config.fid_baseline_multiplier, config.kid_z, config.min_recall_ratio
    )
    threshold = rules.fid(result)
    yield AssetCheckResult(
        check_name="fid",
        asset_key="synthetic_images",
        passed=result.fid <= threshold,
        severity=AssetCheckSeverity.ERROR,
        metadata={"fid": result.fid, "fid_baseline": result.fid_baseline, "threshold": threshold, **common},
    )
    kid_threshold = rules.kid(result)
    yield AssetCheckResult(
        check_name="kid",
        asset_key="synthetic_images",
        passed=result.kid <= kid_threshold,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "kid": result.kid,
            "kid_baseline": result.kid_baseline,
            "threshold": kid_threshold,
            **common,
        },
    )
    fake, real = result.manifold, result.manifold_baseline
    yield AssetCheckResult(
        check_name="prdc",
        asset_key="synthetic_images",
        passed=fake.recall >= rules.min_recall(result) and fake.coverage >= rules.min_coverage(result),
        severity=AssetCheckSeverity.WARN,
        metadata={
            **{k: v for k, v in fake.__dict__.items()},
            **{f"{k}_baseline": v for k, v in real.__dict__.items()},
            "threshold": f"recall and coverage >= {config.min_recall_ratio} x baseline",
            **common,
        },
    )
    yield AssetCheckResult(
        check_name="class_agreement",
        asset_key="synthetic_images",
        passed=result.class_agreement >= config.min_class_agreement,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "class_agreement": result.class_agreement,
            "threshold": config.min_class_agreement,
            "baseline": result.classifier_holdout_accuracy,
            "classifier": result.feature_extractor,
        },
    )


image_assets = [real_images, image_model, synthetic_images]
image_checks = [image_fidelity_checks]
