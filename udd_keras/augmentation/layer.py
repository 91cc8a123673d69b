"""`DifferentiableAugmentation`: DSA as a Keras layer for training pipelines."""

import keras
import tensorflow as tf

from udd_keras.augmentation.dsa import augment
from udd_keras.augmentation.strategy import parse_strategy


@keras.saving.register_keras_serializable(package="udd_keras")
class DifferentiableAugmentation(keras.layers.Layer):
    """Applies DSA with fresh random parameters at every training call.

    Args:
        strategy: operation names joined by `_`, e.g.
            `"color_crop_cutout_flip_scale_rotate"` (IDC evaluation default).
        per_sample: draw parameters per image (default, for training) or one set
            per batch.
        one_geometric_op: apply one of the named crop/scale/rotate per call (IDC).
        seed: int seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        images: (B, H, W, C) float tensor.
        training: augment only when True.
        seed: optional (2,) integer tensor overriding the layer's own generator.

    Example:
    >>> augmentation = DifferentiableAugmentation("color_crop_flip_scale_rotate")
    >>> augmented = augmentation(images, training=True)
    """

    def __init__(
        self,
        strategy="color_crop_cutout_flip_scale_rotate",
        per_sample=True,
        one_geometric_op=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.strategy = str(parse_strategy(strategy))
        self.per_sample = bool(per_sample)
        self.one_geometric_op = bool(one_geometric_op)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False, seed=None):
        if not training:
            return images
        if seed is None:
            seed = self.seed_generator.next()
        return augment(
            images,
            self.strategy,
            seed=tf.cast(seed, tf.int64),
            per_sample=self.per_sample,
            one_geometric_op=self.one_geometric_op,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "strategy": self.strategy,
                "per_sample": self.per_sample,
                "one_geometric_op": self.one_geometric_op,
                "seed": self.seed,
            }
        )
        return config
