"""The image generator an asset hands on: either a class-conditional UNet trained here on the
real images (:class:`TrainedImageModel`), or a pointer to a local pretrained diffusers pipeline
with one prompt per class (:class:`PretrainedImageModel`).

Both subclass :class:`ImageModel`: code that generates images calls ``model.generate(...)`` and
reads ``model.name`` / ``model.class_names`` without asking which kind it holds.

Bundles: each class writes its own ``to_bundle()`` and reads it back with its own
``from_bundle(parts, fields)``; the fields carry ``"mode"`` (:data:`TRAINED` or
:data:`PRETRAINED`), so a bundle of the other kind is refused with a clear error and
``ImageModel.from_bundle`` can dispatch on it, which also loads bundles written by the former
single ``ImageModel`` class (stored under the type name ``"ImageModel"``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synth_assets.images import diffusion, pretrained

TRAINED, PRETRAINED = "train", "pretrained"  # the "mode" tag in configs, metadata and bundle fields

Generated = tuple[np.ndarray, np.ndarray, str]  # images, per-image seeds, sampler used


def _no_log(message: str) -> None:
    pass


@dataclass
class ImageModel(ABC):
    """What every image generator has: the classes it generates, the real images' shape and
    JSON-safe settings and timings."""

    mode: ClassVar[str]  # TRAINED or PRETRAINED, written to the bundle fields

    class_names: list[str]
    image_shape: tuple[int, int, int]  # (channels, height, width) of the real images
    info: dict[str, Any] = field(default_factory=dict)  # settings and timings, JSON-safe

    @property
    @abstractmethod
    def name(self) -> str:
        """The generator's name, as written to the manifest and the PNG text chunks."""

    @abstractmethod
    def generate(
        self,
        labels: np.ndarray,
        steps: int,
        seed: int,
        log: Callable[[str], None] = _no_log,
        *,
        batch_size: int | None = None,
        guidance_scale: float | None = None,
    ) -> Generated:
        """Images for ``labels`` (class indices), their per-image seeds and the sampler used.
        ``batch_size`` and ``guidance_scale`` are pipeline settings; a model without such a
        setting ignores it."""

    @abstractmethod
    def to_bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(parts, fields)`` for :func:`synth_assets.storage.save_bundle`."""

    def _fields(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "class_names": self.class_names,
            "image_shape": list(self.image_shape),
            "info": self.info,
        }

    @classmethod
    def from_bundle(cls, parts: Mapping[str, Any], fields: Mapping[str, Any]) -> ImageModel:
        """The model of whichever kind the bundle holds (by its ``"mode"`` field). Also reads
        bundles written by the former single ``ImageModel`` class."""
        kinds = {kind.mode: kind for kind in (TrainedImageModel, PretrainedImageModel)}
        mode = fields.get("mode")
        if mode not in kinds:
            raise ValueError(
                f"not an image model bundle: its 'mode' field is {mode!r}, expected one of {sorted(kinds)}"
            )
        return kinds[mode].from_bundle(parts, fields)

    @classmethod
    def _check_mode(cls, fields: Mapping[str, Any]) -> None:
        mode = fields.get("mode")
        if mode == cls.mode:
            return
        if mode in (TRAINED, PRETRAINED):
            raise ValueError(
                f"{cls.__name__}.from_bundle: the bundle holds an image model of mode {mode!r}, "
                f"not {cls.mode!r}; load it with ImageModel.from_bundle, which picks the class by mode"
            )
        raise ValueError(
            f"{cls.__name__}.from_bundle: not an image model bundle (its 'mode' field is {mode!r})"
        )


@dataclass(kw_only=True)
class TrainedImageModel(ImageModel):
    """A class-conditional diffusers UNet2DModel trained here, sampled with our DDIM loop."""

    mode: ClassVar[str] = TRAINED
    sampler: ClassVar[str] = "DDIM (eta 0)"

    unet: Any
    scheduler: Any
    losses: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"synth_assets class-conditional UNet2DModel (diffusers), seed {self.info.get('seed')}"

    def generate(
        self,
        labels: np.ndarray,
        steps: int,
        seed: int,
        log: Callable[[str], None] = _no_log,
        *,
        batch_size: int | None = None,
        guidance_scale: float | None = None,
    ) -> Generated:
        """Images for ``labels`` by DDIM (eta 0). ``batch_size`` and ``guidance_scale`` are
        pipeline settings and are ignored: sampling runs in its own batches, unguided."""
        return (
            diffusion.sample(self.unet, self.scheduler, labels, steps=steps, seed=seed),
            diffusion.image_seeds(seed, len(labels)),
            self.sampler,
        )

    def to_bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        parts = {
            "weights": lambda folder: diffusion.save(self.unet, self.scheduler, folder),
            "losses": pd.DataFrame({"step": np.arange(1, len(self.losses) + 1), "loss": self.losses}),
        }
        return parts, self._fields()

    @classmethod
    def from_bundle(cls, parts: Mapping[str, Any], fields: Mapping[str, Any]) -> TrainedImageModel:
        cls._check_mode(fields)
        unet, scheduler = diffusion.load(parts["weights"])
        return cls(
            list(fields["class_names"]),
            tuple(fields["image_shape"]),
            fields["info"],
            unet=unet,
            scheduler=scheduler,
            losses=parts["losses"]["loss"].tolist(),
        )


@dataclass(kw_only=True)
class PretrainedImageModel(ImageModel):
    """A local diffusers pipeline (loaded from ``pipeline_path`` when generating) with one
    prompt per class. Only the path and the prompts are stored, never the weights."""

    mode: ClassVar[str] = PRETRAINED

    pipeline_path: str
    prompts: list[str]  # one per class, in class_names order

    @property
    def name(self) -> str:
        return f"diffusers pipeline {self.pipeline_path}"

    def generate(
        self,
        labels: np.ndarray,
        steps: int,
        seed: int,
        log: Callable[[str], None] = _no_log,
        *,
        batch_size: int | None = None,
        guidance_scale: float | None = None,
    ) -> Generated:
        """Images for ``labels`` from the class prompts; the sampler is the pipeline's scheduler."""
        seeds = diffusion.image_seeds(seed, len(labels))
        pipeline = pretrained.load_pipeline(self.pipeline_path)
        log(f"loaded {self.pipeline_path} on {pipeline.device} ({type(pipeline).__name__})")
        options = {} if batch_size is None else {"batch_size": batch_size}
        images = pretrained.generate(
            pipeline,
            [self.prompts[c] for c in labels],
            seeds,
            self.image_shape,
            steps,
            guidance_scale=guidance_scale,
            log=log,
            **options,
        )
        return images, seeds, type(pipeline.scheduler).__name__

    def to_bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {}, {**self._fields(), "pipeline_path": self.pipeline_path, "prompts": self.prompts}

    @classmethod
    def from_bundle(cls, parts: Mapping[str, Any], fields: Mapping[str, Any]) -> PretrainedImageModel:
        cls._check_mode(fields)
        return cls(
            list(fields["class_names"]),
            tuple(fields["image_shape"]),
            fields["info"],
            pipeline_path=fields["pipeline_path"],
            prompts=list(fields["prompts"]),
        )
