"""Training a fresh classifier the way the evaluation protocol does.

One optimizer step (`make_train_step`) is a `tf.function` around a
`tf.GradientTape` step, run with `strategy.run` so that it works unchanged under
any `tf.distribute` strategy:

1. per-sample differentiable augmentation (the shared DSA code, its randomness
   drawn from a stateless seed made of the run's seed and the step index);
2. CutMix with probability `cutmix_probability` (soft labels);
3. cross-entropy on the (mixed) labels, averaged over the global batch; the
   labels are one-hot class indices, or the images' soft labels (probability
   vectors, `udd_keras.evaluation.soft_labels`) when the set is trained on them;
4. coupled L2 weight decay: `weight_decay * w` is added to every gradient, as
   PyTorch's `SGD(weight_decay=...)` does in the reference code (Keras' own
   `weight_decay` is decoupled, which is a different, weaker regulariser with
   momentum);
5. SGD with momentum and the `StepDecay` learning-rate schedule.

`train_classifier` runs the epochs: each epoch visits the training set in an
order drawn from `numpy.random.default_rng([seed, epoch])`, in batches of
`min(batch_size, N)`, the last one possibly smaller (like PyTorch's
`drop_last=False`).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from udd_keras import augmentation
from udd_keras.evaluation.schedule import StepDecay
from udd_keras.models import get_model

# Evaluation batch for test accuracy: only memory, not the result, depends on it.
TEST_BATCH_SIZE = 500


def default_strategy(strategy=None):
    """Returns `strategy`, or the strategy of the current scope when None."""
    return strategy if strategy is not None else tf.distribute.get_strategy()


def build_classifier(
    model_name, input_shape, num_classes, width=128, seed=0, strategy=None
):
    """Creates and builds a fresh model inside `strategy.scope()`.

    Args:
        model_name: str, a name accepted by `udd_keras.models.get_model`.
        input_shape: tuple `(H, W, C)`.
        num_classes: int.
        width: int, channels of the ConvNet (ignored by fixed-width models).
        seed: int, weight initialisation seed.
        strategy: a `tf.distribute.Strategy` or None for the current one.

    Returns:
        A built `keras.Model` mapping (B, H, W, C) images to (B, num_classes) logits.
    """
    strategy = default_strategy(strategy)
    with strategy.scope():
        model = get_model(
            model_name, tuple(input_shape), num_classes, width=width, seed=seed
        )
        model(np.zeros((1, *input_shape), "float32"), training=False)
    return model


def build_optimizer(model, schedule, momentum=0.9, strategy=None):
    """Creates an SGD optimizer and its slots inside `strategy.scope()`."""
    strategy = default_strategy(strategy)
    with strategy.scope():
        optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=momentum)
        optimizer.build(model.trainable_variables)
    return optimizer


def distribute_batch(strategy, arrays):
    """Splits a global batch into contiguous per-replica slices.

    Args:
        strategy: a `tf.distribute.Strategy`.
        arrays: tuple of arrays sharing their first dimension.

    Returns:
        `arrays` unchanged for one replica, else per-replica values whose
        concatenation in replica order is the global batch.
    """
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return arrays
    size = len(arrays[0])
    bounds = [size * r // replicas for r in range(replicas + 1)]

    def value_fn(context):
        r = context.replica_id_in_sync_group
        return tuple(a[bounds[r] : bounds[r + 1]] for a in arrays)

    return strategy.experimental_distribute_values_from_function(value_fn)


def make_train_step(
    model,
    optimizer,
    num_classes,
    dsa_strategy=None,
    cutmix_probability=0.5,
    weight_decay=5e-4,
    strategy=None,
):
    """Builds the distributed training step.

    Args:
        model: a built `keras.Model` created under `strategy.scope()`.
        optimizer: a built `keras.optimizers.Optimizer` for its variables.
        num_classes: int.
        dsa_strategy: str such as `"color_crop_scale_rotate"`, or None/"" for no
            differentiable augmentation.
        cutmix_probability: float in [0, 1]; 0 disables CutMix.
        weight_decay: float, coupled L2 coefficient.
        strategy: a `tf.distribute.Strategy` or None for the current one.

    Returns:
        A `tf.function` `step(images, labels, seed, global_batch_size) ->
        (loss, correct)`: images (B, H, W, C) float32 and labels either (B,)
        int32 class indices or (B, num_classes) float32 soft labels, rows
        summing to 1 (per-replica values under a multi-replica strategy, see
        `distribute_batch`), seed (2,) int64 stateless seed, global_batch_size
        the int B; loss is the scalar mean cross-entropy of the batch, correct
        (B,) bool whether each image's logits (after augmentation) pick its
        own label (the arg-max of a soft label), in batch order.
    """
    strategy = default_strategy(strategy)
    replicas = strategy.num_replicas_in_sync
    variables = model.trainable_variables

    def replica_step(images, labels, seed, global_batch_size):
        context = tf.distribute.get_replica_context()
        replica = tf.cast(context.replica_id_in_sync_group, tf.int64)
        replica_seed = seed + tf.stack([tf.constant(0, tf.int64), 7919 * replica])
        dsa_seed, cutmix_seed = tf.unstack(
            tf.random.experimental.stateless_split(replica_seed, num=2)
        )
        if labels.dtype.is_floating:  # soft labels; fixed per trace
            targets = labels
            labels = tf.argmax(targets, -1, output_type=tf.int32)
        else:
            targets = tf.one_hot(labels, num_classes)
        if dsa_strategy:
            images = augmentation.augment(
                images, dsa_strategy, dsa_seed, per_sample=True
            )
        if cutmix_probability > 0:
            images, targets = augmentation.cutmix(
                images, targets, cutmix_probability, cutmix_seed
            )
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            per_example = keras.losses.categorical_crossentropy(
                targets, logits, from_logits=True
            )
            loss = tf.nn.compute_average_loss(
                per_example, global_batch_size=global_batch_size
            )
        gradients = tape.gradient(loss, variables)
        # Gradients are summed over replicas, so each adds its share of the decay.
        gradients = [
            g + (weight_decay / replicas) * tf.convert_to_tensor(v)
            for g, v in zip(gradients, variables, strict=True)
        ]
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        correct = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels)
        # As int32: `strategy.gather` rejects bool tensors under MirroredStrategy.
        return loss, tf.cast(correct, tf.int32)

    @tf.function(reduce_retracing=True)
    def step(images, labels, seed, global_batch_size):
        loss, correct = strategy.run(
            replica_step, args=(images, labels, seed, global_batch_size)
        )
        loss = strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
        return loss, tf.cast(strategy.gather(correct, axis=0), tf.bool)

    return step


def make_classify_fn(model):
    """Wraps a model into a traced `fn(images) -> (B,) int32 predicted classes`."""

    @tf.function(reduce_retracing=True)
    def classify(images):
        return tf.argmax(model(images, training=False), -1, output_type=tf.int32)

    return classify


def top1_accuracy(classify, images, labels, batch_size=TEST_BATCH_SIZE):
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
    epochs=300,
    lr=0.01,
    batch_size=64,
    dsa_strategy=None,
    cutmix_probability=0.5,
    momentum=0.9,
    weight_decay=5e-4,
    seed=0,
    strategy=None,
    on_batch=None,
    on_epoch_end=None,
    soft_labels=None,
):
    """Trains `model` in place on `(images, labels)` with the evaluation recipe.

    Args:
        model: a built `keras.Model` (see `build_classifier`).
        images: float32 array (N, H, W, C), normalised.
        labels: int array (N,) in `[0, num_classes)`.
        num_classes: int.
        epochs: int >= 1.
        lr: float, initial learning rate (x0.2 at 2/3 and 5/6 of training).
        batch_size: int, the batch is `min(batch_size, N)`.
        dsa_strategy: str or None, the differentiable augmentation strategy.
        cutmix_probability: float, 0 disables CutMix.
        momentum: float, SGD momentum.
        weight_decay: float, coupled L2 coefficient.
        seed: int, drives the batch order and the augmentation.
        strategy: a `tf.distribute.Strategy` or None for the current one.
        on_batch: optional `fn(indices, correct)` called after every step with
            the (B,) training-set indices of the batch and the (B,) bool
            correctness of their predictions in that step.
        on_epoch_end: optional `fn(epoch, logs)` with the 1-based epoch and
            `logs = {"loss": mean training loss, "lr": learning rate used}`.
        soft_labels: optional float32 array (N, num_classes), rows summing to
            1: train on these targets (soft cross-entropy) instead of the
            one-hot `labels` (see `udd_keras.evaluation.soft_labels`).

    Returns:
        The trained `model`.
    """
    strategy = default_strategy(strategy)
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels, np.int32)
    targets = labels if soft_labels is None else np.asarray(soft_labels, np.float32)
    size = len(images)
    batch_size = max(1, min(int(batch_size), size))
    steps_per_epoch = math.ceil(size / batch_size)
    schedule = StepDecay.from_epochs(lr, epochs, steps_per_epoch)
    optimizer = build_optimizer(model, schedule, momentum, strategy)
    step = make_train_step(
        model,
        optimizer,
        num_classes,
        dsa_strategy=dsa_strategy,
        cutmix_probability=cutmix_probability,
        weight_decay=weight_decay,
        strategy=strategy,
    )
    global_step = 0
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(size)
        epoch_lr = float(schedule(global_step))
        losses = []
        for start in range(0, size, batch_size):
            indices = order[start : start + batch_size]
            batch = distribute_batch(strategy, (images[indices], targets[indices]))
            step_seed = tf.constant([seed, global_step], tf.int64)
            loss, correct = step(*batch, step_seed, tf.constant(len(indices)))
            losses.append(float(loss))
            if on_batch is not None:
                on_batch(indices, np.asarray(correct))
            global_step += 1
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, {"loss": float(np.mean(losses)), "lr": epoch_lr})
    return model
