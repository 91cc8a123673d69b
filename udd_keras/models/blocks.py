"""Residual basic block, with strided-conv or average-pool downsampling."""

import keras

from udd_keras.models import base

DOWNSAMPLES = ("conv", "avg")


@keras.saving.register_keras_serializable(package="udd_keras")
class BasicBlock(keras.layers.Layer):
    """ResNet basic block: two 3x3 convs (no bias) with norm, plus a shortcut.

    With `downsample="conv"` (ResNet-18) the first conv and the 1x1 shortcut
    conv have stride `stride`. With `downsample="avg"` (ResNetAP, IDC) every conv
    has stride 1 and a 2x2 average pool does the downsampling: after the first
    conv's ReLU, and after the 1x1 shortcut conv.

    Args:
        filters: output channels.
        stride: 1 or 2.
        norm: `"instance"`, `"batch"` or `"none"`.
        downsample: `"conv"` or `"avg"`.
        seed: int seed for the conv kernels, or None.
        **kwargs: standard `keras.layers.Layer` arguments.
    """

    def __init__(
        self, filters, stride=1, norm="batch", downsample="conv", seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.stride = int(stride)
        self.norm = norm
        self.downsample = base.check_choice(downsample, DOWNSAMPLES, "downsample")
        self.seed = seed
        conv_stride = self.stride if self.downsample == "conv" else 1
        self.conv1 = self._conv(3, conv_stride, 0, "conv1")
        self.norm1 = base.normalization(norm, self.filters, "norm1")
        self.conv2 = self._conv(3, 1, 1, "conv2")
        self.norm2 = base.normalization(norm, self.filters, "norm2")
        self.pool = (
            keras.layers.AveragePooling2D(self.stride, name="pool")
            if self.downsample == "avg" and self.stride > 1
            else None
        )
        self.shortcut_conv = None
        self.shortcut_pool = None
        self.shortcut_norm = None

    def _conv(self, kernel_size, stride, index, name):
        return keras.layers.Conv2D(
            self.filters,
            kernel_size,
            strides=stride,
            padding="same",
            use_bias=False,
            kernel_initializer=base.kernel_initializer(self.seed, index),
            name=name,
        )

    def build(self, input_shape):
        if self.stride != 1 or input_shape[-1] != self.filters:
            conv_stride = self.stride if self.downsample == "conv" else 1
            self.shortcut_conv = self._conv(1, conv_stride, 2, "shortcut_conv")
            self.shortcut_norm = base.normalization(
                self.norm, self.filters, "shortcut_norm"
            )
            if self.pool is not None:
                self.shortcut_pool = keras.layers.AveragePooling2D(
                    self.stride, name="shortcut_pool"
                )

    def call(self, x, training=False):
        out = keras.ops.relu(base.apply_norm(self.norm1, self.conv1(x), training))
        if self.pool is not None:
            out = self.pool(out)
        out = base.apply_norm(self.norm2, self.conv2(out), training)
        shortcut = x
        if self.shortcut_conv is not None:
            shortcut = self.shortcut_conv(x)
            if self.shortcut_pool is not None:
                shortcut = self.shortcut_pool(shortcut)
            shortcut = base.apply_norm(self.shortcut_norm, shortcut, training)
        return keras.ops.relu(out + shortcut)

    def compute_output_shape(self, input_shape):
        size = [None if d is None else -(-d // self.stride) for d in input_shape[1:3]]
        return (input_shape[0], *size, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "stride": self.stride,
                "norm": self.norm,
                "downsample": self.downsample,
                "seed": self.seed,
            }
        )
        return config
