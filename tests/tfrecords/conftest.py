"""Fixtures for the TFRecord tests: a tiny valid synthetic set and file helpers.

`make_metadata` (the toy set's metadata) is the shared one of tests/conftest.py.
"""

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.tfrecords import write_synthetic_set


def _make_arrays(metadata, seed=0, num_regions=2):
    rng = np.random.default_rng(seed)
    height, width, _ = metadata.image_shape
    count = metadata.ipc * metadata.num_classes
    images = rng.normal(size=(count, *metadata.image_shape)).astype(np.float32)
    labels = np.repeat(np.arange(metadata.num_classes), metadata.ipc)
    rng.shuffle(labels)
    tops = rng.integers(0, height - 1, size=(count, num_regions))
    lefts = rng.integers(0, width - 1, size=(count, num_regions))
    bottoms = tops + 1 + rng.integers(0, height - tops)
    rights = lefts + 1 + rng.integers(0, width - lefts)
    boxes = np.stack(
        [tops, lefts, np.minimum(bottoms, height), np.minimum(rights, width)], axis=-1
    ).astype(np.int32)
    return images, labels.astype(np.int32), boxes


def _write_records(path, records):
    """Writes raw byte records as a TFRecord file."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    return path


@pytest.fixture
def make_arrays(toy_metadata):
    """`fn(seed=0, num_regions=2, metadata=None)`: images, labels and boxes of a
    set of `metadata` (the toy set's by default)."""

    def make(seed=0, num_regions=2, metadata=None):
        return _make_arrays(metadata or toy_metadata, seed, num_regions)

    return make


@pytest.fixture
def write_records():
    return _write_records


@pytest.fixture
def toy_metadata(make_metadata):
    return make_metadata()


@pytest.fixture
def toy_arrays(toy_metadata):
    return _make_arrays(toy_metadata)


@pytest.fixture
def written_set(tmp_path, toy_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    path = write_synthetic_set(
        tmp_path / "set.tfrecord", images, labels, toy_metadata, boxes=boxes
    )
    return path, images, labels, boxes
