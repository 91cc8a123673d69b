import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import UddError
from udd_keras.evaluation import EvalRun, train_and_evaluate
from udd_keras.evaluation import run as run_module
from udd_keras.evaluation.run import curve_subset
from udd_keras.training import Callback, TrainingRecipe

RECIPE = TrainingRecipe(epochs=2, width=8, batch_size=8)
TINY = dict(recipe=RECIPE, num_classes=3)


class EpochLogs(Callback):
    """`fn(epoch, logs)` after every epoch."""

    def __init__(self, fn):
        self.fn = fn

    def on_step(self, epoch, total, logs):
        self.fn(epoch, logs)


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3)])
def test_tiny_evaluation_runs_at_28_and_32_pixels(tiny_split, size, channels):
    x_train, y_train, x_test, y_test = tiny_split(size, channels)
    epochs_seen = []
    run = train_and_evaluate(
        x_train,
        y_train,
        x_test,
        y_test,
        RECIPE.replace(dsa_strategy="color_crop_scale_rotate"),
        num_classes=3,
        eval_every=1,
        callbacks=[EpochLogs(lambda e, logs: epochs_seen.append((e, sorted(logs))))],
    )
    assert isinstance(run, EvalRun)
    assert 0.0 <= run.accuracy <= 1.0
    # Accuracy is a multiple of 1 / 18 (18 test images).
    assert run.accuracy * 18 == pytest.approx(round(run.accuracy * 18))
    assert [epoch for epoch, _ in run.curve] == [1, 2]
    assert run.curve[-1][1] == run.accuracy
    logged = ["loss", "lr", "test_accuracy", "test_images"]
    assert epochs_seen == [(1, logged), (2, logged)]
    assert len(run.losses) == 2 and all(np.isfinite(run.losses))
    assert run.seconds > 0


def test_same_seed_gives_identical_runs(tiny_split):
    x_train, y_train, x_test, y_test = tiny_split(28, 1)
    runs = [
        train_and_evaluate(x_train, y_train, x_test, y_test, seed=3, **TINY)
        for _ in range(2)
    ]
    assert runs[0].losses == runs[1].losses
    assert runs[0].curve == runs[1].curve


def test_different_seeds_train_differently(tiny_split):
    x_train, y_train, x_test, y_test = tiny_split(28, 1)
    losses = [
        train_and_evaluate(x_train, y_train, x_test, y_test, seed=s, **TINY).losses
        for s in (0, 1)
    ]
    assert losses[0] != losses[1]


def test_training_lowers_the_loss_without_augmentation(tiny_split):
    x_train, y_train, x_test, y_test = tiny_split(28, 1)
    run = train_and_evaluate(
        x_train,
        y_train,
        x_test,
        y_test,
        TrainingRecipe(
            epochs=15,
            width=8,
            batch_size=12,
            augment=False,
            cutmix_probability=0.0,
            lr=0.05,
        ),
        num_classes=3,
        eval_every=15,
    )
    assert run.losses[-1] < 0.5 * run.losses[0]
    assert run.accuracy > 0.5


def test_curve_points_follow_eval_every(tiny_split):
    x_train, y_train, x_test, y_test = tiny_split(28, 1)
    run = train_and_evaluate(
        x_train, y_train, x_test, y_test, RECIPE.replace(epochs=5), eval_every=2
    )
    assert [epoch for epoch, _ in run.curve] == [2, 4, 5]


def test_runs_under_an_explicit_strategy(tiny_split):
    x_train, y_train, x_test, y_test = tiny_split(28, 1)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    run = train_and_evaluate(
        x_train, y_train, x_test, y_test, strategy=strategy, seed=3, **TINY
    )
    reference = train_and_evaluate(x_train, y_train, x_test, y_test, seed=3, **TINY)
    np.testing.assert_allclose(run.losses, reference.losses, rtol=1e-5)


def test_bad_eval_every_raises_a_one_line_error(tiny_split):
    x_train, y_train, x_test, y_test = tiny_split(28, 1)
    with pytest.raises(UddError, match="eval_every must be >= 1, got 0") as info:
        train_and_evaluate(x_train, y_train, x_test, y_test, eval_every=0, **TINY)
    assert "\n" not in str(info.value)


def test_soft_labels_must_have_a_row_per_image(tiny_split):
    x_train, y_train, x_test, y_test = tiny_split(28, 1)
    soft = np.full((len(x_train) - 1, 3), 1 / 3, np.float32)
    with pytest.raises(UddError, match=r"labels of shape \(11, 3\) must be"):
        train_and_evaluate(x_train, soft, x_test, y_test, **TINY)


def test_curve_subset_is_class_balanced_fixed_and_sorted():
    labels = np.repeat(np.arange(10), 1000)
    index = curve_subset(labels, size=1000)
    assert len(index) == 1000
    assert np.bincount(labels[index]).tolist() == [100] * 10
    assert np.all(np.diff(index) > 0)
    np.testing.assert_array_equal(index, curve_subset(labels, size=1000))
    assert not np.array_equal(index, curve_subset(labels, size=1000, seed=1))


def test_curve_subset_of_a_small_split_is_the_whole_split():
    labels = np.array([0, 1, 2, 0, 1])
    np.testing.assert_array_equal(curve_subset(labels, size=1000), np.arange(5))


def test_curve_modes_train_alike_and_report_the_whole_split(tiny_split, monkeypatch):
    """The curve's mode changes where it tests, never the training or the
    final accuracy: the whole test split after the last epoch."""
    monkeypatch.setattr(run_module, "CURVE_SUBSET_SIZE", 6)
    x_train, y_train, x_test, y_test = tiny_split(28, 1)
    runs, tested = {}, {}
    for curve in ("full", "subset", "final"):
        seen = []
        runs[curve] = train_and_evaluate(
            x_train,
            y_train,
            x_test,
            y_test,
            RECIPE.replace(epochs=3, curve=curve),
            seed=2,
            num_classes=3,
            eval_every=1,
            callbacks=[
                EpochLogs(
                    lambda _, logs, seen=seen: seen.append(logs.get("test_images"))
                )
            ],
        )
        tested[curve] = seen
    assert runs["full"].losses == runs["subset"].losses == runs["final"].losses
    assert runs["full"].accuracy == runs["subset"].accuracy == runs["final"].accuracy
    assert tested == {
        "full": [18, 18, 18],
        "subset": [6, 6, 18],
        "final": [None, None, 18],
    }
    assert [e for e, _ in runs["final"].curve] == [3]
    assert runs["full"].curve_test_images == 18
    assert runs["subset"].curve_test_images == 6
    assert runs["final"].curve_test_images is None
    accuracies = [a for _, a in runs["subset"].curve[:-1]]
    assert all(a * 6 == pytest.approx(round(a * 6)) for a in accuracies)


def test_unknown_curve_names_the_choices():
    with pytest.raises(UddError, match="Unknown curve 'half'; allowed: subset, "):
        RECIPE.replace(curve="half")
