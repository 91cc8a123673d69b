import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import UddError
from udd_keras.losses import gradient_distance, matching_loss, select_matched_variables
from udd_keras.models import ConvNet


def test_distances_by_hand():
    a = tf.constant([[1.0, -2.0], [0.5, 0.0]])
    b = tf.constant([[0.0, 1.0], [0.5, 2.0]])
    assert float(gradient_distance(a, b, "l1")) == pytest.approx(1 + 3 + 0 + 2)
    assert float(gradient_distance(a, b, "mse")) == pytest.approx(1 + 9 + 0 + 4)
    # cos: columns are output units: (1, .5) vs (0, .5) and (-2, 0) vs (1, 2)
    cos0 = 0.25 / (np.hypot(1, 0.5) * 0.5)
    cos1 = -2 / (2 * np.hypot(1, 2))
    assert float(gradient_distance(a, b, "cos")) == pytest.approx(
        (1 - cos0) + (1 - cos1), rel=1e-4
    )


def test_unknown_metric_lists_allowed():
    with pytest.raises(UddError, match="l1, mse, cos|'l1', 'mse', 'cos'"):
        gradient_distance(tf.ones(2), tf.ones(2), "l2")


def test_matching_loss_zero_for_identical_real_and_synthetic_batches():
    model = ConvNet((8, 8, 1), num_classes=3, width=4, seed=0)
    images = tf.random.stateless_normal((5, 8, 8, 1), [1, 2])
    labels = tf.constant([0, 1, 2, 0, 1])
    variables = select_matched_variables(model, "conv")

    def gradients():
        with tf.GradientTape() as tape:
            logits = model(images)
            loss = tf.reduce_mean(
                tf.keras.losses.sparse_categorical_crossentropy(
                    labels, logits, from_logits=True
                )
            )
        return tape.gradient(loss, variables)

    real, synthetic = gradients(), gradients()
    for metric in ("l1", "mse"):
        assert float(matching_loss(real, synthetic, metric)) == 0.0
    # cos carries a 1e-6 guard in its denominator: compare on well-scaled gradients
    scaled_real, scaled_syn = [g * 1e3 for g in real], [g * 1e3 for g in synthetic]
    assert float(matching_loss(scaled_real, scaled_syn, "cos")) == pytest.approx(
        0, abs=1e-4
    )
    shifted = [g + 0.01 for g in synthetic]
    assert float(matching_loss(real, shifted, "l1")) > 0


def test_conv_selection_matches_kernels_only():
    model = ConvNet((8, 8, 1), num_classes=3, width=4, depth=2, seed=0)
    conv = select_matched_variables(model, "conv")
    assert len(conv) == 2 and all(len(v.shape) == 4 for v in conv)
    assert len(select_matched_variables(model, "conv+dense")) == 3
    assert len(select_matched_variables(model, "all")) == len(model.trainable_variables)
