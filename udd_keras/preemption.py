"""Stopping runs cleanly: on a signal, on a preemption notice, on a lost worker.

One process (`one`, `mirrored`): `StopFlag` turns SIGINT / SIGTERM into a flag
that the run checks between steps; the run then saves and raises a
`udd_keras.errors.RunInterrupted` (the CLI exits with 128 + the signal number).

Several workers (`MultiWorkerMirroredStrategy`): a signal reaches one worker
only, and a worker that stopped alone would leave the others blocked in their
next collective. `PreemptionCoordinator` wraps TensorFlow's
`tf.distribute.experimental.PreemptionCheckpointHandler`: the worker that
received SIGTERM or SIGINT posts, in TensorFlow's coordination service, the step
after which to stop; every worker finishes that step, saves, and raises the
run's `Preempted` error (the CLI exits with `PREEMPTED_EXIT_CODE`, 75: "preempted,
resume me").

A worker that dies without warning sends no notice: the coordination service
misses its heartbeats (timeout set by
`udd_keras.distribute.make_strategy(worker_timeout=...)`) and aborts the
collectives of the others. `worker_lost_error` turns the TensorFlow error they
get into a one-line `WorkerLostError` naming the lost worker (the CLI exits
with `WORKER_LOST_EXIT_CODE`, 69).

Distillation (`udd_keras.distillation.checkpoints`) and evaluation
(`udd_keras.evaluation.finished_runs`) stop the same way: `stop_on_notice`
gives the run a `StopCheck` to ask after every step, and
`reporting_lost_workers` turns a lost worker's error into `WorkerLostError`.
"""

import atexit
import contextlib
import dataclasses
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable

import tensorflow as tf

from udd_keras.distribute import (
    DEFAULT_WORKER_TIMEOUT,
    describe_task,
    heartbeat_timeout,
    task_of,
)
from udd_keras.errors import RunInterrupted, UddError

# sysexits.h: EX_TEMPFAIL, "temporary failure, the user is invited to retry".
PREEMPTED_EXIT_CODE = 75
# sysexits.h: EX_UNAVAILABLE, "a service is unavailable".
WORKER_LOST_EXIT_CODE = 69


class Preempted(RunInterrupted):
    """A multi-worker run stopped on a termination notice to one of its workers.

    Every worker finished the same step and saved what the run keeps before
    raising this. The CLI exits with `PREEMPTED_EXIT_CODE` (75).
    """

    exit_code = PREEMPTED_EXIT_CODE


class WorkerLostError(UddError):
    """A worker of a multi-worker run stopped answering (killed, crashed, cut off).

    Args:
        message: one line naming the lost worker and what the run kept.
        tasks: list of `(task_type, task_id)` of the lost workers, possibly
            empty when TensorFlow's error does not say.

    The CLI exits with `WORKER_LOST_EXIT_CODE` (69).
    """

    exit_code = WORKER_LOST_EXIT_CODE

    def __init__(self, message, tasks=()):
        super().__init__(message)
        self.tasks = list(tasks)


class StopFlag:
    """Turns SIGINT / SIGTERM into a flag checked between steps.

    A second signal before the run stops raises `KeyboardInterrupt` at once
    (nothing saved), for a step that takes too long.

    Attributes:
        signal_name: `"SIGINT"` / `"SIGTERM"` once a signal came, else None.
        signal_number: its number, else None.
    """

    def __init__(self):
        self.signal_name = None
        self.signal_number = None
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Outside the main thread signals cannot be caught: leave them alone.
            with contextlib.suppress(ValueError):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal_name is not None:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        self.signal_number = signum

    @property
    def is_set(self):
        return self.signal_name is not None

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


# ----------------------------------------------------------- preemption


