"""Real images with labels: scikit-learn's bundled digits (offline) or a folder with one
sub-folder per class. Images are float32 arrays in [0, 1], shape (n, channels, height, width)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from sklearn.model_selection import train_test_split

from synth_assets.data_paths import require_inside
from synth_assets.errors import InputDataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
MIN_PER_CLASS = 2


@dataclass(frozen=True)
class ImageSplit:
    train: np.ndarray
    train_labels: np.ndarray
    holdout: np.ndarray
    holdout_labels: np.ndarray
    class_names: list[str]
    source: str
    seed: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.train.shape[1:])

    def to_bundle(self):
        arrays = {
            "train": self.train,
            "train_labels": self.train_labels,
            "holdout": self.holdout,
            "holdout_labels": self.holdout_labels,
        }
        return arrays, {"class_names": self.class_names, "source": self.source, "seed": self.seed}

    @classmethod
    def from_bundle(cls, parts, meta) -> ImageSplit:
        return cls(
            parts["train"],
            parts["train_labels"],
            parts["holdout"],
            parts["holdout_labels"],
            list(meta["class_names"]),
            meta["source"],
            int(meta["seed"]),
        )


def load_digits_images() -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """The 1,797 8x8 digits shipped with scikit-learn, scaled from 0..16 to [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    return images, digits.target.astype(np.int64), [str(c) for c in range(10)], "builtin:digits"


def load_image_folder(root: str | Path) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """``root/<class>/<image>``: every class folder must hold readable images of one size and
    mode; errors name the file or folder at fault."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InputDataError(f"image folder not found: {root}")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise InputDataError(f"{root}: need at least 2 class sub-folders, found {len(classes)}")
    images, labels, size, mode = [], [], None, None
    for label, folder in enumerate(classes):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputDataError(f"class folder {folder} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for path in files:
            try:
                with Image.open(path) as image:
                    image.load()
                    pixels = image.convert("L" if image.mode in ("1", "L", "P", "I", "F") else "RGB")
            except (UnidentifiedImageError, OSError) as exc:
                raise InputDataError(f"unreadable image {path}: {exc}") from exc
            if size is None:
                size, mode = pixels.size, pixels.mode
            elif pixels.size != size:
                raise InputDataError(f"mixed image sizes: {path} is {pixels.size}, earlier images are {size}")
            elif pixels.mode != mode:
                raise InputDataError(f"mixed image modes: {path} is {pixels.mode}, earlier images are {mode}")
            array = np.asarray(pixels, dtype=np.float32) / 255.0
            images.append(array[None] if array.ndim == 2 else array.transpose(2, 0, 1))
            labels.append(label)
    return np.stack(images), np.asarray(labels, np.int64), [c.name for c in classes], str(root)


BUILTIN_IMAGES = {"digits": load_digits_images}


def load_real_images(source: str, allowed_dir: str | None = None):
    """A built-in image set by name (``digits``) or a class-folder path (see
    :func:`load_image_folder`), confined to ``allowed_dir`` when given."""
    if source in BUILTIN_IMAGES:
        return BUILTIN_IMAGES[source]()
    path = Path(source).expanduser()
    require_inside(path, allowed_dir)
    if not path.exists():
        raise InputDataError(
            f"image source {source!r} is neither a built-in ({', '.join(BUILTIN_IMAGES)}) "
            "nor an existing folder"
        )
    return load_image_folder(path)


def split_images(
    images, labels, class_names, source, holdout_fraction: float = 0.3, seed: int = 0
) -> ImageSplit:
    """Seeded split, stratified by class."""
    if not 0 < holdout_fraction < 1:
        raise InputDataError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    counts = np.bincount(labels, minlength=len(class_names))
    small = [class_names[i] for i, c in enumerate(counts) if c < MIN_PER_CLASS]
    if small:
        raise InputDataError(f"{source}: class(es) {small} have fewer than {MIN_PER_CLASS} images")
    train, holdout, y_train, y_holdout = train_test_split(
        images, labels, test_size=holdout_fraction, random_state=seed, stratify=labels
    )
    return ImageSplit(train, y_train, holdout, y_holdout, list(class_names), source, seed)
