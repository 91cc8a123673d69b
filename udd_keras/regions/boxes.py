"""Candidate region boxes on a synthetic image (paper section 2.2, appendix B).

A box is an integer pixel rectangle `[top, left, bottom, right]`, half-open: it
covers rows `top .. bottom - 1` and columns `left .. right - 1`.

Window sizes are fractions of the image side: 1/2, 2/3 and 1/3, each placed at the
four corners (top-left, top-right, bottom-left, bottom-right); there is no sliding
window. `N = 4` uses the 1/2 windows, `N = 8` adds the 2/3 windows, `N = 12` adds
the 1/3 windows. A side that does not divide evenly is rounded to the nearest pixel
(halves up), the same way for height and width and everywhere in the package:

| image side | 1/3 | 1/2 | 2/3 |
|---|---|---|---|
| 28 px | 9 | 14 | 19 |
| 32 px | 11 | 16 | 21 |
"""

import math

import numpy as np

from udd_keras.errors import UddError

WINDOW_FRACTIONS = (1 / 2, 2 / 3, 1 / 3)
NUM_REGIONS_ALLOWED = (4, 8, 12)


def window_side(side, fraction):
    """Rounds `side * fraction` to the nearest pixel, halves up, at least 1.

    Args:
        side: int, the image side in pixels.
        fraction: float, the window's fraction of the side.

    Returns:
        int, the window side in pixels.
    """
    return max(1, int(math.floor(side * fraction + 0.5)))


def corner_boxes(height, width, window_height, window_width):
    """The four corner placements of one window size.

    Returns:
        int32 array (4, 4): top-left, top-right, bottom-left, bottom-right.
    """
    bottom, right = height - window_height, width - window_width
    return np.array(
        [
            [0, 0, window_height, window_width],
            [0, right, window_height, width],
            [bottom, 0, height, window_width],
            [bottom, right, height, width],
        ],
        dtype=np.int32,
    )


def candidate_boxes(height, width, num_regions=12):
    """The N candidate regions of a `height x width` image.

    Args:
        height: int, image height in pixels.
        width: int, image width in pixels.
        num_regions: int, N, one of 4, 8, 12.

    Returns:
        int32 array (N, 4) of `[top, left, bottom, right]` boxes, grouped by window
        size (1/2, then 2/3, then 1/3), corners in the order TL, TR, BL, BR.

    Example:
    >>> candidate_boxes(28, 28, 4)[1].tolist()
    [0, 14, 14, 28]
    """
    if num_regions not in NUM_REGIONS_ALLOWED:
        raise UddError(
            f"number of regions must be one of {NUM_REGIONS_ALLOWED}, "
            f"got {num_regions!r}"
        )
    sizes = WINDOW_FRACTIONS[: num_regions // 4]
    return np.concatenate(
        [
            corner_boxes(height, width, window_side(height, f), window_side(width, f))
            for f in sizes
        ]
    )


def uniform_boxes(height, width, factor=2):
    """IDC's multi-formation: a `factor x factor` grid of non-overlapping tiles.

    Tile edges are at `round(i * side / factor)`, so tiles cover the image exactly.

    Args:
        height: int, image height in pixels.
        width: int, image width in pixels.
        factor: int >= 1, tiles per side.

    Returns:
        int32 array (factor**2, 4), row-major.

    Example:
    >>> uniform_boxes(32, 32, 2)[3].tolist()
    [16, 16, 32, 32]
    """
    if not isinstance(factor, int) or factor < 1:
        raise UddError(f"factor must be a positive integer, got {factor!r}")
    rows = [window_side(height, i / factor) if i else 0 for i in range(factor + 1)]
    cols = [window_side(width, i / factor) if i else 0 for i in range(factor + 1)]
    return np.array(
        [
            [rows[i], cols[j], rows[i + 1], cols[j + 1]]
            for i in range(factor)
            for j in range(factor)
        ],
        dtype=np.int32,
    )
