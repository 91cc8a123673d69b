"""`get_model`: build a classifier by name."""

from udd_keras.errors import UddError
from udd_keras.models.alexnet import AlexNet
from udd_keras.models.convnet import ConvNet
from udd_keras.models.resnet import ResNet18, ResNetAP10
from udd_keras.models.vgg import VGG11

MODEL_NAMES = ("convnet3", "convnet", "resnet18", "vgg11", "alexnet", "resnet_ap10")

_MODELS = {
    "convnet3": ConvNet,
    "convnet": ConvNet,
    "resnet18": ResNet18,
    "vgg11": VGG11,
    "alexnet": AlexNet,
    "resnet_ap10": ResNetAP10,
}


def get_model(
    name, input_shape, num_classes, width=None, depth=None, seed=None, **kwargs
):
    """Builds a freshly initialised classifier by name.

    Args:
        name: one of `MODEL_NAMES`: `"convnet3"` (alias `"convnet"`),
            `"resnet18"`, `"vgg11"`, `"alexnet"`, `"resnet_ap10"`.
        input_shape: `(H, W, C)` of the images.
        num_classes: number of logits.
        width: channels of the first stage; None gives the model's standard
            width (ConvNet 128, ResNet-18 / ResNetAP-10 / VGG-11 64, AlexNet 128).
        depth: ConvNet blocks (None: 3); ignored by the fixed-depth models.
        seed: int seed for deterministic initial weights, or None (global
            Keras RNG).
        **kwargs: model options, e.g. `norm="batch"`, `pooling="max"` (ConvNet).

    Returns:
        A built `keras.Model` whose `call(x, training=False)` returns
        (B, num_classes) logits and whose `features(x)` returns
        `(feature_maps, embedding)`.

    Raises:
        UddError: if `name` is unknown.

    Example:
    >>> model = get_model("convnet3", (28, 28, 1), 10, seed=0)
    """
    key = str(name).lower()
    if key not in _MODELS:
        raise UddError(f"Unknown model {name!r}; allowed: {', '.join(MODEL_NAMES)}.")
    model_class = _MODELS[key]
    if width is not None:
        kwargs["width"] = width
    if model_class is ConvNet and depth is not None:
        kwargs["depth"] = depth
    return model_class(input_shape, num_classes, seed=seed, **kwargs)
