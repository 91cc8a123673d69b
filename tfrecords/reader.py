"""Reads synthetic sets back: metadata, numpy arrays, or a `tf.data` pipeline.

Every read validates the whole file before returning anything: the framing is
scanned with bounded lengths (`framing.scan_frames`), TensorFlow verifies every
record checksum, and every record is checked against the header (byte length,
label range, box count and bounds, soft labels, images per class). Any problem
raises `TFRecordFormatError` with one line naming the file.

Every schema version up to `SCHEMA_VERSION` is read: version-1 files differ only
in having no soft labels (`has_soft_labels` is false for them).
"""

import json
import os
import pathlib

import numpy as np
import tensorflow as tf

from udd_keras.errors import TFRecordFormatError, UddError
from udd_keras.tfrecords import schema
from udd_keras.tfrecords.framing import read_frame_header, scan_frames
from udd_keras.tfrecords.schema import (
    SyntheticSet,
    SyntheticSetMetadata,
    inside_image,
    max_record_bytes,
    validate_metadata,
    wrong_class_count,
)

DECODE_BATCH_SIZE = 64

# What `as_tf_dataset` yields as the label of each image: the class index, or
# the stored class-probability vector.
LABEL_KINDS = ("hard", "soft")


def _check_file(path):
    path = pathlib.Path(path)
    if not path.exists():
        raise TFRecordFormatError(f"{path}: file not found")
    if not path.is_file():
        raise TFRecordFormatError(f"{path}: not a file")
    return path


def _raw_records(path):
    """Yields the payload of every record as bytes; TF verifies checksums."""
    try:
        for record in tf.data.TFRecordDataset(os.fspath(path)):
            yield record.numpy()
    except tf.errors.OpError as error:
        detail = (error.message or "").strip().splitlines()
        detail = detail[0] if detail else ""
        raise TFRecordFormatError(
            f"{path}: corrupted or truncated file ({type(error).__name__}: {detail})"
        ) from None


def _parse_example(data, path, index):
    try:
        return tf.train.Example.FromString(data).features.feature
    except Exception:  # protobuf raises DecodeError and, on some inputs, others
        raise TFRecordFormatError(
            f"{path}: record {index} is not a tf.train.Example; "
            "not a udd-keras synthetic set"
        ) from None


def _single(feature_map, key, kind, path, index):
    """Returns the one value of feature `key`, of list kind `kind`."""
    if key not in feature_map:
        raise TFRecordFormatError(f"{path}: record {index} has no '{key}' feature")
    values = getattr(feature_map[key], kind).value
    if len(values) != 1:
        raise TFRecordFormatError(
            f"{path}: record {index} feature '{key}' holds {len(values)} values, "
            "expected 1"
        )
    return values[0]


def _parse_header(data, path):
    feature_map = _parse_example(data, path, 0)
    if schema.MAGIC_KEY not in feature_map:
        raise TFRecordFormatError(
            f"{path}: not a udd-keras synthetic set (record 0 has no "
            f"'{schema.MAGIC_KEY}' feature)"
        )
    magic = feature_map[schema.MAGIC_KEY].bytes_list.value
    if list(magic) != [schema.MAGIC.encode()]:
        raise TFRecordFormatError(
            f"{path}: not a udd-keras synthetic set (magic {magic[:1]!r}, "
            f"expected {schema.MAGIC!r})"
        )
    version = _single(feature_map, schema.VERSION_KEY, "int64_list", path, 0)
    if version > schema.SCHEMA_VERSION:
        raise TFRecordFormatError(
            f"{path}: written by a newer udd-keras (schema {version} > "
            f"{schema.SCHEMA_VERSION}); upgrade"
        )
    if version < 1:
        raise TFRecordFormatError(f"{path}: invalid schema version {version}")
    text = _single(feature_map, schema.METADATA_KEY, "bytes_list", path, 0)
    try:
        config = json.loads(text.decode("utf-8"))
        metadata = SyntheticSetMetadata.from_dict(config)
    except Exception as error:  # bad JSON, missing or mistyped fields
        raise TFRecordFormatError(
            f"{path}: unreadable header metadata ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''})"
        ) from None
    if metadata.schema_version != version:
        raise TFRecordFormatError(
            f"{path}: header metadata says schema {metadata.schema_version!r}, "
            f"the '{schema.VERSION_KEY}' feature says {version}"
        )
    if metadata.has_soft_labels and version < schema.SOFT_LABELS_SINCE_VERSION:
        raise TFRecordFormatError(
            f"{path}: header declares soft labels, which schema {version} files "
            f"cannot hold (added in schema {schema.SOFT_LABELS_SINCE_VERSION})"
        )
    if metadata.num_images is None or metadata.num_regions is None:
        raise TFRecordFormatError(
            f"{path}: header metadata lacks num_images or num_regions"
        )
    validate_metadata(metadata, source=str(path))
    if not metadata.include_original and metadata.num_regions == 0:
        raise TFRecordFormatError(
            f"{path}: include_original is false but no regions are stored; "
            "the set would decode to no images"
        )
    return metadata


