"""ResNet-18 (CIFAR variant of DC/DSA) and ResNetAP-10 (IDC)."""

import keras

from udd_keras.models.base import (
    ImageClassifier,
    apply_norm,
    derive_seed,
    kernel_initializer,
    scaled_width,
)
from udd_keras.models.blocks import BasicBlock

# Images larger than this use the ImageNet stem (7x7 stride-2 conv + pool).
SMALL_IMAGE_MAX = 64


class _ResNet(ImageClassifier):
    """Stem, four stages of basic blocks (widths w, 2w, 4w, 8w), global average
    pooling, dense classifier."""

    blocks_per_stage = (2, 2, 2, 2)
    downsample = "conv"
    default_norm = "batch"
    # A 'same' 3x3 stem: 28 px images are read as they are (maps 28/14/7/4).
    framed_input_sizes = {}

    def __init__(
        self, image_shape, num_classes, width=64, norm=None, seed=None, **kwargs
    ):
        super().__init__(image_shape, num_classes, seed=seed, **kwargs)
        self.width = int(width)
        self.norm = self._check_norm(self.default_norm if norm is None else norm)
        self.large_stem = min(self.image_shape[:2]) > SMALL_IMAGE_MAX
        self.stem_conv = keras.layers.Conv2D(
            self.width,
            7 if self.large_stem else 3,
            strides=2 if self.large_stem else 1,
            padding="same",
            use_bias=False,
            kernel_initializer=kernel_initializer(self.seed, 0),
            name="stem_conv",
        )
        self.stem_norm = self._norm_layer(self.width, "stem_norm")
        self.stem_pool = None
        if self.large_stem:
            pool = (
                keras.layers.AveragePooling2D
                if self.downsample == "avg"
                else keras.layers.MaxPooling2D
            )
            self.stem_pool = pool(3, strides=2, padding="same", name="stem_pool")
        self.stages = []
        index = 1
        for stage, count in enumerate(self.blocks_per_stage):
            blocks = []
            for block in range(count):
                blocks.append(
                    BasicBlock(
                        scaled_width(self.width, 2**stage, 1),
                        stride=2 if (stage > 0 and block == 0) else 1,
                        norm=self.norm,
                        downsample=self.downsample,
                        seed=derive_seed(self.seed, index),
                        name=f"stage{stage + 1}_block{block + 1}",
                    )
                )
                index += 1
            self.stages.append(blocks)
        self.global_pool = keras.layers.GlobalAveragePooling2D()
        self.classifier = self._dense_classifier(index)
        self._build_weights()

    def features(self, x, training=False):
        """Feature maps: the stem output then each stage's output; embedding:
        their global average (B, 8 * width)."""
        x = keras.ops.relu(apply_norm(self.stem_norm, self.stem_conv(x), training))
        feature_maps = [x]
        if self.stem_pool is not None:
            x = self.stem_pool(x)
        for blocks in self.stages:
            for block in blocks:
                x = block(x, training=training)
            feature_maps.append(x)
        return feature_maps, self.global_pool(x)

    def get_config(self):
        config = super().get_config()
        config.update({"width": self.width, "norm": self.norm})
        return config


@keras.saving.register_keras_serializable(package="udd_keras")
class ResNet18(_ResNet):
    """ResNet-18, the CIFAR variant of the DC/DSA code (`ResNet18`).

    3x3 stride-1 stem without pooling for images up to 64 px (28 and 32 px: maps
    of 32/16/8/4 or 28/14/7/4), the 7x7 stride-2 stem with max pool above that;
    four stages of two basic blocks with widths w, 2w, 4w, 8w (w = 64), strided
    convs for downsampling, global average pooling, dense classifier.

    Batch norm by default (`norm="batch"`), the usual choice for ResNet-18 in
    cross-architecture tables (DC's `ResNet18BN`); `"instance"` gives DC's
    `ResNet18`.

    Args:
        image_shape: `(H, W, C)`.
        num_classes: number of logits.
        width: channels of the first stage (64).
        norm: `"batch"` (default), `"instance"` or `"none"`.
        seed: int seed for deterministic initial weights, or None.
        **kwargs: standard `keras.Model` arguments.

    Example:
    >>> model = ResNet18((32, 32, 3), 10)
    >>> model(images).shape   # (B, 10)
    """


@keras.saving.register_keras_serializable(package="udd_keras")
class ResNetAP10(_ResNet):
    """ResNetAP-10 (IDC): ResNet-10 that downsamples by 2x2 average pooling.

    One basic block per stage; every conv has stride 1 and a 2x2 average pool
    does the downsampling (in the block and on its shortcut). Images up to 64 px
    use a 3x3 stride-1 stem; larger ones (224 px ImageNet subsets) a 7x7
    stride-2 conv and a 3x3 stride-2 average pool. Instance norm by default, as
    IDC uses for distillation networks.

    Args: those of `ResNet18`, with `norm="instance"` by default.

    Example:
    >>> model = ResNetAP10((224, 224, 3), 10)
    """

    blocks_per_stage = (1, 1, 1, 1)
    downsample = "avg"
    default_norm = "instance"
