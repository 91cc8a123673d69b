"""The output directory of a distillation run: layout, lock, atomic writes.

    DIR/config.json          the resolved settings (written first)
    DIR/metrics.jsonl        one JSON line per logged inner step
    DIR/checkpoints/         TF checkpoints, the last two kept
    DIR/synthetic.tfrecord   the synthetic set with its final regions
    DIR/synthetic.png        the images, one row per class
    DIR/trajectory/          the real side of a `network_pool` run's pool
                             (a `TrajectoryCache`), when no other is given
    DIR/.lock                held (flock) while a run writes to DIR

A resumed run continues with the settings in `config.json`
(`RunDirectory.resumed_config`): its algorithm (every section of the settings
but run control) must agree with the command's, and of run control it takes the
command's length (iterations, a time budget given).

Every file but the append-only metrics is written to a temporary name in DIR and
renamed into place, so a crash never leaves a half-written output.
"""

import contextlib
import fcntl
import json
import os
import pathlib
import shutil

from udd_keras.distillation.config import DistillConfig
from udd_keras.errors import RunDirectoryError
from udd_keras.files import atomic_write_text

CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"
TFRECORD_NAME = "synthetic.tfrecord"
PNG_NAME = "synthetic.png"
TRAJECTORY_DIR = "trajectory"
LOCK_NAME = ".lock"

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


