"""How each foreign code base stores pixels, per dataset.

A set distilled elsewhere is stored in that code base's pixel space, which is
not always ours:

- `dc`, VICO-UoE/DatasetCondensation (DC, DSA, DM): `(x - mean) / std` with
  the code base's constants below;
- `idc`, snu-mllab/Efficient-Dataset-Condensation: raw `x` in [0, 1] (IDC
  normalises only when it loads a set for training);
- `mtt`, GeorgeCazenavette/mtt-distillation: `(x - mean) / std` with the
  constants below, or, for runs with `--zca`, ZCA-whitened raw `x`.

The constants are copied from each code base's `get_dataset` / `MEANS`, `STDS`
and keyed by our dataset names. They match our registry except MTT's CIFAR-100,
which MTT normalises with CIFAR-10's statistics.
"""

from udd_keras.data import Normalization

_MNIST = Normalization(mean=(0.1307,), std=(0.3081,))
_FASHION_MNIST = Normalization(mean=(0.2861,), std=(0.3530,))
_SVHN = Normalization(mean=(0.4377, 0.4438, 0.4728), std=(0.1980, 0.2010, 0.1970))
_CIFAR10 = Normalization(mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010))
_CIFAR100 = Normalization(mean=(0.5071, 0.4866, 0.4409), std=(0.2673, 0.2564, 0.2762))

# format -> our dataset name -> the Normalization its stored pixels are in.
CODEBASE_NORMALIZATIONS = {
    "dc": {
        "mnist": _MNIST,
        "fashion_mnist": _FASHION_MNIST,
        "svhn_cropped": _SVHN,
        "cifar10": _CIFAR10,
        "cifar100": _CIFAR100,
    },
    "mtt": {
        "cifar10": _CIFAR10,
        "cifar100": _CIFAR10,  # utils.get_dataset: CIFAR100 uses CIFAR-10's stats
    },
}

# The dataset names each code base uses (file and folder names) -> ours.
CODEBASE_DATASET_NAMES = {
    "MNIST": "mnist",
    "FashionMNIST": "fashion_mnist",
    "SVHN": "svhn_cropped",
    "CIFAR10": "cifar10",
    "CIFAR100": "cifar100",
}


def codebase_normalization(source_format, dataset_name):
    """The normalisation a code base stores `dataset_name` in, or None if unknown.

    Args:
        source_format: `"dc"` or `"mtt"` (other formats store raw pixels).
        dataset_name: our dataset name, e.g. `"cifar100"`.

    Returns:
        A `Normalization`, or None when the code base has no constants for it.

    Example:
    >>> codebase_normalization("mtt", "cifar100").mean
    (0.4914, 0.4822, 0.4465)
    """
    return CODEBASE_NORMALIZATIONS.get(source_format, {}).get(dataset_name)
