import numpy as np
import pytest

from udd_keras.data import DatasetFormatError, load_dataset


def _arrays(rng, dtype="uint8", channels=None):
    shape = (12, 6, 5) if channels is None else (12, 6, 5, channels)
    if dtype == "uint8":
        x_train = rng.integers(0, 256, shape).astype("uint8")
        x_test = rng.integers(0, 256, (4, *shape[1:])).astype("uint8")
    else:
        x_train = rng.random(shape).astype(dtype)
        x_test = rng.random((4, *shape[1:])).astype(dtype)
    return {
        "x_train": x_train,
        "y_train": np.arange(12) % 3,
        "x_test": x_test,
        "y_test": np.array([0, 1, 2, 1]),
    }


def test_npz_uint8_hw_images(tmp_path, rng):
    arrays = _arrays(rng)
    path = tmp_path / "toy.npz"
    np.savez(path, **arrays)
    ds = load_dataset(str(path))
    assert ds.name == str(path)
    assert ds.x_train.shape == (12, 6, 5, 1) and ds.x_test.shape == (4, 6, 5, 1)
    assert ds.class_names == ["0", "1", "2"]
    unit = arrays["x_train"].astype("float64") / 255.0
    assert ds.normalization.mean == (round(unit.mean(), 4),)
    assert ds.normalization.std == (round(unit.std(), 4),)
    np.testing.assert_allclose(
        ds.normalization.denormalize(ds.x_test)[..., 0],
        arrays["x_test"] / 255.0,
        atol=1e-5,
    )


def test_npz_float_hwc_images_and_class_names(tmp_path, rng):
    arrays = _arrays(rng, dtype="float32", channels=3)
    path = tmp_path / "rgb.npz"
    np.savez(path, class_names=np.array(["cat", "dog", "eel"]), **arrays)
    ds = load_dataset(path)
    assert ds.image_shape == (6, 5, 3)
    assert ds.class_names == ["cat", "dog", "eel"]
    assert len(ds.normalization.mean) == 3
    np.testing.assert_allclose(
        ds.normalization.denormalize(ds.x_train), arrays["x_train"], atol=1e-5
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("y_test"), "lacks y_test"),
        (lambda a: a.update(x_train=a["x_train"] * 2.0 + 0.5), r"expected \[0, 1\]"),
        (lambda a: a.update(x_train=a["x_train"].astype("int32") + 300), "0..255"),
        (lambda a: a.update(y_train=a["y_train"][:5]), r"expected \(12,\)"),
        (lambda a: a.update(y_train=a["y_train"] - 1), "labels must be >= 0"),
        (lambda a: a.update(y_test=np.array([0.0, 1.0, 2.0, 1.0])), "integer"),
        (lambda a: a.update(x_test=a["x_test"][:, :3]), "same"),
        (lambda a: a.update(x_train=a["x_train"][0]), "expected"),
    ],
)
def test_npz_errors_name_the_problem(tmp_path, rng, change, message):
    arrays = _arrays(rng)
    if "[0, 1]" in message:
        arrays = _arrays(rng, dtype="float32")
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetFormatError, match=message):
        load_dataset(str(path))


def test_npz_too_few_class_names(tmp_path, rng):
    path = tmp_path / "names.npz"
    np.savez(path, class_names=np.array(["a", "b"]), **_arrays(rng))
    with pytest.raises(DatasetFormatError, match="only 2 names"):
        load_dataset(str(path))
