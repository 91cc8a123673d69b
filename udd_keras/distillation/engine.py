"""The compiled steps of Algorithm 1: region selection, image update, network update.

`DistillationEngine` owns the state of a run (synthetic images, their momentum, the
network and its momentum, the CFC class centres) as TF variables, and three
`tf.function`s that are traced once per run:

- `select_regions(key)`: scores every candidate region of every synthetic image
  with the current network (one batched pass, paper Fig. 4b) and returns the P
  lowest-scoring boxes per image.
- `update_images(key)`: for each class, a real batch and the class's synthetic
  training images S_train (image + its regions, cropped and resized
  differentiably), siamese-augmented with the same parameters; the loss is the
  gradient-matching distance plus the weighted CFC loss; its gradient reaches the
  stored pixels through every region. One SGD-momentum step on the images.
- `update_network(key)`: one pass of the network over `net_images` random real
  images (the synthetic set for `dc`), with DSA and CutMix, SGD with momentum and
  L2 weight decay (added to the gradient, as PyTorch's SGD does).

Randomness is stateless: every random draw is keyed by
`fold_in(seed, iteration, inner step, purpose, class)`, so a resumed run draws
exactly what an uninterrupted run would.

Class loop and images: the network is fixed while the images are updated, and
class c's loss depends only on class c's images, so all classes' image gradients
are gathered first and applied in one optimizer step per inner step. (IDC steps
its optimizer once per class; with momentum this only redistributes each
gradient's momentum over the following steps.) The CFC centres are updated class
by class inside the loop, exactly as a sequential implementation would.

Distribution: each step runs under `self.strategy`. The class loop of
`update_images` is the unit of work: a replica handles the classes
`c = replica_id, replica_id + R, ...` and its image gradients are all-reduced
(summed; each class belongs to one replica). Real batches are per class, so
they are drawn by the replica handling that class. The network update is
replicated with the same key on every replica, so network weights stay identical
without communication.
"""

import numpy as np
import tensorflow as tf

from udd_keras.augmentation import apply, augment, cutmix, sample_params
from udd_keras.distillation.network import build_network, reinitialize
from udd_keras.losses import (
    cfc_loss,
    matching_loss,
    select_matched_variables,
    update_class_centers,
)
from udd_keras.policies import region_scores, select_lowest, window_masks
from udd_keras.regions import candidate_boxes, form_training_images, uniform_boxes

# Purposes folded into random keys, so no two draws share a key.
_REAL_BATCH, _AUGMENT, _SUBSAMPLE, _SCORING, _NETWORK = range(5)


def fold_in(key, *values):
    """Derives a stateless key from `key` and integers; int32 tensor (2,)."""
    key = tf.convert_to_tensor(key, tf.int32)
    for value in values:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(value, tf.int32))
    return key


def class_index_table(labels, num_classes):
    """Indices of each class's examples, padded with -1.

    Returns:
        `(table, counts)`: int32 (num_classes, max count) and int32 (num_classes,).
    """
    per_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
    counts = np.array([len(p) for p in per_class], np.int32)
    table = np.full((num_classes, counts.max()), -1, np.int32)
    for c, indices in enumerate(per_class):
        table[c, : len(indices)] = indices
    return table, counts


def sample_without_replacement(key, count, size):
    """`size` distinct random indices in `[0, count)`; int32 (size,)."""
    keys = tf.random.stateless_uniform(tf.reshape(count, [1]), key)
    return tf.math.top_k(keys, k=size, sorted=False).indices


