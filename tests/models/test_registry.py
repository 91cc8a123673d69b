import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.models import MODEL_NAMES, ConvNet, get_model


def test_model_names():
    assert set(MODEL_NAMES) == {
        "convnet3",
        "convnet",
        "resnet18",
        "vgg11",
        "alexnet",
        "resnet_ap10",
    }


def test_convnet_defaults_and_alias():
    model = get_model("convnet", (28, 28, 1), 10)
    assert isinstance(model, ConvNet)
    assert (model.width, model.depth, model.norm, model.pooling) == (
        128,
        3,
        "instance",
        "avg",
    )


def test_options_reach_the_model():
    model = get_model("convnet3", (32, 32, 3), 10, width=8, depth=2, norm="batch")
    assert (model.width, model.depth, model.norm) == (8, 2, "batch")


@pytest.mark.parametrize(
    "name", ["convnet3", "resnet18", "vgg11", "alexnet", "resnet_ap10"]
)
def test_same_seed_gives_same_weights(name):
    first = get_model(name, (32, 32, 3), 10, width=4, seed=7)
    second = get_model(name, (32, 32, 3), 10, width=4, seed=7)
    other = get_model(name, (32, 32, 3), 10, width=4, seed=8)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_seed_does_not_touch_global_rng():
    import keras

    keras.utils.set_random_seed(0)
    expected = keras.random.uniform((3,)).numpy()
    keras.utils.set_random_seed(0)
    get_model("convnet3", (8, 8, 1), 10, width=4, seed=5)
    np.testing.assert_array_equal(keras.random.uniform((3,)).numpy(), expected)


def test_distinct_layers_get_distinct_seeds():
    model = get_model("convnet3", (8, 8, 4), 10, width=4, seed=1)
    kernels = [w for w in model.trainable_weights if len(w.shape) == 4]
    # conv_1 and conv_2 both have shape (3, 3, 4, 4): different draws.
    assert kernels[1].shape == kernels[2].shape
    assert not np.allclose(kernels[1].numpy(), kernels[2].numpy())


def test_unknown_name_lists_allowed_names():
    with pytest.raises(UddError) as error:
        get_model("resnet50", (32, 32, 3), 10)
    message = str(error.value)
    assert "'resnet50'" in message
    for name in MODEL_NAMES:
        assert name in message


def test_bad_input_shape_raises():
    with pytest.raises(UddError, match="input_shape"):
        get_model("convnet3", (32, 32), 10)
