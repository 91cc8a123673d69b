import math

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.losses import cfc_loss, update_class_centers


def _cos(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_cfc_loss_equals_hand_computation():
    f = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]], "float32")
    centers = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [2.0, -1.0, 1.0]], "float32")
    tau = 0.7
    expected = 0.0
    for row, c in zip(f, (0, 2), strict=True):
        positive = math.exp(_cos(row, centers[c]) / tau)
        negatives = sum(
            math.exp(_cos(row, centers[i]) / tau) for i in range(3) if i != c
        )
        expected += -math.log(positive / negatives)
    got = float(cfc_loss(f, centers, [0, 2], temperature=tau))
    assert got == pytest.approx(expected, rel=1e-5)


def test_cfc_gradient_flows_to_features_not_centers():
    f = tf.Variable([[1.0, 0.5]])
    centers = tf.Variable([[1.0, 0.0], [0.0, 1.0]])
    with tf.GradientTape(persistent=True) as tape:
        loss = cfc_loss(f, centers, [0])
    assert tape.gradient(loss, centers) is None
    assert np.abs(tape.gradient(loss, f).numpy()).sum() > 0


def test_moving_average_update_and_first_fill():
    centers = tf.constant([[1.0, 1.0], [0.0, 0.0]])
    filled = tf.constant([True, False])
    features = tf.constant([[3.0, 5.0], [2.0, 4.0]])
    new, new_filled = update_class_centers(centers, filled, features, [0, 1], 0.5)
    np.testing.assert_allclose(new.numpy(), [[2.0, 3.0], [2.0, 4.0]])
    assert new_filled.numpy().tolist() == [True, True]
