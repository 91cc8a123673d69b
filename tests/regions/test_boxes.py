import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.regions import candidate_boxes, uniform_boxes, window_side


@pytest.mark.parametrize(
    "side, expected", [(28, (14, 19, 9)), (32, (16, 21, 11)), (8, (4, 5, 3))]
)
def test_window_sides_round_half_up(side, expected):
    assert tuple(window_side(side, f) for f in (1 / 2, 2 / 3, 1 / 3)) == expected


def test_candidate_boxes_28px():
    boxes = candidate_boxes(28, 28, 12)
    assert boxes.shape == (12, 4) and boxes.dtype == np.int32
    np.testing.assert_array_equal(
        boxes[:4], [[0, 0, 14, 14], [0, 14, 14, 28], [14, 0, 28, 14], [14, 14, 28, 28]]
    )
    np.testing.assert_array_equal(boxes[4:8, 2] - boxes[4:8, 0], [19] * 4)
    np.testing.assert_array_equal(
        boxes[8:], [[0, 0, 9, 9], [0, 19, 9, 28], [19, 0, 28, 9], [19, 19, 28, 28]]
    )


def test_candidate_boxes_32px_corners_touch_edges():
    boxes = candidate_boxes(32, 32, 12)
    sizes = boxes[:, 2:] - boxes[:, :2]
    assert sorted(set(sizes[:, 0].tolist())) == [11, 16, 21]
    assert (boxes >= 0).all() and (boxes[:, 2:] <= 32).all()
    # each window size covers all four corners of the image
    for group in boxes.reshape(3, 4, 4):
        assert {(top, left) for top, left, _, _ in group} | {
            (b, r) for _, _, b, r in group
        } >= {
            (0, 0),
            (32, 32),
        }


@pytest.mark.parametrize("n, sizes", [(4, {14}), (8, {14, 19}), (12, {9, 14, 19})])
def test_number_of_regions_selects_window_sizes(n, sizes):
    boxes = candidate_boxes(28, 28, n)
    assert len(boxes) == n
    assert set((boxes[:, 2] - boxes[:, 0]).tolist()) == sizes


def test_bad_number_of_regions_names_allowed_values():
    with pytest.raises(UddError, match=r"one of \(4, 8, 12\), got 5"):
        candidate_boxes(28, 28, 5)


def test_uniform_boxes_tile_the_image_exactly():
    boxes = uniform_boxes(28, 28, 3)
    covered = np.zeros((28, 28), int)
    for top, left, bottom, right in boxes:
        covered[top:bottom, left:right] += 1
    assert (covered == 1).all()
