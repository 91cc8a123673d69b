"""`ClassifierStep`: gradients, the loss, and replica-count independence."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from udd_keras.training import ClassifierStep, MomentumSGD
from udd_keras.training.classifier import build_classifier
from udd_keras.training.recipe import TrainingRecipe

SEEDS = (tf.constant([1, 2], tf.int64), tf.constant([3, 4], tf.int64))


def _linear_model(weights, bias):
    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten()])
    model.add(keras.layers.Dense(3))
    model.layers[-1].set_weights([weights, bias])
    return model


def test_loss_and_update_match_a_hand_computation():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(4, 3)).astype("float32")
    bias = rng.normal(size=3).astype("float32")
    model = _linear_model(weights, bias)
    images = rng.normal(size=(5, 2, 2, 1)).astype("float32")
    labels = np.array([0, 2, 1, 1, 0], np.int32)
    velocities = [tf.Variable(tf.zeros_like(v)) for v in model.trainable_variables]
    lr, decay = 0.1, 0.01
    step = ClassifierStep(
        model, MomentumSGD(velocities, lr, 0.9), 3, weight_decay=decay
    )
    loss, correct = step(images, labels, *SEEDS)

    x = images.reshape(5, 4).astype(np.float64)
    logits = x @ weights + bias
    exp = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities = exp / exp.sum(-1, keepdims=True)
    one_hot = np.eye(3)[labels]
    expected_loss = -np.mean(np.log(probabilities[np.arange(5), labels]))
    assert float(loss) == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_array_equal(correct, logits.argmax(-1) == labels)
    delta = (probabilities - one_hot) / 5
    new_weights = weights - lr * (x.T @ delta + decay * weights)
    new_bias = bias - lr * (delta.sum(0) + decay * bias)
    np.testing.assert_allclose(model.layers[-1].kernel, new_weights, atol=1e-6)
    np.testing.assert_allclose(model.layers[-1].bias, new_bias, atol=1e-6)


def test_soft_labels_give_the_soft_cross_entropy():
    model = _linear_model(np.zeros((4, 3), "float32"), np.zeros(3, "float32"))
    optimizer = keras.optimizers.SGD(0.0)
    optimizer.build(model.trainable_variables)
    step = ClassifierStep(model, optimizer, 3)
    soft = np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]], np.float32)
    loss, correct = step(np.zeros((2, 2, 2, 1), "float32"), soft, *SEEDS)
    # Zero logits: the cross-entropy of any target is log(3).
    assert float(loss) == pytest.approx(np.log(3), rel=1e-6)
    assert correct.shape == (2,)


def test_a_gradient_reaches_every_weight_through_augmentation_and_cutmix():
    recipe = TrainingRecipe(width=4)
    model = build_classifier(recipe, (8, 8, 1), 3, seed=0)
    before = [np.array(v) for v in model.trainable_variables]
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(model.trainable_variables)
    step = ClassifierStep(
        model, optimizer, 3, "color_crop_scale_rotate", cutmix_probability=1.0
    )
    images = np.random.default_rng(1).normal(size=(6, 8, 8, 1)).astype("float32")
    loss, _ = step(images, np.arange(6, dtype=np.int32) % 3, *SEEDS)
    assert np.isfinite(float(loss))
    for old, new in zip(before, model.trainable_variables, strict=True):
        assert not np.array_equal(old, np.array(new)), new.path


_TWO_REPLICAS = textwrap.dedent(
    """
    import json, os, sys
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import keras
    from udd_keras.training import ClassifierStep, MomentumSGD, TrainingRecipe
    from udd_keras.training.classifier import build_classifier

    rng = np.random.default_rng(0)
    images = rng.normal(size=(7, 8, 8, 1)).astype("float32")
    labels = (np.arange(7) % 3).astype("int32")
    out = {}
    for name, kind, strategy in (
        ("one", "torch", tf.distribute.OneDeviceStrategy("/cpu:0")),
        ("two", "torch", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])),
        ("one-keras", "keras", tf.distribute.OneDeviceStrategy("/cpu:0")),
        ("two-keras", "keras", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])),
    ):
        model = build_classifier(TrainingRecipe(width=4), (8, 8, 1), 3, 0, strategy)
        with strategy.scope():
            if kind == "torch":
                velocities = [tf.Variable(tf.zeros_like(v)) for v in
                              model.trainable_variables]
                optimizer = MomentumSGD(velocities, 0.1, 0.9, strategy)
            else:
                optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
                optimizer.build(model.trainable_variables)
        step = ClassifierStep(model, optimizer, 3, "color_crop", 1.0, 5e-4, strategy)
        losses, correct = [], []
        for i in range(3):
            seeds = tf.constant([[i, 1], [i, 2]], tf.int64)
            loss, hit = step(images, labels, seeds[0], seeds[1])
            losses.append(float(loss)); correct.append(np.asarray(hit).tolist())
        out[name] = dict(
            replicas=strategy.num_replicas_in_sync, losses=losses, correct=correct,
            weights=[np.asarray(v).tolist() for v in model.trainable_variables],
        )
    json.dump(out, sys.stdout)
    """
)


@pytest.fixture(scope="module")
def replica_runs():
    completed = subprocess.run(
        [sys.executable, "-c", _TWO_REPLICAS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", "-keras"])
def test_two_replicas_train_like_one(replica_runs, suffix):
    """MomentumSGD (the distillation) and Keras SGD (the evaluation)."""
    one, two = replica_runs["one" + suffix], replica_runs["two" + suffix]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-5)
    assert two["correct"] == one["correct"]
    assert len(set(map(round, one["losses"], [4] * 3))) > 1  # it trained
    for before, after in zip(one["weights"], two["weights"], strict=True):
        np.testing.assert_allclose(after, before, atol=1e-5)
