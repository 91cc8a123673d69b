"""Differentiable siamese augmentation (DSA) and CutMix.

One implementation serves both the distillation's matching loss (the same
parameters on the real and the synthetic batch) and the evaluation training
(fresh per-image parameters every step).
"""

from udd_keras.augmentation.cutmix import cutmix
from udd_keras.augmentation.dsa import DSAParams, apply, augment, sample_params
from udd_keras.augmentation.layer import DifferentiableAugmentation
from udd_keras.augmentation.seeds import as_stateless_seed, split_seed
from udd_keras.augmentation.strategy import (
    EVALUATION_STRATEGY,
    MATCHING_STRATEGY,
    OPERATIONS,
    Strategy,
    parse_strategy,
)

__all__ = [
    "DSAParams",
    "DifferentiableAugmentation",
    "EVALUATION_STRATEGY",
    "MATCHING_STRATEGY",
    "OPERATIONS",
    "Strategy",
    "apply",
    "as_stateless_seed",
    "augment",
    "cutmix",
    "parse_strategy",
    "sample_params",
    "split_seed",
]
