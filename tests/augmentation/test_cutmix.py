import numpy as np
import pytest
import tensorflow as tf

from udd_keras.augmentation import cutmix
from udd_keras.errors import UddError


def _batch(batch=8, size=16, classes=4):
    images = tf.random.stateless_normal([batch, size, size, 3], [0, 0])
    labels = tf.one_hot(tf.range(batch) % classes, classes)
    return images, labels


@pytest.mark.parametrize("seed", range(6))
def test_label_mass_sums_to_one(seed):
    images, labels = _batch()
    mixed_images, mixed_labels = cutmix(images, labels, 1.0, seed=seed)
    assert mixed_images.shape == images.shape
    np.testing.assert_allclose(tf.reduce_sum(mixed_labels, -1), 1.0, atol=1e-6)


def test_label_weights_match_pasted_area():
    # One class per image, so an image's own label keeps exactly the fraction
    # of its pixels that were not pasted over (or 1 if paired with itself).
    images, labels = _batch(batch=8, classes=8)
    mixed, mixed_labels = cutmix(images, labels, 1.0, seed=3)
    changed = np.any(mixed.numpy() != images.numpy(), axis=-1).mean(axis=(1, 2))
    own = np.diagonal(mixed_labels.numpy())
    assert changed.max() > 0
    for fraction, weight in zip(changed, own, strict=True):
        assert (
            np.isclose(weight, 1 - fraction, atol=1e-6)
            or (fraction == 0 and np.isclose(weight, 1 - changed.max(), atol=1e-6))
            or np.isclose(weight, 1.0)
        )


def test_probability_zero_is_identity():
    images, labels = _batch()
    mixed, mixed_labels = cutmix(images, labels, 0.0, seed=1)
    np.testing.assert_array_equal(mixed, images)
    np.testing.assert_array_equal(mixed_labels, labels)


def test_probability_is_respected():
    images, labels = _batch(batch=4, size=8)
    mixed = [
        not np.array_equal(cutmix(images, labels, 0.5, seed=s)[1], labels)
        for s in range(60)
    ]
    assert 0.3 < np.mean(mixed) < 0.7


def test_same_seed_same_result_and_gradients_flow():
    images, labels = _batch()
    variable = tf.Variable(images)
    with tf.GradientTape() as tape:
        mixed, _ = cutmix(variable, labels, 1.0, seed=tf.constant([4, 2]))
        loss = tf.reduce_sum(mixed**2)
    grad = tape.gradient(loss, variable)
    assert np.isfinite(grad.numpy()).all() and np.abs(grad.numpy()).sum() > 0
    again, _ = cutmix(images, labels, 1.0, seed=tf.constant([4, 2]))
    np.testing.assert_array_equal(mixed, again)


def test_traces_once_in_tf_function():
    step = tf.function(lambda x, y, seed: cutmix(x, y, 0.5, seed))
    images, labels = _batch()
    for s in range(3):
        step(images, labels, tf.constant([s, 0], tf.int64))
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    "kwargs, text", [({"probability": 1.5}, "probability"), ({"beta": 0.0}, "beta")]
)
def test_bad_arguments_raise(kwargs, text):
    images, labels = _batch()
    arguments = {"probability": 0.5, "seed": 0, **kwargs}
    with pytest.raises(UddError, match=text):
        cutmix(images, labels, **arguments)
