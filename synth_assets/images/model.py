"""The image generator an asset hands on: either a class-conditional UNet trained here, or a
pointer to a local pretrained diffusers pipeline with one prompt per class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_assets.images import diffusion, pretrained

TRAINED, PRETRAINED = "train", "pretrained"


@dataclass
class ImageModel:
    mode: str
    class_names: list[str]
    image_shape: tuple[int, int, int]  # (channels, height, width) of the real images
    info: dict[str, Any] = field(default_factory=dict)  # settings and timings, JSON-safe
    unet: Any = None
    scheduler: Any = None
    losses: list[float] = field(default_factory=list)
    pipeline_path: str | None = None
    prompts: list[str] | None = None

    @property
    def name(self) -> str:
        if self.mode == TRAINED:
            return f"synth_assets class-conditional UNet2DModel (diffusers), seed {self.info.get('seed')}"
        return f"diffusers pipeline {self.pipeline_path}"

    def sampler(self, pipeline=None) -> str:
        return "DDIM (eta 0)" if self.mode == TRAINED else type(pipeline.scheduler).__name__

    def generate(
        self, labels: np.ndarray, steps: int, seed: int, log: Callable[[str], None] = lambda m: None, **kwargs
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """Images for ``labels`` (class indices), their per-image seeds and the sampler used."""
        seeds = diffusion.image_seeds(seed, len(labels))
        if self.mode == TRAINED:
            return (
                diffusion.sample(self.unet, self.scheduler, labels, steps=steps, seed=seed),
                seeds,
                self.sampler(),
            )
        pipeline = pretrained.load_pipeline(self.pipeline_path)
        log(f"loaded {self.pipeline_path} on {pipeline.device} ({type(pipeline).__name__})")
        images = pretrained.generate(
            pipeline, [self.prompts[c] for c in labels], seeds, self.image_shape, steps, log=log, **kwargs
        )
        return images, seeds, self.sampler(pipeline)

    def to_bundle(self):
        meta = {
            "mode": self.mode,
            "class_names": self.class_names,
            "image_shape": list(self.image_shape),
            "info": self.info,
            "pipeline_path": self.pipeline_path,
            "prompts": self.prompts,
        }
        if self.mode != TRAINED:
            return {}, meta
        parts = {
            "weights": lambda folder: diffusion.save(self.unet, self.scheduler, folder),
            "losses": pd.DataFrame({"step": np.arange(1, len(self.losses) + 1), "loss": self.losses}),
        }
        return parts, meta

    @classmethod
    def from_bundle(cls, parts, meta) -> ImageModel:
        model = cls(
            meta["mode"],
            list(meta["class_names"]),
            tuple(meta["image_shape"]),
            meta["info"],
            pipeline_path=meta["pipeline_path"],
            prompts=meta["prompts"],
        )
        if model.mode == TRAINED:
            model.unet, model.scheduler = diffusion.load(parts["weights"])
            model.losses = parts["losses"]["loss"].tolist()
        return model
