"""Algorithm 1 as a resumable run: the `Distiller` and `distill()`.

For each outer iteration the network is re-initialised; for each inner step the
regions are re-selected, the synthetic images are updated by the matching + CFC
loss, and the network is trained on real data (`engine.py`). The run checkpoints
every `checkpoint_every` inner steps and at the end of every outer iteration,
logs metrics, and exports the synthetic set with the regions selected by the
final network.

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
import math
import time

import numpy as np
import tensorflow as tf

from udd_keras.distillation.config import DistillConfig
from udd_keras.distillation.engine import DistillationEngine, fold_in
from udd_keras.distillation.initialization import initial_images
from udd_keras.distillation.presets import preset_settings
from udd_keras.distillation.run_directory import RunDirectory
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
    StopFlag,
    stop_on_notice,
    worker_lost_error,
)
from udd_keras.regions.formations import MINED_FORMATIONS

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
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    config: DistillConfig
    metrics: list
    seconds: float
    out_dir: object = None


# The signal flag moved to `udd_keras.preemption`; the old name stays.
_StopFlag = StopFlag


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
        callbacks: objects with `on_step(step, total, record)` and/or
            `on_start(step, total)`, e.g. a progress bar.

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
        callbacks=(),
    ):
        # Settings and data are checked before the output directory is touched,
        # so a typo never leaves an empty run directory behind.
        resolved = config.resolve()
        if dataset is None:
            from udd_keras.data import load_dataset

            dataset = load_dataset(resolved.dataset, data_dir=data_dir)
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
        # lr_img is a rate for [0, 1] pixels (as IDC's); the images are stored
        # normalised, x = (p - mean) / std, so the same update in pixel space
        # is a step of lr / std**2 per channel in normalised space.
        std = np.broadcast_to(
            np.asarray(dataset.normalization.std, np.float32),
            (dataset.image_shape[-1],),
        )
        # Adam's step does not scale with the gradient: a pixel step of lr is a
        # normalised step of lr / std.
        power = 1 if self.config.image_optimizer == "adam" else 2
        self.lr_scale = (1.0 / std**power).astype(np.float32)
        self.step = tf.Variable(0, dtype=tf.int64, name="step")
        state = dict(
            step=self.step,
            images=self.engine.images,
            image_velocity=self.engine.image_velocity,
            image_second_moment=self.engine.image_second_moment,
            image_updates=self.engine.image_updates,
            image_lr=self.engine.image_lr,
            # The variables themselves: Keras 3 does not expose layers kept in
            # Python lists to TF's object-graph checkpointing.
            network_weights=list(self.engine.model.weights),
            network_velocity=self.engine.network_velocity,
            class_centers=self.engine.class_centers,
            centers_filled=self.engine.centers_filled,
        )
        self.checkpoint = tf.train.Checkpoint(
            **state, trained_boxes=self.engine.trained_boxes
        )
        # Checkpoints written before `trained_boxes` existed restore through
        # this one: the same variables, without the boxes.
        self._legacy_checkpoint = tf.train.Checkpoint(**state)
        self._boxes_restored = False
        self.manager = None
        if self.run_dir is not None:
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, str(self.run_dir.checkpoints), max_to_keep=2
            )

    # ------------------------------------------------------------ validation

    def _check_resume_config(self, config):
        if not self.shared_dir.config.exists():
            raise RunDirectoryError(
                f"nothing to resume in {self.shared_dir.path}: it holds no config"
            )
        values = self.shared_dir.read_config()
        ignored = {"iterations", "checkpoint_every", "log_every"}
        if "formation" not in values:
            # Written before formations existed: the fields added since take
            # the values that run used, and the run keeps the settings it was
            # started with even where today's defaults differ (the same
            # command resumes it).
            values = {**_PRE_FORMATION_SETTINGS, **values}
            ignored |= _CHANGED_WITH_FORMATIONS
        # Resolved, so that the saved config compares with the values the run
        # used for every field.
        saved = DistillConfig.from_dict(values).resolve()
        given = config.resolve().to_dict()
        if saved.formation not in MINED_FORMATIONS:
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
        return dataclasses.replace(saved, iterations=config.iterations)

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
        decays = sum(iteration >= m for m in milestones if m > 0)
        base = config.image_lr(self.dataset.image_shape)
        return base * config.lr_decay_factor**decays

    def _network_seed(self, iteration):
        return self.config.seed * 100_003 + iteration

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
        """Restores `path`, written with or without the trained boxes."""
        try:
            self.checkpoint.restore(path).assert_consumed()
            self._boxes_restored = True
        except AssertionError:
            self._legacy_checkpoint.restore(path).assert_consumed()
            self._boxes_restored = False

    def _release_run_dir(self):
        """Unlocks the output directory; deletes a worker's temporary one."""
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
        try:
            restored = self._restore()
            if self.run_dir is not None and not restored:
                self.run_dir.write_config(self.config.to_dict())
            writer = None
            if self.logdir and self.chief:
                writer = tf.summary.create_file_writer(self.logdir)
            step = int(self.step.numpy())
            for callback in self.callbacks:
                if hasattr(callback, "on_start"):
                    callback.on_start(step, self.total_steps)
            with stop_on_notice(
                self.strategy,
                self._save_on_notice,
                self._preempted,
                self._after_lost_worker,
            ) as (stop, coordinator):
                step = self._loop(step, stop, writer, coordinator)
            result = self._finish(time.perf_counter() - start)
        except tf.errors.OpError as error:
            lost = worker_lost_error(error, self.strategy, self._after_lost_worker())
            if lost is None:
                raise
            raise lost from None
        finally:
            self._release_run_dir()
        return result

    def _save_on_notice(self):
        """The checkpoint every worker saves at the step they agreed to stop at."""
        iteration, inner = divmod(int(self.step.numpy()) - 1, self.config.inner_steps)
        self._check_state_is_finite(iteration, inner)
        self.save()

    def _preempted(self, notice, signal_number):
        step = int(self.step.numpy())
        where = (
            f"every worker saved its checkpoint in {self.shared_dir.path}; restart "
            "every worker with the same command and --resume"
            if self.shared_dir
            else "nothing saved (no output directory)"
        )
        return DistillationPreempted(
            f"stopped by {notice} at step {step}/{self.total_steps}; {where}",
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

    def _loop(self, step, stop, writer, coordinator=None):
        config = self.config
        base_key = tf.constant([config.seed, 0], tf.int32)
        network_ready = self.resume and step % config.inner_steps != 0
        last = time.perf_counter()
        while step < self.total_steps:
            iteration, inner = divmod(step, config.inner_steps)
            if inner == 0 or not network_ready:
                if inner == 0:
                    self.engine.reset_network(self._network_seed(iteration))
                network_ready = True
                self.engine.image_lr.assign(self.image_lr_at(iteration) * self.lr_scale)
            key = fold_in(base_key, iteration, inner)
            boxes = self.engine.select_regions(key)
            self.engine.trained_boxes.assign(boxes)
            self._boxes_restored = True
            if inner == 0 and config.cfc_weight:
                self.engine.fill_centers(boxes)
            losses = self.engine.update_images(key, boxes).numpy()
            network_loss = float(self.engine.update_network(key).numpy())
            values = [*losses.tolist(), network_loss]
            if not all(math.isfinite(v) for v in values):
                names = (
                    "loss",
                    "matching loss",
                    "CFC loss",
                    "CFC gradient ratio",
                    "network loss",
                )
                name, value = next(
                    (n, v)
                    for n, v in zip(names, values, strict=False)
                    if not math.isfinite(v)
                )
                raise NonFiniteLossError(
                    f"{name} became {value} at iteration {iteration}, inner step "
                    f"{inner}; {self._kept_checkpoint()}. Try a smaller "
                    f"--lr-img (now {config.lr_img})"
                )
            step += 1
            self.step.assign(step)
            now = time.perf_counter()
            record = {
                "step": step,
                "iteration": iteration,
                "inner_step": inner,
                "loss": values[0],
                "matching_loss": values[1],
                "cfc_loss": values[2],
                "cfc_gradient_ratio": values[3],
                "network_loss": network_loss,
                "image_lr": self.image_lr_at(iteration),
                "seconds": now - last,
            }
            last = now
            if step % config.log_every == 0 or step == self.total_steps:
                self._log(record, writer)
            for callback in self.callbacks:
                if hasattr(callback, "on_step"):
                    callback.on_step(step, self.total_steps, record)
            end_of_iteration = step % config.inner_steps == 0
            if coordinator is not None:
                # Several workers: all stop after the step they agree on,
                # saving first (`_save_on_notice`, `_preempted`).
                coordinator.step_done()
                stopping = False
            else:
                # Read the flag once: a signal arriving between two reads would
                # otherwise stop the run without the checkpoint its message
                # names.
                stopping = stop.signal_name is not None
            if step % config.checkpoint_every == 0 or end_of_iteration or stopping:
                self._check_state_is_finite(iteration, inner)
                self.save()
            if stopping:
                where = (
                    f"checkpoint saved in {self.shared_dir.path}; resume with "
                    "--resume (the same command and settings)"
                    if self.shared_dir
                    else "nothing saved (no output directory)"
                )
                raise DistillationInterrupted(
                    f"stopped by {stop.signal_name} at step {step}/"
                    f"{self.total_steps}; {where}",
                    signal_number=stop.signal_number,
                )
        return step

    def _log(self, record, writer):
        if self.run_dir is not None:
            self.run_dir.append_metrics(record)
        self._metrics_in_memory.append(record)
        if writer is not None:
            with writer.as_default(step=record["step"]):
                for name in (
                    "loss",
                    "matching_loss",
                    "cfc_loss",
                    "cfc_gradient_ratio",
                    "network_loss",
                    "image_lr",
                ):
                    tf.summary.scalar(f"distill/{name}", record[name])
            writer.flush()

    @property
    def _metrics_in_memory(self):
        if not hasattr(self, "_metrics"):
            self._metrics = []
        return self._metrics

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
        key = fold_in(tf.constant([self.config.seed, 0], tf.int32), iteration, inner)
        return self.engine.select_regions(key).numpy()

    def _finish(self, seconds):
        result = self.snapshot(seconds)
        if self.run_dir is not None and self.chief:
            export(result, self.dataset, self.run_dir.tfrecord, self.run_dir.png)
        return result

    def snapshot(self, seconds=0.0):
        """The current images and regions as a `DistillResult`, without export.

        Before `run()` this is the un-optimised initialisation.
        """
        images = self.engine.images.numpy()
        boxes = self.final_regions()
        metrics = (
            self.run_dir.read_metrics()
            if self.run_dir is not None
            else list(self._metrics_in_memory)
        )
        return DistillResult(
            images=images,
            labels=self.labels,
            boxes=boxes,
            config=self.config,
            metrics=metrics,
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
    metadata = SyntheticSetMetadata(
        dataset=dataset.name,
        image_shape=dataset.image_shape,
        num_classes=dataset.num_classes,
        class_names=list(dataset.class_names),
        ipc=config.ipc,
        method=config.method,
        normalization=dataset.normalization.to_dict(),
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


def distill(
    dataset,
    ipc=1,
    out_dir=None,
    *,
    resume=False,
    force=False,
    logdir=None,
    strategy=None,
    data_dir=None,
    callbacks=(),
    progress=False,
    preset=None,
    **settings,
):
    """Distils `dataset` into `ipc` synthetic images per class.

    Args:
        dataset: a source name (e.g. `"digits"`, `"fashion_mnist"`) or an
            `ImageDataset`.
        ipc: int, images per class.
        out_dir: directory for the TFRecord, PNG, config, metrics and
            checkpoints, or None to keep the result in memory.
        resume, force, logdir, strategy, data_dir, callbacks: see `Distiller`.
        progress: bool, show a rich progress bar.
        preset: None (the paper's settings) or a name in
            `udd_keras.distillation.presets.PRESETS`, e.g. `"cpu-hour"`;
            `settings` given explicitly win over the preset's.
        **settings: any `DistillConfig` field, e.g. `method="idc"`,
            `iterations=10`.

    Returns:
        A `DistillResult`.

    Example:
    >>> result = distill("digits", ipc=1, iterations=1, inner_steps=2, width=16)
    >>> result.images.shape
    (10, 8, 8, 1)
    """
    name = dataset if isinstance(dataset, str) else dataset.name
    loaded = None if isinstance(dataset, str) else dataset
    if preset is not None:
        settings = preset_settings(preset, **settings)
    config = DistillConfig(dataset=name, ipc=ipc, **settings)
    callbacks = list(callbacks)
    if progress:
        from udd_keras.progress import DistillProgress

        callbacks.append(DistillProgress())
    distiller = Distiller(
        config,
        dataset=loaded,
        out_dir=out_dir,
        resume=resume,
        force=force,
        logdir=logdir,
        strategy=strategy,
        data_dir=data_dir,
        callbacks=callbacks,
    )
    try:
        return distiller.run()
    finally:
        for callback in callbacks:
            if hasattr(callback, "close"):
                callback.close()
