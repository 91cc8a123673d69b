"""Scoring policies that find the underutilized regions of synthetic images."""

from udd_keras.policies.jitter import JITTER_FUNCTIONS, jitter_images
from udd_keras.policies.scoring import (
    POLICIES,
    SCORED_POLICIES,
    activation_scores,
    gradient_scores,
    jitter_scores,
    normalize_by_size,
    ranks,
    region_scores,
    select_lowest,
)
from udd_keras.policies.windows import window_masks, window_means

__all__ = [
    "JITTER_FUNCTIONS",
    "POLICIES",
    "SCORED_POLICIES",
    "activation_scores",
    "gradient_scores",
    "jitter_images",
    "jitter_scores",
    "normalize_by_size",
    "ranks",
    "region_scores",
    "select_lowest",
    "window_masks",
    "window_means",
]
