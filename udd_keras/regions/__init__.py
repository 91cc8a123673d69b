"""Candidate regions and the formation of synthetic training images.

The names below are imported on first use, so that the TF-free modules (`boxes`,
`formations`) can be read without importing TensorFlow.
"""

from udd_keras._lazy import lazy_exports

_EXPORTS = {
    "CROP_GRADIENTS": "formation",
    "NUM_REGIONS_ALLOWED": "boxes",
    "candidate_boxes": "boxes",
    "crop_and_resize": "formation",
    "form_training_images": "formation",
    "uniform_boxes": "boxes",
    "window_side": "boxes",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
