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
import time

import numpy as np
import tensorflow as tf

from udd_keras.distillation.callbacks import (
    TENSORBOARD_SCALARS,
    MetricsLog,
    TerminateOnNonFinite,
    progress_status,
)
from udd_keras.distillation.checkpoints import (
    Checkpoints,
    DistillationInterrupted,
    DistillationPreempted,
)
from udd_keras.distillation.config import DistillConfig
from udd_keras.distillation.engine import DistillationEngine
from udd_keras.distillation.initialization import initial_images
from udd_keras.distillation.presets import preset_settings
from udd_keras.distillation.run_directory import RunDirectory
from udd_keras.distillation.schedule import DistillSchedule
from udd_keras.distillation.time_budget import TimeBudget
from udd_keras.distillation.trajectory import TrajectoryReplay, trajectory_manifest
from udd_keras.distribute import is_chief, remove_worker_directory
from udd_keras.errors import UddError
from udd_keras.preemption import (
    is_multi_worker,
    reporting_lost_workers,
    stop_on_notice,
)
from udd_keras.training.callbacks import CallbackList
from udd_keras.training.tensorboard import TensorBoard

__all__ = [
    "DistillResult",
    "DistillationInterrupted",
    "DistillationPreempted",
    "Distiller",
    "distill",
    "export",
    "pixel_range",
]


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


