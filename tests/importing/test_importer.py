"""`import_set` on .npz files and image folders: values, metadata, errors."""

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import DatasetNotFoundError
from udd_keras.importing import SetImportError, import_set
from udd_keras.tfrecords import as_tf_dataset, read_synthetic_set


def unit_images(rng, count, shape):
    return rng.random((count, *shape)).astype(np.float32)


def stored_as_unit(path):
    """The set's images brought back to [0, 1] pixels, and the set."""
    synthetic = read_synthetic_set(path)
    mean = np.asarray(synthetic.metadata.normalization["mean"], np.float32)
    std = np.asarray(synthetic.metadata.normalization["std"], np.float32)
    return synthetic.images * std + mean, synthetic


def test_npz_nchw_unit_pixels_round_trip(tmp_path, rng, digits):
    unit = unit_images(rng, 20, (8, 8, 1))
    labels = np.tile(np.arange(10), 2)
    source = tmp_path / "set.npz"
    np.savez(source, images=np.transpose(unit, (0, 3, 1, 2)), labels=labels)

    result = import_set(source, "digits", tmp_path / "set.tfrecord")

    back, synthetic = stored_as_unit(result.path)
    np.testing.assert_allclose(back, unit, atol=1e-5)
    np.testing.assert_array_equal(synthetic.labels, labels)
    meta = synthetic.metadata
    assert (meta.dataset, meta.ipc, meta.method) == ("digits", 2, "imported")
    assert meta.normalization == digits.normalization.to_dict()
    assert meta.class_names == digits.class_names
    assert synthetic.boxes is None and meta.include_original
    imported = meta.extra["imported"]
    assert (imported["format"], imported["pixels"]) == ("npz", "raw")
    assert meta.extra["formation"] == "original" and meta.extra["factor"] == 1
    assert result.source_format == "npz" and result.decoded_images == 20
    assert len(list(as_tf_dataset(result.path))) == 20


def test_npz_normalised_with_mean_std_is_unnormalised(tmp_path, rng, toy):
    unit = unit_images(rng, 6, (4, 4, 3))
    mean, std = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]
    stored = (unit - np.float32(mean)) / np.float32(std)
    source = tmp_path / "set.npz"
    np.savez(source, x=stored, y=np.array([0, 1, 2, 2, 1, 0]))

    result = import_set(source, toy, tmp_path / "out.tfrecord", mean=mean, std=std)

    back, synthetic = stored_as_unit(result.path)
    np.testing.assert_allclose(back, unit, atol=1e-5)
    imported = synthetic.metadata.extra["imported"]
    assert imported["source_normalization"] == {"mean": mean, "std": std}
    assert synthetic.metadata.normalization == toy.normalization.to_dict()


def test_pixels_in_the_datasets_own_normalisation_are_kept_bit_for_bit(
    tmp_path, rng, toy
):
    stored = rng.normal(size=(3, 4, 4, 3)).astype(np.float32)
    source = tmp_path / "set.npz"
    np.savez(source, images=stored, labels=[0, 1, 2])
    norm = toy.normalization
    result = import_set(
        source, toy, tmp_path / "o.tfrecord", mean=norm.mean, std=norm.std
    )
    np.testing.assert_array_equal(read_synthetic_set(result.path).images, stored)


def test_one_mean_and_std_value_apply_to_every_channel(tmp_path, rng, toy):
    raw = rng.uniform(-0.2, 1.2, (3, 4, 4, 3)).astype(np.float32)  # unclamped
    source = tmp_path / "set.npz"
    np.savez(source, images=raw, labels=[0, 1, 2])
    result = import_set(source, toy, tmp_path / "o.tfrecord", mean=[0.0], std=1)
    back, _ = stored_as_unit(result.path)
    np.testing.assert_allclose(back, raw, atol=1e-5)


def test_npz_uint8_pixels(tmp_path, rng, toy):
    pixels = rng.integers(0, 256, (3, 4, 4, 3)).astype(np.uint8)
    source = tmp_path / "set.npz"
    np.savez(source, images=pixels, labels=[2, 1, 0])
    back, _ = stored_as_unit(import_set(source, toy, tmp_path / "o.tfrecord").path)
    np.testing.assert_allclose(back, pixels / 255.0, atol=1e-5)


