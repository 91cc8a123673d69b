"""Checkpoints and the run directory under failure, without running any step.

A failed save keeps the previous checkpoint and stops with `CheckpointError`; a
state with NaN is never saved; `--resume` skips an unreadable newest checkpoint;
`--force` also clears what a killed run left; signals and errors map to the
documented exit codes.
"""

import json
import os
import signal
import time

import numpy as np
import pytest
import tensorflow as tf

import udd_keras.distillation as distillation
from udd_keras.distillation import (
    DistillationInterrupted,
    DistillConfig,
    Distiller,
)
from udd_keras.distillation.run_directory import RunDirectory
from udd_keras.errors import CheckpointError, NonFiniteLossError, RunDirectoryError
from udd_keras.preemption import StopFlag

SETTINGS = dict(
    ipc=1,
    iterations=1,
    inner_steps=2,
    width=8,
    net_images=32,
    real_batch=16,
    checkpoint_every=1,
    log_every=1,
)


@pytest.fixture
def config():
    return DistillConfig("digits", **SETTINGS)


@pytest.fixture
def make_distiller(digits, config):
    made = []

    def make(out_dir, **kwargs):
        distiller = Distiller(config, dataset=digits, out_dir=out_dir, **kwargs)
        made.append(distiller)
        return distiller

    yield make
    for distiller in made:
        distiller._release_run_dir()


def _save_at(distiller, step, image_value=None):
    distiller.step.assign(step)
    if image_value is not None:
        distiller.engine.images.assign(
            tf.fill(tf.shape(distiller.engine.images), image_value)
        )
    distiller.checkpoints.save()


def _latest_step(directory):
    latest = tf.train.latest_checkpoint(str(directory / "checkpoints"))
    return None if latest is None else int(latest.rsplit("-", 1)[1])


@pytest.mark.parametrize(
    "failure",
    [
        OSError(28, "No space left on device"),
        tf.errors.PermissionDeniedError(None, None, "read-only file system"),
    ],
)
def test_a_failed_save_keeps_the_previous_checkpoint(
    make_distiller, tmp_path, monkeypatch, failure
):
    distiller = make_distiller(tmp_path)
    _save_at(distiller, 1, image_value=0.25)
    original = distiller.checkpoints.manager.save
    calls = []

    def fail_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise failure
        return original(*args, **kwargs)

    monkeypatch.setattr(distiller.checkpoints.manager, "save", fail_once)
    with pytest.raises(CheckpointError) as info:
        _save_at(distiller, 2, image_value=0.5)
    message = str(info.value)
    assert "could not save the checkpoint of step 2" in message
    assert "ckpt-1 is kept" in message and "--resume" in message
    assert "\n" not in message
    assert _latest_step(tmp_path) == 1
    reader = tf.train.load_checkpoint(str(tmp_path / "checkpoints" / "ckpt-1"))
    images = reader.get_tensor("images/.ATTRIBUTES/VARIABLE_VALUE")
    assert np.all(images == 0.25)
    # The manager still works once the problem is gone.
    _save_at(distiller, 3)
    assert _latest_step(tmp_path) == 3
    assert (tmp_path / "checkpoints" / "ckpt-1.index").exists()


def test_a_state_with_nan_is_never_checkpointed(make_distiller, tmp_path):
    distiller = make_distiller(tmp_path)
    _save_at(distiller, 1)
    distiller.engine.images.assign(
        tf.tensor_scatter_nd_update(
            distiller.engine.images, [[3, 0, 0, 0]], [float("nan")]
        )
    )
    with pytest.raises(NonFiniteLossError) as info:
        distiller.checkpoints.check_finite(iteration=0, inner=1)
    message = str(info.value)
    assert "became NaN or infinite at iteration 0, inner step 1" in message
    assert "ckpt-1 is kept" in message


def _prepare_resumable(make_distiller, directory):
    first = make_distiller(directory)
    first.run_dir.write_config(first.config.to_dict())
    _save_at(first, 1, image_value=0.25)
    _save_at(first, 2, image_value=0.5)
    first._release_run_dir()
    return directory / "checkpoints"


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_resume_skips_an_unreadable_newest_checkpoint(make_distiller, tmp_path):
    checkpoints = _prepare_resumable(make_distiller, tmp_path)
    _truncate(checkpoints / "ckpt-2.data-00000-of-00001")
    resumed = make_distiller(tmp_path, resume=True)
    assert resumed._restore()
    assert int(resumed.step.numpy()) == 1
    assert np.all(resumed.engine.images.numpy() == 0.25)


