"""A grid of images, one row per class."""

import numpy as np

from udd_keras.errors import UddError
from udd_keras.visualization.images import check_images, to_display_range
from udd_keras.visualization.montage import (
    PADDING,
    cell_origin,
    draw_montage,
    figure_size,
    select_per_class,
    tile,
)
from udd_keras.visualization.png import new_figure, save_png

# Room above the grid for the names of the decoded columns ("tile 1", ...).
COLUMN_NAMES_INCHES = 0.6


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


def check_decoded(decoded, images, decoded_names):
    """Validates what each image decodes to; returns (decoded, names) or Nones."""
    if decoded is None:
        return None, None
    decoded = check_images(np.asarray(decoded).reshape(-1, *images.shape[1:]))
    count = decoded.shape[0] // max(images.shape[0], 1)
    if count * images.shape[0] != decoded.shape[0] or count < 1:
        raise UddError(
            f"decoded must hold K >= 1 images per stored image of shape "
            f"{images.shape[1:]}: got {decoded.shape[0]} for {images.shape[0]} images"
        )
    names = list(decoded_names or (f"decoded {k + 1}" for k in range(count)))
    if len(names) != count:
        raise UddError(
            f"decoded_names must hold one name per decoded image ({count}), "
            f"got {len(names)}"
        )
    return decoded.reshape(images.shape[0], count, *images.shape[1:]), names


def save_image_grid(
    path,
    images,
    labels,
    class_names,
    normalization=None,
    max_per_class=10,
    decoded=None,
    decoded_names=None,
):
    """Writes a PNG of the images, one row per class named on the left.

    With `decoded`, each stored image is followed, in its row, by the images it
    decodes to for training (its tiles or regions, each resized to the full
    image), and the first group's columns are named at the top.

    Args:
        path: str or path-like, the PNG to write (written atomically).
        images: (B, H, W, C) with C = 1 (shown in grey) or 3, normalised or not.
        labels: int array (B,) in [0, len(class_names)).
        class_names: list of str, one row each, labelled with the name.
        normalization: None, an object with `.denormalize`, or a dict with
            `mean` and `std`; maps the images back to [0, 1].
        max_per_class: int, the most stored images shown per class (the first).
        decoded: None or (B, K, H, W, C) (or (B * K, H, W, C), image-major): what
            each stored image decodes to, in the images' normalisation.
        decoded_names: K column names for the decoded images (e.g. `"tile 1"`);
            default `"decoded k"`.

    Returns:
        `pathlib.Path` of the PNG.

    Example:
    >>> images = np.random.default_rng(0).uniform(size=(4, 8, 8, 3))
    >>> save_image_grid("/tmp/grid.png", images, [0, 1, 0, 1], ["a", "b"]).name
    'grid.png'
    """
    images = check_images(images)
    labels = check_labels(labels, images.shape[0], len(class_names))
    decoded, decoded_names = check_decoded(decoded, images, decoded_names)
    if max_per_class < 1:
        raise UddError(f"max_per_class must be >= 1, got {max_per_class}")
    images = to_display_range(images, normalization)
    group = 1 if decoded is None else 1 + decoded.shape[1]
    if decoded is not None:
        decoded = to_display_range(
            decoded.reshape(-1, *images.shape[1:]), normalization
        ).reshape(decoded.shape)
    rows = len(class_names)
    chosen = select_per_class(labels, rows, max_per_class)
    per_row = max(1, max(len(index) for index in chosen))
    _, height, width, channels = images.shape
    cells = np.ones((rows, per_row * group, height, width, channels), np.float32)
    for row, index in enumerate(chosen):
        for slot, image in enumerate(index):
            cells[row, slot * group] = images[image]
            if decoded is not None:
                cells[row, slot * group + 1 : (slot + 1) * group] = decoded[image]

    width_inches, height_inches, _ = figure_size(class_names, per_row * group)
    top_inches = COLUMN_NAMES_INCHES if group > 1 else 0.0
    figure = new_figure(width_inches, height_inches + top_inches)
    axes = draw_montage(figure, tile(cells), class_names, height, top_inches)
    if group > 1:
        label_groups(axes, ["stored", *decoded_names], per_row, height, width)
    return save_png(figure, path)


def label_groups(axes, column_names, groups, height, width):
    """Names the first group's columns on top and rules a line between groups."""
    size = len(column_names)
    centres = [
        cell_origin(0, col, height, width)[1] + (width - 1) / 2 for col in range(size)
    ]
    axes.xaxis.tick_top()
    axes.set_xticks(centres, column_names, rotation=90, fontsize=7)
    for slot in range(1, groups):
        left = cell_origin(0, slot * size, height, width)[1]
        axes.axvline(left - PADDING / 2 - 0.5, color="0.4", linewidth=1.0)
