import gzip

import numpy as np
import pytest

from udd_keras.data.dataset import DatasetFormatError
from udd_keras.data.idx import IDX_FILES, has_idx_files, load_idx_folder, read_idx


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype("uint8").tobytes())


def write_idx_folder(folder, num_train=20, num_test=10, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (num_train, 28, 28)),
        "train_labels": np.arange(num_train) % 10,
        "test_images": rng.integers(0, 256, (num_test, 28, 28)),
        "test_labels": np.arange(num_test) % 10,
    }
    for key, filename in IDX_FILES.items():
        write_idx(folder / filename, arrays[key])
    return arrays


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype="uint8").reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)


def test_read_idx_rejects_bad_magic(tmp_path):
    with gzip.open(tmp_path / "bad.gz", "wb") as file:
        file.write(b"PK\x03\x04rest")
    with pytest.raises(DatasetFormatError, match="not an IDX file"):
        read_idx(tmp_path / "bad.gz")


def test_read_idx_rejects_truncated(tmp_path):
    header = bytes([0, 0, 0x08, 1]) + np.asarray([10], ">u4").tobytes()
    with gzip.open(tmp_path / "short.gz", "wb") as file:
        file.write(header + b"\x01\x02")
    with pytest.raises(DatasetFormatError, match="truncated"):
        read_idx(tmp_path / "short.gz")


def test_load_idx_folder(tmp_path):
    assert not has_idx_files(tmp_path)
    arrays = write_idx_folder(tmp_path)
    assert has_idx_files(tmp_path)
    (x_train, y_train), (x_test, y_test) = load_idx_folder(tmp_path)
    assert x_train.shape == (20, 28, 28, 1) and x_test.shape == (10, 28, 28, 1)
    assert y_train.dtype == np.int32
    np.testing.assert_array_equal(x_train[..., 0], arrays["train_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])
