"""Training a fresh classifier with a `TrainingRecipe`, and testing it.

`train_classifier` runs the epochs of a recipe: each epoch visits the training
set in an order drawn from `numpy.random.default_rng([seed, epoch])`, in
batches of `min(batch_size, N)`, the last one possibly smaller (like PyTorch's
`drop_last=False`); every batch is one `ClassifierStep` with Keras' SGD
(momentum, the recipe's `StepDecay`), its augmentation and CutMix drawn from the
stateless seed `[seed, step]`. Its `callbacks` (`udd_keras.training.Callback`,
the distillation's protocol) see every batch and every epoch.
"""

import math
import pathlib

import keras
import numpy as np
import tensorflow as tf

from udd_keras.models import get_model
from udd_keras.training.callbacks import as_callback_list
from udd_keras.training.recipe import TrainingRecipe
from udd_keras.training.step import ClassifierStep

# Images per test forward pass on a GPU. Only speed and memory, not the
# result, depend on the test batch: every model normalises per image.
GPU_TEST_BATCH_SIZE = 500
# Bounds of the CPU test batch, and the last-level cache assumed when the
# machine does not say.
MIN_TEST_BATCH_SIZE, MAX_TEST_BATCH_SIZE = 8, 500
DEFAULT_CACHE_BYTES = 32 * 2**20


def last_level_cache_bytes(sysfs="/sys/devices/system/cpu/cpu0/cache"):
    """Bytes of the CPU's last-level cache as Linux reports it, or None."""
    sizes = {}
    for index in pathlib.Path(sysfs).glob("index*"):
        try:
            level = int((index / "level").read_text())
            size = (index / "size").read_text().strip().upper()
        except (OSError, ValueError):
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        scale = units.get(size[-1:], 1)
        digits = size.rstrip("KMG")
        if digits.isdigit():
            sizes[level] = max(sizes.get(level, 0), int(digits) * scale)
    return sizes[max(sizes)] if sizes else None


def batch_size_for_testing(image_shape, width, on_gpu, cache_bytes=None):
    """Images per test forward pass for a device.

    A GPU tests `GPU_TEST_BATCH_SIZE` images at a time. On a CPU a test pass
    is bound by memory traffic once a batch's largest feature maps leave the
    last-level cache: on a 32 MiB-L3 AMD EPYC, ConvNet-3 at width 128 tests
    FashionMNIST's 10,000 images in about 13 s at 16 to 56 images per batch
    and 22 s at 64 to 500 (the `speed-limit` experiment). So the CPU batch
    keeps one batch's first feature map (frame `H x W x width` float32, the
    largest of a ConvNet) within half the cache.

    Args:
        image_shape: `(H, W, C)` of the test images; 28 x 28 counts as the
            32 x 32 frame ConvNet pads it to.
        width: int, the network's channels.
        on_gpu: bool, whether the test pass runs on a GPU.
        cache_bytes: int or None, the last-level cache; None reads it
            (`last_level_cache_bytes`), assuming 32 MiB when unknown.

    Returns:
        int in `[MIN_TEST_BATCH_SIZE, MAX_TEST_BATCH_SIZE]`, or
        `GPU_TEST_BATCH_SIZE` on a GPU.

    Example:
    >>> batch_size_for_testing((28, 28, 1), 128, on_gpu=False, cache_bytes=32 * 2**20)
    32
    >>> batch_size_for_testing((28, 28, 1), 128, on_gpu=True)
    500
    """
    if on_gpu:
        return GPU_TEST_BATCH_SIZE
    if cache_bytes is None:
        cache_bytes = last_level_cache_bytes() or DEFAULT_CACHE_BYTES
    height, width_px = (32 if size == 28 else size for size in image_shape[:2])
    per_image = height * width_px * max(1, int(width)) * 4
    batch = cache_bytes // 2 // per_image
    return int(min(MAX_TEST_BATCH_SIZE, max(MIN_TEST_BATCH_SIZE, batch)))


def runs_on_gpu(strategy=None):
    """Whether `strategy` (default: the current one) computes on a GPU."""
    strategy = default_strategy(strategy)
    try:
        devices = strategy.extended.worker_devices
    except RuntimeError:  # the default strategy places ops on the first GPU
        devices = [device.name for device in tf.config.list_logical_devices("GPU")]
    return any("GPU" in str(device).upper() for device in devices)


def default_strategy(strategy=None):
    """Returns `strategy`, or the strategy of the current scope when None."""
    return strategy if strategy is not None else tf.distribute.get_strategy()


def build_classifier(recipe, input_shape, num_classes, seed=0, strategy=None):
    """Creates and builds the recipe's fresh model inside `strategy.scope()`.

    Args:
        recipe: `TrainingRecipe`; its `model` and `width` are used.
        input_shape: tuple `(H, W, C)`.
        num_classes: int.
        seed: int, weight initialisation seed.
        strategy: a `tf.distribute.Strategy` or None for the current one.

    Returns:
        A built `keras.Model` mapping (B, H, W, C) images to (B, num_classes) logits.

    Example:
    >>> model = build_classifier(TrainingRecipe(width=4), (8, 8, 1), 10)
    >>> model(np.zeros((2, 8, 8, 1), "float32")).shape
    TensorShape([2, 10])
    """
    strategy = default_strategy(strategy)
    with strategy.scope():
        model = get_model(
            recipe.model, tuple(input_shape), num_classes, width=recipe.width, seed=seed
        )
        model(np.zeros((1, *input_shape), "float32"), training=False)
    return model


