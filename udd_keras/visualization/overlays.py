"""Images with their activation maps overlaid (paper Fig. 3 and 9)."""

import numpy as np
from matplotlib import colormaps

from udd_keras.errors import UddError
from udd_keras.visualization.image_grid import check_labels
from udd_keras.visualization.images import check_images, to_display_range, to_rgb
from udd_keras.visualization.montage import (
    cell_origin,
    draw_montage,
    figure_size,
    select_per_class,
    tile,
)
from udd_keras.visualization.png import new_figure, save_png


def interpolation_matrix(output_size, input_size):
    """Bilinear resampling weights (half-pixel centres, edges clamped).

    Returns:
        float32 array (output_size, input_size); rows sum to 1.
    """
    source = (np.arange(output_size) + 0.5) * input_size / output_size - 0.5
    source = np.clip(source, 0.0, input_size - 1)
    lower = np.floor(source).astype(np.int64)
    upper = np.minimum(lower + 1, input_size - 1)
    fraction = (source - lower).astype(np.float32)
    weights = np.zeros((output_size, input_size), dtype=np.float32)
    rows = np.arange(output_size)
    np.add.at(weights, (rows, lower), 1.0 - fraction)
    np.add.at(weights, (rows, upper), fraction)
    return weights


def upsample_maps(activation_maps, height, width):
    """Averages channels, resizes bilinearly and scales each map to [0, 1].

    Args:
        activation_maps: (B, h, w) or (B, h, w, c).
        height: int, output height.
        width: int, output width.

    Returns:
        float32 array (B, height, width) in [0, 1] (min-max per map).
    """
    maps = np.asarray(activation_maps, dtype=np.float32)
    if maps.ndim == 4:
        maps = maps.mean(axis=-1)
    if maps.ndim != 3:
        raise UddError(
            f"activation_maps must have shape (B, h, w) or (B, h, w, c), "
            f"got shape {np.shape(activation_maps)}"
        )
    rows = interpolation_matrix(height, maps.shape[1])
    cols = interpolation_matrix(width, maps.shape[2])
    maps = np.einsum("Hh,bhw,Ww->bHW", rows, maps, cols)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return (maps - low) / np.where(span > 0, span, 1.0)


def overlay(images, maps, alpha=0.5, colormap="jet"):
    """Blends a colour-mapped activation map over each image.

    Args:
        images: (B, H, W, C) in [0, 1], C = 1 or 3.
        maps: (B, H, W) in [0, 1].
        alpha: float, the weight of the activation colours.
        colormap: str, a matplotlib colormap name.

    Returns:
        float32 array (B, H, W, 3) in [0, 1].
    """
    colours = colormaps[colormap](maps)[..., :3].astype(np.float32)
    return (1.0 - alpha) * to_rgb(images) + alpha * colours


def save_activation_overlays(
    path,
    images,
    activation_maps,
    labels,
    class_names,
    normalization=None,
    per_class=4,
    scores=None,
    alpha=0.5,
):
    """Writes a PNG of images with their upsampled activation maps overlaid.

    One row per class, its first `per_class` images. Each activation map is
    averaged over channels, resized bilinearly to the image size, min-max scaled
    per image and drawn with the "jet" colormap over the image (red = strong).

    Args:
        path: str or path-like, the PNG to write (written atomically).
        images: (B, H, W, C), C = 1 or 3, normalised or not.
        activation_maps: (B, h, w) or (B, h, w, c), one per image.
        labels: int array (B,) in [0, len(class_names)).
        class_names: list of str, one row each.
        normalization: None, an object with `.denormalize`, or a dict with
            `mean` and `std`.
        per_class: int, the most images shown per class.
        scores: optional float array (B,), e.g. each image's mUE, written on
            its cell.
        alpha: float in [0, 1], the opacity of the activation colours.

    Returns:
        `pathlib.Path` of the PNG.

    Example:
    >>> rng = np.random.default_rng(0)
    >>> save_activation_overlays(
    ...     "/tmp/overlays.png", rng.uniform(size=(2, 8, 8, 3)),
    ...     rng.uniform(size=(2, 4, 4, 5)), [0, 1], ["a", "b"]).name
    'overlays.png'
    """
    images = to_display_range(check_images(images), normalization)
    batch, height, width, _ = images.shape
    labels = check_labels(labels, batch, len(class_names))
    if np.shape(activation_maps)[0] != batch:
        raise UddError(
            f"activation_maps must hold one map per image: got "
            f"{np.shape(activation_maps)[0]} maps for {batch} images"
        )
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != batch:
            raise UddError(
                f"scores must hold one value per image: got {scores.shape[0]} "
                f"for {batch} images"
            )
    if per_class < 1:
        raise UddError(f"per_class must be >= 1, got {per_class}")
    blended = overlay(images, upsample_maps(activation_maps, height, width), alpha)

    rows = len(class_names)
    chosen = select_per_class(labels, rows, per_class)
    cols = max(1, max(len(index) for index in chosen))
    cells = np.ones((rows, cols, height, width, 3), dtype=np.float32)
    for row, index in enumerate(chosen):
        cells[row, : len(index)] = blended[index]
    width_inches, height_inches, cell = figure_size(class_names, cols)
    figure = new_figure(width_inches, height_inches)
    axes = draw_montage(figure, tile(cells), class_names, height)
    if scores is not None:
        font_size = max(4.0, min(8.0, 9.0 * cell))
        for row, index in enumerate(chosen):
            for col, image_index in enumerate(index):
                top, left = cell_origin(row, col, height, width)
                axes.text(
                    left + 1,
                    top + height - 1.5,
                    f"{scores[image_index]:.2f}",
                    color="white",
                    fontsize=font_size,
                    va="bottom",
                    bbox={"facecolor": "black", "alpha": 0.6, "pad": 1, "lw": 0},
                )
    return save_png(figure, path)
