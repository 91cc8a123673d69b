"""The measuring network: training, safe loading, and reading activation maps."""

import keras
import numpy as np
import pytest

from udd_keras.data import load_dataset
from udd_keras.errors import UddError
from udd_keras.metrics.network import (
    activation_maps,
    check_input_shape,
    load_measuring_network,
    train_measuring_network,
)
from udd_keras.models import get_model
from udd_keras.training import TrainingRecipe


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture
def convnet():
    return get_model("convnet3", (8, 8, 1), 10, width=4, seed=0)


@pytest.fixture
def functional():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(3, 3, name="conv")(inputs)
    x = keras.layers.Flatten(name="flat")(x)
    outputs = keras.layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs)


def test_convnet_maps_are_the_features_of_the_layer(convnet, rng):
    images = rng.normal(size=(5, 8, 8, 1)).astype("float32")
    feature_maps = convnet.features(images)[0]
    for layer in (0, 1, -1):
        maps = activation_maps(convnet, images, layer, batch_size=2)
        np.testing.assert_allclose(maps, np.asarray(feature_maps[layer]), atol=1e-6)
    assert activation_maps(convnet, images).shape == (5, 2, 2, 4)
    assert activation_maps(convnet, images, 0).shape == (5, 8, 8, 4)


def test_layer_out_of_range_is_refused(convnet):
    with pytest.raises(UddError, match=r"layer 3 out of range.*allowed -3..2"):
        activation_maps(convnet, np.zeros((1, 8, 8, 1), "float32"), 3)


def test_named_layer_of_a_functional_model(functional, rng):
    images = rng.normal(size=(3, 8, 8, 1)).astype("float32")
    maps = activation_maps(functional, images, "conv")
    expected = functional.get_layer("conv")(images)
    assert maps.shape == (3, 6, 6, 3)
    np.testing.assert_allclose(maps, np.asarray(expected), atol=1e-6)


def test_bad_layers_of_a_functional_model(functional):
    images = np.zeros((1, 8, 8, 1), "float32")
    with pytest.raises(UddError, match=r"no layer 'nope'.*conv, flat, logits"):
        activation_maps(functional, images, "nope")
    with pytest.raises(UddError, match="not \\(h, w, c\\) activation maps"):
        activation_maps(functional, images, "flat")
    with pytest.raises(UddError, match="name one of its layers"):
        activation_maps(functional, images, -1)


def test_saved_convnet_loads_with_identical_maps(tmp_path, convnet, rng):
    path = tmp_path / "net.keras"
    convnet.save(path)
    network = load_measuring_network(path)
    images = rng.normal(size=(2, 8, 8, 1)).astype("float32")
    np.testing.assert_array_equal(
        activation_maps(network.model, images), activation_maps(convnet, images)
    )
    assert network.description["source"] == "weights"
    assert network.description["class"] == "ConvNet"
    assert network.description["config"]["width"] == 4


def test_loading_refuses_code_in_the_file(tmp_path):
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(UddError, match="is not a loadable Keras model"):
        load_measuring_network(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.keras", None, "not found"),
        ("net.h5", b"x", "ending in '.keras'"),
        ("garbage.keras", b"not a zip file", "is not a loadable Keras model"),
    ],
)
def test_bad_weights_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UddError, match=message):
        load_measuring_network(path)


def test_trained_network_is_deterministic_and_described(digits):
    x, y = digits.x_train[:20], digits.y_train[:20]
    recipe = TrainingRecipe(epochs=2, width=4)
    first = train_measuring_network(x, y, 10, "digits", recipe, seed=3)
    second = train_measuring_network(x, y, 10, "digits", recipe, seed=3)
    np.testing.assert_array_equal(
        activation_maps(first.model, x), activation_maps(second.model, x)
    )
    untrained = get_model("convnet3", (8, 8, 1), 10, width=4, seed=3)
    assert not np.allclose(
        activation_maps(first.model, x), activation_maps(untrained, x)
    )
    description = first.description
    assert description["source"] == "trained"
    assert (description["model"], description["width"]) == ("convnet3", 4)
    assert (description["epochs"], description["seed"]) == (2, 3)
    assert description["training_images"] == 20
    assert "flip" not in description["dsa_strategy"]  # digits: no flip


def test_input_shape_and_classes_are_checked(convnet, functional):
    check_input_shape(convnet, (8, 8, 1), 10)
    check_input_shape(functional, (8, 8, 1))
    with pytest.raises(
        UddError,
        match=r"takes images of shape \(8, 8, 1\).*"
        r"\(28, 28, 1\)",
    ):
        check_input_shape(convnet, (28, 28, 1), 10)
    with pytest.raises(UddError, match="has 10 classes, the sets have 3"):
        check_input_shape(convnet, (8, 8, 1), 3)