def make_classify_fn(model):
    """Wraps a model into a traced `fn(images) -> (B,) int32 predicted classes`."""

    @tf.function(reduce_retracing=True)
    def classify(images):
        return tf.argmax(model(images, training=False), -1, output_type=tf.int32)

    return classify


def top1_accuracy(classify, images, labels, batch_size=GPU_TEST_BATCH_SIZE):
    """Top-1 accuracy on a whole split, computed in batches.

    Args:
        classify: `fn(images) -> (B,) predicted classes`, e.g. from
            `make_classify_fn(model)`.
        images: float32 array (N, H, W, C).
        labels: int array (N,).
        batch_size: int, images per forward pass.

    Returns:
        float, the fraction of correctly classified images, in [0, 1].
    """
    labels = np.asarray(labels)
    hits = 0
    for start in range(0, len(images), batch_size):
        predicted = classify(tf.convert_to_tensor(images[start : start + batch_size]))
        hits += int(np.sum(np.asarray(predicted) == labels[start : start + batch_size]))
    return hits / max(len(images), 1)


def train_classifier(
    model,
    images,
    labels,
    num_classes,
    recipe=None,
    seed=0,
    strategy=None,
    callbacks=None,
):
    """Trains `model` in place on `(images, labels)` with a recipe.

    The loop's callbacks (`udd_keras.training.Callback`) are called:
    `on_start(0, epochs)` before the first epoch; `on_batch(batch, logs)`
    after every step, `batch` counting from 1 over the run and `logs =
    {"indices": (B,) training-set indices of the batch, "correct": (B,) bool
    correctness of their predictions in that step (before its update),
    "loss": the batch's loss}`; `on_step(epoch, epochs, logs)` after every
    epoch, `epoch` from 1 and `logs = {"loss": mean training loss, "lr":
    learning rate used}`. `close()` is not called: callbacks may serve several
    trainings (an evaluation's runs), and whoever made them closes them.

    Args:
        model: a built `keras.Model` (see `build_classifier`).
        images: float32 array (N, H, W, C), normalised.
        labels: int array (N,) in `[0, num_classes)`, or float32 array
            (N, num_classes) of soft labels, rows summing to 1 (soft
            cross-entropy; see `udd_keras.evaluation.soft_labels`).
        num_classes: int.
        recipe: `TrainingRecipe`, None for the defaults; its `epochs`, `lr`
            and schedule, `batch_size`, `momentum`, `weight_decay`,
            `augmentation` and `cutmix_probability` are used.
        seed: int, drives the batch order and the augmentation.
        strategy: a `tf.distribute.Strategy` or None for the current one.
        callbacks: callbacks, a `CallbackList`, or None.

    Returns:
        The trained `model`.

    Example:
    >>> recipe = TrainingRecipe(epochs=1, width=4)
    >>> model = build_classifier(recipe, (8, 8, 1), 2)
    >>> x, y = np.zeros((4, 8, 8, 1), "float32"), np.array([0, 1, 0, 1])
    >>> train_classifier(model, x, y, 2, recipe) is model
    True
    """
    recipe = recipe or TrainingRecipe()
    strategy = default_strategy(strategy)
    callbacks = as_callback_list(callbacks)
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels)
    labels = labels.astype(np.float32 if labels.ndim == 2 else np.int32)
    size = len(images)
    batch_size = max(1, min(recipe.batch_size, size))
    schedule = recipe.schedule(math.ceil(size / batch_size))
    with strategy.scope():
        optimizer = keras.optimizers.SGD(
            learning_rate=schedule, momentum=recipe.momentum
        )
        optimizer.build(model.trainable_variables)
    step = ClassifierStep(
        model,
        optimizer,
        num_classes,
        augmentation=recipe.augmentation,
        cutmix_probability=recipe.cutmix_probability,
        weight_decay=recipe.weight_decay,
        strategy=strategy,
    )
    global_step = 0
    callbacks.on_start(0, recipe.epochs)
    for epoch in range(recipe.epochs):
        order = np.random.default_rng([seed, epoch]).permutation(size)
        epoch_lr = float(schedule(global_step))
        losses = []
        for start in range(0, size, batch_size):
            indices = order[start : start + batch_size]
            seeds = tf.random.experimental.stateless_split(
                tf.constant([seed, global_step], tf.int64), num=2
            )
            loss, correct = step(images[indices], labels[indices], *tf.unstack(seeds))
            losses.append(float(loss))
            global_step += 1
            correct = np.asarray(correct)
            logs = {"indices": indices, "correct": correct, "loss": losses[-1]}
            callbacks.on_batch(global_step, logs)
        logs = {"loss": float(np.mean(losses)), "lr": epoch_lr}
        callbacks.on_step(epoch + 1, recipe.epochs, logs)
    return model
