"""`make_strategy`, TF_CONFIG parsing and the chief / worker output convention."""

import json
import tempfile
import types

import pytest
import tensorflow as tf

from udd_keras.distribute import (
    STRATEGIES,
    cluster_spec,
    is_chief,
    make_strategy,
    remove_worker_directory,
    split_cpu,
    worker_directory,
)
from udd_keras.errors import UddError


def test_unknown_strategy_names_value_and_choices():
    with pytest.raises(UddError) as caught:
        make_strategy("tpu")
    message = str(caught.value)
    assert "'tpu'" in message
    for name in STRATEGIES:
        assert name in message


@pytest.mark.parametrize("name", ["auto", "one"])
def test_one_device_on_a_cpu_machine(name):
    strategy = make_strategy(name)
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    assert strategy.num_replicas_in_sync == 1


def test_mirrored_uses_every_logical_cpu():
    strategy = make_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    cpus = len(tf.config.list_logical_devices("CPU"))
    assert strategy.num_replicas_in_sync == cpus


def test_split_cpu_rejects_zero_devices():
    with pytest.raises(UddError, match="num_devices must be >= 1, got 0"):
        split_cpu(0)


def test_cluster_spec_without_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_spec() == ({}, None, None)


def test_cluster_spec_reads_tf_config(monkeypatch):
    config = {
        "cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
        "task": {"type": "worker", "index": 1},
    }
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert cluster_spec() == (config["cluster"], "worker", 1)


@pytest.mark.parametrize("text", ["{not json", '{"cluster": {}}', "[]"])
def test_malformed_tf_config_is_a_user_error(monkeypatch, text):
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(UddError, match="TF_CONFIG is not valid"):
        make_strategy("multi-worker")


def fake_multi_worker(task_type, task_id, cluster):
    """An object with the `cluster_resolver` of a multi-worker strategy."""
    spec = tf.train.ClusterSpec(cluster)
    resolver = types.SimpleNamespace(
        task_type=task_type, task_id=task_id, cluster_spec=lambda: spec
    )
    return types.SimpleNamespace(cluster_resolver=resolver)


WORKERS = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
WITH_CHIEF = {"chief": ["127.0.0.1:3"], **WORKERS}


@pytest.mark.parametrize(
    "task_type, task_id, cluster, expected",
    [
        ("worker", 0, WORKERS, True),
        ("worker", 1, WORKERS, False),
        ("worker", 0, WITH_CHIEF, False),
        ("chief", 0, WITH_CHIEF, True),
    ],
)
def test_is_chief(task_type, task_id, cluster, expected):
    assert is_chief(fake_multi_worker(task_type, task_id, cluster)) is expected


def test_single_worker_strategies_are_chief(tmp_path):
    strategy = make_strategy("one")
    assert is_chief(strategy)
    assert worker_directory(tmp_path / "run", strategy) == tmp_path / "run"


def test_worker_writes_to_its_own_temporary_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    out = tmp_path / "run"
    directory = worker_directory(out, fake_multi_worker("worker", 1, WORKERS))
    assert directory.is_dir()
    assert directory.parent == tmp_path / "scratch"
    assert directory.name.startswith("udd-keras-worker-1-")
    remove_worker_directory(directory, out)
    assert not directory.exists()


def test_remove_worker_directory_never_removes_the_run(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    remove_worker_directory(out, out)
    assert out.is_dir()
