"""Stopping runs: exit codes, the signal flag, naming a lost worker, timeouts.

The two-worker runs themselves are in
`tests/distribution/test_multi_worker_preemption.py`.
"""

import os
import signal

import pytest

from udd_keras.distillation.distiller import (
    DistillationInterrupted,
    DistillationPreempted,
)
from udd_keras.distribute import check_worker_timeout, make_strategy
from udd_keras.errors import RunInterrupted, UddError
from udd_keras.preemption import (
    PREEMPTED_EXIT_CODE,
    WORKER_LOST_EXIT_CODE,
    Preempted,
    StopFlag,
    WorkerLostError,
    lost_tasks,
    preemption_coordinator,
    reporting_lost_workers,
    stop_on_notice,
    worker_lost_error,
)

# Messages of TensorFlow 2.21 errors seen by the workers that stayed, when the
# other of two was killed (SIGKILL) or stopped (SIGSTOP).
UNHEALTHY = (
    "Collective ops is aborted by: Error reported from /job:worker/task:1: The "
    "following tasks are unhealthy (stopped sending heartbeats):\n"
    "/job:worker/replica:0/task:1\nThe tasks have crashed. Check the task logs "
    "for an earlier error, or scheduler events (e.g. preemption, eviction) to "
    "debug further.\n\t [[{{node CollectiveReduceV2}}]] [Op:__inference_step_36]"
)
NO_LEADER = (
    "Collective ops is aborted by: Deadline Exceeded\n"
    "RPC: /tensorflow.CoordinationService/Heartbeat\nThe error could be from a "
    "previous operation. Restart your program to reset.\n"
    "\t [[{{node CollectiveReduceV2}}]] [Op:__inference_step_35]"
)
CONNECTION = (
    "Collective ops is aborted by: Socket closed\nAdditional GRPC error "
    "information from remote target /job:worker/replica:0/task:1 while calling "
    "/tensorflow.WorkerService/RecvBuf:\n:UNKNOWN:Error received from peer "
    '{grpc_message:"Socket closed", grpc_status:14}'
)
LEADER = "/job:worker/replica:0/task:0"


def test_exit_codes_say_preempted_and_worker_lost():
    assert (PREEMPTED_EXIT_CODE, WORKER_LOST_EXIT_CODE) == (75, 69)
    assert Preempted("stopped", signal.SIGTERM).exit_code == 75
    assert WorkerLostError("lost worker 1").exit_code == 69
    # A preempted distillation is an interrupted one, with its own status;
    # a run stopped alone keeps 128 + the signal number.
    preempted = DistillationPreempted("stopped", signal_number=signal.SIGTERM)
    assert isinstance(preempted, DistillationInterrupted)
    assert isinstance(preempted, RunInterrupted)
    assert preempted.exit_code == 75
    assert DistillationInterrupted("x", signal_number=signal.SIGTERM).exit_code == 143


