import keras
import numpy as np
import pytest
import tensorflow as tf

from udd_keras.errors import UddError
from udd_keras.models import AlexNet, ResNet18, ResNetAP10, get_model

SHAPES = [(28, 28, 1), (28, 28, 3), (32, 32, 1), (32, 32, 3)]
NAMES = ["convnet3", "resnet18", "vgg11", "alexnet", "resnet_ap10"]


def _train_one_step(model, images, labels):
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    before = [w.numpy().copy() for w in model.trainable_weights]
    with tf.GradientTape() as tape:
        logits = model(images, training=True)
        loss = keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True
        )
        loss = tf.reduce_mean(loss)
    grads = tape.gradient(loss, model.trainable_weights)
    optimizer.apply(grads, model.trainable_weights)
    changed = [
        not np.allclose(b, w.numpy())
        for b, w in zip(before, model.trainable_weights, strict=True)
    ]
    return float(loss), grads, changed


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_model_trains_one_step(name, shape):
    model = get_model(name, shape, num_classes=3, width=4, seed=0)
    images = tf.random.normal((4, *shape), seed=1)
    labels = tf.constant([0, 1, 2, 0])

    assert tuple(model(images).shape) == (4, 3)
    loss, grads, changed = _train_one_step(model, images, labels)

    assert np.isfinite(loss)
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
    assert changed[0] and changed[-1]  # first conv and classifier both updated


@pytest.mark.parametrize("name", ["resnet18", "vgg11", "alexnet", "resnet_ap10"])
def test_features_return_maps_and_embedding(name):
    model = get_model(name, (32, 32, 3), num_classes=3, width=4, seed=0)
    feature_maps, embedding = model.features(tf.random.normal((2, 32, 32, 3)))
    assert len(feature_maps) >= 4
    assert all(m.shape.rank == 4 and m.shape[0] == 2 for m in feature_maps)
    assert embedding.shape.rank == 2 and embedding.shape[0] == 2
    assert model.classifier.kernel.shape[0] == embedding.shape[1]


def test_resnet18_stage_sizes_at_32px():
    model = ResNet18((32, 32, 3), 10, width=4, seed=0)
    feature_maps, embedding = model.features(tf.zeros((1, 32, 32, 3)))
    assert [m.shape[1] for m in feature_maps] == [32, 32, 16, 8, 4]
    assert [m.shape[3] for m in feature_maps] == [4, 4, 8, 16, 32]
    assert tuple(embedding.shape) == (1, 32)


def test_resnet18_default_width_has_standard_size():
    model = ResNet18((32, 32, 3), 10)
    # The CIFAR ResNet-18 has about 11.17 M parameters.
    assert 11.1e6 < model.count_params() < 11.2e6
    assert model.norm == "batch"


def test_resnet_ap10_downsamples_with_average_pooling():
    model = ResNetAP10((32, 32, 3), 10, width=4, seed=0)
    blocks = [block for stage in model.stages for block in stage]
    assert len(blocks) == 4
    for block in blocks:
        assert block.conv1.strides == (1, 1) and block.conv2.strides == (1, 1)
    downsampling = blocks[1:]
    assert all(isinstance(b.pool, keras.layers.AveragePooling2D) for b in downsampling)
    assert all(b.shortcut_conv.strides == (1, 1) for b in downsampling)
    assert model.norm == "instance"


def test_resnet18_downsamples_with_strided_convs():
    model = ResNet18((32, 32, 3), 10, width=4, seed=0)
    first_blocks = [stage[0] for stage in model.stages]
    assert [b.conv1.strides for b in first_blocks] == [(1, 1)] + [(2, 2)] * 3
    assert all(b.pool is None for b in first_blocks)


def test_resnet_ap10_at_224px():
    model = ResNetAP10((224, 224, 3), 10, width=2, seed=0)
    feature_maps, _ = model.features(tf.zeros((1, 224, 224, 3)))
    assert [m.shape[1] for m in feature_maps] == [112, 56, 28, 14, 7]
    assert tuple(model(tf.zeros((2, 224, 224, 3))).shape) == (2, 10)


def test_alexnet_28px_behaves_as_32px():
    small = AlexNet((28, 28, 1), 10, width=4, seed=0)
    large = AlexNet((32, 32, 1), 10, width=4, seed=0)
    assert [w.shape for w in small.weights] == [w.shape for w in large.weights]


@pytest.mark.parametrize("name", NAMES)
def test_get_config_round_trip(name):
    model = get_model(name, (32, 32, 3), num_classes=4, width=4, seed=0)
    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    images = tf.random.normal((2, 32, 32, 3))
    np.testing.assert_allclose(clone(images), model(images), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_says_the_frame_it_reads_28px_images_in(name):
    small = get_model(name, (28, 28, 1), num_classes=3, width=4, seed=0)
    large = get_model(name, (32, 32, 1), num_classes=3, width=4, seed=0)
    maps_small, _ = small.features(tf.zeros((1, 28, 28, 1)))
    maps_large, _ = large.features(tf.zeros((1, 32, 32, 1)))
    assert large.frame_size == (32, 32) and large.frame_offset == 0
    if name.startswith("resnet"):  # a 'same' stem: 28 px read as they are
        assert (small.frame_size, small.frame_offset) == ((28, 28), 0)
        assert maps_small[0].shape[1] == 28
    else:
        assert (small.frame_size, small.frame_offset) == ((32, 32), 2)
        assert [m.shape[1] for m in maps_small] == [m.shape[1] for m in maps_large]


def test_the_frame_pads_the_first_convolution():
    from udd_keras.models.base import frame_offset, frame_size

    assert frame_size((28, 28, 1)) == (32, 32) and frame_offset((28, 28, 1)) == 2
    assert frame_size((8, 8, 1)) == (8, 8) and frame_offset((8, 8, 1)) == 0
    assert frame_size((28, 28, 1), framed_sizes={}) == (28, 28)
    convnet = get_model("convnet3", (28, 28, 1), num_classes=3, width=4)
    alexnet = get_model("alexnet", (28, 28, 1), num_classes=3, width=4)
    assert convnet.input_padding.padding == ((3, 3), (3, 3))  # 3 // 2 + 2
    assert alexnet.input_padding.padding == ((4, 4), (4, 4))  # 5 // 2 + 2
    assert get_model("convnet3", (32, 32, 3), 3, width=4).input_padding is None


def test_vgg_refuses_small_images_naming_the_minimum():
    with pytest.raises(UddError, match=r"VGG11 needs images of at least 32x32 \("):
        get_model("vgg11", (16, 16, 3), num_classes=3, width=4)
