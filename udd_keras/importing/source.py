"""What every reader of a foreign set returns, and the error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from udd_keras.data import Normalization
from udd_keras.errors import UddError


class SetImportError(UddError):
    """A set to import is unreadable, inconsistent, or does not fit its dataset."""


@dataclass
class SourceArrays:
    """A foreign set as read from disk, before it is checked against a dataset.

    Args:
        images: float array as stored: `(N, H, W, C)`, `(N, C, H, W)` or, for
            one channel, `(N, H, W)`; any float dtype.
        labels: int array `(N,)` of class ids, or None when only soft labels
            are stored (the hard labels are then their argmax).
        soft_labels: float array `(N, num_classes)` of class probabilities, or
            None.
        normalization: the `Normalization` the stored pixels are in, or None
            when they are raw pixels in [0, 1].
        layout: `"auto"`, `"nhwc"` or `"nchw"`, how `images` is laid out.
        check_unit_range: bool, refuse raw pixels outside [0, 1] (a hint that
            they were normalised and the mean/std were not given).
        method: str, how the set was made, e.g. `"dsa"`; stored as the set's
            method.
        factor: int or None, IDC's tiles per side when the source says so.
        decode_type: str or None, IDC's multi-formation (`"single"`,
            `"multi"`) when the source says so.
        codebase_dataset: our name of the dataset the source file names, or
            None when it names none (checked against `--dataset`).
        details: JSON-serialisable facts kept in the set's metadata, e.g. which
            experiment of a DC file was imported.
    """

    images: np.ndarray
    labels: np.ndarray | None
    soft_labels: np.ndarray | None = None
    normalization: Normalization | None = None
    layout: str = "auto"
    check_unit_range: bool = False
    method: str = "imported"
    factor: int | None = None
    decode_type: str | None = None
    codebase_dataset: str | None = None
    details: dict = field(default_factory=dict)
