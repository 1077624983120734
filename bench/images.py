"""Image lane benchmark: diffusion training steps/s and sampled images/s (CPU, and CUDA when
present), and the time to compute FID, KID and PRDC on 1,000 vs 1,000 feature vectors.

    python bench/images.py [--train-steps 200] [--samples 500]

Last line: ``images_per_s=<x> fid_seconds=<y>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--ddim-steps", type=int, default=50)
    args = parser.parse_args()

    from synth_assets.images.diffusion import TrainSettings, train
    from synth_assets.images.features import train_extractor
    from synth_assets.images.model import TrainedImageModel
    from synth_assets.images.sources import load_digits_images, split_images
    from synth_assets.metrics.image import fid_at_n, kid, prdc

    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"device {device}, torch threads {torch.get_num_threads()}")
    split = split_images(*load_digits_images(), seed=0)
    started = time.perf_counter()
    unet, scheduler, losses = train(
        split.train, split.train_labels, 10, TrainSettings(steps=args.train_steps)
    )
    train_s = time.perf_counter() - started
    print(
        f"training: {args.train_steps} steps (batch 128, 8x8) in {train_s:.1f} s = "
        f"{args.train_steps / train_s:.2f} steps/s"
    )
    model = TrainedImageModel(
        split.class_names, split.shape, {"seed": 0}, unet=unet, scheduler=scheduler, losses=losses
    )
    labels = np.arange(args.samples) % 10
    started = time.perf_counter()
    model.generate(labels, args.ddim_steps, seed=0)
    sample_s = time.perf_counter() - started
    images_per_s = args.samples / sample_s
    print(
        f"sampling: {args.samples} images x {args.ddim_steps} DDIM steps in {sample_s:.1f} s = "
        f"{images_per_s:.1f} images/s"
    )

    extractor = train_extractor(split.train, split.train_labels, 10)
    rng = np.random.default_rng(0)
    real = extractor.features(split.train[rng.choice(len(split.train), 1000, replace=False)])
    fake = extractor.features(
        np.clip(
            split.holdout[rng.choice(len(split.holdout), 1000)]
            + rng.normal(0, 0.1, (1000, *split.shape)).astype(np.float32),
            0,
            1,
        )
    )
    timings = {}
    for name, fn in (
        ("fid", lambda: fid_at_n(real, fake, 1000)),
        ("kid", lambda: kid(real, fake)),
        ("prdc", lambda: prdc(real, fake)),
    ):
        started = time.perf_counter()
        fn()
        timings[name] = time.perf_counter() - started
    shown = ", ".join(f"{k} {v:.3f} s" for k, v in timings.items())
    print(f"metrics on 1,000 vs 1,000 features (dim {real.shape[1]}): {shown}")
    print(f"images_per_s={images_per_s:.1f} fid_seconds={timings['fid']:.3f}")


if __name__ == "__main__":
    main()
