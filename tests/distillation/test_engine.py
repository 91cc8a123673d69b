import numpy as np
import pytest
import tensorflow as tf

from udd_keras.data import load_dataset
from udd_keras.distillation import DistillConfig, Distiller, distill
from udd_keras.errors import UddError
from udd_keras.policies import normalize_by_size
from udd_keras.regions import uniform_boxes

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
    settings = dict(image_optimizer="sgd", cfc_weight=0.0, precision="float32")
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