@contextlib.contextmanager
def _quiet_tensorflow_logger():
    """TensorFlow's Python logger at ERROR: the handler logs a deprecation."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# Threads of TensorFlow's handler; they fail when the cluster goes away (a peer
# exits first), which the main thread reports if it matters.
_HANDLER_THREADS = ("PeerTerminationWatcher", "WorkerTerminationSignalWatcher")
_hook_installed = False


def _ignore_handler_thread_errors():
    global _hook_installed
    if _hook_installed:
        return
    previous = threading.excepthook

    def hook(args):
        name = getattr(args.thread, "name", "") or ""
        if name.startswith(_HANDLER_THREADS) and isinstance(
            args.exc_value, tf.errors.OpError
        ):
            return
        previous(args)

    threading.excepthook = hook
    _hook_installed = True


@dataclasses.dataclass
class StopCheck:
    """What a loop asks after every step: does a signal stop the run here?

    Made by `stop_on_notice`; what `PreemptionCoordinator.watching` watches.

    Attributes:
        flag: the run's `StopFlag`; once set on any worker, every worker stops
            after the same step.
        coordinator: the `PreemptionCoordinator`, or None for one worker.
        save: `fn()` called (on every worker) at the step the run stops after,
            or None.
        stopped: `fn(notice, signal_number) -> Exception` raised (on every
            worker) after `save`; `notice` says who got what, e.g.
            `"SIGTERM"` (one worker), `"SIGTERM to this worker"` or `"a
            termination notice to worker 1 (host-b:12345)"`.
        kept: optional `fn() -> str`, what the run keeps if a worker is lost
            while the workers agree where to stop (ends the message).
    """

    flag: StopFlag
    coordinator: object = None
    save: Callable[[], None] | None = None
    stopped: Callable[[str, int], Exception] | None = None
    kept: Callable[[], str] | None = None

    def step_done(self):
        """Call after every step, on every worker.

        Returns:
            bool. Several workers: False, the coordinator deciding (at the
            step the workers agreed to stop after it calls `save` and raises
            `stopped(...)` on every worker). One worker: whether a signal
            came (the flag read once); the loop then saves and stops.
        """
        if self.coordinator is not None:
            self.coordinator.step_done()
            return False
        return self.flag.is_set

    def on_step(self, step, total, logs):
        """As a loop's callback: `step_done()`; a stop saves, then raises."""
        if self.step_done():
            if self.save is not None:
                self.save()
            raise self.stopped(self.flag.signal_name, self.flag.signal_number)


