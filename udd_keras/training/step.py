"""`ClassifierStep`: one optimizer step of a classifier, for any replica count.

The one training step of the package: the evaluation protocol, the coreset
networks, mUE's measuring network and the distillation's network update all
train through it. A step on a global batch of B images:

1. differentiable augmentation of the whole batch, one set of parameters per
   image, drawn from `augment_seed` (skipped when `augmentation` is None);
2. CutMix of the whole batch with `cutmix_probability`, drawn from
   `cutmix_seed` (skipped at 0); labels become (mixed) one-hot targets, or
   stay the given soft labels (mixed the same way);
3. replica r of R takes the contiguous slice `[B r / R, B (r + 1) / R)`; its
   loss is its slice's summed cross-entropy divided by B, so the sum of the
   replicas' gradients is that of the batch-mean cross-entropy;
4. coupled L2 weight decay (PyTorch's `SGD(weight_decay=...)`): each replica
   adds `weight_decay / R * w`, so the sum holds `weight_decay * w` once;
5. `optimizer.apply_gradients` in replica context: the optimizer sums the
   replicas' gradients and updates every copy of the weights, as a Keras
   optimizer does (the evaluation's SGD with its `StepDecay`), and
   `MomentumSGD` (the distillation's network update) too.

Everything random is drawn before the slicing, from seeds that do not depend on
the replica, so a step gives the same result, up to float rounding, with any
number of replicas.
"""

import keras
import tensorflow as tf

from udd_keras.augmentation import augment, cutmix


class ClassifierStep:
    """One traced training step of `model` under `strategy`.

    Args:
        model: a built `keras.Model` mapping (B, H, W, C) images to
            (B, num_classes) logits, created under `strategy.scope()`.
        optimizer: an object whose `apply_gradients(grads_and_vars)`, called
            in replica context, sums the gradients over the replicas and
            updates the variables: a built `keras.optimizers.Optimizer` or a
            `udd_keras.training.MomentumSGD`.
        num_classes: int.
        augmentation: str DSA strategy (e.g. `"color_crop_scale_rotate"`), or
            None for none.
        cutmix_probability: float in [0, 1]; 0 disables CutMix.
        weight_decay: float >= 0, coupled L2 coefficient.
        strategy: a `tf.distribute.Strategy`, default the current one.

    Example:
    >>> step = ClassifierStep(model, optimizer, 10)  # doctest: +SKIP
    >>> loss, correct = step(images, labels, seed_a, seed_b)  # doctest: +SKIP
    """

    def __init__(
        self,
        model,
        optimizer,
        num_classes,
        augmentation=None,
        cutmix_probability=0.0,
        weight_decay=0.0,
        strategy=None,
    ):
        self.model = model
        self.optimizer = optimizer
        self.num_classes = num_classes
        self.augmentation = augmentation
        self.cutmix_probability = cutmix_probability
        self.weight_decay = weight_decay
        self.strategy = strategy or tf.distribute.get_strategy()

    @tf.autograph.experimental.do_not_convert
    def update(self, images, labels, augment_seed, cutmix_seed):
        """The step as graph code, to call inside a `tf.function`.

        Args:
            images: float32 (B, H, W, C), the global batch (the same tensor on
                every replica).
            labels: int32 (B,) class indices, or float32 (B, num_classes) soft
                labels whose rows sum to 1.
            augment_seed, cutmix_seed: (2,) int stateless seeds.

        Returns:
            `(loss, correct)`: the float32 batch-mean cross-entropy, and
            per-replica int32 (slice,) values, 1 where the slice's logits pick
            the image's label (the arg-max of a soft label) before the update.
        """
        if labels.dtype.is_floating:  # soft labels; fixed per trace
            targets = labels
            labels = tf.argmax(targets, -1, output_type=tf.int32)
        else:
            targets = tf.one_hot(labels, self.num_classes)
        if self.augmentation:
            images = augment(images, self.augmentation, augment_seed, per_sample=True)
        if self.cutmix_probability > 0:
            images, targets = cutmix(
                images, targets, self.cutmix_probability, cutmix_seed
            )
        loss, correct = self.strategy.run(
            self._replica_step, args=(images, targets, labels)
        )
        return self.strategy.experimental_local_results(loss)[0], correct

    @tf.function(reduce_retracing=True)
    def __call__(self, images, labels, augment_seed, cutmix_seed):
        """`update` traced: returns `(loss, correct)`, correct (B,) bool."""
        loss, correct = self.update(images, labels, augment_seed, cutmix_seed)
        return loss, tf.cast(self.strategy.gather(correct, axis=0), tf.bool)

    def _replica_step(self, images, targets, labels):
        """This replica's slice: its gradients applied, the loss, correctness."""
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        replica = context.replica_id_in_sync_group
        size = tf.shape(images)[0]
        begin, end = size * replica // replicas, size * (replica + 1) // replicas
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.model(images[begin:end], training=True)
            loss = tf.reduce_sum(
                keras.losses.categorical_crossentropy(
                    targets[begin:end], logits, from_logits=True
                )
            ) / tf.cast(size, tf.float32)
        gradients = tape.gradient(loss, variables)
        if self.weight_decay:
            # The optimizer sums the replicas' gradients: each adds its share.
            share = self.weight_decay / replicas
            gradients = [
                g + share * tf.convert_to_tensor(v)
                for g, v in zip(gradients, variables, strict=True)
            ]
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        if replicas > 1:
            loss = context.all_reduce(tf.distribute.ReduceOp.SUM, loss)
        # As int32: `strategy.gather` rejects bool tensors under MirroredStrategy.
        predicted = tf.argmax(logits, -1, output_type=tf.int32)
        correct = tf.cast(tf.equal(predicted, labels[begin:end]), tf.int32)
        return loss, correct
