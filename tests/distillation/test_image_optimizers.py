"""The image optimizers: the update rules, the per-channel rate, checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.distillation.image_optimizers import (
    ImageAdam,
    ImageSGD,
    get_image_optimizer,
)
from udd_keras.errors import UddError

SHAPE = (2, 3, 3, 2)


def _images_and_gradients(steps):
    rng = np.random.default_rng(0)
    images = rng.normal(size=SHAPE).astype(np.float32)
    gradients = rng.normal(size=(steps, *SHAPE)).astype(np.float32)
    return images, gradients


def _run(optimizer, images, gradients):
    variable = tf.Variable(images)
    optimizer.build(variable)
    for gradient in gradients:
        optimizer.apply(tf.constant(gradient), variable)
    return variable.numpy()


def test_sgd_is_pytorch_momentum_sgd_with_a_per_channel_rate_and_clipping():
    images, gradients = _images_and_gradients(3)
    rate = np.array([0.1, 0.2], np.float32)
    clip = (np.array([-1.0, -0.5], np.float32), np.array([1.0, 0.5], np.float32))
    optimizer = ImageSGD(momentum=0.5, clip=clip)
    variable = tf.Variable(images)
    optimizer.build(variable)
    optimizer.learning_rate.assign(rate)
    expected, velocity = images.copy(), np.zeros_like(images)
    for gradient in gradients:
        optimizer.apply(tf.constant(gradient), variable)
        velocity = 0.5 * velocity + gradient
        expected = np.clip(expected - rate * velocity, *clip)
    np.testing.assert_allclose(variable.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(optimizer.velocity.numpy(), velocity, atol=1e-6)


def test_adam_is_bias_corrected_adam():
    images, gradients = _images_and_gradients(4)
    optimizer = ImageAdam(learning_rate=0.01)
    result = _run(optimizer, images, gradients)
    expected, first, second = images.copy(), 0.0, 0.0
    for count, gradient in enumerate(gradients, start=1):
        first = 0.9 * first + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient**2
        first_hat = first / (1 - 0.9**count)
        second_hat = second / (1 - 0.999**count)
        expected = expected - 0.01 * first_hat / (np.sqrt(second_hat) + 1e-8)
    np.testing.assert_allclose(result, expected, atol=1e-6)
    assert float(optimizer.iterations.numpy()) == 4
    # Each pixel moved by at most about the rate per step.
    assert np.abs(result - images).max() <= 4 * 0.01 * 1.01


@pytest.mark.parametrize("name, power", [("sgd", 2), ("adam", 1)])
def test_a_pixel_rate_becomes_a_normalised_rate_per_channel(name, power):
    optimizer = get_image_optimizer(name, learning_rate=1.0)
    optimizer.build(tf.Variable(tf.zeros(SHAPE)))
    std = np.array([0.5, 0.25], np.float32)
    optimizer.set_pixel_learning_rate(0.01, std)
    np.testing.assert_allclose(
        optimizer.learning_rate.numpy(), 0.01 / std**power, rtol=1e-6
    )


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_the_state_checkpoints_and_restores(name, tmp_path):
    images, gradients = _images_and_gradients(2)
    trained = get_image_optimizer(name, learning_rate=0.05)
    _run(trained, images, gradients)
    path = tf.train.Checkpoint(image_optimizer=trained).write(str(tmp_path / "c"))

    fresh = get_image_optimizer(name, learning_rate=0.05)
    fresh.build(tf.Variable(images))
    tf.train.Checkpoint(image_optimizer=fresh).read(path).assert_consumed()
    for before, after in zip(trained.state(), fresh.state(), strict=True):
        np.testing.assert_array_equal(before.numpy(), after.numpy())
    # Restored, the next steps are the same as the trained optimizer's.
    a, b = tf.Variable(images), tf.Variable(images)
    trained.apply(tf.constant(gradients[0]), a)
    fresh.apply(tf.constant(gradients[0]), b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_build_creates_the_state_once():
    optimizer = ImageSGD()
    images = tf.Variable(tf.zeros(SHAPE))
    optimizer.build(images)
    velocity = optimizer.velocity
    optimizer.build(images)
    assert optimizer.velocity is velocity
    assert optimizer.learning_rate.shape == (2,)


def test_get_config_holds_the_arguments():
    clip = (np.zeros(2, np.float32), np.ones(2, np.float32))
    assert ImageSGD(0.1, momentum=0.9, clip=clip).get_config() == {
        "name": "sgd",
        "learning_rate": 0.1,
        "clip": [[0.0, 0.0], [1.0, 1.0]],
        "momentum": 0.9,
    }
    assert ImageAdam(0.01).get_config() == {
        "name": "adam",
        "learning_rate": 0.01,
        "clip": None,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-8,
    }


def test_an_unknown_optimizer_is_refused():
    with pytest.raises(UddError, match="must be one of sgd, adam; got 'rmsprop'"):
        get_image_optimizer("rmsprop")
