"""Algorithm 1 as a resumable run: the `Distiller` and `distill()`.

For each outer iteration the network is re-initialised; for each inner step the
regions are re-selected (or, with `region_period` `"iteration"` or `"run"`, the
boxes chosen at the iteration's or the run's first step are kept), the
synthetic images are updated by the matching + CFC loss, and the network is
trained on real data (`engine.py`). The run checkpoints every
`checkpoint_every` inner steps and at the end of every outer iteration, logs
metrics, and exports the synthetic set with the regions its images were last
trained on.

Time budget (`DistillConfig.time_budget_minutes`, `--time-budget`): the run
stops before the first step that would end past the budget, saves a final
checkpoint and exports the set (`DistillResult.stopped_by_budget`); the image
learning rate decays at the fractions `lr_decay_at` of the budget, decided
before every step from the time used. The time used is the wall time of the
loop (not the setup or the export), kept in the checkpoints, so `resume`
continues against the same budget (`udd_keras.distillation.time_budget`). A
budget run is not reproducible step for step: where it stops, and where its
rate decays, depend on the machine's speed.

Interruption: SIGINT (Ctrl-C) and SIGTERM are caught between steps; the run saves a
checkpoint and raises `DistillationInterrupted`. A run killed outright resumes from
its last complete checkpoint. Because every random draw is keyed by the step
(`engine.fold_in`), a resumed run ends with the same images as an uninterrupted
one.

Under `MultiWorkerMirroredStrategy` a signal to any one worker stops all of them
after the same step, each saving that step's checkpoint
(`udd_keras.preemption.PreemptionCoordinator`), and raises
`DistillationPreempted` (CLI exit status 75); a worker lost without warning makes
the others raise `udd_keras.preemption.WorkerLostError` (exit status 69) within
the strategy's worker timeout, the last periodic checkpoint kept.

Distribution: `strategy` may be any `tf.distribute` strategy (see
`udd_keras.distribute.make_strategy` and `engine.py` for what is split across
replicas). Under `MultiWorkerMirroredStrategy` every worker runs the same loop
and saves the same checkpoints, but only the chief writes into `out_dir`; the
other workers write into a temporary directory deleted at the end, restore from
the chief's checkpoints on `resume`, and export nothing.
"""

import dataclasses
import tempfile
import time

import numpy as np
import tensorflow as tf

from udd_keras.distillation.callbacks import (
    Checkpoints,
    MetricsLog,
    TensorBoard,
    TerminateOnNonFinite,
)
from udd_keras.distillation.config import DistillConfig
from udd_keras.distillation.engine import DistillationEngine, fold_in
from udd_keras.distillation.image_optimizers import ImageAdam
from udd_keras.distillation.initialization import initial_images
from udd_keras.distillation.presets import preset_settings
from udd_keras.distillation.run_directory import RunDirectory
from udd_keras.distillation.time_budget import TimeBudget
from udd_keras.distillation.trajectory import TrajectoryCache, trajectory_manifest
from udd_keras.distribute import is_chief, remove_worker_directory, worker_directory
from udd_keras.errors import (
    CheckpointError,
    NonFiniteLossError,
    RunDirectoryError,
    RunInterrupted,
    UddError,
)
from udd_keras.preemption import (
    PREEMPTED_EXIT_CODE,
    is_multi_worker,
    stop_on_notice,
    worker_lost_error,
)
from udd_keras.training.callbacks import CallbackList

# How runs configured before formations existed behaved, for fields added since.
_PRE_FORMATION_SETTINGS = {
    "decode": "trained",
    "score_normalization": "none",
    "crop_gradient": "sum",
    "cfc_scale": "loss",
}
# Settings whose udd defaults changed when formations were introduced.
_CHANGED_WITH_FORMATIONS = {
    *_PRE_FORMATION_SETTINGS,
    "formation",
    "num_selected",
    "jitters",
    "jitter_amount",
    "cfc_weight",
    "include_original",
    "init",
}


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


