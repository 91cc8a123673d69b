"""`TrainingRecipe`: how a fresh classifier is trained, the protocol's defaults.

One frozen dataclass holds every setting of a classifier training (epochs,
learning rate and its step decay, batch, SGD momentum, coupled weight decay,
augmentation, CutMix, model and width). The evaluation protocol, the coreset
networks and mUE's measuring network all train from one; their defaults live
here only. This module imports no TensorFlow, so that the command line
reads its defaults (`DEFAULTS`) for `--help`.
"""

import dataclasses
import math

import numpy as np

from udd_keras.choices import CURVES
from udd_keras.errors import UddError

# What `augmentation` means for an unresolved `dsa_strategy` (TF-free copy of
# `udd_keras.training.augment_strategy.BASE_DSA_STRATEGY`, tested equal).
BASE_DSA_STRATEGY = "color_crop_cutout_flip_scale_rotate"


def _is_int(value):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _is_number(value):
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and math.isfinite(value)
    )


@dataclasses.dataclass(frozen=True)
class TrainingRecipe:
    """The settings of one classifier training (UDD appendix A with IDC's recipe).

    Attributes:
        epochs: int >= 1, passes over the training set (300).
        lr: float > 0, the initial learning rate (0.01), multiplied by
            `lr_decay_factor` at each of `lr_decay_fractions` of training.
        lr_decay_fractions: tuple of floats in (0, 1), where the rate decays
            (2/3 and 5/6, IDC's `StepDecay`).
        lr_decay_factor: float in (0, 1], the decay multiplier (0.2).
        batch_size: int >= 1 (64); a set smaller than it is one batch.
        momentum: float in [0, 1), SGD momentum (0.9).
        weight_decay: float >= 0, coupled L2 (added to the gradient, as
            PyTorch's SGD does), 5e-4.
        augment: bool, whether differentiable augmentation (DSA) is applied.
        dsa_strategy: str or None, the DSA strategy; None is the dataset's
            default (`dsa_strategy_for`), resolved by `for_dataset`.
        cutmix_probability: float in [0, 1], 0.5; 0 disables CutMix.
        model: str, a `udd_keras.models.MODEL_NAMES` name ("convnet3").
        width: int >= 1, ConvNet channels (128; ignored by fixed-width models).
        curve: where an evaluation tests the points of its accuracy curve
            before the last: `"subset"` (a fixed class-balanced 1,000 test
            images), `"full"` (the whole test split) or `"final"` (none). The
            final accuracy is the whole split's in every mode, and training
            does not depend on it (`udd_keras.evaluation.run`).

    Example:
    >>> recipe = TrainingRecipe(epochs=50)
    >>> recipe.replace(width=8).width, recipe.lr
    (8, 0.01)
    >>> TrainingRecipe().for_dataset("mnist").augmentation
    'color_crop_scale_rotate'
    """

    epochs: int = 300
    lr: float = 0.01
    lr_decay_fractions: tuple = (2 / 3, 5 / 6)
    lr_decay_factor: float = 0.2
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    augment: bool = True
    dsa_strategy: str | None = None
    cutmix_probability: float = 0.5
    model: str = "convnet3"
    width: int = 128
    curve: str = "subset"

    def __post_init__(self):
        from udd_keras.models import MODEL_NAMES

        object.__setattr__(self, "lr_decay_fractions", tuple(self.lr_decay_fractions))
        for name in ("epochs", "batch_size", "width"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise UddError(f"{name} must be an integer >= 1, got {value!r}.")
        checks = {
            "lr": (lambda v: v > 0, "> 0"),
            "lr_decay_factor": (lambda v: 0 < v <= 1, "in (0, 1]"),
            "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
            "weight_decay": (lambda v: v >= 0, ">= 0"),
            "cutmix_probability": (lambda v: 0 <= v <= 1, "in [0, 1]"),
        }
        for name, (allowed, text) in checks.items():
            value = getattr(self, name)
            if not _is_number(value) or not allowed(value):
                raise UddError(f"{name} must be a number {text}, got {value!r}.")
        for fraction in self.lr_decay_fractions:
            if not _is_number(fraction) or not 0 < fraction < 1:
                raise UddError(
                    "lr_decay_fractions must be numbers in (0, 1), got "
                    f"{self.lr_decay_fractions!r}."
                )
        if not isinstance(self.augment, (bool, np.bool_)):
            raise UddError(f"augment must be True or False, got {self.augment!r}.")
        if self.dsa_strategy is not None and not isinstance(self.dsa_strategy, str):
            raise UddError(
                f"dsa_strategy must be a string such as {BASE_DSA_STRATEGY!r} or "
                f"None, got {self.dsa_strategy!r}."
            )
        if self.curve not in CURVES:
            raise UddError(
                f"Unknown curve {self.curve!r}; allowed: {', '.join(CURVES)}."
            )
        if self.model not in MODEL_NAMES:
            raise UddError(
                f"Unknown model {self.model!r}; choose from {', '.join(MODEL_NAMES)}."
            )

    def replace(self, **changes):
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def for_dataset(self, dataset_name):
        """This recipe with `dsa_strategy` resolved for a dataset when None.

        Args:
            dataset_name: str, the dataset trained on (digits: no flip).

        Returns:
            `TrainingRecipe`.
        """
        if self.dsa_strategy is not None:
            return self
        from udd_keras.training.augment_strategy import dsa_strategy_for

        return self.replace(
            dsa_strategy=dsa_strategy_for(dataset_name, self.cutmix_probability)
        )

    @property
    def augmentation(self):
        """The DSA strategy applied, or None when `augment` is off.

        An unresolved `dsa_strategy` (None) means the full evaluation strategy
        `BASE_DSA_STRATEGY`; `for_dataset` gives the dataset's own.
        """
        if not self.augment:
            return None
        return self.dsa_strategy or BASE_DSA_STRATEGY

    def schedule(self, steps_per_epoch):
        """The learning-rate schedule over optimizer steps: a `StepDecay`."""
        from udd_keras.training.schedule import StepDecay

        return StepDecay.from_epochs(
            self.lr,
            self.epochs,
            steps_per_epoch,
            self.lr_decay_fractions,
            self.lr_decay_factor,
        )

    def to_dict(self):
        """A JSON-ready dict of every setting."""
        data = dataclasses.asdict(self)
        data["lr_decay_fractions"] = list(self.lr_decay_fractions)
        return data


# Every setting's default, read without creating (or validating) a recipe.
DEFAULTS = {field.name: field.default for field in dataclasses.fields(TrainingRecipe)}