def read_metadata(path):
    """Reads and validates the header of a synthetic-set file.

    Only the header record is read; use `read_synthetic_set` to validate the
    whole file.

    Args:
        path: str or path-like, a file written by `write_synthetic_set`.

    Returns:
        `SyntheticSetMetadata`.

    Example:
    >>> meta = read_metadata("synthetic.tfrecord")  # doctest: +SKIP
    >>> meta.image_shape, meta.ipc  # doctest: +SKIP
    ((32, 32, 3), 10)
    """
    path = _check_file(path)
    size = path.stat().st_size
    if size == 0:
        raise TFRecordFormatError(f"{path}: empty file, not a udd-keras synthetic set")
    with open(path, "rb") as handle:
        length = read_frame_header(handle, str(path), schema.MAX_HEADER_BYTES, 0)
    if length is None or length + 16 > size:
        raise TFRecordFormatError(f"{path}: truncated file (header record cut short)")
    records = _raw_records(path)
    header = next(records, None)
    records.close()
    if header is None:
        raise TFRecordFormatError(f"{path}: truncated file (no header record)")
    return _parse_header(header, path)


def _parse_soft_label(feature_map, path, index, metadata):
    """The record's soft label as float32 (num_classes,), validated."""
    if schema.SOFT_LABEL_KEY not in feature_map:
        raise TFRecordFormatError(
            f"{path}: record {index} has no '{schema.SOFT_LABEL_KEY}' feature; the "
            "header declares soft labels"
        )
    values = feature_map[schema.SOFT_LABEL_KEY].float_list.value
    if len(values) != metadata.num_classes:
        raise TFRecordFormatError(
            f"{path}: record {index} soft label holds {len(values)} values, "
            f"expected num_classes={metadata.num_classes}"
        )
    soft_label = np.asarray(values, np.float32)
    if not (
        np.all(np.isfinite(soft_label))
        and np.all(soft_label >= 0)
        and soft_label.sum() > 0
    ):
        raise TFRecordFormatError(
            f"{path}: record {index} soft label is not finite and non-negative "
            "with a positive sum"
        )
    return soft_label


def _parse_image_record(data, path, index, metadata):
    """Decodes one image record into (image, label, boxes, soft_label) values;
    soft_label is None when the set has none."""
    feature_map = _parse_example(data, path, index)
    raw = _single(feature_map, schema.IMAGE_KEY, "bytes_list", path, index)
    if len(raw) != metadata.image_bytes:
        raise TFRecordFormatError(
            f"{path}: record {index} image holds {len(raw)} bytes, expected "
            f"{metadata.image_bytes} for shape {metadata.image_shape} float32"
        )
    image = np.frombuffer(raw, dtype="<f4").reshape(metadata.image_shape)
    label = _single(feature_map, schema.LABEL_KEY, "int64_list", path, index)
    if not 0 <= label < metadata.num_classes:
        raise TFRecordFormatError(
            f"{path}: record {index} label {label} outside the allowed "
            f"0..{metadata.num_classes - 1}"
        )
    flat = (
        feature_map[schema.BOXES_KEY].int64_list.value
        if schema.BOXES_KEY in feature_map
        else []
    )
    if len(flat) != 4 * metadata.num_regions:
        raise TFRecordFormatError(
            f"{path}: record {index} holds {len(flat)} box values, expected "
            f"{4 * metadata.num_regions} (num_regions={metadata.num_regions})"
        )
    boxes = np.asarray(flat, dtype=np.int64).reshape(metadata.num_regions, 4)
    height, width = metadata.image_shape[:2]
    if not np.all(inside_image(boxes, height, width)):
        raise TFRecordFormatError(
            f"{path}: record {index} has a box outside the {height}x{width} image"
        )
    soft_label = None
    if metadata.has_soft_labels:
        soft_label = _parse_soft_label(feature_map, path, index, metadata)
    return image, label, boxes.astype(np.int32), soft_label


