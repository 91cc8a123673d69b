"""The callbacks of the distillation loop (`Distiller.run`).

The loop takes a step, then calls, in this order (a `CallbackList`):

1. `TerminateOnNonFinite`: stops the run when a loss became NaN or infinite
   (model: `keras.callbacks.TerminateOnNaN`);
2. `MetricsLog`: every `log_every`-th step's logs to `metrics.jsonl`;
3. `udd_keras.training.TensorBoard` (the evaluation's too): the same steps'
   `TENSORBOARD_SCALARS`;
4. the user's callbacks (e.g. `udd_keras.progress.ProgressBar`, the
   evaluation's too, with `progress_status`);
5. `Checkpoints` (`udd_keras.distillation.checkpoints`): saves every
   `checkpoint_every` steps, at the end of every outer iteration and when a
   signal asked the run to stop, then stops it (model:
   `keras.callbacks.BackupAndRestore`).

Each step's logs: `step`, `iteration`, `inner_step`, the `LOSSES`, `image_lr`
(for [0, 1] pixels) and `seconds` (wall time of the step); with a time budget
also `time_used` and `time_left` (seconds, `udd_keras.distillation.time_budget`);
with a trajectory (`network_pool`, `trajectory_dir`) also `replayed` (1.0 when
the step replayed its real side, else 0.0) and `steps_to_compute` (the steps
left that will compute theirs, `TrajectoryReplay.logs`).

`RunTimeEstimate` (not one of the run's own) times the first steps and says how
long the whole run would take, e.g. to warn that the paper's budget would take
days on a CPU.
"""

import math
import statistics

from udd_keras.errors import NonFiniteLossError
from udd_keras.training.callbacks import Callback

# The losses of a step's logs, and how error messages name them.
LOSSES = {
    "loss": "loss",
    "matching_loss": "matching loss",
    "cfc_loss": "CFC loss",
    "cfc_gradient_ratio": "CFC gradient ratio",
    "network_loss": "network loss",
}


# The scalars the distillation writes to TensorBoard: tag -> key of its logs.
TENSORBOARD_SCALARS = {f"distill/{name}": name for name in (*LOSSES, "image_lr")}


def progress_status(logs):
    """The text of a step on the progress bar: iteration, losses, CFC's gradient.

    Example:
    >>> progress_status({"iteration": 2, "matching_loss": 0.5, "cfc_loss": 0.0})
    'it 2 loss 0.5 cfc 0'
    """
    status = (
        f"it {logs['iteration']} loss {logs['matching_loss']:.3g}"
        f" cfc {logs['cfc_loss']:.3g}"
    )
    if logs.get("cfc_gradient_ratio"):
        # CFC's pixel gradient against the matching gradient's.
        status += f" (grad x{logs['cfc_gradient_ratio']:.2g})"
    return status


def _due(step, total, every):
    """Whether a step is logged: every `every`-th step, and the last one."""
    return step % every == 0 or step == total


class TerminateOnNonFinite(Callback):
    """Raises `NonFiniteLossError` when a loss of the step is NaN or infinite.

    Args:
        kept: callable returning the sentence saying which checkpoint is kept.
        lr_img: the run's `lr_img`, suggested smaller in the message.
    """

    def __init__(self, kept, lr_img):
        self.kept = kept
        self.lr_img = lr_img

    def on_step(self, step, total, logs):
        for key, name in LOSSES.items():
            value = logs[key]
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"{name} became {value} at iteration {logs['iteration']}, "
                    f"inner step {logs['inner_step']}; {self.kept()}. Try a "
                    f"smaller --lr-img (now {self.lr_img})"
                )


class MetricsLog(Callback):
    """Keeps every `every`-th step's logs (and the last step's).

    Args:
        every: int, `log_every`.
        run_dir: a `RunDirectory` whose `metrics.jsonl` gets one line per kept
            step, or None to keep them in memory only.
    """

    def __init__(self, every, run_dir=None):
        self.every = every
        self.run_dir = run_dir
        self.records = []

    def on_step(self, step, total, logs):
        if not _due(step, total, self.every):
            return
        if self.run_dir is not None:
            self.run_dir.append_metrics(logs)
        self.records.append(logs)

    def read(self):
        """The kept logs of the run, resumed parts included; list of dicts."""
        if self.run_dir is not None:
            return self.run_dir.read_metrics()
        return list(self.records)


# A run estimated to take longer than this is worth a word (seconds).
LONG_RUN_SECONDS = 2 * 3600


class RunTimeEstimate(Callback):
    """Times a few steps, then calls `say(seconds_left, seconds_per_step)` once.

    Steps that compute their real side and steps that replay it (their logs'
    `replayed`) are timed apart: a replayed step costs a fraction of a
    computed one. The first step of each kind after the start (or a resume)
    builds its graph and is not timed. Once `steps` steps of each kind the
    rest of the run holds are timed, the estimate is the median time of a
    computed step times the steps left to compute (`steps_to_compute`, all of
    them when the logs do not say) plus the median of a replayed step times
    the others. `say` is called only when the estimate is at least `at_least`
    seconds.

    Args:
        say: callable `(seconds_left: float, seconds_per_step: float)`, the
            second the mean over the steps left.
        steps: int, the steps of each kind timed.
        at_least: float, seconds; shorter estimates are not said.

    Example:
    >>> said = []
    >>> estimate = RunTimeEstimate(lambda *a: said.append(a), steps=2, at_least=0)
    >>> estimate.on_start(0, 10)
    >>> for step in (1, 2, 3):
    ...     estimate.on_step(step, 10, {"seconds": 9.0 if step == 1 else 2.0})
    >>> said
    [(14.0, 2.0)]
    """

    def __init__(self, say, steps=3, at_least=LONG_RUN_SECONDS):
        self.say = say
        self.steps = steps
        self.at_least = at_least
        self.timed = {False: None, True: None}
        self.done = False

    def on_start(self, step, total):
        # None until the first step of a kind, which is not timed.
        self.timed = {False: None, True: None}
        self.done = False

    def on_step(self, step, total, logs):
        if self.done:
            return
        replayed = bool(logs.get("replayed", 0.0))
        if self.timed[replayed] is None:
            self.timed[replayed] = []
        else:
            self.timed[replayed].append(logs["seconds"])
        left = total - step
        to_compute = min(int(logs.get("steps_to_compute", left)), left)
        counts = {False: to_compute, True: left - to_compute}
        if any(
            count and len(self.timed[kind] or ()) < self.steps
            for kind, count in counts.items()
        ):
            return
        self.done = True
        seconds_left = sum(
            count * statistics.median(self.timed[kind])
            for kind, count in counts.items()
            if count
        )
        if left and seconds_left >= self.at_least:
            self.say(seconds_left, seconds_left / left)
