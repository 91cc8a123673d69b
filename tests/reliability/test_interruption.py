"""The real `udd-keras distill` in subprocesses: interrupted, killed, resumed.

One module fixture runs, in parallel to save time:

- a reference run, uninterrupted, while a second `distill` into the same
  directory is attempted (it must be refused by the directory lock);
- runs stopped by SIGTERM and SIGKILL at a random (seeded) step, each then
  continued with `--resume` to the end (SIGINT too when its tests are selected:
  they are the exhaustive tier's, since SIGINT takes SIGTERM's handler);
- a run whose 5th checkpoint save fails (OSError, "disk full"), then resumed;
- a run whose network loss becomes NaN at the 6th step.

Every resumed run must end with the reference's images, boxes and metrics.
"""

import contextlib
import io
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.cli.main import main
from udd_keras.tfrecords import read_synthetic_set

pytestmark = pytest.mark.slow

ITERATIONS, INNER_STEPS = 2, 8
TOTAL_STEPS = ITERATIONS * INNER_STEPS
SETTINGS = [
    "digits",
    "--ipc", "1",
    "--iterations", str(ITERATIONS),
    "--inner-steps", str(INNER_STEPS),
    "--width", "8",
    "--net-images", "32",
    "--real-batch", "16",
    "--log-every", "1",
    "--seed", "5",
    "--no-progress",
]  # fmt: skip
SAVE_FAILS_AT_CALL = 5
NAN_AT_STEP = 6
SEED = 20240611
PHASE_TIMEOUT = 540

# Runs the CLI with one tf.train.CheckpointManager.save call failing, or with
# the network loss of one step replaced by NaN (UDD_TEST_FAULT=save|nan:N).
FAULT_DRIVER = """
import os, sys
from udd_keras.cli.main import main, quiet_tensorflow_import
quiet_tensorflow_import()
import tensorflow as tf
from udd_keras.distillation import engine
kind, at = os.environ["UDD_TEST_FAULT"].split(":")
calls = [0]
if kind == "save":
    original_save = tf.train.CheckpointManager.save
    def save(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == int(at):
            raise OSError(28, "No space left on device")
        return original_save(self, *args, **kwargs)
    tf.train.CheckpointManager.save = save
else:
    original_update = engine.DistillationEngine.update_network
    def update_network(self, key):
        calls[0] += 1
        loss = original_update(self, key)
        return tf.constant(float("nan")) if calls[0] == int(at) else loss
    engine.DistillationEngine.update_network = update_network
main(sys.argv[1:])
"""


def _environment():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("UDD_KERAS_VERBOSE", None)
    return env


