"""`load_dataset`: one entry point for every data source."""

from __future__ import annotations

import difflib
import pathlib

from udd_keras.data.dataset import ImageDataset
from udd_keras.data.sources import SOURCES
from udd_keras.errors import DatasetNotFoundError


def load_dataset(
    name: str,
    data_dir=None,
    seed: int = 0,
    *,
    download: bool | None = None,
    image_size=None,
) -> ImageDataset:
    """Loads a dataset as normalised NHWC float32 arrays.

    Args:
        name: a registered source (`mnist`, `fashion_mnist`, `cifar10`,
            `cifar100`, `svhn_cropped`, `digits`), a path to an `.npz` file, or
            a folder of class sub-folders.
        data_dir: TFDS data directory, or (mnist / fashion_mnist) a folder with
            the four IDX `.gz` files; None uses `$TFDS_DATA_DIR` or
            `~/tensorflow_datasets`. Ignored by the other sources.
        seed: seed of the train/test split of `digits` and of a folder without
            train/ and test/ sub-folders; the TFDS splits are fixed.
        download: for TFDS sources, True to allow a download, False never to,
            None to try only when the download host answers.
        image_size: `(height, width)` for image folders; None keeps the size of
            the first image.

    Returns:
        An `ImageDataset`: images `(N, H, W, C)` float32 normalised, labels
        `(N,)` int32.

    Example:
    >>> ds = load_dataset("digits", seed=0)
    >>> ds.x_train.shape, ds.num_classes
    ((1437, 8, 8, 1), 10)
    """
    spec = SOURCES.get(name)
    if spec is not None and spec.backend == "sklearn":
        from udd_keras.data.digits import load_digits_source

        return load_digits_source(seed=seed)
    if spec is not None:
        from udd_keras.data.tfds_source import load_tfds_source

        return load_tfds_source(spec, data_dir=data_dir, download=download)
    path = pathlib.Path(str(name)).expanduser()
    if path.suffix == ".npz" and path.is_file():
        from udd_keras.data.npz_source import load_npz_source

        return load_npz_source(path)
    if path.is_dir():
        from udd_keras.data.folder_source import load_folder_source

        return load_folder_source(path, seed=seed, image_size=image_size)
    raise DatasetNotFoundError(_unknown_message(str(name)))


def _unknown_message(name: str) -> str:
    if name.endswith(".npz"):
        return f"dataset file {name!r} does not exist."
    close = difflib.get_close_matches(name, list(SOURCES), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"unknown dataset {name!r}: expected one of {', '.join(SOURCES)}, an .npz "
        f"file or a folder of class sub-folders.{hint}"
    )
