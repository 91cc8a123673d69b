import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import UddError
from udd_keras.evaluation import EvalRun, train_and_evaluate
from udd_keras.training import TrainingRecipe

RECIPE = TrainingRecipe(epochs=2, width=8, batch_size=8)
TINY = dict(recipe=RECIPE, num_classes=3)


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
        on_epoch_end=lambda epoch, logs: epochs_seen.append((epoch, sorted(logs))),
    )
    assert isinstance(run, EvalRun)
    assert 0.0 <= run.accuracy <= 1.0
    # Accuracy is a multiple of 1 / 18 (18 test images).
    assert run.accuracy * 18 == pytest.approx(round(run.accuracy * 18))
    assert [epoch for epoch, _ in run.curve] == [1, 2]
    assert run.curve[-1][1] == run.accuracy
    assert epochs_seen == [(1, ["loss", "lr", "test_accuracy"])] * 1 + [
        (2, ["loss", "lr", "test_accuracy"])
    ]
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