def _check_run(config, dataset, strategy):
    """Raises `UddError` for settings the data or the strategy cannot run."""
    counts = np.bincount(dataset.y_train, minlength=dataset.num_classes)
    if config.ipc > counts.min():
        raise UddError(
            f"ipc {config.ipc} is larger than the smallest class of "
            f"{dataset.name} ({counts.min()} training images); allowed 1.."
            f"{counts.min()}"
        )
    needed = config.ipc * (4 if config.init == "mosaic" else 1)
    if needed > counts.min():
        raise UddError(
            f"init 'mosaic' needs {needed} real images per class; the smallest "
            f"class has {counts.min()}"
        )
    if config.time_budget_minutes is not None and is_multi_worker(strategy):
        raise UddError(
            "a time budget is not supported with several workers (each "
            "worker's clock could stop it at a different step); set "
            "--iterations instead"
        )


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
        trajectory_dir: directory of a `TrajectoryCache`, or None: the real
            side of each step is read from it where an earlier run on the
            same data, seed and network settings stored it, and stored there
            where not (`distillation/trajectory.py`); the images are the same
            either way (not for method `dc`). A `network_pool` run without one
            keeps its pool in the run's `trajectory/` folder (a temporary one
            without `out_dir`).
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
        self.shared_dir = self.run_dir = self.replay = None
        if out_dir is not None:
            self.shared_dir, self.run_dir = RunDirectory.for_process(
                out_dir, self.strategy, resume, force
            )
        try:
            self.config, self._budget_changed = resolved, False
            if resume and self.run_dir is not None:
                self.config, self._budget_changed = self.shared_dir.resumed_config(
                    config
                )
            _check_run(self.config, dataset, self.strategy)
            self.schedule = DistillSchedule(self.config, dataset.image_shape)
            self.replay = TrajectoryReplay.for_run(
                trajectory_dir,
                self.schedule,
                (dataset.x_train, dataset.y_train),
                run_folder=self.shared_dir.trajectory if self.shared_dir else None,
                writable=self.chief,
                manifest=manifest if self.config == resolved else None,
            )
        except BaseException:
            self._release_run_dir()
            raise
        self.trajectory = self.replay.cache if self.replay else None
        self.dataset = dataset
        self.resume = resume
        self.logdir = logdir
        self.callbacks = list(callbacks)
        self._build(dataset)

    def _build(self, dataset):
        """The initial images, the engine, the step counter and the checkpoints."""
        config = self.config
        images, self.labels = initial_images(
            dataset.x_train,
            dataset.y_train,
            dataset.num_classes,
            config.ipc,
            init=config.init,
            factor=config.factor,
            seed=config.seed,
            selection=config.init_selection,
        )
        channels = dataset.image_shape[-1]
        self.engine = DistillationEngine(
            config,
            dataset.x_train,
            dataset.y_train,
            dataset.num_classes,
            images,
            pixel_range=pixel_range(dataset.normalization, channels),
            strategy=self.strategy,
        )
        # lr_img is a rate for [0, 1] pixels (as IDC's); the optimizer turns
        # it into a per-channel rate for the normalised images.
        self.std = np.broadcast_to(
            np.asarray(dataset.normalization.std, np.float32), (channels,)
        )
        self.step = tf.Variable(0, dtype=tf.int64, name="step")
        # Seconds of loop time the checkpointed steps used (the time budget's).
        self.elapsed = tf.Variable(0.0, dtype=tf.float64, name="elapsed_seconds")
        self.clock = time.perf_counter
        self.stopped_by_budget = False
        # Whether the engine's `trained_boxes` hold the last step's boxes.
        self.boxes_kept = False
        self.metrics_log = MetricsLog(config.log_every, self.run_dir)
        self.checkpoints = Checkpoints(
            self.step,
            self.engine,
            self.elapsed,
            config,
            self.run_dir.checkpoints if self.run_dir else None,
            self.shared_dir.path if self.shared_dir else None,
        )
        self.checkpoint = self.checkpoints.checkpoint

    @property
    def total_steps(self):
        return self.schedule.total_steps

    def steps_to_compute(self, step):
        """How many of the steps from `step` (0-based) on will compute their
        real side; the others replay it (`TrajectoryReplay.steps_to_compute`)."""
        if self.replay is None:
            return max(self.total_steps - step, 0)
        return self.replay.steps_to_compute(step)

    def _network_seed(self, iteration):
        """The seed of (pooled) outer iteration `iteration`'s network."""
        return self.schedule.network_seed(iteration)

    # ------------------------------------------------------------------- run

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
        checkpoints = self.checkpoints
        try:
            with reporting_lost_workers(self.strategy, checkpoints.after_lost_worker):
                restored = self._restore()
                if self.run_dir is not None and (not restored or self._budget_changed):
                    self.run_dir.write_config(self.config.to_dict())
                with stop_on_notice(
                    self.strategy,
                    checkpoints.save_checked,
                    checkpoints.preempted,
                    checkpoints.after_lost_worker,
                ) as stop:
                    checkpoints.stop = stop
                    callbacks = self._callbacks()
                    self._loop(callbacks)
                result = self._finish(time.perf_counter() - start)
        finally:
            checkpoints.stop = None
            try:
                callbacks.close()
            finally:
                self._release_run_dir()
        return result

    def _restore(self):
        """Restores the newest readable checkpoint of a resumed run; False when
        there is none (see `Checkpoints.restore`).

        Metric lines logged after the restored step (or all of them when no
        checkpoint was written yet) are dropped, as the run redoes them.
        """
        if not (self.resume and self.shared_dir is not None):
            return False
        # Workers restore from the chief's checkpoints: theirs are temporary.
        restored = self.checkpoints.restore(self.shared_dir.checkpoints)
        if restored is not None:
            self.boxes_kept = restored[1]
        self.run_dir.truncate_metrics(0 if restored is None else restored[0])
        return restored is not None

    def _callbacks(self):
        """The loop's callbacks, in the order `distillation.callbacks` gives."""
        config = self.config
        callbacks = [
            TerminateOnNonFinite(self.checkpoints.kept, config.lr_img),
            self.metrics_log,
        ]
        if self.logdir and self.chief:
            board = TensorBoard(self.logdir, TENSORBOARD_SCALARS, config.log_every)
            callbacks.append(board)
        return CallbackList([*callbacks, *self.callbacks, self.checkpoints])

    def _release_run_dir(self):
        """Unlocks the output directory; deletes a worker's temporary one and
        a pool's temporary trajectory."""
        if self.replay is not None:
            self.replay.close()
        if self.run_dir is None:
            return
        self.run_dir.unlock()
        if not self.chief:
            remove_worker_directory(self.run_dir.path, self.shared_dir.path)

    def _loop(self, callbacks):
        """Takes the remaining steps, calling `callbacks` after each.

        With a time budget, stops before a step that would end past it (see
        `TimeBudget.next_step_fits`) after saving a final checkpoint.
        """
        config = self.config
        step = first = int(self.step.numpy())
        budget = TimeBudget.of_minutes(
            config.time_budget_minutes, self.elapsed, clock=self.clock
        )
        callbacks.on_start(step, self.total_steps)
        budget.start()
        network_ready = self.resume and step % config.inner_steps != 0
        if self.replay is not None:
            self.replay.start(step)
        lr = None
        last = time.perf_counter()
        while step < self.total_steps:
            if not budget.next_step_fits():
                self.stopped_by_budget = True
                if step > first:
                    budget.record()
                    self.checkpoints.save_checked()
                return
            iteration, inner = divmod(step, config.inner_steps)
            fraction = None if budget.seconds is None else budget.fraction()
            step_lr = self.schedule.image_lr(iteration, fraction)
            if inner == 0 or not network_ready:
                if inner == 0:
                    pooled = self.schedule.pooled_iteration(iteration)
                    self.engine.reset_network(self.schedule.network_seed(pooled))
                network_ready = True
                lr = None
            if step_lr != lr:
                # Without a budget: at the start of every outer iteration.
                lr = step_lr
                self.engine.image_optimizer.set_pixel_learning_rate(lr, self.std)
            logs, replayed = self._train_step(iteration, inner)
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
                # With a trajectory: whether the step replayed its real side,
                # and how many steps left will compute theirs (for
                # `RunTimeEstimate`).
                **(self.replay.logs(replayed) if self.replay else {}),
                **budget.logs(used),
            }
            last = now
            callbacks.on_step(step, self.total_steps, logs)

    def _train_step(self, iteration, inner):
        """One inner step of outer iteration `iteration`: `(logs, replayed)`,
        the second True when its real side was read from the trajectory."""
        schedule = self.schedule
        pooled = schedule.pooled_iteration(iteration)
        key = schedule.key(pooled, inner)
        reselect = schedule.reselects_regions(inner, self.boxes_kept)
        if self.replay is None:
            logs, replayed = self.engine.train_step(key, inner == 0, reselect), False
        else:
            logs, replayed = self.replay.step(self.engine, key, pooled, inner, reselect)
        self.boxes_kept = True
        return logs, replayed

    def final_regions(self):
        """The regions the images were last trained on; int32 (N, K, 4).

        These are the boxes of the last inner step, kept in the checkpoint, so
        a run restored at its end exports the same boxes. A run that has taken
        no step (or was restored from a checkpoint older than this record)
        selects them with the current network and the last step's key.
        """
        if self.boxes_kept:
            return self.engine.trained_boxes.numpy()
        step = max(self.total_steps - 1, 0)
        iteration, inner = divmod(step, self.config.inner_steps)
        key = self.schedule.key(self.schedule.pooled_iteration(iteration), inner)
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
        from udd_keras.progress import ProgressBar

        # The resolved config: a resumed run keeps the budget it started with.
        budget = distiller.config.time_budget_minutes
        distiller.callbacks.append(
            ProgressBar(
                "distill",
                status=progress_status,
                time_budget=None if budget is None else 60.0 * budget,
            )
        )
    return distiller.run()
