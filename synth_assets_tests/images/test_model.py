"""The two image model classes: bundle round trips, refusal of the wrong kind of bundle, bundles
of the former single ``ImageModel`` class, and generation through the shared interface."""

import numpy as np
import pandas as pd
import pytest
from diffusers import DDPMScheduler

from synth_assets.images import diffusion
from synth_assets.images.model import (
    PRETRAINED,
    TRAINED,
    ImageModel,
    PretrainedImageModel,
    TrainedImageModel,
)
from synth_assets.images.synthetic import SyntheticImages
from synth_assets.storage import load_bundle, save_bundle

CLASSES = ["zero", "one", "two"]
SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def trained():
    """An untrained (randomly initialised) UNet is enough to test storage and sampling."""
    import torch

    torch.manual_seed(0)
    return TrainedImageModel(
        list(CLASSES),
        SHAPE,
        {"seed": 3, "steps": 2},
        unet=diffusion.build_unet(1, 8, len(CLASSES), width=8).eval(),
        scheduler=DDPMScheduler(num_train_timesteps=50),
        losses=[0.9, 0.5, 0.25],
    )


@pytest.fixture
def pointer():
    return PretrainedImageModel(
        list(CLASSES),
        SHAPE,
        {"pipeline_class": "StableDiffusionPipeline"},
        pipeline_path="/models/tiny-sd",
        prompts=[f"the digit {name}" for name in CLASSES],
    )


def _round_trip(model, path):
    save_bundle(path, *model.to_bundle())
    return load_bundle(path)


def test_trained_model_round_trips(trained, tmp_path):
    parts, fields = _round_trip(trained, tmp_path / "m")
    assert fields["mode"] == TRAINED and (tmp_path / "m" / "weights" / "unet" / "config.json").exists()
    again = TrainedImageModel.from_bundle(parts, fields)
    assert isinstance(again, TrainedImageModel)
    assert again.class_names == CLASSES and again.image_shape == SHAPE and again.info == trained.info
    assert again.losses == trained.losses and again.name == trained.name
    labels = np.array([0, 2, 1])
    images, seeds, sampler = trained.generate(labels, steps=3, seed=5)
    images_again, seeds_again, sampler_again = again.generate(labels, steps=3, seed=5)
    np.testing.assert_allclose(images, images_again, atol=1e-6)
    assert seeds.tolist() == seeds_again.tolist() == [5_000_000, 5_000_001, 5_000_002]
    assert sampler == sampler_again == "DDIM (eta 0)"
    assert ImageModel.from_bundle(parts, fields).losses == trained.losses  # the base dispatches by mode


def test_pretrained_model_round_trips_without_weights(pointer, tmp_path):
    parts, fields = _round_trip(pointer, tmp_path / "m")
    assert parts == {} and fields["mode"] == PRETRAINED
    again = PretrainedImageModel.from_bundle(parts, fields)
    assert again == pointer and again.name == "diffusers pipeline /models/tiny-sd"
    assert ImageModel.from_bundle(parts, fields) == pointer


def test_the_wrong_kind_of_bundle_is_refused_clearly(trained, pointer, tmp_path):
    trained_bundle = _round_trip(trained, tmp_path / "t")
    pointer_bundle = _round_trip(pointer, tmp_path / "p")
    with pytest.raises(ValueError, match=r"TrainedImageModel.from_bundle: .* mode 'pretrained', not 'train'"):
        TrainedImageModel.from_bundle(*pointer_bundle)
    with pytest.raises(
        ValueError, match=r"PretrainedImageModel.from_bundle: .* mode 'train', not 'pretrained'"
    ):
        PretrainedImageModel.from_bundle(*trained_bundle)
    synthetic = SyntheticImages.build(
        np.zeros((1, *SHAPE), np.float32), [0], [0], CLASSES, "m", steps=1, sampler="s"
    )
    other = _round_trip(synthetic, tmp_path / "s")
    with pytest.raises(ValueError, match="TrainedImageModel.from_bundle: not an image model bundle"):
        TrainedImageModel.from_bundle(*other)
    with pytest.raises(ValueError, match=r"not an image model bundle: its 'mode' field is None"):
        ImageModel.from_bundle(*other)
    with pytest.raises(ValueError, match=r"'mode' field is 'gan', expected one of \['pretrained', 'train'\]"):
        ImageModel.from_bundle({}, {**pointer_bundle[1], "mode": "gan"})


def test_bundles_of_the_former_single_class_still_load(trained, tmp_path):
    """The former ``ImageModel`` wrote every field for both modes (None where unused)."""
    legacy_fields = {
        "mode": TRAINED,
        "class_names": CLASSES,
        "image_shape": list(SHAPE),
        "info": trained.info,
        "pipeline_path": None,
        "prompts": None,
    }
    legacy_parts = {
        "weights": lambda folder: diffusion.save(trained.unet, trained.scheduler, folder),
        "losses": pd.DataFrame({"step": [1, 2, 3], "loss": trained.losses}),
    }
    save_bundle(tmp_path / "t", legacy_parts, legacy_fields)
    model = ImageModel.from_bundle(*load_bundle(tmp_path / "t"))
    assert isinstance(model, TrainedImageModel) and model.losses == trained.losses
    save_bundle(
        tmp_path / "p",
        {},
        {**legacy_fields, "mode": PRETRAINED, "pipeline_path": "/models/sd", "prompts": ["a", "b", "c"]},
    )
    model = ImageModel.from_bundle(*load_bundle(tmp_path / "p"))
    assert isinstance(model, PretrainedImageModel) and model.prompts == ["a", "b", "c"]
    assert model.image_shape == SHAPE


def test_generation_code_needs_no_branching_on_the_kind(trained):
    """Pipeline settings may be passed to any model; the trained one samples without them."""
    labels = np.array([1, 0])

    def generate(model: ImageModel):
        return model.generate(labels, 2, 1, log=print, batch_size=4, guidance_scale=7.5)

    images, seeds, sampler = generate(trained)
    np.testing.assert_array_equal(images, trained.generate(labels, 2, 1)[0])
    assert images.shape == (2, *SHAPE) and sampler == "DDIM (eta 0)"


def test_the_base_class_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        ImageModel(CLASSES, SHAPE)