def test_resume_with_no_readable_checkpoint_is_a_clean_error(make_distiller, tmp_path):
    checkpoints = _prepare_resumable(make_distiller, tmp_path)
    for path in checkpoints.glob("ckpt-*.data-*"):
        _truncate(path)
    resumed = make_distiller(tmp_path, resume=True)
    with pytest.raises(CheckpointError, match="no readable checkpoint.*--force"):
        resumed._restore()


def test_resume_before_any_checkpoint_drops_stale_metrics(make_distiller, tmp_path):
    first = make_distiller(tmp_path)
    first.run_dir.write_config(first.config.to_dict())
    for step in (1, 2):
        first.run_dir.append_metrics({"step": step, "loss": 1.0})
    with open(first.run_dir.metrics, "a") as stream:
        stream.write('{"step": 3, "lo')  # a line cut by kill -9
    first._release_run_dir()
    resumed = make_distiller(tmp_path, resume=True)
    assert not resumed._restore()
    assert resumed.run_dir.read_metrics() == []


def test_force_clears_outputs_and_what_a_killed_run_left(tmp_path):
    for name in ("config.json", "metrics.jsonl", "synthetic.tfrecord", "synthetic.png"):
        (tmp_path / name).write_text("old")
    (tmp_path / ".synthetic.tfrecord.x1y2.tmp").write_text("half")
    (tmp_path / ".config.json.abc").write_text("half")
    (tmp_path / "checkpoints" / "ckpt-3_temp").mkdir(parents=True)
    (tmp_path / "checkpoints" / "ckpt-3_temp" / "part-00000").write_text("half")
    (tmp_path / "checkpoints" / "ckpt-2.index").write_text("old")
    (tmp_path / "trajectory" / "digits-seed0-abc").mkdir(parents=True)
    (tmp_path / "trajectory" / "digits-seed0-abc" / "manifest.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("the user's own file")
    directory = RunDirectory(tmp_path)
    with pytest.raises(RunDirectoryError, match="already holds a run"):
        directory.prepare()
    directory.prepare(force=True)
    directory.unlock()
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == [".lock", "notes.txt"]


def test_a_directory_is_locked_while_a_run_writes(tmp_path):
    first = RunDirectory(tmp_path)
    first.prepare()
    try:
        for flags in ({}, {"force": True}):
            with pytest.raises(RunDirectoryError, match="another udd-keras process"):
                RunDirectory(tmp_path).prepare(**flags)
    finally:
        first.unlock()
    second = RunDirectory(tmp_path)
    second.prepare()
    second.unlock()


def test_a_second_signal_stops_at_once():
    with StopFlag() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while stop.signal_name is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (stop.signal_name, stop.signal_number) == ("SIGTERM", signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.parametrize(
    "error, exit_code, line",
    [
        (
            DistillationInterrupted("stopped by SIGINT", signal_number=signal.SIGINT),
            130,
            "Error: stopped by SIGINT",
        ),
        (
            DistillationInterrupted("stopped by SIGTERM", signal_number=signal.SIGTERM),
            143,
            "Error: stopped by SIGTERM",
        ),
        (CheckpointError("could not save"), 2, "Error: could not save"),
        (OSError(28, "No space left on device"), 2, "Error: No space left on device"),
        (
            PermissionError(13, "Permission denied", "/x/config.json"),
            2,
            "Error: Permission denied: /x/config.json",
        ),
        (KeyboardInterrupt(), 130, "Interrupted."),
    ],
)
def test_exit_codes_of_distill(run_cli, tmp_path, monkeypatch, error, exit_code, line):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(distillation, "distill", fail)
    code, _, err = run_cli(["distill", "digits", "--out", tmp_path])
    assert code == exit_code
    # Click echoes a newline after Ctrl-C, to end the terminal's `^C` line.
    expected = f"\n{line}\n" if isinstance(error, KeyboardInterrupt) else f"{line}\n"
    assert err == expected


def test_config_json_is_written_atomically(tmp_path, monkeypatch):
    directory = RunDirectory(tmp_path)
    directory.write_config({"a": 1})

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        directory.write_config({"a": 2})
    monkeypatch.undo()
    assert json.loads(directory.config.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]
