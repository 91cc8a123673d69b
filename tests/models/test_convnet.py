import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import UddError
from udd_keras.models import ConvNet


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (8, 8, 1), (32, 32, 1)])
def test_features_shapes(shape):
    model = ConvNet(shape, num_classes=5, width=8, seed=0)
    images = tf.random.normal((3, *shape))

    feature_maps, embedding = model.features(images)

    side = 32 if shape[0] == 28 else shape[0]
    assert [tuple(m.shape) for m in feature_maps] == [
        (3, side, side, 8),
        (3, side // 2, side // 2, 8),
        (3, side // 4, side // 4, 8),
    ]
    assert tuple(embedding.shape) == (3, (side // 8) ** 2 * 8)
    assert tuple(model(images).shape) == (3, 5)


def test_feature_maps_are_post_relu():
    model = ConvNet((32, 32, 3), num_classes=4, width=8, seed=0)
    feature_maps, _ = model.features(tf.random.normal((2, 32, 32, 3)))
    for feature_map in feature_maps:
        values = feature_map.numpy()
        assert values.min() >= 0.0
        assert (values > 0).any()


def test_28px_maps_match_32px_maps():
    small = ConvNet((28, 28, 1), num_classes=10, width=8, seed=0)
    large = ConvNet((32, 32, 1), num_classes=10, width=8, seed=0)
    small_maps, small_embedding = small.features(tf.zeros((1, 28, 28, 1)))
    large_maps, large_embedding = large.features(tf.zeros((1, 32, 32, 1)))
    assert [m.shape for m in small_maps] == [m.shape for m in large_maps]
    assert small_embedding.shape == large_embedding.shape
    # Same weight shapes, so weights transfer between the two.
    large.set_weights(small.get_weights())


def test_28px_first_conv_is_zero_padded_by_3():
    # A 'valid' conv on the 3-padded 28 px image sees only zeros at the border
    # ring of width 2: with no norm the first map there equals relu(bias).
    model = ConvNet((28, 28, 1), num_classes=2, width=4, norm="none", seed=0)
    bias = np.array([0.5, -0.5, 0.25, 0.0], np.float32)
    model.convs[0].bias.assign(bias)
    first_map = model.features(tf.ones((1, 28, 28, 1)))[0][0].numpy()
    np.testing.assert_allclose(first_map[0, 0, 0], np.maximum(bias, 0), atol=1e-6)
    np.testing.assert_allclose(first_map[0, 1, 31], np.maximum(bias, 0), atol=1e-6)
    assert not np.allclose(first_map[0, 2, 2], np.maximum(bias, 0))


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_norm_and_pooling_options(norm, pooling):
    model = ConvNet((16, 16, 3), 3, width=4, norm=norm, pooling=pooling, seed=0)
    norm_weights = [w for w in model.weights if "norm" in w.path]
    assert (len(norm_weights) > 0) == (norm != "none")
    assert tuple(model(tf.random.normal((2, 16, 16, 3))).shape) == (2, 3)


def test_instance_norm_normalises_each_channel():
    model = ConvNet((16, 16, 3), 3, width=4, seed=0)
    normed = model.norms[0](model.convs[0](tf.random.normal((2, 16, 16, 3)) * 5))
    mean = tf.reduce_mean(normed, axis=[1, 2]).numpy()
    std = tf.math.reduce_std(normed, axis=[1, 2]).numpy()
    np.testing.assert_allclose(mean, 0.0, atol=1e-4)
    np.testing.assert_allclose(std, 1.0, atol=1e-2)


def test_depth_option():
    model = ConvNet((32, 32, 3), 10, width=4, depth=4, seed=0)
    feature_maps, embedding = model.features(tf.zeros((1, 32, 32, 3)))
    assert len(feature_maps) == 4
    assert tuple(embedding.shape) == (1, 2 * 2 * 4)


def test_depth_too_large_for_image_raises():
    with pytest.raises(UddError, match="depth 4 pools a 8x8 image"):
        ConvNet((8, 8, 1), 10, width=4, depth=4)


@pytest.mark.parametrize(
    "kwargs, text",
    [({"norm": "layer"}, "Unknown norm 'layer'"), ({"pooling": "sum"}, "avg, max")],
)
def test_bad_options_raise(kwargs, text):
    with pytest.raises(UddError, match=text):
        ConvNet((32, 32, 3), 10, width=4, **kwargs)


def test_get_config_round_trip_gives_same_outputs():
    model = ConvNet((28, 28, 1), 7, width=4, norm="batch", pooling="max", seed=3)
    clone = ConvNet.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    images = tf.random.normal((2, 28, 28, 1))
    assert clone.get_config()["pooling"] == "max"
    np.testing.assert_allclose(clone(images), model(images), atol=1e-6)


def test_save_and_load_keras_file(tmp_path):
    import keras

    model = ConvNet((8, 8, 1), 3, width=4, seed=1)
    path = tmp_path / "convnet.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    images = tf.random.normal((2, 8, 8, 1))
    assert isinstance(loaded, ConvNet)
    np.testing.assert_allclose(loaded(images), model(images), atol=1e-6)


def test_mixed_bfloat16_policy_reaches_convolutions_not_norm_or_logits():
    model = ConvNet((28, 28, 1), 10, width=8, seed=0, dtype="mixed_bfloat16")
    exact = ConvNet((28, 28, 1), 10, width=8, seed=0)
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    maps, embedding = model.features(images)
    assert [m.dtype for m in maps] == [tf.bfloat16] * 3
    assert model(images).dtype == tf.float32
    assert {v.dtype for v in model.weights} == {"float32"}
    clone = ConvNet.from_config(model.get_config())
    assert clone.convs[1].compute_dtype == "bfloat16"
    np.testing.assert_allclose(model(images), exact(images), atol=0.05)
