import dataclasses
import json

import pytest

from udd_keras.errors import UddError
from udd_keras.training import BASE_DSA_STRATEGY, StepDecay, TrainingRecipe
from udd_keras.training.recipe import BASE_DSA_STRATEGY as RECIPE_BASE_STRATEGY
from udd_keras.training.recipe import DEFAULTS


def test_defaults_are_the_protocol():
    recipe = TrainingRecipe()
    assert (recipe.epochs, recipe.lr, recipe.batch_size) == (300, 0.01, 64)
    assert (recipe.momentum, recipe.weight_decay) == (0.9, 5e-4)
    assert (recipe.cutmix_probability, recipe.model, recipe.width) == (
        0.5,
        "convnet3",
        128,
    )
    assert recipe.augment and recipe.dsa_strategy is None
    assert dataclasses.asdict(recipe) == DEFAULTS


def test_tf_free_base_strategy_matches_the_augmentation_module():
    assert RECIPE_BASE_STRATEGY == BASE_DSA_STRATEGY


def test_recipe_is_frozen_and_replace_validates():
    recipe = TrainingRecipe()
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.epochs = 3
    assert recipe.replace(epochs=3).epochs == 3
    with pytest.raises(UddError, match="epochs must be an integer >= 1, got 0"):
        recipe.replace(epochs=0)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epochs": 1.5}, "epochs must be an integer >= 1, got 1.5"),
        ({"batch_size": True}, "batch_size must be an integer >= 1, got True"),
        ({"lr": 0}, r"lr must be a number > 0, got 0"),
        ({"momentum": 1.0}, r"momentum must be a number in \[0, 1\), got 1.0"),
        ({"weight_decay": -1e-4}, "weight_decay must be a number >= 0"),
        ({"cutmix_probability": 1.5}, r"cutmix_probability must be .* in \[0, 1\]"),
        ({"lr_decay_factor": 0}, r"lr_decay_factor must be a number in \(0, 1\]"),
        ({"lr_decay_fractions": (0.5, 1.0)}, r"lr_decay_fractions must be"),
        ({"augment": "yes"}, "augment must be True or False, got 'yes'"),
        ({"dsa_strategy": 3}, "dsa_strategy must be a string"),
        ({"model": "nope"}, "Unknown model 'nope'; choose from .*convnet3"),
    ],
)
def test_invalid_settings_give_one_line_errors(changes, message):
    with pytest.raises(UddError, match=message) as error:
        TrainingRecipe(**changes)
    assert "\n" not in str(error.value)


def test_for_dataset_resolves_the_dataset_strategy_only_when_unset():
    assert TrainingRecipe().for_dataset("mnist").dsa_strategy == (
        "color_crop_scale_rotate"
    )
    no_cutmix = TrainingRecipe(cutmix_probability=0.0).for_dataset("cifar10")
    assert no_cutmix.dsa_strategy == "color_crop_cutout_flip_scale_rotate"
    given = TrainingRecipe(dsa_strategy="color").for_dataset("mnist")
    assert given.dsa_strategy == "color"


def test_augmentation_is_none_without_augment():
    assert TrainingRecipe().augmentation == BASE_DSA_STRATEGY
    assert TrainingRecipe(dsa_strategy="crop").augmentation == "crop"
    assert TrainingRecipe(augment=False, dsa_strategy="crop").augmentation is None


def test_schedule_decays_at_the_recipe_fractions():
    schedule = TrainingRecipe(lr=0.1, epochs=10, lr_decay_factor=0.5).schedule(3)
    assert isinstance(schedule, StepDecay)
    assert schedule.boundaries == [18, 24]
    assert [round(float(schedule(s)), 6) for s in (17, 18, 24)] == [0.1, 0.05, 0.025]


def test_to_dict_is_json_ready():
    data = TrainingRecipe(width=8).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["width"] == 8 and data["lr_decay_fractions"] == [2 / 3, 5 / 6]
