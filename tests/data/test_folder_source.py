import numpy as np
import pytest
import tensorflow as tf

from udd_keras.data import DatasetFormatError, load_dataset


def _write_png(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    tf.io.write_file(str(path), tf.io.encode_png(pixels))


def _make_pool(root, per_class=5, channels=3, classes=("cat", "dog")):
    rng = np.random.default_rng(0)
    for name in classes:
        for i in range(per_class):
            pixels = rng.integers(0, 256, (6, 7, channels)).astype("uint8")
            _write_png(root / name / f"{i}.png", pixels)


def test_folder_with_train_and_test(tmp_path):
    _make_pool(tmp_path / "train", per_class=3)
    _make_pool(tmp_path / "test", per_class=2)
    ds = load_dataset(str(tmp_path))
    assert ds.class_names == ["cat", "dog"]
    assert ds.x_train.shape == (6, 6, 7, 3) and ds.x_test.shape == (4, 6, 7, 3)
    np.testing.assert_array_equal(ds.y_test, [0, 0, 1, 1])
    # Same-size images keep their exact pixel values.
    first = tf.io.decode_png(tf.io.read_file(str(tmp_path / "train/cat/0.png")))
    np.testing.assert_allclose(
        ds.normalization.denormalize(ds.x_train[0]), first.numpy() / 255.0, atol=1e-5
    )
    raw = ds.normalization.denormalize(ds.x_train)
    np.testing.assert_allclose(
        raw.mean(axis=(0, 1, 2)), ds.normalization.mean, atol=1e-4
    )


def test_single_folder_is_split_80_20_stratified_and_seeded(tmp_path):
    _make_pool(tmp_path, per_class=5, channels=1)
    a = load_dataset(tmp_path, seed=1)
    assert a.image_shape == (6, 7, 1)
    assert a.x_train.shape[0] == 8 and a.x_test.shape[0] == 2
    np.testing.assert_array_equal(np.sort(a.y_test), [0, 1])
    b = load_dataset(tmp_path, seed=1)
    np.testing.assert_array_equal(a.x_test, b.x_test)


def test_folder_image_size_resizes(tmp_path):
    _make_pool(tmp_path, per_class=5)
    ds = load_dataset(tmp_path, image_size=(4, 4))
    assert ds.image_shape == (4, 4, 3)


def test_folder_needs_two_classes(tmp_path):
    _make_pool(tmp_path, classes=("only",))
    with pytest.raises(DatasetFormatError, match="1 class sub-folder"):
        load_dataset(tmp_path)


def test_folder_train_test_classes_must_match(tmp_path):
    _make_pool(tmp_path / "train", classes=("a", "b"))
    _make_pool(tmp_path / "test", classes=("a", "c"))
    with pytest.raises(DatasetFormatError, match="differ from train classes"):
        load_dataset(tmp_path)


def test_image_files_lists_visible_images_sorted(tmp_path):
    from udd_keras.data.folder_source import image_files

    for name in ("b.PNG", "a.jpg", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "folder.png").mkdir()
    assert [p.name for p in image_files(tmp_path)] == ["a.jpg", "b.PNG"]
