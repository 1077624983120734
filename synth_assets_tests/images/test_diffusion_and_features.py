import numpy as np
import pytest

from synth_assets.images.diffusion import TrainSettings, load, sample, save, train
from synth_assets.images.features import train_extractor
from synth_assets.metrics.image import fid_at_n


@pytest.fixture(scope="module")
def tiny_model(digits):
    return train(digits.train, digits.train_labels, 10, TrainSettings(steps=20, batch_size=32, seed=1))


def test_training_lowers_the_loss_and_samples_are_shaped_and_ranged(tiny_model):
    unet, scheduler, losses = tiny_model
    assert len(losses) == 20 and np.mean(losses[-5:]) < np.mean(losses[:5])
    images = sample(unet, scheduler, np.array([0, 3, 9]), steps=10, seed=2)
    assert images.shape == (3, 1, 8, 8) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_save_load_round_trip_samples_identically(tiny_model, tmp_path):
    unet, scheduler, _ = tiny_model
    save(unet, scheduler, tmp_path / "model")
    again, again_scheduler = load(tmp_path / "model")
    labels = np.arange(10)
    np.testing.assert_allclose(
        sample(unet, scheduler, labels, steps=5, seed=7),
        sample(again, again_scheduler, labels, steps=5, seed=7),
        atol=1e-6,
    )


def test_sampling_is_seeded(tiny_model):
    unet, scheduler, _ = tiny_model
    labels = np.arange(4)
    a, b = sample(unet, scheduler, labels, steps=5, seed=1), sample(unet, scheduler, labels, steps=5, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample(unet, scheduler, labels, steps=5, seed=2))


def test_feature_extractor_separates_real_from_noise(digits):
    extractor = train_extractor(digits.train, digits.train_labels, 10)
    assert (extractor.predict(digits.holdout) == digits.holdout_labels).mean() > 0.9
    real, holdout = extractor.features(digits.train), extractor.features(digits.holdout)
    noise = np.random.default_rng(0).uniform(0, 1, digits.holdout.shape).astype(np.float32)
    baseline = fid_at_n(real, holdout, 500)
    assert fid_at_n(real, extractor.features(noise), 500) > 10 * baseline


def test_an_image_does_not_depend_on_its_batch(tiny_model):
    """The manifest's per-image seed regenerates the image whatever batch it was drawn in."""
    unet, scheduler, _ = tiny_model
    labels = np.array([1, 2, 3, 4, 5])
    whole = sample(unet, scheduler, labels, steps=4, seed=3)
    np.testing.assert_allclose(
        whole, sample(unet, scheduler, labels, steps=4, seed=3, batch_size=2), atol=1e-5
    )
