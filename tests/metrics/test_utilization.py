import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.metrics import (
    flatten_activation_maps,
    mean_utilization_entropy,
    reference_range,
    ue_curve_for_normal,
    utilization_entropy,
)


def _uniform_maps(rng, batch=3, side=16, low=0.0, high=1.0):
    return rng.uniform(low, high, size=(batch, side, side))


def test_uniform_spread_scores_near_one(rng):
    maps = _uniform_maps(rng)
    for d in range(5, 11):
        assert np.all(utilization_entropy(maps, d) > 0.95)
    assert np.all(mean_utilization_entropy(maps) > 0.95)


def test_evenly_spaced_values_score_exactly_one():
    maps = (np.arange(100) / 99.0).reshape(1, 10, 10)
    np.testing.assert_allclose(utilization_entropy(maps, 5), [1.0])
    np.testing.assert_allclose(utilization_entropy(maps, 10), [1.0])


def test_constant_map_scores_zero():
    maps = np.full((2, 8, 8), 0.3)
    np.testing.assert_allclose(mean_utilization_entropy(maps), [0.0, 0.0])


def test_single_spike_scores_near_zero():
    maps = np.zeros((1, 16, 16))
    maps[0, 4, 7] = 1.0
    mue = mean_utilization_entropy(maps)
    assert mue[0] < 0.1
    assert mue[0] > 0.0


def test_hand_computed_histogram():
    # Values 0.1, 0.1, 0.3, 0.9 over (0, 1) with d = 5: p = (1/2, 1/4, 0, 0, 1/4).
    maps = np.array([0.1, 0.1, 0.3, 0.9]).reshape(1, 2, 2)
    p = np.array([0.5, 0.25, 0.25])
    expected = -(p * np.log(p)).sum() / np.log(5)
    np.testing.assert_allclose(utilization_entropy(maps, 5), [expected])


def test_fixed_range_sees_the_spread_that_per_image_range_cannot(rng):
    z = rng.standard_normal((1, 16, 16))
    narrow, wide = 0.5 + 0.02 * z, 0.5 + 0.2 * z
    fixed = [mean_utilization_entropy(m)[0] for m in (narrow, wide)]
    own = [mean_utilization_entropy(m, value_range="image")[0] for m in (narrow, wide)]
    assert fixed[0] < fixed[1] - 0.3
    np.testing.assert_allclose(own[0], own[1])


def test_maps_wider_than_the_range_are_measured_on_their_extent(rng):
    maps = _uniform_maps(rng, low=-5.0, high=20.0)
    assert np.all(mean_utilization_entropy(maps, value_range=(0.0, 1.0)) > 0.95)


def test_normal_curve_rises_then_saturates():
    stds = np.geomspace(0.01, 20.0, 30)
    for d in (5, 6, 10, range(5, 11)):
        curve = ue_curve_for_normal(stds, d, num_samples=256, seed=0)
        assert np.all(np.diff(curve) >= -1e-12)
        assert curve[-1] - curve[0] > 0.4
        # Levels off: the last third of the grid barely moves.
        assert curve[-1] - curve[20] < 0.01
        assert 0.6 < curve[-1] < 0.95


def test_normal_curve_plateau_near_paper_value():
    plateaus = [
        ue_curve_for_normal([50.0], range(5, 11), num_samples=256, seed=s)[0]
        for s in range(6)
    ]
    assert 0.78 < np.mean(plateaus) < 0.9


def test_independent_of_batch_order_and_composition(rng):
    maps = np.concatenate(
        [_uniform_maps(rng, 4), 0.5 + 0.1 * rng.standard_normal((4, 16, 16))]
    )
    mue = mean_utilization_entropy(maps)
    permutation = rng.permutation(len(maps))
    np.testing.assert_allclose(
        mean_utilization_entropy(maps[permutation]), mue[permutation]
    )
    np.testing.assert_allclose(mean_utilization_entropy(maps[5:6]), mue[5:6])
    others = np.concatenate([maps[2:3], 100.0 * _uniform_maps(rng, 2)])
    np.testing.assert_allclose(mean_utilization_entropy(others)[0], mue[2])


def test_batch_range_is_explicit_and_batch_dependent(rng):
    maps = _uniform_maps(rng, 2)
    alone = mean_utilization_entropy(maps, value_range="batch")
    with_big = mean_utilization_entropy(
        np.concatenate([maps, np.full((1, 16, 16), 10.0)]), value_range="batch"
    )
    assert with_big[0] < alone[0] - 0.3


def test_channels_are_averaged_or_flattened(rng):
    maps = rng.uniform(size=(2, 4, 4, 3))
    np.testing.assert_allclose(
        mean_utilization_entropy(maps), mean_utilization_entropy(maps.mean(-1))
    )
    np.testing.assert_allclose(
        mean_utilization_entropy(maps, channel_reduction="flatten"),
        mean_utilization_entropy(maps.reshape(2, 4, 12)),
    )
    assert flatten_activation_maps(maps, "flatten").shape == (2, 48)


def test_accepts_tensorflow_tensors(rng):
    import tensorflow as tf

    maps = rng.uniform(size=(2, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        mean_utilization_entropy(tf.constant(maps)), mean_utilization_entropy(maps)
    )


def test_reference_range():
    maps = np.array([[[0.5, 2.0]], [[1.0, 3.0]]])
    assert reference_range(maps) == (0.0, 3.0)
    assert reference_range(maps, include_zero=False) == (0.5, 3.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_intervals": 1}, "integer >= 2, got 1"),
        ({"num_intervals": 5, "value_range": (1.0, 0.0)}, "low < high"),
        ({"num_intervals": 5, "value_range": "set"}, "'set'"),
        ({"num_intervals": 5, "channel_reduction": "max"}, "'max'"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(UddError, match=message):
        utilization_entropy(np.zeros((1, 4, 4)), **kwargs)


def test_bad_shape_raises():
    with pytest.raises(UddError, match=r"got shape \(4, 4\)"):
        utilization_entropy(np.zeros((4, 4)), 5)


def test_check_value_range_returns_the_mode_or_a_float_pair():
    from udd_keras.metrics.utilization import check_value_range

    assert check_value_range("batch") == "batch"
    assert check_value_range([0, 2]) == (0.0, 2.0)
    assert check_value_range("set", modes=(None, "set")) == "set"
    assert check_value_range(None, modes=(None, "set")) is None
    with pytest.raises(UddError, match=r"must be None, 'set' or a \(low, high\).*3"):
        check_value_range(3, modes=(None, "set"))
    with pytest.raises(UddError, match=r"must be 'batch', 'image' or .*got None"):
        check_value_range(None)
    with pytest.raises(UddError, match="low < high"):
        check_value_range((0.0, float("inf")))
