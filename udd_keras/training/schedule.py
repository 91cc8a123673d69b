"""The step decay of a learning rate at fixed fractions of a run.

One rule serves both of the package's schedules: the evaluation protocol's
(Keras SGD over optimizer steps, `TrainingRecipe.schedule`) and the
distillation's image learning rate (over outer iterations, or over the share of
a time budget used; `udd_keras.distillation.schedule`).
"""

import numbers

import keras
from keras import ops

# How a fraction of a run becomes a whole boundary: `int` floors (the
# evaluation protocol's, as IDC's), `round` takes the nearest (the image
# learning rate's): 0.6 of 7 outer iterations is 4 with either, 0.8 of 7 is 5
# with `int` and 6 with `round`.
ROUNDINGS = {"floor": int, "nearest": round}


@keras.saving.register_keras_serializable(package="udd_keras")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Multiplies the learning rate by `factor` at each boundary step.

    The evaluation protocol (IDC) trains with `lr`, then `lr * 0.2` from 2/3 of
    training and `lr * 0.04` from 5/6 of training. Boundaries are optimizer steps;
    `from_epochs` converts epoch fractions to steps.

    Args:
        initial_learning_rate: float, the learning rate before the first boundary.
        boundaries: list of numbers, the steps at which the rate is multiplied by
            `factor` (the step equal to a boundary already uses the lower rate).
            Integral boundaries are kept as ints; a float one is kept as given
            (a point on another axis, e.g. a share of a time budget).
        factor: float, the multiplier applied at each boundary.

    Example:
    >>> schedule = StepDecay.from_epochs(0.01, epochs=6, steps_per_epoch=10)
    >>> [round(float(schedule(step)), 5) for step in (0, 39, 40, 50)]
    [0.01, 0.01, 0.002, 0.0004]
    """

    def __init__(self, initial_learning_rate, boundaries, factor=0.2):
        self.initial_learning_rate = float(initial_learning_rate)
        self.boundaries = [
            int(b) if isinstance(b, numbers.Integral) else float(b) for b in boundaries
        ]
        self.factor = float(factor)

    @classmethod
    def from_fractions(
        cls,
        initial_learning_rate,
        total,
        fractions,
        factor=0.2,
        rounding="floor",
        steps_per_unit=1,
    ):
        """Builds the schedule with boundaries at `fractions` of `total` units.

        Args:
            initial_learning_rate: float.
            total: int, the units of the run (epochs, outer iterations).
            fractions: fractions of the run at which the rate decays.
            factor: float, the multiplier at each boundary.
            rounding: a key of `ROUNDINGS`, how `fraction * total` becomes a
                whole unit: `"floor"` (a boundary at unit 0 decays from the
                start) or `"nearest"` (a boundary at unit 0 is dropped).
            steps_per_unit: int, steps per unit; the boundaries are
                `rounded unit * steps_per_unit`.

        Returns:
            `StepDecay`.

        Example (the image learning rate of 7 outer iterations):
        >>> StepDecay.from_fractions(1.0, 7, (0.6, 0.8, 0.9), 0.5, "nearest").boundaries
        [4, 6, 6]
        """
        units = [ROUNDINGS[rounding](total * f) for f in fractions]
        if rounding == "nearest":
            units = [unit for unit in units if unit > 0]
        boundaries = [unit * steps_per_unit for unit in units]
        return cls(initial_learning_rate, boundaries, factor)

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
        return cls.from_fractions(
            initial_learning_rate,
            epochs,
            fractions,
            factor,
            rounding="floor",
            steps_per_unit=steps_per_epoch,
        )

    def rate_at(self, step):
        """The rate at `step` as a Python float (for loops outside Keras).

        `initial_learning_rate * factor ** n`, `n` the boundaries at or before
        `step`; `__call__` computes the same in float32 for an optimizer.
        """
        decays = sum(step >= boundary for boundary in self.boundaries)
        return self.initial_learning_rate * self.factor**decays

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
