import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.evaluation.soft_labels import (
    apply_temperature,
    check_soft_label_arguments,
)


def test_temperature_one_keeps_the_stored_probabilities():
    p = np.array([[0.25, 0.75, 0.0], [0.5, 0.25, 0.25]], np.float32)
    np.testing.assert_array_equal(apply_temperature(p, 1.0), p)


def test_rows_that_do_not_sum_to_one_are_normalised():
    targets = apply_temperature(np.array([[1.0, 3.0]]), 1.0)
    np.testing.assert_allclose(targets, [[0.25, 0.75]], rtol=1e-6)
    assert targets.dtype == np.float32


def test_temperature_is_a_power_of_the_probabilities():
    p = np.array([[0.1, 0.3, 0.6]])
    for temperature in (0.5, 2.0, 4.0):
        expected = p ** (1 / temperature)
        expected /= expected.sum()
        np.testing.assert_allclose(apply_temperature(p, temperature), expected, 1e-6)
    # The same as softmax(log(p) / T).
    logits = np.log(p) / 3.0
    softmax = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(apply_temperature(p, 3.0), softmax, rtol=1e-6)


def test_high_temperature_flattens_low_sharpens_and_zeros_stay_zero():
    p = np.array([[0.2, 0.8, 0.0]])
    flat = apply_temperature(p, 100.0)[0]
    sharp = apply_temperature(p, 1e-3)[0]
    assert flat[0] == pytest.approx(0.5, abs=0.01)
    np.testing.assert_array_equal(sharp, [0.0, 1.0, 0.0])  # no underflow to NaN
    assert flat[2] == 0.0 and sharp[2] == 0.0


def test_soft_label_arguments():
    assert check_soft_label_arguments(False, None) is None
    assert check_soft_label_arguments(True, None) == 1.0
    assert check_soft_label_arguments(True, 2) == 2.0


@pytest.mark.parametrize(
    "soft, temperature, message",
    [
        (False, 2.0, "temperature 2.0 applies to soft labels only"),
        (True, 0.0, "temperature must be a finite number > 0, got 0.0"),
        (True, -1.0, "got -1.0"),
        (True, float("nan"), "got nan"),
        (True, float("inf"), "got inf"),
        (True, "2", "got '2'"),
    ],
)
def test_bad_soft_label_arguments(soft, temperature, message):
    with pytest.raises(UddError) as info:
        check_soft_label_arguments(soft, temperature)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
