"""Where each step of a distillation run stands, and what it uses.

Step `s` (0-based) of a run of `iterations` outer iterations of `inner_steps`
inner steps each is outer iteration `s // inner_steps`, inner step
`s % inner_steps`. The network starts anew at the first inner step of every
outer iteration; with a `network_pool` outer iteration `i` uses iteration
`i % network_pool`'s network, real batches and random keys
(`pooled_iteration`). Every random draw of a step is keyed by its (pooled)
iteration and inner step (`key`), so a resumed run repeats what an
uninterrupted one would have drawn.

The image learning rate decays by `lr_decay_factor` at the fractions
`lr_decay_at` of the outer iterations (each rounded to the nearest iteration),
or, with a time budget, of the budget used: a `udd_keras.training.StepDecay`
either way.
"""

import tensorflow as tf

from udd_keras.distillation.engine import fold_in
from udd_keras.training.schedule import StepDecay


class DistillSchedule:
    """The positions, seeds, keys and image learning rates of a run's steps.

    Args:
        config: the resolved `DistillConfig`.
        image_shape: (H, W, C) of the images, which scales the image rate.

    Example:
    >>> from udd_keras.distillation.config import DistillConfig
    >>> config = DistillConfig("digits", iterations=7, lr_img=1.0,
    ...                        image_optimizer="adam").resolve()
    >>> schedule = DistillSchedule(config, (8, 8, 1))
    >>> [schedule.image_lr(iteration) for iteration in range(7)]
    [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.125]
    """

    def __init__(self, config, image_shape):
        self.config = config
        self.inner_steps = config.inner_steps
        self.total_steps = config.iterations * config.inner_steps
        base = config.image_lr(image_shape)
        factor = config.lr_decay_factor
        self.by_iteration = StepDecay.from_fractions(
            base, config.iterations, config.lr_decay_at, factor, rounding="nearest"
        )
        self.by_budget = StepDecay(
            base, [f for f in config.lr_decay_at if f > 0], factor
        )
        self._base_key = tf.constant([config.seed, 0], tf.int32)

    def image_lr(self, iteration, budget_fraction=None):
        """The image learning rate of a step (for [0, 1] pixels).

        Args:
            iteration: int, the step's outer iteration.
            budget_fraction: the share of the time budget used, or None
                without a budget. Example: with `lr_decay_at=(0.6, 0.8, 0.9)`,
                the base rate until 60% of the budget, half of it from 60%, a
                quarter from 80%, an eighth from 90%.
        """
        if budget_fraction is None:
            return self.by_iteration.rate_at(iteration)
        return self.by_budget.rate_at(budget_fraction)

    def pooled_iteration(self, iteration):
        """The outer iteration whose network, real batches and augmentation
        outer iteration `iteration` uses: itself, or its place in the
        `network_pool`.

        Example: with `network_pool=3`, iterations 0, 1, 2, 3, 4 use 0, 1, 2,
        0, 1.
        """
        pool = self.config.network_pool
        return iteration if pool is None else iteration % pool

    def network_seed(self, iteration):
        """The seed of the network of (pooled) outer iteration `iteration`."""
        return self.config.seed * 100_003 + iteration

    def key(self, iteration, inner):
        """The random key of (pooled) outer iteration `iteration`'s step `inner`."""
        return fold_in(self._base_key, iteration, inner)

    def reselects_regions(self, inner, boxes_kept):
        """Whether the next step selects its regions anew (`region_period`).

        Otherwise it trains on the boxes kept in the engine's `trained_boxes`
        (the last step's, restored with the checkpoint on resume).

        Args:
            inner: int, the next step's inner step in its outer iteration.
            boxes_kept: bool, whether `trained_boxes` hold the last step's
                boxes (False before the run's first step, and after a restore
                from a checkpoint older than the boxes' record).

        Returns:
            bool: always under `"step"`; under `"iteration"` at the first
            inner step of an outer iteration; under `"run"` at the run's first
            step. A step with no boxes kept always selects.
        """
        period = self.config.region_period
        if period == "step" or not boxes_kept:
            return True
        return period == "iteration" and inner == 0
