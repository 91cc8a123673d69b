"""Checks of imported arrays: layout, pixel space, labels, soft labels."""

import numpy as np
import pytest

from udd_keras.data import Normalization
from udd_keras.importing import SetImportError
from udd_keras.importing.arrays import (
    check_finite,
    check_labels,
    check_soft_labels,
    to_nhwc,
    to_unit_range,
)

SHAPE = (6, 5, 3)


def test_nchw_is_detected_and_transposed(rng):
    nhwc = rng.random((2, *SHAPE)).astype(np.float32)
    nchw = np.transpose(nhwc, (0, 3, 1, 2))
    np.testing.assert_array_equal(to_nhwc(nchw, SHAPE, "auto", "s"), nhwc)
    np.testing.assert_array_equal(to_nhwc(nhwc, SHAPE, "auto", "s"), nhwc)
    np.testing.assert_array_equal(to_nhwc(nchw, SHAPE, "nchw", "s"), nhwc)


def test_grayscale_without_channel_axis_gets_one(rng):
    images = rng.random((3, 8, 8))
    out = to_nhwc(images, (8, 8, 1), "auto", "s")
    assert out.shape == (3, 8, 8, 1) and out.dtype == np.float64
    np.testing.assert_array_equal(out[..., 0], images)


def test_ambiguous_shape_needs_a_layout_or_the_source_convention(rng):
    images = rng.random((2, 3, 3, 3))
    with pytest.raises(SetImportError, match="could be NHWC or NCHW; say which"):
        to_nhwc(images, (3, 3, 3), "auto", "s")
    out = to_nhwc(images, (3, 3, 3), "auto", "s", fallback="nchw")
    np.testing.assert_array_equal(out, np.transpose(images, (0, 2, 3, 1)))


@pytest.mark.parametrize(
    "shape, layout, message",
    [
        (
            (2, 32, 32, 3),
            "auto",
            r"\(2, 32, 32, 3\) do not fit the dataset's 6x5 images with 3 "
            r"channel\(s\); expected \(N, 6, 5, 3\) \(NHWC\) or \(N, 3, 6, 5\)",
        ),
        ((2, 6, 5, 3), "nchw", r"expected \(N, 3, 6, 5\) \(NCHW\)"),
        ((2, 6, 5), "auto", r"expected \(N, 6, 5, 3\) or \(N, 3, 6, 5\) with N > 0"),
        ((0, 6, 5, 3), "auto", "with N > 0"),
    ],
)
def test_shapes_that_do_not_fit_the_dataset_say_what_was_expected(
    shape, layout, message
):
    with pytest.raises(SetImportError, match=message):
        to_nhwc(np.zeros(shape, np.float32), SHAPE, layout, "set.npz")


def test_nan_and_inf_are_refused_with_the_first_bad_item():
    images = np.zeros((4, 2, 2, 1), np.float32)
    images[2, 0, 1, 0] = np.nan
    images[3, 1, 1, 0] = np.inf
    with pytest.raises(SetImportError, match=r"s: images hold 2 NaN .* item 2$"):
        check_finite(images, "s")


def test_normalised_pixels_come_back_to_unit_range(rng):
    unit = rng.random((2, 4, 4, 3)).astype(np.float32)
    norm = Normalization(mean=(0.4, 0.5, 0.6), std=(0.2, 0.3, 0.1))
    stored = norm.normalize(unit)
    back = to_unit_range(stored, norm, check_range=False, where="s")
    np.testing.assert_allclose(back, unit, atol=1e-6)


def test_uint8_pixels_are_divided_by_255():
    images = np.array([0, 51, 255], np.uint8).reshape(1, 1, 3, 1)
    out = to_unit_range(images, None, check_range=True, where="s")
    np.testing.assert_allclose(out.ravel(), [0.0, 0.2, 1.0])


def test_raw_pixels_outside_unit_range_hint_at_mean_and_std():
    images = np.array([-1.5, 0.0, 2.25], np.float32).reshape(1, 1, 3, 1)
    with pytest.raises(
        SetImportError, match=r"span \[-1.5, 2.25\], outside \[0, 1\]; .* --mean"
    ):
        to_unit_range(images, None, check_range=True, where="s")
    # Without the check (IDC keeps unclamped raw pixels) they pass unchanged.
    np.testing.assert_array_equal(
        to_unit_range(images, None, check_range=False, where="s"), images
    )


def test_mean_std_channel_count_must_match():
    norm = Normalization(mean=(0.5,), std=(0.5,))
    with pytest.raises(SetImportError, match=r"1 value\(s\) but the images have 3"):
        to_unit_range(np.zeros((1, 2, 2, 3), np.float32), norm, False, "s")


def test_labels_give_the_images_per_class():
    labels, ipc = check_labels(
        np.array([2, 0, 1, 1, 0, 2]), None, 6, ["a", "b", "c"], "s"
    )
    assert ipc == 2 and labels.dtype == np.int32
    np.testing.assert_array_equal(labels, [2, 0, 1, 1, 0, 2])


@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 1, 3, 1], r"label 3 outside the dataset's classes 0..2"),
        ([0, -1, 2, 1], r"label -1 outside"),
        ([0, 0, 1, 1], r"class 2 \('c'\) has no images"),
        ([0, 0, 1, 2], r"different numbers of images \(class 1: 1, class 0: 2\)"),
        ([0.0, 1.0, 2.0, 1.0], r"dtype float64; expected integer class ids"),
        ([0, 1, 2], r"shape \(3,\) .* expected integer class ids of shape \(4,\)"),
    ],
)
def test_bad_labels_are_one_line_errors(labels, message):
    with pytest.raises(SetImportError, match=message):
        check_labels(np.array(labels), None, 4, ["a", "b", "c"], "s")


def test_soft_labels_alone_give_argmax_class_ids():
    soft = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], np.float32)
    labels, ipc = check_labels(None, soft, 3, ["a", "b", "c"], "s")
    np.testing.assert_array_equal(labels, [0, 1, 2])
    assert ipc == 1
    soft[2] = [0.9, 0.05, 0.05]
    with pytest.raises(SetImportError, match=r"no images \(labels are the argmax"):
        check_labels(None, soft, 3, ["a", "b", "c"], "s")


@pytest.mark.parametrize(
    "soft, message",
    [
        (np.full((2, 2), 0.5), r"shape \(2, 2\) .* expected float \(2, 3\)"),
        (np.array([[0.5, 0.5, np.nan], [1, 0, 0]]), "soft labels hold 1 NaN"),
        (np.array([[1.5, -0.5, 0.0], [1, 0, 0]]), "image 0 holds negative .* softmax"),
        (np.array([[1.0, 0.0, 0.0], [0, 0, 0]]), "image 1 is all zeros"),
    ],
)
def test_bad_soft_labels_are_refused(soft, message):
    with pytest.raises(SetImportError, match=message):
        check_soft_labels(soft, 2, 3, "s")
