"""Exceptions for user mistakes and for runs stopped on purpose.

Every error a user can cause (a bad flag value, a missing dataset, a file that is
not ours) or that the environment causes and the user can fix (no network, a full
disk) is raised as a `UddError` subclass. The CLI turns these into one line on
stderr and exit status `exit_code` (2, or 128 + the signal number for a run
stopped by a signal); anything else is a bug and keeps its traceback.
"""

import signal


class UddError(Exception):
    """Base class for errors caused by user input, with a one-line message.

    Attributes:
        exit_code: int, the CLI's exit status for this error.
    """

    exit_code = 2


class DatasetNotFoundError(UddError):
    """A dataset is unknown, or known but not available offline."""


class TFRecordFormatError(UddError):
    """A TFRecord file is not a udd-keras synthetic set, or is damaged."""


class RunDirectoryError(UddError):
    """An output directory is in a state the command refuses to touch."""


class NonFiniteLossError(UddError):
    """A loss became NaN or infinite during distillation."""


class CheckpointError(UddError):
    """A checkpoint could not be written or read; the last good one is kept."""


class RunInterrupted(UddError):
    """A run was stopped by a signal (SIGINT, SIGTERM) after saving its state.

    Args:
        message: one line saying where the state was saved and how to resume.
        signal_number: the signal that stopped the run; the CLI exits with
            `128 + signal_number` (130 for SIGINT, 143 for SIGTERM), the shell
            convention for a process ended by a signal.
    """

    def __init__(self, message, signal_number=signal.SIGINT):
        super().__init__(message)
        self.signal_number = int(signal_number)

    @property
    def exit_code(self):
        return 128 + self.signal_number