class DistillationEngine(tf.Module):
    """State and compiled steps of one distillation run.

    Args:
        config: a resolved `DistillConfig`.
        x_train: float32 array (N, H, W, C), normalised real training images.
        y_train: int array (N,).
        num_classes: int.
        initial_images: float32 array (num_classes * ipc, H, W, C), class-major.
        pixel_range: `(low, high)` of valid normalised pixel values (per channel
            arrays), used when `config.clip`.
        strategy: a `tf.distribute.Strategy`, default the current one.
    """

    def __init__(
        self,
        config,
        x_train,
        y_train,
        num_classes,
        initial_images,
        pixel_range=None,
        strategy=None,
    ):
        super().__init__(name="distillation_engine")
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.num_classes = num_classes
        self.image_shape = tuple(int(d) for d in x_train.shape[1:])
        self.labels = np.repeat(np.arange(num_classes, dtype=np.int32), config.ipc)
        height, width = self.image_shape[:2]
        with self.strategy.scope():
            self.model = build_network(
                self.image_shape, num_classes, config.width, config.depth
            )
            self.images = tf.Variable(initial_images, name="synthetic_images")
            self.image_velocity = tf.Variable(
                tf.zeros_like(initial_images), name="image_velocity"
            )
            self.image_lr = tf.Variable(
                config.lr_img, dtype=tf.float32, name="image_lr"
            )
            self.network_velocity = [
                tf.Variable(tf.zeros_like(v), name="network_velocity")
                for v in self.model.trainable_variables
            ]
            embedding_size = self._forward(self.images[:1])[1].shape[-1]
            self.class_centers = tf.Variable(
                tf.zeros([num_classes, embedding_size]), name="class_centers"
            )
            self.centers_filled = tf.Variable(
                tf.zeros([num_classes], tf.bool), name="centers_filled"
            )
        self.matched_variables = select_matched_variables(self.model, config.matched)
        self.x_train = tf.constant(x_train, tf.float32)
        self.y_train = tf.constant(y_train, tf.int32)
        table, counts = class_index_table(np.asarray(y_train), num_classes)
        self.class_table = tf.constant(table)
        self.class_counts = tf.constant(counts)
        self.smallest_class = int(counts.min())
        self.pixel_range = pixel_range
        self.candidate_boxes = candidate_boxes(height, width, config.num_regions)
        self.uniform_boxes = uniform_boxes(height, width, config.factor)
        response_map = self._forward(self.images[:1])[0]
        self.masks = tf.constant(
            window_masks(
                self.candidate_boxes + self._frame_offset(),
                self._frame_size(),
                response_map.shape[1:3],
            )
        )

    # ----------------------------------------------------------------- network

    def _frame_offset(self):
        """Pixel offset of the image inside the frame the response map covers.

        ConvNet treats 28 px images as 32 px (padding 3 before a 'valid' 3x3
        convolution), so its maps cover a 32 px frame with the image 2 px in.
        """
        return (self._frame_size()[0] - self.image_shape[0]) // 2

    def _frame_size(self):
        height, width = self.image_shape[:2]
        if (height, width) == (28, 28):
            return (32, 32)
        return (height, width)

    def _forward(self, images, training=False):
        """`(response map (B, h, w, c), embedding (B, D), logits (B, K))`."""
        feature_maps, embedding = self.model.features(images, training=training)
        logits = self.model.classifier(embedding)
        return feature_maps[self.config.response_layer], embedding, logits

    def reset_network(self, seed):
        """Fresh network weights, zero network momentum, empty CFC centres."""
        reinitialize(self.model, seed)
        for velocity in self.network_velocity:
            velocity.assign(tf.zeros_like(velocity))
        self.class_centers.assign(tf.zeros_like(self.class_centers))
        self.centers_filled.assign(tf.zeros_like(self.centers_filled))

    @tf.function
    def fill_centers(self, boxes):
        """Sets every CFC centre to its class's mean S_train embedding.

        Called right after the network is re-initialised, so that from the first
        step every class has a centre from the same network to contrast with.

        Args:
            boxes: int32 (num_images, K, 4), the current regions.
        """
        train = self.training_images(tf.convert_to_tensor(self.images), boxes)
        embedding = self._forward(train)[1]
        per_class = tf.reshape(embedding, [self.num_classes, -1, embedding.shape[-1]])
        self.class_centers.assign(tf.reduce_mean(per_class, axis=1))
        self.centers_filled.assign(tf.ones_like(self.centers_filled))

    # ----------------------------------------------------------------- regions

    @tf.function
    def select_regions(self, key):
        """Boxes trained on per synthetic image; int32 (num_images, K, 4)."""
        config = self.config
        num_images = len(self.labels)
        if config.policy == "uniform":
            return tf.tile(self.uniform_boxes[None], [num_images, 1, 1])
        if config.policy == "none":
            return tf.zeros([num_images, 0, 4], tf.int32)

        def response_and_logits(images):
            response, _, logits = self._forward(images)
            return response, logits

        scores = region_scores(
            config.policy,
            response_and_logits,
            self.images,
            self.labels,
            self.masks,
            fold_in(key, _SCORING),
            jitters=config.jitters,
            jitter_function=config.jitter_function,
            jitter_amount=config.jitter_amount,
        )
        return select_lowest(scores, self.candidate_boxes, config.num_selected)

    @property
    def training_images_per_image(self):
        """Synthetic training images formed from one stored image."""
        config = self.config
        return config.regions_per_image + int(
            config.include_original or config.policy == "none"
        )

    def training_images(self, images, boxes):
        """S_train of some synthetic images: (B * per-image count, H, W, C)."""
        if self.config.policy == "none":
            return images
        return form_training_images(images, boxes, self.config.include_original)

    # ------------------------------------------------------------------ images

    def _sample_real_class(self, class_id, key, size):
        count = self.class_counts[class_id]
        size = min(size, self.smallest_class)
        picks = sample_without_replacement(key, count, size)
        indices = tf.gather(self.class_table[class_id], picks)
        return tf.gather(self.x_train, indices)

    def _cross_entropy(self, logits, class_id):
        labels = tf.fill([tf.shape(logits)[0]], class_id)
        return tf.reduce_mean(
            tf.keras.losses.sparse_categorical_crossentropy(
                labels, logits, from_logits=True
            )
        )

    def class_loss(self, class_id, synthetic, boxes, key, centers, filled):
        """Matching + CFC loss of one class.

        Args:
            class_id: int32 scalar tensor.
            synthetic: float tensor (ipc, H, W, C), the class's stored images.
            boxes: int32 (ipc, K, 4), their selected regions.
            key: int32 (2,) random key of this class and step.
            centers, filled: CFC state before this class.

        Returns:
            `(loss, matching, cfc, centers, filled)`.
        """
        config = self.config
        real = self._sample_real_class(
            class_id, fold_in(key, _REAL_BATCH), config.real_batch
        )
        params = sample_params(
            config.matching_augmentation, seed=fold_in(key, _AUGMENT)
        )
        with tf.GradientTape() as real_tape:
            real_logits = self._forward(apply(real, params), training=True)[2]
            real_loss = self._cross_entropy(real_logits, class_id)
        real_gradients = real_tape.gradient(real_loss, self.matched_variables)

        train = self.training_images(synthetic, boxes)
        count = config.ipc * self.training_images_per_image
        if count > config.max_synthetic_batch:
            keep = sample_without_replacement(
                fold_in(key, _SUBSAMPLE), count, config.max_synthetic_batch
            )
            train = tf.gather(train, keep)
        with tf.GradientTape() as synthetic_tape:
            _, embedding, logits = self._forward(apply(train, params), training=True)
            synthetic_loss = self._cross_entropy(logits, class_id)
        synthetic_gradients = synthetic_tape.gradient(
            synthetic_loss, self.matched_variables
        )
        matching = matching_loss(real_gradients, synthetic_gradients, config.metric)
        cfc = tf.constant(0.0)
        if config.cfc_weight:
            feature = tf.reduce_mean(embedding, axis=0, keepdims=True)
            ids = tf.reshape(class_id, [1])
            centers, filled = update_class_centers(
                centers, filled, feature, ids, config.alpha
            )
            cfc = cfc_loss(feature, centers, ids, config.tau)
        loss = matching + config.cfc_weight * cfc
        return loss, matching, cfc, centers, filled

    def _replica_image_gradients(self, key, boxes):
        """Image gradients of this replica's classes (zeros elsewhere), all-reduced."""
        context = tf.distribute.get_replica_context()
        ipc = self.config.ipc
        images = tf.convert_to_tensor(self.images)
        gradient = tf.zeros_like(images)
        totals = tf.zeros([3])
        centers = tf.convert_to_tensor(self.class_centers)
        filled = tf.convert_to_tensor(self.centers_filled)
        first = context.replica_id_in_sync_group
        for class_id in tf.range(first, self.num_classes, context.num_replicas_in_sync):
            rows = tf.range(class_id * ipc, (class_id + 1) * ipc)
            synthetic = tf.gather(images, rows)
            with tf.GradientTape() as tape:
                tape.watch(synthetic)
                loss, matching, cfc, centers, filled = self.class_loss(
                    class_id,
                    synthetic,
                    tf.gather(boxes, rows),
                    fold_in(key, class_id),
                    centers,
                    filled,
                )
            class_gradient = tape.gradient(loss, synthetic)
            gradient = tf.tensor_scatter_nd_add(gradient, rows[:, None], class_gradient)
            totals += tf.stack([loss, matching, cfc])
        sum_ = tf.distribute.ReduceOp.SUM
        gradient = context.all_reduce(sum_, gradient)
        totals = context.all_reduce(sum_, totals) / self.num_classes
        return gradient, totals, centers, filled

    @tf.function
    def update_images(self, key, boxes):
        """One image update over all classes.

        Args:
            key: int32 (2,), the random key of this inner step.
            boxes: int32 (num_images, K, 4), from `select_regions`.

        Returns:
            float32 (3,): mean over classes of (total, matching, CFC) loss.
        """
        gradient, totals, centers, filled = self.strategy.run(
            self._replica_image_gradients, args=(key, boxes)
        )
        gradient, totals = (
            self.strategy.experimental_local_results(t)[0] for t in (gradient, totals)
        )
        centers = self._merge_centers(centers)
        filled = self._merge_filled(filled)
        velocity = self.config.momentum_img * self.image_velocity + gradient
        self.image_velocity.assign(velocity)
        images = self.images - self.image_lr * velocity
        if self.config.clip and self.pixel_range is not None:
            images = tf.clip_by_value(images, *self.pixel_range)
        self.images.assign(images)
        if self.config.cfc_weight:
            self.class_centers.assign(centers)
            self.centers_filled.assign(filled)
        return totals

    def _merge_centers(self, centers):
        """Each replica updated its own classes' centres; take those rows."""
        results = self.strategy.experimental_local_results(centers)
        if len(results) == 1:
            return results[0]
        replicas = len(results)
        owner = tf.range(self.num_classes) % replicas
        merged = results[0]
        for replica, value in enumerate(results[1:], start=1):
            merged = tf.where((owner == replica)[:, None], value, merged)
        return merged

    def _merge_filled(self, filled):
        results = self.strategy.experimental_local_results(filled)
        merged = results[0]
        for value in results[1:]:
            merged = tf.logical_or(merged, value)
        return merged

    # ----------------------------------------------------------------- network

    def _network_data(self):
        if self.config.net_data == "synthetic":
            return tf.convert_to_tensor(self.images), tf.constant(self.labels)
        return self.x_train, self.y_train

    def _replica_network_update(self, key):
        config = self.config
        x, y = self._network_data()
        total = min(config.net_images, int(x.shape[0]))
        picks = sample_without_replacement(fold_in(key, _NETWORK), x.shape[0], total)
        batches = -(-total // config.net_batch)
        variables = self.model.trainable_variables
        loss_sum = tf.constant(0.0)
        for batch in tf.range(batches):
            start = batch * config.net_batch
            indices = picks[start : start + config.net_batch]
            images, labels = tf.gather(x, indices), tf.gather(y, indices)
            batch_key = fold_in(key, _NETWORK, batch)
            images = augment(
                images, config.net_augmentation, fold_in(batch_key, 1), per_sample=True
            )
            targets = tf.one_hot(labels, self.num_classes)
            images, targets = cutmix(
                images, targets, config.net_cutmix, fold_in(batch_key, 2)
            )
            with tf.GradientTape() as tape:
                logits = self.model(images, training=True)
                loss = tf.reduce_mean(
                    tf.keras.losses.categorical_crossentropy(
                        targets, logits, from_logits=True
                    )
                )
            gradients = tape.gradient(loss, variables)
            for variable, velocity, gradient in zip(
                variables, self.network_velocity, gradients, strict=True
            ):
                gradient = gradient + config.net_weight_decay * variable
                velocity.assign(config.net_momentum * velocity + gradient)
                variable.assign_sub(config.net_lr * velocity)
            loss_sum += loss
        return loss_sum / tf.cast(batches, tf.float32)

    @tf.function
    def update_network(self, key):
        """Trains the network for one pass over `net_images` images.

        Returns:
            float32 scalar, the mean cross-entropy of the pass.
        """
        loss = self.strategy.run(self._replica_network_update, args=(key,))
        return self.strategy.experimental_local_results(loss)[0]
