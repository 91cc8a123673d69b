import keras
import numpy as np
import pytest

from udd_keras.training import StepDecay


def test_step_decay_multiplies_by_factor_at_two_thirds_and_five_sixths():
    schedule = StepDecay.from_epochs(0.01, epochs=300, steps_per_epoch=2)
    assert schedule.boundaries == [400, 500]
    values = [float(schedule(step)) for step in (0, 399, 400, 499, 500, 599)]
    np.testing.assert_allclose(
        values, [0.01, 0.01, 0.002, 0.002, 0.0004, 0.0004], rtol=1e-6
    )


def test_step_decay_round_trips_through_config():
    schedule = StepDecay(0.1, [3, 7], factor=0.5)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert isinstance(restored, StepDecay)
    assert restored.get_config() == schedule.get_config()
    assert float(restored(7)) == pytest.approx(0.025)


def test_floor_and_nearest_rounding_keep_each_schedule_s_boundaries():
    fractions = (0.6, 0.8, 0.9)
    # 0.8 of 7 is 5.6: the evaluation floors it, the image rate rounds it.
    assert StepDecay.from_fractions(1.0, 7, fractions).boundaries == [4, 5, 6]
    nearest = StepDecay.from_fractions(1.0, 7, fractions, rounding="nearest")
    assert nearest.boundaries == [4, 6, 6]
    # A boundary at 0 decays from the start when floored, and is dropped
    # when rounded to the nearest.
    assert StepDecay.from_fractions(1.0, 1, fractions).boundaries == [0, 0, 0]
    assert StepDecay.from_fractions(
        1.0, 1, (0.2, 0.6), rounding="nearest"
    ).boundaries == [1]
    epochs = StepDecay.from_epochs(0.01, epochs=7, steps_per_epoch=3)
    assert epochs.boundaries == [int(7 * 2 / 3) * 3, int(7 * 5 / 6) * 3]


def test_rate_at_is_the_schedule_in_python_floats():
    schedule = StepDecay(0.3, [2, 4.5], factor=0.5)
    assert schedule.boundaries == [2, 4.5]
    rates = [schedule.rate_at(step) for step in (0, 2, 4, 4.5, 9)]
    assert rates == [0.3, 0.3 * 0.5, 0.3 * 0.5, 0.3 * 0.25, 0.3 * 0.25]
    assert all(type(rate) is float for rate in rates)
    np.testing.assert_allclose(
        [float(schedule(step)) for step in (0, 2, 4, 5, 9)],
        [0.3, 0.15, 0.15, 0.075, 0.075],
        rtol=1e-6,
    )
