"""AlexNet, the CIFAR variant of the DC/DSA code (`AlexNet`)."""

import keras

from udd_keras.models.base import ImageClassifier, kernel_initializer, scaled_width

# (channels for width 128, kernel size, max-pool after) per conv.
LAYERS = (
    (128, 5, True),
    (192, 5, True),
    (256, 3, False),
    (192, 3, False),
    (192, 3, True),
)


@keras.saving.register_keras_serializable(package="udd_keras")
class AlexNet(ImageClassifier):
    """AlexNet for 32 px: five convs with ReLU (no norm), three 2x2 max pools, dense.

    Channels 128, 192, 256, 192, 192 for `width=128`, scaled proportionally.
    28 x 28 inputs behave as 32 x 32 (the 5x5 first conv pads by 4, 'valid'), as
    in DC's code for 1-channel data; a 32 px input ends at 4 x 4.

    Args:
        image_shape: `(H, W, C)`, at least 8 x 8.
        num_classes: number of logits.
        width: channels of the first conv (128).
        seed: int seed for deterministic initial weights, or None.
        **kwargs: standard `keras.Model` arguments.

    Example:
    >>> model = AlexNet((32, 32, 3), 10)
    """

    def __init__(self, image_shape, num_classes, width=128, seed=None, **kwargs):
        super().__init__(image_shape, num_classes, seed=seed, **kwargs)
        self.width = int(width)
        self._check_min_side(8)
        self.input_padding = self._input_padding(5)
        self.convs = []
        self.pool_after = []
        for index, (channels, kernel, pool) in enumerate(LAYERS):
            self.convs.append(
                keras.layers.Conv2D(
                    scaled_width(channels, self.width, 128),
                    kernel,
                    padding="valid" if (index == 0 and self.frame_offset) else "same",
                    kernel_initializer=kernel_initializer(self.seed, index),
                    name=f"conv_{index}",
                )
            )
            self.pool_after.append(pool)
        self.pool = keras.layers.MaxPooling2D(2)
        self.flatten = keras.layers.Flatten()
        self.classifier = self._dense_classifier(len(LAYERS))
        self._build_weights()

    def features(self, x, training=False):
        """Feature maps: every conv's ReLU output; embedding: the flattened last
        pooled map (B, 16 * 1.5 * width at 32 px)."""
        if self.input_padding is not None:
            x = self.input_padding(x)
        feature_maps = []
        for conv, pool in zip(self.convs, self.pool_after, strict=True):
            x = keras.ops.relu(conv(x))
            feature_maps.append(x)
            if pool:
                x = self.pool(x)
        return feature_maps, self.flatten(x)

    def get_config(self):
        config = super().get_config()
        config.update({"width": self.width})
        return config
