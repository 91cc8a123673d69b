import numpy as np
import tensorflow as tf

from udd_keras.training import (
    Callback,
    TrainingRecipe,
    build_classifier,
    make_classify_fn,
    top1_accuracy,
    train_classifier,
)
from udd_keras.training.classifier import (
    batch_size_for_testing,
    last_level_cache_bytes,
    runs_on_gpu,
)

TINY = TrainingRecipe(width=4, epochs=2, batch_size=4, cutmix_probability=0.0)


class Recorder(Callback):
    """Keeps every hook call: `starts`, `batches` and `epochs`."""

    def __init__(self):
        self.starts, self.batches, self.epochs = [], [], []

    def on_start(self, step, total):
        self.starts.append((step, total))

    def on_batch(self, batch, logs):
        self.batches.append((batch, logs))

    def on_step(self, step, total, logs):
        self.epochs.append((step, total, logs))

    def seen(self):
        """`(indices, correct)` of every batch."""
        return [(logs["indices"], logs["correct"]) for _, logs in self.batches]


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
    model = build_classifier(TINY, (28, 28, 1), 3, seed=0)
    recorder = Recorder()
    train_classifier(model, x_train, y_train, 3, TINY, callbacks=[recorder])
    seen = recorder.seen()
    assert [batch for batch, _ in recorder.batches] == [1, 2, 3, 4, 5, 6]
    assert [len(indices) for indices, _ in seen] == [4, 4, 2] * 2
    for epoch in range(2):
        indices = np.concatenate([i for i, _ in seen[3 * epoch : 3 * epoch + 3]])
        assert sorted(indices) == list(range(10))
    assert all(c.dtype == bool and c.shape == i.shape for i, c in seen)


def test_correctness_matches_the_model_before_the_update(tiny_split):
    x_train, y_train, _, _ = tiny_split(28, 1, train=6)
    model = build_classifier(TINY, (28, 28, 1), 3, seed=0)
    expected = np.asarray(make_classify_fn(model)(x_train)) == y_train
    recorder = Recorder()
    recipe = TINY.replace(epochs=1, batch_size=6)
    train_classifier(model, x_train, y_train, 3, recipe, callbacks=[recorder])
    indices, correct = recorder.seen()[0]
    np.testing.assert_array_equal(correct, expected[indices])


def _train_losses(x_train, targets):
    recipe = TINY.replace(
        dsa_strategy="color_crop_scale_rotate", cutmix_probability=1.0
    )
    model = build_classifier(recipe, (8, 8, 1), 3, seed=0)
    recorder = Recorder()
    train_classifier(model, x_train, targets, 3, recipe, seed=3, callbacks=[recorder])
    losses = [logs["loss"] for _, _, logs in recorder.epochs]
    correct = np.concatenate([correct for _, correct in recorder.seen()])
    return losses, correct, model.get_weights()


def test_one_hot_soft_labels_train_exactly_like_hard_labels(tiny_split):
    x_train, y_train, _, _ = tiny_split(8, 1, train=10)
    hard = _train_losses(x_train, y_train)
    one_hot = np.eye(3, dtype=np.float32)[y_train]
    soft = _train_losses(x_train, one_hot)
    assert hard[0] == soft[0]
    np.testing.assert_array_equal(hard[1], soft[1])
    for a, b in zip(hard[2], soft[2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_soft_labels_change_the_loss(tiny_split):
    x_train, y_train, _, _ = tiny_split(8, 1, train=10)
    hard_losses = _train_losses(x_train, y_train)[0]
    uniform = np.full((10, 3), 1 / 3, np.float32)
    soft_losses = _train_losses(x_train, uniform)[0]
    assert soft_losses != hard_losses
    # A uniform target's cross-entropy is at least log(3), whatever the logits.
    assert min(soft_losses) >= np.log(3) - 1e-5


def test_epoch_logs_hold_the_loss_and_the_decayed_learning_rate(tiny_split):
    x_train, y_train, _, _ = tiny_split(8, 1, train=8)
    recipe = TINY.replace(epochs=6, batch_size=8, lr=0.1)
    model = build_classifier(recipe, (8, 8, 1), 3, seed=0)
    recorder = Recorder()
    train_classifier(model, x_train, y_train, 3, recipe, callbacks=[recorder])
    logs = [entry for _, _, entry in recorder.epochs]
    # One step per epoch; x0.2 from the 5th epoch (2/3 of 6), again from the 6th.
    lrs = [entry["lr"] for entry in logs]
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.1, 0.02, 0.004], rtol=1e-6)
    assert all(np.isfinite(entry["loss"]) for entry in logs)


def test_a_user_callback_receives_the_epoch_logs_on_digits():
    from udd_keras.data import load_dataset

    digits = load_dataset("digits")
    recipe = TrainingRecipe(width=8, epochs=2, batch_size=16)
    model = build_classifier(recipe, digits.image_shape, 10, seed=0)
    recorder = Recorder()
    x_train, y_train = digits.x_train[:40], digits.y_train[:40]
    train_classifier(model, x_train, y_train, 10, recipe, callbacks=[recorder])
    assert recorder.starts == [(0, 2)]
    assert [(epoch, total, sorted(logs)) for epoch, total, logs in recorder.epochs] == [
        (1, 2, ["loss", "lr"]),
        (2, 2, ["loss", "lr"]),
    ]
    assert all(np.isfinite(logs["loss"]) for _, _, logs in recorder.epochs)
    assert len(recorder.batches) == 2 * 3  # 40 images in batches of 16


def _fake_cache(root, caches):
    for index, (level, size) in enumerate(caches):
        folder = root / f"index{index}"
        folder.mkdir(parents=True)
        (folder / "level").write_text(f"{level}\n")
        (folder / "size").write_text(f"{size}\n")
    return root


def test_last_level_cache_is_the_highest_level_linux_reports(tmp_path):
    root = _fake_cache(tmp_path, [(1, "32K"), (1, "32K"), (2, "1024K"), (3, "32768K")])
    assert last_level_cache_bytes(root) == 32 * 2**20
    assert last_level_cache_bytes(tmp_path / "missing") is None


def test_cpu_test_batch_keeps_the_first_feature_map_in_half_the_cache():
    # 32 x 32 frame (28 x 28 is padded to it) x 128 channels x 4 bytes = 512 KiB.
    assert batch_size_for_testing((28, 28, 1), 128, False, cache_bytes=32 * 2**20) == 32
    assert batch_size_for_testing((32, 32, 3), 128, False, cache_bytes=64 * 2**20) == 64
    assert batch_size_for_testing((8, 8, 1), 128, False, cache_bytes=32 * 2**20) == 500
    assert batch_size_for_testing((64, 64, 3), 128, False, cache_bytes=2**20) == 8


def test_gpu_test_batch_is_fixed():
    assert batch_size_for_testing((28, 28, 1), 128, True, cache_bytes=2**20) == 500


def test_the_default_strategy_on_a_cpu_machine_is_not_a_gpu():
    assert runs_on_gpu() is (len(tf.config.list_logical_devices("GPU")) > 0)