def _iter_image_records(path, metadata):
    """Validates framing, then yields every decoded image record in order."""
    expected = 1 + metadata.num_images
    count = scan_frames(
        path, schema.MAX_HEADER_BYTES, max_record_bytes(metadata), max_records=expected
    )
    if count != expected:
        raise TFRecordFormatError(
            f"{path}: holds {count - 1} image records, header declares "
            f"{metadata.num_images} (truncated file?)"
        )
    records = _raw_records(path)
    next(records, None)
    for index, data in enumerate(records, start=1):
        yield _parse_image_record(data, path, index, metadata)


def _check_class_counts(labels, metadata, path):
    wrong = wrong_class_count(labels, metadata)
    if wrong is not None:
        raise TFRecordFormatError(
            f"{path}: class {wrong[0]} has {wrong[1]} images, header declares "
            f"ipc={metadata.ipc}"
        )


def read_synthetic_set(path):
    """Reads and validates a whole synthetic-set file into numpy arrays.

    Args:
        path: str or path-like, a file written by `write_synthetic_set`.

    Returns:
        `SyntheticSet` with images float32 (N, H, W, C) bit-exact as written,
        labels int32 (N,), boxes int32 (N, K, 4) or None when K = 0, metadata,
        and soft_labels float32 (N, num_classes) as written, or None when the
        set stores none (always None for schema-1 files).

    Example:
    >>> synthetic = read_synthetic_set("synthetic.tfrecord")  # doctest: +SKIP
    >>> synthetic.images.shape  # doctest: +SKIP
    (100, 32, 32, 3)
    """
    path = _check_file(path)
    metadata = read_metadata(path)
    count = metadata.num_images
    images = np.empty((count, *metadata.image_shape), np.float32)
    labels = np.empty((count,), np.int32)
    boxes = np.empty((count, metadata.num_regions, 4), np.int32)
    soft_labels = None
    if metadata.has_soft_labels:
        soft_labels = np.empty((count, metadata.num_classes), np.float32)
    for index, (image, label, image_boxes, soft_label) in enumerate(
        _iter_image_records(path, metadata)
    ):
        images[index] = image
        labels[index] = label
        boxes[index] = image_boxes
        if soft_labels is not None:
            soft_labels[index] = soft_label
    _check_class_counts(labels, metadata, path)
    return SyntheticSet(
        images=images,
        labels=labels,
        boxes=boxes if metadata.num_regions else None,
        metadata=metadata,
        soft_labels=soft_labels,
    )


def validate_file(path):
    """Validates a whole synthetic-set file without keeping its images.

    Args:
        path: str or path-like.

    Returns:
        `SyntheticSetMetadata` of the valid file.
    """
    path = _check_file(path)
    metadata = read_metadata(path)
    labels = [record[1] for record in _iter_image_records(path, metadata)]
    _check_class_counts(np.asarray(labels, np.int64), metadata, path)
    return metadata


def _images_per_stored(metadata):
    return metadata.num_regions + int(metadata.include_original)


def _record_parser(metadata):
    height, width, channels = metadata.image_shape
    spec = {
        schema.IMAGE_KEY: tf.io.FixedLenFeature([], tf.string),
        schema.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
        schema.BOXES_KEY: tf.io.VarLenFeature(tf.int64),
    }
    if metadata.has_soft_labels:
        spec[schema.SOFT_LABEL_KEY] = tf.io.FixedLenFeature(
            [metadata.num_classes], tf.float32
        )

    def parse(serialized):
        features = tf.io.parse_single_example(serialized, spec)
        image = tf.io.decode_raw(
            features[schema.IMAGE_KEY], tf.float32, little_endian=True
        )
        image = tf.reshape(image, [height, width, channels])
        label = tf.cast(features[schema.LABEL_KEY], tf.int32)
        boxes = tf.sparse.to_dense(features[schema.BOXES_KEY])
        boxes = tf.reshape(tf.cast(boxes, tf.int32), [metadata.num_regions, 4])
        if metadata.has_soft_labels:
            soft_label = features[schema.SOFT_LABEL_KEY]
        else:
            soft_label = tf.zeros([0], tf.float32)
        return image, label, boxes, soft_label

    return parse


def check_label_kind(labels):
    """Raises `UddError` unless `labels` is one of `LABEL_KINDS`."""
    if labels not in LABEL_KINDS:
        raise UddError(
            f"Unknown labels {labels!r}; choose from {', '.join(LABEL_KINDS)}."
        )


def _require_soft_labels(metadata, source):
    if not metadata.has_soft_labels:
        raise TFRecordFormatError(
            f"{source}: the set stores no soft labels (method "
            f"{metadata.method!r}, schema {metadata.schema_version})"
        )


