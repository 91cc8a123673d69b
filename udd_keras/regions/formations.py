"""Formations: which parts of a stored image become synthetic training images.

A formation says, for every stored synthetic image, which boxes are always
trained on (the *fixed* part) and among which candidate boxes the scoring policy
mines the P underutilized regions (the *mined* part):

| formation | fixed part | mined among | reading |
|---|---|---|---|
| `original` | whole image | - | DC |
| `tiles` | IDC's tiles | - | IDC |
| `original+regions` | whole image | the image's N corner windows | UDD, literal |
| `tiles+regions` | IDC's tiles | those windows that are no tile | UDD on IDC |
| `regions-in-tiles` | IDC's tiles | each tile's N corner windows | UDD in tiles |

Every box, fixed or mined, is cropped and resized differentiably to `H x W`
(`formation.form_training_images`); the whole image is not a box but the image
itself (`includes_original`).

What a stored set *decodes to* for evaluation is part of the formation too:
`decode="trained"` keeps every box the images were last trained on (fixed +
mined), `decode="fixed"` only the fixed part (the original image, or the tiles).
Either way the evaluation set holds no more stored pixels than IPC images per
class.
"""

import dataclasses

import numpy as np

from udd_keras.errors import UddError
from udd_keras.regions.boxes import candidate_boxes, uniform_boxes

FORMATIONS = (
    "original",
    "tiles",
    "original+regions",
    "tiles+regions",
    "regions-in-tiles",
)
MINED_FORMATIONS = ("original+regions", "tiles+regions", "regions-in-tiles")
# Formations that train on the whole image, and those built on IDC's tiles.
WHOLE_IMAGE_FORMATIONS = ("original", "original+regions")
TILED_FORMATIONS = ("tiles", "tiles+regions", "regions-in-tiles")
DECODES = ("trained", "fixed")


@dataclasses.dataclass(frozen=True)
class FormationBoxes:
    """The boxes of one formation on an `H x W` image.

    Attributes:
        name: one of `FORMATIONS`.
        includes_original: bool, the whole image is a training image.
        fixed: int32 array (F, 4), boxes always trained on (tiles), F >= 0.
        candidates: int32 array (N', 4), the boxes the policy mines among
            (N' = 0 for formations that mine nothing).
        size_groups: int32 array (N',), the window-size group of each
            candidate (0 = 1/2, 1 = 2/3, 2 = 1/3 of the side), for scoring
            that compares windows of one size only.
    """

    name: str
    includes_original: bool
    fixed: np.ndarray
    candidates: np.ndarray
    size_groups: np.ndarray

    @property
    def mines(self):
        """Whether the policy selects regions (N' > 0)."""
        return len(self.candidates) > 0


def formation_boxes(name, height, width, num_regions=12, factor=2):
    """The fixed and candidate boxes of formation `name`.

    Args:
        name: one of `FORMATIONS`.
        height: int, image height in pixels.
        width: int, image width in pixels.
        num_regions: int, N corner windows per mined area (4, 8, 12).
        factor: int, IDC's tiles per side.

    Returns:
        A `FormationBoxes`.

    Raises:
        UddError: an unknown formation, or one with no candidate left.

    Example:
    >>> boxes = formation_boxes("tiles+regions", 32, 32, num_regions=12)
    >>> len(boxes.fixed), len(boxes.candidates)
    (4, 8)
    """
    if name not in FORMATIONS:
        raise UddError(
            f"formation must be one of {', '.join(FORMATIONS)}; got {name!r}"
        )
    empty = np.zeros((0, 4), np.int32)
    no_groups = np.zeros((0,), np.int32)
    tiles = uniform_boxes(height, width, factor)
    groups = np.repeat(np.arange(num_regions // 4, dtype=np.int32), 4)
    if name == "original":
        return FormationBoxes(name, True, empty, empty, no_groups)
    if name == "tiles":
        return FormationBoxes(name, False, tiles, empty, no_groups)
    windows = candidate_boxes(height, width, num_regions)
    if name == "original+regions":
        return FormationBoxes(name, True, empty, windows, groups)
    if name == "tiles+regions":
        keep = ~(windows[:, None, :] == tiles[None, :, :]).all(-1).any(-1)
        if not keep.any():
            raise UddError(
                f"formation 'tiles+regions' with N={num_regions} and factor "
                f"{factor} leaves no candidate that is not a tile; use N=8 or 12"
            )
        return FormationBoxes(name, False, tiles, windows[keep], groups[keep])
    inside = []
    for top, left, bottom, right in tiles:
        offset = np.array([top, left, top, left], np.int32)
        inside.append(candidate_boxes(bottom - top, right - left, num_regions) + offset)
    return FormationBoxes(
        name, False, tiles, np.concatenate(inside), np.tile(groups, len(tiles))
    )
