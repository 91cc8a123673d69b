"""`time_budget_minutes`: stop on time, export, checkpoint, resume, lr by time.

Most tests run the loop against a fake clock that advances `STEP_SECONDS` per
inner step (inside the step), so they are exact and fast: a budget of one
minute holds exactly 10 steps of 6 s.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.data import load_dataset
from udd_keras.distillation import (
    DistillationInterrupted,
    DistillConfig,
    Distiller,
    distill,
)
from udd_keras.distillation.time_budget import TimeBudget
from udd_keras.errors import UddError

TINY = dict(width=8, net_images=20, real_batch=16, log_every=1)
# An upper bound of 30 steps that a one-minute budget of 6 s steps cuts at 10.
BUDGET_RUN = dict(TINY, iterations=10, inner_steps=3, checkpoint_every=2)
STEP_SECONDS = 6.0


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


class FakeClock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def _with_fake_clock(distiller, start=0.0):
    """Makes every inner step of `distiller` last STEP_SECONDS of a fake clock."""
    clock = FakeClock(start)
    distiller.clock = clock
    train_step = distiller.engine.train_step

    def timed_step(*args):
        clock.now += STEP_SECONDS
        return train_step(*args)

    distiller.engine.train_step = timed_step
    return distiller


def _budget_distiller(digits, out_dir=None, minutes=1.0, callbacks=(), **options):
    config = DistillConfig("digits", ipc=1, time_budget_minutes=minutes, **BUDGET_RUN)
    distiller = Distiller(
        config, dataset=digits, out_dir=out_dir, callbacks=callbacks, **options
    )
    return _with_fake_clock(distiller)


def _latest_elapsed(run_dir):
    path = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    return path, tf.train.load_variable(
        path, "elapsed_seconds/.ATTRIBUTES/VARIABLE_VALUE"
    )


def test_budget_run_stops_on_time_exports_and_checkpoints(digits, tmp_path):
    result = _budget_distiller(digits, out_dir=tmp_path).run()

    # 10 steps of 6 s fill the minute; step 11 would end at 66 s.
    assert result.stopped_by_budget and result.steps == 10
    assert [m["step"] for m in result.metrics] == list(range(1, 11))
    assert [m["time_used"] for m in result.metrics] == [6.0 * k for k in range(1, 11)]
    assert result.metrics[-1]["time_left"] == 0.0
    assert (tmp_path / "synthetic.tfrecord").stat().st_size > 0
    path, elapsed = _latest_elapsed(tmp_path)
    assert path.endswith("ckpt-10") and elapsed == 60.0
    assert (
        json.loads((tmp_path / "config.json").read_text())["time_budget_minutes"] == 1.0
    )


def test_a_step_that_would_not_finish_is_not_started(digits):
    # 57 s: step 10 would end at 60 s > 57 s, so the run ends after 9 steps.
    result = _budget_distiller(digits, minutes=57 / 60).run()
    assert result.stopped_by_budget and result.steps == 9


def test_image_lr_decays_at_fractions_of_the_budget(digits):
    distiller = _budget_distiller(digits)
    result = distiller.run()
    base = distiller.config.image_lr(digits.image_shape)
    # Decided before each step: steps 1-6 start at 0-50% of the budget, 7-8 at
    # 60-70% (one decay), 9 at 80% (two), 10 at 90% (three).
    expected = [base] * 6 + [base / 2] * 2 + [base / 4, base / 8]
    np.testing.assert_allclose([m["image_lr"] for m in result.metrics], expected)
    assert distiller.schedule.image_lr(0, budget_fraction=0.59) == base
    assert distiller.schedule.image_lr(0, budget_fraction=1.0) == base / 8


def test_resume_continues_against_the_same_budget(digits, tmp_path, interrupt_at):
    reference = _budget_distiller(digits, out_dir=tmp_path / "a").run()
    with pytest.raises(DistillationInterrupted):
        _budget_distiller(
            digits, out_dir=tmp_path / "b", callbacks=[interrupt_at(4)]
        ).run()
    path, elapsed = _latest_elapsed(tmp_path / "b")
    assert path.endswith("ckpt-4") and elapsed == 24.0

    # The budget is kept when omitted; the clock of the new process starts
    # anywhere: only the time used in the checkpoint counts.
    config = DistillConfig("digits", ipc=1, **BUDGET_RUN)
    resumed = Distiller(config, dataset=digits, out_dir=tmp_path / "b", resume=True)
    assert resumed.config.time_budget_minutes == 1.0
    result = _with_fake_clock(resumed, start=1000.0).run()

    assert result.stopped_by_budget and result.steps == 10
    # Steps 5-10 count on from the checkpoint's 24 s.
    assert [m["time_used"] for m in result.metrics][4:] == [30.0, 36.0, 42.0] + [
        48.0,
        54.0,
        60.0,
    ]
    # The same clock gives the same schedule, so the same images.
    np.testing.assert_allclose(result.images, reference.images, atol=1e-6)
    np.testing.assert_array_equal(result.boxes, reference.boxes)


def test_resuming_a_spent_budget_takes_no_step_and_exports_again(digits, tmp_path):
    first = _budget_distiller(digits, out_dir=tmp_path).run()
    (tmp_path / "synthetic.tfrecord").unlink()
    again = _budget_distiller(digits, out_dir=tmp_path, resume=True).run()
    assert again.stopped_by_budget and again.steps == 10
    np.testing.assert_array_equal(again.images, first.images)
    assert (tmp_path / "synthetic.tfrecord").stat().st_size > 0


@pytest.mark.exhaustive
def test_resume_with_a_larger_budget_extends_the_run(digits, tmp_path):
    _budget_distiller(digits, out_dir=tmp_path).run()
    longer = _budget_distiller(digits, out_dir=tmp_path, minutes=1.5, resume=True)
    result = longer.run()
    assert result.stopped_by_budget and result.steps == 15
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["time_budget_minutes"] == 1.5


def test_without_a_budget_the_steps_decide_and_time_is_kept(digits, tmp_path):
    config = DistillConfig("digits", ipc=1, **{**BUDGET_RUN, "iterations": 1})
    distiller = _with_fake_clock(Distiller(config, dataset=digits, out_dir=tmp_path))
    result = distiller.run()
    assert not result.stopped_by_budget and result.steps == 3
    assert "time_used" not in result.metrics[-1]
    assert _latest_elapsed(tmp_path)[1] == 18.0


def test_a_real_clock_budget_stops_before_the_step_limit(digits, tmp_path):
    # The first step builds the graph (seconds on a loaded machine): always
    # taken; then the run stops within the budget plus one step's deviation.
    result = distill(
        digits,
        ipc=1,
        out_dir=tmp_path,
        time_budget_minutes=0.15,
        **{**TINY, "iterations": 1000, "inner_steps": 10},
    )
    assert result.stopped_by_budget and 1 <= result.steps < 10_000
    assert (tmp_path / "synthetic.tfrecord").stat().st_size > 0
    path, elapsed = _latest_elapsed(tmp_path)
    assert path.endswith(f"ckpt-{result.steps}")
    assert elapsed >= result.metrics[-1]["time_used"]
    if result.steps > 2:
        assert result.metrics[-1]["time_used"] <= 9.0 + 5.0


@pytest.mark.parametrize("minutes", [0, -1.0, float("nan"), float("inf"), True])
def test_a_non_positive_budget_is_refused(minutes):
    with pytest.raises(UddError, match="time_budget_minutes must be a positive"):
        DistillConfig("digits", time_budget_minutes=minutes).resolve()


def test_time_budget_measures_from_the_checkpoint():
    ticks = iter([100.0, 100.0, 103.0, 104.0, 105.0])
    budget = TimeBudget(10.0, tf.Variable(6.0, tf.float64), clock=lambda: next(ticks))
    budget.start()
    assert budget.next_step_fits()  # 6 s used, no step timed yet
    assert budget.next_step_fits()  # 9 s: the first step (3 s) is not timed
    # 10 s used: the budget is spent.
    assert not budget.next_step_fits()
    assert budget.fraction() == 1.0 and budget.left() == 0.0
    assert budget.record() == 11.0 and budget.elapsed.numpy() == 11.0
