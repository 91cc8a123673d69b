"""The compiled steps of Algorithm 1: region selection, image update, network update.

`DistillationEngine` owns the state of a run (synthetic images, their optimizer,
the network and its momentum, the CFC class centres) as TF variables, and three
`tf.function`s that are traced once per run (`train_step` runs them in order):

- `select_regions(key)`: scores every candidate region of every synthetic image
  with the current network (one batched pass, paper Fig. 4b, on the map of
  block `score_block`) and returns the P lowest-scoring boxes per image. How
  often it runs is `region_period`: at every image update (the paper), or once
  per outer iteration or per run, the boxes kept in `trained_boxes` between.
- `update_images(key)`: for each class, a real batch and the class's synthetic
  training images S_train (image + its regions, cropped and resized
  differentiably), siamese-augmented with the same parameters; the loss is the
  gradient-matching distance plus the weighted CFC loss; its gradient reaches the
  stored pixels through every region. One step of the image optimizer
  (`image_optimizers.py`: SGD with momentum, or Adam) on the images.
- `update_network(key)`: one pass of the network over `net_images` random real
  images (the synthetic set for `dc`), with DSA and CutMix, SGD with momentum and
  L2 weight decay (added to the gradient, as PyTorch's SGD does).

Replay (`record_step`, `replay_step`, `load_network`): the network and the real
gradients never depend on the synthetic images, so a run can read them from a
`trajectory.TrajectoryCache` another run recorded, and only compute the
synthetic half of each step.

Randomness is stateless: every random draw is keyed by
`fold_in(seed, iteration, inner step, purpose, class)`, so a resumed run draws
exactly what an uninterrupted run would.

Class loop and images: the network is fixed while the images are updated, and
class c's loss depends only on class c's images, so all classes' image gradients
are gathered first and applied in one optimizer step per inner step. (IDC steps
its optimizer once per class; with momentum this only redistributes each
gradient's momentum over the following steps.) The CFC centres are updated class
by class inside the loop, exactly as a sequential implementation would.

Distribution: every step runs under `self.strategy` (default strategy, one
device, `MirroredStrategy` or `MultiWorkerMirroredStrategy`) and gives the same
result, up to float rounding, with any number R of replicas:

- Split across replicas: the classes of `update_images` (replica r handles
  `c = r, r + R, ...`, and draws those classes' real batches), and each real
  batch of `update_network` (replica r takes a contiguous slice of it).
- All-reduced (summed): the image gradients (each class's rows come from one
  replica), the per-class losses, the network gradients (each replica's loss is
  its slice's cross-entropy sum over the global batch size, so the sum is the
  batch mean) and, when CFC is on and R > 1, the per-class mean embeddings f_c.
- Replicated: everything random is keyed by the step, not by the replica, so
  every replica draws the same network batch, the same augmentation and CutMix
  (applied to the whole batch before slicing) and computes the same region
  boxes. The CFC centres seen by class c are those of a sequential pass (classes
  before c already updated): with R > 1 a replica gets them from the
  all-reduced f_c of every class, computed first with one extra forward pass of
  its classes' synthetic images (with R = 1 the loop is sequential and this pass
  is skipped).
- Updated in cross-replica context: images, their optimizer's state, the
  network weights and momentum, the CFC centres. The optimizer steps go through
  `strategy.extended.update` with the all-reduced (identical) per-replica
  values, so every replica's copy of a variable gets the same value and no
  variable needs an aggregation mode. Variables are ordinary `tf.Variable`s
  created in `strategy.scope()`, so a checkpoint saved under one strategy
  restores under another.
"""

import numpy as np
import tensorflow as tf

from udd_keras.augmentation import apply, sample_params
from udd_keras.distillation.image_optimizers import get_image_optimizer
from udd_keras.distillation.network import build_network, reinitialize
from udd_keras.losses import (
    cfc_loss,
    matching_loss,
    select_matched_variables,
    update_class_centers,
)
from udd_keras.policies import (
    normalize_by_size,
    region_scores,
    select_lowest,
    window_masks,
)
from udd_keras.regions import form_training_images
from udd_keras.training.sgd import MomentumSGD
from udd_keras.training.step import ClassifierStep

