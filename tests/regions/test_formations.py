import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.regions import candidate_boxes, uniform_boxes, window_side
from udd_keras.regions.boxes import WINDOW_FRACTIONS
from udd_keras.regions.formations import (
    DECODES,
    FORMATIONS,
    MINED_FORMATIONS,
    formation_boxes,
)


def test_the_formation_names():
    assert FORMATIONS == (
        "original",
        "tiles",
        "original+regions",
        "tiles+regions",
        "regions-in-tiles",
    )
    assert FORMATIONS[2:] == MINED_FORMATIONS
    assert DECODES == ("trained", "fixed")


# (formation, whole image trained on, fixed boxes, candidates) with N=12, factor 2.
COUNTS = [
    ("original", True, 0, 0),
    ("tiles", False, 4, 0),
    ("original+regions", True, 0, 12),
    ("tiles+regions", False, 4, 8),
    ("regions-in-tiles", False, 4, 48),
]


@pytest.mark.parametrize("side", [28, 32])
@pytest.mark.parametrize("name, original, fixed, candidates", COUNTS)
def test_fixed_and_candidate_counts(side, name, original, fixed, candidates):
    boxes = formation_boxes(name, side, side)
    assert boxes.name == name
    assert boxes.includes_original is original
    assert boxes.fixed.shape == (fixed, 4) and boxes.fixed.dtype == np.int32
    assert boxes.candidates.shape == (candidates, 4)
    assert boxes.candidates.dtype == np.int32
    assert boxes.size_groups.shape == (candidates,)
    assert boxes.mines is (candidates > 0)


@pytest.mark.parametrize(
    "name, num_regions, candidates",
    [
        ("original+regions", 4, 4),
        ("original+regions", 8, 8),
        ("tiles+regions", 8, 4),
        ("regions-in-tiles", 4, 16),
        ("regions-in-tiles", 8, 32),
    ],
)
def test_candidate_counts_follow_num_regions(name, num_regions, candidates):
    boxes = formation_boxes(name, 32, 32, num_regions=num_regions)
    assert len(boxes.candidates) == candidates


@pytest.mark.parametrize("side", [28, 32])
def test_fixed_boxes_are_idcs_tiles(side):
    for name in ("tiles", "tiles+regions", "regions-in-tiles"):
        np.testing.assert_array_equal(
            formation_boxes(name, side, side).fixed, uniform_boxes(side, side, 2)
        )
    np.testing.assert_array_equal(
        formation_boxes("tiles", side, side, factor=3).fixed,
        uniform_boxes(side, side, 3),
    )


@pytest.mark.parametrize("side", [28, 32])
def test_original_regions_mines_every_corner_window(side):
    boxes = formation_boxes("original+regions", side, side)
    np.testing.assert_array_equal(boxes.candidates, candidate_boxes(side, side, 12))


@pytest.mark.parametrize("side", [8, 28, 32])
def test_tiles_regions_candidates_are_never_a_tile(side):
    boxes = formation_boxes("tiles+regions", side, side)
    tiles = {tuple(box) for box in boxes.fixed.tolist()}
    candidates = [tuple(box) for box in boxes.candidates.tolist()]
    assert not tiles & set(candidates)
    assert len(set(candidates)) == len(candidates) == 8
    # On an even side the 1/2 windows are exactly the tiles: what is left are
    # the 2/3 and 1/3 windows, in candidate order.
    np.testing.assert_array_equal(boxes.candidates, candidate_boxes(side, side)[4:])


@pytest.mark.parametrize("side", [28, 32])
def test_regions_in_tiles_candidates_lie_inside_their_tile(side):
    boxes = formation_boxes("regions-in-tiles", side, side, num_regions=12)
    per_tile = boxes.candidates.reshape(4, 12, 4)
    for tile, windows in zip(boxes.fixed, per_tile, strict=True):
        top, left, bottom, right = tile
        assert (windows[:, 0] >= top).all() and (windows[:, 1] >= left).all()
        assert (windows[:, 2] <= bottom).all() and (windows[:, 3] <= right).all()
        # The corner windows of the tile itself, shifted to where the tile is.
        offset = np.array([top, left, top, left])
        np.testing.assert_array_equal(
            windows, candidate_boxes(bottom - top, right - left, 12) + offset
        )


def test_size_groups_name_the_window_size():
    mined = formation_boxes("original+regions", 32, 32, num_regions=12)
    np.testing.assert_array_equal(mined.size_groups, np.repeat([0, 1, 2], 4))
    sides = mined.candidates[:, 2] - mined.candidates[:, 0]
    expected = [window_side(32, WINDOW_FRACTIONS[g]) for g in mined.size_groups]
    np.testing.assert_array_equal(sides, expected)  # 16, 21, 11 px

    # The 1/2 windows are the tiles, so group 0 is not among the candidates.
    tiled = formation_boxes("tiles+regions", 32, 32, num_regions=12)
    np.testing.assert_array_equal(tiled.size_groups, [1, 1, 1, 1, 2, 2, 2, 2])

    inside = formation_boxes("regions-in-tiles", 32, 32, num_regions=8)
    np.testing.assert_array_equal(inside.size_groups, np.tile(np.repeat([0, 1], 4), 4))
    assert inside.size_groups.dtype == np.int32
    for name in ("original", "tiles"):
        assert formation_boxes(name, 32, 32).size_groups.shape == (0,)


def test_unknown_formation_names_the_allowed_ones():
    with pytest.raises(
        UddError,
        match=r"formation must be one of original, tiles, original\+regions, "
        r"tiles\+regions, regions-in-tiles; got 'grid'",
    ):
        formation_boxes("grid", 32, 32)


def test_tiles_regions_with_four_regions_has_no_candidate():
    with pytest.raises(
        UddError,
        match=r"formation 'tiles\+regions' with N=4 and factor 2 leaves no "
        r"candidate that is not a tile; use N=8 or 12",
    ):
        formation_boxes("tiles+regions", 32, 32, num_regions=4)
