"""A small class-conditional diffusion model with diffusers: UNet2DModel with class
embeddings, trained with the DDPM objective, sampled with DDIM.

The stock DDPM / DDIM pipelines pass no class labels, so sampling is our own loop over the
DDIM scheduler. Images are (n, channels, h, w) floats in [0, 1]; the model works in [-1, 1].
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

MODEL_DIR, SCHEDULER_DIR = "unet", "scheduler"


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 1500
    batch_size: int = 128
    learning_rate: float = 2e-3
    width: int = 32  # channels of the first UNet block; the second has twice as many
    train_timesteps: int = 1000
    seed: int = 0


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_unet(channels: int, size: int, n_classes: int, width: int = 32):
    from diffusers import UNet2DModel

    if size % 2:
        raise ValueError(f"image size must be even for the two-level UNet, got {size}")
    return UNet2DModel(
        sample_size=size,
        in_channels=channels,
        out_channels=channels,
        layers_per_block=1,
        block_out_channels=(width, 2 * width),
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
        num_class_embeds=n_classes,
    )


def train(
    images: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    settings: TrainSettings = TrainSettings(),
    log: Callable[[str], None] = lambda message: None,
):
    """Train a class-conditional UNet with the DDPM noise-prediction loss. Returns the model,
    its DDPM scheduler and the loss per step."""
    from diffusers import DDPMScheduler

    if images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise ValueError(f"images must be (n, channels, size, size), got {images.shape}")
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    device = _device()
    unet = build_unet(images.shape[1], images.shape[2], n_classes, settings.width).to(device)
    scheduler = DDPMScheduler(num_train_timesteps=settings.train_timesteps)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=settings.learning_rate)
    lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.steps)
    data = torch.from_numpy(images * 2.0 - 1.0).float()
    targets = torch.from_numpy(labels).long()
    losses, started = [], time.perf_counter()
    unet.train()
    for step in range(settings.steps):
        index = torch.randint(0, len(data), (settings.batch_size,), generator=generator)
        clean, classes = data[index].to(device), targets[index].to(device)
        noise = torch.randn(clean.shape, generator=generator).to(device)
        t = torch.randint(0, settings.train_timesteps, (len(clean),), generator=generator).to(device)
        predicted = unet(scheduler.add_noise(clean, noise, t), t, class_labels=classes).sample
        loss = torch.nn.functional.mse_loss(predicted, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr_schedule.step()
        losses.append(float(loss.detach()))
        if (step + 1) % max(1, settings.steps // 10) == 0 or step + 1 == settings.steps:
            rate = (step + 1) / (time.perf_counter() - started)
            log(
                f"diffusion training: step {step + 1} of {settings.steps}, "
                f"loss {np.mean(losses[-50:]):.4f}, {rate:.1f} steps/s"
            )
    unet.eval()
    return unet, scheduler, losses


def image_seeds(seed: int, n: int) -> np.ndarray:
    """One noise seed per image, so any single image can be regenerated from the manifest."""
    return seed * 1_000_000 + np.arange(n, dtype=np.int64)


@torch.no_grad()
def sample(
    unet, scheduler, labels: np.ndarray, steps: int = 50, seed: int = 0, batch_size: int = 512
) -> np.ndarray:
    """Images for the given class labels with a deterministic DDIM loop (eta 0): image i starts
    from noise seeded by ``image_seeds(seed, n)[i]``, whatever the batch it falls in."""
    from diffusers import DDIMScheduler

    ddim = DDIMScheduler.from_config(scheduler.config)
    device = next(unet.parameters()).device
    config = unet.config
    shape = (config.in_channels, config.sample_size, config.sample_size)
    seeds = image_seeds(seed, len(labels))
    out = []
    for start in range(0, len(labels), batch_size):
        classes = torch.from_numpy(np.asarray(labels[start : start + batch_size])).long().to(device)
        x = torch.stack(
            [
                torch.randn(shape, generator=torch.Generator().manual_seed(int(s)))
                for s in seeds[start : start + len(classes)]
            ]
        ).to(device)
        ddim.set_timesteps(steps)
        for t in ddim.timesteps:
            noise = unet(x, t, class_labels=classes).sample
            x = ddim.step(noise, t, x).prev_sample
        out.append(((x.clamp(-1, 1) + 1) / 2).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *shape), np.float32)


def save(unet, scheduler, path: str | Path) -> None:
    path = Path(path)
    unet.save_pretrained(path / MODEL_DIR)
    scheduler.save_pretrained(path / SCHEDULER_DIR)


def load(path: str | Path):
    from diffusers import DDPMScheduler, UNet2DModel

    path = Path(path)
    unet = UNet2DModel.from_pretrained(path / MODEL_DIR, local_files_only=True).to(_device())
    scheduler = DDPMScheduler.from_pretrained(path / SCHEDULER_DIR, local_files_only=True)
    unet.eval()
    return unet, scheduler
