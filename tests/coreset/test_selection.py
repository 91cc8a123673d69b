import numpy as np
import pytest

from udd_keras.coreset import METHODS, coreset_recipe, select_coreset
from udd_keras.coreset.forgetting import ForgettingTracker, most_forgotten
from udd_keras.coreset.herding import herding_order
from udd_keras.data import load_dataset
from udd_keras.errors import UddError

FAST = {"epochs": 2, "width": 4}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def assert_valid_coreset(indices, dataset, ipc):
    assert indices.shape == (dataset.num_classes * ipc,)
    assert indices.dtype == np.int64
    assert len(set(indices.tolist())) == len(indices)
    assert indices.min() >= 0 and indices.max() < len(dataset.x_train)
    labels = dataset.y_train[indices]
    # Class-major: class 0's ipc images first, then class 1's, ...
    np.testing.assert_array_equal(
        labels, np.repeat(np.arange(dataset.num_classes), ipc)
    )


@pytest.mark.parametrize("method", METHODS)
def test_every_method_picks_exactly_ipc_real_images_per_class(digits, method):
    recipe = None if method == "random" else coreset_recipe(method).replace(**FAST)
    indices = select_coreset(digits, 3, method, seed=0, recipe=recipe)
    assert_valid_coreset(indices, digits, 3)


def test_coreset_networks_train_without_augmentation_in_batches_of_256():
    herding, forgetting = coreset_recipe("herding"), coreset_recipe("forgetting")
    assert (herding.epochs, forgetting.epochs) == (1, 3)
    for recipe in (herding, forgetting):
        assert recipe.augmentation is None and recipe.cutmix_probability == 0.0
        assert (recipe.batch_size, recipe.model, recipe.width) == (256, "convnet3", 128)


def test_random_selection_takes_no_recipe(digits):
    with pytest.raises(UddError, match="random selection trains no network"):
        select_coreset(digits, 1, "random", recipe=coreset_recipe("herding"))


def test_random_selection_is_seeded(digits):
    first = select_coreset(digits, 5, "random", seed=1)
    np.testing.assert_array_equal(first, select_coreset(digits, 5, "random", seed=1))
    assert not np.array_equal(first, select_coreset(digits, 5, "random", seed=2))


def test_ipc_larger_than_a_class_is_an_error(digits):
    smallest = int(np.bincount(digits.y_train).min())
    with pytest.raises(UddError, match=f"ipc {smallest + 1} is larger than class"):
        select_coreset(digits, smallest + 1, "random")
    assert select_coreset(digits, smallest, "random").shape == (10 * smallest,)


@pytest.mark.parametrize("ipc", [0, -1, 1.5])
def test_ipc_must_be_a_positive_integer(digits, ipc):
    with pytest.raises(UddError, match="ipc must be an integer >= 1"):
        select_coreset(digits, ipc, "random")


def test_unknown_method_is_an_error(digits):
    with pytest.raises(UddError, match="Unknown coreset method 'kmeans'; choose from"):
        select_coreset(digits, 1, "kmeans")


def test_herding_order_tracks_the_running_mean():
    features = np.array([[0.0], [10.0], [4.0], [6.0], [5.0]])
    # mean 5: first the example at 5, then the one making the sum closest to 10
    # (5 + 4 = 9 or 5 + 6 = 11 tie -> first index, 4), then towards 15.
    order = herding_order(features, 3)
    assert order.tolist() == [4, 2, 3]


def test_herding_picks_the_medoid_first():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(50, 3))
    first = herding_order(features, 1)[0]
    distances = np.linalg.norm(features - features.mean(0), axis=1)
    assert first == np.argmin(distances)


def test_forgetting_tracker_counts_right_then_wrong():
    tracker = ForgettingTracker(3)
    history = [
        [True, False, False],
        [False, True, False],
        [True, True, False],
        [False, True, False],
    ]
    for correct in history:
        tracker.update(np.arange(3), np.array(correct))
    assert tracker.events.tolist() == [2, 0, 0]
    assert tracker.scores().tolist() == [2.0, 0.0, np.inf]


def test_most_forgotten_prefers_unlearned_then_most_events():
    scores = np.array([0.0, 3.0, np.inf, 1.0, 5.0, 0.0])
    labels = np.array([0, 0, 0, 0, 1, 1])
    indices = most_forgotten(scores, labels, num_classes=2, ipc=2)
    assert indices.tolist() == [2, 1, 4, 5]
