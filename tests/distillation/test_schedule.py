"""The distillation's schedule: the image learning rate of every step is the
one the loop used before it went through `StepDecay` (rounded to the nearest
iteration, boundaries at 0 dropped)."""

import pytest

from udd_keras.distillation import DistillConfig
from udd_keras.distillation.schedule import DistillSchedule

IMAGE_SHAPE = (8, 8, 1)


def _former_rate(config, iteration):
    milestones = [round(f * config.iterations) for f in config.lr_decay_at]
    decays = sum(iteration >= m for m in milestones if m > 0)
    return config.image_lr(IMAGE_SHAPE) * config.lr_decay_factor**decays


def _former_budget_rate(config, fraction):
    decays = sum(fraction >= f for f in config.lr_decay_at if f > 0)
    return config.image_lr(IMAGE_SHAPE) * config.lr_decay_factor**decays


@pytest.mark.parametrize(
    "iterations", [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 100, 700, 2000]
)
@pytest.mark.parametrize(
    "decay", [{}, {"lr_decay_at": (0.0, 0.3, 0.5), "lr_decay_factor": 0.2}]
)
def test_the_image_rate_is_the_former_one_exactly(iterations, decay):
    config = DistillConfig("digits", iterations=iterations, **decay).resolve()
    schedule = DistillSchedule(config, IMAGE_SHAPE)
    for iteration in range(iterations):
        assert schedule.image_lr(iteration) == _former_rate(config, iteration)
    for percent in range(0, 101):
        fraction = percent / 100
        assert schedule.image_lr(0, fraction) == _former_budget_rate(config, fraction)


def test_the_default_decay_points_of_100_700_and_2000_iterations():
    for iterations, boundaries in (
        (100, [60, 80, 90]),
        (700, [420, 560, 630]),
        (2000, [1200, 1600, 1800]),
        (7, [4, 6, 6]),
    ):
        config = DistillConfig("digits", iterations=iterations).resolve()
        schedule = DistillSchedule(config, IMAGE_SHAPE)
        assert schedule.by_iteration.boundaries == boundaries