@dataclasses.dataclass
class DistillResult:
    """What a distillation run produced.

    Attributes:
        images: float32 (num_classes * ipc, H, W, C), normalised, class-major.
        labels: int32 (num_classes * ipc,).
        boxes: int32 (num_classes * ipc, K, 4), the final regions per image.
        config: the resolved `DistillConfig`.
        metrics: list of dicts, the logged steps.
        seconds: float, wall time of this call.
        out_dir: the output directory, or None.
        steps: int, the inner steps done (of `iterations * inner_steps`).
        stopped_by_budget: bool, the run stopped on its time budget before
            its last step.
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    config: DistillConfig
    metrics: list
    seconds: float
    out_dir: object = None
    steps: int = 0
    stopped_by_budget: bool = False


def pixel_range(normalization, channels):
    """Valid normalised pixel values: `((0 - mean) / std, (1 - mean) / std)`."""
    mean = np.broadcast_to(np.asarray(normalization.mean, np.float32), (channels,))
    std = np.broadcast_to(np.asarray(normalization.std, np.float32), (channels,))
    return (0.0 - mean) / std, (1.0 - mean) / std


class Distiller:
    """Distils a dataset with UDD, IDC or DC.

    Args:
        config: a `DistillConfig` (resolved on construction).
        dataset: an `ImageDataset`; loaded from `config.dataset` when None.
        out_dir: output directory, or None to keep everything in memory.
        resume: continue the run in `out_dir` from its last checkpoint.
        force: overwrite a run already in `out_dir`.
        logdir: TensorBoard log directory, or None.
        strategy: a `tf.distribute.Strategy`, default the current one.
        data_dir: where dataset files are, for `load_dataset`.
        trajectory_dir: directory of a `TrajectoryCache`, or None: the
            network's trajectory and the real gradients are read from it where
            an earlier run on the same data, seed and network settings stored
            them, and stored there where not (`distillation/trajectory.py`).
            The images are the same either way; method `dc` cannot use it.
            A `network_pool` run without one keeps its pool in the run's
            `trajectory/` folder (in a temporary folder, removed at the end,
            when `out_dir` is None).
        callbacks: `udd_keras.training.Callback`s, or objects with some of
            its hooks: `on_start(step, total)`, `on_step(step, total, logs)`
            (`logs` as `distillation.callbacks` describes) and `close()`,
            called once the run ends however it ends. They run after the
            run's logging and before its checkpoint of the step. With a time
            budget, a step's logs also hold `time_used` and `time_left`
            (seconds).

    The attribute `clock` (default `time.perf_counter`) is what the time
    budget reads; tests replace it.

    Example:
    >>> config = DistillConfig("digits", ipc=1, iterations=1, inner_steps=2,
    ...                        width=16)
    >>> result = Distiller(config).run()
    >>> result.images.shape
    (10, 8, 8, 1)
    """

    def __init__(
        self,
        config,
        dataset=None,
        out_dir=None,
        resume=False,
        force=False,
        logdir=None,
        strategy=None,
        data_dir=None,
        trajectory_dir=None,
        callbacks=(),
    ):
        self._budget_changed = False
        self._pool_directory = None
        # Settings and data are checked before the output directory is touched,
        # so a typo never leaves an empty run directory behind.
        resolved = config.resolve()
        if dataset is None:
            from udd_keras.data import load_dataset

            dataset = load_dataset(resolved.dataset, data_dir=data_dir)
        manifest = None
        if trajectory_dir is not None:
            manifest = trajectory_manifest(resolved, dataset.x_train, dataset.y_train)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.chief = is_chief(self.strategy)
        # `out_dir` holds the run (the chief's outputs); `run_dir` is where this
        # process writes: `out_dir` itself, or a worker's temporary directory.
        self.shared_dir = RunDirectory(out_dir) if out_dir is not None else None
        self.run_dir = None
        if out_dir is not None:
            self.run_dir = RunDirectory(worker_directory(out_dir, self.strategy))
            if self.chief:
                self.run_dir.prepare(resume=resume, force=force)
            else:
                self.run_dir.prepare(force=True)
        try:
            if resume and self.run_dir is not None:
                config = self._check_resume_config(config)
            self.config = config.resolve()
            self._check_dataset(dataset)
            self._check_budget_strategy()
            self.trajectory = None
            self._next_real_step = None
            trajectory_dir = self._pool_trajectory_dir(trajectory_dir)
            if trajectory_dir is not None:
                if manifest is None or self.config != resolved:
                    # A resumed run's own settings.
                    manifest = trajectory_manifest(
                        self.config, dataset.x_train, dataset.y_train
                    )
                self.trajectory = TrajectoryCache(
                    trajectory_dir, manifest, writable=self.chief
                )
        except BaseException:
            self._release_run_dir()
            raise
        self.dataset = dataset
        self.resume = resume
        self.logdir = logdir
        self.callbacks = list(callbacks)
        images, self.labels = initial_images(
            dataset.x_train,
            dataset.y_train,
            dataset.num_classes,
            self.config.ipc,
            init=self.config.init,
            factor=self.config.factor,
            seed=self.config.seed,
            selection=self.config.init_selection,
        )
        self.engine = DistillationEngine(
            self.config,
            dataset.x_train,
            dataset.y_train,
            dataset.num_classes,
            images,
            pixel_range=pixel_range(dataset.normalization, dataset.image_shape[-1]),
            strategy=self.strategy,
        )
        # lr_img is a rate for [0, 1] pixels (as IDC's); the optimizer turns
        # it into a per-channel rate for the normalised images.
        self.std = np.broadcast_to(
            np.asarray(dataset.normalization.std, np.float32),
            (dataset.image_shape[-1],),
        )
        self.step = tf.Variable(0, dtype=tf.int64, name="step")
        # Seconds of loop time the checkpointed steps used (the time budget's).
        self.elapsed = tf.Variable(0.0, dtype=tf.float64, name="elapsed_seconds")
        self.clock = time.perf_counter
        self.stopped_by_budget = False
        self.metrics_log = MetricsLog(self.config.log_every, self.run_dir)
        self.checkpoint = tf.train.Checkpoint(
            **self._checkpointed_state(),
            image_optimizer=self.engine.image_optimizer,
            trained_boxes=self.engine.trained_boxes,
            elapsed_seconds=self.elapsed,
        )
        self._boxes_restored = False
        self.manager = None
        if self.run_dir is not None:
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, str(self.run_dir.checkpoints), max_to_keep=2
            )

    def _checkpointed_state(self):
        """What every checkpoint layout holds, the image optimizer aside."""
        engine = self.engine
        return dict(
            step=self.step,
            images=engine.images,
            # The variables themselves: Keras 3 does not expose layers kept in
            # Python lists to TF's object-graph checkpointing.
            network_weights=list(engine.model.weights),
            network_velocity=engine.network_velocity,
            class_centers=engine.class_centers,
            centers_filled=engine.centers_filled,
        )

    def _earlier_layouts(self):
        """Checkpoints of every earlier layout, newest first.

        Returns:
            `[(checkpoint, restores_boxes)]`: without the time used (layout of
            2026-12, whose runs had no time budget: the time counts from 0),
            then `_legacy_checkpoints()`.
        """
        without_time = tf.train.Checkpoint(
            **self._checkpointed_state(),
            image_optimizer=self.engine.image_optimizer,
            trained_boxes=self.engine.trained_boxes,
        )
        return [(without_time, True), *self._legacy_checkpoints()]

    def _legacy_checkpoints(self):
        """Checkpoints of the layouts before the image optimizers had classes.

        Their image-optimizer state was kept under `image_velocity` (SGD's
        velocity, Adam's first moment), `image_second_moment` and
        `image_updates` (Adam's; unused zeros under SGD) and `image_lr`.

        Returns:
            `[(checkpoint, restores_boxes)]`: with the trained boxes (layout of
            2026-12-02), then without (before the boxes were kept).
        """
        optimizer = self.engine.image_optimizer
        if isinstance(optimizer, ImageAdam):
            first, second, updates = optimizer.state()
        else:
            (first,) = optimizer.state()
            # Read and dropped: SGD has no such state.
            second = tf.Variable(tf.zeros_like(first))
            updates = tf.Variable(0.0)
        state = dict(
            **self._checkpointed_state(),
            image_velocity=first,
            image_second_moment=second,
            image_updates=updates,
            image_lr=optimizer.learning_rate,
        )
        return [
            (
                tf.train.Checkpoint(**state, trained_boxes=self.engine.trained_boxes),
                True,
            ),
            (tf.train.Checkpoint(**state), False),
        ]

    # ------------------------------------------------------------ validation

    def _check_resume_config(self, config):
        if not self.shared_dir.config.exists():
            raise RunDirectoryError(
                f"nothing to resume in {self.shared_dir.path}: it holds no config"
            )
        values = self.shared_dir.read_config()
        ignored = {"iterations", "checkpoint_every", "log_every"}
        # Given: replaces the run's budget (e.g. extends it); omitted: kept.
        ignored.add("time_budget_minutes")
        if "formation" not in values:
            # Written before formations existed: the fields added since take
            # the values that run used, and the run keeps the settings it was
            # started with even where today's defaults differ (the same
            # command resumes it).
            values = {**_PRE_FORMATION_SETTINGS, **values}
            ignored |= _CHANGED_WITH_FORMATIONS
        # Settings the command leaves to their defaults (None) keep the run's
        # values, so the same command resumes a run started under older
        # defaults (udd trained tiles+regions by default before it trained
        # tiles); settings given explicitly must match.
        ignored |= {
            field.name
            for field in dataclasses.fields(config)
            if getattr(config, field.name) is None
        }
        # Resolved, so that the saved config compares with the values the run
        # used for every field.
        saved = DistillConfig.from_dict(values).resolve()
        # precision "auto" resumes in the precision the run started with.
        given = config.resolve(auto_precision=saved.precision).to_dict()
        if not saved.mines_regions:
            # P is unused when nothing is mined (older configs stored 8).
            ignored.add("num_selected")
        differing = [
            key
            for key, value in saved.to_dict().items()
            if key not in ignored and given.get(key) != value
        ]
        if differing:
            shown = ", ".join(
                f"{key}={given[key]!r} (run has {saved.to_dict()[key]!r})"
                for key in differing[:3]
            )
            raise RunDirectoryError(
                f"--resume with settings that differ from the run in "
                f"{self.shared_dir.path}: {shown}"
            )
        budget = config.time_budget_minutes
        if budget is None:
            budget = saved.time_budget_minutes
        self._budget_changed = budget != saved.time_budget_minutes
        return dataclasses.replace(
            saved, iterations=config.iterations, time_budget_minutes=budget
        )

    def _check_budget_strategy(self):
        if self.config.time_budget_minutes is not None and is_multi_worker(
            self.strategy
        ):
            raise UddError(
                "a time budget is not supported with several workers (each "
                "worker's clock could stop it at a different step); set "
                "--iterations instead"
            )

    def _check_dataset(self, dataset):
        counts = np.bincount(dataset.y_train, minlength=dataset.num_classes)
        if self.config.ipc > counts.min():
            raise UddError(
                f"ipc {self.config.ipc} is larger than the smallest class of "
                f"{dataset.name} ({counts.min()} training images); allowed 1.."
                f"{counts.min()}"
            )
        needed = self.config.ipc * (4 if self.config.init == "mosaic" else 1)
        if needed > counts.min():
            raise UddError(
                f"init 'mosaic' needs {needed} real images per class; the smallest "
                f"class has {counts.min()}"
            )

    # -------------------------------------------------------------- schedule

    @property
    def total_steps(self):
        return self.config.iterations * self.config.inner_steps

    def image_lr_at(self, iteration):
        """Image learning rate at an outer iteration (step decay at fractions)."""
        config = self.config
        milestones = [round(f * config.iterations) for f in config.lr_decay_at]
        return self._decayed_image_lr(sum(iteration >= m for m in milestones if m > 0))

    def image_lr_at_budget_fraction(self, fraction):
        """Image learning rate once `fraction` of the time budget is used.

        Example: with `lr_decay_at=(0.6, 0.8, 0.9)`, the base rate until 60%
        of the budget, half of it from 60%, a quarter from 80%, an eighth from
        90%.
        """
        decays = sum(fraction >= f for f in self.config.lr_decay_at if f > 0)
        return self._decayed_image_lr(decays)

    def _decayed_image_lr(self, decays):
        config = self.config
        base = config.image_lr(self.dataset.image_shape)
        return base * config.lr_decay_factor**decays

    def _network_seed(self, iteration):
        return self.config.seed * 100_003 + iteration

    def pooled_iteration(self, iteration):
        """The outer iteration whose network, real batches and augmentation
        outer iteration `iteration` uses: itself, or its place in the
        `network_pool`.

        Example: with `network_pool=3`, iterations 0, 1, 2, 3, 4 use 0, 1, 2,
        0, 1.
        """
        pool = self.config.network_pool
        return iteration if pool is None else iteration % pool

    def steps_to_compute(self, step):
        """How many of the steps from `step` on will compute their real side.

        The others replay it from the trajectory (`--network-pool`,
        `--trajectory-cache`): the entries already stored, and those this run
        stores before it reaches them.

        Args:
            step: int, the next step to take (0-based).

        Returns:
            int, at most `total_steps - step`.
        """
        if self.trajectory is None:
            return max(self.total_steps - step, 0)
        inner_steps = self.config.inner_steps
        entries = {
            (self.pooled_iteration(s // inner_steps), s % inner_steps)
            for s in range(step, self.total_steps)
        }
        return sum(entry not in self.trajectory for entry in entries)

    # ------------------------------------------------------------------- run

    def _restore(self):
        """Restores the newest readable checkpoint; False when there is none.

        A checkpoint that cannot be read is skipped for the one before it (two
        are kept). Metric lines logged after the restored step (or all of them
        when no checkpoint was written yet) are dropped, as the run redoes them.
        """
        if not (self.resume and self.shared_dir is not None):
            return False
        # Workers restore from the chief's checkpoints: theirs are temporary.
        directory = str(self.shared_dir.checkpoints)
        state = tf.train.get_checkpoint_state(directory)
        candidates = list(reversed(state.all_model_checkpoint_paths)) if state else []
        problems = []
        for path in candidates:
            try:
                self._restore_checkpoint(path)
            # A damaged file raises OpError, or IndexError ("Read less bytes
            # than requested"); a foreign one an AssertionError or ValueError.
            except (
                tf.errors.OpError,
                AssertionError,
                IndexError,
                KeyError,
                ValueError,
            ) as error:
                first = (str(error).strip().splitlines() or [""])[0][:200]
                problems.append(f"{path}: {type(error).__name__}: {first}")
                continue
            self.run_dir.truncate_metrics(int(self.step.numpy()))
            return True
        if problems:
            raise CheckpointError(
                f"no readable checkpoint in {directory} ({problems[0]}); "
                "start the run over with --force"
            )
        self.run_dir.truncate_metrics(0)
        return False

    def _restore_checkpoint(self, path):
        """Restores `path`, written by this layout or an earlier one."""
        try:
            self.checkpoint.restore(path).assert_consumed()
            self._boxes_restored = True
            return
        except AssertionError as error:
            mismatch = error
        for checkpoint, restores_boxes in self._earlier_layouts():
            try:
                checkpoint.restore(path).assert_consumed()
            except AssertionError as error:
                mismatch = error
                continue
            self._boxes_restored = restores_boxes
            return
        raise mismatch

    def _pool_trajectory_dir(self, given):
        """The trajectory cache of the run: `given`, else a `network_pool`
        run's own (the run's `trajectory/` folder, or a temporary folder
        removed when the run ends), else None."""
        if given is not None or self.config.network_pool is None:
            return given
        if self.shared_dir is not None:
            return self.shared_dir.trajectory
        self._pool_directory = tempfile.TemporaryDirectory(prefix="udd-keras-pool-")
        return self._pool_directory.name

    def _release_run_dir(self):
        """Unlocks the output directory; deletes a worker's temporary one and
        a pool's temporary trajectory."""
        if self._pool_directory is not None:
            self._pool_directory.cleanup()
            self._pool_directory = None
        if self.run_dir is None:
            return
        self.run_dir.unlock()
        if not self.chief:
            remove_worker_directory(self.run_dir.path, self.shared_dir.path)

    def _kept_checkpoint(self):
        """Says which checkpoint is kept, for error messages."""
        latest = self.manager.latest_checkpoint if self.manager else None
        if latest is None:
            return "no checkpoint had been saved yet"
        return f"the last good checkpoint {latest} is kept"

    def _check_state_is_finite(self, iteration, inner):
        """Raises `NonFiniteLossError` if the images or network hold NaN / inf.

        Checked before every checkpoint, so that a saved checkpoint is good.
        """
        for variable in (self.engine.images, *self.engine.model.weights):
            value = tf.convert_to_tensor(variable)
            if value.dtype.is_floating and not bool(
                tf.reduce_all(tf.math.is_finite(value))
            ):
                name = getattr(variable, "path", None) or variable.name
                raise NonFiniteLossError(
                    f"{name} became NaN or infinite at iteration {iteration}, "
                    f"inner step {inner}; {self._kept_checkpoint()}. Try a "
                    f"smaller --lr-img (now {self.config.lr_img})"
                )

    def save(self):
        """Writes a checkpoint of the current step (no-op without `out_dir`).

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
            detail = (str(error).strip().splitlines() or [""])[0][:200]
            raise CheckpointError(
                f"could not save the checkpoint of step {step} in "
                f"{self.run_dir.checkpoints} ({type(error).__name__}: {detail}); "
                f"{self._kept_checkpoint()}; fix the problem and rerun the same "
                "command with --resume"
            ) from None

    def run(self):
        """Runs (or continues) the distillation to the last step and exports it.

        Returns:
            A `DistillResult`.

        Raises:
            DistillationInterrupted: on SIGINT / SIGTERM, after a checkpoint.
            DistillationPreempted: under a multi-worker strategy, on SIGINT /
                SIGTERM to any worker, after every worker saved the same step.
            WorkerLostError: under a multi-worker strategy, when another worker
                stopped answering; the last checkpoint is kept.
            NonFiniteLossError: when a loss becomes NaN or infinite; the last
                good checkpoint is kept.
        """
        start = time.perf_counter()
        callbacks = CallbackList()
        try:
            restored = self._restore()
            if self.run_dir is not None and (not restored or self._budget_changed):
                self.run_dir.write_config(self.config.to_dict())
            with stop_on_notice(
                self.strategy,
                self._save_checked,
                self._preempted,
                self._after_lost_worker,
            ) as (stop, coordinator):
                callbacks = self._loop_callbacks(stop, coordinator)
                self._loop(callbacks)
            result = self._finish(time.perf_counter() - start)
        except tf.errors.OpError as error:
            lost = worker_lost_error(error, self.strategy, self._after_lost_worker())
            if lost is None:
                raise
            raise lost from None
        finally:
            try:
                callbacks.close()
            finally:
                self._release_run_dir()
        return result

    def _loop_callbacks(self, stop, coordinator):
        """The loop's callbacks, in the order `distillation.callbacks` gives."""
        config = self.config
        callbacks = [
            TerminateOnNonFinite(self._kept_checkpoint, config.lr_img),
            self.metrics_log,
        ]
        if self.logdir and self.chief:
            callbacks.append(TensorBoard(self.logdir, config.log_every))
        checkpoints = Checkpoints(
            self._save_checked,
            config.checkpoint_every,
            config.inner_steps,
            stop,
            coordinator,
            self._interrupted,
        )
        return CallbackList([*callbacks, *self.callbacks, checkpoints])

    def _save_checked(self):
        """Saves the current step, once its state is checked finite."""
        iteration, inner = divmod(int(self.step.numpy()) - 1, self.config.inner_steps)
        self._check_state_is_finite(iteration, inner)
        self.save()

    def _interrupted(self, stop):
        """The error of a run stopped by a signal, raised after its checkpoint."""
        return self._stopped(stop.signal_name, stop.signal_number)

    def _preempted(self, notice, signal_number):
        """The error of a multi-worker run stopped by a notice, every worker saved."""
        return self._stopped(notice, signal_number, preempted=True)

    def _stopped(self, cause, signal_number, preempted=False):
        if self.shared_dir is None:
            where = "nothing saved (no output directory)"
        elif preempted:
            where = (
                f"every worker saved its checkpoint in {self.shared_dir.path}; "
                "restart every worker with the same command and --resume"
            )
        else:
            where = (
                f"checkpoint saved in {self.shared_dir.path}; resume with "
                "--resume (the same command and settings)"
            )
        error = DistillationPreempted if preempted else DistillationInterrupted
        return error(
            f"stopped by {cause} at step {int(self.step.numpy())}/"
            f"{self.total_steps}; {where}",
            signal_number=signal_number,
        )

    def _after_lost_worker(self):
        """What a run that lost a worker keeps, and how to continue it."""
        if self.shared_dir is None:
            return "nothing saved (no output directory)"
        latest = self.manager.latest_checkpoint if self.manager else None
        if latest is None:
            kept = f"no checkpoint was saved yet in {self.shared_dir.path}"
        else:
            step = latest.rsplit("-", 1)[-1]
            kept = f"the checkpoint of step {step} in {self.shared_dir.path} is kept"
        return (
            f"{kept}; once every worker can run again, restart all of them with "
            "the same command and --resume"
        )

    def _loop(self, callbacks):
        """Takes the remaining steps, calling `callbacks` around each.

        With a time budget, stops before a step that would end past it (see
        `TimeBudget.next_step_fits`) after saving a final checkpoint.
        """
        config = self.config
        base_key = tf.constant([config.seed, 0], tf.int32)
        step = int(self.step.numpy())
        first = step
        budget_minutes = config.time_budget_minutes
        budget = TimeBudget(
            None if budget_minutes is None else 60.0 * budget_minutes,
            self.elapsed,
            clock=self.clock,
        )
        callbacks.on_start(step, self.total_steps)
        budget.start()
        network_ready = self.resume and step % config.inner_steps != 0
        # With a trajectory, each step's logs say whether it replayed its real
        # side and how many steps left will compute theirs (`RunTimeEstimate`).
        to_compute = None if self.trajectory is None else self.steps_to_compute(step)
        lr = None
        last = time.perf_counter()
        while step < self.total_steps:
            if not budget.next_step_fits():
                self.stopped_by_budget = True
                if step > first:
                    budget.record()
                    self._save_checked()
                return
            iteration, inner = divmod(step, config.inner_steps)
            real_iteration = self.pooled_iteration(iteration)
            if budget.seconds is None:
                step_lr = self.image_lr_at(iteration)
            else:
                step_lr = self.image_lr_at_budget_fraction(budget.fraction())
            if inner == 0 or not network_ready:
                if inner == 0:
                    self.engine.reset_network(self._network_seed(real_iteration))
                network_ready = True
                lr = None
            if step_lr != lr:
                # Without a budget: at the start of every outer iteration.
                lr = step_lr
                self.engine.image_optimizer.set_pixel_learning_rate(lr, self.std)
            logs, replayed = self._train_step(
                base_key, real_iteration, inner, self.reselects_regions(inner)
            )
            self._boxes_restored = True
            step += 1
            self.step.assign(step)
            used = budget.record()
            now = time.perf_counter()
            logs = {
                "step": step,
                "iteration": iteration,
                "inner_step": inner,
                **{name: float(value) for name, value in logs.items()},
                "image_lr": step_lr,
                "seconds": now - last,
            }
            if to_compute is not None:
                to_compute -= not replayed
                logs["replayed"] = float(replayed)
                logs["steps_to_compute"] = to_compute
            if budget.seconds is not None:
                logs["time_used"] = used
                logs["time_left"] = max(budget.seconds - used, 0.0)
            last = now
            callbacks.on_step(step, self.total_steps, logs)

    def reselects_regions(self, inner):
        """Whether the next step selects its regions anew (`region_period`).

        Otherwise it trains on the boxes kept in the engine's `trained_boxes`
        (the last step's, restored with the checkpoint on resume).

        Args:
            inner: int, the next step's inner step in its outer iteration.

        Returns:
            bool: always under `"step"`; under `"iteration"` at the first
            inner step of an outer iteration; under `"run"` at the run's first
            step. A step with no boxes kept (the run's first, or the first
            after a restore from a checkpoint older than the boxes' record)
            always selects.
        """
        period = self.config.region_period
        # `_boxes_restored`: `trained_boxes` hold the last step's boxes.
        if period == "step" or not self._boxes_restored:
            return True
        return period == "iteration" and inner == 0

    def _train_step(self, base_key, iteration, inner, reselect_regions=True):
        """One inner step, its real side replayed or recorded when cached.

        `iteration` is the pooled one (`pooled_iteration`): it keys the step's
        random draws and its cache entry; `reselect_regions` is
        `reselects_regions`'s answer. Returns `(logs, replayed)`, the second
        True when the real side was read from the trajectory.

        A replayed step leaves the network as the next step needs it: loaded
        from the next step's entry, or trained from this one when the next
        step is not stored (so a checkpoint always holds the right network).
        """
        key = fold_in(base_key, iteration, inner)
        first = inner == 0
        if self.trajectory is None:
            return self.engine.train_step(key, first, reselect_regions), False
        real_step = None
        if self._next_real_step is not None and self._next_real_step[0] == (
            iteration,
            inner,
        ):
            real_step = self._next_real_step[1]
        self._next_real_step = None
        if real_step is None:
            real_step = self.trajectory.load(iteration, inner)
        if real_step is None:
            logs, real_step = self.engine.record_step(key, first, reselect_regions)
            self.trajectory.save(iteration, inner, real_step)
            return logs, False
        self.engine.load_network(real_step)
        logs = self.engine.replay_step(key, first, real_step, reselect_regions)
        if inner + 1 < self.config.inner_steps:
            following = self.trajectory.load(iteration, inner + 1)
            if following is None:
                self.engine.update_network(key)
            else:
                self.engine.load_network(following)
                self._next_real_step = ((iteration, inner + 1), following)
        return logs, True

    def final_regions(self):
        """The regions the images were last trained on; int32 (N, K, 4).

        These are the boxes of the last inner step, kept in the checkpoint, so
        a run restored at its end exports the same boxes. A run that has taken
        no step (or was restored from a checkpoint older than this record)
        selects them with the current network and the last step's key.
        """
        if self._boxes_restored:
            return self.engine.trained_boxes.numpy()
        step = max(self.total_steps - 1, 0)
        iteration, inner = divmod(step, self.config.inner_steps)
        iteration = self.pooled_iteration(iteration)
        key = fold_in(tf.constant([self.config.seed, 0], tf.int32), iteration, inner)
        return self.engine.select_regions(key).numpy()

    def _finish(self, seconds):
        result = self.snapshot(seconds)
        result.steps = int(self.step.numpy())
        result.stopped_by_budget = self.stopped_by_budget
        if self.run_dir is not None and self.chief:
            export(result, self.dataset, self.run_dir.tfrecord, self.run_dir.png)
        return result

    def snapshot(self, seconds=0.0):
        """The current images and regions as a `DistillResult`, without export.

        Before `run()` this is the un-optimised initialisation.
        """
        images = self.engine.images.numpy()
        boxes = self.final_regions()
        return DistillResult(
            images=images,
            labels=self.labels,
            boxes=boxes,
            config=self.config,
            metrics=self.metrics_log.read(),
            seconds=seconds,
            out_dir=self.shared_dir.path if self.shared_dir else None,
        )


def export(result, dataset, tfrecord_path, png_path=None):
    """Writes a `DistillResult` as a synthetic-set TFRecord (and a PNG grid).

    Args:
        result: a `DistillResult`.
        dataset: the `ImageDataset` it was distilled from.
        tfrecord_path: where to write the TFRecord.
        png_path: where to write the image grid, or None.

    Returns:
        The TFRecord path.
    """
    from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set
    from udd_keras.visualization import save_image_grid

    config = result.config
    metadata = SyntheticSetMetadata.for_dataset(
        dataset,
        config.ipc,
        config.method,
        include_original=bool(config.include_original),
        extra={
            "formation": config.formation,
            "decode": config.decode,
            "config": config.to_dict(),
        },
    )
    # The formation decides what a stored image decodes to: every box it was
    # last trained on, or only the fixed part (the tiles) before the mined ones.
    boxes = result.boxes[:, : config.decoded_regions_per_image]
    boxes = boxes if boxes.shape[1] else None
    path = write_synthetic_set(
        tfrecord_path, result.images, result.labels, metadata, boxes=boxes
    )
    if png_path is not None:
        decoded, decoded_names = _decoded_for_display(path, config)
        save_image_grid(
            png_path,
            result.images,
            result.labels,
            list(dataset.class_names),
            normalization=dataset.normalization,
            decoded=decoded,
            decoded_names=decoded_names,
        )
    return path


def _decoded_for_display(tfrecord_path, config):
    """What each stored image of the written set decodes to, and the names.

    Returns:
        `(decoded, names)`: float32 (N * K, H, W, C) read back from the file as
        evaluation decodes it, and K names (`"original"`, `"tile k"`, `"region
        k"`); `(None, None)` when every image decodes to itself.
    """
    from udd_keras.tfrecords import decode_regions, read_synthetic_set

    regions = config.decoded_regions_per_image
    if regions == 0:
        return None, None
    tiles = min(config.fixed_regions_per_image, regions)
    names = ["original"] if config.include_original else []
    names += [f"tile {k + 1}" for k in range(tiles)]
    names += [f"region {k + 1}" for k in range(regions - tiles)]
    decoded, _ = decode_regions(read_synthetic_set(tfrecord_path))[:2]
    return decoded, names


# The keyword arguments of `distill` that go to `Distiller`, not to the config.
RUN_OPTIONS = ("resume", "force", "logdir", "strategy", "data_dir", "trajectory_dir")


def distill(
    dataset,
    ipc=1,
    out_dir=None,
    *,
    preset=None,
    progress=False,
    callbacks=(),
    **options,
):
    """Distils `dataset` into `ipc` synthetic images per class.

    Args:
        dataset: a source name (e.g. `"digits"`, `"fashion_mnist"`) or an
            `ImageDataset`.
        ipc: int, images per class.
        out_dir: directory for the TFRecord, PNG, config, metrics and
            checkpoints, or None to keep the result in memory.
        preset: None (the paper's settings) or a name in
            `udd_keras.distillation.presets.PRESETS`, e.g. `"cpu-hour"`;
            settings given explicitly win over the preset's.
        progress: bool, show a rich progress bar.
        callbacks: `udd_keras.training.Callback`s (or objects with some of
            `on_start`, `on_step`, `close`), see `Distiller`.
        **options: the run options `resume`, `force`, `logdir`, `strategy`,
            `data_dir` (see `Distiller`), and any `DistillConfig` field, e.g.
            `method="idc"`, `iterations=10`, `time_budget_minutes=30` (stop
            after 30 minutes of distillation, with the set exported; see
            `Distiller`).

    Returns:
        A `DistillResult`.

    Example:
    >>> result = distill("digits", ipc=1, iterations=1, inner_steps=2, width=16)
    >>> result.images.shape
    (10, 8, 8, 1)
    """
    name = dataset if isinstance(dataset, str) else dataset.name
    loaded = None if isinstance(dataset, str) else dataset
    run_options = {key: options.pop(key) for key in RUN_OPTIONS if key in options}
    if preset is not None:
        options = preset_settings(preset, **options)
    config = DistillConfig(dataset=name, ipc=ipc, **options)
    distiller = Distiller(
        config, dataset=loaded, out_dir=out_dir, callbacks=callbacks, **run_options
    )
    if progress:
        from udd_keras.progress import DistillProgress

        # The resolved config: a resumed run keeps the budget it started with.
        budget = distiller.config.time_budget_minutes
        distiller.callbacks.append(
            DistillProgress(time_budget=None if budget is None else 60.0 * budget)
        )
    return distiller.run()
