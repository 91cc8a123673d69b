"""Coreset baselines: random, herding and forgetting selection of real images."""

from udd_keras.coreset.network import DEFAULT_EPOCHS, coreset_recipe
from udd_keras.coreset.selection import (
    METHODS,
    check_ipc,
    random_selection,
    select_coreset,
)

__all__ = [
    "DEFAULT_EPOCHS",
    "METHODS",
    "check_ipc",
    "coreset_recipe",
    "random_selection",
    "select_coreset",
]
