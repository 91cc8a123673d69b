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


def make_budget_progress(transient=False):
    """A rich `Progress` whose bar is a time budget: steps, rate, time used/left.

    A task's `completed` and `total` are seconds; its fields `steps`,
    `status`, `rate` and `time` are texts.
    """
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[steps]}"),
        TextColumn("{task.fields[status]}"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[time]}"),
        transient=transient,
    )


def format_duration(seconds):
    """`"1:02:03"` (hours), or `"02:03"` under an hour, for `seconds` >= 0."""
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes:02d}:{seconds:02d}"


class DistillProgress(Callback):
    """A distillation callback showing iteration, losses, rate and ETA.

    With a time budget the bar fills with the time used, and shows the steps
    done (of the run's upper bound), the time used and the time left.

    Args:
        description: str, the bar's label.
        time_budget: float, the run's time budget in seconds, or None.

    Example:
    >>> distill("digits", ipc=1, callbacks=[DistillProgress()])  # doctest: +SKIP
    """

    def __init__(self, description="distill", time_budget=None):
        self.description = description
        self.time_budget = time_budget
        if time_budget is None:
            self.progress = make_progress()
        else:
            self.progress = make_budget_progress()
        self.task = None

    def on_start(self, step, total):
        self.progress.start()
        fields = dict(status="", rate="")
        if self.time_budget is None:
            self.task = self.progress.add_task(
                self.description, total=total, completed=step, **fields
            )
        else:
            self.task = self.progress.add_task(
                self.description,
                total=self.time_budget,
                completed=0,
                steps=f"{step}/{total} steps",
                time=f"budget {format_duration(self.time_budget)}",
                **fields,
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
        if self.time_budget is None or "time_used" not in logs:
            self.progress.update(self.task, completed=step, status=status, rate=rate)
            return
        used, left = logs["time_used"], logs["time_left"]
        self.progress.update(
            self.task,
            completed=min(used, self.time_budget),
            status=status,
            rate=rate,
            steps=f"{step}/{total} steps",
            time=f"{format_duration(used)} used, {format_duration(left)} left",
        )

    def close(self):
        self.progress.stop()
