import pytest

from synth_assets.images.sources import load_digits_images, split_images


@pytest.fixture(scope="session")
def digits():
    return split_images(*load_digits_images(), seed=0)
