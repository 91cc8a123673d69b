import pytest

from udd_keras.distillation import DistillConfig
from udd_keras.distillation.config import settings
from udd_keras.distillation.presets import PRESETS, preset_settings
from udd_keras.errors import UddError


def test_paper_preset_is_the_config_defaults():
    assert preset_settings("paper") == {}


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_config(name):
    fields = {f.name for f in settings()}
    assert set(PRESETS[name]) <= fields
    config = DistillConfig("fashion_mnist", **preset_settings(name)).resolve()
    for key, value in PRESETS[name].items():
        assert getattr(config, key) == value


def test_explicit_settings_win_over_the_preset():
    settings = preset_settings("cpu-hour", inner_steps=7)
    assert settings["inner_steps"] == 7
    assert preset_settings("cpu-hour")["inner_steps"] != 7


def test_unknown_preset_names_the_choices():
    message = "preset must be one of paper, quick, cpu-hour; got"
    with pytest.raises(UddError, match=message):
        preset_settings("gpu-week")
