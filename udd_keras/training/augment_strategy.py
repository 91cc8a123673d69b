"""Which differentiable augmentations the evaluation protocol uses per dataset."""

from udd_keras.augmentation import EVALUATION_STRATEGY

# The DSA strategy of the evaluation protocol before dataset-specific removals:
# "color_crop_cutout_flip_scale_rotate".
BASE_DSA_STRATEGY = EVALUATION_STRATEGY

# Digit datasets: a mirrored digit is another symbol (or none), so no flip. SVHN is
# a digit dataset too (house numbers) and IDC removes flip for it as well.
# FashionMNIST keeps flip: clothes stay clothes when mirrored, and IDC keeps it.
NO_FLIP_DATASETS = ("mnist", "digits", "svhn", "svhn_cropped")


def remove_augmentations(strategy, names):
    """Removes augmentation names from an underscore-joined DSA strategy.

    Args:
        strategy: str, e.g. `"color_crop_cutout_flip"`.
        names: iterable of names to remove, e.g. `("flip",)`.

    Returns:
        str, the strategy without those names, order kept.

    Example:
    >>> remove_augmentations("color_crop_cutout_flip", ["flip", "cutout"])
    'color_crop'
    """
    removed = set(names)
    return "_".join(name for name in strategy.split("_") if name not in removed)


def dsa_strategy_for(dataset_name, cutmix_probability=0.5):
    """The evaluation DSA strategy for a dataset.

    Starts from `color_crop_cutout_flip_scale_rotate` and removes `flip` for digit
    datasets (`NO_FLIP_DATASETS`) and `cutout` when CutMix is on: IDC drops
    cutout whenever CutMix mixes the training batch, since both erase a patch.

    Args:
        dataset_name: str, the dataset the set was distilled from.
        cutmix_probability: float, the CutMix probability of the evaluation.

    Returns:
        str, an underscore-joined DSA strategy.

    Example:
    >>> dsa_strategy_for("mnist")
    'color_crop_scale_rotate'
    >>> dsa_strategy_for("cifar10", cutmix_probability=0.0)
    'color_crop_cutout_flip_scale_rotate'
    """
    removed = []
    if str(dataset_name).lower() in NO_FLIP_DATASETS:
        removed.append("flip")
    if cutmix_probability > 0:
        removed.append("cutout")
    return remove_augmentations(BASE_DSA_STRATEGY, removed)
