import json

import numpy as np
import pytest

from udd_keras.data import load_dataset
from udd_keras.errors import UddError
from udd_keras.evaluation import (
    EvaluationReport,
    evaluate,
    evaluate_full,
    load_evaluation_set,
)
from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set

TINY = dict(epochs=1, repeats=2, width=8, eval_every=1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def write_digits_set(path, digits, ipc=2, boxes=True, normalization=None):
    indices = np.concatenate(
        [np.flatnonzero(digits.y_train == c)[:ipc] for c in range(10)]
    )
    images = digits.x_train[indices]
    if normalization is not None:
        images = (digits.normalization.denormalize(images) - normalization[0]) / (
            normalization[1]
        )
    meta = SyntheticSetMetadata(
        dataset="digits",
        image_shape=digits.image_shape,
        num_classes=10,
        class_names=digits.class_names,
        ipc=ipc,
        method="test",
        normalization=(
            {"mean": [normalization[0]], "std": [normalization[1]]}
            if normalization
            else digits.normalization.to_dict()
        ),
    )
    region_boxes = None
    if boxes:
        region_boxes = np.tile([[[0, 0, 4, 4], [4, 4, 8, 8]]], (len(indices), 1, 1))
    write_synthetic_set(path, images, digits.y_train[indices], meta, region_boxes)
    return indices


def test_evaluate_decodes_regions_and_reports_every_repeat(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits)
    report = evaluate(path, **TINY)
    assert isinstance(report, EvaluationReport)
    assert (report.dataset, report.ipc) == ("digits", 2)
    # 20 stored images, each decoded into itself and its 2 regions.
    assert report.settings["training_images"] == 60
    (result,) = report.results
    assert result.model == "convnet3"
    assert [run.seed for run in result.runs] == [0, 1]
    assert len(result.accuracies) == 2
    assert result.accuracy_mean == pytest.approx(np.mean(result.accuracies))
    assert result.accuracy_std == pytest.approx(np.std(result.accuracies))


def test_repeats_use_consecutive_seeds_and_same_seed_agrees(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits, boxes=False)
    first = evaluate(path, seed=5, **TINY).results[0]
    second = evaluate(path, seed=5, **TINY).results[0]
    assert [run.seed for run in first.runs] == [5, 6]
    assert first.accuracies == second.accuracies
    assert [run.losses for run in first.runs] == [run.losses for run in second.runs]


def test_report_json_has_the_documented_fields(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits, boxes=False)
    report = evaluate(path, **TINY)
    out = report.write_json(tmp_path / "sub" / "report.json")
    data = json.loads(out.read_text())
    assert {"source", "dataset", "ipc", "results"} <= set(data)
    assert data["source"] == str(path)
    (entry,) = data["results"]
    assert {
        "model",
        "accuracy_mean",
        "accuracy_std",
        "accuracies",
        "epochs",
        "seconds",
    } <= set(entry)
    assert entry["epochs"] == 1 and len(entry["accuracies"]) == 2
    assert entry["curve"]["epochs"] == [1]
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]


def test_sets_in_another_normalization_are_converted(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    indices = write_digits_set(path, digits, boxes=False, normalization=(0.0, 1.0))
    images, labels = load_evaluation_set(path, digits)
    np.testing.assert_allclose(images, digits.x_train[indices], atol=1e-5)
    np.testing.assert_array_equal(labels, digits.y_train[indices])


def test_evaluate_full_trains_on_the_whole_training_set(digits):
    report = evaluate_full("digits", epochs=1, repeats=1, width=4, batch_size=256)
    assert report.ipc is None
    assert report.settings["training_images"] == len(digits.x_train)
    assert 0.0 <= report.results[0].accuracy_mean <= 1.0


def test_unknown_model_is_a_one_line_error(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits, boxes=False)
    with pytest.raises(UddError, match="Unknown model 'nope'; choose from"):
        evaluate(path, models=["nope"], **TINY)


def test_a_file_that_is_not_a_synthetic_set_is_rejected(tmp_path):
    path = tmp_path / "junk.tfrecord"
    path.write_bytes(b"not a tfrecord at all")
    with pytest.raises(UddError):
        evaluate(path, **TINY)


def test_image_shape_must_match_the_dataset(tmp_path, digits):
    meta = SyntheticSetMetadata(
        dataset="digits",
        image_shape=(4, 4, 1),
        num_classes=10,
        class_names=digits.class_names,
        ipc=1,
        method="test",
        normalization=digits.normalization.to_dict(),
    )
    path = tmp_path / "small.tfrecord"
    write_synthetic_set(path, np.zeros((10, 4, 4, 1), "float32"), np.arange(10), meta)
    with pytest.raises(UddError, match=r"shape \(4, 4, 1\) do not match"):
        evaluate(path, **TINY)


def test_repeats_must_be_positive(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits, boxes=False)
    with pytest.raises(UddError, match="repeats must be >= 1, got 0"):
        evaluate(path, **{**TINY, "repeats": 0})
