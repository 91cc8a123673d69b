"""CutMix (Yun et al. 2019) as used by IDC's evaluation training."""

import tensorflow as tf

from udd_keras.augmentation.seeds import split_seed
from udd_keras.errors import UddError


@tf.autograph.experimental.do_not_convert
def cutmix(images, labels_onehot, probability=0.5, seed=0, beta=1.0):
    """Pastes a box from a shuffled copy of the batch into each image, with prob p.

    As in IDC, one decision, one box and one permutation are drawn per batch:
    with probability `probability` a box of area fraction `1 - lam`,
    lam ~ Beta(beta, beta), centred uniformly (clipped to the image), is copied
    from image `perm[i]` into image i, and the labels become
    `ratio * y + (1 - ratio) * y[perm]`, with `ratio` the exact fraction of
    pixels kept. Otherwise images and labels are returned unchanged.

    Args:
        images: (B, H, W, C) float tensor, static H and W.
        labels_onehot: (B, K) float tensor of one-hot (or soft) labels.
        probability: chance, in [0, 1], of mixing this batch.
        seed: int or (2,) integer tensor (stateless; usable in `tf.function`).
        beta: the Beta distribution parameter, > 0.

    Returns:
        `(images, labels)`: (B, H, W, C) and (B, K) tensors; each label row keeps
        its total mass.

    Example:
    >>> images, labels = cutmix(images, tf.one_hot(y, 10), 0.5, seed=step_seed)
    """
    if isinstance(probability, (int, float)) and not 0.0 <= probability <= 1.0:
        raise UddError(f"CutMix probability must be in [0, 1], got {probability!r}.")
    if float(beta) <= 0.0:
        raise UddError(f"CutMix beta must be > 0, got {beta!r}.")
    images = tf.convert_to_tensor(images)
    labels = tf.cast(labels_onehot, images.dtype)
    height, width = images.shape[1], images.shape[2]
    seeds = split_seed(seed, 6)
    batch = tf.shape(images)[0]

    mix = tf.random.stateless_uniform([], seeds[0]) < probability
    gammas = tf.random.stateless_gamma([2], seeds[1], alpha=float(beta))
    lam = gammas[0] / (gammas[0] + gammas[1])
    permutation = tf.argsort(tf.random.stateless_uniform([batch], seeds[2]))

    cut = tf.sqrt(1.0 - lam)
    rows = _box_band(height, cut, seeds[3])
    cols = _box_band(width, cut, seeds[4])
    box = tf.cast(tf.logical_and(rows[:, None], cols[None, :]), images.dtype)
    box *= tf.cast(mix, images.dtype)

    mixed = images * (1.0 - box[None, :, :, None])
    mixed += tf.gather(images, permutation) * box[None, :, :, None]
    kept = 1.0 - tf.reduce_mean(box)
    mixed_labels = kept * labels + (1.0 - kept) * tf.gather(labels, permutation)
    return mixed, mixed_labels


def _box_band(size, cut_fraction, seed):
    """(size,) bool: the pixels inside a band of length int(size * cut) around a
    uniform centre, clipped to the image (IDC `rand_bbox`)."""
    length = tf.floor(size * cut_fraction)
    centre = tf.floor(tf.random.stateless_uniform([], seed) * size)
    start = tf.clip_by_value(centre - tf.floor(length / 2), 0.0, float(size))
    stop = tf.clip_by_value(centre + tf.floor(length / 2), 0.0, float(size))
    index = tf.range(size, dtype=tf.float32)
    return tf.logical_and(index >= start, index < stop)
