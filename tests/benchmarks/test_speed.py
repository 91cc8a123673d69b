"""benchmarks/speed.py: FLOP counts of the traced steps."""

import types

import pytest


@pytest.fixture(scope="module")
def speed(load_benchmark):
    return load_benchmark("speed")


def _engine(image_shape, num_classes, width, depth, net_images, available):
    """The parts of a `DistillationEngine` that `network_update_flops` reads."""
    import numpy as np

    from udd_keras.distillation.network import build_network

    engine = types.SimpleNamespace(
        model=build_network(image_shape, num_classes, width=width, depth=depth),
        image_shape=image_shape,
        num_classes=num_classes,
        config=types.SimpleNamespace(net_images=net_images),
        _network_data=lambda: (np.zeros((available, *image_shape), "float32"), None),
    )
    return engine


def _conv_flops(output_side, in_channels, out_channels):
    """FLOPs of one 3 x 3 convolution (or one of its backprops), one image."""
    return 2 * output_side**2 * 9 * in_channels * out_channels


def test_network_update_flops_count_every_convolution_of_the_pass(speed):
    width, images = 8, 5
    engine = _engine((28, 28, 1), 10, width, 3, net_images=images, available=7)
    flops = speed.network_update_flops(engine)
    # 28 px is padded to 34, so the maps are 32, 16 and 8 px. The first layer
    # needs no input gradient; the others need forward, filter and input.
    first = _conv_flops(32, 1, width)
    assert flops["Conv2D"] == images * (
        first + _conv_flops(16, width, width) + _conv_flops(8, width, width)
    )
    assert flops["Conv2DBackpropFilter"] == flops["Conv2D"]
    assert flops["Conv2DBackpropInput"] == flops["Conv2D"] - images * first
    # The classifier (width x 4 x 4 -> 10): forward, weight and input gradients.
    assert flops["MatMul"] == images * 3 * 2 * (width * 16) * 10
    assert flops["total"] == sum(v for k, v in flops.items() if k != "total")


def test_network_update_flops_stop_at_the_training_set_size(speed):
    def flops(available):
        engine = _engine((8, 8, 1), 3, 4, 1, net_images=500, available=available)
        return speed.network_update_flops(engine)["total"]

    small, large = flops(10), flops(20)
    assert small > 0 and large == 2 * small


def test_inner_step_flops_add_up_the_three_parts(speed):
    import tensorflow as tf

    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig, Distiller

    config = DistillConfig(
        "digits",
        ipc=1,
        method="udd",
        formation="tiles+regions",
        width=8,
        net_images=20,
        real_batch=4,
    )
    engine = Distiller(config, dataset=load_dataset("digits")).engine
    key = tf.constant([0, 0], tf.int32)
    parts = speed.inner_step_flops(engine, {"total": 1000}, key)
    assert parts["update_images"] == engine.num_classes * 1000
    assert parts["update_network"] == speed.network_update_flops(engine)["total"]
    # The jitter policy scores every candidate region with forward passes.
    assert parts["select_regions"] > 0
    assert parts["total"] == sum(v for k, v in parts.items() if k != "total")
