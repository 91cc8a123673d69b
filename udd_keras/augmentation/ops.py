"""Differentiable image operations used by DSA, on NHWC float tensors.

Every function is differentiable with respect to `images` and takes per-image
parameters of leading size `P`, where `P` is either the batch size (one parameter
per image) or 1 (one parameter shared by the whole batch, the siamese batch mode).
"""

import math

import tensorflow as tf

CROP_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _per_image(values, rank=4):
    """Reshapes (P,) values to (P, 1, 1, 1) so they broadcast over NHWC images."""
    return tf.reshape(values, [-1] + [1] * (rank - 1))


def flip_horizontal(images, flip):
    """Mirrors the images left-right where `flip` is true.

    Args:
        images: (B, H, W, C) float tensor.
        flip: (P,) bool tensor, P in {B, 1}.

    Returns:
        (B, H, W, C) tensor.
    """
    return tf.where(_per_image(flip), tf.reverse(images, axis=[2]), images)


def adjust_brightness(images, shift):
    """Adds `shift` (P,) to every pixel of each image (DSA brightness)."""
    return images + _per_image(tf.cast(shift, images.dtype))


def adjust_saturation(images, factor):
    """Scales each pixel's deviation from its channel mean by `factor` (P,)."""
    mean = tf.reduce_mean(images, axis=-1, keepdims=True)
    return (images - mean) * _per_image(tf.cast(factor, images.dtype)) + mean


def adjust_contrast(images, factor):
    """Scales each image's deviation from its overall mean by `factor` (P,)."""
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * _per_image(tf.cast(factor, images.dtype)) + mean


def crop_shift(unit, size, ratio=CROP_RATIO):
    """Maps uniform draws in [0, 1) to integer shifts in [-s, s].

    s = round(size * ratio), as in DSA.

    Args:
        unit: float tensor of uniform draws in [0, 1).
        size: the image side in pixels (python int).
        ratio: the largest shift as a fraction of `size`.

    Returns:
        Float tensor of integer-valued shifts, in pixels.
    """
    limit = int(size * ratio + 0.5)
    return tf.floor(unit * (2 * limit + 1)) - limit


def sample_bilinear(images, source_y, source_x):
    """Samples `images` at fractional pixel positions, zero outside the image.

    Matches `torch.nn.functional.grid_sample(..., padding_mode="zeros",
    align_corners=True)` expressed in pixel coordinates. Implemented with
    `tf.gather`, so the gradient with respect to `images` is exact.

    Args:
        images: (B, H, W, C) float tensor.
        source_y: (P, H, W) row position, in pixels, to read each output pixel from.
        source_x: (P, H, W) column position, in pixels. P in {B, 1}.

    Returns:
        (B, H, W, C) tensor.
    """
    shape = tf.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    flat = tf.reshape(padded, [-1, channels])
    broadcast = tf.stack([batch, height, width])
    source_y = tf.broadcast_to(source_y, broadcast)
    source_x = tf.broadcast_to(source_x, broadcast)
    y0 = tf.floor(source_y)
    x0 = tf.floor(source_x)
    weight_y = _per_pixel(source_y - y0)
    weight_x = _per_pixel(source_x - x0)
    offsets = tf.reshape(tf.range(batch) * (height + 2) * (width + 2), [-1, 1, 1])

    def gather(y, x):
        # Positions outside the image land on the zero border of `padded`.
        y = tf.cast(tf.clip_by_value(y, -1.0, tf.cast(height, y.dtype)), tf.int32) + 1
        x = tf.cast(tf.clip_by_value(x, -1.0, tf.cast(width, x.dtype)), tf.int32) + 1
        return tf.gather(flat, offsets + y * (width + 2) + x)

    top = gather(y0, x0) * (1 - weight_x) + gather(y0, x0 + 1) * weight_x
    bottom = gather(y0 + 1, x0) * (1 - weight_x) + gather(y0 + 1, x0 + 1) * weight_x
    return top * (1 - weight_y) + bottom * weight_y


def _per_pixel(weights):
    return tf.expand_dims(weights, -1)


def affine_transform(images, matrix, translation):
    """Resamples images by an affine map about the image centre (DSA geometry).

    Output pixel p reads input pixel `centre + matrix @ (p - centre) + translation`,
    bilinearly, with zeros outside the image.

    Args:
        images: (B, H, W, C) float tensor.
        matrix: (P, 2, 2) float tensor acting on (row, column) offsets.
        translation: (P, 2) float tensor, (row, column) shift in pixels.

    Returns:
        (B, H, W, C) tensor.
    """
    shape = tf.shape(images)
    dtype = images.dtype
    height, width = tf.cast(shape[1], dtype), tf.cast(shape[2], dtype)
    rows = tf.range(height, dtype=dtype) - (height - 1) / 2
    cols = tf.range(width, dtype=dtype) - (width - 1) / 2
    grid_y, grid_x = tf.meshgrid(rows, cols, indexing="ij")
    matrix = tf.cast(matrix, dtype)
    translation = tf.cast(translation, dtype)

    def entry(i, j):
        return tf.reshape(matrix[:, i, j], [-1, 1, 1])

    source_y = entry(0, 0) * grid_y + entry(0, 1) * grid_x
    source_x = entry(1, 0) * grid_y + entry(1, 1) * grid_x
    source_y += (height - 1) / 2 + tf.reshape(translation[:, 0], [-1, 1, 1])
    source_x += (width - 1) / 2 + tf.reshape(translation[:, 1], [-1, 1, 1])
    return sample_bilinear(images, source_y, source_x)


def scale_rotate_matrix(scale, angle):
    """Builds (P, 2, 2) matrices `scale * rotation(angle)`.

    Args:
        scale: (P, 2) per-axis (row, column) scale factors.
        angle: (P,) rotation angles in radians.

    Returns:
        (P, 2, 2) float tensor.
    """
    cos, sin = tf.cos(angle), tf.sin(angle)
    rotation = tf.stack([tf.stack([cos, -sin], -1), tf.stack([sin, cos], -1)], -2)
    return rotation * tf.expand_dims(scale, -1)


def cutout(images, unit_centre, ratio=CUTOUT_RATIO):
    """Zeroes a square of side round(ratio * size) in each image (DSA cutout).

    Args:
        images: (B, H, W, C) float tensor with static H and W.
        unit_centre: (P, 2) uniform draws in [0, 1) placing the (row, column)
            centre; the square may be partly outside the image, as in DSA.
        ratio: the square's side as a fraction of the image side.

    Returns:
        (B, H, W, C) tensor.
    """
    height, width = images.shape[1], images.shape[2]
    inside_rows = _cutout_band(unit_centre[:, 0], height, ratio)
    inside_cols = _cutout_band(unit_centre[:, 1], width, ratio)
    inside = tf.logical_and(inside_rows[:, :, None], inside_cols[:, None, :])
    mask = 1.0 - tf.cast(inside, images.dtype)
    return images * mask[..., None]


def _cutout_band(unit, size, ratio):
    """(P, size) bool: which rows (or columns) fall inside the cutout square."""
    side = int(size * ratio + 0.5)
    centre = tf.floor(unit * (size + 1 - side % 2))
    start = centre - side // 2
    index = tf.range(size, dtype=unit.dtype)[None, :]
    return tf.logical_and(index >= start[:, None], index < start[:, None] + side)


def degrees_to_radians(degrees):
    return degrees * math.pi / 180.0
