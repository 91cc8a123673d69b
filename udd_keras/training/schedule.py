"""The evaluation learning-rate schedule: step decay at fixed fractions of training."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="udd_keras")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Multiplies the learning rate by `factor` at each boundary step.

    The evaluation protocol (IDC) trains with `lr`, then `lr * 0.2` from 2/3 of
    training and `lr * 0.04` from 5/6 of training. Boundaries are optimizer steps;
    `from_epochs` converts epoch fractions to steps.

    Args:
        initial_learning_rate: float, the learning rate before the first boundary.
        boundaries: list of ints, optimizer steps at which the rate is multiplied
            by `factor` (the step equal to a boundary already uses the lower rate).
        factor: float, the multiplier applied at each boundary.

    Example:
    >>> schedule = StepDecay.from_epochs(0.01, epochs=6, steps_per_epoch=10)
    >>> [round(float(schedule(step)), 5) for step in (0, 39, 40, 50)]
    [0.01, 0.01, 0.002, 0.0004]
    """

    def __init__(self, initial_learning_rate, boundaries, factor=0.2):
        self.initial_learning_rate = float(initial_learning_rate)
        self.boundaries = [int(b) for b in boundaries]
        self.factor = float(factor)

    @classmethod
    def from_epochs(
        cls,
        initial_learning_rate,
        epochs,
        steps_per_epoch,
        fractions=(2 / 3, 5 / 6),
        factor=0.2,
    ):
        """Builds the schedule with boundaries at `fractions` of `epochs`.

        Args:
            initial_learning_rate: float.
            epochs: int, total training epochs.
            steps_per_epoch: int, optimizer steps per epoch.
            fractions: fractions of training at which the rate decays; the
                boundary epoch is `int(epochs * fraction)` (IDC: 2/3 and 5/6).
            factor: float, the multiplier at each boundary.

        Returns:
            `StepDecay`.
        """
        boundaries = [int(epochs * f) * steps_per_epoch for f in fractions]
        return cls(initial_learning_rate, boundaries, factor)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        decays = ops.zeros((), "float32")
        for boundary in self.boundaries:
            decays = decays + ops.cast(ops.greater_equal(step, boundary), "float32")
        return self.initial_learning_rate * ops.power(self.factor, decays)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "boundaries": self.boundaries,
            "factor": self.factor,
        }
