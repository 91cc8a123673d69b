"""`measure_sets`: mUE of several sets, their network and their value range."""

import numpy as np
import pytest

from udd_keras.data import Normalization, load_dataset
from udd_keras.errors import UddError
from udd_keras.metrics import (
    measure_sets,
    reference_range,
    utilization_report,
)
from udd_keras.metrics.measure import in_normalization, set_names
from udd_keras.metrics.network import activation_maps
from udd_keras.models import get_model
from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set
from udd_keras.training import TrainingRecipe

FAST = {"recipe": TrainingRecipe(epochs=1, width=4)}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def write_set(path, data, seed=0, ipc=2, **overrides):
    rng = np.random.default_rng(seed)
    index = np.concatenate(
        [
            rng.choice(np.flatnonzero(data.y_train == c), ipc, replace=False)
            for c in range(data.num_classes)
        ]
    )
    fields = dict(
        dataset=data.name,
        image_shape=data.image_shape,
        num_classes=data.num_classes,
        class_names=data.class_names,
        ipc=ipc,
        method="random",
        normalization=data.normalization.to_dict(),
    )
    fields.update(overrides)
    images = fields.pop("images", data.x_train[index])
    metadata = SyntheticSetMetadata(**fields)
    return write_synthetic_set(path, images, data.y_train[index], metadata)


@pytest.fixture
def saved_convnet(tmp_path):
    model = get_model("convnet3", (8, 8, 1), 10, width=4, seed=0)
    path = tmp_path / "net.keras"
    model.save(path)
    return model, path


def test_default_network_is_trained_per_set_with_joint_range(tmp_path, digits):
    first = write_set(tmp_path / "a.tfrecord", digits, seed=0)
    second = write_set(tmp_path / "b.tfrecord", digits, seed=1)
    results = measure_sets([first, second], layer=0, seed=5, **FAST)
    assert [r.name for r in results] == ["a", "b"]
    for result, source in zip(results, (first, second), strict=True):
        assert result.network["source"] == "trained"
        assert result.network["trained_on"] == str(source)
        assert result.network["seed"] == 5
        assert result.activation_maps.shape == (20, 8, 8, 4)
    # One reference range over both sets' maps.
    both = np.concatenate([r.activation_maps for r in results])
    assert results[0].report.value_range == reference_range(both)
    assert results[1].report.value_range == reference_range(both)
    # The report is utilization_report of the maps on that range.
    expected = utilization_report(
        results[0].activation_maps,
        results[0].labels,
        digits.class_names,
        value_range=reference_range(both),
    )
    np.testing.assert_allclose(results[0].report.per_image, expected.per_image)
    assert results[0].report.per_class == expected.per_class


def test_saved_model_is_shared_and_per_set_range(tmp_path, digits, saved_convnet):
    model, path = saved_convnet
    first = write_set(tmp_path / "a.tfrecord", digits, seed=0)
    second = write_set(tmp_path / "b.tfrecord", digits, seed=1)
    results = measure_sets([first, second], model_weights=path, value_range="set")
    for result in results:
        assert result.network["source"] == "weights"
        np.testing.assert_allclose(
            result.activation_maps, activation_maps(model, result.images), atol=1e-6
        )
        assert result.report.value_range == reference_range(result.activation_maps)
    assert results[0].report.value_range != results[1].report.value_range
    entry = results[0].to_dict()
    assert entry["map_shape"] == [2, 2, 4]
    assert entry["ipc"] == 2 and entry["num_images"] == 20
    assert sorted(entry["per_class_mue"]) == sorted(digits.class_names)


def test_a_set_in_another_normalization_is_measured_alike(
    tmp_path, digits, saved_convnet
):
    _, path = saved_convnet
    plain = write_set(tmp_path / "plain.tfrecord", digits, seed=0)
    other = Normalization(mean=(0.25,), std=(0.5,))
    images = digits.normalization.denormalize(digits.x_train)
    rng = np.random.default_rng(0)
    index = np.concatenate(
        [
            rng.choice(np.flatnonzero(digits.y_train == c), 2, replace=False)
            for c in range(10)
        ]
    )
    moved = write_set(
        tmp_path / "moved.tfrecord",
        digits,
        seed=0,
        normalization=other.to_dict(),
        images=other.normalize(images[index]).astype("float32"),
    )
    first, second = measure_sets([plain, moved], model_weights=path)
    np.testing.assert_allclose(first.images, second.images, atol=1e-5)
    np.testing.assert_allclose(
        first.report.per_image, second.report.per_image, atol=1e-6
    )


def test_in_normalization_round_trip():
    stored = Normalization(mean=(0.5,), std=(0.25,))
    target = Normalization(mean=(0.1,), std=(0.3,))
    pixels = np.linspace(0.0, 1.0, 8, dtype="float32").reshape(2, 2, 2, 1)
    moved = in_normalization(stored.normalize(pixels), stored, target)
    np.testing.assert_allclose(moved, target.normalize(pixels), atol=1e-6)


def test_set_names_are_unique():
    assert set_names(["x/a.tfrecord", "y/a.tfrecord"]) == ["1:a", "2:a"]
    assert set_names(["x/a.tfrecord", "y/b.tfrecord"]) == ["a", "b"]


def test_sets_of_different_datasets_are_refused(tmp_path, digits):
    first = write_set(tmp_path / "a.tfrecord", digits)
    other = write_set(tmp_path / "b.tfrecord", digits, dataset="mnist")
    with pytest.raises(UddError, match="different datasets.*'mnist'.*'digits'"):
        measure_sets([first, other], **FAST)


def test_bad_arguments(tmp_path, digits):
    source = write_set(tmp_path / "a.tfrecord", digits)
    with pytest.raises(UddError, match="no set given"):
        measure_sets([], **FAST)
    with pytest.raises(UddError, match="value_range must be None.*got 'global'"):
        measure_sets([source], value_range="global", **FAST)


def test_network_of_another_shape_is_refused(tmp_path, digits):
    source = write_set(tmp_path / "a.tfrecord", digits)
    path = tmp_path / "big.keras"
    get_model("convnet3", (16, 16, 1), 10, width=4, seed=0).save(path)
    with pytest.raises(UddError, match=r"takes images of shape \(16, 16, 1\)"):
        measure_sets([source], model_weights=path)
