"""Schema of the udd-keras synthetic-set TFRecord format, version 2.

A file is a TFRecord file of `tf.train.Example` records. The first record is the
header (set-level metadata); each following record is one stored synthetic image.
See `README.md` beside this module for every feature key and the compatibility
policy.

Version 2 added optional per-image soft labels (`SOFT_LABEL_KEY`, declared by
`has_soft_labels` in the metadata). Version 1 files have none and are still read.
"""

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from udd_keras.errors import TFRecordFormatError

SCHEMA_VERSION = 2
# The first version with soft labels; older files never have them.
SOFT_LABELS_SINCE_VERSION = 2
MAGIC = "udd-keras/synthetic-set"

# Header record feature keys.
MAGIC_KEY = "udd/magic"
VERSION_KEY = "udd/schema_version"
METADATA_KEY = "udd/metadata_json"

# Image record feature keys.
IMAGE_KEY = "image/raw"
LABEL_KEY = "image/label"
BOXES_KEY = "image/boxes"
SOFT_LABEL_KEY = "image/soft_label"

# Sanity limits on declared values: nothing larger is ever allocated.
MAX_SIDE = 4096
MAX_CHANNELS = 4
MAX_IMAGES = 10**6
MAX_CLASSES = 100_000
MAX_REGIONS = 1024
MAX_HEADER_BYTES = 4 * 2**20
# Bytes an image record may hold beyond its pixels (keys, label, boxes).
RECORD_OVERHEAD_BYTES = 1024
BOX_BYTES = 4 * 10  # four int64 varints of at most 10 bytes each
SOFT_LABEL_VALUE_BYTES = 4  # packed float32


@dataclass
class SyntheticSetMetadata:
    """Set-level metadata stored in the header record.

    Args:
        dataset: str, name of the source dataset, e.g. `"cifar10"`.
        image_shape: tuple `(H, W, C)` of every stored image.
        num_classes: int, number of classes.
        class_names: list of `num_classes` strings.
        ipc: int, stored images per class.
        method: str, how the set was made, e.g. `"udd"`, `"idc"`, `"random"`.
        normalization: dict `{"mean": [C floats], "std": [C floats]}`, the
            normalisation the stored pixels are in (a `Normalization` with a
            `to_dict()` is accepted too).
        include_original: bool, whether decoding a stored image yields the image
            itself before its regions (IDC mosaics store `False`: the regions
            are the training images).
        num_images: int or None, number of image records; the writer fills it in.
        num_regions: int or None, boxes stored per image (`K`); the writer fills
            it in (0 when no boxes are stored).
        has_soft_labels: bool, whether every image record stores a soft label
            (a `num_classes` vector of class probabilities); the writer fills
            it in. Always false in schema-1 files.
        extra: dict of JSON-serialisable free-form data, e.g. the distillation
            config.
        schema_version: int, the schema the file was written with.

    Example:
    >>> meta = SyntheticSetMetadata(
    ...     dataset="mnist", image_shape=(28, 28, 1), num_classes=10,
    ...     class_names=[str(i) for i in range(10)], ipc=1, method="udd",
    ...     normalization={"mean": [0.13], "std": [0.31]})
    >>> SyntheticSetMetadata.from_dict(meta.to_dict()) == meta
    True
    """

    dataset: str
    image_shape: tuple[int, int, int]
    num_classes: int
    class_names: list[str]
    ipc: int
    method: str
    normalization: dict[str, list[float]]
    include_original: bool = True
    num_images: int | None = None
    num_regions: int | None = None
    has_soft_labels: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self):
        if hasattr(self.normalization, "to_dict"):
            self.normalization = self.normalization.to_dict()
        self.image_shape = tuple(int(v) for v in self.image_shape)
        self.class_names = [str(name) for name in self.class_names]
        self.normalization = {
            key: [float(v) for v in values]
            for key, values in dict(self.normalization).items()
        }

    def to_dict(self):
        """Returns a JSON-serialisable dict of every field."""
        config = dataclasses.asdict(self)
        config["image_shape"] = list(self.image_shape)
        return config

    @classmethod
    def for_dataset(cls, dataset, ipc, method, **fields):
        """The metadata of a set of `ipc` images per class of `dataset`.

        Args:
            dataset: an `ImageDataset` (its name, image shape, classes and
                normalisation fill the fields of the same names).
            ipc: int, stored images per class.
            method: str, how the set was made.
            **fields: any other field, e.g. `extra`, `include_original`.

        Returns:
            `SyntheticSetMetadata`.
        """
        return cls(
            dataset=dataset.name,
            image_shape=dataset.image_shape,
            num_classes=dataset.num_classes,
            class_names=list(dataset.class_names),
            ipc=ipc,
            method=method,
            normalization=dataset.normalization,
            **fields,
        )

    @classmethod
    def from_dict(cls, config):
        """Builds metadata from `to_dict()` output; unknown keys are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in known})

    @property
    def image_bytes(self):
        """Bytes of one stored float32 image, `H * W * C * 4`."""
        height, width, channels = self.image_shape
        return height * width * channels * 4


@dataclass
class SyntheticSet:
    """A synthetic set in memory.

    Args:
        images: float32 array (N, H, W, C), normalised pixels, bit-exact.
        labels: int32 array (N,).
        boxes: int32 array (N, K, 4) of half-open pixel boxes
            `[top, left, bottom, right]`, or None when the set stores none.
        metadata: `SyntheticSetMetadata`.
        soft_labels: float32 array (N, num_classes) of per-image class
            probabilities (non-negative, each row with a positive sum), or None
            when the set stores none.
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray | None
    metadata: SyntheticSetMetadata
    soft_labels: np.ndarray | None = None


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check(condition, source, message):
    if not condition:
        raise TFRecordFormatError(f"{source}: {message}")


