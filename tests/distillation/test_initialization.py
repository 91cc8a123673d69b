import numpy as np
import pytest

from udd_keras.distillation import DistillConfig
from udd_keras.distillation.initialization import (
    initial_images,
    kmeans_representatives,
)
from udd_keras.errors import UddError


def _three_blobs():
    rng = np.random.default_rng(0)
    sizes, centres = (50, 30, 20), (0.0, 5.0, -5.0)
    x = np.concatenate(
        [rng.normal(c, 0.5, (n, 4, 4, 1)) for n, c in zip(sizes, centres, strict=True)]
    ).astype("float32")
    return x, np.zeros(len(x), int)


def test_kmeans_picks_one_real_image_per_mode_largest_first():
    x, _ = _three_blobs()
    picks = kmeans_representatives(x, 3, seed=0)
    assert len(set(picks.tolist())) == 3
    np.testing.assert_allclose(x[picks].mean(axis=(1, 2, 3)), [0, 5, -5], atol=0.5)


def test_kmeans_selection_covers_the_modes_random_may_not():
    x, y = _three_blobs()
    images, labels = initial_images(x, y, 1, ipc=3, selection="kmeans")
    assert labels.tolist() == [0, 0, 0]
    # Every chosen image is a real image of the class.
    assert all(any(np.array_equal(i, r) for r in x) for i in images)
    means = sorted(images.mean(axis=(1, 2, 3)).round().tolist())
    assert means == [-5.0, 0.0, 5.0]


def test_kmeans_mosaic_tiles_come_from_distinct_images():
    x, y = _three_blobs()
    mosaic, _ = initial_images(
        x, y, 1, ipc=1, init="mosaic", factor=2, selection="kmeans"
    )
    tiles = [mosaic[0, :2, :2], mosaic[0, :2, 2:], mosaic[0, 2:, :2], mosaic[0, 2:, 2:]]
    assert len({round(float(t.mean()), 4) for t in tiles}) == 4


def test_unknown_selection_is_refused_by_the_config():
    with pytest.raises(UddError, match="initial image selection must be one of"):
        DistillConfig("digits", init_selection="best").resolve()
