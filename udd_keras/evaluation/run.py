"""One evaluation run: train a fresh network on a set, test on the real split."""

import time
from dataclasses import dataclass, field

import keras
import numpy as np

from udd_keras.errors import UddError
from udd_keras.evaluation.augment_strategy import BASE_DSA_STRATEGY
from udd_keras.evaluation.training import (
    build_classifier,
    default_strategy,
    make_classify_fn,
    top1_accuracy,
    train_classifier,
)


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


def check_training_arguments(epochs, lr, batch_size, cutmix_probability):
    """Validates the user-facing training arguments with one-line errors."""
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    if not lr > 0:
        raise UddError(f"lr must be > 0, got {lr!r}.")
    if not 0.0 <= cutmix_probability <= 1.0:
        raise UddError(
            f"cutmix_probability must be in [0, 1], got {cutmix_probability!r}."
        )


def default_eval_every(epochs):
    """About ten points on the test-accuracy curve: `max(1, epochs // 10)`."""
    return max(1, epochs // 10)


def train_and_evaluate(
    x_train,
    y_train,
    x_test,
    y_test,
    model_name="convnet3",
    epochs=300,
    lr=0.01,
    batch_size=64,
    augment=True,
    dsa_strategy=BASE_DSA_STRATEGY,
    cutmix_probability=0.5,
    seed=0,
    num_classes=None,
    strategy=None,
    on_epoch_end=None,
    eval_every=None,
    width=128,
    momentum=0.9,
    weight_decay=5e-4,
    soft_labels=None,
):
    """Trains a freshly initialised network on a set and tests it on real data.

    The protocol of UDD (appendix A: 300 epochs, lr 0.01) with IDC's recipe: SGD
    momentum 0.9, coupled weight decay 5e-4, lr x0.2 at 2/3 and 5/6 of
    training, batches of `min(batch_size, N)`, per-sample DSA then CutMix. Every
    random choice derives from `seed` (weights, batch order, augmentation), so
    two calls with the same arguments return the same accuracy. The global
    Python/NumPy/TensorFlow seeds are set with `keras.utils.set_random_seed(seed)`
    too, for any model code that draws from them.

    Args:
        x_train: float32 array (N, H, W, C), normalised training images.
        y_train: int array (N,).
        x_test: float32 array (M, H, W, C), the real test split.
        y_test: int array (M,).
        model_name: str, a `udd_keras.models.get_model` name.
        epochs: int >= 1, passes over the training set.
        lr: float, initial learning rate.
        batch_size: int >= 1.
        augment: bool, whether to apply `dsa_strategy` (CutMix is controlled
            by `cutmix_probability` alone).
        dsa_strategy: str, the DSA strategy (see
            `udd_keras.evaluation.dsa_strategy_for` for the per-dataset choice).
        cutmix_probability: float in [0, 1].
        seed: int.
        num_classes: int, or None to use `max(label) + 1` over both splits.
        strategy: a `tf.distribute.Strategy`, or None for the current one.
        on_epoch_end: optional `fn(epoch, logs)`, 1-based epoch; logs hold
            `loss`, `lr`, and `test_accuracy` on epochs where it was measured.
        eval_every: int, test every this many epochs (and at the end); None
            means `max(1, epochs // 10)`.
        width: int, ConvNet width (128 in the paper; small values for tests).
        momentum: float.
        weight_decay: float.
        soft_labels: optional float32 array (N, num_classes) of training
            targets, rows summing to 1 (e.g. from
            `udd_keras.evaluation.soft_labels.apply_temperature`); None trains
            on the one-hot `y_train`.

    Returns:
        `EvalRun`.

    Example:
    >>> from udd_keras.data import load_dataset
    >>> ds = load_dataset("digits")
    >>> run = train_and_evaluate(ds.x_train[:40], ds.y_train[:40], ds.x_test,
    ...     ds.y_test, epochs=2, width=8, num_classes=10)
    >>> 0.0 <= run.accuracy <= 1.0
    True
    """
    check_training_arguments(epochs, lr, batch_size, cutmix_probability)
    eval_every = default_eval_every(epochs) if eval_every is None else eval_every
    check_positive_int("eval_every", eval_every)
    x_train = np.asarray(x_train, np.float32)
    x_test = np.asarray(x_test, np.float32)
    if len(x_train) == 0:
        raise UddError("The training set is empty; it needs at least one image.")
    if num_classes is None:
        num_classes = int(max(np.max(y_train), np.max(y_test))) + 1
    if soft_labels is not None:
        soft_labels = np.asarray(soft_labels, np.float32)
        if soft_labels.shape != (len(x_train), num_classes):
            raise UddError(
                f"soft_labels of shape {soft_labels.shape} must be "
                f"({len(x_train)}, {num_classes}): one row per training image."
            )
    strategy = default_strategy(strategy)
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    model = build_classifier(
        model_name, x_train.shape[1:], num_classes, width, seed, strategy
    )
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
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        dsa_strategy=dsa_strategy if augment else None,
        cutmix_probability=cutmix_probability,
        momentum=momentum,
        weight_decay=weight_decay,
        seed=seed,
        strategy=strategy,
        on_epoch_end=epoch_end,
        soft_labels=soft_labels,
    )
    return EvalRun(
        accuracy=curve[-1][1],
        curve=curve,
        seconds=time.perf_counter() - start,
        seed=seed,
        losses=losses,
    )
