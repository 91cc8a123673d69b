"""Files of older schema versions stay readable.

`data/schema_v1.tfrecord` was written by the schema-1 writer (udd-keras commit
a944efe) from the `toy_metadata` and `toy_arrays` fixtures: 6 images of 6x5x2
with 2 boxes each, no soft labels.
"""

import dataclasses
import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import TFRecordFormatError
from udd_keras.tfrecords import (
    as_tf_dataset,
    decode_regions,
    read_metadata,
    read_synthetic_set,
    validate_file,
)
from udd_keras.tfrecords.schema import (
    MAGIC,
    MAGIC_KEY,
    METADATA_KEY,
    VERSION_KEY,
)
from udd_keras.tfrecords.writer import image_example

SCHEMA_V1_FILE = pathlib.Path(__file__).parent / "data" / "schema_v1.tfrecord"


def test_schema_v1_file_reads_bit_exact_without_soft_labels(toy_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    synthetic = read_synthetic_set(SCHEMA_V1_FILE)
    np.testing.assert_array_equal(
        synthetic.images.view(np.uint32), images.view(np.uint32)
    )
    np.testing.assert_array_equal(synthetic.labels, labels)
    np.testing.assert_array_equal(synthetic.boxes, boxes)
    assert synthetic.soft_labels is None
    meta = synthetic.metadata
    assert meta.schema_version == 1
    assert meta.has_soft_labels is False
    assert meta == dataclasses.replace(
        toy_metadata, num_images=6, num_regions=2, schema_version=1
    )
    assert read_metadata(SCHEMA_V1_FILE) == meta
    assert validate_file(SCHEMA_V1_FILE) == meta


def test_schema_v1_file_header_has_no_soft_label_key():
    header = next(iter(tf.data.TFRecordDataset(str(SCHEMA_V1_FILE)))).numpy()
    features = tf.train.Example.FromString(header).features.feature
    assert features[VERSION_KEY].int64_list.value == [1]
    assert "has_soft_labels" not in json.loads(
        features[METADATA_KEY].bytes_list.value[0]
    )


def test_schema_v1_file_decodes_and_streams(toy_arrays):
    _, labels, _ = toy_arrays
    images, decoded_labels = decode_regions(read_synthetic_set(SCHEMA_V1_FILE))
    assert images.shape == (18, 6, 5, 2)
    np.testing.assert_array_equal(decoded_labels, np.repeat(labels, 3))
    elements = list(
        as_tf_dataset(SCHEMA_V1_FILE, decode_regions=True).as_numpy_iterator()
    )
    np.testing.assert_allclose(np.stack([e[0] for e in elements]), images, atol=1e-6)
    with pytest.raises(TFRecordFormatError, match="stores no soft labels.*schema 1"):
        as_tf_dataset(SCHEMA_V1_FILE, labels="soft")


def _v1_header(metadata, **changes):
    """A schema-1 header: version 1, and no `has_soft_labels` key unless given."""
    config = dataclasses.replace(
        metadata, num_images=6, num_regions=2, schema_version=1
    ).to_dict()
    config.pop("has_soft_labels")
    config.update(changes)

    def feature(value):
        if isinstance(value, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    features = {
        MAGIC_KEY: MAGIC.encode(),
        VERSION_KEY: 1,
        METADATA_KEY: json.dumps(config).encode(),
    }
    return tf.train.Example(
        features=tf.train.Features(
            feature={key: feature(value) for key, value in features.items()}
        )
    ).SerializeToString()


def test_schema_v1_header_claiming_soft_labels_is_rejected(
    tmp_path, write_records, toy_metadata, toy_arrays
):
    soft = np.full(3, 1 / 3, np.float32)
    records = [
        image_example(i, lbl, b, soft) for i, lbl, b in zip(*toy_arrays, strict=True)
    ]
    path = write_records(
        tmp_path / "v1.tfrecord",
        [_v1_header(toy_metadata, has_soft_labels=True), *records],
    )
    with pytest.raises(TFRecordFormatError, match="schema 1 files cannot hold"):
        read_metadata(path)
    # Without the claim, a stray soft-label feature is ignored, as before.
    path = write_records(
        tmp_path / "v1-plain.tfrecord", [_v1_header(toy_metadata), *records]
    )
    assert read_synthetic_set(path).soft_labels is None
