"""The distillation loop's callbacks, on their own (no distillation step)."""

import math

import pytest
import tensorflow as tf

from udd_keras.distillation.callbacks import (
    TENSORBOARD_SCALARS,
    MetricsLog,
    RunTimeEstimate,
    TerminateOnNonFinite,
    progress_status,
)
from udd_keras.distillation.run_directory import RunDirectory
from udd_keras.errors import NonFiniteLossError
from udd_keras.training import TensorBoard


def _logs(step, **losses):
    values = dict(loss=1.0, matching_loss=0.5, cfc_loss=0.25, cfc_gradient_ratio=0.1)
    values = {**values, "network_loss": 2.0, "image_lr": 0.01, **losses}
    return dict(step=step, iteration=1, inner_step=2, **values)


def test_a_non_finite_loss_stops_the_run_naming_the_loss_and_the_kept_checkpoint():
    guard = TerminateOnNonFinite(lambda: "ckpt-4 is kept", lr_img=0.01)
    guard.on_step(5, 10, _logs(5))  # finite: nothing happens
    with pytest.raises(NonFiniteLossError) as info:
        guard.on_step(5, 10, _logs(5, network_loss=math.inf))
    assert str(info.value) == (
        "network loss became inf at iteration 1, inner step 2; ckpt-4 is kept. "
        "Try a smaller --lr-img (now 0.01)"
    )
    with pytest.raises(NonFiniteLossError, match="^CFC loss became nan"):
        guard.on_step(5, 10, _logs(5, cfc_loss=math.nan, network_loss=math.nan))


def test_metrics_are_kept_every_log_every_steps_and_at_the_last(tmp_path):
    run_dir = RunDirectory(tmp_path)
    run_dir.prepare()
    try:
        log = MetricsLog(every=3, run_dir=run_dir)
        for step in range(1, 8):
            log.on_step(step, 7, _logs(step))
        assert [m["step"] for m in log.read()] == [3, 6, 7]
        assert log.read()[0] == _logs(3)
    finally:
        run_dir.unlock()
    in_memory = MetricsLog(every=2)
    for step in range(1, 4):
        in_memory.on_step(step, 3, _logs(step))
    assert [m["step"] for m in in_memory.read()] == [2, 3]


def test_tensorboard_writes_the_logged_steps(tmp_path):
    board = TensorBoard(str(tmp_path), TENSORBOARD_SCALARS, every=2)
    for step in range(1, 4):
        board.on_step(step, 3, _logs(step))
    board.close()
    (events,) = tmp_path.glob("events.out.tfevents.*")
    written = {
        (value.tag, event.step)
        for event in tf.compat.v1.train.summary_iterator(str(events))
        for value in event.summary.value
    }
    assert ("distill/matching_loss", 2) in written
    assert ("distill/image_lr", 3) in written
    assert {step for _, step in written} == {2, 3}


def test_the_progress_status_shows_the_iteration_and_losses():
    assert progress_status(_logs(1)) == "it 1 loss 0.5 cfc 0.25 (grad x0.1)"
    assert progress_status(_logs(1, cfc_gradient_ratio=0.0)) == "it 1 loss 0.5 cfc 0.25"


def _estimate(steps):
    said = []
    estimate = RunTimeEstimate(lambda *a: said.append(a), steps=2, at_least=0)
    estimate.on_start(0, 100)
    for step, logs in enumerate(steps, start=1):
        estimate.on_step(step, 100, logs)
    return said


def test_the_estimate_times_computed_and_replayed_steps_apart():
    # A pool of 4 steps (computed at 10 s), then replays (at 1 s); the first
    # step of each kind builds its graph and is not timed.
    computed = [{"seconds": s, "replayed": 0.0} for s in (60.0, 10.0, 10.0)]
    computed += [{"seconds": 10.0, "replayed": 0.0}]
    replays = [{"seconds": s, "replayed": 1.0} for s in (30.0, 1.0, 1.0)]
    for index, logs in enumerate(computed):
        logs["steps_to_compute"] = 3 - index
    for logs in replays:
        logs["steps_to_compute"] = 0
    # Replays lie ahead: no estimate from computed steps alone.
    assert _estimate(computed) == []
    assert _estimate(computed + replays) == [(93.0, 1.0)]


def test_steps_left_to_compute_are_estimated_at_their_own_rate():
    # Replayed first (a partial cache), 10 steps left to compute at 5 s.
    replays = [
        {"seconds": s, "replayed": 1.0, "steps_to_compute": 10} for s in (9.0, 1.0, 1.0)
    ]
    computed = [{"seconds": s, "replayed": 0.0} for s in (20.0, 5.0, 5.0)]
    for index, logs in enumerate(computed):
        logs["steps_to_compute"] = 9 - index
    assert _estimate(replays) == []
    # 94 steps left: 7 computed at 5 s, 87 replayed at 1 s.
    assert _estimate(replays + computed) == [(7 * 5.0 + 87 * 1.0, (35.0 + 87.0) / 94)]
