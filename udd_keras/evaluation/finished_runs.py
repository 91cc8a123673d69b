"""Finished evaluation runs kept on disk, so that a rerun trains only the rest.

`evaluate(..., progress_path=PATH)` adds every run (one model, one repeat) to a
small JSON file as soon as it finishes, with a fingerprint of what was
evaluated: the training arrays, the settings and the number of replicas. A
later call with the same fingerprint takes the runs it finds there instead of
training them again; their seeds being the same, the report is the one an
uninterrupted evaluation gives. The file is written atomically, by the chief
alone under a multi-worker strategy, and deleted once every run has finished.

Under a multi-worker strategy `track_runs` also stops every worker after the
same epoch when any of them gets SIGTERM or SIGINT (`udd_keras.preemption`,
`Preempted`, exit status 75), and turns the error of a lost worker into a
one-line `WorkerLostError` (exit status 69); both messages say how many runs
are kept.

    {"format": "udd-keras-evaluation-progress", "version": 1,
     "fingerprint": "<sha256>",
     "runs": [{"model": "convnet3", "repeat": 0, "seed": 0, "accuracy": 0.91,
               "curve": [[10, 0.88], ...], "seconds": 12.3, "losses": [...]}]}
"""

import contextlib
import dataclasses
import hashlib
import json
import pathlib
import signal

import numpy as np
import tensorflow as tf

from udd_keras.distribute import is_chief
from udd_keras.errors import UddError
from udd_keras.evaluation.run import EvalRun
from udd_keras.files import atomic_write_json
from udd_keras.preemption import (
    Preempted,
    preemption_coordinator,
    reporting_lost_workers,
    stop_on_notice,
)
from udd_keras.training.classifier import default_strategy

FORMAT = "udd-keras-evaluation-progress"
VERSION = 1
# Settings that say which runs there are, not how each one is trained.
_NOT_FINGERPRINTED = {"models", "repeats", "strategy"}


def _hash_array(array):
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def _labels(y_train):
    """Labels as int64, soft labels (2-D) as float32, for hashing."""
    y_train = np.asarray(y_train)
    return y_train.astype(np.float32 if y_train.ndim == 2 else np.int64)


def fingerprint(x_train, y_train, strategy, settings):
    """What a finished run depends on, as a sha256 hex digest.

    Args:
        x_train: float32 array (N, H, W, C), the training images.
        y_train: int array (N,), or float array (N, classes) of soft labels.
        strategy: the `tf.distribute.Strategy` (its replica count changes how
            batches and augmentation are split, so the accuracies).
        settings: dict of the training settings (the recipe's `to_dict()`
            and the runs: `models`, `repeats`, `seed`, `eval_every`);
            numbers, strings, booleans and None, their tuples and lists
            count; the runs' count and the strategy do not.

    Returns:
        str, 64 hex digits.
    """
    kept = {
        "x_train": _hash_array(np.asarray(x_train, np.float32)),
        "y_train": _hash_array(_labels(y_train)),
        "replicas": int(strategy.num_replicas_in_sync),
    }
    for name, value in sorted(settings.items()):
        if name in _NOT_FINGERPRINTED:
            continue
        if isinstance(value, np.ndarray):
            kept[name] = _hash_array(value)
        elif isinstance(value, (str, int, float, bool, type(None), tuple, list)):
            kept[name] = value
    text = json.dumps({"version": VERSION, **kept}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class FinishedRuns:
    """The runs of one evaluation that have finished, mirrored in a JSON file.

    Args:
        path: the JSON file, or None to keep nothing.
        fingerprint: str, from `fingerprint`; a file holding another one is
            ignored (and replaced at the first finished run).
        write: bool, whether this process writes the file (the chief).
    """

    def __init__(self, path, fingerprint, write=True):
        self.path = pathlib.Path(path) if path is not None else None
        self.fingerprint = fingerprint
        self.write = write
        self._runs = {}
        self.reused = 0
        if self.path is not None and self.path.exists():
            self._runs = self._read()

    def _read(self):
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise UddError(
                f"cannot read the evaluation progress file {self.path} ({error}); "
                "delete it to start the evaluation over"
            ) from None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or data.get("version") != VERSION
        ):
            raise UddError(
                f"{self.path} is not an evaluation progress file of udd-keras; "
                "choose another --json path or delete it"
            )
        if data.get("fingerprint") != self.fingerprint:
            return {}  # Another set or other settings: start over.
        names = {field.name for field in dataclasses.fields(EvalRun)}
        runs = {}
        for entry in data.get("runs", []):
            fields = {key: value for key, value in entry.items() if key in names}
            fields["curve"] = [tuple(point) for point in fields.get("curve", [])]
            runs[(entry["model"], int(entry["repeat"]))] = EvalRun(**fields)
        return runs

    def __len__(self):
        return len(self._runs)

    def get(self, model, repeat, seed):
        """The finished `EvalRun` of `model`'s `repeat` with `seed`, or None."""
        run = self._runs.get((model, repeat))
        if run is None or run.seed != seed:
            return None
        return run

    def add(self, model, repeat, run):
        """Records a finished run; the chief rewrites the file atomically."""
        self._runs[(model, repeat)] = run
        if self.path is None or not self.write:
            return
        entries = [
            {"model": name, "repeat": index, **dataclasses.asdict(finished)}
            for (name, index), finished in sorted(self._runs.items())
        ]
        atomic_write_json(
            self.path,
            {
                "format": FORMAT,
                "version": VERSION,
                "fingerprint": self.fingerprint,
                "runs": entries,
            },
        )

    def remove(self):
        """Deletes the file (the chief), once every run has finished."""
        if self.path is not None and self.write:
            self.path.unlink(missing_ok=True)

    def digest(self):
        """A 20-bit integer naming which runs are finished, for comparisons."""
        keys = json.dumps(sorted(self._runs), default=str).encode()
        return int(hashlib.sha256(keys).hexdigest()[:5], 16)


