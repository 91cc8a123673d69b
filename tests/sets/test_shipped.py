"""The shipped sets: each loads offline, matches its index, and still trains to
the accuracy its index says (a short re-run of the stored check)."""

import hashlib
import socket

import pytest

from udd_keras import sets
from udd_keras.sets import index

SHIPPED = index.names()


def test_the_digits_sets_are_shipped():
    assert {"digits-ipc1-udd", "digits-ipc10-udd"} <= set(SHIPPED)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_set_loads_offline_as_its_index_says(name, no_network):
    shipped = sets.info(name)
    assert shipped.path.is_file()
    digest = hashlib.sha256(shipped.path.read_bytes()).hexdigest()
    assert digest == shipped.entry["sha256"]
    train, meta = sets.load(name, decode_regions=False)
    assert (meta.dataset, meta.method) == (shipped.dataset, shipped.method)
    assert meta.num_classes == shipped.num_classes
    assert meta.ipc == shipped.ipc
    labels = [int(label) for _, label in train]
    assert sorted(set(labels)) == list(range(shipped.num_classes))
    assert all(labels.count(c) == shipped.ipc for c in range(shipped.num_classes))
    assert meta.extra["accuracy"] == shipped.accuracy
    assert 0 < shipped.accuracy["mean"] <= 1 and shipped.accuracy["n"] >= 3
    assert shipped.command.startswith(f"python -m udd_keras.sets.make {name}")


@pytest.mark.slow
def test_digits_ipc1_still_trains_into_its_stored_range():
    from udd_keras.evaluation import evaluate
    from udd_keras.sets.make import ShippingProtocol

    check = sets.info("digits-ipc1-udd").check
    protocol = ShippingProtocol(
        check_epochs=check["epochs"], check_width=check["width"]
    )
    recipe = protocol.check_recipe
    report = evaluate(
        sets.path("digits-ipc1-udd"), recipe, repeats=1, seed=check["seeds"][0]
    )
    accuracy = report.results[0].accuracy_mean
    low, high = check["range"]
    assert low <= accuracy <= high, (accuracy, check)
