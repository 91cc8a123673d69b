"""Initial synthetic images: real images of their class, IDC mosaics, or noise.

Which real images: `"random"` (the paper's and IDC's choice) or `"kmeans"`: the
class's images are clustered in pixel space into as many clusters as images are
needed, and the real image nearest each cluster centre is taken, so the starting
set covers the class's modes instead of a random draw of them.
"""

import numpy as np
import tensorflow as tf

from udd_keras.choices import SELECTIONS  # noqa: F401 (re-exported)
from udd_keras.regions import uniform_boxes


def kmeans_representatives(images, count, seed):
    """Indices of the `count` images nearest the centres of `count` clusters.

    Args:
        images: float array (N, ...), one class's images.
        count: int <= N, clusters (and images) wanted.
        seed: int, seed of k-means++ and Lloyd's iterations.

    Returns:
        int array (count,) of distinct indices into `images`, one per cluster,
        largest cluster first.
    """
    from sklearn.cluster import KMeans

    flat = images.reshape(len(images), -1).astype(np.float64)
    kmeans = KMeans(n_clusters=count, n_init=1, random_state=seed).fit(flat)
    sizes = np.bincount(kmeans.labels_, minlength=count)
    chosen = []
    for cluster in np.argsort(-sizes, kind="stable"):
        distance = np.sum((flat - kmeans.cluster_centers_[cluster]) ** 2, axis=1)
        distance[chosen] = np.inf  # distinct images even for equal centres
        chosen.append(int(np.argmin(distance)))
    return np.asarray(chosen)


def sample_class_images(x, y, num_classes, per_class, rng, selection="random"):
    """`per_class` distinct real images of each class, class-major.

    Args:
        x: float array (N, H, W, C).
        y: int array (N,).
        num_classes: int.
        per_class: int.
        rng: `np.random.Generator`.
        selection: `"random"` or `"kmeans"` (see the module docstring).

    Returns:
        float32 array (num_classes * per_class, H, W, C).
    """
    chosen = []
    for c in range(num_classes):
        members = np.flatnonzero(y == c)
        if selection == "kmeans":
            seed = int(rng.integers(2**31))
            picks = members[kmeans_representatives(x[members], per_class, seed)]
        else:
            picks = rng.choice(members, size=per_class, replace=False)
        chosen.append(picks)
    return x[np.concatenate(chosen)].astype(np.float32)


def mosaic_images(x, y, num_classes, ipc, factor, rng, selection="random"):
    """IDC's initialisation: `factor**2` real images shrunk into the tiles.

    Returns:
        float32 array (num_classes * ipc, H, W, C).
    """
    height, width = x.shape[1:3]
    tiles = sample_class_images(
        x, y, num_classes, ipc * factor**2, rng, selection=selection
    )
    tiles = tiles.reshape(num_classes * ipc, factor**2, *x.shape[1:])
    mosaic = np.zeros((num_classes * ipc, *x.shape[1:]), np.float32)
    for tile, (top, left, bottom, right) in enumerate(
        uniform_boxes(height, width, factor)
    ):
        shrunk = tf.image.resize(tiles[:, tile], [bottom - top, right - left])
        mosaic[:, top:bottom, left:right] = shrunk.numpy()
    return mosaic


def initial_images(
    x, y, num_classes, ipc, init="real", factor=2, seed=0, selection="random"
):
    """The starting synthetic images and their labels, class-major.

    Args:
        x: float array (N, H, W, C), normalised real training images.
        y: int array (N,).
        num_classes: int.
        ipc: int, images per class.
        init: `"real"`, `"mosaic"` or `"noise"` (standard normal).
        factor: int, tiles per side for `"mosaic"`.
        seed: int.
        selection: `"random"` or `"kmeans"`, how the real images are chosen.

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
        images = sample_class_images(x, y, num_classes, ipc, rng, selection)
    elif init == "mosaic":
        images = mosaic_images(x, y, num_classes, ipc, factor, rng, selection)
    else:
        images = rng.standard_normal((num_classes * ipc, *x.shape[1:]))
    return images.astype(np.float32), labels