class PreemptionCoordinator:
    """Stops every worker after the same step when one gets a termination notice.

    A thin layer over TensorFlow's
    `tf.distribute.experimental.PreemptionCheckpointHandler`, which does the
    agreeing through the coordination service: the worker whose `StopFlag` is
    set posts "stop after step n + 1"; every worker, at its step n + 1, calls
    the run's `save` and raises the run's `stopped(notice)` error. The handler
    keeps a step counter and fixed coordination-service keys, so there is one
    coordinator per process and strategy (`preemption_coordinator`), shared by
    the runs made in it one after another.

    The worker that posts the step waits, in TensorFlow, for every worker to
    acknowledge it, without a timeout: a worker lost at that moment would
    leave it waiting for ever, even after the coordination service aborted the
    collectives. A watchdog thread ends such a wait after the worker timeout:
    it prints one `Error:` line naming the workers that did not answer and
    ends the process with `WORKER_LOST_EXIT_CODE` (the blocked call cannot be
    interrupted otherwise).

    Args:
        strategy: a multi-worker `tf.distribute.MultiWorkerMirroredStrategy`.
    """

    def __init__(self, strategy):
        from tensorflow.python.distribute.failure_handling import (
            failure_handling_util,
        )

        self.strategy = strategy
        self._watch = None
        # While the workers agree where to stop: when to give up waiting.
        self._deadline = None
        self._noticed_by = None  # which worker posted the notice, read at save
        # The acknowledgements come from threads within milliseconds: give up
        # when a lost worker would be noticed, half the worker timeout.
        self._handshake_timeout = heartbeat_timeout() or DEFAULT_WORKER_TIMEOUT / 2
        # The handler wants a checkpoint of its own to restore its counter
        # from; it stays empty, as the runs save their own state in `save`.
        scratch = tempfile.mkdtemp(prefix="udd-keras-preemption-")
        atexit.register(shutil.rmtree, scratch, True)
        config = tf.distribute.experimental.TerminationConfig(
            termination_watcher_fn=self._notice_received,
            exit_fn=self._stop,
            grace_period=0,
            save_fn=self._save,
        )
        _ignore_handler_thread_errors()
        with _quiet_tensorflow_logger():
            self._handler = tf.distribute.experimental.PreemptionCheckpointHandler(
                strategy.cluster_resolver,
                tf.train.Checkpoint(),
                os.path.join(scratch, "handler"),
                config,
            )
        atexit.register(self._leave_threads)
        threading.Thread(
            target=self._watch_handshake, name="udd-keras-preemption", daemon=True
        ).start()
        platform = getattr(self._handler, "_platform_device", None)
        # On Google Cloud CPU and TPU VMs TensorFlow's handler does nothing.
        self.supported = platform not in (
            failure_handling_util.PlatformDevice.GCE_CPU,
            failure_handling_util.PlatformDevice.GCE_TPU,
        )

    def _leave_threads(self):
        """At exit: the handler's daemon threads end with the process.

        Its `__del__` would otherwise post a stop value and join its watcher
        thread while Python shuts down, which may wait on a peer that is gone.
        """
        for name in (
            "_cluster_wise_termination_watcher_thread",
            "_poll_termination_signal_thread",
        ):
            if hasattr(self._handler, name):
                setattr(self._handler, name, None)

    def _notice_received(self):
        watch = self._watch
        return watch is not None and watch.flag.is_set

    def _save(self):
        self._deadline = None  # Agreed: every worker is here; saving may be slow.
        watch = self._watch
        if watch is not None and not watch.flag.is_set:
            # Read while every worker is here: the coordination service lives on
            # the chief, and a chief that got the notice may exit once it saved.
            self._noticed_by = self._noticed_worker()
        if watch is not None and watch.save is not None:
            watch.save()

    def _watch_handshake(self):
        while True:
            time.sleep(0.5)
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                self._give_up()

    def _silent_workers(self):
        """Workers whose acknowledgement of the stop step is missing."""
        from tensorflow.python.distribute.failure_handling import failure_handling
        from tensorflow.python.eager import context

        silent = []
        for member, task in enumerate(self._members()):
            key = (
                f"{failure_handling._ACKNOWLEDGE_KEY}_"
                f"{failure_handling._INITIAL_RUN_COUNT_KEY}_{member}"
            )
            try:
                context.context().get_config_key_value(key, timeout_in_ms=200)
            except tf.errors.OpError:
                silent.append(task)
        return silent

    def _give_up(self):
        """Ends a process stuck waiting for a lost worker's acknowledgement."""
        try:
            tasks = self._silent_workers()
            who = " and ".join(
                describe_task(*task, strategy=self.strategy) for task in tasks
            )
            watch = self._watch
            kept = watch.kept() if watch is not None and watch.kept else ""
        except Exception:  # noqa: BLE001 - the process ends either way.
            who, kept = "", ""
        message = (
            f"Error: lost {who or 'a worker'} (no answer for "
            f"{self._handshake_timeout:g} s while the workers agreed where to "
            f"stop){'; ' + kept if kept else ''}"
        )
        sys.stdout.flush()
        sys.stderr.write(" ".join(message.split()) + "\n")
        sys.stderr.flush()
        os._exit(WORKER_LOST_EXIT_CODE)

    def _stop(self):
        watch = self._watch
        flag = watch.flag
        if flag.is_set:
            notice = f"{flag.signal_name} to this worker"
            number = flag.signal_number
        else:
            noticed_by = self._noticed_by or self._noticed_worker()
            notice = f"a termination notice to {noticed_by}"
            number = signal.SIGTERM
        raise watch.stopped(notice, number)

    def _members(self):
        """`(task_type, task_id)` by TensorFlow's number: chief 0, workers next."""
        cluster = self.strategy.cluster_resolver.cluster_spec()
        tasks = [("chief", 0)] if "chief" in cluster.jobs else []
        if "worker" in cluster.jobs:
            tasks += [("worker", i) for i in range(cluster.num_tasks("worker"))]
        return tasks

    def _noticed_worker(self):
        """Which worker got the notice, from the handler's coordination key."""
        from tensorflow.python.distribute.failure_handling import failure_handling
        from tensorflow.python.eager import context

        try:
            member = int(
                context.context().get_config_key_value(
                    failure_handling._PREEMPTION_WORKER_KEY, timeout_in_ms=2000
                )
            )
        except (tf.errors.OpError, ValueError):
            return "another worker"
        tasks = self._members()
        if not 0 <= member < len(tasks):
            return "another worker"
        return describe_task(*tasks[member], strategy=self.strategy)

    @contextlib.contextmanager
    def watching(self, check):
        """Within this block, `step_done` may stop the run on every worker.

        Args:
            check: the run's `StopCheck`: its flag, and what to call at the
                step the workers agree to stop after (`save`, `stopped`,
                `kept`).
        """
        self._watch = check
        try:
            yield self
        finally:
            self._watch = None

    def step_done(self):
        """Call after every step, on every worker, inside `watching`.

        Returns normally, or, at the step the workers agreed to stop after,
        calls `save` and raises `stopped(...)`.
        """
        self._deadline = time.monotonic() + self._handshake_timeout
        try:
            with _quiet_tensorflow_logger():
                self._handler.save_checkpoint_if_preempted()
        finally:
            self._deadline = None


