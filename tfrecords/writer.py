"""Writes a synthetic set to a TFRecord file, atomically."""

import dataclasses
import json
import pathlib

import numpy as np
import tensorflow as tf

from udd_keras.errors import TFRecordFormatError
from udd_keras.files import atomic_path
from udd_keras.tfrecords import schema
from udd_keras.tfrecords.schema import (
    SyntheticSetMetadata,
    inside_image,
    soft_label_problem,
    validate_metadata,
    wrong_class_count,
)


def _bytes_feature(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int64_feature(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def header_example(metadata):
    """Serialises the header record of a set.

    Args:
        metadata: `SyntheticSetMetadata`, already validated.

    Returns:
        bytes, a serialised `tf.train.Example`.
    """
    try:
        text = json.dumps(metadata.to_dict(), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TFRecordFormatError(
            f"metadata is not JSON-serialisable ({error}); keep `extra` to plain "
            "dicts, lists, strings and numbers"
        ) from None
    features = {
        schema.MAGIC_KEY: _bytes_feature(schema.MAGIC.encode()),
        schema.VERSION_KEY: _int64_feature([schema.SCHEMA_VERSION]),
        schema.METADATA_KEY: _bytes_feature(text.encode("utf-8")),
    }
    data = tf.train.Example(
        features=tf.train.Features(feature=features)
    ).SerializeToString()
    if len(data) > schema.MAX_HEADER_BYTES:
        raise TFRecordFormatError(
            f"header of {len(data)} bytes exceeds the {schema.MAX_HEADER_BYTES} "
            "allowed; shrink metadata.extra"
        )
    return data


def image_example(image, label, boxes=None, soft_label=None):
    """Serialises one image record.

    Args:
        image: float32 array (H, W, C).
        label: int, the class index.
        boxes: int array (K, 4) of pixel boxes, or None.
        soft_label: float32 array (num_classes,) of class probabilities, or
            None for a set without soft labels.

    Returns:
        bytes, a serialised `tf.train.Example`.
    """
    flat_boxes = [] if boxes is None else np.asarray(boxes).reshape(-1).tolist()
    features = {
        schema.IMAGE_KEY: _bytes_feature(np.asarray(image, "<f4").tobytes()),
        schema.LABEL_KEY: _int64_feature([int(label)]),
        schema.BOXES_KEY: _int64_feature(flat_boxes),
    }
    if soft_label is not None:
        features[schema.SOFT_LABEL_KEY] = tf.train.Feature(
            float_list=tf.train.FloatList(
                value=np.asarray(soft_label, np.float32).tolist()
            )
        )
    return tf.train.Example(
        features=tf.train.Features(feature=features)
    ).SerializeToString()


def _validate_arrays(images, labels, boxes, metadata):
    """Checks the arrays against the metadata; returns them in stored dtypes."""
    images = np.asarray(images)
    labels = np.asarray(labels)
    shape = metadata.image_shape
    if images.ndim != 4 or tuple(images.shape[1:]) != shape:
        raise TFRecordFormatError(
            f"images of shape {images.shape} do not match metadata image_shape "
            f"{shape}; expected (N, {shape[0]}, {shape[1]}, {shape[2]})"
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise TFRecordFormatError(f"images dtype {images.dtype} must be floating")
    images = images.astype(np.float32)
    if not np.all(np.isfinite(images)):
        raise TFRecordFormatError("images contain NaN or infinite values")
    num_images = len(images)
    if labels.shape != (num_images,) or not np.issubdtype(labels.dtype, np.integer):
        raise TFRecordFormatError(
            f"labels of shape {labels.shape} and dtype {labels.dtype} must be "
            f"integers of shape ({num_images},)"
        )
    labels = labels.astype(np.int32)
    bad = labels[(labels < 0) | (labels >= metadata.num_classes)]
    if bad.size:
        raise TFRecordFormatError(
            f"label {int(bad[0])} outside the allowed 0..{metadata.num_classes - 1}"
        )
    wrong = wrong_class_count(labels, metadata)
    if wrong is not None:
        raise TFRecordFormatError(
            f"class {wrong[0]} has {wrong[1]} images; every class needs exactly "
            f"ipc={metadata.ipc}"
        )
    if boxes is not None:
        boxes = _validate_boxes(boxes, num_images, shape)
    return images, labels, boxes


def _validate_soft_labels(soft_labels, num_images, num_classes):
    """Checks soft labels; returns them as float32 (N, num_classes)."""
    array = np.asarray(soft_labels)
    expected = (num_images, num_classes)
    numeric = np.issubdtype(array.dtype, np.floating) or (
        np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_
    )
    if array.shape != expected or not numeric:
        raise TFRecordFormatError(
            f"soft_labels of shape {array.shape} and dtype {array.dtype} must be "
            f"numbers of shape {expected}: one row of num_classes={num_classes} "
            "class probabilities per image"
        )
    with np.errstate(over="ignore"):
        array = array.astype(np.float32)
    problem = soft_label_problem(array)
    if problem is not None:
        raise TFRecordFormatError(problem)
    return array


def _validate_boxes(boxes, num_images, shape):
    boxes = np.asarray(boxes)
    if (
        boxes.ndim != 3
        or boxes.shape[0] != num_images
        or boxes.shape[2] != 4
        or not np.issubdtype(boxes.dtype, np.integer)
    ):
        raise TFRecordFormatError(
            f"boxes of shape {boxes.shape} and dtype {boxes.dtype} must be "
            f"integers of shape ({num_images}, K, 4)"
        )
    if boxes.shape[1] > schema.MAX_REGIONS:
        raise TFRecordFormatError(
            f"{boxes.shape[1]} boxes per image exceed the {schema.MAX_REGIONS} allowed"
        )
    boxes = boxes.astype(np.int64)
    height, width = shape[0], shape[1]
    valid = inside_image(boxes, height, width)
    if not np.all(valid):
        index = tuple(int(i) for i in np.argwhere(~valid)[0])
        raise TFRecordFormatError(
            f"box {boxes[index].tolist()} of image {index[0]} is not a non-empty "
            f"[top, left, bottom, right) inside the {height}x{width} image"
        )
    return boxes.astype(np.int32)


def write_synthetic_set(path, images, labels, metadata, boxes=None, soft_labels=None):
    """Writes a synthetic set to a TFRecord file.

    Inputs are validated before anything is written; the file is written under a
    temporary name in the target directory and renamed into place, so `path`
    either holds the complete new set or is left untouched.

    Args:
        path: str or path-like, the output file (parent folders are created).
        images: float array (N, H, W, C), normalised pixels; stored bit-exactly
            as float32.
        labels: int array (N,) in `[0, num_classes)`, exactly `ipc` per class.
        metadata: `SyntheticSetMetadata`; `num_images` and `num_regions` are
            filled in (or checked, when set).
        boxes: optional int array (N, K, 4) of half-open pixel boxes
            `[top, left, bottom, right]` inside the image.
        soft_labels: optional float array (N, num_classes) of per-image class
            probabilities: finite, non-negative, each row with a positive sum
            (rows are used normalised to sum 1, so rounding is harmless). Store
            probabilities, not logits (softmax them first). Stored as float32;
            a decoded region keeps its image's soft label.

    Returns:
        `pathlib.Path` of the written file.

    Example:
    >>> import numpy as np, tempfile, os
    >>> meta = SyntheticSetMetadata(
    ...     dataset="toy", image_shape=(4, 4, 1), num_classes=2,
    ...     class_names=["a", "b"], ipc=1, method="random",
    ...     normalization={"mean": [0.5], "std": [0.5]})
    >>> out = write_synthetic_set(
    ...     os.path.join(tempfile.mkdtemp(), "set.tfrecord"),
    ...     np.zeros((2, 4, 4, 1), "float32"), [0, 1], meta)
    >>> out.name
    'set.tfrecord'
    """
    if not isinstance(metadata, SyntheticSetMetadata):
        raise TFRecordFormatError(
            f"metadata must be a SyntheticSetMetadata, got {type(metadata).__name__}"
        )
    path = pathlib.Path(path)
    validate_metadata(metadata)
    images, labels, boxes = _validate_arrays(images, labels, boxes, metadata)
    if soft_labels is not None:
        soft_labels = _validate_soft_labels(
            soft_labels, len(images), metadata.num_classes
        )
    elif metadata.has_soft_labels:
        raise TFRecordFormatError(
            "metadata.has_soft_labels is true but no soft_labels were given"
        )
    num_regions = 0 if boxes is None else boxes.shape[1]
    if not metadata.include_original and num_regions == 0:
        raise TFRecordFormatError(
            "metadata.include_original is false but no boxes were given; "
            "the set would decode to no images"
        )
    for name, value in (("num_images", len(images)), ("num_regions", num_regions)):
        declared = getattr(metadata, name)
        if declared is not None and declared != value:
            raise TFRecordFormatError(
                f"metadata.{name}={declared} but the arrays hold {value}"
            )
    metadata = dataclasses.replace(
        metadata,
        num_images=len(images),
        num_regions=num_regions,
        has_soft_labels=soft_labels is not None,
        schema_version=schema.SCHEMA_VERSION,
    )
    header = header_example(metadata)

    with atomic_path(path) as temporary, tf.io.TFRecordWriter(str(temporary)) as writer:
        writer.write(header)
        for index in range(len(images)):
            writer.write(
                image_example(
                    images[index],
                    labels[index],
                    None if boxes is None else boxes[index],
                    None if soft_labels is None else soft_labels[index],
                )
            )
    return path
