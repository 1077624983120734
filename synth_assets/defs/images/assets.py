"""Image lane: real_images -> image_model -> synthetic_images, gated by a blocking FID check
beside its real-vs-real baseline; KID, precision/recall/density/coverage and class agreement
warn."""

import time

import numpy as np
from dagster import (
    AssetExecutionContext,
    Config,
    MetadataValue,
    asset,
)
from pydantic import Field

from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.locations import InputLocation
from synth_assets.defs.ui import number, summary, tag_run
from synth_assets.defs.ui import settings as settings_text
from synth_assets.defs.versions import code_version
from synth_assets.images import diffusion, pretrained
from synth_assets.images.model import PRETRAINED, TRAINED, ImageModel, PretrainedImageModel, TrainedImageModel
from synth_assets.images.sources import ImageSplit, load_real_images, split_images
from synth_assets.images.synthetic import SyntheticImages, image_grid
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


def _grid_markdown(images: np.ndarray, labels: np.ndarray, n_classes: int, title: str) -> MetadataValue:
    grid = png_markdown(image_grid(images, labels, n_classes), title)
    return MetadataValue.md(f"**{title}** (one row per class)\n\n{grid}")


@asset(code_version=code_version("real_images"), group_name=GROUP, kinds={"numpy"})
def real_images(
    context: AssetExecutionContext, config: RealImagesConfig, input_location: InputLocation
) -> ImageSplit:
    """Real images with labels, split (seeded, stratified) into train and holdout. Only train
    fits a model; the holdout is for evaluation."""
    with settings_errors_are_final():
        images, labels, class_names, source = load_real_images(config.source, input_location.allowed_dir)
        split = split_images(images, labels, class_names, source, config.holdout_fraction, config.seed)
    context.log.info(f"loaded {source}: {len(images)} images {images.shape[1:]}, {len(class_names)} classes")
    tag_run(context, {"data_source": source})
    context.add_output_metadata(
        {
            "summary": summary(
                f"{source}: {len(split.train)} train + {len(split.holdout)} holdout images "
                f"{'x'.join(map(str, split.shape))}, {len(class_names)} classes"
            ),
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


@asset(code_version=code_version("image_model"), group_name=GROUP, kinds={"diffusers", "pytorch"})
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
            tag_run(context, {"generator": f"pretrained:{config.pipeline_path}"})
            context.add_output_metadata(
                {
                    "summary": summary(f"pretrained pipeline {config.pipeline_path}, prompted per class"),
                    "mode": PRETRAINED,
                    "pipeline_path": config.pipeline_path,
                    **info,
                    "prompts": MetadataValue.json(dict(zip(classes, prompts, strict=True))),
                }
            )
            return PretrainedImageModel(
                classes, shape, info, pipeline_path=config.pipeline_path, prompts=prompts
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
        # no training time: a run fact in the metadata below, so a rebuild stores the same bytes
        "parameters": sum(p.numel() for p in unet.parameters()),
        "final_loss": float(np.mean(losses[-50:])),
    }
    tag_run(context, {"generator": f"trained UNet2DModel ({settings.steps} steps)"})
    context.add_output_metadata(
        {
            "summary": summary(
                f"class-conditional UNet2DModel, {info['parameters']:,} parameters, trained {settings.steps} "
                f"steps on {info['device']} in {seconds:.0f} s (final loss {info['final_loss']:.4g})"
            ),
            "mode": TRAINED,
            "settings": settings_text(**settings.__dict__),
            "device": info["device"],
            "train_seconds": number(seconds),
            "parameters": info["parameters"],
            "final_loss": number(info["final_loss"]),
            "steps_per_s": number(settings.steps / seconds),
        }
    )
    return TrainedImageModel(classes, shape, info, unet=unet, scheduler=scheduler, losses=losses)


@asset(code_version=code_version("synthetic_images"), group_name=GROUP, kinds={"diffusers", "png"})
def synthetic_images(
    context: AssetExecutionContext, config: SyntheticImagesConfig, image_model: ImageModel
) -> SyntheticImages:
    """``per_class`` images per class as PNG files (text chunks mark each one synthetic and name
    its generator) with a manifest of class, seed, model, steps and sampler."""
    with settings_errors_are_final():
        if config.per_class < 1 or config.steps < 1:
            raise ValueError(f"per_class and steps must be >= 1, got {config.per_class} and {config.steps}")
        labels = np.repeat(np.arange(len(image_model.class_names)), config.per_class)
        started = time.perf_counter()
        images, seeds, sampler = image_model.generate(
            labels,
            config.steps,
            config.seed,
            log=context.log.info,
            batch_size=config.batch_size,
            guidance_scale=config.guidance_scale,
        )
    seconds = time.perf_counter() - started
    context.log.info(f"generated {len(images)} images in {seconds:.1f} s with {sampler}")
    synthetic = SyntheticImages.build(
        images, labels, seeds, image_model.class_names, image_model.name, config.steps, sampler
    )
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(images)} images ({config.per_class} per class) from {image_model.name}, {sampler} "
                f"{config.steps} steps, in {seconds:.1f} s"
            ),
            "n_images": len(images),
            "generator": image_model.name,
            "sampler": sampler,
            "settings": settings_text(per_class=config.per_class, steps=config.steps, seed=config.seed),
            "generate_seconds": round(seconds, 2),
            "images_per_s": round(len(images) / seconds, 1),
            "preview": _grid_markdown(images, labels, len(image_model.class_names), "synthetic images"),
        }
    )
    return synthetic
