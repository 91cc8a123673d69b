"""Data sources: every loader returns a normalised `ImageDataset`.

Example:
>>> from udd_keras.data import load_dataset, split_validation
>>> ds = load_dataset("digits")
>>> val = split_validation(ds, fraction=0.1, seed=0)
"""

from udd_keras.data.dataset import (
    DatasetFormatError,
    ImageDataset,
    Normalization,
    compute_normalization,
)
from udd_keras.data.loading import load_dataset
from udd_keras.data.sources import SOURCES, SourceStatus, list_sources
from udd_keras.data.validation import split_validation

__all__ = [
    "SOURCES",
    "DatasetFormatError",
    "ImageDataset",
    "Normalization",
    "SourceStatus",
    "compute_normalization",
    "list_sources",
    "load_dataset",
    "split_validation",
]
