import os

import numpy as np
import pytest

from udd_keras.errors import TFRecordFormatError
from udd_keras.tfrecords import read_synthetic_set, write_synthetic_set


def test_write_returns_path_and_leaves_no_temp_files(tmp_path, written_set):
    path = written_set[0]
    assert path == tmp_path / "set.tfrecord"
    assert sorted(os.listdir(tmp_path)) == ["set.tfrecord"]


def test_write_creates_parent_folders(tmp_path, toy_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    path = write_synthetic_set(
        tmp_path / "a" / "b" / "s.tfrecord", images, labels, toy_metadata
    )
    assert path.is_file()
    assert read_synthetic_set(path).boxes is None


def test_write_fills_counts_in_metadata(written_set):
    meta = read_synthetic_set(written_set[0]).metadata
    assert meta.num_images == 6
    assert meta.num_regions == 2


def _bad_inputs(images, labels, boxes):
    wrong_ipc = labels.copy()
    wrong_ipc[labels == 0] = 1
    outside = boxes.copy()
    outside[2, 1] = [0, 0, 7, 5]  # bottom 7 > H = 6
    empty = boxes.copy()
    empty[0, 0] = [2, 2, 2, 4]
    return [
        ((images[..., :1], labels, None), "do not match metadata image_shape"),
        ((images.astype(np.int32), labels, None), "must be floating"),
        ((np.where(images > 2, np.nan, images), labels, None), "NaN"),
        ((images, labels[:-1], None), "labels of shape (5,)"),
        ((images, np.where(labels == 2, 3, labels), None), "label 3 outside"),
        ((images, wrong_ipc, None), "class 0 has 0 images"),
        ((images, labels, boxes[..., :3]), "boxes of shape (6, 2, 3)"),
        ((images, labels, boxes.astype(np.float32)), "dtype float32"),
        ((images, labels, outside), "box [0, 0, 7, 5] of image 2"),
        ((images, labels, empty), "box [2, 2, 2, 4] of image 0"),
    ]


@pytest.mark.parametrize("case", range(10))
def test_validation_failure_writes_nothing(tmp_path, toy_metadata, toy_arrays, case):
    (images, labels, boxes), fragment = _bad_inputs(*toy_arrays)[case]
    with pytest.raises(TFRecordFormatError) as info:
        write_synthetic_set(
            tmp_path / "s.tfrecord", images, labels, toy_metadata, boxes=boxes
        )
    assert fragment in str(info.value)
    assert os.listdir(tmp_path) == []


def test_include_original_false_needs_boxes(tmp_path, make_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    with pytest.raises(TFRecordFormatError, match="no boxes"):
        write_synthetic_set(
            tmp_path / "s.tfrecord",
            images,
            labels,
            make_metadata(include_original=False),
        )
    assert os.listdir(tmp_path) == []


def test_declared_counts_must_match(tmp_path, make_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    with pytest.raises(TFRecordFormatError, match="num_regions=3 but"):
        write_synthetic_set(
            tmp_path / "s.tfrecord",
            images,
            labels,
            make_metadata(num_regions=3),
            boxes=boxes,
        )


def test_unserialisable_extra_is_rejected(tmp_path, make_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    with pytest.raises(TFRecordFormatError, match="not JSON-serialisable"):
        write_synthetic_set(
            tmp_path / "s.tfrecord", images, labels, make_metadata(extra={"f": object})
        )
    assert os.listdir(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path, written_set, toy_metadata):
    path, images, labels, boxes = written_set
    before = path.read_bytes()
    with pytest.raises(TFRecordFormatError):
        write_synthetic_set(path, images, labels[::-1][:-1], toy_metadata)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["set.tfrecord"]


def test_failure_while_writing_removes_temp_file(
    tmp_path, toy_metadata, toy_arrays, monkeypatch
):
    from udd_keras.tfrecords import writer

    images, labels, _ = toy_arrays
    calls = []

    def failing_example(*args):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return b"x"

    monkeypatch.setattr(writer, "image_example", failing_example)
    with pytest.raises(OSError, match="disk full"):
        write_synthetic_set(tmp_path / "s.tfrecord", images, labels, toy_metadata)
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_content(tmp_path, written_set, toy_metadata, make_arrays):
    path = written_set[0]
    images, labels, _ = make_arrays(seed=5)
    write_synthetic_set(path, images, labels, toy_metadata)
    restored = read_synthetic_set(path)
    np.testing.assert_array_equal(restored.images, images)
    assert restored.boxes is None


def _soft_labels(labels, num_classes=3, seed=0):
    """Rows that put most mass on each image's own class."""
    rng = np.random.default_rng(seed)
    soft = rng.uniform(0.0, 0.2, size=(len(labels), num_classes))
    soft[np.arange(len(labels)), labels] += 1.0
    return (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)


def test_soft_labels_round_trip_bit_exact(tmp_path, toy_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    soft = _soft_labels(labels)
    soft[0] = [0.0, 1e-45, 1.0]  # zeros and subnormals survive
    path = write_synthetic_set(
        tmp_path / "s.tfrecord", images, labels, toy_metadata, boxes, soft_labels=soft
    )
    restored = read_synthetic_set(path)
    assert restored.soft_labels.dtype == np.float32
    np.testing.assert_array_equal(
        restored.soft_labels.view(np.uint32), soft.view(np.uint32)
    )
    assert restored.metadata.has_soft_labels is True
    assert restored.metadata.schema_version == 2
    np.testing.assert_array_equal(restored.images, images)


def test_float64_soft_labels_are_stored_as_float32(tmp_path, toy_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    soft = _soft_labels(labels).astype(np.float64) * 3  # rows need not sum to 1
    path = write_synthetic_set(
        tmp_path / "s.tfrecord", images, labels, toy_metadata, soft_labels=soft
    )
    np.testing.assert_array_equal(
        read_synthetic_set(path).soft_labels, soft.astype(np.float32)
    )


def test_set_without_soft_labels_says_so(written_set):
    restored = read_synthetic_set(written_set[0])
    assert restored.soft_labels is None
    assert restored.metadata.has_soft_labels is False


def _bad_soft_labels(labels):
    soft = _soft_labels(labels)
    negative = soft.copy()
    negative[4, 1] = -0.25
    nan = soft.copy()
    nan[2, 0] = np.nan
    zero_row = soft.copy()
    zero_row[3] = 0.0
    return [
        (soft[:, :2], "soft_labels of shape (6, 2) and dtype float32 must be"),
        (soft[:5], "soft_labels of shape (5, 3)"),
        (soft > 0.5, "dtype bool must be numbers of shape (6, 3)"),
        (negative, "soft label of image 4 holds -0.25 for class 1; values must "),
        (nan, "soft label of image 2 holds nan for class 0; values must be finite"),
        (soft.astype(np.float64) * 1e300, "must be finite"),  # float32 overflow
        (zero_row, "soft label of image 3 is all zeros"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_bad_soft_labels_write_nothing(tmp_path, toy_metadata, toy_arrays, case):
    images, labels, _ = toy_arrays
    soft, fragment = _bad_soft_labels(labels)[case]
    with pytest.raises(TFRecordFormatError) as info:
        write_synthetic_set(
            tmp_path / "s.tfrecord", images, labels, toy_metadata, soft_labels=soft
        )
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_declared_soft_labels_must_be_given(tmp_path, make_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    with pytest.raises(TFRecordFormatError, match="has_soft_labels is true but no"):
        write_synthetic_set(
            tmp_path / "s.tfrecord",
            images,
            labels,
            make_metadata(has_soft_labels=True),
        )
    assert os.listdir(tmp_path) == []
