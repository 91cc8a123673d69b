import keras
import numpy as np
import tensorflow as tf

from udd_keras.models.normalization import InstanceNormalization


def _hessian_vector_error(layer):
    """Max |HVP (double tape) - HVP (finite differences)| for sum(w * layer(x)^2)."""
    rng = np.random.default_rng(0)
    x, w, v = (tf.constant(rng.normal(size=(2, 4, 4, 3)), tf.float64) for _ in "xwv")

    def gradient(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            value = tf.reduce_sum(w * layer(inputs) ** 2)
        return tape.gradient(value, inputs)

    with tf.GradientTape() as outer:
        outer.watch(x)
        projected = tf.reduce_sum(gradient(x) * v)
    exact = outer.gradient(projected, x)
    step = 1e-6
    numeric = (gradient(x + step * v) - gradient(x - step * v)) / (2 * step)
    return float(tf.reduce_max(tf.abs(exact - numeric)))


def test_second_order_gradients_are_exact():
    layer = InstanceNormalization(dtype="float64")
    assert _hessian_vector_error(layer) < 1e-6


def test_keras_group_norm_second_order_is_not_exact_which_is_why_we_have_ours():
    layer = keras.layers.GroupNormalization(groups=3, epsilon=1e-5, dtype="float64")
    assert _hessian_vector_error(layer) > 1e-3


def test_matches_group_normalization_forward_and_first_gradient():
    x = tf.constant(np.random.default_rng(1).normal(size=(3, 5, 5, 4)), tf.float32)
    ours = InstanceNormalization()
    reference = keras.layers.GroupNormalization(groups=4, epsilon=1e-5)
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-5)
    out = ours(x).numpy()
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2)), 1, atol=1e-2)


def test_config_round_trip():
    layer = InstanceNormalization(epsilon=1e-3, name="norm")
    clone = InstanceNormalization.from_config(layer.get_config())
    assert clone.epsilon == 1e-3 and clone.name == "norm"
