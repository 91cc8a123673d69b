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