def test_npz_soft_labels_are_kept_or_dropped_on_request(tmp_path, rng, toy):
    soft = rng.dirichlet(np.ones(3), size=3).astype(np.float32)
    soft[np.arange(3), np.arange(3)] += 2.0
    soft /= soft.sum(axis=1, keepdims=True)
    source = tmp_path / "set.npz"
    np.savez(source, images=unit_images(rng, 3, (4, 4, 3)), soft_labels=soft)

    kept = read_synthetic_set(import_set(source, toy, tmp_path / "a.tfrecord").path)
    np.testing.assert_array_equal(kept.labels, [0, 1, 2])
    np.testing.assert_allclose(kept.soft_labels, soft, rtol=1e-6)
    assert kept.metadata.extra["imported"]["soft_labels"] is True

    hard = read_synthetic_set(
        import_set(source, toy, tmp_path / "b.tfrecord", hard_labels=True).path
    )
    assert hard.soft_labels is None
    np.testing.assert_array_equal(hard.labels, [0, 1, 2])


def test_factor_stores_idc_tiles_that_decode_in_order(tmp_path, toy):
    # Each 2x2 tile of a stored 4x4 image holds one constant: decoding must
    # give the four tiles, row-major as IDC's decode_zoom, each filling the image.
    image = np.zeros((4, 4, 3), np.float32)
    values = [0.1, 0.3, 0.6, 0.9]
    for k, (top, left) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        image[top : top + 2, left : left + 2] = values[k]
    source = tmp_path / "mosaic.npz"
    np.savez(source, images=np.stack([image] * 3), labels=[0, 1, 2])

    result = import_set(source, toy, tmp_path / "tiles.tfrecord", factor=2)

    synthetic = read_synthetic_set(result.path)
    assert not synthetic.metadata.include_original
    assert synthetic.boxes.shape == (3, 4, 4)
    assert synthetic.boxes[0].tolist() == [
        [0, 0, 2, 2],
        [0, 2, 2, 4],
        [2, 0, 4, 2],
        [2, 2, 4, 4],
    ]
    assert synthetic.metadata.extra["formation"] == "tiles"
    decoded = [image for image, _ in as_tf_dataset(result.path, decode_regions=True)]
    assert len(decoded) == 12 == result.decoded_images
    mean = np.float32(toy.normalization.mean[0])
    std = np.float32(toy.normalization.std[0])
    for k, value in enumerate(values):
        np.testing.assert_allclose(decoded[k].numpy() * std + mean, value, atol=1e-5)


def test_multi_decode_keeps_the_image_and_tiles_of_each_factor(tmp_path, rng, toy):
    source = tmp_path / "set.npz"
    np.savez(source, images=unit_images(rng, 3, (4, 4, 3)), labels=[0, 1, 2])
    result = import_set(
        source, toy, tmp_path / "m.tfrecord", factor=3, decode_type="multi"
    )
    synthetic = read_synthetic_set(result.path)
    assert synthetic.metadata.include_original
    assert synthetic.boxes.shape == (3, 4 + 9, 4)
    assert result.decoded_images == 3 * 14
    assert "formation" not in synthetic.metadata.extra
    assert synthetic.metadata.extra["decode_type"] == "multi"


def write_png(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_png(pixels).numpy())


def test_folder_of_class_names_and_ids_round_trips(tmp_path, rng, toy):
    pixels = rng.integers(0, 256, (6, 4, 4, 3)).astype(np.uint8)
    root = tmp_path / "exported"
    # Class 0 by name, class 1 by id, class 2 by name; files sorted per class.
    for index, folder in enumerate(["class0", "class0", "1", "1", "class2", "class2"]):
        write_png(root / folder / f"{index:02d}.png", pixels[index])
    (root / "class0" / "notes.txt").write_text("ignored")

    result = import_set(root, toy, tmp_path / "f.tfrecord")

    back, synthetic = stored_as_unit(result.path)
    np.testing.assert_allclose(back, pixels / 255.0, atol=1e-5)
    np.testing.assert_array_equal(synthetic.labels, [0, 0, 1, 1, 2, 2])
    assert result.source_format == "folder"


def test_rgb_files_of_a_grayscale_dataset_become_gray(tmp_path, digits):
    # torchvision.save_image writes grayscale sets as three equal channels.
    root = tmp_path / "images"
    for label in range(10):
        gray = np.full((8, 8, 1), 10 * label, np.uint8)
        write_png(root / str(label) / "0.png", np.repeat(gray, 3, axis=-1))
    back, _ = stored_as_unit(import_set(root, digits, tmp_path / "g.tfrecord").path)
    np.testing.assert_allclose(back[:, 0, 0, 0], np.arange(10) * 10 / 255, atol=2e-3)


@pytest.mark.parametrize(
    "folders, message",
    [
        (
            ["class0", "class1", "klass2"],
            r"sub-folder 'klass2' is no class .* mean 'class2'",
        ),
        (["class0", "class1", "7"], r"sub-folder '7' is no class .* class ids 0..2"),
        (["class0", "class1"], r"class 2 \('class2'\) has no images"),
        (["class0", "0", "class1", "class2"], r"'0' and 'class0' both hold class 0"),
    ],
)
def test_folder_class_errors(tmp_path, toy, folders, message):
    root = tmp_path / "images"
    for name in folders:
        write_png(root / name / "a.png", np.zeros((4, 4, 3), np.uint8))
    out = tmp_path / "out.tfrecord"
    with pytest.raises(SetImportError, match=message):
        import_set(root, toy, out)
    assert not out.exists()


