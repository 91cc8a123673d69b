"""Bring-your-own dataset: an `.npz` file with x_train, y_train, x_test, y_test."""

from __future__ import annotations

import pathlib
import zipfile

import numpy as np

from udd_keras.data.dataset import DatasetFormatError, ImageDataset, make_dataset

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_npz_source(path) -> ImageDataset:
    """Loads an `.npz` file of images and integer labels.

    The file holds `x_train`, `y_train`, `x_test`, `y_test`, and optionally
    `class_names`. Images are `(N, H, W)` or `(N, H, W, C)`, either uint8 (or
    another integer type) in 0..255 or float in [0, 1]. Labels are integers in
    `[0, num_classes)`, with `num_classes = max label + 1` unless `class_names`
    says otherwise. The normalisation is the per-channel mean/std of `x_train`,
    rounded to 4 decimals.

    Args:
        path: path to the `.npz` file.

    Returns:
        The normalised `ImageDataset`, named after the file path.

    Example:
    >>> ds = load_npz_source("my_set.npz")
    >>> ds.x_train.dtype
    dtype('float32')
    """
    path = pathlib.Path(path)
    arrays, class_names = _read_arrays(path)
    x_train = _images_to_unit_range(arrays["x_train"], "x_train", path)
    x_test = _images_to_unit_range(arrays["x_test"], "x_test", path)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetFormatError(
            f"{path}: x_train images are {x_train.shape[1:]} but x_test images are "
            f"{x_test.shape[1:]}; both splits need the same (H, W, C)."
        )
    y_train = _labels(arrays["y_train"], "y_train", len(x_train), path)
    y_test = _labels(arrays["y_test"], "y_test", len(x_test), path)
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    if class_names is not None:
        class_names = [str(name) for name in np.asarray(class_names).ravel()]
        if len(class_names) < num_classes:
            raise DatasetFormatError(
                f"{path}: labels go up to {num_classes - 1} but class_names has "
                f"only {len(class_names)} names."
            )
    else:
        class_names = [str(i) for i in range(num_classes)]
    return make_dataset(
        str(path), (x_train, y_train), (x_test, y_test), class_names=class_names
    )


def _read_arrays(path):
    """The four arrays and optional class names; `DatasetFormatError` otherwise.

    Pickled object arrays are refused (`allow_pickle=False`): nothing in a user
    file is ever executed.
    """
    try:
        with np.load(path, allow_pickle=False) as file:
            missing = [key for key in NPZ_KEYS if key not in file.files]
            if missing:
                found = ", ".join(file.files) or "nothing"
                raise DatasetFormatError(
                    f"{path} lacks {', '.join(missing)}; an .npz dataset needs "
                    f"{', '.join(NPZ_KEYS)} (found: {found})."
                )
            arrays = {key: file[key] for key in NPZ_KEYS}
            names = file["class_names"] if "class_names" in file.files else None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DatasetFormatError(
            f"{path} is not a readable .npz of plain arrays ({reason}); save it "
            f"with numpy.savez holding {', '.join(NPZ_KEYS)}."
        ) from None
    return arrays, names


def _images_to_unit_range(images: np.ndarray, key: str, path) -> np.ndarray:
    """Validates images and returns them as float32 `(N, H, W, C)` in [0, 1]."""
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[0] == 0:
        raise DatasetFormatError(
            f"{path}: {key} has shape {images.shape}; expected (N, H, W) or "
            f"(N, H, W, C) with N > 0."
        )
    if np.issubdtype(images.dtype, np.integer) or images.dtype == np.bool_:
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise DatasetFormatError(
                f"{path}: integer {key} values span [{low}, {high}]; expected 0..255."
            )
        return images.astype("float32") / np.float32(255.0)
    if np.issubdtype(images.dtype, np.floating):
        low, high = float(images.min()), float(images.max())
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0.0 or high > 1.0:
            raise DatasetFormatError(
                f"{path}: float {key} values span [{low:.4g}, {high:.4g}]; "
                f"expected [0, 1] (or uint8 0..255)."
            )
        return images.astype("float32")
    raise DatasetFormatError(
        f"{path}: {key} has dtype {images.dtype}; expected uint8 or float."
    )


def _labels(labels: np.ndarray, key: str, count: int, path) -> np.ndarray:
    """Validates integer labels `(N,)` (or `(N, 1)`) and returns them int32."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) != count:
        raise DatasetFormatError(
            f"{path}: {key} has shape {labels.shape}; expected ({count},), one "
            f"integer label per image."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise DatasetFormatError(
            f"{path}: {key} has dtype {labels.dtype}; expected integer class ids."
        )
    if labels.min() < 0:
        raise DatasetFormatError(
            f"{path}: {key} has label {labels.min()}; labels must be >= 0."
        )
    return labels.astype("int32")
