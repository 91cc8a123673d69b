"""The real-data trajectory of a run, computed once and replayed.

Under UDD and IDC the network is trained on real data only, and the real class
gradients the synthetic images are matched to depend on the network, the real
data and the step's random key, never on the synthetic images. So the whole
real side of a run is, per (outer iteration, inner step), a `RealStep`:

- the network's weights and SGD momentum at the start of the step,
- every class's real gradient of the matched variables,
- the loss of the step's network update,

and it is a function of the training data, the seed and the settings in
`TRAJECTORY_FIELDS` only: not of the IPC, the method (`udd` or `idc`), the
formation, the scoring policy, the CFC weight, the image optimizer or its
learning rate. A `TrajectoryCache` stores it on disk the first time a run
computes it; every later run on the same data and seed reads it instead of
recomputing it (MTT keeps its expert trajectories the same way). A run that
replays a step skips the network update and the real half of the matching
step, and ends with images bit-identical to a run that computes everything
inline under the same TensorFlow thread settings and op determinism
(`tests/distillation/test_trajectory.py`); other settings round differently,
cache or not.

Cost: a first run computes what it would anyway and writes each step's entry
(`RealStep.nbytes`: 14.4 MB per step for ConvNet-3 of width 128 on 28 x 28 x 1
images and 10 classes; 1.4 GB per 100 inner steps). The cache pays when a
seed's trajectory is used again: an ablation, another IPC, IDC beside UDD. It
does nothing for `dc`, whose network is trained on the synthetic images (an
error says so).

`TrajectoryReplay` runs a run's steps against the cache: replayed where an
entry is stored, computed and stored where not (with a `network_pool`, a run's
later outer iterations replay its pool).

Layout: `<root>/<dataset>-seed<seed>-<key>/` holds `manifest.json` (the
settings and data digest the key is made of) and one `step-<iteration>-<inner
step>.npz` per step, each written under a temporary name and renamed, so an
interrupted run never leaves half an entry.

Example:
>>> result = distill("digits", ipc=1, method="idc", iterations=1,
...                  inner_steps=2, width=16, trajectory_dir="runs/trajectory")
>>> again = distill("digits", ipc=1, method="udd", iterations=1,
...                 inner_steps=2, width=16, trajectory_dir="runs/trajectory")
"""

import dataclasses
import hashlib
import json
import os
import pathlib
import tempfile

import numpy as np

from udd_keras.errors import UddError

# The `DistillConfig` fields a trajectory depends on (with the data's digest,
# its shape and the TF and Keras versions).
TRAJECTORY_FIELDS = (
    "seed",
    "width",
    "depth",
    "precision",
    "matched",
    "real_batch",
    "matching_augmentation",
    "net_data",
    "net_images",
    "net_batch",
    "net_lr",
    "net_momentum",
    "net_weight_decay",
    "net_cutmix",
    "net_augmentation",
)
# Bumped whenever what a step entry holds, or how it is computed, changes.
TRAJECTORY_FORMAT = 1
MANIFEST_NAME = "manifest.json"


@dataclasses.dataclass
class RealStep:
    """The real side of one inner step.

    Attributes:
        weights: list of float arrays, the network's `model.weights` at the
            start of the step.
        velocity: list of float32 arrays, the network's SGD momentum then
            (one per trainable variable).
        real_gradients: list of float32 arrays, one per matched variable, each
            `(num_classes, *variable.shape)`: class c's real gradient.
        network_loss: float, the mean cross-entropy of the step's network
            update.
    """

    weights: list
    velocity: list
    real_gradients: list
    network_loss: float

    @property
    def nbytes(self):
        """Bytes of the arrays (what an entry takes on disk, about)."""
        arrays = [*self.weights, *self.velocity, *self.real_gradients]
        return sum(np.asarray(a).nbytes for a in arrays)

    def save(self, path):
        """Writes the step to `path` (.npz) under a temporary name, then renames."""
        path = pathlib.Path(path)
        arrays = {"network_loss": np.float32(self.network_loss)}
        for prefix, values in (
            ("weight", self.weights),
            ("velocity", self.velocity),
            ("gradient", self.real_gradients),
        ):
            for index, value in enumerate(values):
                arrays[f"{prefix}_{index}"] = np.asarray(value)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)

    @classmethod
    def load(cls, path):
        """Reads a step written by `save`."""
        with np.load(path) as data:

            def numbered(prefix):
                count = sum(1 for name in data.files if name.startswith(prefix + "_"))
                return [data[f"{prefix}_{i}"] for i in range(count)]

            return cls(
                numbered("weight"),
                numbered("velocity"),
                numbered("gradient"),
                float(data["network_loss"]),
            )


