"""The invisible watermark: a round trip on a large, smooth, synthetic-looking image returns the
payload; unmarked and small images give none."""

import numpy as np
import pytest
from PIL import Image

from synth_assets.exports import watermark as wm


def smooth_image(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients plus mild noise, as a diffusion model's output looks (a flat
    image would carry no watermark at all)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    planes = []
    for _ in range(channels):
        f, p = rng.uniform(2, 8, 3), rng.uniform(0, 6, 3)
        planes.append(
            0.5 + 0.2 * np.sin(f[0] * x + p[0]) * np.cos(f[1] * y + p[1]) + 0.15 * np.sin(f[2] * (x + y))
        )
    pixels = np.stack(planes, -1) * 255 + rng.normal(0, 4, (height, width, channels))
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return pixels[:, :, 0] if channels == 1 else pixels


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


def test_payload_is_eight_bytes_with_the_magic_and_differs_per_item():
    a, b = wm.payload_for("synthetic_images#0"), wm.payload_for("synthetic_images#1")
    assert len(a) == wm.PAYLOAD_BYTES == 8 and a.startswith(wm.MAGIC) and b.startswith(wm.MAGIC)
    assert a != b and a == wm.payload_for("synthetic_images#0")


@pytest.mark.parametrize("shape", [(256, 256, 3), (320, 512, 3), (256, 300, 1)])
def test_round_trip_returns_the_payload_and_an_unmarked_image_does_not(shape):
    height, width, channels = shape
    original = smooth_image(height, width, channels, seed=sum(shape))
    payload = wm.payload_for(f"synthetic_images#{width}")
    marked = wm.embed(original, payload)
    assert marked.shape == original.shape and marked.dtype == np.uint8
    assert not np.array_equal(marked, original) and psnr(marked, original) > 30  # invisible, but there
    assert wm.detect(marked) == payload
    assert wm.detect(original) is None
    assert wm.read_payload(original) != payload


def test_detect_file_reads_a_marked_png_back(tmp_path):
    payload = wm.payload_for("synthetic_images#7")
    marked, plain = tmp_path / "marked.png", tmp_path / "plain.png"
    original = smooth_image(256, 384, seed=7)
    Image.fromarray(wm.embed(original, payload), "RGB").save(marked)
    Image.fromarray(original, "RGB").save(plain)
    assert wm.detect_file(marked) == payload and wm.detect_file(plain) is None


def test_small_images_get_no_watermark():
    small = smooth_image(8, 8, 1)
    assert not wm.can_watermark(8, 8) and not wm.can_watermark(255, 1024) and wm.can_watermark(256, 256)
    assert wm.detect(small) is None
    with pytest.raises(ValueError, match="at least 256 px"):
        wm.embed(small, wm.payload_for("x"))
    with pytest.raises(ValueError, match="8 bytes"):
        wm.embed(smooth_image(256, 256), b"short")
