"""Every way a file can be wrong raises one clear line of TFRecordFormatError."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import TFRecordFormatError
from udd_keras.tfrecords import as_tf_dataset, read_metadata, read_synthetic_set
from udd_keras.tfrecords.schema import (
    MAGIC,
    MAGIC_KEY,
    METADATA_KEY,
    SCHEMA_VERSION,
    VERSION_KEY,
)
from udd_keras.tfrecords.writer import header_example, image_example


def _assert_format_error(path, fragment, reader=read_synthetic_set):
    with pytest.raises(TFRecordFormatError) as info:
        reader(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    assert fragment in message, message


def _header(metadata, **changes):
    complete = dataclasses.replace(metadata, num_images=6, num_regions=2)
    return header_example(dataclasses.replace(complete, **changes))


def _example(features):
    def feature(value):
        if isinstance(value, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    return tf.train.Example(
        features=tf.train.Features(
            feature={key: feature(value) for key, value in features.items()}
        )
    ).SerializeToString()


def _records(images, labels, boxes):
    return [
        image_example(i, lbl, b)
        for i, lbl, b in zip(images, labels, boxes, strict=True)
    ]


def test_missing_file(tmp_path):
    _assert_format_error(tmp_path / "nope.tfrecord", "file not found")
    _assert_format_error(tmp_path / "nope.tfrecord", "file not found", read_metadata)


def test_directory(tmp_path):
    _assert_format_error(tmp_path, "not a file", as_tf_dataset)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tfrecord"
    path.write_bytes(b"")
    _assert_format_error(path, "empty file, not a udd-keras synthetic set")


@pytest.mark.parametrize("content", [b"hello, I am a text file\n" * 4, b"\x00" * 5])
def test_not_a_tfrecord_file(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    fragment = "not a TFRecord file" if len(content) > 12 else "truncated"
    _assert_format_error(path, fragment)


def test_tfrecord_of_other_examples(tmp_path, write_records):
    path = write_records(
        tmp_path / "other.tfrecord",
        [_example({"image/encoded": b"\x89PNG", "label": 3})] * 3,
    )
    _assert_format_error(path, "not a udd-keras synthetic set (record 0 has no")


def test_tfrecord_of_non_example_bytes(tmp_path, write_records):
    path = write_records(tmp_path / "raw.tfrecord", [b"\x0f\xff\xff", b"abc"])
    _assert_format_error(path, "not a udd-keras synthetic set")


def test_wrong_magic(tmp_path, write_records):
    header = _example({MAGIC_KEY: b"someone-else", VERSION_KEY: 1})
    path = write_records(tmp_path / "m.tfrecord", [header])
    _assert_format_error(path, "not a udd-keras synthetic set (magic")


def test_newer_schema_version(tmp_path, write_records, toy_metadata):
    header = _example(
        {
            MAGIC_KEY: MAGIC.encode(),
            VERSION_KEY: SCHEMA_VERSION + 1,
            METADATA_KEY: json.dumps({"a_future_field": 1}).encode(),
        }
    )
    path = write_records(tmp_path / "future.tfrecord", [header])
    _assert_format_error(
        path,
        f"written by a newer udd-keras (schema {SCHEMA_VERSION + 1} > "
        f"{SCHEMA_VERSION}); upgrade",
        read_metadata,
    )


def test_unreadable_header_json(tmp_path, write_records):
    header = _example(
        {MAGIC_KEY: MAGIC.encode(), VERSION_KEY: 1, METADATA_KEY: b"{not json"}
    )
    path = write_records(tmp_path / "j.tfrecord", [header])
    _assert_format_error(path, "unreadable header metadata (JSONDecodeError")


def test_header_missing_fields(tmp_path, write_records):
    header = _example(
        {MAGIC_KEY: MAGIC.encode(), VERSION_KEY: 1, METADATA_KEY: b'{"ipc": 1}'}
    )
    path = write_records(tmp_path / "f.tfrecord", [header])
    _assert_format_error(path, "unreadable header metadata (TypeError")


def test_insane_declared_shape(tmp_path, write_records, toy_metadata):
    config = dataclasses.replace(toy_metadata, num_images=6, num_regions=0)
    config = config.to_dict()
    config["image_shape"] = [100_000, 100_000, 3]
    header = _example(
        {
            MAGIC_KEY: MAGIC.encode(),
            VERSION_KEY: SCHEMA_VERSION,
            METADATA_KEY: json.dumps(config).encode(),
        }
    )
    path = write_records(tmp_path / "big.tfrecord", [header])
    _assert_format_error(path, "image size 100000x100000 outside the allowed")


def test_truncated_mid_record(written_set):
    path = written_set[0]
    path.write_bytes(path.read_bytes()[:-100])
    _assert_format_error(path, "truncated file")


def test_record_count_below_header(tmp_path, write_records, toy_metadata, toy_arrays):
    records = _records(*toy_arrays)
    path = write_records(
        tmp_path / "few.tfrecord", [_header(toy_metadata), *records[:-1]]
    )
    _assert_format_error(path, "holds 5 image records, header declares 6")


def test_record_count_above_header(tmp_path, write_records, toy_metadata, toy_arrays):
    records = _records(*toy_arrays)
    path = write_records(
        tmp_path / "many.tfrecord", [_header(toy_metadata), *records, records[0]]
    )
    _assert_format_error(path, "more than the 7 records")


def test_crc_failure_is_wrapped(written_set):
    path = written_set[0]
    data = bytearray(path.read_bytes())
    data[-50] ^= 0x01  # inside the last image's pixels
    path.write_bytes(bytes(data))
    _assert_format_error(path, "corrupted or truncated file (DataLossError")
    _assert_format_error(path, "corrupted or truncated file", as_tf_dataset)


def test_image_byte_length_mismatch(tmp_path, write_records, toy_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    records = _records(images, labels, boxes)
    records[3] = image_example(images[3][:, :4], labels[3], boxes[3])
    path = write_records(tmp_path / "len.tfrecord", [_header(toy_metadata), *records])
    _assert_format_error(path, "record 4 image holds 192 bytes, expected 240")


def test_oversized_record_is_rejected_before_reading(
    tmp_path, write_records, toy_metadata, toy_arrays
):
    images, labels, boxes = toy_arrays
    records = _records(images, labels, boxes)
    records[0] = image_example(np.zeros((600, 600, 2), np.float32), 0, boxes[0])
    path = write_records(tmp_path / "huge.tfrecord", [_header(toy_metadata), *records])
    _assert_format_error(path, "record 1 declares")


def test_label_out_of_range_in_file(tmp_path, write_records, toy_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    records = _records(images, labels, boxes)
    records[1] = image_example(images[1], 7, boxes[1])
    path = write_records(tmp_path / "lab.tfrecord", [_header(toy_metadata), *records])
    _assert_format_error(path, "record 2 label 7 outside the allowed 0..2")


def test_class_counts_in_file(tmp_path, write_records, toy_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    records = _records(images, np.zeros_like(labels), boxes)
    path = write_records(tmp_path / "ipc.tfrecord", [_header(toy_metadata), *records])
    _assert_format_error(path, "class 0 has 6 images, header declares ipc=2")


def test_box_count_and_bounds_in_file(
    tmp_path, write_records, toy_metadata, toy_arrays
):
    images, labels, boxes = toy_arrays
    records = _records(images, labels, boxes)
    records[0] = image_example(images[0], labels[0], boxes[0][:1])
    path = write_records(tmp_path / "k.tfrecord", [_header(toy_metadata), *records])
    _assert_format_error(path, "record 1 holds 4 box values, expected 8")
    records[0] = image_example(images[0], labels[0], [[0, 0, 9, 9], [0, 0, 1, 1]])
    path = write_records(tmp_path / "b.tfrecord", [_header(toy_metadata), *records])
    _assert_format_error(path, "record 1 has a box outside the 6x5 image")


def test_soft_label_problems_in_file(tmp_path, write_records, toy_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    header = _header(toy_metadata, has_soft_labels=True)
    soft = np.full((6, 3), 1 / 3, np.float32)

    def records_with(index, soft_label):
        records = [
            image_example(i, lbl, b, s)
            for i, lbl, b, s in zip(images, labels, boxes, soft, strict=True)
        ]
        records[index] = image_example(
            images[index], labels[index], boxes[index], soft_label
        )
        return records

    cases = [
        (None, "record 3 has no 'image/soft_label' feature"),
        (np.ones(2, np.float32), "record 3 soft label holds 2 values, expected"),
        (np.array([0.5, -0.1, 0.6], np.float32), "record 3 soft label is not"),
        (np.array([0.5, np.inf, 0.6], np.float32), "record 3 soft label is not"),
        (np.zeros(3, np.float32), "record 3 soft label is not"),
    ]
    for case, (soft_label, fragment) in enumerate(cases):
        path = write_records(
            tmp_path / f"soft{case}.tfrecord", [header, *records_with(2, soft_label)]
        )
        _assert_format_error(path, fragment)
        _assert_format_error(path, fragment, as_tf_dataset)
