"""Damaged and foreign files given to the reader, `evaluate` and `mue`.

Truncated, bit-flipped and foreign files must give only clean errors: the reader
raises `TFRecordFormatError` (never another exception, never a large
allocation), and the CLI prints one `Error: ...` line naming the file and exits
2, never a traceback.
"""

import dataclasses
import json
import time

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import TFRecordFormatError
from udd_keras.tfrecords import (
    as_tf_dataset,
    read_metadata,
    read_synthetic_set,
    validate_file,
)
from udd_keras.tfrecords.schema import (
    MAGIC,
    MAGIC_KEY,
    METADATA_KEY,
    SCHEMA_VERSION,
    VERSION_KEY,
)
from udd_keras.tfrecords.writer import header_example, image_example

EVALUATE_FAST = ["--epochs", "1", "--repeats", "1", "--width", "4"]
MUE_FAST = ["--epochs", "1", "--width", "4"]


def _example(features):
    """A `tf.train.Example` of bytes / int features, serialised."""

    def feature(value):
        if isinstance(value, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    return tf.train.Example(
        features=tf.train.Features(
            feature={key: feature(value) for key, value in features.items()}
        )
    ).SerializeToString()


def _write_records(path, records, compression=None):
    with tf.io.TFRecordWriter(str(path), options=compression) as writer:
        for record in records:
            writer.write(record)
    return path


HANG_SECONDS = 60.0


def _reader_raises_only_format_errors(path):
    """Every reader entry point raises `TFRecordFormatError` or succeeds."""
    for reader in (read_metadata, read_synthetic_set, validate_file, as_tf_dataset):
        start = time.monotonic()
        try:
            reader(path)
        except TFRecordFormatError as error:
            message = str(error)
            assert "\n" not in message and message.startswith(str(path)), message
        # A bound against a hang (a corrupted length read as gigabytes), not a
        # timing: a reader takes well under a second, but a loaded 2-core
        # machine has taken over 10 s.
        assert time.monotonic() - start < HANG_SECONDS, reader.__name__


def _cli_refuses(run_cli, assert_one_line_error, path, commands=("evaluate",)):
    for command in commands:
        fast = EVALUATE_FAST if command == "evaluate" else MUE_FAST
        code, out, err = run_cli([command, path, *fast])
        assert_one_line_error(code, err, str(path))
        assert out == ""


@pytest.fixture(scope="module")
def valid_records(digits_set):
    """The header and image records of the valid digits set, as bytes."""
    return [record.numpy() for record in tf.data.TFRecordDataset(str(digits_set))]


def test_the_valid_set_is_accepted(digits_set):
    synthetic = read_synthetic_set(digits_set)
    assert synthetic.images.shape == (10, 8, 8, 1)
    assert synthetic.boxes.shape == (10, 1, 4)


def test_truncated_files(run_cli, assert_one_line_error, tmp_path, digits_set):
    data = digits_set.read_bytes()
    rng = np.random.default_rng(101)
    offsets = {0, 1, 11, 12, 13, len(data) - 1, len(data) - 4}
    offsets.update(int(v) for v in rng.integers(1, len(data), size=16))
    damaged = tmp_path / "truncated.tfrecord"
    for offset in sorted(offsets):
        damaged.write_bytes(data[:offset])
        _reader_raises_only_format_errors(damaged)
        commands = ("evaluate", "mue") if offset % 3 == 0 else ("evaluate",)
        _cli_refuses(run_cli, assert_one_line_error, damaged, commands)


def test_bit_flipped_files(run_cli, assert_one_line_error, tmp_path, digits_set):
    data = digits_set.read_bytes()
    rng = np.random.default_rng(202)
    damaged = tmp_path / "flipped.tfrecord"
    for trial in range(16):
        corrupted = bytearray(data)
        for _ in range(1 + trial % 3):
            position = int(rng.integers(len(corrupted)))
            corrupted[position] ^= 1 << int(rng.integers(8))
        damaged.write_bytes(bytes(corrupted))
        _reader_raises_only_format_errors(damaged)
        commands = ("evaluate", "mue") if trial % 4 == 0 else ("evaluate",)
        _cli_refuses(run_cli, assert_one_line_error, damaged, commands)


def _foreign_files(directory, valid_records):
    """Files that are not udd-keras synthetic sets, by name."""
    rng = np.random.default_rng(303)
    header, *images = valid_records
    metadata = read_metadata_from(header)
    files = {
        "empty.tfrecord": b"",
        "image.png": b"\x89PNG\r\n\x1a\n" + rng.bytes(200),
        "config.json": json.dumps({"dataset": "digits", "ipc": 1}).encode(),
        "noise.bin": rng.bytes(4096),
    }
    for name, content in files.items():
        (directory / name).write_bytes(content)
    np.savez(directory / "arrays.npz", x=np.zeros((2, 8, 8, 1)), y=np.zeros(2))
    _write_records(
        directory / "gzip.tfrecord", valid_records, tf.io.TFRecordOptions("GZIP")
    )
    _write_records(
        directory / "other-examples.tfrecord",
        [_example({"image/encoded": rng.bytes(64), "label": 3})] * 3,
    )
    _write_records(directory / "not-examples.tfrecord", [rng.bytes(50)] * 3)
    _write_records(
        directory / "wrong-magic.tfrecord",
        [_example({MAGIC_KEY: b"someone-else/v1", VERSION_KEY: 1}), *images],
    )
    _write_records(
        directory / "future-schema.tfrecord",
        [
            _example(
                {
                    MAGIC_KEY: MAGIC.encode(),
                    VERSION_KEY: SCHEMA_VERSION + 1,
                    METADATA_KEY: json.dumps({"a_future_field": 1}).encode(),
                }
            ),
            *images,
        ],
    )
    absurd = metadata.to_dict()
    absurd["image_shape"] = [100_000, 100_000, 3]
    _write_records(
        directory / "absurd-shape.tfrecord",
        [
            _example(
                {
                    MAGIC_KEY: MAGIC.encode(),
                    VERSION_KEY: SCHEMA_VERSION,
                    METADATA_KEY: json.dumps(absurd).encode(),
                }
            ),
            *images,
        ],
    )
    many = dataclasses.replace(metadata, ipc=100_000, num_images=1_000_000)
    _write_records(
        directory / "declares-a-million.tfrecord", [header_example(many), *images]
    )
    huge = image_example(np.zeros((600, 600, 1), np.float32), 0, [[0, 0, 4, 4]])
    _write_records(directory / "oversized-record.tfrecord", [header, huge, *images[1:]])
    short = image_example(np.zeros((4, 8, 1), np.float32), 0, [[0, 0, 4, 4]])
    _write_records(directory / "bytes-disagree.tfrecord", [header, short, *images[1:]])
    _write_records(directory / "header-only.tfrecord", [header])
    _write_records(directory / "duplicated.tfrecord", [header, *images, *images])
    return sorted(path for path in directory.iterdir())


def read_metadata_from(header):
    """`SyntheticSetMetadata` of a serialised header record."""
    from udd_keras.tfrecords.schema import SyntheticSetMetadata

    feature = tf.train.Example.FromString(header).features.feature
    text = feature[METADATA_KEY].bytes_list.value[0]
    return SyntheticSetMetadata.from_dict(json.loads(text))


def test_foreign_files(run_cli, assert_one_line_error, tmp_path, valid_records):
    paths = _foreign_files(tmp_path, valid_records)
    assert len(paths) == 16
    for path in paths:
        _reader_raises_only_format_errors(path)
        with pytest.raises(TFRecordFormatError):
            read_synthetic_set(path)
        _cli_refuses(run_cli, assert_one_line_error, path, ("evaluate", "mue"))


@pytest.mark.parametrize(
    "name, fragment",
    [
        (
            "future-schema.tfrecord",
            f"written by a newer udd-keras (schema {SCHEMA_VERSION + 1} > "
            f"{SCHEMA_VERSION})",
        ),
        ("absurd-shape.tfrecord", "image size 100000x100000 outside the allowed"),
        ("declares-a-million.tfrecord", "header declares 1000000"),
        ("oversized-record.tfrecord", "record 1 declares"),
        ("bytes-disagree.tfrecord", "record 1 image holds 128 bytes, expected 256"),
        ("gzip.tfrecord", "not a TFRecord file (bad length checksum"),
        ("wrong-magic.tfrecord", "not a udd-keras synthetic set"),
    ],
)
def test_the_message_says_what_is_wrong(
    run_cli, assert_one_line_error, tmp_path, valid_records, name, fragment
):
    _foreign_files(tmp_path, valid_records)
    code, _, err = run_cli(["evaluate", tmp_path / name, *EVALUATE_FAST])
    assert_one_line_error(code, err, str(tmp_path / name), fragment)


def test_a_set_of_another_shape_than_its_dataset(
    run_cli, assert_one_line_error, tmp_path, valid_records
):
    header, *images = valid_records
    metadata = read_metadata_from(header)
    other = dataclasses.replace(
        metadata,
        image_shape=(4, 4, 1),
        num_images=metadata.num_images,
        num_regions=0,
    )
    records = [
        image_example(np.zeros((4, 4, 1), np.float32), label, None)
        for label in range(10)
    ]
    path = _write_records(
        tmp_path / "shape.tfrecord", [header_example(other), *records]
    )
    code, _, err = run_cli(["evaluate", path, *EVALUATE_FAST])
    assert_one_line_error(code, err, "(4, 4, 1) do not match dataset 'digits'")
