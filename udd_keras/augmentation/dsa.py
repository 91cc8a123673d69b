"""Differentiable siamese augmentation (DSA, Zhao & Bilen 2021).

Augmentation is split in two: `sample_params` draws the random parameters from a
stateless seed, and `apply` transforms a batch with them, differentiably with
respect to the images. Applying the same parameters to the real and the synthetic
batch is the siamese augmentation of the matching loss; evaluation training draws
fresh per-image parameters every step.

The operations and their ranges follow DSA / IDC, on normalised images:
- flip: left-right mirror with probability 0.5;
- color: brightness `x + (u - 0.5)`, saturation `(x - mean_c) * 2u + mean_c`,
  contrast `(x - mean) * (u + 0.5) + mean`, u ~ U[0, 1);
- crop: integer translation by up to round(0.125 * size) pixels, zero fill;
- scale: per-axis factors in [1/1.2, 1.2] about the centre, bilinear, zero fill;
- rotate: up to +-15 degrees about the centre, bilinear, zero fill;
- cutout: zero a square of side round(0.5 * size).
As in IDC, flip, colour and cutout are applied whenever named, while only ONE of the
named geometric operations (crop, scale, rotate), drawn at random per call, is
applied (`one_geometric_op=True`); set it to False to apply all of them in turn.
The operation choice is per call even when `per_sample=True`, as in IDC.
"""

from typing import NamedTuple

import tensorflow as tf

from udd_keras.augmentation import ops
from udd_keras.augmentation.seeds import split_seed
from udd_keras.augmentation.strategy import parse_strategy
from udd_keras.errors import UddError

SCALE_RATIO = 1.2
ROTATE_DEGREES = 15.0
FLIP_PROBABILITY = 0.5
BRIGHTNESS = 1.0
SATURATION = 2.0
CONTRAST = 0.5

# Fixed seed slots, so that the draws of one operation do not depend on which
# other operations the strategy names.
_SLOTS = ("flip", "brightness", "saturation", "contrast", "choice", "scale")
_SLOTS += ("rotate", "crop", "cutout")


class DSAParams(NamedTuple):
    """Random parameters of one DSA call; `None` for operations not in the strategy.

    Every tensor has leading size P: the batch size when sampled per sample, 1 when
    shared by the whole batch (then it applies to a batch of any size).

    Attributes:
        flip: (P,) bool, mirror the image left-right.
        brightness: (P,) float, additive shift in [-0.5, 0.5).
        saturation: (P,) float, factor in [0, 2).
        contrast: (P,) float, factor in [0.5, 1.5).
        matrix: (P, 2, 2) float, scale and rotation acting on (row, column)
            offsets from the image centre; identity when not drawn.
        crop: (P, 2) float uniform draws in [0, 1) giving the (row, column)
            translation, resolved against the image size in `apply`; 0.5 = none.
        cutout: (P, 2) float uniform draws in [0, 1) placing the cutout centre.
    """

    flip: tf.Tensor | None = None
    brightness: tf.Tensor | None = None
    saturation: tf.Tensor | None = None
    contrast: tf.Tensor | None = None
    matrix: tf.Tensor | None = None
    crop: tf.Tensor | None = None
    cutout: tf.Tensor | None = None


@tf.autograph.experimental.do_not_convert
def sample_params(
    strategy,
    batch_size=None,
    seed=0,
    image_shape=None,
    per_sample=False,
    one_geometric_op=True,
) -> DSAParams:
    """Draws the random parameters of one DSA call.

    Args:
        strategy: operation names joined by `_`, e.g. `"color_crop_cutout"`
            (IDC matching) or `"color_crop_cutout_flip_scale_rotate"` (IDC
            evaluation); `"none"` for no augmentation.
        batch_size: number of images (int or scalar int tensor); required when
            `per_sample=True`, ignored otherwise.
        seed: int, or (2,) integer tensor for use inside `tf.function`.
        image_shape: optional (H, W) or (H, W, C). Not needed: spatial amounts are
            stored as unit draws and resolved against the images in `apply`.
        per_sample: draw one set of parameters per image (evaluation) instead of
            one set shared by the batch (siamese matching).
        one_geometric_op: apply only one of the named geometric operations per
            call, chosen at random (IDC); False applies all of them.

    Returns:
        A `DSAParams`.

    Example:
    >>> params = sample_params("color_crop_cutout", seed=0)
    >>> real_aug = apply(real_images, params)
    >>> syn_aug = apply(syn_images, params)   # the same transformation
    """
    parsed = parse_strategy(strategy)
    if image_shape is not None and (
        len(image_shape) not in (2, 3) or min(int(d) for d in image_shape) <= 0
    ):
        raise UddError(
            f"image_shape must be (H, W) or (H, W, C) with positive sizes, "
            f"got {image_shape!r}."
        )
    if per_sample:
        if batch_size is None:
            raise UddError("batch_size is required when per_sample=True, got None.")
        count = batch_size
    else:
        count = 1
    seeds = dict(zip(_SLOTS, tf.unstack(split_seed(seed, len(_SLOTS))), strict=True))

    def uniform(slot, shape, low=0.0, high=1.0):
        return tf.random.stateless_uniform(
            shape, seeds[slot], minval=low, maxval=high, dtype=tf.float32
        )

    params = {}
    if "flip" in parsed:
        params["flip"] = uniform("flip", [count]) < FLIP_PROBABILITY
    if "color" in parsed:
        params["brightness"] = (uniform("brightness", [count]) - 0.5) * BRIGHTNESS
        params["saturation"] = uniform("saturation", [count]) * SATURATION
        params["contrast"] = uniform("contrast", [count]) + CONTRAST
    if parsed.geometric:
        params["matrix"], params["crop"] = _sample_geometry(
            parsed.geometric, count, uniform, seeds["choice"], one_geometric_op
        )
    if "cutout" in parsed:
        params["cutout"] = uniform("cutout", [count, 2])
    return DSAParams(**params)


