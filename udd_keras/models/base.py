"""Shared pieces of the image classifiers: the base class, normalisation layers,
seeded initialisers and the input frame (28 px images read as 32 px)."""

import keras

from udd_keras.errors import UddError
from udd_keras.models.normalization import InstanceNormalization
from udd_keras.seeding import derive_seed

NORMS = ("instance", "batch", "none")
# PyTorch's defaults, which the reference implementations (DC/DSA/IDC) use.
NORM_EPSILON = 1e-5
BATCH_NORM_MOMENTUM = 0.9


def kernel_initializer(seed, index):
    """Keras' default kernel initialiser (Glorot uniform), seeded when `seed` is set.

    Keras defaults are kept rather than PyTorch's: every convolution of the
    ConvNet is followed by instance norm, which removes the kernel's scale.
    """
    derived = derive_seed(seed, index)
    if derived is None:
        return "glorot_uniform"
    return keras.initializers.GlorotUniform(seed=derived)


def check_choice(value, allowed, what):
    """Raises `UddError` naming `value` and `allowed` unless `value in allowed`."""
    if value not in allowed:
        raise UddError(f"Unknown {what} {value!r}; allowed: {', '.join(allowed)}.")
    return value


def normalization(kind, channels, name=None, dtype=None):
    """The normalisation layer of kind `"instance"`, `"batch"` or `"none"`.

    Instance norm is per image and channel, affine, as in DC/DSA/IDC
    (`nn.GroupNorm(channels, channels, affine=True)`), with exact higher-order
    gradients (`normalization.InstanceNormalization`). Both norms compute their
    statistics in float32 under a mixed-precision `dtype` policy.

    Returns:
        A Keras layer, or None for `"none"`.
    """
    check_choice(kind, NORMS, "norm")
    if kind == "instance":
        return InstanceNormalization(epsilon=NORM_EPSILON, name=name, dtype=dtype)
    if kind == "batch":
        return keras.layers.BatchNormalization(
            momentum=BATCH_NORM_MOMENTUM, epsilon=NORM_EPSILON, name=name, dtype=dtype
        )
    return None


# Input sizes a classifier reads inside a larger frame: 28 x 28 (MNIST-like)
# images as 32 x 32, as IDC (and DC's code for 1-channel data) do.
FRAMED_INPUT_SIZES = {(28, 28): (32, 32)}


def frame_size(image_shape, framed_sizes=FRAMED_INPUT_SIZES):
    """`(H, W)` of the frame a classifier reads images of `image_shape` in.

    The image sits centred in the frame (zero padding around it); every feature
    map has the size it would have for a frame-sized input.

    Example:
    >>> frame_size((28, 28, 1)), frame_size((8, 8, 1))
    ((32, 32), (8, 8))
    """
    size = tuple(int(d) for d in image_shape[:2])
    return framed_sizes.get(size, size)


def frame_offset(image_shape, framed_sizes=FRAMED_INPUT_SIZES):
    """Pixels between the frame's edge and the image (0: no frame)."""
    return (frame_size(image_shape, framed_sizes)[0] - int(image_shape[0])) // 2


def scaled_width(base, width, default):
    """`base` channels scaled by `width / default`, at least 1."""
    return max(1, int(round(base * width / default)))


def check_image_shape(image_shape):
    """Validates and returns `(H, W, C)` as a tuple of positive ints."""
    try:
        shape = tuple(int(d) for d in image_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or min(shape) <= 0:
        raise UddError(
            f"input_shape must be (height, width, channels) of positive ints, "
            f"got {image_shape!r}."
        )
    return shape


class ImageClassifier(keras.Model):
    """Base of the udd-keras classifiers: `features()` plus a dense classifier.

    Subclasses create their layers in `__init__`, implement `features`, and end
    `__init__` with `self._build_weights()`.

    Args:
        image_shape: `(H, W, C)` of the inputs.
        num_classes: number of output logits.
        seed: int seed making the initial weights deterministic, or None.
        **kwargs: standard `keras.Model` arguments (e.g. `name`).
    """

    def __init__(self, image_shape, num_classes, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = check_image_shape(image_shape)
        if int(num_classes) < 1:
            raise UddError(f"num_classes must be >= 1, got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.seed = None if seed is None else int(seed)

    # Input sizes this model reads inside a larger frame (none for ResNets).
    framed_input_sizes = FRAMED_INPUT_SIZES

    @property
    def frame_size(self):
        """`(H, W)` the feature maps cover (`frame_size`): 32 x 32 for 28 x 28
        images (except ResNets), the image itself otherwise."""
        return frame_size(self.image_shape, self.framed_input_sizes)

    @property
    def frame_offset(self):
        """Pixels between the frame's edge and the image, 0 without a frame."""
        return frame_offset(self.image_shape, self.framed_input_sizes)

    def _input_padding(self, kernel_size, dtype=None):
        """Zero padding before a 'valid' first convolution of `kernel_size`
        for a framed input; None (a 'same' first convolution) otherwise."""
        padding = self.frame_offset and kernel_size // 2 + self.frame_offset
        if not padding:
            return None
        return keras.layers.ZeroPadding2D(padding, dtype=dtype)

    def _check_min_side(self, min_side):
        """Raises `UddError` unless the frame is at least `min_side` square."""
        height, width = self.frame_size
        if min(height, width) < min_side:
            framed = " (28x28 are read as 32x32)" if min_side > 28 else ""
            raise UddError(
                f"{type(self).__name__} needs images of at least "
                f"{min_side}x{min_side}{framed}, got "
                f"{self.image_shape[0]}x{self.image_shape[1]}."
            )

    @staticmethod
    def _check_norm(norm):
        """`norm` if it is one of `NORMS`, else `UddError`."""
        return check_choice(norm, NORMS, "norm")

    def _norm_layer(self, channels, name, dtype=None):
        """A normalisation layer of kind `self.norm`, or None for `"none"`."""
        return normalization(self.norm, channels, name, dtype=dtype)

    def _dense_classifier(self, index, dtype=None):
        """The final `Dense(num_classes)`, seeded as sub-component `index`."""
        return keras.layers.Dense(
            self.num_classes,
            kernel_initializer=kernel_initializer(self.seed, index),
            dtype=dtype,
            name="classifier",
        )

    def _build_weights(self):
        """Creates every weight by running one zero image through the model."""
        self(keras.ops.zeros((1, *self.image_shape)), training=False)

    def features(self, x, training=False):
        """Returns `(feature_maps, embedding)`.

        Args:
            x: (B, H, W, C) float images.
            training: whether batch norm uses batch statistics.

        Returns:
            feature_maps: list of (B, h, w, c) tensors, one per stage, after the
                activation and before pooling.
            embedding: (B, D) penultimate features, the classifier's input.
        """
        raise NotImplementedError

    def call(self, x, training=False):
        _, embedding = self.features(x, training=training)
        return self.classifier(embedding)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_shape": list(self.image_shape),
                "num_classes": self.num_classes,
                "seed": self.seed,
            }
        )
        return config


def apply_norm(norm_layer, x, training):
    """Runs `norm_layer` on `x`, or returns `x` when the layer is None."""
    return x if norm_layer is None else norm_layer(x, training=training)
