"""Damaged files raise TFRecordFormatError, never another exception, never hang."""

import time

import numpy as np

from udd_keras.errors import TFRecordFormatError
from udd_keras.tfrecords import read_synthetic_set
from udd_keras.tfrecords.framing import FRAME_HEADER_BYTES


def _read_expecting_format_error(path):
    start = time.monotonic()
    try:
        read_synthetic_set(path)
    except TFRecordFormatError as error:
        assert "\n" not in str(error)
        assert str(error).startswith(str(path))
    else:
        raise AssertionError(f"damaged file {path} was read without error")
    assert time.monotonic() - start < 10.0


def test_truncation_at_many_offsets(tmp_path, written_set):
    source = written_set[0]
    data = source.read_bytes()
    rng = np.random.default_rng(7)
    offsets = {0, 1, FRAME_HEADER_BYTES, len(data) - 1, len(data) - 4}
    offsets.update(int(v) for v in rng.integers(1, len(data), size=40))
    damaged = tmp_path / "damaged.tfrecord"
    for offset in sorted(offsets):
        damaged.write_bytes(data[:offset])
        _read_expecting_format_error(damaged)


def test_random_bit_flips(tmp_path, written_set):
    source = written_set[0]
    data = source.read_bytes()
    rng = np.random.default_rng(11)
    damaged = tmp_path / "damaged.tfrecord"
    for trial in range(60):
        corrupted = bytearray(data)
        for _ in range(1 + trial % 3):
            position = int(rng.integers(len(corrupted)))
            corrupted[position] ^= 1 << int(rng.integers(8))
        damaged.write_bytes(bytes(corrupted))
        _read_expecting_format_error(damaged)


def test_random_garbage_files(tmp_path):
    rng = np.random.default_rng(3)
    damaged = tmp_path / "garbage.bin"
    for size in [1, 11, 12, 13, 100, 4096]:
        damaged.write_bytes(rng.integers(0, 256, size=size, dtype=np.uint8).tobytes())
        _read_expecting_format_error(damaged)
