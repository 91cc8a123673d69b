import os

import matplotlib.image
import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.visualization import (
    save_activation_overlays,
    save_bar_chart,
    save_curves,
    save_image_grid,
    save_ue_curve,
)
from udd_keras.visualization.images import to_display_range
from udd_keras.visualization.overlays import upsample_maps
from udd_keras.visualization.png import new_figure, save_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLASS_NAMES = ["zero", "one", "two"]


def assert_valid_png(path, min_pixels=100, max_pixels=4000):
    assert path.exists()
    assert path.read_bytes()[:8] == PNG_MAGIC
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert min_pixels <= height <= max_pixels
    assert min_pixels <= width <= max_pixels
    assert pixels.std() > 0  # something was drawn
    assert os.listdir(path.parent) == [path.name]  # no temporary files left


class FakeNormalization:
    mean = (0.5,)
    std = (0.25,)

    def denormalize(self, x):
        return x * 0.25 + 0.5


@pytest.mark.parametrize("channels", [1, 3])
def test_image_grid(tmp_path, rng, channels):
    images = rng.normal(size=(7, 12, 12, channels)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2, 0])
    normalization = {"mean": [0.5] * channels, "std": [0.25] * channels}
    path = save_image_grid(
        tmp_path / "grid.png", images, labels, CLASS_NAMES, normalization
    )
    assert path == tmp_path / "grid.png"
    assert_valid_png(path)


def test_image_grid_limits_images_per_class(tmp_path, rng):
    images = rng.uniform(size=(20, 8, 8, 3))
    wide = save_image_grid(tmp_path / "a" / "w.png", images, np.zeros(20, int), ["c"])
    narrow = save_image_grid(
        tmp_path / "b" / "n.png", images, np.zeros(20, int), ["c"], max_per_class=2
    )
    wide_width = matplotlib.image.imread(wide).shape[1]
    assert matplotlib.image.imread(narrow).shape[1] < wide_width


def test_image_grid_rejects_bad_labels(tmp_path, rng):
    with pytest.raises(UddError, match=r"\[0, 3\)"):
        save_image_grid(
            tmp_path / "g.png", rng.uniform(size=(2, 8, 8, 1)), [0, 5], CLASS_NAMES
        )
    with pytest.raises(UddError, match="C in"):
        save_image_grid(
            tmp_path / "g.png", rng.uniform(size=(2, 8, 8, 2)), [0, 1], CLASS_NAMES
        )
    assert os.listdir(tmp_path) == []


def test_denormalization_choices(rng):
    images = rng.normal(size=(2, 4, 4, 1)).astype(np.float32)
    expected = np.clip(images * 0.25 + 0.5, 0, 1)
    np.testing.assert_allclose(to_display_range(images, FakeNormalization()), expected)
    np.testing.assert_allclose(
        to_display_range(images, {"mean": [0.5], "std": [0.25]}), expected, rtol=1e-6
    )
    scaled = to_display_range(images)
    np.testing.assert_allclose(scaled.min(axis=(1, 2, 3)), 0.0)
    np.testing.assert_allclose(scaled.max(axis=(1, 2, 3)), 1.0)
    with pytest.raises(UddError, match="normalization must be"):
        to_display_range(images, {"mean": [0.5]})


@pytest.mark.parametrize("channels", [1, 3])
def test_activation_overlays(tmp_path, rng, channels):
    images = rng.uniform(size=(6, 16, 16, channels))
    maps = rng.uniform(size=(6, 4, 4, 8))
    path = save_activation_overlays(
        tmp_path / "overlays.png",
        images,
        maps,
        [0, 0, 1, 1, 2, 2],
        CLASS_NAMES,
        per_class=2,
        scores=rng.uniform(size=6),
    )
    assert_valid_png(path)


def test_overlays_reject_mismatched_maps(tmp_path, rng):
    with pytest.raises(UddError, match="got 3 maps for 2 images"):
        save_activation_overlays(
            tmp_path / "o.png",
            rng.uniform(size=(2, 8, 8, 3)),
            rng.uniform(size=(3, 4, 4)),
            [0, 1],
            CLASS_NAMES,
        )


def test_upsample_maps_keeps_the_hot_spot():
    maps = np.zeros((1, 4, 4, 2))
    maps[0, 0, 3] = 1.0  # top-right cell
    up = upsample_maps(maps, 16, 16)
    assert up.shape == (1, 16, 16)
    np.testing.assert_allclose([up.min(), up.max()], [0.0, 1.0])
    row, col = np.unravel_index(up[0].argmax(), (16, 16))
    assert row < 4 and col >= 12


