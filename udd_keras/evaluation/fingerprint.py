"""The protocol of an evaluation, and its fingerprint.

Two accuracies can be compared only when they were measured the same way: the
same network, training length, optimiser, augmentation, labels and test split.
`protocol_of` writes these down as a readable dict, and `fingerprint` hashes
that dict into 12 hexadecimal digits, so two evaluation results with the same
fingerprint were measured under the same protocol (`udd_keras.evaluation.compare`
refuses to call one of two results better when they differ).

The protocol holds what decides an accuracy, not what varies between repeats:
the seeds and the number of repeats are not part of it, nor is the set that was
trained on (its IPC and method are what is compared). The hash is taken over a
canonical JSON form (sorted keys, numbers rounded to 12 significant digits,
whole floats written as integers), so it does not depend on the order of the
dict's keys, on `1` against `1.0`, or on float noise such as `2 / 3` computed
in two ways.
"""

import hashlib
import json
import math

import numpy as np

from udd_keras.errors import UddError

# Digits of the fingerprint: 12 hex digits, 48 bits.
FINGERPRINT_LENGTH = 12
# Significant digits a number keeps in the canonical form.
SIGNIFICANT_DIGITS = 12
# The model names that are aliases of another (`udd_keras.models.get_model`).
MODEL_ALIASES = {"convnet": "convnet3"}
# Depth as each model's name gives it: ConvNet's blocks, ResNet / VGG weight
# layers, AlexNet's convolutions (`udd_keras.models`).
MODEL_DEPTHS = {
    "convnet3": 3,
    "resnet18": 18,
    "vgg11": 11,
    "alexnet": 5,
    "resnet_ap10": 10,
}
# How a synthetic set becomes training images: each stored image, then its
# stored regions cropped and resized (`udd_keras.tfrecords.decode_regions`).
DECODE_REGIONS = "regions"
# The whole real training set, as stored (`evaluate --full`).
DECODE_NONE = "none"
DECODES = (DECODE_REGIONS, DECODE_NONE)
LABEL_MODES = ("hard", "soft")


def protocol_of(recipe, dataset, labels="hard", temperature=None, decode="regions"):
    """The readable protocol of an evaluation: what decides its accuracy.

    Args:
        recipe: `udd_keras.training.TrainingRecipe` of the runs (its `model` is
            the evaluated model; an unresolved `dsa_strategy` is resolved for
            `dataset`).
        dataset: `udd_keras.data.ImageDataset` whose test split is tested on
            (its name, normalisation and test-split size are recorded).
        labels: `"hard"` (class indices) or `"soft"` (stored soft labels).
        temperature: float > 0, the soft labels' temperature; None for hard
            labels (and 1 for soft ones when None).
        decode: `"regions"` (a synthetic set: stored images and their regions)
            or `"none"` (the real training set, `evaluate --full`).

    Returns:
        dict with `model`, `width`, `depth`, `epochs`, `lr`, `lr_schedule`
        (`{"kind": "step", "decay_fractions", "decay_factor"}`), `optimizer`
        (`{"name": "sgd", "momentum", "weight_decay"}`), `batch_size`,
        `augmentation` (the DSA strategy, or None), `cutmix_probability`,
        `labels`, `temperature`, `decode`, `normalization` (`{"mean", "std"}`
        per channel, of pixels in [0, 1]), `dataset`, `test_split`
        (`"test"`), `test_images` and `curve`. JSON-ready.

    Raises:
        UddError: an unknown label mode or decode.

    Example:
    >>> from udd_keras.data import load_dataset
    >>> from udd_keras.training import TrainingRecipe
    >>> protocol = protocol_of(TrainingRecipe(epochs=300), load_dataset("digits"))
    >>> protocol["epochs"], protocol["test_images"], protocol["augmentation"]
    (300, 360, 'color_crop_scale_rotate')
    """
    if labels not in LABEL_MODES:
        raise UddError(
            f"Unknown label mode {labels!r}; allowed: {', '.join(LABEL_MODES)}."
        )
    if decode not in DECODES:
        raise UddError(f"Unknown decode {decode!r}; allowed: {', '.join(DECODES)}.")
    if labels == "soft" and temperature is None:
        temperature = 1.0
    recipe = recipe.for_dataset(dataset.name)
    model = MODEL_ALIASES.get(recipe.model, recipe.model)
    return {
        "model": model,
        "width": recipe.width,
        "depth": MODEL_DEPTHS.get(model),
        "epochs": recipe.epochs,
        "lr": recipe.lr,
        "lr_schedule": {
            "kind": "step",
            "decay_fractions": list(recipe.lr_decay_fractions),
            "decay_factor": recipe.lr_decay_factor,
        },
        "optimizer": {
            "name": "sgd",
            "momentum": recipe.momentum,
            "weight_decay": recipe.weight_decay,
        },
        "batch_size": recipe.batch_size,
        "augmentation": recipe.augmentation,
        "cutmix_probability": recipe.cutmix_probability,
        "labels": labels,
        "temperature": None if labels == "hard" else float(temperature),
        "decode": decode,
        "normalization": dataset.normalization.to_dict(),
        "dataset": dataset.name,
        "test_split": "test",
        "test_images": int(len(dataset.y_test)),
        "curve": recipe.curve,
    }


