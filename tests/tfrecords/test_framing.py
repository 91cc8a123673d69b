import struct

import pytest

from udd_keras.errors import TFRecordFormatError
from udd_keras.tfrecords.framing import crc32c, masked_crc32c, scan_frames


def test_crc32c_check_value():
    # The standard CRC-32C check value of "123456789".
    assert crc32c(b"123456789") == 0xE3069283


def test_masked_crc_matches_what_tensorflow_writes(tmp_path, write_records):
    path = write_records(tmp_path / "r.tfrecord", [b"hello", b"world!"])
    data = path.read_bytes()
    length_bytes = data[:8]
    assert struct.unpack("<Q", length_bytes)[0] == 5
    assert struct.unpack("<I", data[8:12])[0] == masked_crc32c(length_bytes)
    assert struct.unpack("<I", data[17:21])[0] == masked_crc32c(b"hello")


def test_scan_counts_records(tmp_path, write_records):
    path = write_records(tmp_path / "r.tfrecord", [b"a" * 10, b"b" * 3, b""])
    assert scan_frames(path, 100, 100, max_records=5) == 3


def test_scan_rejects_oversized_record_before_reading_it(tmp_path, write_records):
    path = write_records(tmp_path / "r.tfrecord", [b"h", b"x" * 50])
    with pytest.raises(TFRecordFormatError, match="record 1 declares 50 bytes"):
        scan_frames(path, 100, 40, max_records=5)


def test_scan_rejects_extra_records(tmp_path, write_records):
    path = write_records(tmp_path / "r.tfrecord", [b"h", b"a", b"b"])
    with pytest.raises(TFRecordFormatError, match="more than the 2 records"):
        scan_frames(path, 100, 100, max_records=2)


def test_scan_rejects_truncation(tmp_path, write_records):
    path = write_records(tmp_path / "r.tfrecord", [b"h", b"abcdef"])
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(TFRecordFormatError, match="truncated file"):
        scan_frames(path, 100, 100, max_records=5)
