"""Rich progress bars for long work, shared by the CLI and the Python API."""

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from udd_keras.training.callbacks import Callback


def make_progress(transient=False):
    """A rich `Progress` with bar, count, rate, elapsed time and ETA."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=transient,
    )


class DistillProgress(Callback):
    """A distillation callback showing iteration, losses, rate and ETA.

    Example:
    >>> distill("digits", ipc=1, callbacks=[DistillProgress()])  # doctest: +SKIP
    """

    def __init__(self, description="distill"):
        self.description = description
        self.progress = make_progress()
        self.task = None

    def on_start(self, step, total):
        self.progress.start()
        self.task = self.progress.add_task(
            self.description, total=total, completed=step, status="", rate=""
        )

    def on_step(self, step, total, logs):
        status = (
            f"it {logs['iteration']} loss {logs['matching_loss']:.3g}"
            f" cfc {logs['cfc_loss']:.3g}"
        )
        if logs.get("cfc_gradient_ratio"):
            # CFC's pixel gradient against the matching gradient's.
            status += f" (grad x{logs['cfc_gradient_ratio']:.2g})"
        rate = f"{1.0 / max(logs['seconds'], 1e-9):.2f} step/s"
        self.progress.update(self.task, completed=step, status=status, rate=rate)

    def close(self):
        self.progress.stop()
