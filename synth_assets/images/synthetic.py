"""Generated images as a dataset: arrays, labels, a per-image manifest, PNG files that say
they are synthetic, and a grid preview."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from PIL.PngImagePlugin import PngInfo

PNG_DIR = "png"
MANIFEST_COLUMNS = ["file", "class_index", "class_name", "seed", "model", "steps", "sampler"]


def to_pil(image: np.ndarray) -> Image.Image:
    """(c, h, w) in [0, 1] -> 8-bit grey or RGB image."""
    pixels = np.clip(np.rint(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)
    return (
        Image.fromarray(pixels[0], "L")
        if pixels.shape[0] == 1
        else Image.fromarray(pixels.transpose(1, 2, 0), "RGB")
    )


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "class"


@dataclass
class SyntheticImages:
    images: np.ndarray  # (n, c, h, w) float32 in [0, 1]
    labels: np.ndarray  # class index per image
    class_names: list[str]
    manifest: pd.DataFrame  # MANIFEST_COLUMNS, one row per image
    generator: str

    @classmethod
    def build(
        cls, images, labels, seeds, class_names, model: str, steps: int, sampler: str
    ) -> SyntheticImages:
        labels = np.asarray(labels, np.int64)
        folders = [safe_name(name) for name in class_names]
        manifest = pd.DataFrame(
            {
                "file": [f"{PNG_DIR}/{folders[c]}/{i:06d}.png" for i, c in enumerate(labels)],
                "class_index": labels,
                "class_name": [class_names[c] for c in labels],
                "seed": np.asarray(seeds, np.int64),
                "model": model,
                "steps": steps,
                "sampler": sampler,
            }
        )
        return cls(np.asarray(images, np.float32), labels, list(class_names), manifest, model)

    def write_pngs(self, folder: Path) -> None:
        """PNG files under ``folder`` (class sub-folders) with text chunks marking each image as
        synthetic and naming its generator, plus ``manifest.csv``."""
        root = Path(folder).parent
        for image, row in zip(self.images, self.manifest.itertuples(index=False), strict=True):
            info = PngInfo()
            info.add_text("synthetic", "true")
            info.add_text("generator", row.model)
            info.add_text("class", row.class_name)
            info.add_text("seed", str(row.seed))
            info.add_text("sampler", f"{row.sampler}, {row.steps} steps")
            info.add_text("Software", "synth_assets")
            path = root / row.file
            path.parent.mkdir(parents=True, exist_ok=True)
            to_pil(image).save(path, pnginfo=info)
        self.manifest.to_csv(Path(folder) / "manifest.csv", index=False)

    def to_bundle(self):
        parts = {
            "images": self.images,
            "labels": self.labels,
            "manifest": self.manifest,
            PNG_DIR: self.write_pngs,
        }
        return parts, {"class_names": self.class_names, "generator": self.generator}

    @classmethod
    def from_bundle(cls, parts, meta) -> SyntheticImages:
        return cls(
            parts["images"], parts["labels"], list(meta["class_names"]), parts["manifest"], meta["generator"]
        )


def image_grid(
    images: np.ndarray, labels: np.ndarray, n_classes: int, per_class: int = 10, tile: int = 32
) -> bytes:
    """PNG bytes of a grid: one row per class, the first ``per_class`` images of that class,
    each upscaled (nearest neighbour) to at least ``tile`` pixels high."""
    if len(images) == 0:
        raise ValueError("no images for a grid")
    channels, height, width = images.shape[1:]
    scale = max(1, -(-tile // height))
    cell_h, cell_w, pad = height * scale, width * scale, 2
    grid = Image.new(
        "L" if channels == 1 else "RGB",
        (per_class * (cell_w + pad) + pad, n_classes * (cell_h + pad) + pad),
        255,
    )
    for row in range(n_classes):
        for col, index in enumerate(np.flatnonzero(labels == row)[:per_class]):
            tile_image = to_pil(images[index]).resize((cell_w, cell_h), Image.Resampling.NEAREST)
            grid.paste(tile_image, (pad + col * (cell_w + pad), pad + row * (cell_h + pad)))
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()
