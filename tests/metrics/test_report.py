import json

import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.metrics import utilization_report


def _constructed_set():
    # Class 0: two evenly spread maps (mUE 1). Class 1: a constant map (mUE 0)
    # and an evenly spread one (mUE 1). Class 2: absent.
    spread = (np.arange(60) / 59.0).reshape(6, 10)
    constant = np.full((6, 10), 0.5)
    maps = np.stack([spread, constant, spread, spread])
    labels = np.array([0, 1, 0, 1])
    return maps, labels


def test_per_class_and_overall_figures():
    maps, labels = _constructed_set()
    report = utilization_report(
        maps, labels, class_names=["cat", "dog", "fox"], intervals=(5, 6)
    )
    np.testing.assert_allclose(report.per_image, [1.0, 0.0, 1.0, 1.0])
    assert list(report.per_class) == ["cat", "dog"]
    assert report.per_class["cat"] == pytest.approx(1.0)
    assert report.per_class["dog"] == pytest.approx(0.5)
    assert report.overall == pytest.approx(0.75)


def test_classes_named_by_label_without_names():
    maps, labels = _constructed_set()
    report = utilization_report(maps, labels)
    assert list(report.per_class) == ["0", "1"]


def test_to_dict_is_json_ready():
    maps, labels = _constructed_set()
    data = utilization_report(maps, labels, intervals=(5,)).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["overall_mue"] == pytest.approx(0.75)
    assert data["per_class_mue"] == {"0": 1.0, "1": 0.5}
    assert data["labels"] == [0, 1, 0, 1]
    assert data["intervals"] == [5]
    assert data["value_range"] == [0.0, 1.0]


def test_mismatched_labels_raise():
    maps, _ = _constructed_set()
    with pytest.raises(UddError, match="got 3 labels for 4 maps"):
        utilization_report(maps, [0, 1, 0])


def test_labels_outside_class_names_raise():
    maps, labels = _constructed_set()
    with pytest.raises(UddError, match=r"\[0, 1\)"):
        utilization_report(maps, labels, class_names=["cat"])
