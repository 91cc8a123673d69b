"""A distillation run's checkpoints: what they hold, when they are written,
how they are restored (earlier layouts included), and what a stopped run says.

`Checkpoints` is the loop's last callback, in the shape of
`keras.callbacks.BackupAndRestore`: it is handed what it saves (the step
counter, the engine's state, the loop time used) and where, restores the
newest readable checkpoint before the loop, saves every `checkpoint_every`
steps, at the end of every outer iteration and when a signal stops the run,
and words the errors of a stopped or broken run with the checkpoint it keeps.
It never calls back into the `Distiller`.

Layouts, newest first: the current one (`current_layout`); the same without
the time used (`earlier_layouts`; written before time budgets, the time counts
from 0); and two from before the image optimizers had classes
(`legacy_layouts`), whose image-optimizer state was kept under
`image_velocity`, `image_second_moment`, `image_updates` and `image_lr`, with
the trained boxes (2026-12-02) and without them (before the boxes were kept). A
checkpoint restores through the first layout that consumes it entirely
(`tests/distillation/test_checkpoint_compatibility.py`).
"""

import tensorflow as tf

from udd_keras.distillation.image_optimizers import ImageAdam
from udd_keras.errors import CheckpointError, NonFiniteLossError, RunInterrupted
from udd_keras.preemption import PREEMPTED_EXIT_CODE
from udd_keras.training.callbacks import Callback

# A damaged file raises OpError, or IndexError ("Read less bytes than
# requested"); a foreign one an AssertionError or ValueError.
UNREADABLE = (tf.errors.OpError, AssertionError, IndexError, KeyError, ValueError)


class DistillationInterrupted(RunInterrupted):
    """The run was stopped by a signal after saving a checkpoint.

    The CLI exits with `128 + signal_number`: 130 for SIGINT, 143 for SIGTERM.
    """


class DistillationPreempted(DistillationInterrupted):
    """A multi-worker run stopped because one of its workers got SIGTERM / SIGINT.

    Every worker finished the same step and saved its checkpoint first; the run
    continues with `--resume` on every worker. The CLI exits with
    `udd_keras.preemption.PREEMPTED_EXIT_CODE` (75) on every worker.
    """

    exit_code = PREEMPTED_EXIT_CODE


def _first_line(error):
    return (str(error).strip().splitlines() or [""])[0][:200]


def _state(step, engine):
    """What every layout holds, the image optimizer aside."""
    return dict(
        step=step,
        images=engine.images,
        # The variables themselves: Keras 3 does not expose layers kept in
        # Python lists to TF's object-graph checkpointing.
        network_weights=list(engine.model.weights),
        network_velocity=engine.network_velocity,
        class_centers=engine.class_centers,
        centers_filled=engine.centers_filled,
    )


def legacy_layouts(step, engine):
    """Checkpoints of the layouts before the image optimizers had classes.

    Returns:
        `[(checkpoint, restores_boxes)]`: with the trained boxes (layout of
        2026-12-02), then without (before the boxes were kept).
    """
    optimizer = engine.image_optimizer
    if isinstance(optimizer, ImageAdam):
        first, second, updates = optimizer.state()
    else:
        (first,) = optimizer.state()
        # Read and dropped: SGD has no such state.
        second = tf.Variable(tf.zeros_like(first))
        updates = tf.Variable(0.0)
    state = dict(
        **_state(step, engine),
        image_velocity=first,
        image_second_moment=second,
        image_updates=updates,
        image_lr=optimizer.learning_rate,
    )
    return [
        (tf.train.Checkpoint(**state, trained_boxes=engine.trained_boxes), True),
        (tf.train.Checkpoint(**state), False),
    ]


def _with_optimizer(step, engine, **more):
    """A layout since the image optimizers have classes, with `more`."""
    return tf.train.Checkpoint(
        **_state(step, engine),
        image_optimizer=engine.image_optimizer,
        trained_boxes=engine.trained_boxes,
        **more,
    )


