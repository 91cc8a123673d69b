import dataclasses
import gzip
import pathlib
import socket
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from udd_keras.data import DatasetFormatError, load_dataset, tfds_source
from udd_keras.data.idx import IDX_FILES, has_idx_files
from udd_keras.data.sources import DEBIAN_FASHION_MNIST_DIR, SOURCES
from udd_keras.errors import DatasetNotFoundError

EXPECTED = {
    "mnist": ((28, 28, 1), 10, (0.1307,), (0.3081,)),
    "fashion_mnist": ((28, 28, 1), 10, (0.2861,), (0.3530,)),
    "cifar10": ((32, 32, 3), 10, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((32, 32, 3), 100, (0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762)),
    "svhn_cropped": (
        (32, 32, 3),
        10,
        (0.4377, 0.4438, 0.4728),
        (0.1980, 0.2010, 0.1970),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tfds_source_on_mock_data(name, tmp_path):
    shape, num_classes, mean, std = EXPECTED[name]
    # No Debian fallback here: the mock stands in for a prepared TFDS dataset.
    spec = dataclasses.replace(SOURCES[name], system_idx_dir=None)
    with tfds.testing.mock_data(num_examples=4):
        ds = tfds_source.load_tfds_source(spec, data_dir=tmp_path, download=True)
        raw = tfds.builder(name, data_dir=str(tmp_path)).as_dataset(
            split="train", as_supervised=True, batch_size=4
        )
        raw_images, raw_labels = next(iter(tfds.as_numpy(raw)))
    assert ds.name == name
    assert ds.x_train.shape == (4, *shape) and ds.x_test.shape == (4, *shape)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert ds.image_shape == shape and ds.num_classes == num_classes
    assert len(ds.class_names) == num_classes
    for labels in (ds.y_train, ds.y_test):
        assert labels.min() >= 0 and labels.max() < num_classes
    assert ds.normalization.mean == mean and ds.normalization.std == std
    expected = (raw_images.astype("float32") / 255.0 - np.float32(mean)) / np.float32(
        std
    )
    np.testing.assert_allclose(ds.x_train, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ds.y_train, raw_labels)


@pytest.mark.exhaustive
@pytest.mark.skipif(
    not has_idx_files(DEBIAN_FASHION_MNIST_DIR),
    reason="Debian's dataset-fashion-mnist files are not installed",
)
def test_fashion_mnist_from_debian_files():
    ds = load_dataset("fashion_mnist")
    assert ds.x_train.shape == (60000, 28, 28, 1)
    assert ds.x_test.shape == (10000, 28, 28, 1)
    assert ds.class_names[0] == "T-shirt/top" and ds.num_classes == 10
    np.testing.assert_array_equal(np.bincount(ds.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [1000] * 10)
    assert abs(float(ds.x_train.mean())) < 0.01
    assert abs(float(ds.x_train.std()) - 1.0) < 0.01


def _write_fake_mnist(folder, num_train=30, num_test=10):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (num_train, 28, 28)),
        "train_labels": np.arange(num_train) % 10,
        "test_images": rng.integers(0, 256, (num_test, 28, 28)),
        "test_labels": (np.arange(num_test) + 3) % 10,
    }
    for key, filename in IDX_FILES.items():
        array = arrays[key]
        header = (
            bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
        )
        with gzip.open(folder / filename, "wb") as file:
            file.write(header + array.astype("uint8").tobytes())
    return arrays


def test_mnist_from_an_idx_data_dir(tmp_path, monkeypatch):
    # Whatever TFDS prepares from these fake files stays inside tmp_path.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    idx_dir = tmp_path / "idx"
    idx_dir.mkdir()
    arrays = _write_fake_mnist(idx_dir)
    ds = load_dataset("mnist", data_dir=idx_dir, download=False)
    assert ds.x_train.shape == (30, 28, 28, 1) and ds.x_test.shape == (10, 28, 28, 1)
    # TFDS may reorder examples when it prepares them; compare as sorted sets.
    np.testing.assert_array_equal(np.sort(ds.y_test), np.sort(arrays["test_labels"]))
    restored = np.rint(ds.normalization.denormalize(ds.x_train)[..., 0] * 255)
    order = np.lexsort(restored.reshape(30, -1).T)
    expected_order = np.lexsort(arrays["train_images"].reshape(30, -1).T)
    np.testing.assert_array_equal(
        restored[order], arrays["train_images"][expected_order]
    )


def test_missing_dataset_offline_raises_quickly(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "host_reachable", lambda *args, **kwargs: False)
    start = time.monotonic()
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("cifar10", data_dir=tmp_path)
    assert time.monotonic() - start < 10
    message = str(error.value)
    assert "'cifar10' is not prepared" in message
    assert "tfds build cifar10" in message and "--data-dir" in message
    assert "\n" not in message


def test_download_false_never_probes_network(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("must not probe the network")

    monkeypatch.setattr(tfds_source, "host_reachable", fail)
    with pytest.raises(DatasetNotFoundError, match="svhn_cropped"):
        load_dataset("svhn_cropped", data_dir=tmp_path, download=False)


def test_failed_download_becomes_dataset_not_found(tmp_path, monkeypatch):
    def broken_download(self, *args, **kwargs):
        raise ConnectionError("Connection refused\nmore details")

    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", broken_download
    )
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("cifar100", data_dir=tmp_path, download=True)
    assert "ConnectionError: Connection refused" in str(error.value)
    assert "\n" not in str(error.value)


def test_host_reachable_on_loopback():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert tfds_source.host_reachable("127.0.0.1", timeout=2.0, port=port)
    # The socket is closed now: nothing listens on that port any more.
    start = time.monotonic()
    assert not tfds_source.host_reachable("127.0.0.1", timeout=2.0, port=port)
    assert time.monotonic() - start < 5


class _FakeBuilder:
    """Stands in for a TFDS builder whose preparation rewrites its checksums."""

    name = "fake"
    _checksums_path = None

    def __init__(self, fail):
        self.fail = fail
        self.config = None

    def download_and_prepare(self, download_config=None):
        self.config = download_config
        pathlib.Path(type(self)._checksums_path).write_text("rewritten\n")
        if self.fail:
            raise RuntimeError("cannot prepare")


@pytest.mark.parametrize("fail", [False, True])
def test_prepare_from_manual_dir_restores_checksums(tmp_path, monkeypatch, fail):
    checksums = tmp_path / "fake.txt"
    checksums.write_text("original\n")
    monkeypatch.setattr(_FakeBuilder, "_checksums_path", str(checksums))
    monkeypatch.setattr(tfds_source, "tfds_can_prepare", lambda: True)
    builder = _FakeBuilder(fail)
    prepared = tfds_source._prepare_from_manual_dir(builder, tmp_path)
    assert prepared is not fail
    assert checksums.read_text() == "original\n"
    assert builder.config.register_checksums
    assert str(builder.config.manual_dir) == str(tmp_path)


def test_prepare_from_manual_dir_skips_tfds_when_it_cannot_prepare(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(tfds_source, "tfds_can_prepare", lambda: False)
    builder = _FakeBuilder(fail=False)
    assert tfds_source._prepare_from_manual_dir(builder, tmp_path) is False
    assert builder.config is None


def test_idx_labels_out_of_range_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(tfds_source, "tfds_can_prepare", lambda: False)
    idx_dir = tmp_path / "idx"
    idx_dir.mkdir()
    arrays = _write_fake_mnist(idx_dir)
    labels = arrays["train_labels"].copy()
    labels[0] = 12
    header = bytes([0, 0, 0x08, 1]) + np.asarray(labels.shape, ">u4").tobytes()
    with gzip.open(idx_dir / IDX_FILES["train_labels"], "wb") as file:
        file.write(header + labels.astype("uint8").tobytes())
    with pytest.raises(DatasetFormatError, match=r"train labels span \[0, 12\]"):
        load_dataset("mnist", data_dir=idx_dir, download=False)
