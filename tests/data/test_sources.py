from udd_keras.data import list_sources
from udd_keras.data.idx import has_idx_files
from udd_keras.data.sources import DEBIAN_FASHION_MNIST_DIR


def test_list_sources_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    rows = {row.name: row for row in list_sources()}
    assert list(rows) == [
        "mnist",
        "fashion_mnist",
        "cifar10",
        "cifar100",
        "svhn_cropped",
        "digits",
    ]
    assert rows["cifar100"].num_classes == 100
    assert rows["cifar10"].image_shape == (32, 32, 3)
    assert rows["digits"].image_shape == (8, 8, 1) and rows["digits"].available
    assert not rows["cifar10"].available
    assert "tfds build cifar10" in rows["cifar10"].detail
    debian = has_idx_files(DEBIAN_FASHION_MNIST_DIR)
    assert rows["fashion_mnist"].available is debian


def test_list_sources_sees_prepared_tfds_dir(tmp_path):
    version = tmp_path / "cifar10" / "3.0.2"
    version.mkdir(parents=True)
    (version / "dataset_info.json").write_text("{}")
    rows = {row.name: row for row in list_sources(data_dir=tmp_path)}
    assert rows["cifar10"].available
    assert str(version) in rows["cifar10"].detail
    assert not rows["cifar100"].available
