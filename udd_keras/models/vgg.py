"""VGG-11, the CIFAR variant of the DC/DSA code (`VGG11`)."""

import keras

from udd_keras.models.base import (
    ImageClassifier,
    apply_norm,
    kernel_initializer,
    scaled_width,
)

# Channels of each conv relative to the first, grouped by pooling stage.
STAGES = ((1,), (2,), (4, 4), (8, 8), (8, 8))


@keras.saving.register_keras_serializable(package="udd_keras")
class VGG11(ImageClassifier):
    """VGG-11: eight 3x3 convs (with bias) + norm + ReLU, five 2x2 max pools, dense.

    Channels w, 2w, 4w, 4w, 8w, 8w, 8w, 8w (w = 64). 28 x 28 inputs behave as
    32 x 32 (first conv pads by 3, 'valid'), as in DC's code for 1-channel
    data; a 32 px input ends at 1 x 1 x 8w. Instance norm by default, the DC/DSA
    choice for VGG-11 in cross-architecture tables.

    Args:
        image_shape: `(H, W, C)`, at least 32 x 32 (or 28 x 28).
        num_classes: number of logits.
        width: channels of the first conv (64).
        norm: `"instance"` (default), `"batch"` or `"none"`.
        seed: int seed for deterministic initial weights, or None.
        **kwargs: standard `keras.Model` arguments.

    Example:
    >>> model = VGG11((32, 32, 3), 10)
    """

    def __init__(
        self, image_shape, num_classes, width=64, norm="instance", seed=None, **kwargs
    ):
        super().__init__(image_shape, num_classes, seed=seed, **kwargs)
        self.width = int(width)
        self.norm = self._check_norm(norm)
        self._check_min_side(2 ** len(STAGES))
        self.input_padding = self._input_padding(3)
        self.stages = []
        index = 0
        for multipliers in STAGES:
            layers = []
            for multiplier in multipliers:
                channels = scaled_width(self.width, multiplier, 1)
                conv = keras.layers.Conv2D(
                    channels,
                    3,
                    padding="valid" if (index == 0 and self.frame_offset) else "same",
                    kernel_initializer=kernel_initializer(self.seed, index),
                    name=f"conv_{index}",
                )
                layers.append((conv, self._norm_layer(channels, f"norm_{index}")))
                index += 1
            self.stages.append(layers)
        self.pool = keras.layers.MaxPooling2D(2)
        self.flatten = keras.layers.Flatten()
        self.classifier = self._dense_classifier(index)
        self._build_weights()

    def features(self, x, training=False):
        """Feature maps: each stage's last ReLU output (before its pool);
        embedding: the flattened final map (B, 8 * width at 32 px)."""
        if self.input_padding is not None:
            x = self.input_padding(x)
        feature_maps = []
        for layers in self.stages:
            for conv, norm in layers:
                x = keras.ops.relu(apply_norm(norm, conv(x), training))
            feature_maps.append(x)
            x = self.pool(x)
        return feature_maps, self.flatten(x)

    def get_config(self):
        config = super().get_config()
        config.update({"width": self.width, "norm": self.norm})
        return config
