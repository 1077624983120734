import numpy as np
import pytest
from PIL import Image

from synth_assets.errors import InputDataError
from synth_assets.images.sources import load_digits_images, load_image_folder, split_images


def _folder(tmp_path, sizes=((8, 8),) * 3, classes=("cat", "dog")):
    for name in classes:
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
        for i, size in enumerate(sizes):
            Image.fromarray(np.full(size[::-1], 40 * i, np.uint8), mode="L").save(
                tmp_path / name / f"{i}.png"
            )
    return tmp_path


def test_digits_are_offline_scaled_and_split_stratified():
    images, labels, names, source = load_digits_images()
    assert images.shape == (1797, 1, 8, 8) and images.min() == 0.0 and images.max() == 1.0
    split = split_images(images, labels, names, source, seed=1)
    assert len(split.train) + len(split.holdout) == 1797 and split.shape == (1, 8, 8)
    shares = np.bincount(split.holdout_labels) / np.bincount(labels)
    assert np.allclose(shares, 0.3, atol=0.02)


def test_image_folder(tmp_path):
    images, labels, names, _ = load_image_folder(_folder(tmp_path))
    assert images.shape == (6, 1, 8, 8) and names == ["cat", "dog"] and labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert images.max() == pytest.approx(80 / 255)


def test_bad_image_folders(tmp_path):
    with pytest.raises(InputDataError, match="image folder not found"):
        load_image_folder(tmp_path / "missing")
    root = _folder(tmp_path / "a")
    (root / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputDataError, match="unreadable image .*broken.png"):
        load_image_folder(root)
    root = _folder(tmp_path / "b", sizes=((8, 8), (8, 8), (9, 8)))
    with pytest.raises(InputDataError, match="mixed image sizes"):
        load_image_folder(root)
    root = _folder(tmp_path / "c")
    (root / "empty").mkdir()
    with pytest.raises(InputDataError, match="empty has no images"):
        load_image_folder(root)
    root = _folder(tmp_path / "d", classes=("only",))
    with pytest.raises(InputDataError, match="at least 2 class"):
        load_image_folder(root)


def test_class_with_one_image_refused(tmp_path):
    images, labels, names, source = load_image_folder(_folder(tmp_path, sizes=((8, 8),)))
    with pytest.raises(InputDataError, match="fewer than 2 images"):
        split_images(images, labels, names, source)