def test_folder_image_of_the_wrong_size_names_the_file(tmp_path, toy):
    root = tmp_path / "images"
    for name in ("class0", "class1", "class2"):
        write_png(root / name / "a.png", np.zeros((4, 4, 3), np.uint8))
    write_png(root / "class1" / "b.png", np.zeros((5, 4, 3), np.uint8))
    with pytest.raises(
        SetImportError, match=r"class1/b.png: image of 5x4 pixels .* are 4x4 with 3"
    ):
        import_set(root, toy, tmp_path / "out.tfrecord")


def good_npz(path, rng, **overrides):
    arrays = {"images": unit_images(rng, 3, (4, 4, 3)), "labels": np.arange(3)}
    arrays.update(overrides)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "overrides, options, message",
    [
        (
            {"images": np.zeros((3, 32, 32, 3), np.float32)},
            {},
            r"\(3, 32, 32, 3\) do not fit the dataset's 4x4 images",
        ),
        (
            {"images": np.full((3, 4, 4, 3), np.nan, np.float32)},
            {},
            "images hold 144 NaN or infinite",
        ),
        ({"labels": np.array([0, 1, 5])}, {}, "label 5 outside the dataset's classes"),
        ({"labels": np.array([0, 1, 1])}, {}, r"class 2 \('class2'\) has no images"),
        (
            {"images": np.full((3, 4, 4, 3), 3.0, np.float32)},
            {},
            r"span \[3, 3\], outside \[0, 1\]",
        ),
        ({}, {"mean": [0.5]}, "give both --mean and --std"),
        ({}, {"mean": [0.5, 0.5], "std": [1, 1]}, r"--mean has 2 values; .* 3"),
        ({}, {"mean": [0.5], "std": [0.0]}, "--std must be positive"),
        ({}, {"factor": 5}, "factor 5 outside 1..4 for 4x4 images"),
        ({}, {"zca": False}, "--zca/--no-zca apply to MTT sets only"),
        ({}, {"source_format": "dc"}, "reading .pt files needs PyTorch|not a readable"),
        ({}, {"layout": "chw"}, "layout must be one of auto, nhwc, nchw; got 'chw'"),
        ({"x": np.zeros((3, 4, 4, 3))}, {}, "holds both images and x"),
    ],
)
def test_bad_sources_fail_before_anything_is_written(
    tmp_path, rng, toy, overrides, options, message
):
    source = good_npz(tmp_path / "set.npz", rng, **overrides)
    out = tmp_path / "out.tfrecord"
    with pytest.raises(SetImportError, match=message):
        import_set(source, toy, out, **options)
    assert list(tmp_path.iterdir()) == [source]


def test_a_failed_import_leaves_an_existing_output_untouched(tmp_path, rng, toy):
    out = tmp_path / "out.tfrecord"
    out.write_bytes(b"previous")
    source = good_npz(tmp_path / "set.npz", rng, labels=np.array([0, 0, 0]))
    with pytest.raises(SetImportError):
        import_set(source, toy, out)
    assert out.read_bytes() == b"previous"


def test_npz_without_images_or_labels_lists_its_keys(tmp_path):
    source = tmp_path / "set.npz"
    np.savez(source, pixels=np.zeros((1, 4, 4, 3)), labels=[0])
    with pytest.raises(SetImportError, match=r"no images under images or x \(found: "):
        import_set(source, "digits", tmp_path / "o.tfrecord")
    np.savez(source, images=np.zeros((1, 4, 4, 3)))
    with pytest.raises(SetImportError, match="no labels under labels or y or soft"):
        import_set(source, "digits", tmp_path / "o.tfrecord")


def test_unknown_source_kind_and_dataset_are_one_line_errors(tmp_path, rng):
    with pytest.raises(SetImportError, match="missing.npz: no such file or folder"):
        import_set(tmp_path / "missing.npz", "digits", tmp_path / "o.tfrecord")
    (tmp_path / "set.bin").write_bytes(b"x")
    with pytest.raises(
        SetImportError, match=r"cannot tell the format .* \(--format npz, folder, dc"
    ):
        import_set(tmp_path / "set.bin", "digits", tmp_path / "o.tfrecord")
    source = good_npz(tmp_path / "set.npz", rng)
    with pytest.raises(DatasetNotFoundError, match="unknown dataset 'cifar11'"):
        import_set(source, "cifar11", tmp_path / "o.tfrecord")
    assert not (tmp_path / "o.tfrecord").exists()