def _same_on_every_worker(strategy, value):
    """Whether every worker passes the same integer `value` (a collective)."""
    value = float(value)
    per_replica = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant([value, value * value], tf.float64)
    )
    mean, mean_square = strategy.reduce(
        tf.distribute.ReduceOp.MEAN, per_replica, axis=None
    ).numpy()
    return abs(mean_square - mean * mean) < 0.5


class RunTracker:
    """Hooks for `evaluate_arrays`: skip finished runs, keep new ones, stop.

    Made by `track_runs`.

    Attributes:
        finished: the `FinishedRuns`.
        total: int, the number of runs of the evaluation.
    """

    def __init__(self, finished, total, strategy):
        self.finished = finished
        self.total = total
        self.strategy = strategy
        self.stop = None

    def wrap(self, train_repeat):
        """`train_repeat` that returns finished runs and records new ones.

        Args:
            train_repeat: `fn(model_name, repeat, run_seed, ...) -> EvalRun`
                (`make_repeat_trainer`).
        """

        def tracked(model_name, repeat, run_seed, *args, **kwargs):
            run = self.finished.get(model_name, repeat, run_seed)
            if run is not None:
                self.finished.reused += 1
                return run
            run = train_repeat(model_name, repeat, run_seed, *args, **kwargs)
            self.finished.add(model_name, repeat, run)
            return run

        return tracked

    def callbacks(self):
        """Callbacks that may stop the cluster after an epoch: a list.

        Under a multi-worker strategy every worker checks, after every epoch,
        whether one of them got a termination notice (the same epoch on all);
        otherwise there are none.
        """
        return [] if self.stop is None else [self.stop]

    def kept(self):
        """What is kept of the evaluation, for error messages."""
        done = len(self.finished)
        if self.finished.path is None:
            return f"{done} of {self.total} runs had finished (no progress file)"
        if done == 0:
            return "no run had finished yet"
        return (
            f"{done} of {self.total} runs finished and are kept in {self.finished.path}"
        )

    def after_lost_worker(self):
        """What is kept, and how to continue, when a worker was lost."""
        return (
            f"{self.kept()}; once every worker can run again, rerun the same "
            "command on all of them"
        )

    def preempted(self, notice, signal_number=signal.SIGTERM):
        return Preempted(
            f"stopped by {notice}; {self.kept()}; rerun the same command on "
            "every worker to do the rest",
            signal_number=signal_number,
        )


@contextlib.contextmanager
def track_runs(path, x_train, y_train, training):
    """A `RunTracker` for the evaluation of `(x_train, y_train)` with `training`.

    Args:
        path: the progress JSON file, or None to keep nothing.
        x_train: float32 array (N, H, W, C).
        y_train: int array (N,), or float array (N, classes) of soft labels.
        training: dict of the settings (see `fingerprint`) with `models`,
            `repeats` and `strategy`.

    Yields:
        `RunTracker`. On leaving without an error, the file is deleted (every
        run finished).

    Raises:
        UddError: the progress file is unreadable, or the workers of a
            multi-worker strategy see different ones (it must be on storage
            every worker reads).
        Preempted: a worker got SIGTERM / SIGINT (multi-worker only).
        WorkerLostError: a worker stopped answering (multi-worker only).
    """
    strategy = default_strategy(training.get("strategy"))
    models = training.get("models", ("convnet3",))
    models = (models,) if isinstance(models, str) else tuple(models)
    total = len(models) * int(training.get("repeats", 5))
    finished = FinishedRuns(
        path,
        fingerprint(x_train, y_train, strategy, training),
        write=is_chief(strategy),
    )
    tracker = RunTracker(finished, total, strategy)
    coordinator = preemption_coordinator(strategy)
    if coordinator is None:
        yield tracker
        finished.remove()
        return
    try:
        with reporting_lost_workers(strategy, tracker.after_lost_worker):
            if not _same_on_every_worker(strategy, finished.digest()):
                raise UddError(
                    f"the workers do not see the same finished runs in {path}: "
                    "put it on storage every worker reads (--json next to a "
                    "shared folder), or delete it to start the evaluation over"
                )
            with stop_on_notice(
                strategy, None, tracker.preempted, tracker.after_lost_worker
            ) as stop:
                tracker.stop = stop
                yield tracker
    finally:
        tracker.stop = None
    finished.remove()


__all__ = ["FinishedRuns", "RunTracker", "fingerprint", "track_runs"]
