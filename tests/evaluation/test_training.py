import numpy as np
import tensorflow as tf

from udd_keras.evaluation.training import (
    build_classifier,
    distribute_batch,
    make_classify_fn,
    top1_accuracy,
    train_classifier,
)


def test_test_accuracy_counts_hits_over_batches():
    def classify(images):
        return tf.cast(images[:, 0, 0, 0], tf.int32)

    images = np.zeros((7, 2, 2, 1), "float32")
    images[[1, 4, 6], 0, 0, 0] = 1.0
    labels = np.array([0, 1, 1, 0, 1, 0, 0])
    # predictions 0,1,0,0,1,0,1 -> hits at 0,1,3,4,5 = 5 of 7
    assert top1_accuracy(classify, images, labels, batch_size=3) == 5 / 7


def test_on_batch_sees_every_example_once_per_epoch(tiny_split):
    x_train, y_train, _, _ = tiny_split(28, 1, train=10)
    model = build_classifier("convnet3", (28, 28, 1), 3, width=4, seed=0)
    seen = []
    train_classifier(
        model,
        x_train,
        y_train,
        3,
        epochs=2,
        batch_size=4,
        cutmix_probability=0.0,
        on_batch=lambda indices, correct: seen.append((indices, correct)),
    )
    assert [len(indices) for indices, _ in seen] == [4, 4, 2] * 2
    for epoch in range(2):
        indices = np.concatenate([i for i, _ in seen[3 * epoch : 3 * epoch + 3]])
        assert sorted(indices) == list(range(10))
    assert all(c.dtype == bool and c.shape == i.shape for i, c in seen)


def test_correctness_matches_the_model_before_the_update(tiny_split):
    x_train, y_train, _, _ = tiny_split(28, 1, train=6)
    model = build_classifier("convnet3", (28, 28, 1), 3, width=4, seed=0)
    expected = np.asarray(make_classify_fn(model)(x_train)) == y_train
    seen = []
    train_classifier(
        model,
        x_train,
        y_train,
        3,
        epochs=1,
        batch_size=6,
        cutmix_probability=0.0,
        on_batch=lambda indices, correct: seen.append((indices, correct)),
    )
    indices, correct = seen[0]
    np.testing.assert_array_equal(correct, expected[indices])


def test_distribute_batch_is_identity_for_one_replica():
    arrays = (np.arange(4), np.arange(4))
    assert distribute_batch(tf.distribute.get_strategy(), arrays) is arrays


def _train_losses(x_train, y_train, soft_labels=None):
    model = build_classifier("convnet3", (8, 8, 1), 3, width=4, seed=0)
    losses, correct = [], []
    train_classifier(
        model,
        x_train,
        y_train,
        3,
        epochs=2,
        batch_size=4,
        dsa_strategy="color_crop_scale_rotate",
        cutmix_probability=1.0,
        seed=3,
        on_batch=lambda indices, c: correct.append(c),
        on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]),
        soft_labels=soft_labels,
    )
    return losses, np.concatenate(correct), model.get_weights()


def test_one_hot_soft_labels_train_exactly_like_hard_labels(tiny_split):
    x_train, y_train, _, _ = tiny_split(8, 1, train=10)
    hard = _train_losses(x_train, y_train)
    one_hot = np.eye(3, dtype=np.float32)[y_train]
    soft = _train_losses(x_train, y_train, soft_labels=one_hot)
    assert hard[0] == soft[0]
    np.testing.assert_array_equal(hard[1], soft[1])
    for a, b in zip(hard[2], soft[2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_soft_labels_change_the_loss(tiny_split):
    x_train, y_train, _, _ = tiny_split(8, 1, train=10)
    hard_losses = _train_losses(x_train, y_train)[0]
    uniform = np.full((10, 3), 1 / 3, np.float32)
    soft_losses = _train_losses(x_train, y_train, soft_labels=uniform)[0]
    assert soft_losses != hard_losses
    # A uniform target's cross-entropy is at least log(3), whatever the logits.
    assert min(soft_losses) >= np.log(3) - 1e-5
