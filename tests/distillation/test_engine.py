import numpy as np
import pytest
import tensorflow as tf

from udd_keras.data import load_dataset
from udd_keras.distillation import DistillConfig, Distiller, distill
from udd_keras.errors import UddError
from udd_keras.policies import normalize_by_size, window_masks, window_means
from udd_keras.regions import form_training_images, uniform_boxes

SMALL = dict(width=8, net_images=64, real_batch=16, log_every=1)
KEY = tf.constant([0, 5], tf.int32)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def make_engine(digits, **settings):
    config = DistillConfig(
        "digits", ipc=1, iterations=1, inner_steps=1, **{**SMALL, **settings}
    )
    engine = Distiller(config, dataset=digits).engine
    engine.reset_network(0)
    return engine


def test_tiles_regions_selects_the_tiles_first_then_the_mined_regions(digits):
    engine = make_engine(digits, formation="tiles+regions")
    assert engine.config.num_selected == 2
    boxes = engine.select_regions(KEY).numpy()
    assert boxes.shape == (10, 6, 4) and boxes.dtype == np.int32
    tiles = uniform_boxes(8, 8, 2)
    np.testing.assert_array_equal(boxes[:, :4], np.broadcast_to(tiles, (10, 4, 4)))
    tile_set = {tuple(tile) for tile in tiles.tolist()}
    candidates = {tuple(box) for box in engine.candidate_boxes.tolist()}
    for image in boxes:
        mined = [tuple(box) for box in image[4:].tolist()]
        assert not tile_set & set(mined)
        assert set(mined) <= candidates and len(set(mined)) == 2
    # the mined ones are the policy's two lowest-scoring candidates, lowest first
    scores = engine.region_scores(KEY).numpy()
    assert scores.shape == (10, 8)
    lowest = np.argsort(scores, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(boxes[:, 4:], engine.candidate_boxes[lowest])


def test_mine_from_highest_mines_the_highest_scores_highest_first(digits):
    lowest = make_engine(digits, formation="tiles+regions")
    highest = make_engine(digits, formation="tiles+regions", mine_from="highest")
    scores = highest.region_scores(KEY).numpy()
    np.testing.assert_array_equal(scores, lowest.region_scores(KEY).numpy())
    boxes = highest.select_regions(KEY).numpy()
    np.testing.assert_array_equal(boxes[:, :4], lowest.select_regions(KEY)[:, :4])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(boxes[:, 4:], highest.candidate_boxes[top])
    assert (scores[np.arange(10), top[:, 1]] >= np.sort(scores, axis=1)[:, -2]).all()


@pytest.mark.parametrize(
    "settings, shape, per_image",
    [
        ({"method": "udd"}, (10, 4, 4), 4),
        ({"method": "udd", "formation": "tiles+regions"}, (10, 6, 4), 6),
        ({"formation": "original+regions"}, (10, 8, 4), 9),
        ({"method": "idc"}, (10, 4, 4), 4),
        ({"method": "dc"}, (10, 0, 4), 1),
        ({"formation": "regions-in-tiles"}, (10, 8, 4), 8),
        ({"formation": "tiles+regions", "num_selected": 4}, (10, 8, 4), 8),
    ],
)
def test_boxes_and_training_images_per_formation(digits, settings, shape, per_image):
    engine = make_engine(digits, **settings)
    boxes = engine.select_regions(KEY)
    assert tuple(boxes.shape) == shape
    assert engine.training_images_per_image == per_image
    train = engine.training_images(engine.images[:2], boxes[:2])
    assert tuple(train.shape) == (2 * per_image, 8, 8, 1)
    if engine.config.fixed_regions_per_image:
        np.testing.assert_array_equal(
            boxes.numpy()[:, :4], np.broadcast_to(uniform_boxes(8, 8, 2), (10, 4, 4))
        )


def test_regions_in_tiles_mines_inside_the_tiles(digits):
    engine = make_engine(digits, formation="regions-in-tiles")
    assert engine.candidate_boxes.shape == (48, 4)
    mined = engine.select_regions(KEY).numpy()[:, 4:]
    inside = [
        ((mined[..., :2] >= tile[:2]) & (mined[..., 2:] <= tile[2:])).all(-1)
        for tile in uniform_boxes(8, 8, 2)
    ]
    assert np.any(inside, axis=0).all()


def test_size_normalization_divides_the_scores_by_their_sizes_mean(digits):
    raw_engine = make_engine(
        digits, formation="original+regions", score_normalization="none"
    )
    sized_engine = make_engine(
        digits, formation="original+regions", score_normalization="size"
    )
    raw = raw_engine.region_scores(KEY).numpy()
    sized = sized_engine.region_scores(KEY).numpy()
    expected = normalize_by_size(raw, raw_engine.formation.size_groups).numpy()
    np.testing.assert_allclose(sized, expected, rtol=1e-5)
    for group in range(3):
        np.testing.assert_allclose(
            sized[:, 4 * group : 4 * group + 4].mean(axis=1), 1.0, rtol=1e-5
        )


@pytest.mark.parametrize("formation", ["tiles+regions", "regions-in-tiles"])
def test_size_normalization_is_finite_for_tile_formations(digits, formation):
    # tiles+regions has no 1/2 window, so one size group is empty.
    engine = make_engine(
        digits, formation=formation, score_normalization="size", num_selected=4
    )
    scores = engine.region_scores(KEY).numpy()
    assert np.isfinite(scores).all()
    assert engine.select_regions(KEY).shape == (10, 8, 4)


def test_update_images_returns_loss_matching_cfc_and_gradient_ratio(digits):
    engine = make_engine(digits, cfc_weight=0.5, cfc_scale="gradient")
    boxes = engine.select_regions(KEY)
    engine.fill_centers(boxes)
    logs = engine.update_images(KEY, boxes)
    assert list(logs) == ["loss", "matching_loss", "cfc_loss", "cfc_gradient_ratio"]
    loss, matching, cfc, ratio = (float(value) for value in logs.values())
    assert np.isfinite([loss, matching, cfc, ratio]).all()
    assert loss == pytest.approx(matching + 0.5 * cfc, rel=1e-5)
    assert ratio == pytest.approx(0.5, rel=1e-4)


CFC_STEPS = dict(iterations=1, inner_steps=2, seed=3, **SMALL)


@pytest.mark.parametrize("weight", [0.5, 2.0])
def test_gradient_scaled_cfc_is_weight_times_the_matching_gradient(digits, weight):
    result = distill(
        digits, ipc=1, cfc_weight=weight, cfc_scale="gradient", **CFC_STEPS
    )
    ratios = [m["cfc_gradient_ratio"] for m in result.metrics]
    assert len(ratios) == 2
    np.testing.assert_allclose(ratios, weight, rtol=1e-4)


def test_loss_scaled_cfc_gradient_is_small_next_to_l1_matching(digits):
    result = distill(digits, ipc=1, cfc_scale="loss", cfc_weight=1.0, **CFC_STEPS)
    assert (result.config.metric, result.config.cfc_weight) == ("l1", 1.0)
    ratios = [m["cfc_gradient_ratio"] for m in result.metrics]
    assert all(0 < ratio < 1e-2 for ratio in ratios), ratios


def test_without_cfc_the_ratio_is_zero(digits):
    for scale in ("loss", "gradient"):
        result = distill(digits, ipc=1, cfc_weight=0.0, cfc_scale=scale, **CFC_STEPS)
        assert [m["cfc_gradient_ratio"] for m in result.metrics] == [0.0, 0.0]
        assert [m["cfc_loss"] for m in result.metrics] == [0.0, 0.0]


def test_cfc_scale_changes_the_image_update(digits):
    def images(scale):
        return distill(
            digits, ipc=1, cfc_weight=1.0, cfc_scale=scale, **CFC_STEPS
        ).images

    assert np.abs(images("loss") - images("gradient")).max() > 0


def _one_update(engine):
    before = engine.images.numpy()
    boxes = engine.select_regions(KEY)
    engine.update_images(KEY, boxes)
    return engine.images.numpy() - before


def test_region_weight_zero_matches_the_tiles_alone(digits):
    # One crop gradient for all three (without regions udd's default is sum).
    settings = dict(
        image_optimizer="sgd", cfc_weight=0.0, precision="float32", crop_gradient="area"
    )
    tiles = _one_update(make_engine(digits, formation="tiles", **settings))
    unweighted = make_engine(digits, formation="tiles+regions", **settings)
    weighted = make_engine(
        digits, formation="tiles+regions", region_weight=0.0, **settings
    )
    np.testing.assert_array_equal(
        weighted._training_image_weights(), [1, 1, 1, 1, 0, 0]
    )
    np.testing.assert_allclose(_one_update(weighted), tiles, atol=1e-6)
    # With weight 1 the mined regions move the pixels too.
    assert np.abs(_one_update(unweighted) - tiles).max() > 1e-4


def test_region_weight_below_zero_is_refused():
    with pytest.raises(UddError, match="region_weight must be a number >= 0"):
        DistillConfig("digits", region_weight=-0.5).resolve()


def test_mine_from_highest_selects_the_mined_formation_of_udd():
    config = DistillConfig("digits", mine_from="highest").resolve()
    assert (config.formation, config.policy, config.mine_from) == (
        "tiles+regions",
        "jitter",
        "highest",
    )
    assert DistillConfig("digits").resolve().mine_from == "lowest"


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"formation": "tiles", "mine_from": "highest"},
            "mine_from='highest' needs a formation that mines regions "
            r"\(one of .*tiles\+regions.*\); formation 'tiles' mines none",
        ),
        (
            {"mine_from": "top"},
            "mine from must be one of lowest, highest; got 'top'",
        ),
    ],
)
def test_bad_mine_from_names_the_value_and_the_allowed_ones(settings, message):
    with pytest.raises(UddError, match=message):
        DistillConfig("digits", **settings).resolve()


