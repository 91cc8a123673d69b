"""Checks and conversions of imported arrays against the dataset they belong to.

Every check raises `SetImportError` with one line that names the source, the
value found and what the dataset expects; nothing is resized, clipped or
relabelled silently.
"""

from __future__ import annotations

import numpy as np

from udd_keras.importing.source import SetImportError

LAYOUTS = ("auto", "nhwc", "nchw")
# Raw pixels may overshoot [0, 1] by float rounding, not more.
UNIT_RANGE_TOLERANCE = 1e-4


def _shape_text(shape):
    return "(N, " + ", ".join(str(v) for v in shape) + ")"


def to_nhwc(images, image_shape, layout, where, fallback="auto"):
    """Brings images to `(N, H, W, C)` float32, checking them against the dataset.

    Args:
        images: array `(N, H, W, C)`, `(N, C, H, W)` or, for one channel,
            `(N, H, W)`.
        image_shape: `(H, W, C)` of the dataset.
        layout: one of `LAYOUTS`; `"auto"` picks the layout whose shape matches
            and, when both do, takes `fallback`.
        where: str naming the source, for messages.
        fallback: the layout the source is known to use (`"nchw"` for the
            `.pt` formats), or `"auto"` to refuse to guess.

    Returns:
        float32 array `(N, H, W, C)`.
    """
    if layout not in LAYOUTS:
        raise SetImportError(
            f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}"
        )
    images = np.asarray(images)
    if images.dtype == np.bool_ or not (
        np.issubdtype(images.dtype, np.floating)
        or np.issubdtype(images.dtype, np.integer)
    ):
        raise SetImportError(
            f"{where}: images have dtype {images.dtype}; expected float or uint8"
        )
    height, width, channels = image_shape
    nhwc, nchw = (height, width, channels), (channels, height, width)
    if images.ndim == 3 and channels == 1 and tuple(images.shape[1:]) == nhwc[:2]:
        images = images[..., None]
        layout = "nhwc"
    if images.ndim != 4 or images.shape[0] == 0:
        raise SetImportError(
            f"{where}: images of shape {images.shape}; expected {_shape_text(nhwc)} "
            f"or {_shape_text(nchw)} with N > 0 for this dataset"
        )
    shape = tuple(images.shape[1:])
    if layout == "auto" and shape == nhwc and shape == nchw:
        layout = fallback
    if layout == "auto":
        if shape == nhwc and shape == nchw:
            raise SetImportError(
                f"{where}: images of shape {images.shape} could be NHWC or NCHW; "
                "say which (--layout nhwc or nchw)"
            )
        layout = "nhwc" if shape == nhwc else "nchw" if shape == nchw else None
    expected = nhwc if layout in (None, "nhwc") else nchw
    if shape != expected:
        if layout is None:
            want = f"{_shape_text(nhwc)} (NHWC) or {_shape_text(nchw)} (NCHW)"
        else:
            want = f"{_shape_text(expected)} ({layout.upper()})"
        raise SetImportError(
            f"{where}: images of shape {images.shape} do not fit the dataset's "
            f"{height}x{width} images with {channels} channel(s); expected {want}"
        )
    if layout == "nchw":
        images = np.transpose(images, (0, 2, 3, 1))
    return np.ascontiguousarray(images)


def check_finite(images, where, what="images"):
    """Raises `SetImportError` when `images` hold NaN or infinite values."""
    bad = ~np.isfinite(images)
    if bad.any():
        index = int(np.argwhere(bad)[0][0])
        raise SetImportError(
            f"{where}: {what} hold {int(bad.sum())} NaN or infinite value(s), "
            f"the first in item {index}"
        )


