"""`mirrored` on two logical CPU devices agrees with `one` (same seed).

The scenario runs in a subprocess: logical devices must be configured before
TensorFlow initialises.
"""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SCENARIOS = pathlib.Path(__file__).with_name("scenarios.py")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirrored")
    completed = subprocess.run(
        [sys.executable, str(SCENARIOS), "mirrored", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def runs(scenario):
    return dict(np.load(scenario / "mirrored.npz"))


def test_strategies_have_one_and_two_replicas(runs):
    assert runs["replicas"].tolist() == [1, 2]


def test_mirrored_distill_matches_one_device(runs):
    np.testing.assert_allclose(
        runs["images_mirrored"], runs["images_one"], rtol=0, atol=1e-4
    )
    # The images did move: the comparison is not between two initial sets.
    assert runs["losses_one"].shape == (2,)
    np.testing.assert_allclose(runs["losses_mirrored"], runs["losses_one"], rtol=1e-4)
    np.testing.assert_array_equal(runs["boxes_mirrored"], runs["boxes_one"])


def test_replicas_hold_identical_copies(runs):
    assert float(runs["replica_spread"]) == 0.0


def test_checkpoints_restore_under_the_other_strategy(runs):
    # one -> mirrored and mirrored -> one: every variable, every replica copy.
    np.testing.assert_array_equal(runs["restore_differences"], [0.0, 0.0])


def test_mirrored_evaluation_matches_one_device(scenario):
    report = json.loads((scenario / "evaluation.json").read_text())
    for name in ("one", "mirrored"):
        assert "error" not in report[name], f"{name}: {report[name].get('error')}"
    np.testing.assert_allclose(
        report["mirrored"]["losses"], report["one"]["losses"], rtol=1e-4
    )
    assert abs(report["mirrored"]["accuracy"] - report["one"]["accuracy"]) <= 0.003
