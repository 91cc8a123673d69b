"""Candidate regions and the formation of synthetic training images.

The names below are imported on first use, so that the TF-free modules (`boxes`,
`formations`) can be read without importing TensorFlow.
"""

from udd_keras._lazy import lazy_exports

_EXPORTS = {
    "boxes": ["NUM_REGIONS_ALLOWED", "candidate_boxes", "uniform_boxes", "window_side"],
    "formation": ["CROP_GRADIENTS", "crop_and_resize", "form_training_images"],
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
