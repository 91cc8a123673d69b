"""Initial synthetic images: real images of their class, IDC mosaics, or noise."""

import numpy as np
import tensorflow as tf

from udd_keras.regions import uniform_boxes


def sample_class_images(x, y, num_classes, per_class, rng):
    """`per_class` distinct random real images of each class, class-major.

    Args:
        x: float array (N, H, W, C).
        y: int array (N,).
        num_classes: int.
        per_class: int.
        rng: `np.random.Generator`.

    Returns:
        float32 array (num_classes * per_class, H, W, C).
    """
    chosen = [
        rng.choice(np.flatnonzero(y == c), size=per_class, replace=False)
        for c in range(num_classes)
    ]
    return x[np.concatenate(chosen)].astype(np.float32)


def mosaic_images(x, y, num_classes, ipc, factor, rng):
    """IDC's initialisation: `factor**2` real images shrunk into the tiles.

    Returns:
        float32 array (num_classes * ipc, H, W, C).
    """
    height, width = x.shape[1:3]
    tiles = sample_class_images(x, y, num_classes, ipc * factor**2, rng)
    tiles = tiles.reshape(num_classes * ipc, factor**2, *x.shape[1:])
    mosaic = np.zeros((num_classes * ipc, *x.shape[1:]), np.float32)
    for tile, (top, left, bottom, right) in enumerate(
        uniform_boxes(height, width, factor)
    ):
        shrunk = tf.image.resize(tiles[:, tile], [bottom - top, right - left])
        mosaic[:, top:bottom, left:right] = shrunk.numpy()
    return mosaic


def initial_images(x, y, num_classes, ipc, init="real", factor=2, seed=0):
    """The starting synthetic images and their labels, class-major.

    Args:
        x: float array (N, H, W, C), normalised real training images.
        y: int array (N,).
        num_classes: int.
        ipc: int, images per class.
        init: `"real"`, `"mosaic"` or `"noise"` (standard normal).
        factor: int, tiles per side for `"mosaic"`.
        seed: int.

    Returns:
        `(images, labels)`: float32 (num_classes * ipc, H, W, C), int32 (...,).

    Example:
    >>> x = np.zeros((20, 4, 4, 1), "float32"); y = np.repeat(np.arange(2), 10)
    >>> images, labels = initial_images(x, y, 2, ipc=3)
    >>> images.shape, labels.tolist()
    ((6, 4, 4, 1), [0, 0, 0, 1, 1, 1])
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_classes, dtype=np.int32), ipc)
    if init == "real":
        images = sample_class_images(x, y, num_classes, ipc, rng)
    elif init == "mosaic":
        images = mosaic_images(x, y, num_classes, ipc, factor, rng)
    else:
        images = rng.standard_normal((num_classes * ipc, *x.shape[1:]))
    return images.astype(np.float32), labels