class RunDirectory:
    """Paths of one run's outputs and the lock that keeps two runs apart.

    Args:
        path: the output directory.
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self._lock_stream = None

    @classmethod
    def for_process(cls, out_dir, strategy, resume=False, force=False):
        """The run's directory and the one this process writes, prepared.

        Under a multi-worker strategy only the chief writes into `out_dir`;
        every other worker writes into a temporary directory of its own
        (`udd_keras.distribute.worker_directory`), prepared afresh.

        Returns:
            `(shared, own)` `RunDirectory`s, the second locked (the same path
            as the first for the chief).
        """
        from udd_keras.distribute import is_chief, worker_directory

        own = cls(worker_directory(out_dir, strategy))
        if is_chief(strategy):
            own.prepare(resume=resume, force=force)
        else:
            own.prepare(force=True)
        return cls(out_dir), own

    config = property(lambda self: self.path / CONFIG_NAME)
    metrics = property(lambda self: self.path / METRICS_NAME)
    checkpoints = property(lambda self: self.path / CHECKPOINT_DIR)
    tfrecord = property(lambda self: self.path / TFRECORD_NAME)
    png = property(lambda self: self.path / PNG_NAME)
    trajectory = property(lambda self: self.path / TRAJECTORY_DIR)

    def holds_run(self):
        """Whether a run has already started in this directory."""
        return self.config.exists() or self.checkpoints.exists()

    def prepare(self, resume=False, force=False):
        """Creates the directory and takes its lock.

        Args:
            resume: continue the run already in the directory.
            force: discard a finished or abandoned run's outputs.

        Raises:
            RunDirectoryError: the directory holds a run and neither flag is set,
                `resume` is set but there is nothing to resume, or another process
                is writing to it.
        """
        if self.path.exists() and not self.path.is_dir():
            raise RunDirectoryError(
                f"output path {self.path} is a file, not a directory"
            )
        if resume and not self.path.exists():
            raise RunDirectoryError(
                f"nothing to resume in {self.path}: the directory does not exist"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock()
        if resume and not self.config.exists():
            self.unlock()
            raise RunDirectoryError(
                f"nothing to resume in {self.path}: it holds no {CONFIG_NAME}"
            )
        if self.holds_run() and not (resume or force):
            self.unlock()
            raise RunDirectoryError(
                f"{self.path} already holds a run; pass --resume to continue it "
                "or --force to overwrite it"
            )
        if force and not resume:
            self._clear()

    def _clear(self):
        """Deletes a previous run's outputs, and temporary files a crash left."""
        outputs = (self.config, self.metrics, self.tfrecord, self.png)
        for path in outputs:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            # `atomic_write_text` and the writers' temporary names: `.NAME.*`.
            for leftover in self.path.glob(f".{path.name}.*"):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        # TensorFlow leaves `ckpt-N_temp/` folders when killed mid-save.
        if self.checkpoints.exists():
            shutil.rmtree(self.checkpoints)
        if self.trajectory.exists():
            shutil.rmtree(self.trajectory)

    def lock(self):
        """Takes an exclusive, non-blocking lock on `DIR/.lock`."""
        stream = open(self.path / LOCK_NAME, "a+")  # noqa: SIM115
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            stream.close()
            raise RunDirectoryError(
                f"another udd-keras process is writing to {self.path}; "
                "wait for it or choose another --out"
            ) from None
        stream.seek(0)
        stream.truncate()
        stream.write(str(os.getpid()))
        stream.flush()
        self._lock_stream = stream

    def unlock(self):
        if self._lock_stream is not None:
            fcntl.flock(self._lock_stream, fcntl.LOCK_UN)
            self._lock_stream.close()
            self._lock_stream = None

    def write_config(self, config_dict):
        atomic_write_text(
            self.config, json.dumps(config_dict, indent=2, sort_keys=True)
        )

    def read_config(self):
        try:
            return json.loads(self.config.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise RunDirectoryError(f"cannot read {self.config}: {error}") from None

    def resumed_config(self, config):
        """The settings a resumed run continues with, checked against `config`.

        The run's algorithm (`DistillConfig.algorithm_dict`: every section but
        run control, the seed included) must agree with `config`'s, but for the
        settings `config` leaves None. Run control is not compared: the run
        takes `config`'s length (its `iterations`, and its time budget when
        given) and keeps its own checkpoint and log periods.

        Args:
            config: the `DistillConfig` the command gave.

        Returns:
            `(resolved, budget_changed)`: the run's resolved settings with the
            `iterations` given (and the time budget, when given), and whether
            that budget differs from the run's.

        Raises:
            RunDirectoryError: the directory holds no config, or a setting given
                explicitly differs from the run's.
        """
        if not self.config.exists():
            raise RunDirectoryError(
                f"nothing to resume in {self.path}: it holds no config"
            )
        values = self.read_config()
        ignored = set()
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
        ignored |= {name for name, value in config.to_dict().items() if value is None}
        # Resolved, so that the saved config compares with the values the run
        # used for every setting.
        saved = DistillConfig.from_dict(values).resolve()
        # precision "auto" resumes in the precision the run started with.
        given = config.resolve(auto_precision=saved.precision).algorithm_dict()
        if not saved.mines_regions:
            # P is unused when nothing is mined (older configs stored 8).
            ignored.add("num_selected")
        run_has = saved.algorithm_dict()
        differing = [
            key
            for key, value in run_has.items()
            if key not in ignored and given.get(key) != value
        ]
        if differing:
            shown = ", ".join(
                f"{key}={given[key]!r} (run has {run_has[key]!r})"
                for key in differing[:3]
            )
            raise RunDirectoryError(
                f"--resume with settings that differ from the run in "
                f"{self.path}: {shown}"
            )
        # Run control: the run's length is the command's (a time budget given
        # replaces the run's, e.g. extends it; omitted, it is kept).
        budget = config.time_budget_minutes
        if budget is None:
            budget = saved.time_budget_minutes
        resumed = saved.replace(
            iterations=config.iterations, time_budget_minutes=budget
        )
        return resumed.resolve(), budget != saved.time_budget_minutes

    def append_metrics(self, record):
        with open(self.metrics, "a") as stream:
            stream.write(json.dumps(record) + "\n")

    def truncate_metrics(self, after_step):
        """Drops metric lines logged after `after_step` (not in the checkpoint)."""
        if not self.metrics.exists():
            return
        kept = []
        for line in self.metrics.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("step", 0) <= after_step:
                kept.append(line)
        atomic_write_text(self.metrics, "".join(f"{line}\n" for line in kept))

    def read_metrics(self):
        if not self.metrics.exists():
            return []
        return [json.loads(line) for line in self.metrics.read_text().splitlines()]
