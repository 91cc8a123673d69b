"""Choosing a `tf.distribute` strategy, and the multi-worker file conventions.

`make_strategy(name)` turns the `--strategy` value of the CLI into a strategy:

- `"one"`: `OneDeviceStrategy` on the first GPU, else the CPU.
- `"mirrored"`: `MirroredStrategy` over every visible GPU, or, without GPUs, over
  every logical CPU device (see `split_cpu`), so that it can be tried on a laptop.
- `"multi-worker"`: `MultiWorkerMirroredStrategy`, configured by the `TF_CONFIG`
  environment variable as usual in TensorFlow. It must be created before
  TensorFlow runs any op (TensorFlow's own rule for collective ops).
- `"auto"`: `"mirrored"` when more than one GPU is visible, else `"one"`.

Multi-worker runs follow TensorFlow's convention for outputs: every worker runs
the same program and saves the same checkpoints (saving is collective), but
only the chief writes into the real output directory; the other workers write
into a temporary directory of their own (`worker_directory`) and delete it at
the end. A cluster's chief is task `chief` when there is one, else `worker` 0.

A lost worker: TensorFlow's coordination service (which
`MultiWorkerMirroredStrategy` starts on the chief) expects a heartbeat from every
worker; `make_strategy("multi-worker", worker_timeout=T)` sets its heartbeat
timeout to `T / 2`, so that a worker that dies without warning is noticed within
about `T / 2` and the collectives of the others are aborted, leaving them the
rest of `T` to report it and exit (`udd_keras.preemption.worker_lost_error`).
"""

import json
import os
import pathlib
import shutil
import tempfile

import tensorflow as tf

from udd_keras.choices import (  # noqa: F401 (re-exported)
    DEFAULT_WORKER_TIMEOUT,
    MIN_WORKER_TIMEOUT,
    STRATEGIES,
)
from udd_keras.errors import UddError

# The heartbeat timeout given to TensorFlow's coordination service, in seconds
# (None until `make_strategy` made a multi-worker strategy in this process).
_heartbeat_timeout = None


def _accelerators():
    return tf.config.list_logical_devices("GPU")


def make_strategy(name="auto", worker_timeout=DEFAULT_WORKER_TIMEOUT):
    """Creates the `tf.distribute.Strategy` named by `name`.

    Args:
        name: one of `"auto"`, `"one"`, `"mirrored"`, `"multi-worker"`.
        worker_timeout: float >= 2, seconds; `"multi-worker"` only: a worker
            silent this long is taken as lost, and the others stop with a
            `udd_keras.preemption.WorkerLostError` within about this time
            (TensorFlow's coordination-service heartbeat timeout is set to
            half of it).

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        UddError: `name` is not one of `STRATEGIES`, `worker_timeout` is below
            2 seconds, or `TF_CONFIG` is malformed.

    Example:
    >>> strategy = make_strategy("one")
    >>> strategy.num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise UddError(f"unknown strategy {name!r}; allowed: {', '.join(STRATEGIES)}")
    if name == "multi-worker":
        check_worker_timeout(worker_timeout)
        cluster_spec()  # Validates TF_CONFIG before TensorFlow reads it.
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        _configure_heartbeats(resolver, worker_timeout / 2)
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    accelerators = _accelerators()
    if name == "auto":
        name = "mirrored" if len(accelerators) > 1 else "one"
    if name == "one":
        device = accelerators[0].name if accelerators else "/cpu:0"
        return tf.distribute.OneDeviceStrategy(device)
    devices = accelerators or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def check_worker_timeout(seconds):
    """Raises `UddError` unless `seconds` is a number >= `MIN_WORKER_TIMEOUT`."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not seconds >= MIN_WORKER_TIMEOUT
    ):
        raise UddError(
            f"worker timeout must be a number of seconds >= {MIN_WORKER_TIMEOUT:g}, "
            f"got {seconds!r}"
        )


def _configure_heartbeats(resolver, heartbeat_timeout):
    """Starts TensorFlow's coordination service with a heartbeat timeout.

    `MultiWorkerMirroredStrategy` configures the service itself, with
    TensorFlow's default timeout, unless it is configured already; this does
    what it does (the same jobs, the same leader) with `heartbeat_timeout`
    seconds. TensorFlow has no public call for it (its
    `ParameterServerStrategy` does the same internally).
    """
    global _heartbeat_timeout
    # Private modules: the only way to reach the coordination-service settings.
    from tensorflow.python.distribute import (
        collective_all_reduce_strategy,
        multi_worker_util,
    )
    from tensorflow.python.eager import context

    cluster = resolver.cluster_spec()
    coordinated = [job for job in ("chief", "worker") if job in cluster.jobs]
    if resolver.task_type not in coordinated:
        return
    if context.context().coordination_service is not None:
        return  # Configured before (a second strategy in this process).
    job_config = collective_all_reduce_strategy.coordination_config_pb2.CoordinatedJob
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(cluster),
        heartbeat_timeout_in_ms=max(1000, int(heartbeat_timeout * 1000)),
        coordinated_jobs=[
            job_config(name=job, num_tasks=cluster.num_tasks(job))
            for job in coordinated
        ],
    )
    _heartbeat_timeout = max(1.0, float(heartbeat_timeout))


