import numpy as np
import pytest
import tensorflow as tf

from udd_keras.augmentation import (
    EVALUATION_STRATEGY,
    MATCHING_STRATEGY,
    DSAParams,
    apply,
    augment,
    sample_params,
)
from udd_keras.errors import UddError

SINGLE_OPS = ["color", "crop", "cutout", "flip", "scale", "rotate"]
STRATEGIES = SINGLE_OPS + [
    MATCHING_STRATEGY,
    EVALUATION_STRATEGY,
    "color_crop_flip_scale_rotate",
]


def _images(batch=4, size=16, channels=3, seed=0):
    return tf.random.stateless_normal([batch, size, size, channels], [seed, 7])


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("per_sample", [False, True])
def test_shape_dtype_and_range_preserved(strategy, per_sample):
    images = _images()
    params = sample_params(strategy, 4, seed=1, per_sample=per_sample)
    out = apply(images, params)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert np.isfinite(out.numpy()).all()
    # Geometry and cutout only move, blend or zero pixels; colour is bounded
    # by its factors (saturation < 2, contrast < 1.5, brightness +-0.5).
    bound = np.abs(images.numpy()).max() * (1 if "color" not in strategy else 6) + 0.5
    assert np.abs(out.numpy()).max() <= bound


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_params_give_identical_outputs(strategy):
    params = sample_params(strategy, 4, seed=5, per_sample=True)
    first = apply(_images(), params)
    second = apply(_images(), params)
    np.testing.assert_array_equal(first, second)
    again = apply(_images(), sample_params(strategy, 4, seed=5, per_sample=True))
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_different_seeds_give_different_outputs(strategy):
    images = _images()
    outputs = [
        apply(images, sample_params(strategy, 4, seed=s, per_sample=True)).numpy()
        for s in range(4)
    ]
    assert any(not np.allclose(outputs[0], other) for other in outputs[1:])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_siamese_batch_params_transform_every_image_alike(strategy):
    real = _images(batch=6, seed=1)
    synthetic = real[:2]
    params = sample_params(strategy, seed=3)  # shared by the batch
    np.testing.assert_allclose(
        apply(real, params)[:2], apply(synthetic, params), atol=1e-6
    )


def test_per_batch_params_have_leading_size_one():
    params = sample_params(EVALUATION_STRATEGY, 10, seed=0)
    for value in params:
        assert value is not None and value.shape[0] == 1
    per_sample = sample_params(EVALUATION_STRATEGY, 10, seed=0, per_sample=True)
    assert all(value.shape[0] == 10 for value in per_sample)


def test_params_hold_only_named_operations():
    params = sample_params("color_cutout", 4, seed=0)
    assert params.flip is None and params.matrix is None and params.crop is None
    assert params.brightness is not None and params.cutout is not None


def test_parameter_ranges():
    params = sample_params(
        EVALUATION_STRATEGY, 4000, seed=0, per_sample=True, one_geometric_op=False
    )
    assert -0.5 <= params.brightness.numpy().min() < -0.45
    assert 0.45 < params.brightness.numpy().max() < 0.5
    assert (
        params.saturation.numpy().min() >= 0.0 and params.saturation.numpy().max() < 2
    )
    assert params.contrast.numpy().min() >= 0.5 and params.contrast.numpy().max() < 1.5
    assert 0.45 < params.flip.numpy().mean() < 0.55
    # |det| = sx * sy with sx, sy in [1/1.2, 1.2].
    det = np.abs(np.linalg.det(params.matrix.numpy()))
    assert det.min() >= 1 / 1.44 - 1e-5 and det.max() <= 1.44 + 1e-5


def test_one_geometric_op_per_call():
    # With all three named, each call uses exactly one of crop, scale, rotate.
    seen = set()
    for seed in range(12):
        p = sample_params("crop_scale_rotate", 8, seed=seed, per_sample=True)
        matrix = p.matrix.numpy()
        crop_used = not np.allclose(p.crop.numpy(), 0.5)
        scaled = not np.allclose(np.abs(np.linalg.det(matrix)), 1.0, atol=1e-5)
        rotated = not np.allclose(matrix[:, 0, 1], 0.0)
        assert crop_used + scaled + rotated == 1
        seen.add((crop_used, scaled, rotated))
    assert len(seen) == 3


def test_none_strategy_is_identity():
    images = _images()
    np.testing.assert_array_equal(apply(images, sample_params("none", 4, 0)), images)
    assert sample_params("", 4, 0) == DSAParams()


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("per_sample", [False, True])
def test_gradients_reach_the_images(strategy, per_sample):
    images = tf.Variable(_images())
    params = sample_params(strategy, 4, seed=2, per_sample=per_sample)
    weights = tf.random.stateless_normal(images.shape, [9, 9])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(apply(images, params) * weights)
    grad = tape.gradient(loss, images).numpy()
    assert np.isfinite(grad).all()
    assert np.abs(grad).sum() > 0
    # Every image of the batch receives gradient.
    assert (np.abs(grad).sum(axis=(1, 2, 3)) > 0).all()


def test_traces_once_for_many_seeds():
    @tf.function
    def step(images, seed):
        params = sample_params(
            EVALUATION_STRATEGY, tf.shape(images)[0], seed, per_sample=True
        )
        return apply(images, params)

    images = _images()
    outputs = [step(images, tf.constant([s, 0], tf.int64)).numpy() for s in range(4)]
    assert step.experimental_get_tracing_count() == 1
    assert not np.allclose(outputs[0], outputs[1])
    eager = apply(
        images, sample_params(EVALUATION_STRATEGY, 4, seed=2, per_sample=True)
    )
    np.testing.assert_allclose(outputs[2], eager, atol=1e-5)


def test_augment_is_sample_then_apply():
    images = _images()
    expected = apply(images, sample_params(MATCHING_STRATEGY, 4, seed=4))
    np.testing.assert_array_equal(augment(images, MATCHING_STRATEGY, seed=4), expected)


@pytest.mark.parametrize("size, channels", [(8, 1), (28, 1), (32, 3)])
def test_works_on_dataset_sizes(size, channels):
    images = _images(batch=2, size=size, channels=channels)
    out = augment(images, EVALUATION_STRATEGY, seed=0, per_sample=True)
    assert out.shape == images.shape


def test_unknown_operation_raises():
    with pytest.raises(UddError, match="Unknown augmentation 'blur'.*allowed: color"):
        sample_params("color_blur", 4, seed=0)


def test_per_sample_needs_batch_size():
    with pytest.raises(UddError, match="batch_size"):
        sample_params("color", None, seed=0, per_sample=True)


def test_bad_seed_raises():
    with pytest.raises(UddError, match="seed"):
        sample_params("color", 4, seed=tf.constant([1, 2, 3]))
