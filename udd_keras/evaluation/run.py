"""One evaluation run: train a fresh network on a set, test on the real split."""

import time
from dataclasses import dataclass, field

import numpy as np

from udd_keras.errors import UddError
from udd_keras.seeding import seed_globally
from udd_keras.training import (
    TrainingRecipe,
    build_classifier,
    make_classify_fn,
    top1_accuracy,
    train_classifier,
)
from udd_keras.training.classifier import default_strategy


@dataclass
class EvalRun:
    """The outcome of one evaluation run.

    Args:
        accuracy: float in [0, 1], top-1 accuracy on the whole test split at the
            end of training.
        curve: list of `(epoch, accuracy)` pairs, 1-based epochs, measured every
            `eval_every` epochs and at the last epoch.
        seconds: float, wall-clock seconds of the run (training and testing).
        seed: int, the seed of the run.
        losses: list of floats, the mean training loss of every epoch.
    """

    accuracy: float
    curve: list[tuple[int, float]]
    seconds: float
    seed: int = 0
    losses: list[float] = field(default_factory=list)


def check_positive_int(name, value):
    """Raises `UddError` unless `value` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise UddError(f"{name} must be an integer >= 1, got {value!r}.")
    if value < 1:
        raise UddError(f"{name} must be >= 1, got {value}.")


def default_eval_every(epochs):
    """About ten points on the test-accuracy curve: `max(1, epochs // 10)`."""
    return max(1, epochs // 10)


def check_targets(y_train, num_images, num_classes):
    """`y_train` as int32 (N,) labels or float32 (N, num_classes) soft labels."""
    y_train = np.asarray(y_train)
    if y_train.ndim == 1 and len(y_train) == num_images:
        return y_train.astype(np.int32)
    if y_train.shape == (num_images, num_classes):
        return y_train.astype(np.float32)
    raise UddError(
        f"labels of shape {y_train.shape} must be ({num_images},) class indices "
        f"or ({num_images}, {num_classes}) soft labels: one row per training image."
    )


def train_and_evaluate(
    x_train,
    y_train,
    x_test,
    y_test,
    recipe=None,
    seed=0,
    num_classes=None,
    eval_every=None,
    strategy=None,
    on_epoch_end=None,
):
    """Trains a freshly initialised network on a set and tests it on real data.

    The protocol of UDD (appendix A: 300 epochs, lr 0.01) with IDC's recipe
    (`TrainingRecipe`'s defaults): SGD momentum 0.9, coupled weight decay
    5e-4, lr x0.2 at 2/3 and 5/6 of training, batches of `min(batch_size, N)`,
    per-sample DSA then CutMix. Every random choice derives from `seed`
    (weights, batch order, augmentation), so two calls with the same arguments
    return the same accuracy. The global Python/NumPy/TensorFlow seeds are set
    with `udd_keras.seeding.seed_globally(seed)` too, for any model code that
    draws from them.

    Args:
        x_train: float32 array (N, H, W, C), normalised training images.
        y_train: int array (N,) of labels, or float32 array (N, num_classes)
            of soft labels, rows summing to 1 (e.g. from
            `udd_keras.evaluation.soft_labels.apply_temperature`).
        x_test: float32 array (M, H, W, C), the real test split.
        y_test: int array (M,).
        recipe: `TrainingRecipe` (None: the defaults); an unresolved
            `dsa_strategy` means `BASE_DSA_STRATEGY` (see
            `TrainingRecipe.for_dataset` for the per-dataset choice).
        seed: int.
        num_classes: int, or None for the soft labels' width or
            `max(label) + 1` over both splits.
        eval_every: int, test every this many epochs (and at the end); None
            means `max(1, epochs // 10)`.
        strategy: a `tf.distribute.Strategy`, or None for the current one.
        on_epoch_end: optional `fn(epoch, logs)`, 1-based epoch; logs hold
            `loss`, `lr`, and `test_accuracy` on epochs where it was measured.

    Returns:
        `EvalRun`.

    Example:
    >>> from udd_keras.data import load_dataset
    >>> ds = load_dataset("digits")
    >>> run = train_and_evaluate(ds.x_train[:40], ds.y_train[:40], ds.x_test,
    ...     ds.y_test, TrainingRecipe(epochs=2, width=8), num_classes=10)
    >>> 0.0 <= run.accuracy <= 1.0
    True
    """
    recipe = recipe or TrainingRecipe()
    epochs = recipe.epochs
    eval_every = default_eval_every(epochs) if eval_every is None else eval_every
    check_positive_int("eval_every", eval_every)
    x_train = np.asarray(x_train, np.float32)
    x_test = np.asarray(x_test, np.float32)
    if len(x_train) == 0:
        raise UddError("The training set is empty; it needs at least one image.")
    y_train = np.asarray(y_train)
    if num_classes is None:
        num_classes = (
            y_train.shape[1]
            if y_train.ndim == 2
            else int(max(np.max(y_train), np.max(y_test))) + 1
        )
    y_train = check_targets(y_train, len(x_train), num_classes)
    strategy = default_strategy(strategy)
    start = time.perf_counter()
    seed_globally(seed)
    model = build_classifier(recipe, x_train.shape[1:], num_classes, seed, strategy)
    classify = make_classify_fn(model)
    curve, losses = [], []

    def epoch_end(epoch, logs):
        losses.append(logs["loss"])
        if epoch % eval_every == 0 or epoch == epochs:
            logs["test_accuracy"] = top1_accuracy(classify, x_test, y_test)
            curve.append((epoch, logs["test_accuracy"]))
        if on_epoch_end is not None:
            on_epoch_end(epoch, logs)

    train_classifier(
        model,
        x_train,
        y_train,
        num_classes,
        recipe,
        seed=seed,
        strategy=strategy,
        on_epoch_end=epoch_end,
    )
    return EvalRun(
        accuracy=curve[-1][1],
        curve=curve,
        seconds=time.perf_counter() - start,
        seed=seed,
        losses=losses,
    )
