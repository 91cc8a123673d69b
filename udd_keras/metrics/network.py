"""The network whose activation maps mUE measures, and reading those maps.

Two ways to get it:

- `train_measuring_network`: a fresh ConvNet-3 trained on the measured set
  itself with the evaluation protocol's recipe (SGD, step decay, DSA and CutMix;
  `udd_keras.training.train_classifier`), the default of `udd-keras mue`;
- `load_measuring_network`: a saved Keras model (`.keras` file), loaded with
  `safe_mode=True` so that no code from the file is ever deserialised.

`activation_maps` then reads one layer's maps: `model.features(x)[0][layer]`
for the udd-keras classifiers (the map after ReLU, before pooling), or the
output of a named layer of any other functional Keras model.
"""

import dataclasses
import pathlib

import keras
import numpy as np

from udd_keras.errors import UddError
from udd_keras.seeding import seed_globally

MAPS_BATCH_SIZE = 256


@dataclasses.dataclass
class MeasuringNetwork:
    """A network used to measure activation maps, and how it was obtained.

    Attributes:
        model: a built `keras.Model` taking (B, H, W, C) normalised images.
        description: JSON-ready dict saying which network it is, e.g.
            `{"source": "trained", "model": "convnet3", "width": 128,
            "epochs": 300, "seed": 0, "trained_on": "set.tfrecord", ...}` or
            `{"source": "weights", "path": "net.keras", "class": "ConvNet"}`.
    """

    model: keras.Model
    description: dict


