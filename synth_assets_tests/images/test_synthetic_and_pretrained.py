"""Generated-image datasets (PNG text chunks, manifest, grid), the evaluation against real
images, and the pretrained-pipeline path on a tiny pipeline built locally."""

import io

import numpy as np
import pytest
from PIL import Image

from synth_assets.errors import InputDataError
from synth_assets.images import pretrained
from synth_assets.images.evaluation import evaluate_images
from synth_assets.images.features import train_extractor
from synth_assets.images.model import ImageModel, PretrainedImageModel
from synth_assets.images.synthetic import SyntheticImages, image_grid
from synth_assets.metrics.image import TooFewSamplesError, fid
from synth_assets.storage import load_bundle, save_bundle
from synth_assets_tests.images.tiny_pipeline import save_tiny_stable_diffusion


@pytest.fixture(scope="module")
def extractor(digits):
    return train_extractor(digits.train, digits.train_labels, 10)


def _synthetic(images, labels, class_names=("zero", "one")):
    return SyntheticImages.build(
        images,
        labels,
        seeds=np.arange(len(labels)) + 7,
        class_names=list(class_names),
        model="test-generator",
        steps=5,
        sampler="DDIM (eta 0)",
    )


def test_pngs_carry_synthetic_marker_and_manifest_matches(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((4, 1, 8, 8)).astype(np.float32)
    synthetic = _synthetic(images, [0, 1, 1, 0], class_names=("zero", "one/two"))
    save_bundle(tmp_path / "b", *synthetic.to_bundle())
    parts, meta = load_bundle(tmp_path / "b")
    again = SyntheticImages.from_bundle(parts, meta)
    np.testing.assert_array_equal(again.images, images)
    manifest = again.manifest
    assert list(manifest.columns) == [
        "file",
        "class_index",
        "class_name",
        "seed",
        "model",
        "steps",
        "sampler",
    ]
    assert manifest["seed"].tolist() == [7, 8, 9, 10] and manifest["class_name"].tolist()[1] == "one/two"
    for row, image in zip(manifest.itertuples(), images, strict=True):
        png = Image.open(tmp_path / "b" / row.file)
        assert png.text["synthetic"] == "true" and png.text["generator"] == "test-generator"
        assert png.text["class"] == row.class_name and png.text["seed"] == str(row.seed)
        np.testing.assert_allclose(np.asarray(png) / 255.0, image[0], atol=0.5 / 255 + 1e-6)
    assert "one_two" in manifest["file"][1]  # class names become safe folder names
    assert (tmp_path / "b" / "png" / "manifest.csv").read_text().count("\n") == 5


def test_grid_has_one_row_per_class():
    images = np.zeros((6, 3, 8, 8), np.float32)
    images[3:] = 1.0  # class 1 white
    grid = Image.open(io.BytesIO(image_grid(images, np.array([0, 0, 0, 1, 1, 1]), 2, per_class=3)))
    assert grid.mode == "RGB" and grid.size == (3 * 34 + 2, 2 * 34 + 2)  # tiles upscaled to 32 px
    pixels = np.asarray(grid)
    assert pixels[2 + 16, 2 + 16].tolist() == [0, 0, 0] and pixels[36 + 16, 2 + 16].tolist() == [
        255,
        255,
        255,
    ]


def test_real_holdout_passes_and_noise_fails_evaluation(digits, extractor):
    good = evaluate_images(digits, digits.holdout, digits.holdout_labels, n=300, extractor=extractor)
    noise = np.random.default_rng(1).uniform(0, 1, (300, 1, 8, 8)).astype(np.float32)
    bad = evaluate_images(digits, noise, np.arange(300) % 10, n=300, extractor=extractor)
    assert good.n == bad.n == 300 and good.feature_extractor == "real-train-cnn-v1"
    assert good.fid < 2 * good.fid_baseline + 1 and bad.fid > 20 * bad.fid_baseline
    assert good.class_agreement > 0.9 and bad.class_agreement < 0.3
    assert bad.manifold.recall < 0.5 * bad.manifold_baseline.recall
    assert bad.kid > bad.kid_baseline + 3 * np.hypot(bad.kid_std, bad.kid_baseline_std)
    # the baseline is the real-vs-real FID at the same n: the same holdout draw against real train
    rng = np.random.default_rng(0)
    holdout_pick, train_pick = rng.choice(540, 300, replace=False), rng.choice(1257, 300, replace=False)
    expected = fid(
        extractor.features(digits.holdout[holdout_pick]), extractor.features(digits.train[train_pick])
    )
    assert bad.fid_baseline == pytest.approx(expected, rel=1e-9)


def test_evaluation_lowers_n_and_refuses_tiny_sets(digits, extractor):
    messages = []
    few = evaluate_images(
        digits,
        digits.holdout[:50],
        digits.holdout_labels[:50],
        n=500,
        extractor=extractor,
        log=messages.append,
    )
    assert few.n == 50 and "n lowered from 500 to 50" in messages[0]
    with pytest.raises(TooFewSamplesError, match="at least 10"):
        evaluate_images(digits, digits.holdout[:5], digits.holdout_labels[:5], extractor=extractor)
    with pytest.raises(ValueError, match="generated images are"):
        evaluate_images(digits, np.zeros((20, 3, 8, 8), np.float32), np.zeros(20, int), extractor=extractor)


def test_class_prompts():
    assert pretrained.class_prompts(["cat", "dog"], "a photo of a {class_name}", {"dog": "a corgi"}) == [
        "a photo of a cat",
        "a corgi",
    ]
    with pytest.raises(InputDataError, match=r"unknown classes \['cow'\]"):
        pretrained.class_prompts(["cat"], overrides={"cow": "moo"})
    with pytest.raises(InputDataError, match="must contain"):
        pretrained.class_prompts(["cat", "dog"], "an animal")


def test_pipeline_folder_errors(tmp_path):
    with pytest.raises(InputDataError, match="no model_index.json"):
        pretrained.describe_pipeline(tmp_path)
    (tmp_path / "model_index.json").write_text("{not json")
    with pytest.raises(InputDataError, match="not readable JSON"):
        pretrained.describe_pipeline(tmp_path)
    (tmp_path / "model_index.json").write_text(
        '{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}'
    )
    with pytest.raises(InputDataError, match="cannot load the diffusers pipeline"):
        pretrained.load_pipeline(tmp_path)  # the unet folder is missing


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    return save_tiny_stable_diffusion(tmp_path_factory.mktemp("pipelines") / "tiny-sd")


def test_pretrained_pipeline_generates_in_the_real_format(tiny_pipeline, tmp_path):
    info = pretrained.describe_pipeline(tiny_pipeline)
    assert info["pipeline_class"] == "StableDiffusionPipeline" and "unet" in info["components"]
    model: ImageModel = PretrainedImageModel(
        ["0", "1"],
        (1, 8, 8),
        info,
        pipeline_path=str(tiny_pipeline),
        prompts=pretrained.class_prompts(["0", "1"], "the digit {class_name}"),
    )
    save_bundle(tmp_path / "m", *model.to_bundle())
    model = PretrainedImageModel.from_bundle(*load_bundle(tmp_path / "m"))  # only pointer and prompts
    assert not (tmp_path / "m" / "weights").exists() and model.prompts == ["the digit 0", "the digit 1"]
    images, seeds, sampler = model.generate(np.array([0, 1, 1]), steps=2, seed=4, batch_size=2)
    assert images.shape == (3, 1, 8, 8) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0
    assert seeds.tolist() == [4_000_000, 4_000_001, 4_000_002] and sampler == "DDIMScheduler"
    again, _, _ = model.generate(np.array([0, 1, 1]), steps=2, seed=4, batch_size=1)
    np.testing.assert_allclose(images, again, atol=2 / 255)  # per-image generators: batch-independent


def test_inception_is_refused_with_the_reason():
    from synth_assets.images.features import require_extractor

    assert require_extractor("real-train-cnn") == "real-train-cnn"
    with pytest.raises(InputDataError, match="torchvision has no CPU build"):
        require_extractor("inception-v3")
    with pytest.raises(InputDataError, match="must be one of"):
        require_extractor("clip")
