"""Two local workers under `MultiWorkerMirroredStrategy`, configured by TF_CONFIG."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SCENARIOS = pathlib.Path(__file__).with_name("scenarios.py")
TIMEOUT_S = 420


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


def tf_config(addresses, index):
    return json.dumps(
        {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
    )


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """Runs the `worker` scenario in two processes; returns their outputs."""
    out = tmp_path_factory.mktemp("multi_worker")
    addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes, temporary = [], []
    try:
        for index in range(2):
            scratch = out / f"tmp-{index}"
            scratch.mkdir()
            temporary.append(scratch)
            env = dict(os.environ, TF_CONFIG=tf_config(addresses, index))
            env.update(TMPDIR=str(scratch), CUDA_VISIBLE_DEVICES="")
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(SCENARIOS), "worker", str(out)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        logs = [process.communicate(timeout=TIMEOUT_S)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return out, [p.returncode for p in processes], logs, temporary


def test_both_workers_finish(two_workers):
    _, codes, logs, _ = two_workers
    for code, log in zip(codes, logs, strict=True):
        assert code == 0, log[-3000:]


def test_workers_end_with_identical_images(two_workers):
    out, codes, _, _ = two_workers
    assert codes == [0, 0]
    chief, worker = (np.load(out / f"images-{i}.npy") for i in range(2))
    assert chief.shape == (10, 8, 8, 1)
    np.testing.assert_array_equal(chief, worker)


def test_only_the_chief_exports(two_workers):
    from udd_keras.tfrecords import read_synthetic_set

    out, codes, _, temporary = two_workers
    assert codes == [0, 0]
    assert sorted(p.name for p in out.rglob("*.tfrecord")) == ["synthetic.tfrecord"]
    exported = read_synthetic_set(out / "run" / "synthetic.tfrecord")
    np.testing.assert_allclose(
        exported.images, np.load(out / "images-0.npy"), atol=1e-6
    )
    # The worker's temporary output directory is gone.
    assert not list(temporary[1].glob("udd-keras-worker-*"))