def test_a_signal_sets_the_flag_and_a_second_one_stops_at_once():
    # What a shell gave this process (a background job ignores SIGINT).
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with StopFlag() as flag:
        assert not flag.is_set
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.is_set
        assert (flag.signal_name, flag.signal_number) == ("SIGTERM", signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    # The previous handlers are back.
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == (
        before
    )


def test_sigint_sets_the_flag_as_sigterm_does_and_exits_130():
    # The subprocess SIGINT scenario of tests/reliability is the exhaustive
    # tier's; this is what it adds over SIGTERM's: the flag's name and 130.
    with StopFlag() as flag:
        os.kill(os.getpid(), signal.SIGINT)
        assert flag.is_set
        assert (flag.signal_name, flag.signal_number) == ("SIGINT", signal.SIGINT)
    stopped = DistillationInterrupted("x", signal_number=flag.signal_number)
    assert stopped.exit_code == 130


def test_single_worker_runs_have_no_coordinator():
    strategy = make_strategy("one")
    assert preemption_coordinator(strategy) is None
    with stop_on_notice(strategy, None, None) as stop:
        assert stop.coordinator is None and not stop.flag.is_set
        assert not stop.step_done()


def test_a_stop_check_as_a_callback_saves_then_raises_the_run_s_error():
    saved = []
    with stop_on_notice(
        make_strategy("one"), lambda: saved.append(1), Preempted
    ) as stop:
        stop.on_step(1, 10, {})
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.step_done()
        with pytest.raises(Preempted, match="SIGTERM") as info:
            stop.on_step(2, 10, {})
    assert saved == [1] and info.value.signal_number == signal.SIGTERM


def test_a_single_worker_error_is_not_a_lost_worker():
    import tensorflow as tf

    error = tf.errors.UnavailableError(None, None, CONNECTION)
    strategy = make_strategy("one")
    assert worker_lost_error(error, strategy, "kept") is None
    with (
        pytest.raises(tf.errors.UnavailableError),
        reporting_lost_workers(strategy, lambda: "kept"),
    ):
        raise error


@pytest.mark.parametrize(
    "message, me, expected",
    [
        # The chief runs the coordination service: it names the silent task.
        (UNHEALTHY, ("worker", 0), ([("worker", 1)], "heartbeat")),
        # The other worker lost the service: its leader is the lost one.
        (NO_LEADER, ("worker", 1), ([("worker", 0)], "service")),
        # A killed process closes its connections at once.
        (CONNECTION, ("worker", 0), ([("worker", 1)], "connection")),
        # This worker's own name is never the lost one.
        (CONNECTION, ("worker", 1), ([], "connection")),
        (
            "Collective ops is aborted by: Collective has timed out during execution.",
            ("worker", 0),
            ([], "timeout"),
        ),
    ],
)
def test_the_lost_worker_is_named_from_tensorflows_error(message, me, expected):
    assert lost_tasks(message, me, LEADER) == expected


def test_a_cluster_with_a_chief_names_it():
    message = CONNECTION.replace("/job:worker/replica:0/task:1", "/job:chief/task:0")
    assert lost_tasks(message, ("worker", 0), "/job:chief/replica:0/task:0") == (
        [("chief", 0)],
        "connection",
    )
    assert lost_tasks(NO_LEADER, ("worker", 0), "/job:chief/replica:0/task:0") == (
        [("chief", 0)],
        "service",
    )


@pytest.mark.parametrize("seconds", [0, 1.5, -3, "10", None, True, float("nan")])
def test_a_worker_timeout_below_two_seconds_is_refused(seconds):
    with pytest.raises(UddError, match=r"worker timeout .* >= 2, got"):
        check_worker_timeout(seconds)
    # Refused before TensorFlow sets up any collective.
    with pytest.raises(UddError, match="worker timeout"):
        make_strategy("multi-worker", worker_timeout=seconds)


@pytest.mark.parametrize("command", ["distill", "evaluate"])
def test_the_cli_takes_a_worker_timeout(command, run_cli):
    argv = [command, "digits", "--worker-timeout", "1"]
    if command == "distill":
        argv += ["--out", "unused"]
    code, _, err = run_cli(argv)
    assert code == 2
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "--worker-timeout" in err and "1" in err


@pytest.mark.parametrize("command", ["distill", "evaluate"])
def test_the_worker_timeout_is_in_the_help(command):
    from click.testing import CliRunner

    if command == "distill":
        from udd_keras.cli.distill import distill as cli
    else:
        from udd_keras.cli.evaluate import evaluate as cli
    output = CliRunner().invoke(cli, ["--help"], terminal_width=200).output
    assert "--worker-timeout SECONDS" in output
    assert "[default: 60.0" in output.split("--worker-timeout")[1]


@pytest.fixture
def run_cli(capsys):
    from udd_keras.cli.main import main

    def run(argv):
        with pytest.raises(SystemExit) as exit_info:
            main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return exit_info.value.code, captured.out, captured.err

    return run
