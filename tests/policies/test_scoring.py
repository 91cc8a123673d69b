import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import UddError
from udd_keras.policies import (
    SCORED_POLICIES,
    jitter_images,
    normalize_by_size,
    ranks,
    region_scores,
    select_lowest,
    window_masks,
)
from udd_keras.policies.scoring import activation_scores, gradient_scores
from udd_keras.regions import candidate_boxes

BOXES = candidate_boxes(16, 16, 4)  # TL, TR, BL, BR quadrants


def dead_corner_images():
    """Bottom-right quadrant is dead (far below ReLU's threshold)."""
    images = np.full((2, 16, 16, 1), 0.05, "float32")
    images[:, 4:8, 0:8] = 1.0  # a strongly responding patch in the top-left
    images[:, 8:, 8:] = -5.0
    return tf.constant(images)


def forward(images):
    """A transparent stand-in network: response = ReLU(image)."""
    response = tf.nn.relu(images)
    energy = tf.reduce_sum(response**2, axis=[1, 2, 3])
    logits = tf.stack([energy, tf.zeros_like(energy)], axis=-1)
    return response, logits


@pytest.mark.parametrize("policy", ["activation", "gradient", "jitter", "vote"])
def test_each_policy_ranks_the_dead_corner_lowest(policy):
    masks = window_masks(BOXES, (16, 16), (16, 16))
    scores = region_scores(
        policy,
        forward,
        dead_corner_images(),
        tf.constant([1, 1]),
        masks,
        seed=tf.constant([0, 3]),
        jitters=4,
    )
    assert scores.shape == (2, 4)
    lowest = select_lowest(scores, BOXES, 1).numpy()[:, 0]
    np.testing.assert_array_equal(lowest, [BOXES[3], BOXES[3]])


def test_policies_work_on_a_real_convnet_response():
    from udd_keras.models import ConvNet

    model = ConvNet((28, 28, 1), num_classes=10, width=8, seed=0)

    def convnet_forward(images):
        maps, embedding = model.features(images)
        return maps[-1], model.classifier(embedding)

    boxes = candidate_boxes(28, 28, 12)
    masks = window_masks(boxes + 2, (32, 32), (8, 8))
    images = tf.random.stateless_normal((3, 28, 28, 1), [0, 1])
    for policy in SCORED_POLICIES:
        scores = region_scores(
            policy,
            convnet_forward,
            images,
            tf.constant([0, 1, 2]),
            masks,
            seed=tf.constant([1, 2]),
        )
        assert scores.shape == (3, 12) and np.isfinite(scores.numpy()).all()


def test_window_masks_cover_fractional_cells():
    masks = window_masks([[0, 0, 9, 9]], (28, 28), (7, 7))
    assert masks.shape == (1, 7, 7)
    assert masks.sum() == pytest.approx(1.0)
    # 9 px = 2.25 map cells: full weight on 2 cells, a quarter on the third
    row = masks[0, 0, :3] / masks[0, 0, 0]
    np.testing.assert_allclose(row, [1.0, 1.0, 0.25], rtol=1e-5)


def test_ranks_and_select_lowest():
    scores = tf.constant([[0.3, 0.1, 0.2, 0.4]])
    assert ranks(scores).numpy().tolist() == [[2.0, 0.0, 1.0, 3.0]]
    chosen = select_lowest(scores, BOXES, 2).numpy()[0]
    np.testing.assert_array_equal(chosen, BOXES[[1, 2]])


@pytest.mark.parametrize("function", ["gaussian", "uniform", "salt_and_pepper"])
def test_jitter_functions_are_seeded_and_change_the_image(function):
    images = tf.random.stateless_normal((2, 8, 8, 1), [0, 0])
    a = jitter_images(images, function, 0.2, tf.constant([1, 2]))
    b = jitter_images(images, function, 0.2, tf.constant([1, 2]))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert np.abs(a.numpy() - images.numpy()).max() > 0


def test_unknown_policy_and_jitter_errors():
    masks = window_masks(BOXES, (16, 16), (16, 16))
    with pytest.raises(UddError, match="scoring policy must be one of"):
        region_scores("entropy", forward, dead_corner_images(), [0, 0], masks, [0, 0])
    with pytest.raises(UddError, match="jitter function must be one of"):
        jitter_images(tf.zeros((1, 4, 4, 1)), "blur", 0.1, tf.constant([0, 0]))


def test_gradient_and_activation_scores_accept_bfloat16_response_maps():
    images = tf.random.stateless_uniform((2, 8, 8, 1), seed=(0, 1))
    kernel = tf.random.stateless_normal((3, 3, 1, 4), seed=(0, 2))
    dense = tf.random.stateless_normal((4, 3), seed=(0, 3))

    def forward(x):
        response = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME"))
        response = tf.cast(response, tf.bfloat16)
        pooled = tf.reduce_mean(tf.cast(response, tf.float32), axis=[1, 2])
        return response, pooled @ dense

    masks = tf.ones((5, 8, 8)) / 64.0
    labels = tf.constant([0, 2])
    for scores in (
        activation_scores(forward, images, masks),
        gradient_scores(forward, images, labels, masks),
    ):
        assert scores.dtype == tf.float32 and scores.shape == (2, 5)
        assert np.all(np.isfinite(scores.numpy()))


def test_normalize_by_size_divides_by_the_mean_of_the_windows_size():
    scores = tf.constant([[1.0, 3.0, 10.0, 30.0], [2.0, 2.0, 4.0, 12.0]])
    normalized = normalize_by_size(scores, [0, 0, 1, 1])
    assert normalized.dtype == tf.float32 and normalized.shape == (2, 4)
    np.testing.assert_allclose(
        normalized.numpy(), [[0.5, 1.5, 0.5, 1.5], [1.0, 1.0, 0.5, 1.5]], rtol=1e-6
    )
    # interleaved groups: each window is compared with its own size only
    mixed = normalize_by_size(tf.constant([[1.0, 10.0, 3.0, 30.0]]), [0, 1, 0, 1])
    np.testing.assert_allclose(mixed.numpy(), [[0.5, 0.5, 1.5, 1.5]], rtol=1e-6)


@pytest.mark.parametrize(
    "groups",
    [
        np.repeat([0, 1, 2], 4),  # original+regions, N = 12
        np.repeat([1, 2], 4),  # tiles+regions: no 1/2 window (they are the tiles)
        np.tile(np.repeat([0, 1, 2], 4), 4),  # regions-in-tiles
    ],
    ids=["original+regions", "tiles+regions", "regions-in-tiles"],
)
def test_after_normalize_by_size_every_size_has_mean_one(groups):
    rng = np.random.default_rng(3)
    scale = np.array([1.0, 20.0, 0.05])[groups]  # sizes on very different scales
    scores = rng.uniform(0.1, 1.0, size=(3, len(groups))) * scale
    normalized = normalize_by_size(scores.astype("float32"), groups).numpy()
    assert np.isfinite(normalized).all()
    for group in np.unique(groups):
        np.testing.assert_allclose(
            normalized[:, groups == group].mean(axis=1), 1.0, rtol=1e-5
        )
    # ranks inside a size are kept
    for group in np.unique(groups):
        np.testing.assert_array_equal(
            np.argsort(normalized[:, groups == group], axis=1),
            np.argsort(scores[:, groups == group], axis=1),
        )
