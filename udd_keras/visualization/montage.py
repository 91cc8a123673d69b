"""Per-class montages: cells tiled into one image, one row per class."""

import numpy as np

PADDING = 2
LABEL_MARGIN_INCHES = 1.4


def select_per_class(labels, num_classes, per_class):
    """Indices of the first `per_class` images of each class.

    Args:
        labels: int array (B,).
        num_classes: int.
        per_class: int, the most images kept per class.

    Returns:
        list of `num_classes` int arrays of indices (some may be empty).
    """
    labels = np.asarray(labels).reshape(-1)
    return [np.flatnonzero(labels == c)[:per_class] for c in range(num_classes)]


def tile(cells, padding=PADDING, fill=1.0):
    """Tiles a grid of equally sized images into one image.

    Args:
        cells: array (rows, cols, H, W, C).
        padding: int, pixels between and around cells.
        fill: float, the value of the padding.

    Returns:
        float32 array (rows * (H + padding) + padding,
        cols * (W + padding) + padding, C).
    """
    rows, cols, height, width, channels = cells.shape
    padded = np.full(
        (rows, cols, height + padding, width + padding, channels), fill, np.float32
    )
    padded[:, :, padding:, padding:] = cells
    canvas = padded.transpose(0, 2, 1, 3, 4).reshape(
        rows * (height + padding), cols * (width + padding), channels
    )
    return np.pad(canvas, ((0, padding), (0, padding), (0, 0)), constant_values=fill)


def cell_origin(row, col, height, width, padding=PADDING):
    """Pixel (top, left) of cell (row, col) in a `tile` montage."""
    return padding + row * (height + padding), padding + col * (width + padding)


def label_margin(row_names):
    """Inches left of the montage for its row names: room for the longest."""
    longest = max((len(str(name)) for name in row_names), default=0)
    return min(LABEL_MARGIN_INCHES, 0.2 + 0.08 * longest)


def figure_size(row_names, cols):
    """(width, height, cell) in inches for a montage of rows x cols cells.

    Args:
        row_names: list of str, one per row (the left margin fits the longest).
        cols: int, cells per row.
    """
    rows = len(row_names)
    cell = float(min(0.9, 40.0 / max(rows, 1), 24.0 / max(cols, 1)))
    return label_margin(row_names) + cols * cell + 0.1, rows * cell + 0.2, cell


def draw_montage(figure, montage, row_names, cell_height, top_inches=0.0):
    """Shows a montage on the whole figure with one name per row.

    Args:
        figure: `matplotlib.figure.Figure` sized with `figure_size` (plus
            `top_inches` in height).
        montage: (h, w, C) in [0, 1]; C = 1 is drawn in grey.
        row_names: list of str, one per row of cells.
        cell_height: int, pixels per cell row (without padding).
        top_inches: float, room left above the montage (for column names).

    Returns:
        the matplotlib axes.
    """
    width_inches, height_inches = figure.get_size_inches()
    left = label_margin(row_names) / width_inches
    axes = figure.add_axes(
        [
            left,
            0.1 / height_inches,
            1.0 - left,
            1.0 - (0.2 + top_inches) / height_inches,
        ]
    )
    if montage.shape[-1] == 1:
        axes.imshow(montage[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        axes.imshow(montage, interpolation="nearest")
    tops = np.array(
        [cell_origin(r, 0, cell_height, 1)[0] for r in range(len(row_names))]
    )
    axes.set_yticks(tops + (cell_height - 1) / 2, [str(n) for n in row_names])
    axes.set_xticks([])
    axes.tick_params(length=0, labelsize=8)
    axes.set_anchor("W")
    for spine in axes.spines.values():
        spine.set_visible(False)
    return axes