_coordinators = {}


def is_multi_worker(strategy):
    """Whether `strategy` runs on several workers (a cluster in `TF_CONFIG`)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is not None and bool(resolver.cluster_spec().jobs)


def preemption_coordinator(strategy):
    """The process's `PreemptionCoordinator` for `strategy`, or None.

    None for single-worker strategies, and where TensorFlow's handler does not
    work (Google Cloud CPU / TPU VMs): a notice then stops the worker that got
    it alone, and the others stop on losing it (`worker_lost_error`).
    """
    if not is_multi_worker(strategy):
        return None
    key = id(strategy)
    if key not in _coordinators:
        _coordinators[key] = (strategy, PreemptionCoordinator(strategy))
    coordinator = _coordinators[key][1]
    return coordinator if coordinator.supported else None


@contextlib.contextmanager
def stop_on_notice(strategy, save, stopped, kept=None):
    """A `StopFlag` and, for a multi-worker strategy, the coordinator watching it.

    Args:
        strategy: the run's strategy.
        save, stopped, kept: see `StopCheck`.

    Yields:
        `StopCheck`; its `coordinator` is None for one worker: the run then
        stops by itself when `step_done()` says so.

    Example (a loop whose `save()` checkpoints and whose `Stopped(notice,
    signal_number)` is its `RunInterrupted` error):
    >>> with stop_on_notice(strategy, save, Stopped) as stop:
    ...     for step in range(steps):  # doctest: +SKIP
    ...         train_step()
    ...         stop.on_step(step + 1, steps, {})  # May save and raise.
    """
    coordinator = preemption_coordinator(strategy)
    with StopFlag() as stop_flag:
        check = StopCheck(stop_flag, coordinator, save, stopped, kept)
        if coordinator is None:
            yield check
            return
        with coordinator.watching(check):
            yield check


@contextlib.contextmanager
def reporting_lost_workers(strategy, kept):
    """Turns the TensorFlow error of a lost worker into a `WorkerLostError`.

    Args:
        strategy: the run's strategy; with one worker nothing is turned.
        kept: `fn() -> str`, what the run keeps and how to continue it, asked
            when the error comes (see `worker_lost_error`).
    """
    try:
        yield
    except tf.errors.OpError as error:
        lost = worker_lost_error(error, strategy, kept())
        if lost is None:
            raise
        raise lost from None


# ------------------------------------------------------------ lost workers

_TASK_NAME = re.compile(r"/job:(\w+)/(?:replica:\d+/)?task:(\d+)")
_PEER_LOSS_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.AbortedError,
    tf.errors.CancelledError,
)


def lost_tasks(message, me, leader=None):
    """Which tasks a TensorFlow error about a lost worker names, and how.

    Args:
        message: str, the error's message.
        me: `(task_type, task_id)` of this process, never counted as lost.
        leader: str, the coordination-service leader task (e.g.
            `"/job:worker/replica:0/task:0"`), taken as lost when this process
            lost contact with the service and the message names no task.

    Returns:
        `(tasks, how)`: list of `(task_type, task_id)` in the order named, and
        one of `"heartbeat"` (the service missed its heartbeats),
        `"service"` (this process got no answer from the service),
        `"timeout"` (a collective timed out), `"connection"`.
    """
    text = message.split("unhealthy", 1)[1] if "unhealthy" in message else message
    tasks = []
    for task_type, task_id in _TASK_NAME.findall(text):
        task = (task_type, int(task_id))
        if task != me and task not in tasks:
            tasks.append(task)
    if "unhealthy" in message:
        how = "heartbeat"
    elif "oordination" in message:
        how = "service"
        if not tasks and leader:
            tasks = [
                (job, int(index))
                for job, index in _TASK_NAME.findall(leader)
                if (job, int(index)) != me
            ]
    elif "timed out" in message:
        how = "timeout"
    else:
        how = "connection"
    return tasks, how


def worker_lost_error(error, strategy, kept):
    """A `WorkerLostError` for a TensorFlow error due to a lost worker, or None.

    Args:
        error: a `tf.errors.OpError` raised in a multi-worker run.
        strategy: the run's strategy.
        kept: str, what the run kept and how to continue, e.g. `"the
            checkpoint of step 40 in runs/x is kept; ..."`; ends the message.

    Returns:
        `WorkerLostError` whose one-line message names the lost worker(s)
        (`"worker 1 (host-b:12345)"`), or None when `error` is not about a
        lost worker or the strategy is single-worker.
    """
    if not is_multi_worker(strategy):
        return None
    message = str(error)
    if not (
        isinstance(error, _PEER_LOSS_ERRORS)
        or "Collective ops is aborted" in message
        or "unhealthy" in message
    ):
        return None
    from tensorflow.python.distribute import multi_worker_util

    leader = multi_worker_util.coordination_leader(
        strategy.cluster_resolver.cluster_spec()
    )
    tasks, how = lost_tasks(message, task_of(strategy), leader)
    who = " and ".join(describe_task(*task, strategy=strategy) for task in tasks)
    seconds = heartbeat_timeout()
    after = f" for {seconds:g} s" if seconds else ""
    reason = {
        "heartbeat": f"no heartbeat from it{after}",
        "service": f"it stopped answering heartbeats{after}",
        "timeout": "a collective timed out",
        "connection": "its connection failed",
    }[how]
    return WorkerLostError(f"lost {who or 'a worker'} ({reason}); {kept}", tasks=tasks)


__all__ = [
    "PREEMPTED_EXIT_CODE",
    "WORKER_LOST_EXIT_CODE",
    "Preempted",
    "PreemptionCoordinator",
    "StopCheck",
    "StopFlag",
    "WorkerLostError",
    "is_multi_worker",
    "lost_tasks",
    "preemption_coordinator",
    "reporting_lost_workers",
    "stop_on_notice",
    "worker_lost_error",
]
