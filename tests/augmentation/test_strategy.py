import pytest

from udd_keras.augmentation import parse_strategy
from udd_keras.errors import UddError


def test_canonical_order_and_geometric_subset():
    strategy = parse_strategy("rotate_cutout_flip_color_crop_scale")
    assert strategy.operations == ("color", "crop", "cutout", "flip", "scale", "rotate")
    assert strategy.geometric == ("crop", "scale", "rotate")
    assert str(parse_strategy("Cutout_COLOR")) == "color_cutout"


@pytest.mark.parametrize("text", ["", "none", "None"])
def test_empty_strategy(text):
    assert parse_strategy(text).operations == ()


def test_unknown_operation_message_names_value_and_allowed():
    with pytest.raises(UddError) as error:
        parse_strategy("color_jitter")
    assert "'jitter'" in str(error.value)
    assert "color, crop, cutout, flip, scale, rotate" in str(error.value)


def test_non_string_raises():
    with pytest.raises(UddError, match="string"):
        parse_strategy(3)
