"""Finished evaluation runs kept on disk: a rerun trains only the others."""

import json

import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.evaluation import EvalRun, EvaluationOptions, evaluate
from udd_keras.evaluation.finished_runs import FORMAT, FinishedRuns, fingerprint
from udd_keras.training import TrainingRecipe

RECIPE = TrainingRecipe(epochs=2, width=8, batch_size=16)
TINY = dict(repeats=3, eval_every=1)


@pytest.fixture(scope="module")
def digits_set(tmp_path_factory, write_digits_set):
    return write_digits_set(tmp_path_factory.mktemp("set") / "digits.tfrecord")


class _Stop(Exception):
    pass


class _StopInRepeat:
    """Callback: raises `_Stop` after the first epoch of one repeat."""

    def __init__(self, repeat):
        self.repeat = repeat
        self.current = None

    def on_run_start(self, model, repeat, seed):
        self.current = repeat

    def on_step(self, epoch, total, logs):
        if self.current == self.repeat:
            raise _Stop


class _Started(list):
    """Callback: the repeats that started."""

    def on_run_start(self, model, repeat, seed):
        self.append(repeat)


def _kept(path):
    return EvaluationOptions(progress_path=path)


def test_an_interrupted_evaluation_keeps_its_finished_runs(tmp_path, digits_set):
    progress = tmp_path / "report.progress.json"
    with pytest.raises(_Stop):
        evaluate(
            digits_set,
            RECIPE,
            callbacks=[_StopInRepeat(2)],
            options=_kept(progress),
            **TINY,
        )
    data = json.loads(progress.read_text())
    assert data["format"] == FORMAT and len(data["fingerprint"]) == 64
    assert [(run["model"], run["repeat"], run["seed"]) for run in data["runs"]] == [
        ("convnet3", 0, 0),
        ("convnet3", 1, 1),
    ]
    assert all(0.0 <= run["accuracy"] <= 1.0 for run in data["runs"])

    started = _Started()
    rerun = evaluate(
        digits_set, RECIPE, callbacks=[started], options=_kept(progress), **TINY
    )
    assert started == [2]  # Only the unfinished run is trained again.
    uninterrupted = evaluate(digits_set, RECIPE, **TINY)
    assert rerun.results[0].accuracies == uninterrupted.results[0].accuracies
    assert [run.curve for run in rerun.results[0].runs] == [
        run.curve for run in uninterrupted.results[0].runs
    ]
    assert rerun.results[0].accuracies[:2] == [run["accuracy"] for run in data["runs"]]
    assert not progress.exists()  # Every run finished: nothing left to resume.


def test_other_settings_start_the_evaluation_over(tmp_path, digits_set):
    progress = tmp_path / "progress.json"
    with pytest.raises(_Stop):
        evaluate(
            digits_set,
            RECIPE,
            callbacks=[_StopInRepeat(1)],
            options=_kept(progress),
            **TINY,
        )
    assert len(json.loads(progress.read_text())["runs"]) == 1
    started = _Started()
    evaluate(
        digits_set,
        RECIPE.replace(epochs=3),
        callbacks=[started],
        options=_kept(progress),
        **TINY,
    )
    assert started == [0, 1, 2]


def test_the_fingerprint_covers_data_settings_and_replicas():
    import tensorflow as tf

    one = tf.distribute.get_strategy()
    x = np.zeros((4, 8, 8, 1), np.float32)
    y = np.arange(4)
    settings = dict(epochs=2, lr=0.01, seed=0, dsa_strategy="color_crop")
    base = fingerprint(x, y, one, settings)
    assert base == fingerprint(x.copy(), y.copy(), one, dict(settings))
    # What a run does not depend on: which runs there are, the callbacks.
    assert base == fingerprint(
        x,
        y,
        one,
        {**settings, "models": ("convnet3",), "repeats": 9, "on_run_start": print},
    )
    assert base != fingerprint(x + 1, y, one, settings)
    assert base != fingerprint(x, y[::-1].copy(), one, settings)
    assert base != fingerprint(x, y, one, {**settings, "epochs": 3})
    assert base != fingerprint(x, y, one, {**settings, "soft_labels": np.eye(4)})

    class TwoReplicas:
        num_replicas_in_sync = 2

    assert base != fingerprint(x, y, TwoReplicas(), settings)


def test_a_run_is_taken_back_only_with_its_seed(tmp_path):
    path = tmp_path / "progress.json"
    run = EvalRun(accuracy=0.5, curve=[(1, 0.4), (2, 0.5)], seconds=1.0, seed=3)
    FinishedRuns(path, "abc").add("convnet3", 0, run)
    again = FinishedRuns(path, "abc")
    assert len(again) == 1
    assert again.get("convnet3", 0, 3) == run
    assert again.get("convnet3", 0, 4) is None
    assert again.get("convnet3", 1, 4) is None
    assert len(FinishedRuns(path, "another fingerprint")) == 0


def test_only_the_writer_writes(tmp_path):
    path = tmp_path / "progress.json"
    runs = FinishedRuns(path, "abc", write=False)
    runs.add("convnet3", 0, EvalRun(accuracy=0.5, curve=[(1, 0.5)], seconds=1.0))
    assert not path.exists() and len(runs) == 1
    FinishedRuns(path, "abc").add("convnet3", 0, runs.get("convnet3", 0, 0))
    FinishedRuns(path, "abc", write=False).remove()
    assert path.exists()
    FinishedRuns(path, "abc").remove()
    assert not path.exists()


@pytest.mark.parametrize(
    "text, fragment",
    [("{not json", "cannot read"), ('{"format": "other"}', "not an evaluation")],
)
def test_a_file_that_is_not_ours_is_refused_in_one_line(tmp_path, text, fragment):
    path = tmp_path / "progress.json"
    path.write_text(text)
    with pytest.raises(UddError, match=fragment) as info:
        FinishedRuns(path, "abc")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_text() == text  # Left as it was.


def test_the_cli_keeps_the_progress_next_to_the_report_or_the_set():
    from pathlib import Path

    from udd_keras.cli.evaluate import default_progress_path

    assert default_progress_path("out/report.json", "set.tfrecord", False) == Path(
        "out/report.progress.json"
    )
    assert default_progress_path(None, "sets/a.tfrecord", False) == Path(
        "sets/a.eval-progress.json"
    )
    assert default_progress_path(None, "cifar10", True) is None
