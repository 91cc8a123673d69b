"""Keras classifiers used for distillation and evaluation.

`ConvNet` (ConvNet-3) is the distillation network; ResNet-18, VGG-11, AlexNet and
ResNetAP-10 are the cross-architecture and high-resolution evaluation networks.
Every model returns logits from `call` and `(feature_maps, embedding)` from
`features`.
"""

from udd_keras.models.alexnet import AlexNet
from udd_keras.models.base import NORMS, ImageClassifier
from udd_keras.models.blocks import BasicBlock
from udd_keras.models.convnet import ConvNet
from udd_keras.models.registry import MODEL_NAMES, get_model
from udd_keras.models.resnet import ResNet18, ResNetAP10
from udd_keras.models.vgg import VGG11

__all__ = [
    "AlexNet",
    "BasicBlock",
    "ConvNet",
    "ImageClassifier",
    "MODEL_NAMES",
    "NORMS",
    "ResNet18",
    "ResNetAP10",
    "VGG11",
    "get_model",
]
