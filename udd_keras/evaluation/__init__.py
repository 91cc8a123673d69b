"""The evaluation protocol: train fresh networks on a set, test on real data."""

from udd_keras.evaluation.baselines import BaselineComparison, full_data_accuracy
from udd_keras.evaluation.protocol import (
    EvaluationOptions,
    evaluate,
    evaluate_arrays,
    load_evaluation_set,
)
from udd_keras.evaluation.report import EvaluationReport, ModelResult
from udd_keras.evaluation.run import EvalRun, train_and_evaluate
from udd_keras.evaluation.soft_labels import apply_temperature
from udd_keras.training import TrainingRecipe

__all__ = [
    "BaselineComparison",
    "EvalRun",
    "EvaluationOptions",
    "EvaluationReport",
    "ModelResult",
    "TrainingRecipe",
    "apply_temperature",
    "evaluate",
    "evaluate_arrays",
    "full_data_accuracy",
    "load_evaluation_set",
    "train_and_evaluate",
]
