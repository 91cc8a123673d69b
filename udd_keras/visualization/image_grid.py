"""A grid of images, one row per class."""

import numpy as np

from udd_keras.errors import UddError
from udd_keras.visualization.images import check_images, to_display_range
from udd_keras.visualization.montage import (
    draw_montage,
    figure_size,
    select_per_class,
    tile,
)
from udd_keras.visualization.png import new_figure, save_png


def check_labels(labels, num_images, num_classes):
    """Validates labels against the images and the class names; returns (B,)."""
    if num_classes < 1:
        raise UddError("class_names must hold at least one name, got none")
    labels = np.asarray(labels).reshape(-1)
    if labels.shape[0] != num_images:
        raise UddError(
            f"labels must hold one label per image: got {labels.shape[0]} labels "
            f"for {num_images} images"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise UddError(
            f"labels must lie in [0, {num_classes}) to index class_names, "
            f"got labels from {labels.min()} to {labels.max()}"
        )
    return labels


def save_image_grid(
    path, images, labels, class_names, normalization=None, max_per_class=10
):
    """Writes a PNG of the images, one row per class.

    Args:
        path: str or path-like, the PNG to write (written atomically).
        images: (B, H, W, C) with C = 1 (shown in grey) or 3, normalised or not.
        labels: int array (B,) in [0, len(class_names)).
        class_names: list of str, one row each, labelled with the name.
        normalization: None, an object with `.denormalize`, or a dict with
            `mean` and `std`; maps the images back to [0, 1].
        max_per_class: int, the most images shown per class (the first ones).

    Returns:
        `pathlib.Path` of the PNG.

    Example:
    >>> images = np.random.default_rng(0).uniform(size=(4, 8, 8, 3))
    >>> save_image_grid("/tmp/grid.png", images, [0, 1, 0, 1], ["a", "b"]).name
    'grid.png'
    """
    images = to_display_range(check_images(images), normalization)
    labels = check_labels(labels, images.shape[0], len(class_names))
    if max_per_class < 1:
        raise UddError(f"max_per_class must be >= 1, got {max_per_class}")
    rows = len(class_names)
    chosen = select_per_class(labels, rows, max_per_class)
    cols = max(1, max(len(index) for index in chosen))
    _, height, width, channels = images.shape
    cells = np.ones((rows, cols, height, width, channels), dtype=np.float32)
    for row, index in enumerate(chosen):
        cells[row, : len(index)] = images[index]

    width_inches, height_inches, _ = figure_size(rows, cols)
    figure = new_figure(width_inches, height_inches)
    draw_montage(figure, tile(cells), class_names, height)
    return save_png(figure, path)
