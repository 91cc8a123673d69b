import json

import numpy as np
import pytest

from udd_keras.errors import TFRecordFormatError
from udd_keras.tfrecords.schema import (
    SCHEMA_VERSION,
    SyntheticSetMetadata,
    inside_image,
    max_record_bytes,
    validate_metadata,
    wrong_class_count,
)


def test_metadata_round_trips_through_json(toy_metadata):
    config = json.loads(json.dumps(toy_metadata.to_dict()))
    restored = SyntheticSetMetadata.from_dict(config)
    assert restored == toy_metadata
    assert restored.image_shape == (6, 5, 2)
    assert restored.schema_version == SCHEMA_VERSION
    assert restored.include_original is True


def test_from_dict_ignores_unknown_keys(toy_metadata):
    config = toy_metadata.to_dict()
    config["added_in_a_later_minor_release"] = 1
    assert SyntheticSetMetadata.from_dict(config) == toy_metadata


def test_normalization_object_with_to_dict_is_accepted(make_metadata):
    class Norm:
        def to_dict(self):
            return {"mean": (0.1, 0.2), "std": (0.3, 0.4)}

    meta = make_metadata(normalization=Norm())
    assert meta.normalization == {"mean": [0.1, 0.2], "std": [0.3, 0.4]}


def test_image_bytes_and_record_bound(make_metadata):
    meta = make_metadata(num_regions=3)
    assert meta.image_bytes == 6 * 5 * 2 * 4
    assert max_record_bytes(meta) > meta.image_bytes


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"image_shape": (5000, 5, 2)}, "image size 5000x5"),
        ({"image_shape": (6, 5, 7)}, "channels 7"),
        ({"class_names": ["a"]}, "1 class_names for num_classes 3"),
        ({"ipc": 0}, "ipc 0"),
        ({"ipc": 400_000}, "exceeds 1000000"),
        ({"num_images": 5}, "num_images 5"),
        ({"num_regions": 5000}, "num_regions 5000"),
        ({"normalization": {"mean": [0.5], "std": [0.2]}}, "normalization"),
        ({"normalization": {"mean": [0, 0], "std": [0, 1]}}, "std > 0"),
    ],
)
def test_validate_metadata_rejects(make_metadata, overrides, fragment):
    with pytest.raises(TFRecordFormatError, match="^some.file: ") as info:
        validate_metadata(make_metadata(**overrides), source="some.file")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_record_bound_makes_room_for_soft_labels(make_metadata):
    plain = make_metadata(num_regions=3)
    soft = make_metadata(num_regions=3, has_soft_labels=True, num_classes=3)
    assert max_record_bytes(soft) - max_record_bytes(plain) == 3 * 4


def test_has_soft_labels_must_be_a_bool(make_metadata):
    with pytest.raises(TFRecordFormatError, match="has_soft_labels 'yes' must be"):
        validate_metadata(make_metadata(has_soft_labels="yes"), source="f")


def test_metadata_without_has_soft_labels_reads_as_false(toy_metadata):
    config = toy_metadata.to_dict()
    del config["has_soft_labels"]
    assert SyntheticSetMetadata.from_dict(config).has_soft_labels is False


def test_inside_image_flags_each_box():
    boxes = np.array([[0, 0, 4, 5], [1, 1, 1, 3], [2, 0, 5, 5], [-1, 0, 2, 2]])
    np.testing.assert_array_equal(
        inside_image(boxes, 4, 5), [True, False, False, False]
    )
    assert inside_image(boxes.reshape(2, 2, 4), 4, 5).shape == (2, 2)


def test_wrong_class_count_names_the_first_short_class(make_metadata):
    meta = make_metadata()  # 3 classes, ipc 2
    assert wrong_class_count(np.array([0, 0, 1, 1, 2, 2]), meta) is None
    assert wrong_class_count(np.array([0, 0, 0, 1, 2, 2]), meta) == (0, 3)
    assert wrong_class_count(np.array([0, 0, 2, 2, 2, 2]), meta) == (1, 0)
