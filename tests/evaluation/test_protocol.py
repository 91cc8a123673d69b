import json

import numpy as np
import pytest

from udd_keras.data import load_dataset
from udd_keras.errors import UddError
from udd_keras.evaluation import (
    EvaluationOptions,
    EvaluationReport,
    evaluate,
    load_evaluation_set,
)
from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set
from udd_keras.training import Callback, TrainingRecipe

TINY = dict(recipe=TrainingRecipe(epochs=1, width=8), repeats=2, eval_every=1)


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


def test_a_user_callback_receives_every_runs_epoch_logs(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits, boxes=False)
    calls = []

    class Recorder(Callback):
        def on_run_start(self, model, repeat, seed):
            calls.append(("run", model, repeat, seed))

        def on_start(self, step, total):
            calls.append(("start", step, total))

        def on_step(self, epoch, total, logs):
            calls.append(("epoch", epoch, total, sorted(logs)))

        def close(self):
            calls.append(("close",))

    recipe = TrainingRecipe(epochs=2, width=8)
    report = evaluate(
        path, recipe, repeats=1, seed=3, eval_every=1, callbacks=[Recorder()]
    )
    tested = ["loss", "lr", "test_accuracy", "test_images"]
    assert calls == [
        ("run", "convnet3", 0, 3),
        ("start", 0, 2),
        ("epoch", 1, 2, tested),
        ("epoch", 2, 2, tested),
        ("close",),
    ]
    assert [epoch for epoch, _ in report.results[0].runs[0].curve] == [1, 2]


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
    recipe = TrainingRecipe(epochs=1, width=4, batch_size=256)
    report = evaluate("digits", recipe, repeats=1, options=EvaluationOptions(full=True))
    assert report.ipc is None
    assert report.settings["method"] == "full"
    assert report.settings["training_images"] == len(digits.x_train)
    assert "temperature" not in report.settings
    assert 0.0 <= report.results[0].accuracy_mean <= 1.0


def test_set_only_options_are_rejected_with_full():
    with pytest.raises(
        UddError,
        match="^soft_labels, baselines evaluate a synthetic set; not with full=True.$",
    ):
        EvaluationOptions(full=True, soft_labels=True, baselines=True)


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


def write_soft_digits_set(path, digits, soft_labels, ipc=2, boxes=True):
    indices = np.concatenate(
        [np.flatnonzero(digits.y_train == c)[:ipc] for c in range(10)]
    )
    meta = SyntheticSetMetadata(
        dataset="digits",
        image_shape=digits.image_shape,
        num_classes=10,
        class_names=digits.class_names,
        ipc=ipc,
        method="test",
        normalization=digits.normalization.to_dict(),
    )
    region_boxes = None
    if boxes:
        region_boxes = np.tile([[[0, 0, 4, 4], [4, 4, 8, 8]]], (len(indices), 1, 1))
    write_synthetic_set(
        path,
        digits.x_train[indices],
        digits.y_train[indices],
        meta,
        region_boxes,
        soft_labels=soft_labels(digits.y_train[indices]),
    )
    return indices


@pytest.fixture
def recorded_runs(monkeypatch):
    """Replaces training by a record of every call; accuracy = seed / 10."""
    from udd_keras.evaluation import protocol
    from udd_keras.evaluation.run import EvalRun

    calls = []

    def fake_train(x_train, y_train, x_test, y_test, recipe, **kwargs):
        calls.append(dict(kwargs, recipe=recipe, x_train=x_train, y_train=y_train))
        accuracy = kwargs["seed"] / 10 + 0.01 * len(calls)
        return EvalRun(accuracy, [(recipe.epochs, accuracy)], 0.0, kwargs["seed"])

    monkeypatch.setattr(protocol, "train_and_evaluate", fake_train)
    return calls


def test_one_hot_soft_labels_evaluate_exactly_like_hard_labels(tmp_path, digits):
    path = tmp_path / "soft.tfrecord"
    write_soft_digits_set(path, digits, lambda y: np.eye(10, dtype="float32")[y])
    hard = evaluate(path, **TINY)
    options = EvaluationOptions(soft_labels=True, temperature=2.0)
    soft = evaluate(path, options=options, **TINY)
    assert (hard.settings["labels"], soft.settings["labels"]) == ("hard", "soft")
    assert (hard.settings["temperature"], soft.settings["temperature"]) == (None, 2.0)
    assert hard.results[0].accuracies == soft.results[0].accuracies
    assert [r.losses for r in hard.results[0].runs] == [
        r.losses for r in soft.results[0].runs
    ]


