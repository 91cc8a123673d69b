"""Training a classifier: recipe, traced step, loop callbacks.

Layering: `recipe` (settings, with `schedule` and `augment_strategy`) ->
`step` (one replica-count-independent optimizer step; `sgd` for PyTorch-form
momentum) -> `classifier` (the epoch loop and testing). `evaluation`,
`coreset`, `metrics` and the distillation's network update build on these.
"""

from udd_keras._lazy import lazy_exports

_EXPORTS = {
    "BASE_DSA_STRATEGY": "augment_strategy",
    "NO_FLIP_DATASETS": "augment_strategy",
    "dsa_strategy_for": "augment_strategy",
    "Callback": "callbacks",
    "CallbackList": "callbacks",
    "build_classifier": "classifier",
    "make_classify_fn": "classifier",
    "top1_accuracy": "classifier",
    "train_classifier": "classifier",
    "TrainingRecipe": "recipe",
    "StepDecay": "schedule",
    "MomentumSGD": "sgd",
    "ClassifierStep": "step",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
