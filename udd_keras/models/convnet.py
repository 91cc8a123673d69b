"""ConvNet-3, the standard network of dataset distillation (DC/DSA/IDC/UDD)."""

import keras

from udd_keras.errors import UddError
from udd_keras.models.base import (
    ImageClassifier,
    apply_norm,
    check_choice,
    kernel_initializer,
)

POOLINGS = ("avg", "max")


@keras.saving.register_keras_serializable(package="udd_keras")
class ConvNet(ImageClassifier):
    """ConvNet-D: `depth` blocks of [3x3 conv, norm, ReLU, 2x2 pool], then dense.

    28 x 28 inputs behave as 32 x 32 (the first convolution zero-pads by 3 and
    is 'valid'); other sizes use 'same' padding. Works from 8 x 8 (sklearn
    digits, depth 3) upwards. Weights use Keras' default initialisers.

    Args:
        image_shape: `(H, W, C)` of the inputs.
        num_classes: number of logits.
        width: channels of every convolution (128 in the paper).
        depth: number of blocks (3 in the paper).
        norm: `"instance"` (paper), `"batch"` or `"none"`.
        pooling: `"avg"` (paper) or `"max"`.
        seed: int seed for deterministic initial weights, or None.
        **kwargs: standard `keras.Model` arguments; a `dtype` policy such as
            `"mixed_bfloat16"` applies to the convolutions and pooling, while
            the normalisation statistics and the classifier stay float32.

    Example:
    >>> model = ConvNet((32, 32, 3), num_classes=10)
    >>> logits = model(images)                       # (B, 10)
    >>> maps, embedding = model.features(images)
    >>> [m.shape[1] for m in maps], embedding.shape  # [32, 16, 8], (B, 2048)
    """

    def __init__(
        self,
        image_shape,
        num_classes,
        width=128,
        depth=3,
        norm="instance",
        pooling="avg",
        seed=None,
        **kwargs,
    ):
        super().__init__(image_shape, num_classes, seed=seed, **kwargs)
        self.width = int(width)
        self.depth = int(depth)
        self.norm = self._check_norm(norm)
        self.pooling = check_choice(pooling, POOLINGS, "pooling")
        if self.width < 1 or self.depth < 1:
            raise UddError(
                f"ConvNet width and depth must be >= 1, got width={width!r}, "
                f"depth={depth!r}."
            )
        self._check_depth_fits()
        self.input_padding = self._input_padding(3, dtype=self.dtype_policy)
        self.convs, self.norms, self.pools = [], [], []
        pool_layer = (
            keras.layers.AveragePooling2D
            if self.pooling == "avg"
            else keras.layers.MaxPooling2D
        )
        for block in range(self.depth):
            self.convs.append(
                keras.layers.Conv2D(
                    self.width,
                    3,
                    padding="valid" if (block == 0 and self.frame_offset) else "same",
                    kernel_initializer=kernel_initializer(self.seed, block),
                    dtype=self.dtype_policy,
                    name=f"conv_{block}",
                )
            )
            self.norms.append(
                self._norm_layer(self.width, f"norm_{block}", dtype=self.dtype_policy)
            )
            self.pools.append(
                pool_layer(2, dtype=self.dtype_policy, name=f"pool_{block}")
            )
        self.flatten = keras.layers.Flatten(dtype=self.dtype_policy)
        # Float32 logits whatever the policy (Keras' advice for mixed precision).
        self.classifier = self._dense_classifier(self.depth, dtype="float32")
        self._build_weights()

    def _check_depth_fits(self):
        height, width = self.frame_size
        if min(height, width) < 2**self.depth:
            raise UddError(
                f"ConvNet depth {self.depth} pools a {height}x{width} image to "
                f"nothing; allowed depth <= {min(height, width).bit_length() - 1}."
            )

    def features(self, x, training=False):
        """Returns `(feature_maps, embedding)`: each block's map after ReLU
        (before pooling), (B, h, w, width), and the flattened last pooled map (B, D).
        """
        if self.input_padding is not None:
            x = self.input_padding(x)
        feature_maps = []
        for conv, norm, pool in zip(self.convs, self.norms, self.pools, strict=True):
            x = keras.ops.relu(apply_norm(norm, conv(x), training))
            feature_maps.append(x)
            x = pool(x)
        return feature_maps, self.flatten(x)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "width": self.width,
                "depth": self.depth,
                "norm": self.norm,
                "pooling": self.pooling,
            }
        )
        return config