def _image_gradient(engine):
    """The pixel gradient of one image update, and its summed losses."""
    boxes = engine.select_regions(KEY)
    gradient, totals, _, _ = engine._replica_image_gradients(KEY, boxes)
    return gradient.numpy(), totals.numpy()


def test_stop_crop_gradient_stops_the_mined_crops_and_not_the_tiles(digits):
    settings = dict(formation="tiles+regions", cfc_weight=0.0, precision="float32")
    stop = make_engine(digits, crop_gradient="stop", **settings)
    area = make_engine(digits, crop_gradient="area", **settings)
    by_hand = make_engine(digits, crop_gradient="area", **settings)

    def constant_mined_crops(images, boxes):
        """The tiles' crops as under "area", the mined crops as constants."""
        fixed = form_training_images(images, boxes[:, :4], False, "area")
        mined = form_training_images(tf.stop_gradient(images), boxes[:, 4:], False)
        per_image = [
            tf.reshape(fixed, [-1, 4, 8, 8, 1]),
            tf.reshape(mined, [-1, 2, 8, 8, 1]),
        ]
        return tf.reshape(tf.concat(per_image, axis=1), [-1, 8, 8, 1])

    by_hand.training_images = constant_mined_crops
    stopped, stopped_losses = _image_gradient(stop)
    expected, expected_losses = _image_gradient(by_hand)
    flowing, flowing_losses = _image_gradient(area)
    # The mined crops still enter the loss: the same loss in every mode.
    np.testing.assert_allclose(stopped_losses, flowing_losses, rtol=1e-6)
    np.testing.assert_allclose(stopped_losses, expected_losses, rtol=1e-6)
    # Only the tiles carry gradient to the pixels.
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(stopped, expected, rtol=1e-4, atol=1e-5 * scale)
    # Without the stop the mined crops pull on the pixels too.
    assert np.abs(flowing - stopped).max() > 1e-2 * scale


