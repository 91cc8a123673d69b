"""Exceptions for user mistakes.

Every error a user can cause (a bad flag value, a missing dataset, a file that is
not ours) is raised as a `UddError` subclass. The CLI turns these into one line on
stderr and a non-zero exit; anything else is a bug and keeps its traceback.
"""


class UddError(Exception):
    """Base class for errors caused by user input, with a one-line message."""


class DatasetNotFoundError(UddError):
    """A dataset is unknown, or known but not available offline."""


class TFRecordFormatError(UddError):
    """A TFRecord file is not a udd-keras synthetic set, or is damaged."""


class RunDirectoryError(UddError):
    """An output directory is in a state the command refuses to touch."""


class NonFiniteLossError(UddError):
    """A loss became NaN or infinite during distillation."""
