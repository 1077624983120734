"""Feature extractor for FID / KID / PRDC when no Inception weights are available: a small
convolutional classifier trained on the real train split (the accepted practice for digit
datasets). Its penultimate layer gives the features; its predictions give class agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synth_assets.errors import InputDataError

EXTRACTOR_NAME = "real-train-cnn-v1"  # a small CNN trained on the real train split


class _Net(nn.Module):
    def __init__(self, channels: int, n_classes: int, width: int = 32, feature_dim: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(width * 16, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, n_classes)

    def forward(self, x):
        return self.head(self.body(x))


@dataclass
class FeatureExtractor:
    net: _Net
    name: str = EXTRACTOR_NAME

    @torch.no_grad()
    def features(self, images: np.ndarray) -> np.ndarray:
        self.net.eval()
        return np.concatenate(
            [
                self.net.body(torch.from_numpy(b).float()).numpy()
                for b in np.array_split(images, max(1, len(images) // 1024))
            ]
        ).astype(np.float64)

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        self.net.eval()
        return np.concatenate(
            [
                self.net(torch.from_numpy(b).float()).argmax(1).numpy()
                for b in np.array_split(images, max(1, len(images) // 1024))
            ]
        )


def train_extractor(
    images: np.ndarray, labels: np.ndarray, n_classes: int, epochs: int = 15, seed: int = 0
) -> FeatureExtractor:
    """Fit the classifier on real images (n, c, h, w) in [0, 1]; seeded, a few seconds on CPU."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = _Net(images.shape[1], n_classes)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    x, y = torch.from_numpy(images).float(), torch.from_numpy(labels).long()
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 64):
            index = order[start : start + 64]
            loss = nn.functional.cross_entropy(net(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return FeatureExtractor(net)


EXTRACTORS = ("real-train-cnn",)
INCEPTION_UNAVAILABLE = (
    "Inception features are not available here: they need torchvision's inception_v3 and its "
    "weights, and torchvision has no CPU build for this torch (2.13), so this project does not "
    "ship that option rather than fake it. Use 'real-train-cnn' (a CNN trained on the real "
    "train split), whose FID is compared with its own real-vs-real baseline."
)


def require_extractor(name: str) -> str:
    """The feature extractor to use, or a clear error for one this project cannot run."""
    if name in EXTRACTORS:
        return name
    if "inception" in name.lower():
        raise InputDataError(INCEPTION_UNAVAILABLE)
    raise InputDataError(f"feature_extractor must be one of {EXTRACTORS}, got {name!r}")
