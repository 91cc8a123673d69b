"""Image preparation shared by the figures: denormalising and tiling."""

import numpy as np

from udd_keras.errors import UddError


def check_images(images):
    """Validates a batch of NHWC images.

    Args:
        images: array-like (B, H, W, C) with C = 1 or 3.

    Returns:
        float32 numpy array (B, H, W, C).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise UddError(
            f"images must have shape (B, H, W, C) with C in (1, 3), "
            f"got shape {images.shape}"
        )
    return images


def to_display_range(images, normalization=None):
    """Maps images to [0, 1] for display.

    Args:
        images: float array (B, H, W, C).
        normalization: an object with `.denormalize(x)` (e.g.
            `udd_keras.data.Normalization`), a dict with per-channel `mean` and
            `std`, or None. With None, images already in [0, 1] are kept and
            other images are min-max scaled one by one.

    Returns:
        float32 array (B, H, W, C) in [0, 1].
    """
    images = check_images(images)
    if normalization is None:
        if images.size and (images.min() < 0.0 or images.max() > 1.0):
            low = images.min(axis=(1, 2, 3), keepdims=True)
            span = images.max(axis=(1, 2, 3), keepdims=True) - low
            images = (images - low) / np.where(span > 0, span, 1.0)
    elif hasattr(normalization, "denormalize"):
        images = np.asarray(normalization.denormalize(images), dtype=np.float32)
    elif isinstance(normalization, dict) and {"mean", "std"} <= set(normalization):
        mean = np.asarray(normalization["mean"], dtype=np.float32)
        std = np.asarray(normalization["std"], dtype=np.float32)
        images = images * std + mean
    else:
        raise UddError(
            f"normalization must be None, an object with .denormalize, or a dict "
            f"with 'mean' and 'std', got {normalization!r}"
        )
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def to_rgb(images):
    """(B, H, W, 1) or (B, H, W, 3) in [0, 1] -> (B, H, W, 3)."""
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