def to_unit_range(images, normalization, check_range, where):
    """Brings stored pixels back to [0, 1] pixels (float32, not clipped).

    Args:
        images: array `(N, H, W, C)`; uint8 images are divided by 255.
        normalization: the `Normalization` the pixels are stored in, or None
            for raw pixels.
        check_range: bool, refuse raw float pixels outside [0, 1].
        where: str naming the source, for messages.

    Returns:
        float32 array, same shape.
    """
    if np.issubdtype(images.dtype, np.integer):
        low, high = int(images.min()), int(images.max())
        if normalization is not None:
            raise SetImportError(
                f"{where}: integer images cannot be normalised; drop --mean/--std "
                "for 0..255 pixels"
            )
        if low < 0 or high > 255:
            raise SetImportError(
                f"{where}: integer pixel values span [{low}, {high}]; expected 0..255"
            )
        return images.astype(np.float32) / np.float32(255.0)
    images = images.astype(np.float32)
    if normalization is not None:
        if normalization.num_channels != images.shape[-1]:
            raise SetImportError(
                f"{where}: mean/std have {normalization.num_channels} value(s) "
                f"but the images have {images.shape[-1]} channel(s)"
            )
        return normalization.denormalize(images).astype(np.float32)
    if check_range:
        low, high = float(images.min()), float(images.max())
        if low < -UNIT_RANGE_TOLERANCE or high > 1 + UNIT_RANGE_TOLERANCE:
            raise SetImportError(
                f"{where}: pixel values span [{low:.4g}, {high:.4g}], outside "
                "[0, 1]; if they are normalised, pass the --mean and --std they "
                "were normalised with (--mean 0 --std 1 keeps raw values as they are)"
            )
    return images


def check_soft_labels(soft_labels, count, num_classes, where):
    """Validates soft labels: `(count, num_classes)` class probabilities.

    Values must be finite and non-negative, each row with a positive sum (rows
    are used normalised to sum 1, as the TFRecord format stores them).

    Returns:
        float32 array `(count, num_classes)`.
    """
    soft = np.asarray(soft_labels)
    if (
        soft.ndim != 2
        or soft.shape != (count, num_classes)
        or not np.issubdtype(soft.dtype, np.floating)
    ):
        raise SetImportError(
            f"{where}: soft labels of shape {soft.shape} and dtype {soft.dtype}; "
            f"expected float ({count}, {num_classes}), one probability row per "
            "image over the dataset's classes"
        )
    soft = soft.astype(np.float32)
    check_finite(soft, where, "soft labels")
    if soft.min() < 0:
        image = int(np.argwhere(soft < 0)[0][0])
        raise SetImportError(
            f"{where}: soft label of image {image} holds negative values (min "
            f"{float(soft[image].min()):.4g}); expected class probabilities, not "
            "logits (apply a softmax first)"
        )
    empty = np.flatnonzero(soft.sum(axis=1) <= 0)
    if empty.size:
        raise SetImportError(
            f"{where}: soft label of image {int(empty[0])} is all zeros; every "
            "row needs a positive probability"
        )
    return soft


def check_labels(labels, soft_labels, count, class_names, where):
    """Validates hard labels (or derives them from soft ones) against the dataset.

    Args:
        labels: int array `(count,)` (or `(count, 1)`), or None to take the
            argmax of `soft_labels`.
        soft_labels: float32 `(count, num_classes)` or None.
        count: int, number of images.
        class_names: the dataset's class names.
        where: str naming the source, for messages.

    Returns:
        Tuple `(labels int32 (count,), ipc)`: every class must have the same
        number `ipc >= 1` of images.
    """
    num_classes = len(class_names)
    derived = labels is None
    if derived:
        if soft_labels is None:
            raise SetImportError(f"{where}: holds no labels")
        labels = np.argmax(soft_labels, axis=1)
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (count,) or not (
        np.issubdtype(labels.dtype, np.integer) and labels.dtype != np.bool_
    ):
        raise SetImportError(
            f"{where}: labels of shape {labels.shape} and dtype {labels.dtype}; "
            f"expected integer class ids of shape ({count},), one per image"
        )
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise SetImportError(
            f"{where}: label {int(bad[0])} outside the dataset's classes "
            f"0..{num_classes - 1}"
        )
    labels = labels.astype(np.int32)
    counts = np.bincount(labels, minlength=num_classes)
    hint = " (labels are the argmax of the soft labels)" if derived else ""
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        cls = int(empty[0])
        raise SetImportError(
            f"{where}: class {cls} ({class_names[cls]!r}) has no images{hint}; "
            f"every one of the dataset's {num_classes} classes needs the same "
            "number of images"
        )
    if counts.min() != counts.max():
        low, high = int(np.argmin(counts)), int(np.argmax(counts))
        raise SetImportError(
            f"{where}: classes hold different numbers of images (class {low}: "
            f"{int(counts[low])}, class {high}: {int(counts[high])}){hint}; a set "
            "needs the same number of images per class"
        )
    return labels, int(counts[0])
