"""Differentiable formation of the synthetic training images S_train.

Each selected region is cropped and resized bilinearly back to `H x W`; with
`include_original` the whole image comes first. The crop samples the region's
first and last pixel centres exactly (align-corners sampling), so no value outside
the region is read. Everything is a TF op with a gradient with respect to the
images, so the loss reaches the pixels of the stored synthetic image through every
region (except, with `crop_gradient="stop"`, the mined regions).
"""

import tensorflow as tf

from udd_keras.choices import CROP_GRADIENTS
from udd_keras.errors import UddError


def boxes_to_normalized(boxes, height, width):
    """Pixel boxes `[top, left, bottom, right)` -> `tf.image.crop_and_resize` boxes.

    Args:
        boxes: int tensor (..., 4) of half-open pixel boxes.
        height: int, image height.
        width: int, image width.

    Returns:
        float32 tensor (..., 4) `[y1, x1, y2, x2]` in `[0, 1]`, the centres of the
        first and last pixel of each box.
    """
    boxes = tf.cast(boxes, tf.float32)
    scale = tf.constant([max(height - 1, 1), max(width - 1, 1)] * 2, dtype=tf.float32)
    last = tf.constant([0.0, 0.0, 1.0, 1.0])
    return (boxes - last) / scale


def crop_and_resize(images, boxes):
    """Crops `K` boxes from each image and resizes each crop to the image size.

    Args:
        images: float tensor (B, H, W, C).
        boxes: int tensor (B, K, 4) of pixel boxes, or (K, 4) shared by all images.

    Returns:
        float32 tensor (B * K, H, W, C), image-major: the K crops of image 0 first.

    Example:
    >>> import numpy as np
    >>> crops = crop_and_resize(np.ones((2, 8, 8, 1), "float32"), [[0, 0, 4, 4]])
    >>> tuple(crops.shape)
    (2, 8, 8, 1)
    """
    images = tf.convert_to_tensor(images, tf.float32)
    boxes = tf.convert_to_tensor(boxes)
    batch = tf.shape(images)[0]
    height, width = images.shape[1], images.shape[2]
    if boxes.shape.rank == 2:
        boxes = tf.tile(boxes[None], [batch, 1, 1])
    num_boxes = tf.shape(boxes)[1]
    flat_boxes = tf.reshape(boxes_to_normalized(boxes, height, width), [-1, 4])
    box_indices = tf.repeat(tf.range(batch), num_boxes)
    return tf.image.crop_and_resize(
        images, flat_boxes, box_indices, [height, width], method="bilinear"
    )


@tf.custom_gradient
def _scale_gradient(values, scale):
    """Identity forward; the backward pass multiplies by `scale` (B, 1, 1, 1)."""

    def backward(upstream):
        return upstream * scale, tf.zeros_like(scale)

    return tf.identity(values), backward


def box_area_shares(boxes, height, width):
    """Each box's share of the image area; float32 of the boxes' leading shape."""
    boxes = tf.cast(boxes, tf.float32)
    sides = boxes[..., 2:] - boxes[..., :2]
    return sides[..., 0] * sides[..., 1] / float(height * width)


@tf.autograph.experimental.do_not_convert
def form_training_images(
    images, boxes, include_original=True, crop_gradient="sum", num_fixed=0
):
    """Builds S_train: each image followed by its resized regions.

    Args:
        images: float tensor (B, H, W, C), the synthetic images.
        boxes: int tensor (B, K, 4) or (K, 4), the selected regions: per
            image, its `num_fixed` fixed boxes (IDC's tiles) first, then its
            mined regions.
        include_original: bool, whether the whole image is a training image too.
        crop_gradient: one of `CROP_GRADIENTS`. `"sum"`: the gradient of a
            resized crop reaches the stored pixels as bilinear resizing's
            backward pass gives it, summed over the output pixels each stored
            pixel spreads to (a crop of 1/3 of the side moves its pixels about
            9x as hard as the whole image does); `"area"`: that gradient is
            multiplied by the crop's share of the image area, so every
            training image pulls on a stored pixel with the weight of one
            output pixel, whatever its zoom; `"stop"`: the crops of the mined
            regions (every box after the first `num_fixed`) pass no gradient
            at all (`tf.stop_gradient`): they still enter the loss, but only
            the whole image and the fixed boxes move the pixels, the fixed
            boxes scaled as under `"area"`. The images themselves are the
            same in every mode.
        num_fixed: int, how many of each image's boxes (the first) are fixed
            boxes rather than mined regions; only `"stop"` reads it.

    Returns:
        float32 tensor (B * (K + include_original), H, W, C), per image
        `[original, region 1, ..., region K]`.

    Example:
    >>> images = tf.ones((1, 8, 8, 1))
    >>> boxes = [[0, 0, 4, 8], [5, 5, 8, 8]]  # one fixed box, one mined region
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(images)
    ...     train = form_training_images(
    ...         images, boxes, False, crop_gradient="stop", num_fixed=1
    ...     )
    ...     loss = tf.reduce_sum(train)
    >>> float(tape.gradient(loss, images)[0, 7, 7, 0])  # only in the mined one
    0.0
    """
    if crop_gradient not in CROP_GRADIENTS:
        raise UddError(
            f"crop_gradient must be one of {', '.join(CROP_GRADIENTS)}; got "
            f"{crop_gradient!r}"
        )
    images = tf.convert_to_tensor(images, tf.float32)
    boxes = tf.convert_to_tensor(boxes)
    if boxes.shape.rank == 2:
        boxes = tf.tile(boxes[None], [tf.shape(images)[0], 1, 1])
    crops = crop_and_resize(images, boxes)
    if crop_gradient in ("area", "stop"):
        shares = box_area_shares(boxes, images.shape[1], images.shape[2])
        crops = _scale_gradient(crops, tf.reshape(shares, [-1, 1, 1, 1]))
    if crop_gradient == "stop":
        # Image-major crops: box k of every image is mined when k >= num_fixed.
        mined = tf.range(tf.shape(boxes)[1]) >= num_fixed
        mined = tf.tile(mined, [tf.shape(images)[0]])
        crops = tf.where(mined[:, None, None, None], tf.stop_gradient(crops), crops)
    if not include_original:
        return crops
    shape = tf.shape(crops)
    per_image = tf.reshape(crops, [tf.shape(images)[0], -1, *images.shape[1:]])
    stacked = tf.concat([images[:, None], per_image], axis=1)
    return tf.reshape(stacked, [-1, shape[1], shape[2], shape[3]])
