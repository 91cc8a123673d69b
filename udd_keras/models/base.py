"""Shared pieces of the image classifiers: the base class, normalisation layers,
seeded initialisers and the 28 px -> 32 px first-convolution padding."""

import keras
import numpy as np

from udd_keras.errors import UddError
from udd_keras.models.normalization import InstanceNormalization

NORMS = ("instance", "batch", "none")
# PyTorch's defaults, which the reference implementations (DC/DSA/IDC) use.
NORM_EPSILON = 1e-5
BATCH_NORM_MOMENTUM = 0.9


def derive_seed(seed, index):
    """A deterministic int seed for sub-component `index` of a seeded model.

    Args:
        seed: the model's int seed, or None.
        index: the sub-component's number (int).

    Returns:
        An int in [0, 2**31), or None when `seed` is None.
    """
    if seed is None:
        return None
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0]
    return int(state % (2**31))


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


def first_conv_padding(image_shape, kernel_size):
    """Explicit zero padding of the first convolution, or None for 'same'.

    28 x 28 inputs are treated as 32 x 32, as IDC does for MNIST-like data: the
    first convolution pads by `kernel_size // 2 + 2` and uses 'valid' padding,
    so its output (and every later map) has the size of a 32 x 32 input's.
    """
    if tuple(image_shape[:2]) == (28, 28):
        return kernel_size // 2 + 2
    return None


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
