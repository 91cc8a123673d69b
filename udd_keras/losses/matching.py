"""Gradient matching distance (paper eq. 9; IDC's `dist`).

The distance between the parameter gradients a network gets from a real class batch
and from the class's synthetic training images, summed over the matched
parameters. Metrics:

- `l1`: sum of absolute differences (IDC's choice for MNIST / FashionMNIST).
- `mse`: sum of squared differences (eq. 9; IDC's choice for CIFAR / SVHN).
- `cos`: DC's layer-wise distance, `sum over output units of (1 - cosine)` between
  the gradient rows of each output unit.
"""

import tensorflow as tf

from udd_keras.choices import MATCHED_PARAMETERS, METRICS  # noqa: F401 (re-exported)
from udd_keras.errors import UddError


def gradient_distance(real_gradient, synthetic_gradient, metric="l1"):
    """Distance between two gradients of one parameter.

    Args:
        real_gradient: tensor of any shape; treated as a constant.
        synthetic_gradient: tensor of the same shape.
        metric: one of `"l1"`, `"mse"`, `"cos"`.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> float(gradient_distance(tf.ones((2, 2)), tf.zeros((2, 2)), "mse"))
    4.0
    """
    real_gradient = tf.stop_gradient(real_gradient)
    difference = real_gradient - synthetic_gradient
    if metric == "l1":
        return tf.reduce_sum(tf.abs(difference))
    if metric == "mse":
        return tf.reduce_sum(tf.square(difference))
    if metric == "cos":
        return _cosine_distance(real_gradient, synthetic_gradient)
    raise UddError(f"matching metric must be one of {METRICS}, got {metric!r}")


def _cosine_distance(real_gradient, synthetic_gradient):
    """DC's per-output-unit cosine distance; vectors (biases) count as one unit."""
    if real_gradient.shape.rank <= 1:
        real_gradient = tf.reshape(real_gradient, [1, -1])
        synthetic_gradient = tf.reshape(synthetic_gradient, [1, -1])
    else:
        units = real_gradient.shape[-1]
        real_gradient = tf.transpose(tf.reshape(real_gradient, [-1, units]))
        synthetic_gradient = tf.transpose(tf.reshape(synthetic_gradient, [-1, units]))
    dot = tf.reduce_sum(real_gradient * synthetic_gradient, axis=-1)
    norms = tf.norm(real_gradient, axis=-1) * tf.norm(synthetic_gradient, axis=-1)
    return tf.reduce_sum(1.0 - dot / (norms + 1e-6))


@tf.autograph.experimental.do_not_convert
def matching_loss(real_gradients, synthetic_gradients, metric="l1"):
    """Sum of `gradient_distance` over a list of parameter gradients.

    Args:
        real_gradients: list of tensors.
        synthetic_gradients: list of tensors, same shapes.
        metric: one of `"l1"`, `"mse"`, `"cos"`.

    Returns:
        Scalar float32 tensor.
    """
    return tf.add_n(
        [
            gradient_distance(real, synthetic, metric)
            for real, synthetic in zip(real_gradients, synthetic_gradients, strict=True)
        ]
    )


def select_matched_variables(model, which="conv"):
    """The trainable variables whose gradients are matched.

    Args:
        model: a Keras model.
        which: `"conv"` (IDC's default: convolution kernels only, no bias, norm or
            classifier), `"conv+dense"` (kernels of convolutions and dense layers)
            or `"all"` (every trainable variable, as DC does).

    Returns:
        List of variables, in `model.trainable_variables` order.
    """
    if which not in MATCHED_PARAMETERS:
        raise UddError(
            f"matched parameters must be one of {MATCHED_PARAMETERS}, got {which!r}"
        )
    if which == "all":
        return list(model.trainable_variables)
    keep_rank = {"conv": (4,), "conv+dense": (2, 4)}[which]
    return [
        variable
        for variable in model.trainable_variables
        if len(variable.shape) in keep_rank
    ]
