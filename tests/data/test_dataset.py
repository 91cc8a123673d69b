import numpy as np
import pytest

from udd_keras.data import ImageDataset, Normalization, compute_normalization
from udd_keras.errors import UddError


def test_normalize_and_denormalize_round_trip():
    norm = Normalization(mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 2.0))
    x = np.random.default_rng(0).random((2, 4, 4, 3)).astype("float32")
    normalized = norm.normalize(x)
    assert normalized.dtype == np.float32
    np.testing.assert_allclose(normalized[..., 0], (x[..., 0] - 0.5) / 0.5, rtol=1e-6)
    np.testing.assert_allclose(normalized[..., 2], x[..., 2] / 2.0, rtol=1e-6)
    np.testing.assert_allclose(norm.denormalize(normalized), x, atol=1e-6)


def test_normalization_dict_round_trip():
    norm = Normalization(mean=(0.1307,), std=(0.3081,))
    assert norm.to_dict() == {"mean": [0.1307], "std": [0.3081]}
    assert Normalization.from_dict(norm.to_dict()) == norm


def test_normalization_rejects_bad_std():
    with pytest.raises(UddError, match="std must be positive"):
        Normalization(mean=(0.5,), std=(0.0,))
    with pytest.raises(UddError, match="one mean and one std per channel"):
        Normalization(mean=(0.5, 0.5), std=(0.2,))


def test_compute_normalization_per_channel_and_rounded():
    x = np.zeros((10, 2, 2, 2), dtype="float32")
    x[:5, ..., 0] = 1.0
    x[..., 1] = 0.3
    norm = compute_normalization(x)
    assert norm.mean == (0.5, 0.3)
    # Channel 1 is constant: std falls back to 1 instead of dividing by zero.
    assert norm.std == (0.5, 1.0)


def test_image_dataset_properties():
    ds = ImageDataset(
        name="toy",
        x_train=np.zeros((3, 5, 6, 1), "float32"),
        y_train=np.zeros((3,), "int32"),
        x_test=np.zeros((2, 5, 6, 1), "float32"),
        y_test=np.zeros((2,), "int32"),
        class_names=["a", "b", "c"],
        normalization=Normalization((0.0,), (1.0,)),
    )
    assert ds.num_classes == 3
    assert ds.image_shape == (5, 6, 1)
