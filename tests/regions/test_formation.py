import numpy as np
import tensorflow as tf

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
