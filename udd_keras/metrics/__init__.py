"""Utilization metrics: UE^d and mUE of activation maps (paper appendix E)."""

from udd_keras.metrics.measure import SetUtilization, measure_sets
from udd_keras.metrics.normal_curve import ue_curve_for_normal
from udd_keras.metrics.report import UtilizationReport, utilization_report
from udd_keras.metrics.utilization import (
    DEFAULT_INTERVALS,
    DEFAULT_VALUE_RANGE,
    flatten_activation_maps,
    mean_utilization_entropy,
    reference_range,
    utilization_entropy,
)

__all__ = [
    "DEFAULT_INTERVALS",
    "DEFAULT_VALUE_RANGE",
    "SetUtilization",
    "UtilizationReport",
    "flatten_activation_maps",
    "mean_utilization_entropy",
    "measure_sets",
    "reference_range",
    "ue_curve_for_normal",
    "utilization_entropy",
    "utilization_report",
]