def _sample_geometry(geometric, count, uniform, choice_seed, one_op):
    """Draws the (P, 2, 2) matrix and (P, 2) crop draws of the geometric step."""
    if one_op and len(geometric) > 1:
        choice = tf.random.stateless_uniform(
            [1], choice_seed, minval=0, maxval=len(geometric), dtype=tf.int32
        )
        enabled = {op: tf.equal(choice, geometric.index(op)) for op in geometric}
    else:
        enabled = {op: tf.constant([True]) for op in geometric}
    scale = tf.ones([count, 2])
    angle = tf.zeros([count])
    crop = tf.fill([count, 2], 0.5)
    if "scale" in enabled:
        drawn = uniform("scale", [count, 2], 1.0 / SCALE_RATIO, SCALE_RATIO)
        scale = tf.where(enabled["scale"][:, None], drawn, scale)
    if "rotate" in enabled:
        limit = ops.degrees_to_radians(ROTATE_DEGREES)
        angle = tf.where(
            enabled["rotate"], uniform("rotate", [count], -limit, limit), angle
        )
    if "crop" in enabled:
        crop = tf.where(enabled["crop"][:, None], uniform("crop", [count, 2]), crop)
    return ops.scale_rotate_matrix(scale, angle), crop


@tf.autograph.experimental.do_not_convert
def apply(images, params: DSAParams):
    """Applies DSA with the given parameters, differentiably w.r.t. `images`.

    Args:
        images: (B, H, W, C) float tensor (normalised pixels), static H and W.
        params: from `sample_params`, with leading size B or 1.

    Returns:
        (B, H, W, C) augmented images, same dtype.

    Example:
    >>> params = sample_params("color_crop_cutout", seed=tf.constant([3, 7]))
    >>> augmented = apply(images, params)
    """
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise UddError(f"DSA expects images of shape (B, H, W, C), got {images.shape}.")
    if params.flip is not None:
        images = ops.flip_horizontal(images, params.flip)
    if params.brightness is not None:
        images = ops.adjust_brightness(images, params.brightness)
        images = ops.adjust_saturation(images, params.saturation)
        images = ops.adjust_contrast(images, params.contrast)
    if params.matrix is not None:
        height, width = images.shape[1], images.shape[2]
        shift = tf.stack(
            [
                ops.crop_shift(params.crop[:, 0], height),
                ops.crop_shift(params.crop[:, 1], width),
            ],
            axis=-1,
        )
        images = ops.affine_transform(images, params.matrix, shift)
    if params.cutout is not None:
        images = ops.cutout(images, params.cutout)
    return images


@tf.autograph.experimental.do_not_convert
def augment(images, strategy, seed, per_sample=False, one_geometric_op=True):
    """Samples parameters for `images` and applies them: `apply(sample_params(...))`.

    Args:
        images: (B, H, W, C) float tensor.
        strategy: strategy string, see `sample_params`.
        seed: int or (2,) integer tensor.
        per_sample: one set of parameters per image instead of per batch.
        one_geometric_op: see `sample_params`.

    Returns:
        (B, H, W, C) augmented images.
    """
    params = sample_params(
        strategy,
        batch_size=tf.shape(images)[0],
        seed=seed,
        per_sample=per_sample,
        one_geometric_op=one_geometric_op,
    )
    return apply(images, params)