def validate_metadata(meta, source="metadata"):
    """Checks that metadata is self-consistent and within the sanity limits.

    Args:
        meta: `SyntheticSetMetadata`.
        source: str naming where it came from (a file path), used in messages.

    Raises:
        TFRecordFormatError: one line naming `source`, the value and the range.
    """
    shape = meta.image_shape
    _check(
        len(shape) == 3 and all(_is_int(v) for v in shape),
        source,
        f"image_shape {shape!r} must be three ints (H, W, C)",
    )
    height, width, channels = shape
    _check(
        1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE,
        source,
        f"image size {height}x{width} outside the allowed 1..{MAX_SIDE}",
    )
    _check(
        1 <= channels <= MAX_CHANNELS,
        source,
        f"channels {channels} outside the allowed 1..{MAX_CHANNELS}",
    )
    _check(
        _is_int(meta.num_classes) and 1 <= meta.num_classes <= MAX_CLASSES,
        source,
        f"num_classes {meta.num_classes!r} outside the allowed 1..{MAX_CLASSES}",
    )
    _check(
        len(meta.class_names) == meta.num_classes,
        source,
        f"{len(meta.class_names)} class_names for num_classes {meta.num_classes}",
    )
    _check(
        _is_int(meta.ipc) and 1 <= meta.ipc <= MAX_IMAGES,
        source,
        f"ipc {meta.ipc!r} outside the allowed 1..{MAX_IMAGES}",
    )
    _check(
        meta.ipc * meta.num_classes <= MAX_IMAGES,
        source,
        f"ipc * num_classes = {meta.ipc * meta.num_classes} exceeds {MAX_IMAGES}",
    )
    if meta.num_images is not None:
        _check(
            _is_int(meta.num_images) and meta.num_images == meta.ipc * meta.num_classes,
            source,
            f"num_images {meta.num_images!r} != ipc * num_classes "
            f"= {meta.ipc * meta.num_classes}",
        )
    if meta.num_regions is not None:
        _check(
            _is_int(meta.num_regions) and 0 <= meta.num_regions <= MAX_REGIONS,
            source,
            f"num_regions {meta.num_regions!r} outside the allowed 0..{MAX_REGIONS}",
        )
    _check(
        isinstance(meta.include_original, bool),
        source,
        f"include_original {meta.include_original!r} must be true or false",
    )
    _check(
        isinstance(meta.has_soft_labels, bool),
        source,
        f"has_soft_labels {meta.has_soft_labels!r} must be true or false",
    )
    norm = meta.normalization
    _check(
        set(norm) == {"mean", "std"}
        and len(norm["mean"]) == channels
        and len(norm["std"]) == channels,
        source,
        f"normalization {norm!r} must be {{mean, std}} with {channels} values each",
    )
    _check(
        all(math.isfinite(v) for v in norm["mean"] + norm["std"])
        and all(v > 0 for v in norm["std"]),
        source,
        f"normalization {norm!r} must be finite with std > 0",
    )
    _check(
        isinstance(meta.extra, dict),
        source,
        f"extra must be a dict, got {type(meta.extra).__name__}",
    )


def max_record_bytes(meta):
    """Largest byte length an image record of this set may have."""
    regions = meta.num_regions or 0
    soft = meta.num_classes * SOFT_LABEL_VALUE_BYTES if meta.has_soft_labels else 0
    return meta.image_bytes + regions * BOX_BYTES + soft + RECORD_OVERHEAD_BYTES


def inside_image(boxes, height, width):
    """Which boxes are non-empty `[top, left, bottom, right)` inside the image.

    Args:
        boxes: int array (..., 4) of pixel boxes.
        height: int, the image height in pixels.
        width: int, the image width in pixels.

    Returns:
        bool array `boxes.shape[:-1]`, True where the box is valid.
    """
    top, left, bottom, right = np.moveaxis(np.asarray(boxes), -1, 0)
    return (
        (top >= 0)
        & (left >= 0)
        & (bottom <= height)
        & (right <= width)
        & (top < bottom)
        & (left < right)
    )


def wrong_class_count(labels, meta):
    """The first class that does not hold exactly `meta.ipc` images, or None.

    Args:
        labels: int array (N,) of class ids in `[0, meta.num_classes)`.
        meta: `SyntheticSetMetadata`.

    Returns:
        `(class, count)` of ints, or None when every class holds `ipc` images.
    """
    counts = np.bincount(labels, minlength=meta.num_classes)
    wrong = np.flatnonzero(counts != meta.ipc)
    if not wrong.size:
        return None
    cls = int(wrong[0])
    return cls, int(counts[cls])


def soft_label_problem(soft_labels):
    """Why an array of soft labels is not valid, or None when it is.

    Args:
        soft_labels: float32 array (N, num_classes), already of that shape.

    Returns:
        str naming the first bad image and value, or None.
    """
    finite = np.isfinite(soft_labels)
    if not np.all(finite):
        image, cls = (int(i) for i in np.argwhere(~finite)[0])
        return (
            f"soft label of image {image} holds {soft_labels[image, cls]} for "
            f"class {cls}; values must be finite"
        )
    negative = soft_labels < 0
    if np.any(negative):
        image, cls = (int(i) for i in np.argwhere(negative)[0])
        return (
            f"soft label of image {image} holds {soft_labels[image, cls]:g} for "
            f"class {cls}; values must be >= 0 (class probabilities, not logits)"
        )
    empty = np.flatnonzero(soft_labels.sum(axis=1) <= 0)
    if empty.size:
        return (
            f"soft label of image {int(empty[0])} is all zeros; every row needs "
            "a positive probability"
        )
    return None
