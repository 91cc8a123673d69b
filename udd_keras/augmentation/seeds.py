"""Stateless random seeds: a (2,) integer tensor, usable inside `tf.function`."""

import numpy as np
import tensorflow as tf

from udd_keras.errors import UddError


def as_stateless_seed(seed) -> tf.Tensor:
    """Converts a seed to the (2,) int64 tensor that `tf.random.stateless_*` take.

    Args:
        seed: a python int, a pair of ints, or an integer tensor of shape (2,)
            (for example `keras.random.SeedGenerator(0).next()`).

    Returns:
        An int64 tensor of shape (2,).

    Raises:
        UddError: if `seed` is neither an int nor a pair of ints.
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return tf.constant([int(seed), 0], dtype=tf.int64)
    tensor = tf.convert_to_tensor(seed)
    if not tensor.dtype.is_integer or tensor.shape.rank != 1 or tensor.shape[0] != 2:
        raise UddError(
            f"A random seed must be an int or an integer tensor of shape (2,), "
            f"got {seed!r}."
        )
    return tf.cast(tensor, tf.int64)


def split_seed(seed, num: int) -> tf.Tensor:
    """Derives `num` independent (2,) seeds from one, as a (num, 2) tensor."""
    return tf.random.experimental.stateless_split(as_stateless_seed(seed), num=num)