def test_soft_labels_reach_training_per_region_and_tempered(
    tmp_path, digits, recorded_runs
):
    path = tmp_path / "soft.tfrecord"

    def soft_labels(y):
        p = np.full((len(y), 10), 0.05, np.float32)
        p[np.arange(len(y)), y] = 0.55
        return p

    indices = write_soft_digits_set(path, digits, soft_labels)
    options = EvaluationOptions(soft_labels=True, temperature=0.5)
    evaluate(path, options=options, **TINY)
    stored = np.repeat(soft_labels(digits.y_train[indices]), 3, axis=0)
    expected = stored**2 / (stored**2).sum(axis=1, keepdims=True)
    assert len(recorded_runs) == 2
    for call in recorded_runs:
        assert call["y_train"].shape == (60, 10)
        np.testing.assert_allclose(call["y_train"], expected, rtol=1e-6)
        np.testing.assert_array_equal(
            call["y_train"].argmax(axis=1), np.repeat(digits.y_train[indices], 3)
        )
    hard = evaluate(path, **TINY)
    assert hard.settings["labels"] == "hard"
    assert recorded_runs[-1]["y_train"].shape == (60,)


def test_soft_labels_of_a_set_without_them_is_a_one_line_error(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits, boxes=False)
    with pytest.raises(UddError) as info:
        evaluate(path, options=EvaluationOptions(soft_labels=True), **TINY)
    message = str(info.value)
    assert "soft labels asked for, but the set stores none (method 'test'" in message
    assert "\n" not in message
    with pytest.raises(UddError, match="applies to soft labels only"):
        EvaluationOptions(temperature=2.0)


def _protocol(call):
    # The set's runs also have the progress file's callbacks.
    data = ("x_train", "y_train", "callbacks")
    return {k: v for k, v in call.items() if k not in data}


def test_baselines_train_random_coresets_with_the_repeat_seeds(
    tmp_path, digits, recorded_runs
):
    from udd_keras.coreset import random_selection

    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits)
    started = []

    class RunStarts:
        def on_run_start(self, model, repeat, seed):
            started.append((model, repeat, seed))

    report = evaluate(
        path,
        seed=4,
        callbacks=[RunStarts()],
        options=EvaluationOptions(baselines=True),
        **TINY,
    )
    assert started == [
        ("convnet3", 0, 4),
        ("convnet3", 1, 5),
        ("convnet3/random-coreset", 0, 4),
        ("convnet3/random-coreset", 1, 5),
    ]
    set_calls, coreset_calls = recorded_runs[:2], recorded_runs[2:]
    for repeat, call in enumerate(coreset_calls):
        chosen = random_selection(digits.y_train, 10, 2, seed=4 + repeat)
        np.testing.assert_array_equal(call["x_train"], digits.x_train[chosen])
        np.testing.assert_array_equal(call["y_train"], digits.y_train[chosen])
        # The same protocol and seed as the set's repeat, only the data differ.
        assert _protocol(call) == _protocol(set_calls[repeat])
        assert _protocol(call)["seed"] == 4 + repeat
    (comparison,) = report.baselines
    set_accuracies = report.results[0].accuracies
    coreset_accuracies = comparison.random_coreset.accuracies
    assert [r.seed for r in comparison.random_coreset.runs] == [4, 5]
    assert comparison.ior == pytest.approx(
        [s - c for s, c in zip(set_accuracies, coreset_accuracies, strict=True)]
    )
    assert comparison.hlr is None and "digits" in comparison.note


def test_baselines_need_enough_real_images_per_class(tmp_path, digits, monkeypatch):
    from udd_keras.evaluation import protocol

    smallest = int(np.bincount(digits.y_train).min())
    ipc = smallest + 1
    meta = SyntheticSetMetadata(
        dataset="digits",
        image_shape=digits.image_shape,
        num_classes=10,
        class_names=digits.class_names,
        ipc=ipc,
        method="test",
        normalization=digits.normalization.to_dict(),
    )
    path = tmp_path / "big.tfrecord"
    labels = np.repeat(np.arange(10), ipc)
    write_synthetic_set(path, np.zeros((len(labels), 8, 8, 1), "float32"), labels, meta)
    monkeypatch.setattr(protocol, "train_and_evaluate", None)  # never reached
    with pytest.raises(UddError, match=f"ipc {ipc} is larger than class"):
        evaluate(path, options=EvaluationOptions(baselines=True), **TINY)


def test_full_accuracy_needs_baselines(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits, boxes=False)
    with pytest.raises(UddError, match="used only with baselines"):
        EvaluationOptions(full_accuracy_percent=97.0)


def test_baselines_end_to_end_with_a_given_full_accuracy(tmp_path, digits):
    path = tmp_path / "set.tfrecord"
    write_digits_set(path, digits, boxes=False)
    options = EvaluationOptions(baselines=True, full_accuracy_percent=97.5)
    report = evaluate(path, options=options, **TINY)
    (comparison,) = report.baselines
    set_accuracies = report.results[0].accuracies
    assert len(comparison.random_coreset.runs) == 2
    assert comparison.full_accuracy == 0.975
    assert comparison.hlr == pytest.approx([0.975 - a for a in set_accuracies])
    data = report.to_dict()
    assert data["baselines"][0]["hlr_mean"] == pytest.approx(comparison.hlr_mean)
    assert data["baselines"][0]["random_coreset"]["seeds"] == [0, 1]
