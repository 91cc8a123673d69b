"""InstanceNormalization equals GroupNormalization(groups=channels), to every order."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from udd_keras.models.base import InstanceNormalization, normalization


def _pair(channels, seed=0):
    """An InstanceNormalization and a GroupNormalization with the same weights."""
    fast = InstanceNormalization(channels=channels, epsilon=1e-5)
    reference = keras.layers.GroupNormalization(groups=channels, epsilon=1e-5)
    shape = (None, 6, 5, channels)
    fast.build(shape)
    reference.build(shape)
    gamma = np.random.default_rng(seed).normal(size=channels).astype("float32")
    beta = np.linspace(-1, 1, channels).astype("float32")
    for layer in (fast, reference):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    return fast, reference


def _inputs(channels, batch=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, 6, 5, channels)) * 2.0 + 0.5
    return tf.constant(x, tf.float32)


def test_forward_matches_group_normalization():
    fast, reference = _pair(4)
    x = _inputs(4)
    np.testing.assert_allclose(fast(x), reference(x), rtol=1e-5, atol=1e-5)


def test_second_order_gradient_matches_group_normalization():
    """The gradient of a gradient-matching-like loss, as the distillation takes it."""
    x = _inputs(4)
    kernel = tf.constant(np.random.default_rng(2).normal(size=(3, 3, 4, 4)), tf.float32)
    weights = tf.constant(
        np.random.default_rng(3).normal(size=(3, 6, 5, 4)), tf.float32
    )

    def loss_gradient(layer):
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(kernel)
                hidden = tf.nn.conv2d(x, kernel, 1, "SAME")
                out = tf.nn.relu(layer(hidden))
                loss = tf.reduce_sum(tf.sin(out) * weights)
            grads = inner.gradient(loss, [kernel, *layer.trainable_variables])
            distance = tf.add_n([tf.reduce_sum(tf.abs(g - 0.1)) for g in grads])
            distance += tf.reduce_sum(out)
        return loss, grads, outer.gradient(distance, x)

    fast, reference = _pair(4)
    fast_loss, fast_grads, fast_second = loss_gradient(fast)
    ref_loss, ref_grads, ref_second = loss_gradient(reference)
    np.testing.assert_allclose(fast_loss, ref_loss, rtol=1e-5)
    for got, want in zip(fast_grads, ref_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    scale = float(tf.reduce_max(tf.abs(ref_second)))
    np.testing.assert_allclose(fast_second, ref_second, rtol=1e-4, atol=1e-5 * scale)


def test_normalization_builds_instance_norm_and_round_trips_config():
    layer = normalization("instance", 8, name="norm")
    assert isinstance(layer, InstanceNormalization)
    assert layer.groups == 8
    restored = InstanceNormalization.from_config(layer.get_config())
    assert restored.groups == 8 and restored.epsilon == pytest.approx(1e-5)


def test_other_group_counts_fall_back_to_group_normalization():
    layer = InstanceNormalization(groups=2, epsilon=1e-3)
    reference = keras.layers.GroupNormalization(groups=2, epsilon=1e-3)
    x = _inputs(4)
    np.testing.assert_allclose(layer(x), reference(x), rtol=1e-5, atol=1e-5)
