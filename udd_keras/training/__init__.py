"""Training a classifier: recipe, traced step, loop callbacks (TensorBoard too).

Layering: `recipe` (settings, with `schedule` and `augment_strategy`) ->
`step` (one replica-count-independent optimizer step; `sgd` for PyTorch-form
momentum) -> `classifier` (the epoch loop and testing). `evaluation`,
`coreset`, `metrics` and the distillation's network update build on these.
"""

from udd_keras._lazy import lazy_exports

_EXPORTS = {
    "augment_strategy": ["BASE_DSA_STRATEGY", "NO_FLIP_DATASETS", "dsa_strategy_for"],
    "callbacks": ["Callback", "CallbackList", "as_callback_list"],
    "classifier": ["build_classifier", "make_classify_fn", "top1_accuracy"]
    + ["train_classifier"],
    "recipe": ["TrainingRecipe"],
    "schedule": ["StepDecay"],
    "sgd": ["MomentumSGD"],
    "step": ["ClassifierStep"],
    "tensorboard": ["TensorBoard"],
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