def data_digest(x_train, y_train):
    """A short digest of the training data (blake2b of images and labels)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (x_train, y_train):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def trajectory_manifest(config, x_train, y_train):
    """What a trajectory of `config` on this data depends on; a JSON-able dict.

    Raises:
        UddError: the network of `config` is trained on the synthetic images
            (`net_data="synthetic"`, method `dc`): it has no real trajectory.
    """
    import keras
    import tensorflow as tf

    if config.net_data != "real":
        raise UddError(
            f"a trajectory cache needs a network trained on real data; method "
            f"{config.method!r} trains it on {config.net_data!r} images "
            "(use it with udd or idc, or run without --trajectory-cache)"
        )
    settings = {name: getattr(config, name) for name in TRAJECTORY_FIELDS}
    return {
        "format": TRAJECTORY_FORMAT,
        "dataset": config.dataset,
        "data_digest": data_digest(x_train, y_train),
        "image_shape": [int(d) for d in np.shape(x_train)[1:]],
        "settings": settings,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }


class TrajectoryCache:
    """The on-disk trajectory of one dataset, seed and network setting.

    Args:
        root: directory that holds trajectories (created when missing).
        manifest: `trajectory_manifest(...)` of the run.
        writable: bool, whether this process writes missing steps (the chief
            of a multi-worker run does; the other workers only read).

    Attributes:
        path: `pathlib.Path` of this trajectory's directory.
        hits, misses: int, steps read and steps computed by this process.
    """

    def __init__(self, root, manifest, writable=True):
        key = hashlib.blake2b(
            json.dumps(manifest, sort_keys=True).encode(), digest_size=6
        ).hexdigest()
        name = f"{manifest['dataset']}-seed{manifest['settings']['seed']}-{key}"
        self.path = pathlib.Path(root) / name
        self.writable = writable
        self.hits = 0
        self.misses = 0
        manifest_path = self.path / MANIFEST_NAME
        if manifest_path.exists():
            try:
                stored = json.loads(manifest_path.read_text())
            except (OSError, ValueError) as error:
                raise UddError(
                    f"trajectory manifest {manifest_path} cannot be read ({error}); "
                    "delete that directory to recompute it"
                ) from None
            if stored != json.loads(json.dumps(manifest)):
                raise UddError(
                    f"trajectory {self.path} was recorded with other settings; "
                    "delete that directory to recompute it"
                )
        elif writable:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                temporary = manifest_path.with_name(f".{MANIFEST_NAME}.tmp")
                temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True))
                os.replace(temporary, manifest_path)
            except OSError as error:
                raise UddError(
                    f"cannot write the trajectory cache in {root}: {error}"
                ) from None

    def step_path(self, iteration, inner_step):
        """The file of one step's entry."""
        return self.path / f"step-{iteration:05d}-{inner_step:04d}.npz"

    def __contains__(self, step):
        """Whether `(iteration, inner_step)` is stored."""
        return self.step_path(*step).exists()

    def load(self, iteration, inner_step):
        """The stored `RealStep`, or None when it is not (or not fully) stored."""
        path = self.step_path(iteration, inner_step)
        if not path.exists():
            return None
        try:
            step = RealStep.load(path)
        except (OSError, ValueError, KeyError, EOFError):
            return None
        self.hits += 1
        return step

    def save(self, iteration, inner_step, step):
        """Stores `step` unless this process only reads; counts a miss."""
        self.misses += 1
        if not self.writable:
            return
        try:
            step.save(self.step_path(iteration, inner_step))
        except OSError as error:
            raise UddError(
                f"cannot write the trajectory cache in {self.path}: {error}"
            ) from None


