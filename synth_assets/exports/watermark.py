"""An invisible watermark in the pixels of large synthetic images: a soft binding that outlives
the C2PA manifest when a file is re-encoded (which strips the manifest), but not heavy editing.

The watermark is the ``invisible-watermark`` package's DWT + DCT + SVD embedding
(``dwtDctSvd``): a few bits per 4x4 block of the Haar approximation of one colour channel, the
payload repeated over the whole image and read back by majority. Its plain ``dwtDct`` sibling
is not used: on smooth test images (diffusion outputs often are) it got up to about 20 of 80
bits wrong without any edit, so a round trip fails; ``dwtDctSvd`` read every bit back.

The payload is 8 bytes: the magic ``SYNA`` (says "made by synth_assets") and the first 4 bytes
of the SHA-256 of the item key (``origin#origin_id``), which links a file whose manifest was
stripped back to its row of the export's ``manifest.csv``.

Only images of at least :data:`MIN_SIDE` pixels on the short side are marked (the package's own
lower limit is 256 x 256 pixels of area; a smaller image has too few blocks to carry the bits).
The bundled 8 x 8 digits get none. ``imwatermark`` pulls in OpenCV, so it is imported only when
an image is large enough.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version

import numpy as np

METHOD = "dwtDctSvd"
MIN_SIDE = 256
MAGIC = b"SYNA"
PAYLOAD_BYTES = 8
# The YUV channel that carries the bits: U for colour images (the package's default), Y for
# grey ones (their U and V are constant and are dropped when the image is saved as grey).
_SCALES = {"U": [0, 36, 0], "Y": [36, 0, 0]}


def library_version() -> str:
    try:
        return f"invisible-watermark {version('invisible-watermark')}"
    except PackageNotFoundError:  # pragma: no cover - a dependency of the project
        return "invisible-watermark (version unknown)"


def payload_for(item_key: str) -> bytes:
    """``SYNA`` + the first 4 bytes of SHA-256(``item_key``): 8 bytes, 64 bits."""
    return MAGIC + hashlib.sha256(item_key.encode("utf-8")).digest()[: PAYLOAD_BYTES - len(MAGIC)]


def can_watermark(height: int, width: int) -> bool:
    return min(height, width) >= MIN_SIDE


def channel_for(pixels: np.ndarray) -> str:
    return "Y" if pixels.ndim == 2 else "U"


def _as_bgr(pixels: np.ndarray) -> np.ndarray:
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise TypeError(f"watermark: expected 8-bit pixels, got {pixels.dtype}")
    if pixels.ndim == 2:
        return np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2))
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return np.ascontiguousarray(pixels[:, :, ::-1])  # RGB -> BGR, as OpenCV expects
    raise ValueError(f"watermark: expected (h, w) grey or (h, w, 3) RGB pixels, got shape {pixels.shape}")


def _check_size(pixels: np.ndarray) -> None:
    height, width = pixels.shape[:2]
    if not can_watermark(height, width):
        raise ValueError(
            f"watermark: the image is {width}x{height} px; at least {MIN_SIDE} px on the short side is needed"
        )


def embed(pixels: np.ndarray, payload: bytes) -> np.ndarray:
    """``pixels`` (uint8 grey (h, w) or RGB (h, w, 3)) with ``payload`` embedded, same shape."""
    from imwatermark import WatermarkEncoder  # lazy: pulls in OpenCV

    if len(payload) != PAYLOAD_BYTES:
        raise ValueError(f"watermark: the payload must be {PAYLOAD_BYTES} bytes, got {len(payload)}")
    _check_size(pixels)
    encoder = WatermarkEncoder()
    encoder.set_watermark("bytes", payload)
    channel = channel_for(pixels)
    marked = encoder.encode(_as_bgr(pixels), METHOD, scales=_SCALES[channel])
    if pixels.ndim == 2:
        import cv2

        return cv2.cvtColor(marked, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(marked[:, :, ::-1])


def read_payload(pixels: np.ndarray) -> bytes:
    """The :data:`PAYLOAD_BYTES` bytes the decoder reads (noise when there is no watermark)."""
    from imwatermark import WatermarkDecoder

    _check_size(pixels)
    decoder = WatermarkDecoder("bytes", PAYLOAD_BYTES * 8)
    return bytes(decoder.decode(_as_bgr(pixels), METHOD, scales=_SCALES[channel_for(pixels)]))


def detect(pixels: np.ndarray) -> bytes | None:
    """The payload when the image carries a synth_assets watermark (it starts with ``SYNA``),
    else None; also None for images too small to carry one."""
    height, width = np.asarray(pixels).shape[:2]
    if not can_watermark(height, width):
        return None
    payload = read_payload(pixels)
    return payload if payload.startswith(MAGIC) else None


def detect_file(path) -> bytes | None:
    """:func:`detect` on an image file (grey files are read as grey, others as RGB)."""
    from PIL import Image

    with Image.open(path) as image:
        grey = image.mode in ("1", "L", "LA", "I", "I;16", "F")
        pixels = np.asarray(image.convert("L" if grey else "RGB"))
    return detect(pixels)
