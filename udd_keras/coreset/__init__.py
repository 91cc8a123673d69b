"""Coreset baselines: random, herding and forgetting selection of real images."""

from udd_keras.coreset.selection import (
    METHODS,
    check_ipc,
    random_selection,
    select_coreset,
)

__all__ = ["METHODS", "check_ipc", "random_selection", "select_coreset"]
