import keras
import numpy as np
import pytest
import tensorflow as tf

from udd_keras.models.normalization import InstanceNormalization, instance_norm


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


def _plain_instance_norm(x, gamma, beta, epsilon=1e-5):
    """The textbook formula, differentiated by autodiff: the reference."""
    mean = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    variance = tf.reduce_mean(tf.square(x - mean), axis=[1, 2], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + epsilon) * gamma + beta


def _first_and_second_derivatives(norm, x, gamma, beta, weights, v):
    """Value, first derivatives, and d/dx of their projections on `v`."""
    with tf.GradientTape(persistent=True) as outer:
        outer.watch([x, gamma, beta])
        with tf.GradientTape() as inner:
            inner.watch([x, gamma, beta])
            value = tf.reduce_sum(weights * tf.nn.relu(norm(x, gamma, beta)) ** 2)
        grad_x, grad_gamma, grad_beta = inner.gradient(value, [x, gamma, beta])
        projections = [
            tf.reduce_sum(grad_x * v),
            tf.reduce_sum(grad_gamma * tf.range(1.0, 4.0, dtype=x.dtype)),
            tf.reduce_sum(grad_beta * tf.range(3.0, 0.0, -1.0, dtype=x.dtype)),
        ]
    second = [outer.gradient(p, x) for p in projections]
    second += [outer.gradient(projections[0], gamma)]
    return [value, grad_x, grad_gamma, grad_beta, *second]


@pytest.mark.parametrize("compiled", [False, True])
def test_hand_written_gradient_matches_autodiff_to_second_order(compiled):
    rng = np.random.default_rng(2)
    x, weights, v = (
        tf.constant(rng.normal(size=(2, 5, 4, 3)), tf.float64) for _ in "xwv"
    )
    gamma = tf.constant(rng.uniform(0.5, 1.5, size=3), tf.float64)
    beta = tf.constant(rng.normal(size=3), tf.float64)

    def run(norm):
        function = _first_and_second_derivatives
        if compiled:
            function = tf.function(function)
        return function(norm, x, gamma, beta, weights, v)

    ours = run(instance_norm)
    reference = run(_plain_instance_norm)
    for got, want in zip(ours, reference, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_layer_gradient_reaches_gamma_and_beta_variables():
    layer = InstanceNormalization()
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 4, 4, 3)), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * tf.range(1.0, 4.0))
    grad_gamma, grad_beta = tape.gradient(loss, [layer.gamma.value, layer.beta.value])
    # d/dbeta sums the weights over B, H, W: 2 * 16 * (1, 2, 3).
    np.testing.assert_allclose(grad_beta, [32.0, 64.0, 96.0], rtol=1e-6)
    assert grad_gamma.shape == (3,)


def test_mixed_precision_keeps_statistics_and_parameters_in_float32():
    x = tf.constant(np.random.default_rng(4).normal(3.0, 2.0, size=(2, 6, 6, 4)))
    x = tf.cast(x, tf.float32)
    mixed = InstanceNormalization(dtype="mixed_bfloat16")
    exact = InstanceNormalization()
    out = mixed(tf.cast(x, tf.bfloat16))
    assert out.dtype == tf.bfloat16
    assert mixed.gamma.dtype == "float32" and mixed.beta.dtype == "float32"
    # Only the input and output roundings of bfloat16 (8 bits of mantissa).
    np.testing.assert_allclose(tf.cast(out, tf.float32), exact(x), atol=0.05)
