import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import TFRecordFormatError, UddError
from udd_keras.regions import form_training_images
from udd_keras.tfrecords import (
    as_tf_dataset,
    decode_regions,
    read_metadata,
    read_synthetic_set,
    write_synthetic_set,
)


def test_round_trip_is_bit_exact(written_set, toy_metadata):
    path, images, labels, boxes = written_set
    restored = read_synthetic_set(path)
    assert restored.images.dtype == np.float32
    assert restored.labels.dtype == np.int32
    assert restored.boxes.dtype == np.int32
    np.testing.assert_array_equal(
        restored.images.view(np.uint32), images.view(np.uint32)
    )
    np.testing.assert_array_equal(restored.labels, labels)
    np.testing.assert_array_equal(restored.boxes, boxes)
    meta = restored.metadata
    assert meta.extra == toy_metadata.extra
    assert meta.class_names == ["a", "b", "c"]
    assert meta.normalization == toy_metadata.normalization
    assert read_metadata(path) == meta


def test_special_float_values_survive(tmp_path, toy_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    images = images.copy()
    special = np.array([-0.0, 1e-45, 3.4e38, -1.17e-38, np.pi], np.float32)
    images.reshape(-1)[: special.size] = special
    path = write_synthetic_set(tmp_path / "s.tfrecord", images, labels, toy_metadata)
    restored = read_synthetic_set(path).images
    np.testing.assert_array_equal(restored.view(np.uint32), images.view(np.uint32))


def test_float64_input_is_stored_as_float32(tmp_path, toy_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    path = write_synthetic_set(
        tmp_path / "s.tfrecord", images.astype(np.float64), labels, toy_metadata
    )
    np.testing.assert_array_equal(read_synthetic_set(path).images, images)


def test_as_tf_dataset_stored_images(written_set):
    path, images, labels, _ = written_set
    dataset = as_tf_dataset(path)
    assert dataset.element_spec == (
        tf.TensorSpec((6, 5, 2), tf.float32),
        tf.TensorSpec((), tf.int32),
    )
    elements = list(dataset.as_numpy_iterator())
    assert len(elements) == 6
    np.testing.assert_array_equal(np.stack([e[0] for e in elements]), images)
    np.testing.assert_array_equal([e[1] for e in elements], labels)


def test_as_tf_dataset_decodes_regions(written_set):
    path, images, labels, boxes = written_set
    dataset = as_tf_dataset(path, decode_regions=True)
    assert dataset.element_spec[0].shape == (6, 5, 2)
    assert dataset.element_spec[1].dtype == tf.int32
    elements = list(dataset.as_numpy_iterator())
    assert len(elements) == 6 * (2 + 1)
    decoded = np.stack([e[0] for e in elements])
    expected = form_training_images(images, boxes, include_original=True).numpy()
    np.testing.assert_allclose(decoded, expected, atol=1e-6)
    np.testing.assert_array_equal(decoded[::3], images)  # originals first
    np.testing.assert_array_equal([e[1] for e in elements], np.repeat(labels, 3))


def test_decode_regions_numpy_matches_dataset(written_set):
    path = written_set[0]
    synthetic = read_synthetic_set(path)
    images, labels = decode_regions(synthetic, batch_size=4)
    assert images.shape == (18, 6, 5, 2) and images.dtype == np.float32
    assert labels.dtype == np.int32
    elements = list(as_tf_dataset(path, decode_regions=True).as_numpy_iterator())
    np.testing.assert_allclose(images, np.stack([e[0] for e in elements]), atol=1e-6)
    np.testing.assert_array_equal(labels, [e[1] for e in elements])


def test_include_original_false_yields_regions_only(
    tmp_path, make_metadata, toy_arrays
):
    images, labels, boxes = toy_arrays
    path = write_synthetic_set(
        tmp_path / "idc.tfrecord",
        images,
        labels,
        make_metadata(include_original=False),
        boxes=boxes,
    )
    elements = list(as_tf_dataset(path, decode_regions=True).as_numpy_iterator())
    assert len(elements) == 6 * 2
    decoded, decoded_labels = decode_regions(read_synthetic_set(path))
    assert decoded.shape == (12, 6, 5, 2)
    np.testing.assert_array_equal(decoded_labels, np.repeat(labels, 2))
    region = images[0, boxes[0, 0, 0] : boxes[0, 0, 2], boxes[0, 0, 1] : boxes[0, 0, 3]]
    assert decoded[0].min() >= region.min() - 1e-6
    assert decoded[0].max() <= region.max() + 1e-6


def test_set_without_boxes_decodes_to_itself(tmp_path, toy_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    path = write_synthetic_set(tmp_path / "s.tfrecord", images, labels, toy_metadata)
    assert len(list(as_tf_dataset(path, decode_regions=True))) == 6
    decoded, decoded_labels = decode_regions(read_synthetic_set(path))
    np.testing.assert_array_equal(decoded, images)
    np.testing.assert_array_equal(decoded_labels, labels)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_common_shapes_round_trip(tmp_path, make_metadata, make_arrays, shape):
    meta = make_metadata(
        image_shape=shape,
        normalization={"mean": [0.5] * shape[2], "std": [0.25] * shape[2]},
    )
    images, labels, boxes = make_arrays(num_regions=8, metadata=meta)
    path = write_synthetic_set(tmp_path / "s.tfrecord", images, labels, meta, boxes)
    assert len(list(as_tf_dataset(path, decode_regions=True))) == 6 * 9
    np.testing.assert_array_equal(read_synthetic_set(path).boxes, boxes)


@pytest.fixture
def soft_set(tmp_path, toy_metadata, toy_arrays):
    images, labels, boxes = toy_arrays
    soft = np.random.default_rng(1).dirichlet(np.ones(3), size=6).astype(np.float32)
    path = write_synthetic_set(
        tmp_path / "soft.tfrecord",
        images,
        labels,
        toy_metadata,
        boxes=boxes,
        soft_labels=soft,
    )
    return path, labels, soft


def test_as_tf_dataset_yields_soft_labels(soft_set):
    path, labels, soft = soft_set
    dataset = as_tf_dataset(path, labels="soft")
    assert dataset.element_spec[1] == tf.TensorSpec((3,), tf.float32)
    np.testing.assert_array_equal([e[1] for e in dataset.as_numpy_iterator()], soft)
    hard = [e[1] for e in as_tf_dataset(path).as_numpy_iterator()]
    np.testing.assert_array_equal(hard, labels)


def test_decoded_regions_keep_their_image_soft_label(soft_set):
    path, labels, soft = soft_set
    elements = list(
        as_tf_dataset(path, decode_regions=True, labels="soft").as_numpy_iterator()
    )
    assert len(elements) == 6 * 3
    np.testing.assert_array_equal([e[1] for e in elements], np.repeat(soft, 3, 0))
    images, decoded_labels, decoded_soft = decode_regions(
        read_synthetic_set(path), batch_size=4, soft_labels=True
    )
    np.testing.assert_allclose(images, np.stack([e[0] for e in elements]), atol=1e-6)
    np.testing.assert_array_equal(decoded_labels, np.repeat(labels, 3))
    np.testing.assert_array_equal(decoded_soft, np.repeat(soft, 3, axis=0))


def test_decode_regions_soft_labels_without_boxes(tmp_path, toy_metadata, toy_arrays):
    images, labels, _ = toy_arrays
    soft = np.full((6, 3), 1 / 3, np.float32)
    path = write_synthetic_set(
        tmp_path / "s.tfrecord", images, labels, toy_metadata, soft_labels=soft
    )
    _, _, decoded_soft = decode_regions(read_synthetic_set(path), soft_labels=True)
    np.testing.assert_array_equal(decoded_soft, soft)
    assert len(list(as_tf_dataset(path, decode_regions=True, labels="soft"))) == 6


def test_soft_labels_of_a_set_without_them_are_an_error(written_set):
    path = written_set[0]
    with pytest.raises(TFRecordFormatError, match="stores no soft labels"):
        as_tf_dataset(path, labels="soft")
    with pytest.raises(TFRecordFormatError, match="stores no soft labels"):
        decode_regions(read_synthetic_set(path), soft_labels=True)


def test_unknown_label_kind_is_an_error(written_set):
    with pytest.raises(
        UddError, match="Unknown labels 'probs'; choose from hard, soft"
    ):
        as_tf_dataset(written_set[0], labels="probs")
