"""Reader for the IDX files of MNIST and Fashion-MNIST (`*-ubyte.gz`)."""

from __future__ import annotations

import gzip
import pathlib

import numpy as np

from udd_keras.data.dataset import DatasetFormatError

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# IDX type codes (third byte of the magic number) -> numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4"}


def has_idx_files(folder) -> bool:
    """Returns True when `folder` holds the four MNIST-style IDX `.gz` files."""
    if folder is None:
        return False
    folder = pathlib.Path(folder)
    return all((folder / filename).is_file() for filename in IDX_FILES.values())


def read_idx(path) -> np.ndarray:
    """Reads one (optionally gzipped) IDX file.

    Args:
        path: path to an IDX file, `.gz` or raw.

    Returns:
        The array, shaped as the header says (e.g. `(60000, 28, 28)` uint8).
    """
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        data = file.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DatasetFormatError(f"{path} is not an IDX file (bad magic number).")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise DatasetFormatError(
            f"{path} is truncated: header says shape {shape}, got "
            f"{len(data) - offset} bytes of data instead of {expected}."
        )
    array = np.frombuffer(data, dtype, offset=offset).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def load_idx_folder(folder) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Loads the train and test splits from a folder of the four IDX files.

    Args:
        folder: folder with `train-images-idx3-ubyte.gz` and its three siblings.

    Returns:
        `((x_train, y_train), (x_test, y_test))`; images `(N, 28, 28, 1)` uint8,
        labels `(N,)` int32.
    """
    folder = pathlib.Path(folder)
    arrays = {key: read_idx(folder / name) for key, name in IDX_FILES.items()}
    splits = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or len(images) != len(labels):
            raise DatasetFormatError(
                f"IDX files in {folder} disagree: {split} images {images.shape}, "
                f"labels {labels.shape}."
            )
        splits.append((images[..., None], labels.astype("int32")))
    return tuple(splits)
