"""Data jittering functions for the jitter policy (paper section 2.3, Table 3).

Amounts are in the units of the (normalised) images: a Gaussian jitter of 0.1 adds
noise with a standard deviation of 0.1, about a tenth of a pixel's spread.
"""

import tensorflow as tf

from udd_keras.choices import JITTER_FUNCTIONS  # noqa: F401 (re-exported)
from udd_keras.errors import UddError


def jitter_images(images, function, amount, seed):
    """Returns a randomly jittered copy of `images`.

    Args:
        images: float tensor (B, H, W, C).
        function: `"gaussian"` (noise with std `amount`), `"uniform"` (noise in
            `[-amount, amount]`) or `"salt_and_pepper"` (a fraction `amount` of the
            pixels set to the image's minimum or maximum, half each).
        amount: float, the jitter strength.
        seed: int tensor (2,), a stateless random seed.

    Returns:
        float32 tensor of the same shape.

    Example:
    >>> x = tf.zeros((1, 4, 4, 1))
    >>> tuple(jitter_images(x, "gaussian", 0.1, [0, 1]).shape)
    (1, 4, 4, 1)
    """
    shape = tf.shape(images)
    if function == "gaussian":
        return images + amount * tf.random.stateless_normal(shape, seed)
    if function == "uniform":
        return images + tf.random.stateless_uniform(shape, seed, -amount, amount)
    if function == "salt_and_pepper":
        draw = tf.random.stateless_uniform(shape, seed)
        low = tf.reduce_min(images, axis=[1, 2, 3], keepdims=True)
        high = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
        salted = tf.where(draw < amount / 2, low, images)
        return tf.where(draw > 1.0 - amount / 2, high, salted)
    raise UddError(
        f"jitter function must be one of {JITTER_FUNCTIONS}, got {function!r}"
    )
