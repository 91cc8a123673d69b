"""The output directory of a distillation run: layout, lock, atomic writes.

    DIR/config.json          the resolved settings (written first)
    DIR/metrics.jsonl        one JSON line per logged inner step
    DIR/checkpoints/         TF checkpoints, the last two kept
    DIR/synthetic.tfrecord   the synthetic set with its final regions
    DIR/synthetic.png        the images, one row per class
    DIR/trajectory/          the real side of a `network_pool` run's pool
                             (a `TrajectoryCache`), when no other is given
    DIR/.lock                held (flock) while a run writes to DIR

Every file but the append-only metrics is written to a temporary name in DIR and
renamed into place, so a crash never leaves a half-written output.
"""

import contextlib
import fcntl
import json
import os
import pathlib
import shutil

from udd_keras.errors import RunDirectoryError
from udd_keras.files import atomic_write_text

CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"
TFRECORD_NAME = "synthetic.tfrecord"
PNG_NAME = "synthetic.png"
TRAJECTORY_DIR = "trajectory"
LOCK_NAME = ".lock"


class RunDirectory:
    """Paths of one run's outputs and the lock that keeps two runs apart.

    Args:
        path: the output directory.
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self._lock_stream = None

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