# Purposes folded into random keys, so no two draws share a key.
_REAL_BATCH, _AUGMENT, _SUBSAMPLE, _SCORING, _NETWORK = range(5)
# What `update_images` returns, in this order.
IMAGE_LOSSES = ("loss", "matching_loss", "cfc_loss", "cfc_gradient_ratio")


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


def _image_optimizer(config, clip, strategy):
    """The image optimizer `config` names: SGD with `momentum_img`, or Adam."""
    settings = {"momentum": config.momentum_img}
    if config.image_optimizer != "sgd":
        settings = {}
    return get_image_optimizer(
        config.image_optimizer,
        learning_rate=config.lr_img,
        clip=clip,
        strategy=strategy,
        **settings,
    )


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
                self.image_shape,
                num_classes,
                config.width,
                config.depth,
                dtype=config.precision,
            )
            self.images = tf.Variable(initial_images, name="synthetic_images")
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
            # The boxes of the last image update (exported with the set).
            self.trained_boxes = tf.Variable(
                tf.zeros([len(self.labels), config.regions_per_image, 4], tf.int32),
                name="trained_boxes",
            )
        clip = pixel_range if config.clip else None
        self.image_optimizer = _image_optimizer(config, clip, self.strategy)
        self.image_optimizer.build(self.images)
        self.matched_variables = select_matched_variables(self.model, config.matched)
        self.x_train = tf.constant(x_train, tf.float32)
        self.y_train = tf.constant(y_train, tf.int32)
        table, counts = class_index_table(np.asarray(y_train), num_classes)
        self.class_table = tf.constant(table)
        self.class_counts = tf.constant(counts)
        self.smallest_class = int(counts.min())
        self.formation = config.formation_boxes(height, width)
        self.candidate_boxes = self.formation.candidates
        self.masks = None
        if self.formation.mines:
            response_map = self._forward(self.images[:1])[0]
            self.masks = tf.constant(
                window_masks(
                    self.candidate_boxes + self.model.frame_offset,
                    self.model.frame_size,
                    response_map.shape[1:3],
                )
            )

    # ----------------------------------------------------------------- network

    def _forward(self, images, training=False):
        """`(response map (B, h, w, c), embedding (B, D), logits (B, K))`.

        The response map is the output of block `config.score_block` (after
        its ReLU, before pooling): the region scores read it, and the windows'
        masks are laid on its `h x w` cells. The embedding and logits are
        float32; the response map has the
        network's compute dtype (bfloat16 when `config.precision` is
        `"mixed_bfloat16"`), so that gradients can be taken with respect to it.
        """
        feature_maps, embedding = self.model.features(images, training=training)
        logits = self.model.classifier(embedding)
        embedding = tf.cast(embedding, tf.float32)
        return feature_maps[self.config.score_block], embedding, logits

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
        """Boxes trained on per synthetic image; int32 (num_images, K, 4).

        The formation's fixed boxes (IDC's tiles) come first, then the P mined
        regions: the lowest scores first, or with `mine_from="highest"` the
        highest first.
        """
        config = self.config
        num_images = len(self.labels)
        fixed = tf.tile(
            tf.constant(self.formation.fixed, tf.int32)[None], [num_images, 1, 1]
        )
        if not self.formation.mines:
            return fixed
        scores = self.region_scores(key)
        if config.mine_from == "highest":
            scores = -scores
        mined = select_lowest(scores, self.candidate_boxes, config.num_selected)
        return tf.concat([fixed, mined], axis=1)

    def region_scores(self, key):
        """The policy's score of every candidate region; float32 (num_images, N').

        With `score_normalization="size"` each score is divided by the mean
        score of the same-size windows of its image.
        """
        config = self.config

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
        if config.score_normalization == "size":
            scores = normalize_by_size(scores, self.formation.size_groups)
        return scores

    @property
    def training_images_per_image(self):
        """Synthetic training images formed from one stored image."""
        return self.config.regions_per_image + int(self.formation.includes_original)

    def training_images(self, images, boxes):
        """S_train of some synthetic images: (B * per-image count, H, W, C)."""
        if self.config.regions_per_image == 0:
            return images
        return form_training_images(
            images,
            boxes,
            self.formation.includes_original,
            crop_gradient=self.config.crop_gradient,
            num_fixed=len(self.formation.fixed),
        )

    # ------------------------------------------------------------------ images

    def _sample_real_class(self, class_id, key, size):
        count = self.class_counts[class_id]
        size = min(size, self.smallest_class)
        picks = sample_without_replacement(key, count, size)
        indices = tf.gather(self.class_table[class_id], picks)
        return tf.gather(self.x_train, indices)

    def _cross_entropy(self, logits, class_id, weights=None):
        """Mean cross-entropy of `logits` against `class_id`, or its
        `weights`-weighted mean."""
        labels = tf.fill([tf.shape(logits)[0]], class_id)
        losses = tf.keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True
        )
        if weights is None:
            return tf.reduce_mean(losses)
        return tf.reduce_sum(losses * weights) / tf.reduce_sum(weights)

    def _training_image_weights(self):
        """Per S_train image of one stored image: 1 for the image and each
        fixed box, `region_weight` for each mined region; float32 (K')."""
        fixed = int(self.formation.includes_original) + len(self.formation.fixed)
        mined = self.training_images_per_image - fixed
        return np.array([1.0] * fixed + [self.config.region_weight] * mined, np.float32)

    def _matching_params(self, key):
        """The siamese augmentation of one class and step."""
        return sample_params(
            self.config.matching_augmentation, seed=fold_in(key, _AUGMENT)
        )

    def _synthetic_batch(self, synthetic, boxes, key):
        """S_train of one class, subsampled to `max_synthetic_batch` images.

        Returns:
            `(images, weights)`: the training images, and their weights in the
            synthetic cross-entropy (None when every weight is 1).
        """
        config = self.config
        train = self.training_images(synthetic, boxes)
        weights = None
        if config.region_weight != 1.0 and self.formation.mines:
            weights = tf.constant(
                np.tile(self._training_image_weights(), config.ipc), tf.float32
            )
        count = config.ipc * self.training_images_per_image
        if count > config.max_synthetic_batch:
            keep = sample_without_replacement(
                fold_in(key, _SUBSAMPLE), count, config.max_synthetic_batch
            )
            train = tf.gather(train, keep)
            if weights is not None:
                weights = tf.gather(weights, keep)
        return train, weights

    def _real_gradients(self, class_id, key, params):
        """Class `class_id`'s real gradient of the matched variables.

        Args:
            class_id: int32 scalar tensor.
            key: int32 (2,) random key of this class and step.
            params: the class's siamese augmentation (`_matching_params`).

        Returns:
            A list of float32 tensors, one per matched variable.
        """
        real = self._sample_real_class(
            class_id, fold_in(key, _REAL_BATCH), self.config.real_batch
        )
        with tf.GradientTape() as real_tape:
            real_logits = self._forward(apply(real, params), training=True)[2]
            real_loss = self._cross_entropy(real_logits, class_id)
        return real_tape.gradient(real_loss, self.matched_variables)

    def class_loss(
        self, class_id, synthetic, boxes, key, centers, filled, real_gradients=None
    ):
        """Matching + CFC loss of one class.

        Args:
            class_id: int32 scalar tensor.
            synthetic: float tensor (ipc, H, W, C), the class's stored images.
            boxes: int32 (ipc, K, 4), their selected regions.
            key: int32 (2,) random key of this class and step.
            centers, filled: CFC state before this class.
            real_gradients: the class's real gradients (a list, one per matched
                variable), or None to compute them here.

        Returns:
            `(loss, matching, cfc, centers, filled)`.
        """
        config = self.config
        params = self._matching_params(key)
        if real_gradients is None:
            real_gradients = self._real_gradients(class_id, key, params)

        train, weights = self._synthetic_batch(synthetic, boxes, key)
        with tf.GradientTape() as synthetic_tape:
            _, embedding, logits = self._forward(apply(train, params), training=True)
            synthetic_loss = self._cross_entropy(logits, class_id, weights)
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

    def _class_rows(self, class_id):
        ipc = self.config.ipc
        return tf.range(class_id * ipc, (class_id + 1) * ipc)

    def _replica_classes(self, context):
        """This replica's classes: `replica_id, replica_id + R, ...`."""
        return tf.range(
            context.replica_id_in_sync_group,
            self.num_classes,
            context.num_replicas_in_sync,
        )

    def _replica_class_features(self, context, key, images, boxes):
        """f_c of every class (CFC), all-reduced; float32 (num_classes, D).

        Each replica computes the mean embedding of its classes' S_train, exactly
        as `class_loss` will, so the centres a sequential pass would show class c
        can be rebuilt on every replica.
        """
        features = tf.zeros_like(self.class_centers)
        for class_id in self._replica_classes(context):
            rows = self._class_rows(class_id)
            class_key = fold_in(key, class_id)
            train, _ = self._synthetic_batch(
                tf.gather(images, rows), tf.gather(boxes, rows), class_key
            )
            embedding = self._forward(
                apply(train, self._matching_params(class_key)), training=True
            )[1]
            feature = tf.reduce_mean(embedding, axis=0, keepdims=True)
            features = tf.tensor_scatter_nd_add(
                features, tf.reshape(class_id, [1, 1]), feature
            )
        return context.all_reduce(tf.distribute.ReduceOp.SUM, features)

    def _replica_real_gradients(self, key):
        """Every class's real gradients, all-reduced over replicas.

        Returns:
            A list of float32 tensors, one per matched variable, each
            `(num_classes, *variable.shape)`; the same on every replica.
        """
        context = tf.distribute.get_replica_context()
        stacked = [
            tf.zeros([self.num_classes, *v.shape], tf.float32)
            for v in self.matched_variables
        ]
        for class_id in self._replica_classes(context):
            class_key = fold_in(key, class_id)
            gradients = self._real_gradients(
                class_id, class_key, self._matching_params(class_key)
            )
            index = tf.reshape(class_id, [1, 1])
            stacked = [
                tf.tensor_scatter_nd_add(s, index, tf.cast(g, tf.float32)[None])
                for s, g in zip(stacked, gradients, strict=True)
            ]
        if context.num_replicas_in_sync > 1:
            stacked = context.all_reduce(tf.distribute.ReduceOp.SUM, stacked)
        return stacked

    @tf.function
    def compute_real_gradients(self, key):
        """Every class's real gradients at the current network.

        Args:
            key: int32 (2,), the random key of this inner step.

        Returns:
            A list of float32 tensors, one per matched variable, each
            `(num_classes, *variable.shape)`.
        """
        stacked = self.strategy.run(self._replica_real_gradients, args=(key,))
        return [self._first(s) for s in stacked]

    def _replica_image_gradients(self, key, boxes, real_gradients=None):
        """Image gradients of this replica's classes, all-reduced over replicas.

        Returns:
            `(gradient, totals, centers, filled)`: the image gradient of every
            class (num_images, H, W, C), the summed (loss, matching, CFC,
            CFC / matching gradient ratio) over classes (4,), and the CFC
            state after every class was updated; the same on every replica.
        """
        context = tf.distribute.get_replica_context()
        parallel_cfc = bool(self.config.cfc_weight) and (
            context.num_replicas_in_sync > 1
        )
        images = tf.convert_to_tensor(self.images)
        gradient = tf.zeros_like(images)
        totals = tf.zeros([4])
        centers = before = tf.convert_to_tensor(self.class_centers)
        filled = filled_before = tf.convert_to_tensor(self.centers_filled)
        if parallel_cfc:
            features = self._replica_class_features(context, key, images, boxes)
            after, filled_after = update_class_centers(
                before,
                filled_before,
                features,
                tf.range(self.num_classes),
                self.config.alpha,
            )
        for class_id in self._replica_classes(context):
            if parallel_cfc:
                # The centres a sequential pass shows class c: classes < c updated.
                earlier = tf.range(self.num_classes) < class_id
                centers = tf.where(earlier[:, None], after, before)
                filled = tf.logical_or(earlier, filled_before)
            rows = self._class_rows(class_id)
            synthetic = tf.gather(images, rows)
            with tf.GradientTape(persistent=bool(self.config.cfc_weight)) as tape:
                tape.watch(synthetic)
                loss, matching, cfc, centers, filled = self.class_loss(
                    class_id,
                    synthetic,
                    tf.gather(boxes, rows),
                    fold_in(key, class_id),
                    centers,
                    filled,
                    real_gradients=None
                    if real_gradients is None
                    else [tf.gather(g, class_id) for g in real_gradients],
                )
            if self.config.cfc_weight:
                class_gradient, ratio = self._combined_gradient(
                    tape, matching, cfc, synthetic
                )
            else:
                class_gradient = tape.gradient(loss, synthetic)
                ratio = tf.constant(0.0)
            gradient = tf.tensor_scatter_nd_add(gradient, rows[:, None], class_gradient)
            totals += tf.stack([loss, matching, cfc, ratio])
        if context.num_replicas_in_sync > 1:
            gradient, totals = context.all_reduce(
                tf.distribute.ReduceOp.SUM, [gradient, totals]
            )
        if parallel_cfc:
            centers, filled = after, filled_after
        return gradient, totals, centers, filled

    def _combined_gradient(self, tape, matching, cfc, synthetic):
        """The pixel gradient of matching + CFC, and CFC's share of it.

        Under `cfc_scale="loss"` the gradient is that of `matching + cfc_weight
        * cfc`; under `"gradient"` the CFC gradient is rescaled to `cfc_weight`
        times the matching gradient's norm.

        Returns:
            `(gradient, ratio)`: the class's pixel gradient, and the norm of
            its CFC term over the norm of its matching term (float32 scalar).
        """
        config = self.config
        matching_gradient = tape.gradient(matching, synthetic)
        cfc_gradient = tape.gradient(cfc, synthetic)
        matching_norm = tf.norm(matching_gradient)
        cfc_norm = tf.norm(cfc_gradient)
        weight = tf.constant(config.cfc_weight, tf.float32)
        if config.cfc_scale == "gradient":
            weight = weight * matching_norm / (cfc_norm + 1e-12)
        ratio = weight * cfc_norm / (matching_norm + 1e-12)
        return matching_gradient + weight * cfc_gradient, ratio

    def _first(self, value):
        """The value of the first local replica (all replicas hold the same)."""
        return self.strategy.experimental_local_results(value)[0]

    @tf.function
    def update_images(self, key, boxes, real_gradients=None):
        """One image update over all classes.

        Args:
            key: int32 (2,), the random key of this inner step.
            boxes: int32 (num_images, K, 4), from `select_regions`.
            real_gradients: every class's real gradients at the current network
                (`compute_real_gradients`, or a replayed `RealStep`), or None
                to compute them inside the step.

        Returns:
            Logs: float32 scalars `loss`, `matching_loss`, `cfc_loss` and
            `cfc_gradient_ratio` (the CFC / matching pixel-gradient norm
            ratio, 0 without CFC), each the mean over classes.
        """
        gradient, totals, centers, filled = self.strategy.run(
            self._replica_image_gradients, args=(key, boxes, real_gradients)
        )
        self.image_optimizer.apply(gradient, self.images)
        if self.config.cfc_weight:
            self.class_centers.assign(self._first(centers))
            self.centers_filled.assign(self._first(filled))
        means = tf.unstack(self._first(totals) / self.num_classes)
        return dict(zip(IMAGE_LOSSES, means, strict=True))

    def train_step(self, key, first_inner_step, reselect_regions=True):
        """One inner step of Algorithm 1: regions, image update, network update.

        Args:
            key: int32 (2,), the random key of this step.
            first_inner_step: bool, the network was just re-initialised (the
                CFC centres are filled from it first).
            reselect_regions: bool, the step's first image update selects the
                regions anew (`select_regions`); False: it trains on the boxes
                kept in `trained_boxes` (`region_period` `"iteration"` or
                `"run"`, decided by the caller).

        Returns:
            Logs: the float32 scalars of `update_images` and `network_loss`.
        """
        if self.config.image_updates == 1:
            logs = self._image_step(
                key, first_inner_step, reselect_regions=reselect_regions
            )
        else:
            real_gradients = self.compute_real_gradients(key)
            logs = self._image_steps(
                key, first_inner_step, real_gradients, reselect_regions
            )
        logs["network_loss"] = self.update_network(key)
        return logs

    def _image_step(
        self, key, first_inner_step, real_gradients=None, reselect_regions=True
    ):
        """Regions and the image update, at the current network.

        The regions are selected anew when `reselect_regions`, else the boxes
        kept in `trained_boxes` are trained on again.
        """
        if reselect_regions:
            boxes = self.select_regions(key)
            self.trained_boxes.assign(boxes)
        else:
            boxes = tf.convert_to_tensor(self.trained_boxes)
        if first_inner_step and self.config.cfc_weight:
            self.fill_centers(boxes)
        if real_gradients is None:
            return self.update_images(key, boxes)
        return self.update_images(key, boxes, real_gradients)

    def _image_steps(
        self, key, first_inner_step, real_gradients, reselect_regions=True
    ):
        """`config.image_updates` image updates against one set of real gradients.

        Every update uses the step's key (so the siamese augmentation is the
        one the real gradients were computed with). The first update selects
        the regions when `reselect_regions`; the later ones re-select them on
        the images as they are now under `region_period="step"`, and keep the
        first update's otherwise. Returns the last update's logs.
        """
        every_update = self.config.region_period == "step"
        for update in range(self.config.image_updates):
            logs = self._image_step(
                key,
                first_inner_step and update == 0,
                real_gradients,
                reselect_regions if update == 0 else every_update,
            )
        return logs

    def record_step(self, key, first_inner_step, reselect_regions=True):
        """`train_step`, keeping its real side for a `TrajectoryCache`.

        The real gradients are computed apart (`compute_real_gradients`) and
        handed to the image update, which is what `replay_step` does with them.
        `reselect_regions` is `train_step`'s.

        Returns:
            `(logs, real_step)`: the logs of `train_step` and the step's
            `RealStep` (the network before its update, the real gradients,
            the update's loss).
        """
        from udd_keras.distillation.trajectory import RealStep

        weights = [v.numpy() for v in self.model.weights]
        velocity = [v.numpy() for v in self.network_velocity]
        real_gradients = self.compute_real_gradients(key)
        logs = self._image_steps(
            key, first_inner_step, real_gradients, reselect_regions
        )
        logs["network_loss"] = self.update_network(key)
        real_step = RealStep(
            weights,
            velocity,
            [np.array(g) for g in real_gradients],
            float(logs["network_loss"]),
        )
        return logs, real_step

    def replay_step(self, key, first_inner_step, real_step, reselect_regions=True):
        """`train_step` with its real side read from a recorded `RealStep`.

        The network must hold `real_step`'s weights (`load_network`); it is not
        trained here: the caller loads the next step's network, or calls
        `update_network(key)` when that step is not recorded.
        `reselect_regions` is `train_step`'s.

        Returns:
            Logs as `train_step`'s; `network_loss` is the recorded one.
        """
        real_gradients = [tf.constant(g) for g in real_step.real_gradients]
        logs = self._image_steps(
            key, first_inner_step, real_gradients, reselect_regions
        )
        logs["network_loss"] = tf.constant(real_step.network_loss, tf.float32)
        return logs

    def load_network(self, real_step):
        """Sets the network's weights and momentum to those of a `RealStep`."""
        for variable, value in zip(self.model.weights, real_step.weights, strict=True):
            variable.assign(value)
        for variable, value in zip(
            self.network_velocity, real_step.velocity, strict=True
        ):
            variable.assign(value)

    # ----------------------------------------------------------------- network

    def _network_data(self):
        if self.config.net_data == "synthetic":
            return tf.convert_to_tensor(self.images), tf.constant(self.labels)
        return self.x_train, self.y_train

    def _network_step(self):
        """The network's `ClassifierStep`: DSA, CutMix, PyTorch-form SGD."""
        config = self.config
        optimizer = MomentumSGD(
            self.network_velocity, config.net_lr, config.net_momentum, self.strategy
        )
        return ClassifierStep(
            self.model,
            optimizer,
            self.num_classes,
            augmentation=config.net_augmentation,
            cutmix_probability=config.net_cutmix,
            weight_decay=config.net_weight_decay,
            strategy=self.strategy,
        )

    @tf.function
    def update_network(self, key):
        """Trains the network for one pass over `net_images` images.

        Each batch is one `ClassifierStep` (the evaluation's step), its
        augmentation and CutMix keyed by the inner step and the batch.

        Returns:
            float32 scalar, the mean cross-entropy of the pass.
        """
        config = self.config
        x, y = self._network_data()
        total = min(config.net_images, int(x.shape[0]))
        picks = sample_without_replacement(fold_in(key, _NETWORK), x.shape[0], total)
        batches = -(-total // config.net_batch)
        step = self._network_step()
        loss_sum = tf.constant(0.0)
        for batch in tf.range(batches):
            start = batch * config.net_batch
            indices = picks[start : start + config.net_batch]
            batch_key = fold_in(key, _NETWORK, batch)
            loss, _ = step.update(
                tf.gather(x, indices),
                tf.gather(y, indices),
                fold_in(batch_key, 1),
                fold_in(batch_key, 2),
            )
            loss_sum += loss
        return loss_sum / tf.cast(batches, tf.float32)
