"""The evaluation protocol: train fresh networks on a set, test on real data."""

from udd_keras.evaluation.augment_strategy import (
    BASE_DSA_STRATEGY,
    NO_FLIP_DATASETS,
    dsa_strategy_for,
)
from udd_keras.evaluation.baselines import BaselineComparison, full_data_accuracy
from udd_keras.evaluation.protocol import (
    evaluate,
    evaluate_arrays,
    evaluate_full,
    load_evaluation_set,
)
from udd_keras.evaluation.report import EvaluationReport, ModelResult
from udd_keras.evaluation.run import EvalRun, train_and_evaluate
from udd_keras.evaluation.schedule import StepDecay
from udd_keras.evaluation.soft_labels import apply_temperature
from udd_keras.evaluation.training import (
    build_classifier,
    make_classify_fn,
    top1_accuracy,
    train_classifier,
)

__all__ = [
    "BASE_DSA_STRATEGY",
    "BaselineComparison",
    "NO_FLIP_DATASETS",
    "EvalRun",
    "EvaluationReport",
    "ModelResult",
    "StepDecay",
    "apply_temperature",
    "build_classifier",
    "dsa_strategy_for",
    "evaluate",
    "evaluate_arrays",
    "evaluate_full",
    "full_data_accuracy",
    "load_evaluation_set",
    "make_classify_fn",
    "top1_accuracy",
    "train_and_evaluate",
    "train_classifier",
]