def canonical(value, where="protocol"):
    """`value` in the canonical form its fingerprint hashes.

    Numbers keep `SIGNIFICANT_DIGITS` significant digits and whole floats
    become ints; tuples become lists; numpy scalars and arrays become Python
    ones. Dict keys become strings (`json.dumps` sorts them).

    Args:
        value: a JSON-like value: dict, list, tuple, str, bool, None, number
            or numpy scalar/array.
        where: str, the value's place, named in errors.

    Returns:
        The canonical value.

    Raises:
        UddError: a NaN or infinite number, or a value JSON cannot hold.
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UddError(f"{where} must be a finite number, got {value!r}.")
        rounded = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        return int(rounded) if rounded.is_integer() else rounded
    if isinstance(value, dict):
        return {str(k): canonical(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise UddError(
        f"{where} must be a dict, list, string, number, bool or None, got "
        f"{type(value).__name__} {value!r}."
    )


def fingerprint(protocol):
    """A short stable hash of a protocol: 12 hex digits of its SHA-256.

    Args:
        protocol: dict, e.g. from `protocol_of` or an evaluation JSON's
            `results[i]["protocol"]`.

    Returns:
        str of `FINGERPRINT_LENGTH` lowercase hex digits; equal for protocols
        that differ only in key order or float noise.

    Example:
    >>> fingerprint({"epochs": 300, "lr": 0.01}) == fingerprint(
    ...     {"lr": 0.010000000000000002, "epochs": 300.0})
    True
    >>> len(fingerprint({"epochs": 300}))
    12
    """
    if not isinstance(protocol, dict):
        raise UddError(
            f"A protocol must be a dict, got {type(protocol).__name__} {protocol!r}."
        )
    text = json.dumps(
        canonical(protocol), sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


def training_digest(images, labels):
    """SHA-256 (hex) of the images and labels an evaluation trains on.

    Two sets with the same digest train the same networks under the same
    protocol and seeds: an evaluation of one is an evaluation of the other.

    Args:
        images: array (N, H, W, C), the decoded training images.
        labels: array (N,) or (N, num_classes).

    Returns:
        str, 64 hex digits over each array's dtype, shape and bytes.

    Example:
    >>> len(training_digest(np.zeros((2, 4, 4, 1)), np.array([0, 1])))
    64
    """
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(images), np.ascontiguousarray(labels)):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def protocol_differences(a, b):
    """The fields where two protocols differ, after canonicalisation.

    Nested fields are named with dots (`lr_schedule.decay_factor`); a field
    present in one protocol only is None in the other.

    Args:
        a, b: protocol dicts.

    Returns:
        list of `(field, value in a, value in b)`, sorted by field.

    Example:
    >>> protocol_differences({"epochs": 300, "lr": 0.01}, {"epochs": 1000, "lr": 0.01})
    [('epochs', 300, 1000)]
    """
    flat_a, flat_b = _flatten(canonical(a)), _flatten(canonical(b))
    return [
        (name, flat_a.get(name), flat_b.get(name))
        for name in sorted(set(flat_a) | set(flat_b))
        if flat_a.get(name) != flat_b.get(name)
    ]


def _flatten(value, prefix=""):
    if not isinstance(value, dict):
        return {prefix: value}
    flat = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(item, dict) and item:
            flat.update(_flatten(item, name))
        else:
            flat[name] = item
    return flat
