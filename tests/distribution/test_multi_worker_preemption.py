"""Two local workers that lose one of theirs: preempted (SIGTERM), killed, hung.

Each scenario runs the real `udd-keras distill` / `udd-keras evaluate` in two
processes with `--strategy multi-worker` and TF_CONFIG on 127.0.0.1, stops one
worker mid-run, checks how both ended, then reruns the same command on both and
checks that the result is the uninterrupted run's:

- SIGTERM to the non-chief, and to the chief: every worker stops after the same
  step with exit status 75 and one `Error:` line; distill resumes with
  `--resume` to the reference images (max abs difference <= 1e-5); evaluate
  keeps its finished runs, trains only the others on the rerun and reports the
  reference accuracies.
- SIGKILL to the non-chief: the chief exits with status 69 within the worker
  timeout, with one line naming the lost worker; at most one checkpoint
  interval is lost; the rerun completes like the reference.
- SIGSTOP to the chief (distill): a worker that hangs without closing its
  connections, like a machine cut off; the other is stopped by the missed
  heartbeats within the timeout.
- SIGTERM to the chief while the other worker cannot acknowledge the step to
  stop at (TensorFlow's handler waits for it without a timeout): both end
  within the timeout, the chief naming the silent worker.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.preemption import PREEMPTED_EXIT_CODE, WORKER_LOST_EXIT_CODE
from udd_keras.tfrecords import read_synthetic_set

pytestmark = pytest.mark.slow

WORKER_TIMEOUT = 24  # seconds; the coordination service's heartbeat: 12 s
PHASE_TIMEOUT = 300  # seconds for one start of both workers
ITERATIONS, INNER_STEPS, CHECKPOINT_EVERY = 2, 20, 5
TOTAL_STEPS = ITERATIONS * INNER_STEPS
SIGNAL_AT_STEP = 5
DISTILL = [
    "distill",
    "digits",
    "--ipc", "1",
    "--iterations", str(ITERATIONS),
    "--inner-steps", str(INNER_STEPS),
    "--checkpoint-every", str(CHECKPOINT_EVERY),
    "--width", "8",
    "--net-images", "32",
    "--real-batch", "16",
    "--log-every", "1",
    "--seed", "5",
    "--no-progress",
]  # fmt: skip
REPEATS = 3
EVALUATE = [
    "evaluate",
    "--epochs", "30",
    "--repeats", str(REPEATS),
    "--width", "8",
    "--batch-size", "16",
    "--seed", "2",
]  # fmt: skip


# Runs the CLI with TensorFlow's preemption handler unable to acknowledge a
# peer's stop step on this worker (its watcher thread does nothing).
NO_ACK_DRIVER = """
import sys
from tensorflow.python.distribute.failure_handling import failure_handling
failure_handling.PreemptionCheckpointHandler._watch_step_to_save_key = (
    lambda self: None
)
from udd_keras.cli.main import main
main(sys.argv[1:])
"""


def free_ports(count):
    """`count` distinct free TCP ports on 127.0.0.1 (bound to port 0, released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_until(condition, what, timeout=PHASE_TIMEOUT, processes=()):
    """Polls `condition()` until true; fails if a process in `processes` ends."""
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            assert process.poll() is None, f"a worker ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Ended:
    """How one worker process ended: exit status, output, when."""

    def __init__(self, code, stdout, stderr, at):
        self.code, self.stdout, self.stderr, self.at = code, stdout, stderr, at

    def error_line(self):
        """The one `Error: ...` line, which must be the last; no traceback."""
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("Error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], self.stderr[-3000:]
        return errors[0]


class Cluster:
    """The same `udd-keras` command on two workers (worker 0 is the chief)."""

    def __init__(self, folder, argv):
        self.folder = folder
        self.argv = [str(arg) for arg in argv]
        self.processes = []
        self.logs = []
        self.starts = 0

    def start(self, extra=(), drivers=None):
        """Starts both workers; `drivers`: {index: Python code run instead}."""
        addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
        self.starts += 1
        self.processes, self.logs = [], []
        for index in range(2):
            scratch = self.folder / f"tmp-{index}"
            scratch.mkdir(exist_ok=True)
            config = {
                "cluster": {"worker": addresses},
                "task": {"type": "worker", "index": index},
            }
            env = dict(
                os.environ,
                TF_CONFIG=json.dumps(config),
                TMPDIR=str(scratch),
                CUDA_VISIBLE_DEVICES="",
                TF_CPP_MIN_LOG_LEVEL="2",
            )
            env.pop("UDD_KERAS_VERBOSE", None)
            logs = [
                self.folder / f"{name}-{self.starts}-{index}.txt"
                for name in ("stdout", "stderr")
            ]
            self.logs.append(logs)
            with logs[0].open("w") as stdout, logs[1].open("w") as stderr:
                driver = (drivers or {}).get(index)
                command = ["-c", driver] if driver else ["-m", "udd_keras.cli.main"]
                self.processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            *command,
                            *self.argv,
                            "--strategy",
                            "multi-worker",
                            "--worker-timeout",
                            str(WORKER_TIMEOUT),
                            *map(str, extra),
                        ],
                        env=env,
                        stdout=stdout,
                        stderr=stderr,
                    )
                )
        return self

    def send(self, index, sig):
        self.processes[index].send_signal(sig)
        return time.monotonic()

    def finish(self, timeout=PHASE_TIMEOUT, indices=(0, 1)):
        """Waits for the workers in `indices`; returns their `Ended`."""
        deadline = time.monotonic() + timeout
        ended = {}
        while len(ended) < len(indices):
            for index in indices:
                if index not in ended and self.processes[index].poll() is not None:
                    ended[index] = time.monotonic()
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"workers {indices} still running after {timeout} s")
            time.sleep(0.05)
        return {
            index: Ended(
                self.processes[index].returncode,
                self.logs[index][0].read_text(),
                self.logs[index][1].read_text(),
                ended[index],
            )
            for index in indices
        }

    def kill(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _checkpoint_step(path):
    return int(path.rsplit("-", 1)[1])


def _assert_complete_checkpoint(out):
    """The checkpoint `--resume` would take is whole: it reads, step matches."""
    latest = tf.train.latest_checkpoint(str(out / "checkpoints"))
    assert latest is not None
    reader = tf.train.load_checkpoint(latest)
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == (
        _checkpoint_step(latest)
    )
    assert reader.get_tensor("images/.ATTRIBUTES/VARIABLE_VALUE").shape == (
        10,
        8,
        8,
        1,
    )
    return _checkpoint_step(latest)


def _metric_steps(out):
    try:
        return len((out / "metrics.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


# ---------------------------------------------------------------- distill


def _scenario_id(scenario):
    name, target = scenario
    return f"{name}-{target}"


@pytest.fixture(scope="module")
def distill_reference(tmp_path_factory):
    """An uninterrupted two-worker run: its synthetic set."""
    folder = tmp_path_factory.mktemp("distill-reference")
    cluster = Cluster(folder, [*DISTILL, "--out", folder / "run"])
    try:
        ended = cluster.start().finish()
    finally:
        cluster.kill()
    for worker in ended.values():
        assert worker.code == 0, worker.stderr[-3000:]
    return read_synthetic_set(folder / "run" / "synthetic.tfrecord")


# The default run covers a preempted worker (its notice reaching the other) and
# a lost one; the chief preempted and the chief hung are the exhaustive tier.
DISTILL_SCENARIOS = [
    ("SIGTERM", 1),
    pytest.param(("SIGTERM", 0), marks=pytest.mark.exhaustive),
    ("SIGKILL", 1),
    pytest.param(("SIGSTOP", 0), marks=pytest.mark.exhaustive),
]


@pytest.fixture(scope="module", params=DISTILL_SCENARIOS, ids=_scenario_id)
def distill_scenario(request, tmp_path_factory):
    """Signals one worker at step 5, then resumes on both (not after SIGSTOP)."""
    name, target = request.param
    folder = tmp_path_factory.mktemp(f"distill-{name}-{target}")
    out = folder / "run"
    cluster = Cluster(folder, [*DISTILL, "--out", out])
    result = {"name": name, "target": target, "out": out}
    try:
        cluster.start()
        # After step 5 and its checkpoint: a worker killed while the first
        # checkpoint is written leaves none, and the run starts over.
        wait_until(
            lambda: (
                _metric_steps(out) >= SIGNAL_AT_STEP
                and tf.train.latest_checkpoint(str(out / "checkpoints")) is not None
            ),
            f"step {SIGNAL_AT_STEP} and its checkpoint",
            processes=cluster.processes,
        )
        result["signalled_at"] = _metric_steps(out)
        sent = cluster.send(target, getattr(signal, name))
        survivors = (0, 1) if name == "SIGTERM" else (1 - target,)
        result["first"] = cluster.finish(indices=survivors)
        result["seconds_to_exit"] = {
            index: ended.at - sent for index, ended in result["first"].items()
        }
        cluster.kill()  # The killed or stopped worker.
        result["checkpoint_step"] = _assert_complete_checkpoint(out)
        result["exported_early"] = (out / "synthetic.tfrecord").exists()
        # What the first start left in the workers' temporary folders (a
        # killed worker cannot delete its own).
        result["left_before"] = set(folder.glob("tmp-*/udd-keras-*"))
        if name != "SIGSTOP":
            result["resumed"] = cluster.start(["--resume"]).finish()
        yield result
    finally:
        cluster.kill()


def test_distill_workers_stop_as_the_scenario_says(distill_scenario):
    name, target = distill_scenario["name"], distill_scenario["target"]
    first, out = distill_scenario["first"], distill_scenario["out"]
    if name == "SIGTERM":
        lines = {index: ended.error_line() for index, ended in first.items()}
        for ended in first.values():
            assert ended.code == PREEMPTED_EXIT_CODE, ended.stderr[-3000:]
        stopped_at = {
            int(line.split(" at step ")[1].split("/")[0]) for line in lines.values()
        }
        assert len(stopped_at) == 1, lines  # Every worker stopped at one step.
        step = stopped_at.pop()
        assert distill_scenario["signalled_at"] <= step < TOTAL_STEPS
        assert f"stopped by SIGTERM to this worker at step {step}/" in lines[target]
        other = 1 - target
        assert "stopped by a termination notice to worker " in lines[other]
        assert f"worker {target} (127.0.0.1:" in lines[other]
        for line in lines.values():
            assert f"saved its checkpoint in {out}" in line and "--resume" in line
        # The checkpoint of that very step, on the chief's disk.
        assert distill_scenario["checkpoint_step"] == step
    else:
        (survivor,) = first
        ended = first[survivor]
        assert ended.code == WORKER_LOST_EXIT_CODE, ended.stderr[-3000:]
        line = ended.error_line()
        assert f"lost worker {target} (127.0.0.1:" in line, line
        assert f"in {out} is kept" in line and "--resume" in line
        if name == "SIGSTOP":
            assert "stopped answering heartbeats for 12 s" in line, line
        # At most one checkpoint interval is lost.
        step = distill_scenario["checkpoint_step"]
        assert step >= distill_scenario["signalled_at"] - CHECKPOINT_EVERY
    assert not distill_scenario["exported_early"]


def test_distill_workers_never_outlive_the_worker_timeout(distill_scenario):
    for index, seconds in distill_scenario["seconds_to_exit"].items():
        assert seconds < WORKER_TIMEOUT, (index, seconds)


def test_distill_resumes_to_the_uninterrupted_images(distill_scenario, request):
    if distill_scenario["name"] == "SIGSTOP":
        pytest.skip("resuming after a lost worker is the SIGKILL scenario")
    distill_reference = request.getfixturevalue("distill_reference")
    for ended in distill_scenario["resumed"].values():
        assert ended.code == 0, ended.stderr[-3000:]
        assert "Traceback" not in ended.stderr
    out = distill_scenario["out"]
    resumed = read_synthetic_set(out / "synthetic.tfrecord")
    assert np.max(np.abs(resumed.images - distill_reference.images)) <= 1e-5
    np.testing.assert_array_equal(resumed.labels, distill_reference.labels)
    np.testing.assert_array_equal(resumed.boxes, distill_reference.boxes)
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").open()]
    assert steps == list(range(1, TOTAL_STEPS + 1))
    # Only the chief exports; the worker's temporary directory is gone.
    assert sorted(p.name for p in out.parent.rglob("*.tfrecord")) == [
        "synthetic.tfrecord"
    ]
    left = set(out.parent.glob("tmp-*/udd-keras-*"))
    assert left <= distill_scenario["left_before"]
    if distill_scenario["name"] == "SIGTERM":
        assert not left  # Stopped workers clean up after themselves.


@pytest.mark.exhaustive
def test_a_worker_that_cannot_acknowledge_the_stop_step_ends_both(
    tmp_path_factory,
):
    folder = tmp_path_factory.mktemp("distill-no-ack")
    out = folder / "run"
    cluster = Cluster(folder, [*DISTILL, "--out", out])
    try:
        cluster.start(drivers={1: NO_ACK_DRIVER})
        wait_until(
            lambda: _metric_steps(out) >= SIGNAL_AT_STEP,
            f"step {SIGNAL_AT_STEP}",
            processes=cluster.processes,
        )
        sent = cluster.send(0, signal.SIGTERM)
        ended = cluster.finish()
    finally:
        cluster.kill()
    chief, worker = ended[0], ended[1]
    assert chief.code == WORKER_LOST_EXIT_CODE, chief.stderr[-3000:]
    line = chief.error_line()
    assert "lost worker 1 (127.0.0.1:" in line, line
    assert "no answer for 12 s while the workers agreed where to stop" in line
    assert f"in {out} is kept" in line and "--resume" in line
    assert worker.code == WORKER_LOST_EXIT_CODE, worker.stderr[-3000:]
    assert "lost worker 0 (127.0.0.1:" in worker.error_line()
    for ended_worker in (chief, worker):
        assert ended_worker.at - sent < WORKER_TIMEOUT
    _assert_complete_checkpoint(out)


# --------------------------------------------------------------- evaluate


@pytest.fixture(scope="module")
def evaluation_set(tmp_path_factory, write_digits_set):
    """Ten real digits, one per class, each with one region."""
    path = tmp_path_factory.mktemp("evaluation-set") / "digits.tfrecord"
    return write_digits_set(path, box=[0, 0, 8, 8])


def _accuracies(report_path):
    return json.loads(report_path.read_text())["results"][0]["accuracies"]


@pytest.fixture(scope="module")
def evaluate_reference(tmp_path_factory, evaluation_set):
    folder = tmp_path_factory.mktemp("evaluate-reference")
    report = folder / "report.json"
    cluster = Cluster(folder, [*EVALUATE, evaluation_set, "--json", report])
    try:
        ended = cluster.start().finish()
    finally:
        cluster.kill()
    for worker in ended.values():
        assert worker.code == 0, worker.stderr[-3000:]
    assert not report.with_suffix(".progress.json").exists()
    return _accuracies(report)


@pytest.fixture(
    scope="module",
    params=[
        ("SIGTERM", 1),
        pytest.param(("SIGTERM", 0), marks=pytest.mark.exhaustive),
        pytest.param(("SIGKILL", 1), marks=pytest.mark.exhaustive),
    ],
    ids=_scenario_id,
)
def evaluate_scenario(request, tmp_path_factory, evaluation_set):
    """Signals one worker once a run has finished; reruns on both."""
    name, target = request.param
    folder = tmp_path_factory.mktemp(f"evaluate-{name}-{target}")
    report = folder / "report.json"
    progress = report.with_suffix(".progress.json")
    cluster = Cluster(folder, [*EVALUATE, evaluation_set, "--json", report])
    result = {"name": name, "target": target, "report": report}
    try:
        cluster.start()
        wait_until(progress.exists, "a finished run", processes=cluster.processes)
        sent = cluster.send(target, getattr(signal, name))
        survivors = (0, 1) if name == "SIGTERM" else (1 - target,)
        result["first"] = cluster.finish(indices=survivors)
        result["seconds_to_exit"] = {
            index: ended.at - sent for index, ended in result["first"].items()
        }
        cluster.kill()
        result["kept"] = json.loads(progress.read_text())["runs"]
        result["report_written_early"] = report.exists()
        logdir = folder / "tensorboard"
        result["rerun"] = cluster.start(["--logdir", logdir]).finish()
        result["rerun_repeats"] = sorted(
            path.name for path in (logdir / "convnet3").iterdir()
        )
        result["progress_left"] = progress.exists()
        yield result
    finally:
        cluster.kill()


def test_evaluate_workers_stop_with_one_line(evaluate_scenario):
    name, target = evaluate_scenario["name"], evaluate_scenario["target"]
    kept = len(evaluate_scenario["kept"])
    assert 1 <= kept < REPEATS
    progress = evaluate_scenario["report"].with_suffix(".progress.json")
    kept_text = f"{kept} of {REPEATS} runs finished and are kept in {progress}"
    for index, ended in evaluate_scenario["first"].items():
        line = ended.error_line()
        assert kept_text in line, line
        if name == "SIGTERM":
            assert ended.code == PREEMPTED_EXIT_CODE, ended.stderr[-3000:]
            if index == target:
                assert "stopped by SIGTERM to this worker" in line
            else:
                assert f"termination notice to worker {target} (127.0.0.1:" in line
        else:
            assert ended.code == WORKER_LOST_EXIT_CODE, ended.stderr[-3000:]
            assert f"lost worker {target} (127.0.0.1:" in line, line
        assert "rerun the same command" in line
    assert not evaluate_scenario["report_written_early"]


def test_evaluate_workers_never_outlive_the_worker_timeout(evaluate_scenario):
    for index, seconds in evaluate_scenario["seconds_to_exit"].items():
        assert seconds < WORKER_TIMEOUT, (index, seconds)


def test_evaluate_rerun_trains_only_the_unfinished_runs(
    evaluate_scenario, evaluate_reference
):
    for ended in evaluate_scenario["rerun"].values():
        assert ended.code == 0, ended.stderr[-3000:]
    kept = sorted(run["repeat"] for run in evaluate_scenario["kept"])
    assert kept == list(range(len(kept)))
    assert evaluate_scenario["rerun_repeats"] == [
        f"repeat-{repeat}" for repeat in range(len(kept), REPEATS)
    ]
    # The kept runs are the reference's, and so is the report.
    for run in evaluate_scenario["kept"]:
        assert run["accuracy"] == evaluate_reference[run["repeat"]]
    assert _accuracies(evaluate_scenario["report"]) == evaluate_reference
    assert not evaluate_scenario["progress_left"]