def load_measuring_network(path):
    """Loads a saved Keras model (`.keras`) without running code from the file.

    Args:
        path: str or path-like, a file written by `model.save("*.keras")`.

    Returns:
        `MeasuringNetwork` with `description["source"] == "weights"`.

    Example:
    >>> network = load_measuring_network("convnet.keras")  # doctest: +SKIP
    >>> network.description["class"]  # doctest: +SKIP
    'ConvNet'
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise UddError(f"model weights file {str(path)!r} not found")
    if path.suffix != ".keras":
        raise UddError(
            f"model weights must be a saved Keras model ending in '.keras', "
            f"got {str(path)!r}"
        )
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # zip, JSON, unknown class, lambda in safe mode
        message = str(error).strip().splitlines()
        detail = message[0][:200] if message else type(error).__name__
        raise UddError(
            f"{str(path)!r} is not a loadable Keras model ({detail})"
        ) from None
    return MeasuringNetwork(
        model=model,
        description={
            "source": "weights",
            "path": str(path),
            "class": type(model).__name__,
            "config": _model_summary(model),
        },
    )


def train_measuring_network(
    images, labels, num_classes, dataset_name, recipe=None, seed=0, trained_on=None
):
    """Trains a fresh network on a set with the evaluation protocol's recipe.

    By default the `TrainingRecipe` of `udd_keras.evaluation` (ConvNet-3, lr
    0.01 with step decay, SGD momentum 0.9, coupled weight decay 5e-4, batch
    64, the dataset's DSA strategy and CutMix 0.5), every random choice drawn
    from `seed`.

    Args:
        images: float32 array (N, H, W, C), normalised training images (the
            decoded set: stored images and their regions).
        labels: int array (N,).
        num_classes: int.
        dataset_name: str, resolves the recipe's DSA strategy (no flip for
            digits).
        recipe: `TrainingRecipe`, None for the defaults (300 epochs, width 128).
        seed: int, weights, batch order and augmentation.
        trained_on: optional str recorded in the description (the set's path).

    Returns:
        `MeasuringNetwork` with `description["source"] == "trained"`.

    Example:
    >>> from udd_keras.data import load_dataset
    >>> from udd_keras.training import TrainingRecipe
    >>> ds = load_dataset("digits")
    >>> network = train_measuring_network(ds.x_train[:20], ds.y_train[:20], 10,
    ...     "digits", TrainingRecipe(epochs=1, width=8))
    >>> network.description["model"]
    'convnet3'
    """
    from udd_keras.training import TrainingRecipe, build_classifier, train_classifier

    recipe = (recipe or TrainingRecipe()).for_dataset(dataset_name)
    images = np.asarray(images, np.float32)
    seed_globally(seed)
    model = build_classifier(recipe, images.shape[1:], num_classes, seed)
    train_classifier(model, images, labels, num_classes, recipe, seed=seed)
    description = {
        "source": "trained",
        "model": recipe.model,
        "class": type(model).__name__,
        "width": recipe.width,
        "epochs": recipe.epochs,
        "seed": int(seed),
        "training_images": int(len(images)),
        "lr": recipe.lr,
        "batch_size": recipe.batch_size,
        "dsa_strategy": recipe.augmentation,
        "cutmix_probability": recipe.cutmix_probability,
    }
    if trained_on is not None:
        description["trained_on"] = str(trained_on)
    return MeasuringNetwork(model=model, description=description)


def _model_summary(model):
    """A few JSON-ready facts of a model: its config keys that are plain values."""
    try:
        config = model.get_config()
    except Exception:  # Models without get_config raise NotImplementedError.
        return {}
    return {
        key: value
        for key, value in config.items()
        if isinstance(value, (int, float, str, bool, list)) and key != "layers"
    }


def check_input_shape(model, image_shape, num_classes=None):
    """Raises `UddError` unless `model` takes `image_shape` images.

    Args:
        model: a `keras.Model`; the udd-keras classifiers expose `image_shape`
            and `num_classes`, functional models `input_shape`.
        image_shape: `(H, W, C)` of the measured images.
        num_classes: int or None; checked against a classifier's `num_classes`.
    """
    image_shape = tuple(int(v) for v in image_shape)
    expected = getattr(model, "image_shape", None)
    if expected is None:
        try:
            expected = tuple(model.input_shape[1:])
        except (AttributeError, ValueError):
            expected = None
    known = expected is not None and all(v is not None for v in expected)
    if known and tuple(int(v) for v in expected) != image_shape:
        raise UddError(
            f"the network takes images of shape {tuple(expected)}, "
            f"the sets hold images of shape {image_shape}"
        )
    model_classes = getattr(model, "num_classes", None)
    if (
        num_classes is not None
        and model_classes is not None
        and int(model_classes) != int(num_classes)
    ):
        raise UddError(
            f"the network has {model_classes} classes, the sets have {num_classes}"
        )


def layer_function(model, layer=-1):
    """A function `images -> (B, h, w, c)` activation maps of one layer.

    Args:
        model: a `keras.Model`.
        layer: int, the index into `model.features(x)[0]` (-1: the last block)
            for models with `features` (the udd-keras classifiers); or str, the
            name of a layer of a functional model.

    Returns:
        `fn(images) -> tensor`.
    """
    if isinstance(layer, str):
        try:
            target = model.get_layer(layer)
        except ValueError:
            names = [item.name for item in model.layers]
            raise UddError(
                f"the network has no layer {layer!r}; its layers: {', '.join(names)}"
            ) from None
        try:
            inputs = model.inputs
            sub_model = keras.Model(
                inputs[0] if len(inputs) == 1 else inputs, target.output
            )
        except (AttributeError, TypeError, ValueError):
            raise UddError(
                f"layer {layer!r} cannot be read from a {type(model).__name__}: "
                "named layers need a functional model; use an integer block index "
                "for the udd-keras classifiers"
            ) from None
        return lambda images: sub_model(images, training=False)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise UddError(f"layer must be an int or a layer name, got {layer!r}")
    if not hasattr(model, "features"):
        raise UddError(
            f"layer {layer} is a block index, which needs a udd-keras classifier "
            f"with features(); the network is a {type(model).__name__}: "
            "name one of its layers instead"
        )
    layer = int(layer)

    def read(images):
        maps = model.features(images, training=False)[0]
        if not -len(maps) <= layer < len(maps):
            raise UddError(
                f"layer {layer} out of range: the network has {len(maps)} blocks, "
                f"allowed {-len(maps)}..{len(maps) - 1}"
            )
        return maps[layer]

    return read


def activation_maps(model, images, layer=-1, batch_size=MAPS_BATCH_SIZE):
    """The activation maps of `images` at one layer of `model`, in batches.

    Args:
        model: a `keras.Model`.
        images: float32 array (B, H, W, C), normalised as the model expects.
        layer: int block index (`model.features(x)[0][layer]`) or str layer name.
        batch_size: int, images per forward pass.

    Returns:
        float32 array (B, h, w, c).

    Example:
    >>> from udd_keras.models import get_model
    >>> model = get_model("convnet3", (8, 8, 1), 10, width=4, seed=0)
    >>> activation_maps(model, np.zeros((2, 8, 8, 1), "float32")).shape
    (2, 2, 2, 4)
    """
    read = layer_function(model, layer)
    images = np.asarray(images, np.float32)
    outputs = [
        np.asarray(read(images[start : start + batch_size]))
        for start in range(0, len(images), batch_size)
    ]
    maps = np.concatenate(outputs, axis=0)
    if maps.ndim != 4:
        raise UddError(
            f"layer {layer!r} gives outputs of shape {maps.shape[1:]}, "
            "not (h, w, c) activation maps"
        )
    return maps
