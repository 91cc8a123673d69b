import numpy as np
import pytest
import tensorflow as tf

from udd_keras.augmentation import ops


def _images(batch=2, size=8, channels=3, seed=0):
    return tf.random.stateless_normal([batch, size, size, channels], [seed, 1])


def test_flip_mirrors_selected_images_only():
    images = _images()
    flipped = ops.flip_horizontal(images, tf.constant([True, False])).numpy()
    np.testing.assert_array_equal(flipped[0], images.numpy()[0, :, ::-1])
    np.testing.assert_array_equal(flipped[1], images.numpy()[1])


def test_colour_ops_follow_dsa_formulas():
    images = _images().numpy()
    brighter = ops.adjust_brightness(images, tf.constant([0.25, -0.5])).numpy()
    np.testing.assert_allclose(brighter[0], images[0] + 0.25, atol=1e-6)
    np.testing.assert_allclose(brighter[1], images[1] - 0.5, atol=1e-6)

    grey = ops.adjust_saturation(images, tf.constant([0.0, 1.0])).numpy()
    np.testing.assert_allclose(
        grey[0], np.repeat(images[0].mean(-1, keepdims=True), 3, -1), atol=1e-6
    )
    np.testing.assert_allclose(grey[1], images[1], atol=1e-6)

    flat = ops.adjust_contrast(images, tf.constant([0.5, 1.5])).numpy()
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(
        flat, (images - mean) * [[[[0.5]]], [[[1.5]]]] + mean, atol=1e-5
    )


def test_crop_shift_range():
    shifts = ops.crop_shift(tf.linspace(0.0, 0.999, 1000), 32).numpy()
    assert set(np.unique(shifts)) == set(range(-4, 5))


def test_integer_translation_is_exact_with_zero_fill():
    images = _images(batch=1, size=6)
    shifted = ops.affine_transform(
        images, tf.eye(2)[None], tf.constant([[2.0, -1.0]])
    ).numpy()[0]
    padded = np.pad(images.numpy()[0], [(3, 3), (3, 3), (0, 0)])
    np.testing.assert_array_equal(shifted, padded[3 + 2 : 9 + 2, 3 - 1 : 9 - 1])


def test_identity_affine_is_exact():
    images = _images()
    same = ops.affine_transform(images, tf.eye(2)[None], tf.zeros([1, 2]))
    np.testing.assert_array_equal(same, images)


def test_rotation_by_90_degrees_turns_the_image():
    images = _images(batch=1, size=5)
    matrix = ops.scale_rotate_matrix(tf.ones([1, 2]), tf.constant([np.pi / 2]))
    rotated = ops.affine_transform(images, matrix, tf.zeros([1, 2])).numpy()[0]
    np.testing.assert_allclose(rotated, np.rot90(images.numpy()[0], k=-1), atol=1e-5)


def test_scale_zooms_about_the_centre():
    # Reading at half the offset from the centre (scale 0.5) zooms in 2x.
    images = tf.reshape(tf.range(5.0), [1, 1, 5, 1]) * tf.ones([1, 5, 1, 1])
    matrix = ops.scale_rotate_matrix(tf.constant([[1.0, 0.5]]), tf.zeros([1]))
    zoomed = ops.affine_transform(images, matrix, tf.zeros([1, 2])).numpy()
    np.testing.assert_allclose(zoomed[0, 0, :, 0], [1.0, 1.5, 2.0, 2.5, 3.0])


def test_bilinear_gradient_matches_finite_differences():
    images = _images(batch=1, size=5, channels=1, seed=3)
    matrix = ops.scale_rotate_matrix(tf.constant([[1.1, 0.9]]), tf.constant([0.3]))

    def transform(x):
        return ops.affine_transform(x, matrix, tf.constant([[0.4, -0.7]]))

    theoretical, numerical = tf.test.compute_gradient(transform, [images], delta=1e-2)
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-3)


def test_cutout_zeroes_a_half_side_square():
    images = tf.ones([2, 8, 8, 2])
    # Centres in the middle: the full 4 x 4 square is inside the image.
    out = ops.cutout(images, tf.constant([[0.5, 0.5], [0.5, 0.5]])).numpy()
    assert (out == 0).sum() == 2 * 4 * 4 * 2
    np.testing.assert_array_equal(out[0, 2:6, 2:6], 0.0)
    # A centre on the edge leaves only part of the square in the image.
    edge = ops.cutout(images, tf.constant([[0.0, 0.0]])).numpy()
    assert (edge[0, :, :, 0] == 0).sum() == 4


@pytest.mark.parametrize("size", [8, 28, 32])
def test_cutout_square_always_overlaps_the_image(size):
    units = tf.random.stateless_uniform([64, 2], [0, 0])
    out = ops.cutout(tf.ones([64, size, size, 1]), units).numpy()
    assert ((out == 0).sum(axis=(1, 2, 3)) > 0).all()
