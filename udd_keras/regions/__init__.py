"""Candidate regions and the formation of synthetic training images."""

from udd_keras.regions.boxes import (
    NUM_REGIONS_ALLOWED,
    candidate_boxes,
    uniform_boxes,
    window_side,
)
from udd_keras.regions.formation import (
    CROP_GRADIENTS,
    crop_and_resize,
    form_training_images,
)

__all__ = [
    "CROP_GRADIENTS",
    "NUM_REGIONS_ALLOWED",
    "candidate_boxes",
    "crop_and_resize",
    "form_training_images",
    "uniform_boxes",
    "window_side",
]
