import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import UddError
from udd_keras.models import ConvNet
from udd_keras.policies import select_lowest
from udd_keras.regions import candidate_boxes, crop_and_resize, form_training_images


def test_full_box_is_identity_and_crop_reads_only_its_region():
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype("float32")
    full = crop_and_resize(images, [[0, 0, 8, 8]])
    np.testing.assert_allclose(full, images, atol=1e-6)
    corner = crop_and_resize(images, [[0, 0, 4, 4]]).numpy()
    # corners of the resized crop are exactly the region's corner pixels
    np.testing.assert_allclose(corner[:, 0, 0], images[:, 0, 0], atol=1e-6)
    np.testing.assert_allclose(corner[:, -1, -1], images[:, 3, 3], atol=1e-6)


def test_form_training_images_order_and_count():
    images = np.stack([np.full((8, 8, 1), v, "float32") for v in (1.0, 2.0)])
    boxes = np.array([[[0, 0, 4, 4], [4, 4, 8, 8]]] * 2)
    train = form_training_images(images, boxes, include_original=True).numpy()
    assert train.shape == (6, 8, 8, 1)
    np.testing.assert_allclose(train[:, 0, 0, 0], [1, 1, 1, 2, 2, 2])
    assert form_training_images(images, boxes, include_original=False).shape[0] == 4


def test_gradient_reaches_pixels_inside_every_selected_region():
    rng = np.random.default_rng(1)
    model = ConvNet((28, 28, 1), num_classes=3, width=8, seed=0)
    images = tf.Variable(rng.normal(size=(2, 28, 28, 1)).astype("float32"))
    boxes = candidate_boxes(28, 28, 12)
    scores = tf.constant(rng.normal(size=(2, 12)).astype("float32"))
    selected = select_lowest(scores, boxes, 8)
    with tf.GradientTape() as tape:
        train = form_training_images(images, selected, include_original=False)
        loss = tf.reduce_sum(model(train) ** 2)
    gradient = np.abs(tape.gradient(loss, images).numpy())
    assert np.isfinite(gradient).all()
    for image in range(2):
        for top, left, bottom, right in selected[image].numpy():
            assert gradient[image, top:bottom, left:right].sum() > 0
    # pixels outside every selected region get no gradient
    outside = np.ones((2, 28, 28), bool)
    for image in range(2):
        for top, left, bottom, right in selected[image].numpy():
            outside[image, top:bottom, left:right] = False
    assert gradient[..., 0][outside].max(initial=0.0) == 0.0


def test_area_crop_gradient_scales_each_crop_by_its_share_of_the_image():
    images = tf.Variable(np.random.default_rng(0).random((2, 12, 12, 1), "float32"))
    boxes = tf.constant([[0, 0, 6, 6], [0, 0, 12, 12], [4, 0, 8, 12]])
    gradients, values = {}, {}
    for mode in ("sum", "area"):
        with tf.GradientTape() as tape:
            values[mode] = form_training_images(images, boxes, crop_gradient=mode)
            loss = tf.reduce_sum(values[mode])
        gradients[mode] = tape.gradient(loss, images).numpy()
    # The images are the same; only the backward pass differs.
    np.testing.assert_array_equal(values["sum"], values["area"])
    # Every output pixel carries gradient 1: summed, each image gets
    # 144 (original) + 144 per crop; scaled, a crop gives 144 x its area share.
    np.testing.assert_allclose(gradients["sum"].sum(axis=(1, 2, 3)), [576, 576])
    expected = 144 * (1 + 36 / 144 + 1 + 48 / 144)
    np.testing.assert_allclose(gradients["area"].sum(axis=(1, 2, 3)), [expected] * 2)


def test_area_crop_gradient_of_the_whole_image_is_unchanged():
    images = tf.Variable(np.random.default_rng(1).random((1, 8, 8, 1), "float32"))
    weights = tf.constant(np.random.default_rng(2).random((1, 8, 8, 1), "float32"))
    gradients = []
    for mode in ("sum", "area"):
        with tf.GradientTape() as tape:
            crops = form_training_images(
                images, [[0, 0, 8, 8]], include_original=False, crop_gradient=mode
            )
            loss = tf.reduce_sum(crops * weights)
        gradients.append(tape.gradient(loss, images).numpy())
    np.testing.assert_allclose(gradients[0], gradients[1], rtol=1e-6)