def heartbeat_timeout():
    """Seconds without a heartbeat after which a worker is lost, or None.

    None when no multi-worker strategy was made by `make_strategy` in this
    process (TensorFlow's own default then applies).
    """
    return _heartbeat_timeout


def split_cpu(num_devices):
    """Splits the physical CPU into `num_devices` logical devices.

    Lets `MirroredStrategy` run several replicas on a machine without GPUs, for
    tests and benchmarks. Must be called before TensorFlow is initialised (before
    any op runs).

    Args:
        num_devices: int >= 1.

    Returns:
        list of the logical CPU device names, e.g. `["/device:CPU:0", ...]`.

    Raises:
        UddError: `num_devices` < 1.
        RuntimeError: TensorFlow was already initialised with another split.
    """
    if num_devices < 1:
        raise UddError(f"num_devices must be >= 1, got {num_devices}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
    )
    return [device.name for device in tf.config.list_logical_devices("CPU")]


# -------------------------------------------------------------- multi-worker


def cluster_spec():
    """The parsed `TF_CONFIG` environment variable.

    Returns:
        `(cluster, task_type, task_id)`: the cluster dict (`{"worker": [...]}`),
        the task type and index of this process; `({}, None, None)` when
        `TF_CONFIG` is not set.

    Raises:
        UddError: `TF_CONFIG` is not JSON or lacks `cluster` / `task`.
    """
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return {}, None, None
    try:
        config = json.loads(text)
        cluster = dict(config["cluster"])
        task = config["task"]
        return cluster, str(task["type"]), int(task["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise UddError(
            f"TF_CONFIG is not valid ({error}); expected JSON like "
            '{"cluster": {"worker": ["host:port", ...]}, '
            '"task": {"type": "worker", "index": 0}}'
        ) from None


def task_of(strategy=None):
    """`(task_type, task_id)` of this process; `(None, None)` when single-worker."""
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and resolver.task_type is not None:
        return resolver.task_type, int(resolver.task_id)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return cluster_spec()[1:]
    return None, None


def is_chief(strategy=None):
    """Whether this process writes the run's outputs.

    True for every single-worker strategy; under multi-worker, for task `chief`,
    or `worker` 0 of a cluster without a `chief` task.

    Args:
        strategy: a `tf.distribute.Strategy`, default the current one.
    """
    strategy = strategy or tf.distribute.get_strategy()
    task_type, task_id = task_of(strategy)
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = (
        resolver.cluster_spec().as_dict() if resolver is not None else cluster_spec()[0]
    )
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def worker_directory(out_dir, strategy=None):
    """Where this process writes the outputs of a run meant for `out_dir`.

    Args:
        out_dir: the run's output directory (shared by the cluster, or at least
            reachable by the chief).
        strategy: a `tf.distribute.Strategy`, default the current one.

    Returns:
        `out_dir` for the chief; for another worker a fresh temporary directory
        (`<tmp>/udd-keras-<task_type>-<task_id>-*`), to delete with
        `remove_worker_directory` when the run ends.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if is_chief(strategy):
        return pathlib.Path(out_dir)
    task_type, task_id = task_of(strategy)
    return pathlib.Path(tempfile.mkdtemp(prefix=f"udd-keras-{task_type}-{task_id}-"))


def describe_task(task_type, task_id, strategy=None):
    """`"worker 1 (host-b:12345)"`: a task and its address in the cluster.

    Args:
        task_type: str, e.g. `"worker"` or `"chief"`.
        task_id: int.
        strategy: the `tf.distribute.Strategy` whose cluster to look in,
            default the current one; without an address, `"worker 1"`.
    """
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = (
        resolver.cluster_spec().as_dict() if resolver is not None else cluster_spec()[0]
    )
    addresses = cluster.get(task_type, [])
    if isinstance(addresses, dict):  # Sparse clusters: {index: address}.
        address = addresses.get(task_id)
    else:
        address = addresses[task_id] if 0 <= task_id < len(addresses) else None
    return f"{task_type} {task_id}" + (f" ({address})" if address else "")


def remove_worker_directory(directory, out_dir):
    """Deletes a worker's temporary directory; never touches `out_dir` itself."""
    directory = pathlib.Path(directory)
    if directory.resolve() != pathlib.Path(out_dir).resolve():
        shutil.rmtree(directory, ignore_errors=True)


__all__ = [
    "DEFAULT_WORKER_TIMEOUT",
    "MIN_WORKER_TIMEOUT",
    "STRATEGIES",
    "check_worker_timeout",
    "cluster_spec",
    "describe_task",
    "heartbeat_timeout",
    "is_chief",
    "make_strategy",
    "remove_worker_directory",
    "split_cpu",
    "task_of",
    "worker_directory",
]