def as_tf_dataset(path, decode_regions=False, labels="hard"):
    """A `tf.data.Dataset` of the stored, or the decoded, synthetic images.

    The file is validated in full first (one pass), so a damaged file raises
    `TFRecordFormatError` here rather than while iterating.

    Args:
        path: str or path-like, a file written by `write_synthetic_set`.
        decode_regions: bool. False yields the N stored images. True yields, per
            stored image, the image itself (unless the metadata says
            `include_original: false`) followed by its K regions, each cropped
            and bilinearly resized to H x W by
            `udd_keras.regions.form_training_images`; N * (K + 1) elements.
        labels: `"hard"` (default) yields each image's class index; `"soft"`
            yields its stored soft label (a decoded region keeps its image's);
            `TFRecordFormatError` when the set stores none.

    Returns:
        `tf.data.Dataset` of `(image, label)`: float32 (H, W, C) and either an
        int32 scalar (hard) or float32 (num_classes,) class probabilities as
        stored (soft), in file order.

    Example:
    >>> ds = as_tf_dataset("synthetic.tfrecord", decode_regions=True)  # doctest: +SKIP
    >>> ds = ds.shuffle(1000, seed=0).batch(64)  # doctest: +SKIP
    """
    check_label_kind(labels)
    path = _check_file(path)
    metadata = validate_file(path)
    soft = labels == "soft"
    if soft:
        _require_soft_labels(metadata, path)
    dataset = (
        tf.data.TFRecordDataset(os.fspath(path))
        .skip(1)
        .map(_record_parser(metadata), num_parallel_calls=tf.data.AUTOTUNE)
    )
    if not decode_regions or metadata.num_regions == 0:
        return dataset.map(
            lambda image, label, boxes, soft_label: (
                image,
                soft_label if soft else label,
            )
        )

    from udd_keras.regions import form_training_images

    per_image = _images_per_stored(metadata)
    shape = metadata.image_shape

    def decode(images, hard_labels, boxes, soft_labels):
        decoded = form_training_images(images, boxes, metadata.include_original)
        decoded = tf.ensure_shape(decoded, [None, *shape])
        targets = soft_labels if soft else hard_labels
        return decoded, tf.repeat(targets, per_image, axis=0)

    return dataset.batch(DECODE_BATCH_SIZE).map(decode).unbatch()


def decode_regions(synthetic_set, batch_size=DECODE_BATCH_SIZE, soft_labels=False):
    """Decodes a set into the images a network is evaluated on, as numpy.

    Args:
        synthetic_set: `SyntheticSet`, e.g. from `read_synthetic_set`.
        batch_size: int, stored images decoded per TF call.
        soft_labels: bool, also return the soft labels, each decoded image
            keeping its stored image's; `TFRecordFormatError` when the set
            stores none.

    Returns:
        Tuple `(images, labels)`: float32 (N * (K + include_original), H, W, C)
        with, per stored image, `[original, region 1, ..., region K]`; int32
        labels repeated accordingly. With `soft_labels=True`, the tuple
        `(images, labels, soft_labels)` with float32 (N', num_classes) soft
        labels repeated the same way.

    Example:
    >>> images, labels = decode_regions(read_synthetic_set(p))  # doctest: +SKIP
    """
    metadata = synthetic_set.metadata
    images = np.asarray(synthetic_set.images, np.float32)
    labels = np.asarray(synthetic_set.labels, np.int32)
    extra = ()
    if soft_labels:
        if synthetic_set.soft_labels is None:
            raise TFRecordFormatError(
                f"the {metadata.dataset!r} set (method {metadata.method!r}) "
                "stores no soft labels"
            )
        extra = (np.asarray(synthetic_set.soft_labels, np.float32),)
    boxes = synthetic_set.boxes
    if boxes is None or np.asarray(boxes).shape[1] == 0:
        if not metadata.include_original:
            raise TFRecordFormatError(
                "include_original is false but the set has no regions; "
                "it would decode to no images"
            )
        return (images.copy(), labels.copy(), *(e.copy() for e in extra))

    from udd_keras.regions import form_training_images

    boxes = np.asarray(boxes, np.int32)
    per_image = boxes.shape[1] + int(metadata.include_original)
    chunks = [
        form_training_images(
            images[start : start + batch_size],
            boxes[start : start + batch_size],
            metadata.include_original,
        ).numpy()
        for start in range(0, len(images), batch_size)
    ]
    repeated = (np.repeat(e, per_image, axis=0) for e in extra)
    return (np.concatenate(chunks, axis=0), np.repeat(labels, per_image), *repeated)