@pytest.mark.parametrize("policy", ["jitter", "activation"])
def test_score_block_scores_on_that_blocks_map(digits, policy):
    settings = dict(formation="tiles+regions", policy=policy, num_selected=2)
    engines = {
        block: make_engine(digits, score_block=block, **settings)
        for block in (0, 1, -1)
    }
    # digits are 8 x 8: the ConvNet-3's blocks map them at 8 x 8, 4 x 4, 2 x 2.
    for block, cells in ((0, (8, 8)), (1, (4, 4)), (-1, (2, 2))):
        engine = engines[block]
        response = engine._forward(engine.images[:1])[0]
        assert tuple(response.shape[1:3]) == cells
        # The windows are laid on that map's cells.
        np.testing.assert_array_equal(
            engine.masks, window_masks(engine.candidate_boxes, (8, 8), cells)
        )
        assert engine.region_scores(KEY).shape == (10, 8)
    first, last = engines[0], engines[-1]
    if policy == "activation":
        maps = first.model.features(first.images)[0][0]
        means = window_means(tf.reduce_mean(maps, axis=-1), first.masks)
        by_hand = normalize_by_size(means, first.formation.size_groups)
        np.testing.assert_allclose(first.region_scores(KEY), by_hand, rtol=1e-5)
    chosen = first.select_regions(KEY).numpy()
    np.testing.assert_array_equal(chosen[:, :4], last.select_regions(KEY)[:, :4])
    assert (chosen[:, 4:] != last.select_regions(KEY).numpy()[:, 4:]).any()
    # Blocks count from the end too: -3 is block 0.
    from_end = make_engine(digits, score_block=-3, **settings)
    np.testing.assert_array_equal(from_end.select_regions(KEY), chosen)


def test_a_step_without_reselection_trains_on_the_kept_boxes(digits):
    settings = dict(formation="tiles+regions", policy="random", precision="float32")
    kept = make_engine(digits, **settings)
    twin = make_engine(digits, **settings)
    other_key = tf.constant([7, 7], tf.int32)
    boxes = kept.select_regions(other_key)
    assert (boxes.numpy() != kept.select_regions(KEY).numpy()).any()
    kept.trained_boxes.assign(boxes)
    kept.train_step(KEY, False, reselect_regions=False)
    np.testing.assert_array_equal(kept.trained_boxes, boxes)
    twin.update_images(KEY, boxes)
    np.testing.assert_array_equal(kept.images, twin.images)
