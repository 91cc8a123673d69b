import pytest

from udd_keras.distillation import DistillConfig
from udd_keras.errors import UddError


def test_method_defaults_follow_the_paper_and_idc():
    udd = DistillConfig("fashion_mnist").resolve()
    assert (udd.policy, udd.num_regions, udd.num_selected, udd.jitters) == (
        "jitter",
        12,
        8,
        2,
    )
    assert (udd.tau, udd.alpha, udd.cfc_weight, udd.lr_img) == (0.7, 0.5, 1.0, 1e-4)
    assert DistillConfig("cifar10").resolve().lr_img == 0.005
    assert (udd.metric, udd.net_images, udd.iterations, udd.inner_steps) == (
        "l1",
        500,
        2000,
        100,
    )
    idc = DistillConfig("cifar10", method="idc").resolve()
    assert (idc.policy, idc.include_original, idc.cfc_weight, idc.metric) == (
        "uniform",
        False,
        0.0,
        "mse",
    )
    assert idc.net_images == 2000 and idc.regions_per_image == 4
    dc = DistillConfig("digits", method="dc").resolve()
    assert (dc.policy, dc.net_data, dc.matched) == ("none", "synthetic", "all")


def test_explicit_values_win_over_method_defaults():
    config = DistillConfig("digits", method="idc", cfc_weight=0.5).resolve()
    assert config.cfc_weight == 0.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_selected": 13}, "P must be between 1 and N=12, got 13"),
        ({"method": "mtt"}, "method must be one of udd, idc, dc; got 'mtt'"),
        ({"ipc": 0}, "ipc must be a positive integer, got 0"),
        ({"policy": "best"}, "policy must be one of"),
        ({"alpha": 2.0}, r"alpha must be in \[0, 1\], got 2.0"),
        ({"lr_img": float("inf")}, "lr_img must be a positive number, got inf"),
        ({"cfc_weight": float("nan")}, "cfc_weight must be a number >= 0, got nan"),
    ],
)
def test_bad_settings_name_value_and_allowed(kwargs, message):
    with pytest.raises(UddError, match=message):
        DistillConfig("digits", **kwargs).resolve()


def test_dict_round_trip():
    config = DistillConfig("digits", ipc=3).resolve()
    assert DistillConfig.from_dict(config.to_dict()) == config
    with pytest.raises(UddError, match="unknown distillation settings: colour"):
        DistillConfig.from_dict({"dataset": "digits", "colour": 1})


def test_image_learning_rate_follows_idc_scaling():
    fashion = DistillConfig("fashion_mnist", ipc=1).resolve()
    assert fashion.image_lr((28, 28, 1)) == pytest.approx(1e-4 * 0.1 * (28 / 32) ** 2)
    cifar = DistillConfig("cifar10", ipc=50).resolve()
    assert cifar.image_lr((32, 32, 3)) == pytest.approx(5e-3 * 5)
    assert DistillConfig("mnist", ipc=10).resolve().image_lr((28, 28, 1)) == 1e-4
    fixed = DistillConfig("cifar10", ipc=1, lr_scaling="none").resolve()
    assert fixed.image_lr((32, 32, 3)) == 5e-3
