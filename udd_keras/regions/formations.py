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


@dataclasses.dataclass(frozen=True)
class Formation:
    """What one formation trains on, and what follows from it.

    The one place that says what a formation name means: the distillation
    config, the engine and the checks ask a `Formation` rather than compare
    names.

    Attributes:
        name: one of `FORMATIONS`.
        includes_original: bool, the whole image is a training image.
        tiled: bool, IDC's tiles are the fixed part.
        mined_in: where the policy mines regions: `"image"` (the image's corner
            windows, without those that are tiles), `"tiles"` (each tile's
            corner windows) or None (nothing is mined).
        fixed_policy: the policy of a formation that mines nothing (`"none"`
            for the whole image, `"uniform"` for IDC's tiles); None for a
            mined formation, whose policy is a scoring one.
        default_selected: int, P by default (chosen on FashionMNIST IPC 1's
            validation split by the `formation-screen-ipc1` experiment; unused
            where nothing is mined).

    Example:
    >>> get_formation("tiles+regions").mines, get_formation("tiles").fixed_policy
    (True, 'uniform')
    """

    name: str
    includes_original: bool
    tiled: bool
    mined_in: str | None
    fixed_policy: str | None
    default_selected: int

    @property
    def mines(self):
        """Whether the policy selects regions."""
        return self.mined_in is not None

    def boxes(self, height, width, num_regions=12, factor=2):
        """The fixed and candidate boxes on an `height x width` image.

        Args:
            height: int, image height in pixels.
            width: int, image width in pixels.
            num_regions: int, N corner windows per mined area (4, 8, 12).
            factor: int, IDC's tiles per side.

        Returns:
            A `FormationBoxes`.

        Raises:
            UddError: no candidate is left (`tiles+regions` with N = 4).
        """
        tiles = uniform_boxes(height, width, factor)
        fixed = tiles if self.tiled else np.zeros((0, 4), np.int32)
        if not self.mines:
            return FormationBoxes(
                self.name,
                self.includes_original,
                fixed,
                np.zeros((0, 4), np.int32),
                np.zeros((0,), np.int32),
            )
        groups = np.repeat(np.arange(num_regions // 4, dtype=np.int32), 4)
        if self.mined_in == "tiles":
            inside = [
                candidate_boxes(bottom - top, right - left, num_regions)
                + np.array([top, left, top, left], np.int32)
                for top, left, bottom, right in tiles
            ]
            candidates = np.concatenate(inside)
            groups = np.tile(groups, len(tiles))
        else:
            candidates = candidate_boxes(height, width, num_regions)
        if self.tiled and self.mined_in == "image":
            keep = ~(candidates[:, None, :] == tiles[None, :, :]).all(-1).any(-1)
            if not keep.any():
                raise UddError(
                    f"formation {self.name!r} with N={num_regions} and factor "
                    f"{factor} leaves no candidate that is not a tile; use N=8 or 12"
                )
            candidates, groups = candidates[keep], groups[keep]
        return FormationBoxes(
            self.name, self.includes_original, fixed, candidates, groups
        )


_FORMATIONS = {
    f.name: f
    for f in (
        # name, includes_original, tiled, mined_in, fixed_policy, default P
        Formation("original", True, False, None, "none", 4),
        Formation("tiles", False, True, None, "uniform", 4),
        Formation("original+regions", True, False, "image", None, 8),
        Formation("tiles+regions", False, True, "image", None, 2),
        Formation("regions-in-tiles", False, True, "tiles", None, 4),
    )
}
FORMATIONS = tuple(_FORMATIONS)
MINED_FORMATIONS = tuple(n for n, f in _FORMATIONS.items() if f.mines)
# Formations that train on the whole image, and those built on IDC's tiles.
WHOLE_IMAGE_FORMATIONS = tuple(n for n, f in _FORMATIONS.items() if f.includes_original)
TILED_FORMATIONS = tuple(n for n, f in _FORMATIONS.items() if f.tiled)
DECODES = ("trained", "fixed")


def get_formation(name):
    """The `Formation` named `name`.

    Raises:
        UddError: `name` is not one of `FORMATIONS`.
    """
    if name not in _FORMATIONS:
        raise UddError(
            f"formation must be one of {', '.join(FORMATIONS)}; got {name!r}"
        )
    return _FORMATIONS[name]


def formation_boxes(name, height, width, num_regions=12, factor=2):
    """The fixed and candidate boxes of formation `name`.

    `get_formation(name).boxes(...)`: `name` is one of `FORMATIONS`, the other
    arguments and the result are those of `Formation.boxes`.

    Raises:
        UddError: an unknown formation, or one with no candidate left.

    Example:
    >>> boxes = formation_boxes("tiles+regions", 32, 32, num_regions=12)
    >>> len(boxes.fixed), len(boxes.candidates)
    (4, 8)
    """
    return get_formation(name).boxes(height, width, num_regions, factor)
