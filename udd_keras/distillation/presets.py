"""Named bundles of distillation settings.

The defaults of `DistillConfig` are the paper's (preset `"paper"`). Other
presets trade the paper's GPU-sized budget for accuracy per CPU-second; each one
is a plain dict of `DistillConfig` fields, so a preset never hides a setting: a
field given explicitly overrides the preset's value.
"""

from udd_keras.errors import UddError

PRESETS = {
    "paper": {},
    # A few minutes on a laptop, for small images such as scikit-learn's 8 x 8
    # `digits` (the README's quick start): UDD on the whole image plus mined
    # regions (IDC's tiles of an 8 x 8 image are 4 x 4 px and lose 13 points
    # there), a k-means start, Adam at 0.003, 10 x 10 steps. Chosen on digits'
    # validation split by the `quick-start-digits-screen` experiment.
    "quick": {
        "method": "udd",
        "formation": "original+regions",
        "init_selection": "kmeans",
        "image_optimizer": "adam",
        "lr_img": 0.003,
        "iterations": 10,
        "inner_steps": 10,
        # Measured in float32; 8 x 8 images gain nothing from bfloat16.
        "precision": "float32",
    },
    # One hour of CPU: IDC's multi-formation (4 tiles per image), started from
    # the real images nearest k-means centres, with Adam on the pixels (the
    # paper's SGD rate is sized for 200k steps); 700 steps, the paper's decay
    # rule. Chosen on the validation split by the `budget-changes` experiment.
    "cpu-hour": {
        "method": "idc",
        "init_selection": "kmeans",
        "image_optimizer": "adam",
        "lr_img": 0.01,
        "iterations": 7,
        "inner_steps": 100,
    },
}


def preset_settings(name, **overrides):
    """The settings of preset `name`, updated with `overrides`.

    Args:
        name: a key of `PRESETS`.
        **overrides: `DistillConfig` fields that win over the preset's.

    Returns:
        dict of `DistillConfig` fields.

    Example:
    >>> preset_settings("paper", ipc=10)
    {'ipc': 10}
    """
    if name not in PRESETS:
        raise UddError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return {**PRESETS[name], **overrides}
