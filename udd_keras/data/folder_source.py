"""Bring-your-own dataset: a folder of images in class sub-folders.

Two layouts are accepted:

- `root/train/<class>/*.png` and `root/test/<class>/*.png`: the given splits;
- `root/<class>/*.png`: one pool, split 80/20 into train/test with a seeded,
  stratified split (`FOLDER_TEST_FRACTION`).

Images are read with `keras.utils.image_dataset_from_directory`. All images are
resized to `image_size`, by default the size of the first image found; the
colour mode follows that image too (1 channel -> grayscale, otherwise RGB).
"""

from __future__ import annotations

import pathlib

import numpy as np

from udd_keras.data.dataset import DatasetFormatError, ImageDataset, make_dataset
from udd_keras.data.splits import stratified_split

FOLDER_TEST_FRACTION = 0.2
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def load_folder_source(path, seed: int = 0, image_size=None) -> ImageDataset:
    """Loads a folder of class sub-folders as a normalised `ImageDataset`.

    Args:
        path: the root folder (see the module docstring for the layouts).
        seed: seed of the 80/20 split when there are no train/test folders.
        image_size: `(height, width)` to resize to; None keeps the size of the
            first image.

    Returns:
        `ImageDataset` named after the folder; classes are the sub-folder
        names in sorted order; normalisation is the train-set mean/std.

    Example:
    >>> ds = load_folder_source("my_images/", seed=0)
    >>> ds.class_names
    ['cat', 'dog']
    """
    root = pathlib.Path(path)
    train_dir, test_dir = root / "train", root / "test"
    if train_dir.is_dir() and test_dir.is_dir():
        class_names = _class_folders(train_dir)
        image_size, color_mode = _image_format(train_dir, class_names, image_size)
        test_classes = _class_folders(test_dir)
        if test_classes != class_names:
            raise DatasetFormatError(
                f"{root}: test classes {test_classes} differ from train classes "
                f"{class_names}."
            )
        train = _read_folder(train_dir, class_names, image_size, color_mode)
        test = _read_folder(test_dir, class_names, image_size, color_mode)
    else:
        class_names = _class_folders(root)
        image_size, color_mode = _image_format(root, class_names, image_size)
        images, labels = _read_folder(root, class_names, image_size, color_mode)
        train_index, test_index = stratified_split(labels, FOLDER_TEST_FRACTION, seed)
        train = images[train_index], labels[train_index]
        test = images[test_index], labels[test_index]
    return make_dataset(str(root), train, test, class_names=class_names)


def _class_folders(folder: pathlib.Path) -> list[str]:
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if len(names) < 2:
        raise DatasetFormatError(
            f"{folder} has {len(names)} class sub-folder(s) ({names}); an image "
            f"folder needs at least 2, or train/ and test/ folders that have them."
        )
    return names


def image_files(folder) -> list[pathlib.Path]:
    """The image files in `folder` (not its sub-folders), in sorted order.

    Args:
        folder: path-like, a folder.

    Returns:
        Paths of the files whose extension, in any case, is one of
        `IMAGE_EXTENSIONS`; hidden files (names starting with ".") are skipped.
    """
    return sorted(
        p
        for p in pathlib.Path(folder).iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def _image_format(folder, class_names, image_size):
    """`(image_size, color_mode)` from the first image when not given."""
    import tensorflow as tf

    for name in class_names:
        files = image_files(folder / name)
        if files:
            image = tf.io.decode_image(
                tf.io.read_file(str(files[0])), expand_animations=False
            )
            height, width, channels = image.shape
            color_mode = "grayscale" if channels == 1 else "rgb"
            return tuple(image_size or (height, width)), color_mode
    raise DatasetFormatError(
        f"{folder} has no images ({', '.join(IMAGE_EXTENSIONS)}) in its class "
        f"sub-folders {class_names}."
    )


def _read_folder(folder, class_names, image_size, color_mode):
    """Reads every image: `(uint8-valued images in [0, 1], int32 labels)`."""
    import keras

    dataset = keras.utils.image_dataset_from_directory(
        str(folder),
        labels="inferred",
        label_mode="int",
        class_names=class_names,
        color_mode=color_mode,
        batch_size=256,
        image_size=image_size,
        shuffle=False,
        verbose=False,
    )
    images, labels = [], []
    for batch_images, batch_labels in dataset:
        images.append(batch_images.numpy())
        labels.append(batch_labels.numpy())
    if not images:
        raise DatasetFormatError(f"{folder} has no readable images.")
    images = np.clip(np.concatenate(images) / np.float32(255.0), 0.0, 1.0)
    return images.astype("float32"), np.concatenate(labels).astype("int32")
