"""Rich progress bars for long work, shared by the CLI and the Python API.

`ProgressBar` is the one progress callback of both commands: the
distillation's bar over its steps (`udd_keras.distillation.callbacks.
progress_status` for its losses, a time budget as the bar), and the
evaluation's bar over every epoch of every run.
"""

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from udd_keras.training.callbacks import Callback


def make_progress(transient=False, console=None):
    """A rich `Progress` with bar, count, status, rate, elapsed time and ETA."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=transient,
        console=console,
    )


def make_budget_progress(transient=False, console=None):
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
        console=console,
    )


def make_runs_progress(transient=False, console=None):
    """A rich `Progress` over several runs: run, bar, count, percent, rate, ETA."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=transient,
        console=console,
    )


def format_duration(seconds):
    """`"1:02:03"` (hours), or `"02:03"` under an hour, for `seconds` >= 0."""
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes:02d}:{seconds:02d}"


class ProgressBar(Callback):
    """A progress callback: one rich bar over a loop's steps.

    The bar starts at the loop's first `on_start` (so that errors before it
    print no empty bar) and stops at `close`. Its rate is the logs' `seconds`
    per step when they have it (the distillation's), else rich's speed.

    - A loop (a distillation): the bar counts its steps from where it
      started (a resumed run's), with `status(logs)` after the count. With a
      time budget the bar fills with the time used, and shows the steps done
      (of the run's upper bound), the time used and the time left (the logs'
      `time_used` and `time_left`).
    - Several runs (an evaluation, which calls `on_run_start(model, repeat,
      seed)` before each run's `on_start`): one bar over every step of the
      `runs` runs, labelled `"<model> <repeat>/<repeats>"`.

    Args:
        description: str, the bar's label (replaced at each run).
        status: optional `fn(logs) -> str`, the text after the count.
        time_budget: float, the loop's time budget in seconds, or None.
        runs: int, the runs the bar spans, or None for one loop.
        repeats: int, the repeats of each model, for the label; None: `runs`.
        unit: str, the unit of the rate (`"step"`: `"1.50 step/s"`).
        console: a `rich.console.Console`, or None for rich's (stdout).

    Example:
    >>> bar = ProgressBar("distill", status=progress_status)  # doctest: +SKIP
    >>> distill("digits", ipc=1, callbacks=[bar])  # doctest: +SKIP
    >>> bar = ProgressBar(runs=10, repeats=5, unit="ep")  # doctest: +SKIP
    >>> evaluate("set.tfrecord", callbacks=[bar])  # doctest: +SKIP
    """

    def __init__(
        self,
        description="",
        status=None,
        time_budget=None,
        runs=None,
        repeats=None,
        unit="step",
        console=None,
    ):
        self.description = description
        self.status = status
        self.time_budget = time_budget
        self.runs = runs
        self.repeats = repeats or runs
        self.unit = unit
        if time_budget is not None:
            self.progress = make_budget_progress(console=console)
        elif runs is not None:
            self.progress = make_runs_progress(console=console)
        else:
            self.progress = make_progress(console=console)
        self.task = None
        # The steps of the runs before this one.
        self.offset = 0

    def on_run_start(self, model, repeat, seed):
        self.description = f"{model} {repeat + 1}/{self.repeats}"
        if self.task is not None:
            self.progress.update(self.task, description=self.description)

    def on_start(self, step, total):
        if self.task is not None:
            if self.runs is not None:  # the next run
                self.offset = int(self.progress.tasks[0].completed)
            return
        self.progress.start()
        fields = dict(status="", rate="")
        if self.time_budget is None:
            self.task = self.progress.add_task(
                self.description,
                total=total * (self.runs or 1),
                completed=step,
                **fields,
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

    def _rate(self, logs):
        if "seconds" in logs:
            return f"{1.0 / max(logs['seconds'], 1e-9):.2f} {self.unit}/s"
        speed = self.progress.tasks[0].speed
        return f"{speed:.2f} {self.unit}/s" if speed else ""

    def on_step(self, step, total, logs):
        status = "" if self.status is None else self.status(logs)
        if self.time_budget is None or "time_used" not in logs:
            self.progress.update(self.task, completed=self.offset + step, status=status)
            self.progress.update(self.task, rate=self._rate(logs))
            return
        used, left = logs["time_used"], logs["time_left"]
        self.progress.update(
            self.task,
            completed=min(used, self.time_budget),
            status=status,
            rate=self._rate(logs),
            steps=f"{step}/{total} steps",
            time=f"{format_duration(used)} used, {format_duration(left)} left",
        )

    def close(self):
        # Stopping a bar that never started prints an empty line.
        if self.progress.live.is_started:
            self.progress.stop()
