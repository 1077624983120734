"""Generation from a local, pretrained diffusers pipeline (Stable Diffusion, SDXL, FLUX, ...)
with one text prompt per class. Nothing is downloaded: the pipeline folder must already hold
the weights (``local_files_only=True``). Runs on CUDA in float16 when available, else on CPU.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from synth_assets.errors import InputDataError

DEFAULT_PROMPT_TEMPLATE = "a photo of {class_name}"


def class_prompts(
    class_names: Sequence[str],
    template: str = DEFAULT_PROMPT_TEMPLATE,
    overrides: Mapping[str, str] | None = None,
) -> list[str]:
    """One prompt per class: ``overrides[class]`` when given, else the template."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(class_names))
    if unknown:
        raise InputDataError(f"prompts given for unknown classes {unknown}; classes are {list(class_names)}")
    if "{class_name}" not in template and len(overrides) < len(class_names):
        raise InputDataError(f"prompt template {template!r} must contain {{class_name}}")
    return [overrides.get(name, template.format(class_name=name)) for name in class_names]


def load_pipeline(path: str | Path, device: str | None = None):
    """Load the diffusers pipeline saved in ``path`` without touching the network."""
    from diffusers import DiffusionPipeline

    path = Path(path).expanduser()
    describe_pipeline(path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.float16 if device == "cuda" else torch.float32
    try:
        pipeline = DiffusionPipeline.from_pretrained(path, local_files_only=True, dtype=dtype)
    except (OSError, ValueError, ImportError) as exc:
        raise InputDataError(f"cannot load the diffusers pipeline at {path}: {exc}") from exc
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to(device)


def to_real_format(image: Image.Image, shape: tuple[int, int, int]) -> np.ndarray:
    """A generated image converted to the real set's mode and size, as (c, h, w) in [0, 1]."""
    channels, height, width = shape
    image = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def generate(
    pipeline,
    prompts: Sequence[str],
    seeds: Sequence[int],
    shape: tuple[int, int, int],
    steps: int,
    batch_size: int = 4,
    guidance_scale: float | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> np.ndarray:
    """One image per prompt, image i from its own seeded generator, in the real set's format."""
    if len(prompts) != len(seeds):
        raise ValueError("one seed per prompt is needed")
    device = pipeline.device
    extra = {} if guidance_scale is None else {"guidance_scale": guidance_scale}
    out = []
    for start in range(0, len(prompts), batch_size):
        batch = list(prompts[start : start + batch_size])
        generators = [torch.Generator(device).manual_seed(int(s)) for s in seeds[start : start + len(batch)]]
        images = pipeline(
            prompt=batch, num_inference_steps=steps, generator=generators, output_type="pil", **extra
        ).images
        out.extend(to_real_format(image, shape) for image in images)
        log(f"pretrained pipeline: {start + len(batch)} of {len(prompts)} images")
    return np.stack(out) if out else np.zeros((0, *shape), np.float32)


def describe_pipeline(path: str | Path) -> dict:
    """What a local pipeline folder holds (class and components), read from model_index.json
    without loading any weights."""
    path = Path(path).expanduser()
    index = path / "model_index.json"
    if not index.is_file():
        raise InputDataError(
            f"{path} is not a diffusers pipeline folder (no model_index.json); save one with "
            "pipeline.save_pretrained(path) or `hf download <repo> --local-dir <path>`"
        )
    try:
        spec = json.loads(index.read_text())
    except (OSError, ValueError) as exc:
        raise InputDataError(f"{index} is not readable JSON: {exc}") from exc
    components = sorted(k for k, v in spec.items() if not k.startswith("_") and isinstance(v, list))
    return {
        "pipeline_class": spec.get("_class_name", "unknown"),
        "components": ", ".join(components),
        "cuda_available": torch.cuda.is_available(),
    }