def test_curves_with_and_without_band(tmp_path):
    x = np.arange(5)
    path = save_curves(
        tmp_path / "curves.png",
        {"plain": (x, x**2), "band": (x, x * 1.0, np.full(5, 0.5))},
        "step",
        "loss",
        "Loss",
    )
    assert_valid_png(path)


def test_curves_reject_bad_series(tmp_path):
    with pytest.raises(UddError, match="'bad'"):
        save_curves(tmp_path / "c.png", {"bad": ([1, 2],)}, "x", "y", "t")
    with pytest.raises(UddError, match=r"equal lengths, got \[2, 3\]"):
        save_curves(tmp_path / "c.png", {"bad": ([1, 2], [1, 2, 3])}, "x", "y", "t")
    assert os.listdir(tmp_path) == []


def test_bar_chart(tmp_path):
    groups = {
        "cat": {"UDD": 0.81, "IDC": 0.74},
        "dog": {"UDD": 0.79, "IDC": 0.70},
        "fox": {"UDD": 0.83},
    }
    assert_valid_png(save_bar_chart(tmp_path / "bars.png", groups, "mUE", "mUE"))


def test_ue_curve_figure(tmp_path):
    from udd_keras.metrics import ue_curve_for_normal

    stds = np.geomspace(0.01, 10.0, 15)
    curves = {d: ue_curve_for_normal(stds, d) for d in range(5, 11)}
    assert_valid_png(save_ue_curve(tmp_path / "fig8.png", stds, curves))
    with pytest.raises(UddError, match="one value per std"):
        save_ue_curve(tmp_path / "x.png", stds, {5: [0.1, 0.2]})


def test_save_png_overwrites_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "figure.png"
    target.write_bytes(b"old")
    figure = new_figure(2.0, 2.0)
    figure.add_subplot().plot([0, 1], [0, 1])
    save_png(figure, target)
    assert target.read_bytes()[:8] == PNG_MAGIC

    class Broken:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_png(Broken(), target)
    assert os.listdir(tmp_path) == ["figure.png"]
    assert target.read_bytes()[:8] == PNG_MAGIC


def test_image_grid_shows_what_each_image_decodes_to_beside_it(tmp_path, rng):
    images = rng.uniform(size=(6, 8, 8, 1)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    decoded = rng.uniform(size=(6, 4, 8, 8, 1)).astype(np.float32)
    plain = save_image_grid(tmp_path / "a" / "plain.png", images, labels, CLASS_NAMES)
    grouped = save_image_grid(
        tmp_path / "b" / "grouped.png",
        images,
        labels,
        CLASS_NAMES,
        decoded=decoded,
        decoded_names=["tile 1", "tile 2", "tile 3", "tile 4"],
    )
    assert_valid_png(grouped)
    plain_height, plain_width = matplotlib.image.imread(plain).shape[:2]
    height, width = matplotlib.image.imread(grouped).shape[:2]
    assert width > 3 * plain_width // 2  # 2 x 5 cells per row instead of 2
    assert height > plain_height  # room for the column names on top


def test_image_grid_rejects_decoded_images_that_do_not_fit(tmp_path, rng):
    images = rng.uniform(size=(3, 8, 8, 1))
    with pytest.raises(UddError, match="K >= 1 images per stored image"):
        save_image_grid(
            tmp_path / "g.png", images, [0, 1, 2], CLASS_NAMES,
            decoded=rng.uniform(size=(4, 8, 8, 1)),
        )  # fmt: skip
    with pytest.raises(UddError, match=r"one name per decoded image \(2\), got 1"):
        save_image_grid(
            tmp_path / "g.png", images, [0, 1, 2], CLASS_NAMES,
            decoded=rng.uniform(size=(3, 2, 8, 8, 1)), decoded_names=["tile 1"],
        )  # fmt: skip
    assert os.listdir(tmp_path) == []


def test_row_names_margin_fits_short_names_tightly():
    from udd_keras.visualization.montage import LABEL_MARGIN_INCHES, label_margin

    assert label_margin(["0", "1"]) < 0.5
    assert label_margin(["a very long class name indeed"]) == LABEL_MARGIN_INCHES
