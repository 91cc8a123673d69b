import keras
import numpy as np
import tensorflow as tf

from udd_keras.augmentation import DifferentiableAugmentation, augment


def _images():
    return tf.random.stateless_normal([4, 8, 8, 1], [1, 2])


def test_identity_when_not_training():
    layer = DifferentiableAugmentation("color_crop_cutout", seed=0)
    np.testing.assert_array_equal(layer(_images(), training=False), _images())


def test_fresh_parameters_every_training_call():
    layer = DifferentiableAugmentation("color_crop_cutout", seed=0)
    first = layer(_images(), training=True).numpy()
    second = layer(_images(), training=True).numpy()
    assert first.shape == (4, 8, 8, 1)
    assert not np.allclose(first, second)


def test_explicit_seed_matches_functional_api():
    layer = DifferentiableAugmentation("crop_scale_rotate", per_sample=True)
    seed = tf.constant([3, 4], tf.int64)
    expected = augment(_images(), "crop_scale_rotate", seed, per_sample=True)
    np.testing.assert_array_equal(layer(_images(), training=True, seed=seed), expected)


def test_seeded_layers_repeat_their_sequence():
    first = DifferentiableAugmentation("color_flip", seed=7)
    second = DifferentiableAugmentation("color_flip", seed=7)
    for _ in range(2):
        np.testing.assert_array_equal(
            first(_images(), training=True), second(_images(), training=True)
        )


def test_inside_a_model_and_tf_function():
    inputs = keras.Input((8, 8, 1))
    x = DifferentiableAugmentation("color_crop_cutout_scale_rotate", seed=0)(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    step = tf.function(lambda x: model(x, training=True))
    first, second = step(_images()).numpy(), step(_images()).numpy()
    assert step.experimental_get_tracing_count() == 1
    assert not np.allclose(first, second)


def test_get_config_round_trip():
    layer = DifferentiableAugmentation("rotate_color", per_sample=False, seed=3)
    clone = DifferentiableAugmentation.from_config(layer.get_config())
    assert clone.strategy == "color_rotate"
    assert clone.per_sample is False and clone.seed == 3
