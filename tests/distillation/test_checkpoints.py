"""The `Checkpoints` callback on its own: when it saves, and how it stops a run.

The saves and restores of real runs are in `tests/reliability/test_checkpoints.py`
and `tests/distillation/test_checkpoint_compatibility.py`.
"""

import types

import pytest
import tensorflow as tf

from udd_keras.distillation import DistillConfig
from udd_keras.distillation.checkpoints import (
    Checkpoints,
    DistillationInterrupted,
    DistillationPreempted,
)
from udd_keras.preemption import StopCheck


class _Flag:
    signal_name = None
    signal_number = None

    @property
    def is_set(self):
        return self.signal_name is not None


def _engine():
    """What a checkpoint holds of an engine: variables of the right names."""
    return types.SimpleNamespace(
        images=tf.Variable(tf.zeros([2, 4, 4, 1])),
        model=types.SimpleNamespace(weights=[tf.Variable(tf.ones([3]))]),
        network_velocity=[tf.Variable(tf.zeros([3]))],
        class_centers=tf.Variable(tf.zeros([2, 3])),
        centers_filled=tf.Variable(tf.zeros([2], tf.bool)),
        image_optimizer=tf.Variable(0.0),
        trained_boxes=tf.Variable(tf.zeros([2, 1, 4], tf.int32)),
    )


def _checkpoints(every, inner_steps, stop=None, out_dir=None):
    config = DistillConfig(
        "digits", iterations=2, inner_steps=inner_steps, checkpoint_every=every
    )
    step = tf.Variable(0, dtype=tf.int64)
    checkpoints = Checkpoints(
        step, _engine(), tf.Variable(0.0, tf.float64), config, out_dir=out_dir
    )
    checkpoints.stop = stop
    saved = []
    checkpoints.save_checked = lambda: saved.append(int(step.numpy()))
    return checkpoints, step, saved


def _steps(checkpoints, step, steps, total):
    checkpoints.on_start(0, total)
    for number in steps:
        step.assign(number)
        checkpoints.on_step(number, total, {})


def test_checkpoints_every_n_steps_and_at_the_end_of_each_iteration():
    checkpoints, step, saved = _checkpoints(every=3, inner_steps=4)
    _steps(checkpoints, step, range(1, 9), 8)
    assert saved == [3, 4, 6, 8]


def test_a_signal_saves_then_stops():
    flag = _Flag()
    checkpoints, step, saved = _checkpoints(100, 100, StopCheck(flag, None), "runs/x")
    _steps(checkpoints, step, [1], 200)
    flag.signal_name, flag.signal_number = "SIGTERM", 15
    with pytest.raises(DistillationInterrupted) as info:
        _steps(checkpoints, step, [2], 200)
    assert saved == [2]
    assert not isinstance(info.value, DistillationPreempted)
    assert str(info.value) == (
        "stopped by SIGTERM at step 2/200; checkpoint saved in runs/x; resume "
        "with --resume (the same command and settings)"
    )
    assert info.value.exit_code == 143


def test_several_workers_let_the_coordinator_decide():
    class Coordinator:
        steps = 0

        def step_done(self):
            self.steps += 1

    coordinator, flag = Coordinator(), _Flag()
    flag.signal_name = "SIGTERM"  # seen by the coordinator, not by the callback
    checkpoints, step, saved = _checkpoints(100, 100, StopCheck(flag, coordinator))
    _steps(checkpoints, step, [1], 200)
    assert coordinator.steps == 1 and saved == []
    preempted = checkpoints.preempted("a termination notice to worker 1", 15)
    assert isinstance(preempted, DistillationPreempted)
    assert preempted.exit_code == 75
    assert str(preempted).startswith(
        "stopped by a termination notice to worker 1 at step 1/200; nothing saved"
    )


def test_without_a_checkpoint_the_messages_say_so():
    checkpoints, _, _ = _checkpoints(1, 1, out_dir="runs/x")
    assert checkpoints.kept() == "no checkpoint had been saved yet"
    assert checkpoints.after_lost_worker().startswith(
        "no checkpoint was saved yet in runs/x; once every worker can run again"
    )