class Run:
    """One `distill` subprocess writing into `out`."""

    def __init__(self, out, extra=(), fault=None):
        self.out = out
        self.extra = list(extra)
        self.fault = fault
        self.process = None
        self.results = []  # (returncode, stdout, stderr) per finished process

    def argv(self, resume=False):
        argv = ["distill", *SETTINGS, *self.extra, "--out", str(self.out)]
        return argv + (["--resume"] if resume else [])

    def start(self, resume=False):
        env = _environment()
        if self.fault and not resume:
            env["UDD_TEST_FAULT"] = self.fault
            command = [sys.executable, "-c", FAULT_DRIVER]
        else:
            command = [sys.executable, "-m", "udd_keras.cli.main"]
        self.process = subprocess.Popen(
            [*command, *self.argv(resume)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def steps_logged(self):
        try:
            return len((self.out / "metrics.jsonl").read_text().splitlines())
        except FileNotFoundError:
            return 0

    def holds_lock(self):
        try:
            return (self.out / ".lock").read_text() == str(self.process.pid)
        except FileNotFoundError:
            return False

    def running(self):
        return self.process is not None and self.process.poll() is None

    def collect(self, deadline):
        stdout, stderr = self.process.communicate(
            timeout=max(1, deadline - time.time())
        )
        self.results.append((self.process.returncode, stdout, stderr))
        self.process = None

    def kill(self):
        if self.running():
            self.process.kill()
            self.process.communicate()


def _attempt_in_process(argv):
    """Runs the CLI here; returns (exit code, stderr)."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code, stderr.getvalue()


def _second_runs_against(run):
    """`distill` into a directory another process is writing: three attempts."""
    return {
        flag: _attempt_in_process(run.argv() + ([flag] if flag else []))
        for flag in ("", "--force", "--resume")
    }


def _sigint_selected(session):
    """Whether a selected test of this module checks the SIGINT run."""
    here = pathlib.Path(__file__)
    return any(item.path == here and "SIGINT" in item.nodeid for item in session.items)


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    base = tmp_path_factory.mktemp("interruption")
    rng = np.random.default_rng(SEED)
    runs = {
        "reference": Run(base / "reference"),
        "SIGINT": Run(base / "sigint", ["--checkpoint-every", "1"]),
        "SIGTERM": Run(base / "sigterm", ["--checkpoint-every", "1"]),
        "SIGKILL": Run(base / "sigkill", ["--checkpoint-every", "3"]),
        "save-fails": Run(
            base / "save-fails",
            ["--checkpoint-every", "1"],
            fault=f"save:{SAVE_FAILS_AT_CALL}",
        ),
        "nan": Run(
            base / "nan", ["--checkpoint-every", "1"], fault=f"nan:{NAN_AT_STEP}"
        ),
    }
    # A random (seeded) step at which to signal, and a delay after it so that
    # the signal may land anywhere in the next step (a save included).
    targets = {
        name: (int(rng.integers(2, TOTAL_STEPS - 4)), float(rng.uniform(0.0, 0.3)))
        for name in ("SIGINT", "SIGTERM", "SIGKILL")
    }
    if not _sigint_selected(request.session):
        del runs["SIGINT"], targets["SIGINT"]
    fixture = {"runs": runs, "targets": targets, "signalled_after": {}}
    try:
        for run in runs.values():
            run.start()
        deadline = time.time() + PHASE_TIMEOUT
        pending = dict(targets)
        while time.time() < deadline and (pending or "second" not in fixture):
            reference = runs["reference"]
            if "second" not in fixture and reference.holds_lock():
                fixture["second"] = _second_runs_against(reference)
                fixture["reference_running_after_second"] = reference.running()
            for name, (step, delay) in list(pending.items()):
                run = runs[name]
                assert run.running(), f"{name} run ended before its signal"
                logged = run.steps_logged()
                if logged >= step:
                    time.sleep(delay)
                    fixture["signalled_after"][name] = run.steps_logged()
                    run.process.send_signal(getattr(signal, name))
                    del pending[name]
            time.sleep(0.05)
        assert not pending, f"signals not sent in time: {pending}"
        for run in runs.values():
            run.collect(deadline)
        fixture["seconds"] = [time.time() - deadline + PHASE_TIMEOUT]
        # What each stopped run left, before `--resume` touches it.
        fixture["snapshots"] = {
            name: shutil.copytree(run.out, base / "snapshots" / name)
            for name, run in runs.items()
        }
        deadline = time.time() + PHASE_TIMEOUT
        resumed = [
            n for n in ("SIGINT", "SIGTERM", "SIGKILL", "save-fails") if n in runs
        ]
        for name in resumed:
            runs[name].start(resume=True)
        for name in resumed:
            runs[name].collect(deadline)
        fixture["seconds"].append(time.time() - deadline + PHASE_TIMEOUT)
        print(f"subprocess phases took {fixture['seconds']} s")
        yield fixture
    finally:
        for run in runs.values():
            run.kill()


def _error_line(stderr):
    """The one `Error: ...` line, which must be the last; no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    return errors[0]


def _checkpoint_step(path):
    return int(path.rsplit("-", 1)[1])


def _latest_checkpoint(out):
    return tf.train.latest_checkpoint(str(out / "checkpoints"))


def _assert_no_half_written_outputs(out):
    """Only complete named outputs: a TFRecord is readable, JSON parses."""
    json.loads((out / "config.json").read_text())
    if (out / "synthetic.tfrecord").exists():
        read_synthetic_set(out / "synthetic.tfrecord")
    for line in (out / "metrics.jsonl").read_text().splitlines():
        json.loads(line)
    latest = tf.train.latest_checkpoint(str(out / "checkpoints"))
    if latest is not None:
        reader = tf.train.load_checkpoint(latest)
        assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == (
            _checkpoint_step(latest)
        )


def _assert_same_as_reference(run, reference):
    expected = read_synthetic_set(reference.out / "synthetic.tfrecord")
    actual = read_synthetic_set(run.out / "synthetic.tfrecord")
    np.testing.assert_allclose(actual.images, expected.images, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(actual.labels, expected.labels)
    np.testing.assert_array_equal(actual.boxes, expected.boxes)
    metrics = [json.loads(line) for line in (run.out / "metrics.jsonl").open()]
    reference_metrics = [
        json.loads(line) for line in (reference.out / "metrics.jsonl").open()
    ]
    assert [m["step"] for m in metrics] == list(range(1, TOTAL_STEPS + 1))
    np.testing.assert_allclose(
        [m["loss"] for m in metrics],
        [m["loss"] for m in reference_metrics],
        rtol=1e-4,
    )


def test_reference_run_completes(runs):
    reference = runs["runs"]["reference"]
    (returncode, stdout, stderr) = reference.results[0]
    assert returncode == 0, stderr
    assert "synthetic.tfrecord" in stdout
    _assert_no_half_written_outputs(reference.out)
    assert len(read_synthetic_set(reference.out / "synthetic.tfrecord").images) == 10


def test_a_second_run_into_a_busy_directory_is_refused(runs):
    assert runs["reference_running_after_second"]
    for flag, (code, stderr) in runs["second"].items():
        assert code == 2, (flag, stderr)
        assert stderr.count("\n") == 1, stderr
        assert stderr.startswith("Error: another udd-keras process is writing to")
    # The first run was not disturbed: it finished with every step logged once.
    test_reference_run_completes(runs)
    reference = runs["runs"]["reference"]
    steps = [
        json.loads(line)["step"] for line in (reference.out / "metrics.jsonl").open()
    ]
    assert steps == list(range(1, TOTAL_STEPS + 1))


def test_a_finished_run_is_refused_without_resume_or_force(runs):
    reference = runs["runs"]["reference"]
    before = (reference.out / "synthetic.tfrecord").read_bytes()
    code, stderr = _attempt_in_process(reference.argv())
    assert code == 2
    assert stderr.startswith("Error: ") and "already holds a run" in stderr
    assert "--resume" in stderr and "--force" in stderr
    assert (reference.out / "synthetic.tfrecord").read_bytes() == before


@pytest.mark.parametrize(
    "name, exit_code",
    [pytest.param("SIGINT", 130, marks=pytest.mark.exhaustive), ("SIGTERM", 143)],
)
def test_a_signal_saves_a_checkpoint_and_says_how_to_resume(runs, name, exit_code):
    run = runs["runs"][name]
    returncode, _, stderr = run.results[0]
    assert returncode == exit_code, stderr
    line = _error_line(stderr)
    assert f"stopped by {name} at step" in line
    assert f"checkpoint saved in {run.out}" in line and "--resume" in line
    stopped_at = int(line.split(" at step ")[1].split("/")[0])
    target, _ = runs["targets"][name]
    assert target <= stopped_at < TOTAL_STEPS
    # The checkpoint is the step the message names; no final outputs yet.
    left = runs["snapshots"][name]
    assert _checkpoint_step(_latest_checkpoint(left)) == stopped_at
    assert not (left / "synthetic.tfrecord").exists()
    assert not (left / "synthetic.png").exists()
    _assert_no_half_written_outputs(left)


def test_sigkill_leaves_only_complete_files(runs):
    run = runs["runs"]["SIGKILL"]
    returncode, _, _ = run.results[0]
    assert returncode == -signal.SIGKILL
    left = runs["snapshots"]["SIGKILL"]
    _assert_no_half_written_outputs(left)
    step = _checkpoint_step(_latest_checkpoint(left))
    assert step % 3 == 0 or step % INNER_STEPS == 0  # --checkpoint-every 3
    assert step <= runs["signalled_after"]["SIGKILL"]
    assert not (left / "synthetic.tfrecord").exists()


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("SIGINT", marks=pytest.mark.exhaustive),
        "SIGTERM",
        "SIGKILL",
        "save-fails",
    ],
)
def test_resume_ends_like_an_uninterrupted_run(runs, name):
    run = runs["runs"][name]
    returncode, stdout, stderr = run.results[1]
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "synthetic.tfrecord" in stdout
    _assert_no_half_written_outputs(run.out)
    _assert_same_as_reference(run, runs["runs"]["reference"])


def test_a_failed_checkpoint_save_stops_and_keeps_the_last_good_one(runs):
    run = runs["runs"]["save-fails"]
    returncode, _, stderr = run.results[0]
    assert returncode == 2, stderr
    line = _error_line(stderr)
    failed = SAVE_FAILS_AT_CALL
    assert f"could not save the checkpoint of step {failed}" in line
    assert "No space left on device" in line
    assert f"ckpt-{failed - 1} is kept" in line and "--resume" in line
    left = runs["snapshots"]["save-fails"]
    assert _checkpoint_step(_latest_checkpoint(left)) == failed - 1
    assert not (left / "synthetic.tfrecord").exists()
    _assert_no_half_written_outputs(left)


def test_a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(runs):
    run = runs["runs"]["nan"]
    returncode, _, stderr = run.results[0]
    assert returncode == 2, stderr
    line = _error_line(stderr)
    iteration, inner = divmod(NAN_AT_STEP - 1, INNER_STEPS)
    assert (
        f"network loss became nan at iteration {iteration}, inner step {inner}" in line
    )
    assert f"ckpt-{NAN_AT_STEP - 1} is kept" in line and "--lr-img" in line
    latest = _latest_checkpoint(run.out)
    assert _checkpoint_step(latest) == NAN_AT_STEP - 1
    images = tf.train.load_checkpoint(latest).get_tensor(
        "images/.ATTRIBUTES/VARIABLE_VALUE"
    )
    assert images.shape == (10, 8, 8, 1) and np.all(np.isfinite(images))
    assert not (run.out / "synthetic.tfrecord").exists()
    _assert_no_half_written_outputs(run.out)
