"""Bounded scan of TFRecord framing, before TensorFlow reads a byte of payload.

A TFRecord record is `uint64 length | uint32 masked_crc32c(length) | data |
uint32 masked_crc32c(data)`, little-endian. TensorFlow allocates `length` bytes
as soon as the length checksum passes, so a hostile or damaged file could make it
allocate gigabytes. `scan_frames` walks the file with seeks only, verifies every
length checksum and bounds every length, so TensorFlow is only handed files whose
records are all within the sizes the header declares. The data checksums are then
verified by TensorFlow itself while reading.
"""

import os
import struct

from udd_keras.errors import TFRecordFormatError

FRAME_HEADER_BYTES = 12
FRAME_FOOTER_BYTES = 4


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli) of `data`, a bytes object (meant for short inputs)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """The masked CRC-32C that TFRecord stores for `data`."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_frame_header(handle, source, limit, index):
    """Reads one frame header and returns the record's data length, or None at EOF.

    Args:
        handle: binary file object positioned at a record boundary.
        source: str, the file path for messages.
        limit: int, the largest data length allowed for this record.
        index: int, record index for messages.

    Returns:
        int data length, or None when the file ends exactly here.
    """
    header = handle.read(FRAME_HEADER_BYTES)
    if not header:
        return None
    if len(header) < FRAME_HEADER_BYTES:
        raise TFRecordFormatError(
            f"{source}: truncated file (record {index} header cut short)"
        )
    length_bytes = header[:8]
    (length,) = struct.unpack("<Q", length_bytes)
    (length_crc,) = struct.unpack("<I", header[8:])
    if masked_crc32c(length_bytes) != length_crc:
        if index == 0:
            raise TFRecordFormatError(
                f"{source}: not a TFRecord file (bad length checksum in record 0)"
            )
        raise TFRecordFormatError(
            f"{source}: corrupted file (bad length checksum in record {index})"
        )
    if length > limit:
        raise TFRecordFormatError(
            f"{source}: record {index} declares {length} bytes, more than the "
            f"{limit} allowed"
        )
    return length


def scan_frames(path, header_limit, record_limit, max_records):
    """Checks the framing of every record without reading payloads.

    Args:
        path: str or path-like, the file.
        header_limit: int, largest data length allowed for record 0.
        record_limit: int, largest data length allowed for every later record.
        max_records: int, the number of records the file must not exceed.

    Returns:
        int, the number of records in the file.

    Raises:
        TFRecordFormatError: truncated file, bad length checksum, oversized
            record, or more than `max_records` records.
    """
    source = os.fspath(path)
    size = os.path.getsize(source)
    count = 0
    with open(source, "rb") as handle:
        while True:
            limit = header_limit if count == 0 else record_limit
            length = read_frame_header(handle, source, limit, count)
            if length is None:
                return count
            end = handle.tell() + length + FRAME_FOOTER_BYTES
            if end > size:
                raise TFRecordFormatError(
                    f"{source}: truncated file (record {count} needs {end} bytes, "
                    f"file has {size})"
                )
            count += 1
            if count > max_records:
                raise TFRecordFormatError(
                    f"{source}: more than the {max_records} records the header declares"
                )
            handle.seek(end)
