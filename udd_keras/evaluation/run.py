"""One evaluation run: train a fresh network on a set, test on the real split.

The accuracy a run reports is always measured on the whole test split after the
last epoch. The points of its accuracy-against-epoch curve before that are
measured, by default, on a fixed class-balanced subset of the test split
(`curve_subset`, 1,000 images): testing the whole split ten times costs about
three times the training of a 300-epoch IPC 1 run, and a curve point needs no
more than +-1.5 points of precision. The recipe's `curve="full"` tests the
whole split at every point, `curve="final"` only after the last epoch. Training
is the same in every mode, so the final accuracy does not depend on it.

The tests are a callback of the training loop (`EpochTests`), first of the
run's callbacks: the epoch logs the others receive hold the test accuracy of
the epochs it was measured on.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from udd_keras.errors import UddError
from udd_keras.seeding import seed_globally
from udd_keras.training.callbacks import Callback, as_callback_list
from udd_keras.training.classifier import (
    batch_size_for_testing,
    build_classifier,
    default_strategy,
    make_classify_fn,
    runs_on_gpu,
    top1_accuracy,
    train_classifier,
)
from udd_keras.training.recipe import TrainingRecipe


@dataclass
class EvalRun:
    """The outcome of one evaluation run.

    Args:
        accuracy: float in [0, 1], top-1 accuracy on the whole test split at the
            end of training.
        curve: list of `(epoch, accuracy)` pairs, 1-based epochs, measured every
            `eval_every` epochs and at the last epoch; the last point is
            `accuracy`, the others are measured on `curve_test_images` images.
        seconds: float, wall-clock seconds of the run (training and testing).
        seed: int, the seed of the run.
        losses: list of floats, the mean training loss of every epoch.
        curve_test_images: int, test images behind each point of the curve but
            the last (the whole split's size with `curve="full"`), or None
            where no such point was measured.
    """

    accuracy: float
    curve: list[tuple[int, float]]
    seconds: float
    seed: int = 0
    losses: list[float] = field(default_factory=list)
    curve_test_images: int | None = None


# The scalars an evaluation run writes to TensorBoard: tag -> key of its epoch
# logs (`udd_keras.training.TensorBoard`).
TENSORBOARD_SCALARS = {
    "train/loss": "loss",
    "train/learning_rate": "lr",
    "test/accuracy": "test_accuracy",
}


def check_positive_int(name, value):
    """Raises `UddError` unless `value` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise UddError(f"{name} must be an integer >= 1, got {value!r}.")
    if value < 1:
        raise UddError(f"{name} must be >= 1, got {value}.")


# Test images behind the intermediate points of a `curve="subset"` curve.
CURVE_SUBSET_SIZE = 1000


def curve_subset(labels, size=CURVE_SUBSET_SIZE, seed=0):
    """A fixed, class-balanced subset of a test split, for the curve's points.

    Each class keeps `size // num_classes` of its images (all of them when it
    has fewer), drawn with `numpy.random.default_rng(seed)`, so every run of
    every evaluation of a dataset tests the same images.

    Args:
        labels: int array (M,), the test labels.
        size: int >= 1, the subset's size when the split is balanced enough.
        seed: int, the draw's seed.

    Returns:
        Sorted int64 array of indices into the split, at most `size` long (the
        whole split, `arange(M)`, when `size >= M`).

    Example:
    >>> labels = np.repeat(np.arange(10), 500)
    >>> index = curve_subset(labels, size=1000)
    >>> len(index), np.bincount(labels[index]).tolist() == [100] * 10
    (1000, True)
    """
    labels = np.asarray(labels)
    if size >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    classes = np.unique(labels)
    per_class = max(1, size // len(classes))
    rng = np.random.default_rng(seed)
    chosen = []
    for label in classes:
        members = np.flatnonzero(labels == label)
        chosen.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


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


class EpochTests(Callback):
    """Tests the model after the curve's epochs; keeps the curve and losses.

    After the last epoch it tests on the whole test split, after every
    `eval_every`-th epoch before it (unless `curve="final"`) on the curve's
    images, and adds `test_accuracy` and `test_images` (how many images it
    was measured on) to the epoch's logs.

    Args:
        classify: `fn(images) -> (B,) predicted classes` of the trained model.
        test: `(x_test, y_test)`, the whole test split.
        curve: `(x, y)`, the images of the curve's earlier points, or None
            for none.
        eval_every: int, epochs between the curve's points.
        batch_size: int, test images per forward pass.

    Attributes:
        points: list of `(epoch, accuracy)`, the curve so far.
        losses: list of floats, every epoch's mean training loss.
    """

    def __init__(self, classify, test, curve, eval_every, batch_size):
        self.classify = classify
        self.test = test
        self.curve = curve
        self.eval_every = eval_every
        self.batch_size = batch_size
        self.points, self.losses = [], []

    def on_step(self, epoch, total, logs):
        self.losses.append(logs["loss"])
        if epoch == total:
            x, y = self.test
        elif self.curve is not None and epoch % self.eval_every == 0:
            x, y = self.curve
        else:
            return
        logs["test_accuracy"] = top1_accuracy(self.classify, x, y, self.batch_size)
        logs["test_images"] = len(x)
        self.points.append((epoch, logs["test_accuracy"]))


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
    callbacks=None,
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
        callbacks: callbacks of the training loop (`train_classifier`), a
            `CallbackList`, or None; the epoch logs they receive hold `loss`,
            `lr`, and `test_accuracy` with `test_images` (how many test
            images it was measured on) on epochs where it was measured. They
            are not closed.

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
    curve = recipe.curve
    x_train = np.asarray(x_train, np.float32)
    x_test = np.asarray(x_test, np.float32)
    y_test = np.asarray(y_test)
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
    test_batch = batch_size_for_testing(
        x_test.shape[1:], recipe.width, on_gpu=runs_on_gpu(strategy)
    )
    if curve == "subset":
        index = curve_subset(y_test, CURVE_SUBSET_SIZE)
        x_curve, y_curve = x_test[index], y_test[index]
    else:
        x_curve, y_curve = x_test, y_test
    intermediate = curve != "final" and epochs > eval_every
    tests = EpochTests(
        classify,
        (x_test, y_test),
        (x_curve, y_curve) if intermediate else None,
        eval_every,
        test_batch,
    )
    train_classifier(
        model,
        x_train,
        y_train,
        num_classes,
        recipe,
        seed=seed,
        strategy=strategy,
        callbacks=[tests, *as_callback_list(callbacks).callbacks],
    )
    return EvalRun(
        accuracy=tests.points[-1][1],
        curve=tests.points,
        seconds=time.perf_counter() - start,
        seed=seed,
        losses=tests.losses,
        curve_test_images=len(x_curve) if intermediate else None,
    )