def _weighted_gradient(images, boxes, weights, **options):
    """`(S_train, d sum(weights * S_train) / d images)` of `form_training_images`."""
    with tf.GradientTape() as tape:
        train = form_training_images(images, boxes, **options)
        loss = tf.reduce_sum(train * weights)
    return train.numpy(), tape.gradient(loss, images).numpy()


@pytest.mark.parametrize("include_original", [False, True])
def test_stop_crop_gradient_stops_the_mined_crops_only(include_original):
    rng = np.random.default_rng(3)
    images = tf.Variable(rng.random((2, 8, 8, 1), "float32"))
    tiles = np.array([[0, 0, 4, 4], [0, 4, 4, 8], [4, 0, 8, 4], [4, 4, 8, 8]])
    mined = np.array([[[0, 0, 3, 3], [2, 2, 8, 8]], [[5, 5, 8, 8], [0, 3, 6, 8]]])
    boxes = np.concatenate([np.broadcast_to(tiles, (2, 4, 4)), mined], axis=1)
    per_image = 6 + include_original
    weights = tf.constant(rng.random((2 * per_image, 8, 8, 1), "float32"))
    options = dict(include_original=include_original)
    stop, stop_gradient = _weighted_gradient(
        images, boxes, weights, crop_gradient="stop", num_fixed=4, **options
    )
    area, area_gradient = _weighted_gradient(
        images, boxes, weights, crop_gradient="area", **options
    )
    # The same training images; the mined ones still enter the loss.
    np.testing.assert_array_equal(stop, area)
    # The gradient is the image's and the tiles' alone, the tiles as under "area".
    fixed_rows = np.reshape(np.arange(2 * per_image), (2, per_image))[
        :, : per_image - 2
    ]
    _, fixed_gradient = _weighted_gradient(
        images,
        boxes[:, :4],
        tf.gather(weights, fixed_rows.reshape(-1)),
        crop_gradient="area",
        **options,
    )
    np.testing.assert_allclose(stop_gradient, fixed_gradient, rtol=1e-5, atol=1e-7)
    assert np.abs(stop_gradient).min() > 0  # the tiles cover every pixel
    # Without the stop the mined crops add their own gradient.
    assert np.abs(area_gradient - stop_gradient).max() > 1e-3


def test_stop_crop_gradient_without_fixed_boxes_leaves_the_whole_image_only():
    rng = np.random.default_rng(4)
    images = tf.Variable(rng.random((2, 8, 8, 1), "float32"))
    boxes = tf.constant([[0, 0, 4, 4], [3, 3, 8, 8]])
    weights = tf.constant(rng.random((6, 8, 8, 1), "float32"))
    _, gradient = _weighted_gradient(
        images, boxes, weights, include_original=True, crop_gradient="stop"
    )
    # original+regions: only the whole image (rows 0 and 3) moves the pixels.
    np.testing.assert_allclose(gradient, tf.gather(weights, [0, 3]), rtol=1e-6)


def test_stop_crop_gradient_through_a_network_equals_constant_mined_crops():
    rng = np.random.default_rng(5)
    model = ConvNet((8, 8, 1), num_classes=3, width=4, seed=0)
    images = tf.Variable(rng.normal(size=(2, 8, 8, 1)).astype("float32"))
    tiles = np.array([[0, 0, 4, 8], [4, 0, 8, 8]])
    boxes = np.concatenate(
        [np.broadcast_to(tiles, (2, 2, 4)), [[[0, 0, 3, 3]], [[5, 5, 8, 8]]]], axis=1
    )

    def gradient(form):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(form()) ** 2)
        return tape.gradient(loss, images).numpy()

    stopped = gradient(
        lambda: form_training_images(
            images, boxes, False, crop_gradient="stop", num_fixed=2
        )
    )

    def by_hand():
        fixed = form_training_images(images, boxes[:, :2], False, crop_gradient="area")
        mined = form_training_images(tf.stop_gradient(images), boxes[:, 2:], False)
        per_image = [
            tf.reshape(fixed, [2, 2, 8, 8, 1]),
            tf.reshape(mined, [2, 1, 8, 8, 1]),
        ]
        return tf.reshape(tf.concat(per_image, axis=1), [6, 8, 8, 1])

    np.testing.assert_allclose(stopped, gradient(by_hand), rtol=1e-5, atol=1e-7)
    assert np.abs(stopped).max() > 0


def test_unknown_crop_gradient_names_the_value_and_the_choices():
    with pytest.raises(UddError, match=r"one of sum, area, stop; got 'mean'"):
        form_training_images(
            np.ones((1, 8, 8, 1), "float32"), [[0, 0, 4, 4]], crop_gradient="mean"
        )