class TrajectoryReplay:
    """A run's steps against a `TrajectoryCache`: replayed where stored.

    A step whose real side is stored replays it (`engine.replay_step`); one
    that is not computes it and stores it (`engine.record_step`). A replayed
    step leaves the network as the next step needs it: loaded from the next
    step's entry (read once, kept for that step), or trained from this one
    when the next step is not stored, so that a checkpoint always holds the
    right network.

    Args:
        cache: the `TrajectoryCache`.
        schedule: the run's `DistillSchedule` (inner steps, pooled iterations).
        temporary: a `tempfile.TemporaryDirectory` holding the cache, removed
            by `close()`, or None.
    """

    def __init__(self, cache, schedule, temporary=None):
        self.cache = cache
        self.schedule = schedule
        self.temporary = temporary
        # ((iteration, inner step), RealStep) read ahead by the last replay.
        self._next_real_step = None
        self.to_compute = None

    @classmethod
    def for_run(
        cls, directory, schedule, data, run_folder=None, writable=True, manifest=None
    ):
        """The replay of a run, or None when it has no trajectory.

        Args:
            directory: the `trajectory_dir` given, or None.
            schedule: the run's `DistillSchedule`.
            data: `(x_train, y_train)`, the training data.
            run_folder: where a `network_pool` run keeps its pool when no
                `directory` is given (the run's `trajectory/` folder), or None
                for a temporary folder removed by `close()`.
            writable: whether this process writes missing steps.
            manifest: the run's `trajectory_manifest`, when already made.
        """
        temporary = None
        if directory is None:
            if schedule.config.network_pool is None:
                return None
            if run_folder is None:
                temporary = tempfile.TemporaryDirectory(prefix="udd-keras-pool-")
                run_folder = temporary.name
            directory = run_folder
        try:
            if manifest is None:
                manifest = trajectory_manifest(schedule.config, *data)
            cache = TrajectoryCache(directory, manifest, writable=writable)
        except BaseException:
            if temporary is not None:
                temporary.cleanup()
            raise
        return cls(cache, schedule, temporary)

    def step(self, engine, key, iteration, inner, reselect_regions=True):
        """One inner step of `engine`, its real side replayed or recorded.

        Args:
            engine: the `DistillationEngine`.
            key: the step's random key.
            iteration: int, the pooled outer iteration (its cache entry's).
            inner: int, the inner step.
            reselect_regions: bool, see `DistillSchedule.reselects_regions`.

        Returns:
            `(logs, replayed)`, the second True when the real side was read
            from the cache.
        """
        first = inner == 0
        real_step = None
        if self._next_real_step is not None and self._next_real_step[0] == (
            iteration,
            inner,
        ):
            real_step = self._next_real_step[1]
        self._next_real_step = None
        if real_step is None:
            real_step = self.cache.load(iteration, inner)
        if real_step is None:
            logs, real_step = engine.record_step(key, first, reselect_regions)
            self.cache.save(iteration, inner, real_step)
            return logs, False
        engine.load_network(real_step)
        logs = engine.replay_step(key, first, real_step, reselect_regions)
        if inner + 1 < self.schedule.inner_steps:
            following = self.cache.load(iteration, inner + 1)
            if following is None:
                engine.update_network(key)
            else:
                engine.load_network(following)
                self._next_real_step = ((iteration, inner + 1), following)
        return logs, True

    def start(self, step):
        """Before a loop's first step `step`: counts the steps left to compute."""
        self.to_compute = self.steps_to_compute(step)

    def logs(self, replayed):
        """What a step's logs say of the trajectory: `replayed` (1.0 when the
        step replayed its real side, else 0.0) and `steps_to_compute` (the
        steps left that will compute theirs, counted from `start`)."""
        self.to_compute -= not replayed
        return {"replayed": float(replayed), "steps_to_compute": self.to_compute}

    def steps_to_compute(self, step):
        """How many of the steps from `step` on will compute their real side.

        The others replay it: the entries already stored, and those this run
        stores before it reaches them.
        """
        schedule = self.schedule
        entries = {
            (
                schedule.pooled_iteration(s // schedule.inner_steps),
                s % schedule.inner_steps,
            )
            for s in range(step, schedule.total_steps)
        }
        return sum(entry not in self.cache for entry in entries)

    def close(self):
        """Removes a temporary pool."""
        if self.temporary is not None:
            self.temporary.cleanup()
            self.temporary = None