def current_layout(step, engine, elapsed):
    """The checkpoint a run writes (arguments as `Checkpoints`')."""
    return _with_optimizer(step, engine, elapsed_seconds=elapsed)


def earlier_layouts(step, engine):
    """Checkpoints of every earlier layout, newest first.

    Returns:
        `[(checkpoint, restores_boxes)]`: without the time used (layout of
        2026-12, whose runs had no time budget: the time counts from 0), then
        `legacy_layouts`.
    """
    return [(_with_optimizer(step, engine), True), *legacy_layouts(step, engine)]


class Checkpoints(Callback):
    """Saves and restores a run's state; stops the run after a signal, saved.

    Saves every `every` steps, after the last inner step of every outer
    iteration, and when a signal stops the run (`stop`, a
    `udd_keras.preemption.StopCheck`, set by the run while it watches for
    signals); then raises `interrupted()`. Under several workers `stop`'s
    coordinator decides instead: every worker saves the same step
    (`save_checked`) and raises `preempted()`. Each save checks first that the
    images and the network are finite, so a saved checkpoint is good.

    Args:
        step: the run's int64 step counter (a `tf.Variable`).
        engine: the `DistillationEngine`, whose state is saved.
        elapsed: the float64 `tf.Variable` of the loop time used.
        config: the run's `DistillConfig`: its `checkpoint_every`,
            `inner_steps`, and `lr_img` (suggested smaller when the state
            became NaN).
        directory: where this process writes its checkpoints (the last two are
            kept), or None to save nothing.
        out_dir: the run's output directory, named in messages, or None.

    Attributes:
        checkpoint: the `tf.train.Checkpoint` of the current layout.
        manager: its `tf.train.CheckpointManager`, or None without `directory`.
        stop: the run's `StopCheck` while it runs, else None.
    """

    def __init__(self, step, engine, elapsed, config, directory=None, out_dir=None):
        self.step = step
        self.engine = engine
        self.checkpoint = current_layout(step, engine, elapsed)
        self.every = config.checkpoint_every
        self.inner_steps = config.inner_steps
        self.lr_img = config.lr_img
        self.directory = directory
        self.out_dir = out_dir
        self.manager = None
        if directory is not None:
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, str(directory), max_to_keep=2
            )
        self.stop = None
        self.total = None

    # ---------------------------------------------------------------- restore

    def restore(self, directory):
        """Restores the newest readable checkpoint in `directory`.

        A checkpoint that cannot be read is skipped for the one before it (two
        are kept).

        Returns:
            `(step, restores_boxes)` of the restored checkpoint, or None when
            `directory` holds none; `restores_boxes` says whether the engine's
            `trained_boxes` now hold the boxes of the restored step (layouts
            before the boxes were kept do not).

        Raises:
            CheckpointError: every checkpoint there is unreadable.
        """
        state = tf.train.get_checkpoint_state(str(directory))
        candidates = list(reversed(state.all_model_checkpoint_paths)) if state else []
        problems = []
        for path in candidates:
            try:
                restores_boxes = self._restore_checkpoint(path)
            except UNREADABLE as error:
                problems.append(f"{path}: {type(error).__name__}: {_first_line(error)}")
                continue
            return int(self.step.numpy()), restores_boxes
        if problems:
            raise CheckpointError(
                f"no readable checkpoint in {directory} ({problems[0]}); "
                "start the run over with --force"
            )
        return None

    def _restore_checkpoint(self, path):
        """Restores `path` through the first layout it fits; whether boxes came."""
        try:
            self.checkpoint.restore(path).assert_consumed()
            return True
        except AssertionError as error:
            mismatch = error
        for checkpoint, restores_boxes in earlier_layouts(self.step, self.engine):
            try:
                checkpoint.restore(path).assert_consumed()
            except AssertionError as error:
                mismatch = error
                continue
            return restores_boxes
        raise mismatch

    # ------------------------------------------------------------------- save

    def on_start(self, step, total):
        self.total = total

    def on_step(self, step, total, logs):
        # Several workers: may save and raise on every worker. One worker: the
        # flag is read once, so a signal arriving during this call cannot stop
        # the run without the checkpoint its message names.
        stopping = self.stop is not None and self.stop.step_done()
        if step % self.every == 0 or step % self.inner_steps == 0 or stopping:
            self.save_checked()
        if stopping:
            flag = self.stop.flag
            raise self.interrupted(flag.signal_name, flag.signal_number)

    def save(self):
        """Writes a checkpoint of the current step (no-op without `directory`).

        Raises:
            CheckpointError: the checkpoint could not be written (disk full,
                permissions); the previous checkpoint is kept and the run stops,
                to be continued with `--resume` once the problem is fixed.
        """
        if self.manager is None:
            return
        step = int(self.step.numpy())
        try:
            self.manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as error:
            raise CheckpointError(
                f"could not save the checkpoint of step {step} in {self.directory} "
                f"({type(error).__name__}: {_first_line(error)}); {self.kept()}; "
                "fix the problem and rerun the same command with --resume"
            ) from None

    def save_checked(self):
        """Saves the current step, once its state is checked finite."""
        iteration, inner = divmod(int(self.step.numpy()) - 1, self.inner_steps)
        self.check_finite(iteration, inner)
        self.save()

    def check_finite(self, iteration, inner):
        """Raises `NonFiniteLossError` if the images or network hold NaN / inf."""
        for variable in (self.engine.images, *self.engine.model.weights):
            value = tf.convert_to_tensor(variable)
            if value.dtype.is_floating and not bool(
                tf.reduce_all(tf.math.is_finite(value))
            ):
                name = getattr(variable, "path", None) or variable.name
                raise NonFiniteLossError(
                    f"{name} became NaN or infinite at iteration {iteration}, "
                    f"inner step {inner}; {self.kept()}. Try a smaller --lr-img "
                    f"(now {self.lr_img})"
                )

    # --------------------------------------------------------------- messages

    def kept(self):
        """Says which checkpoint is kept, for error messages."""
        latest = self.manager.latest_checkpoint if self.manager else None
        if latest is None:
            return "no checkpoint had been saved yet"
        return f"the last good checkpoint {latest} is kept"

    def interrupted(self, cause, signal_number, preempted=False):
        """The error of a run stopped by a signal, raised after its checkpoint.

        Args:
            cause: str, what stopped it, e.g. `"SIGTERM"`.
            signal_number: int.
            preempted: whether every worker of a multi-worker run stopped
                (`DistillationPreempted`), else `DistillationInterrupted`.
        """
        if self.out_dir is None:
            where = "nothing saved (no output directory)"
        elif preempted:
            where = (
                f"every worker saved its checkpoint in {self.out_dir}; "
                "restart every worker with the same command and --resume"
            )
        else:
            where = (
                f"checkpoint saved in {self.out_dir}; resume with "
                "--resume (the same command and settings)"
            )
        error = DistillationPreempted if preempted else DistillationInterrupted
        return error(
            f"stopped by {cause} at step {int(self.step.numpy())}/{self.total}; "
            f"{where}",
            signal_number=signal_number,
        )

    def preempted(self, notice, signal_number):
        """The error of a multi-worker run stopped by a notice, every worker saved."""
        return self.interrupted(notice, signal_number, preempted=True)

    def after_lost_worker(self):
        """What a run that lost a worker keeps, and how to continue it."""
        if self.out_dir is None:
            return "nothing saved (no output directory)"
        latest = self.manager.latest_checkpoint if self.manager else None
        if latest is None:
            kept = f"no checkpoint was saved yet in {self.out_dir}"
        else:
            step = latest.rsplit("-", 1)[-1]
            kept = f"the checkpoint of step {step} in {self.out_dir} is kept"
        return (
            f"{kept}; once every worker can run again, restart all of them with "
            "the same command and --resume"
        )
