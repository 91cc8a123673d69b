import pytest

from udd_keras.augmentation.strategy import EVALUATION_STRATEGY, parse_strategy
from udd_keras.training import BASE_DSA_STRATEGY, dsa_strategy_for


def test_base_strategy_is_the_shared_evaluation_strategy():
    assert BASE_DSA_STRATEGY == EVALUATION_STRATEGY


@pytest.mark.parametrize("name", ["mnist", "digits", "svhn", "svhn_cropped"])
def test_digit_datasets_are_not_flipped(name):
    strategy = dsa_strategy_for(name, cutmix_probability=0.0)
    assert "flip" not in strategy.split("_")
    assert strategy == "color_crop_cutout_scale_rotate"


@pytest.mark.parametrize("name", ["fashion_mnist", "cifar10", "cifar100"])
def test_other_datasets_keep_flip(name):
    assert "flip" in dsa_strategy_for(name, cutmix_probability=0.0).split("_")


def test_cutmix_replaces_cutout():
    assert dsa_strategy_for("cifar10", 0.5) == "color_crop_flip_scale_rotate"
    assert dsa_strategy_for("mnist", 0.5) == "color_crop_scale_rotate"
    parse_strategy(dsa_strategy_for("mnist", 0.5))  # valid for the DSA code
