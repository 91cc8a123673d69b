"""Losses of the distillation: gradient matching and CFC."""

from udd_keras.losses.cfc import (
    cfc_loss,
    cosine_similarity_matrix,
    update_class_centers,
)
from udd_keras.losses.matching import (
    MATCHED_PARAMETERS,
    METRICS,
    gradient_distance,
    matching_loss,
    select_matched_variables,
)

__all__ = [
    "MATCHED_PARAMETERS",
    "METRICS",
    "cfc_loss",
    "cosine_similarity_matrix",
    "gradient_distance",
    "matching_loss",
    "select_matched_variables",
    "update_class_centers",
]
