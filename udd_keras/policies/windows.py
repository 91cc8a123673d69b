"""Candidate windows placed on a response map (paper Fig. 4b).

A response map has a lower resolution than the image, so a pixel box rarely covers
whole map cells. Each window becomes a weight mask over the map cells: the fraction
of each cell covered by the box scaled to the map, normalised to sum to one. The
mean response inside window `n` is then one contraction, `sum_hw map * mask[n]`,
for all windows and images at once.
"""

import numpy as np
import tensorflow as tf


def _overlap_1d(start, stop, cells, scale):
    """Coverage (cells,) of map cells by the interval [start, stop) * scale."""
    low, high = start * scale, stop * scale
    edges = np.arange(cells + 1, dtype=np.float64)
    return np.clip(np.minimum(edges[1:], high) - np.maximum(edges[:-1], low), 0, 1)


def window_masks(boxes, image_size, map_size):
    """Area-weighted masks of pixel boxes on a response map.

    Args:
        boxes: int array (N, 4) of `[top, left, bottom, right]` pixel boxes.
        image_size: `(H, W)` of the image in pixels.
        map_size: `(h, w)` of the response map.

    Returns:
        float32 array (N, h, w); each mask sums to 1.

    Example:
    >>> window_masks([[0, 0, 16, 16]], (32, 32), (8, 8))[0, :4, :4].sum()
    np.float32(1.0)
    """
    (height, width), (rows, cols) = image_size, map_size
    masks = []
    for top, left, bottom, right in np.asarray(boxes):
        row_weight = _overlap_1d(top, bottom, rows, rows / height)
        col_weight = _overlap_1d(left, right, cols, cols / width)
        mask = np.outer(row_weight, col_weight)
        masks.append(mask / mask.sum())
    return np.stack(masks).astype(np.float32)


def window_means(response, masks):
    """Mean response inside each window.

    Args:
        response: float tensor (B, h, w), one response value per map cell.
        masks: float tensor (N, h, w) from `window_masks`.

    Returns:
        float32 tensor (B, N).
    """
    return tf.einsum("bhw,nhw->bn", response, masks)
