"""A set stored as image files in one sub-folder per class.

`root/<class>/*.png` (also .jpg, .jpeg, .bmp, .gif: the first frame). A
sub-folder is named after one of the dataset's class names, or, when no class
has that name, after a class id `0 .. num_classes - 1`. Files are read in
sorted order, as pixels in [0, 1] with the dataset's channel count (an RGB file
of a grayscale dataset is converted to gray, as `torchvision.save_image` writes
grayscale sets as RGB). Files with other extensions and hidden entries are
skipped; every image must have the dataset's height and width.
"""

from __future__ import annotations

import difflib
import pathlib

import numpy as np

from udd_keras.data.folder_source import IMAGE_EXTENSIONS, image_files
from udd_keras.importing.source import SetImportError, SourceArrays

_NAMES_SHOWN = 12


def _allowed(class_names):
    shown = ", ".join(class_names[:_NAMES_SHOWN])
    more = (
        f", ... ({len(class_names)} in all)" if len(class_names) > _NAMES_SHOWN else ""
    )
    return f"{shown}{more}, or class ids 0..{len(class_names) - 1}"


def class_index(folder_name, class_names, root):
    """The class a sub-folder holds: its name, else its id; `SetImportError`."""
    if folder_name in class_names:
        return class_names.index(folder_name)
    if folder_name.isdigit() and int(folder_name) < len(class_names):
        return int(folder_name)
    close = difflib.get_close_matches(folder_name, class_names, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise SetImportError(
        f"{root}: sub-folder {folder_name!r} is no class of the dataset; expected "
        f"one of {_allowed(class_names)}.{hint}"
    )


def _read_image(path, image_shape):
    import tensorflow as tf

    height, width, channels = image_shape
    try:
        image = tf.io.decode_image(
            tf.io.read_file(str(path)),
            channels=channels if channels in (1, 3, 4) else 0,
            dtype=tf.float32,
            expand_animations=False,
        ).numpy()
    except tf.errors.OpError as error:
        detail = (error.message or "").strip().splitlines()
        raise SetImportError(
            f"{path}: not a readable image ({detail[0] if detail else 'unknown'})"
        ) from None
    if image.shape != (height, width, channels):
        raise SetImportError(
            f"{path}: image of {image.shape[0]}x{image.shape[1]} pixels with "
            f"{image.shape[2]} channel(s); the dataset's images are {height}x{width} "
            f"with {channels}"
        )
    return image


def read_folder(path, class_names, image_shape):
    """Reads a folder of class sub-folders into `SourceArrays` (raw [0, 1] NHWC).

    Args:
        path: the root folder.
        class_names: the dataset's class names, in label order.
        image_shape: `(H, W, C)` of the dataset.

    Returns:
        `SourceArrays` with images float32 `(N, H, W, C)` and labels, grouped by
        class in label order.

    Example:
    >>> arrays = read_folder("exported/", ["0", "1"], (8, 8, 1))  # doctest: +SKIP
    """
    root = pathlib.Path(path)
    folders = sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if not folders:
        raise SetImportError(
            f"{root}: no class sub-folders; expected one folder per class named "
            f"{_allowed(list(class_names))}"
        )
    class_names = list(class_names)
    by_class = {}
    for folder in folders:
        index = class_index(folder.name, class_names, root)
        if index in by_class:
            raise SetImportError(
                f"{root}: sub-folders {by_class[index][0].name!r} and "
                f"{folder.name!r} both hold class {index} ({class_names[index]!r})"
            )
        by_class[index] = (folder, image_files(folder))
    missing = [c for c in range(len(class_names)) if not by_class.get(c, (0, []))[1]]
    if missing:
        cls = missing[0]
        raise SetImportError(
            f"{root}: class {cls} ({class_names[cls]!r}) has no images "
            f"({', '.join(IMAGE_EXTENSIONS)}); every one of the dataset's "
            f"{len(class_names)} classes needs the same number of images"
        )
    images, labels = [], []
    for index in sorted(by_class):
        for file in by_class[index][1]:
            images.append(_read_image(file, image_shape))
            labels.append(index)
    return SourceArrays(
        images=np.stack(images).astype(np.float32),
        labels=np.asarray(labels, np.int64),
        layout="nhwc",
        method="imported",
        details={"files": len(images)},
    )
