"""`Callback` and `CallbackList`: hooks in order, missing hooks skipped, close."""

import pytest

from udd_keras.training.callbacks import Callback, CallbackList


class Recorder(Callback):
    def __init__(self, name, calls):
        self.name, self.calls = name, calls

    def on_start(self, step, total):
        self.calls.append((self.name, "start", step, total))

    def on_step(self, step, total, logs):
        self.calls.append((self.name, "step", step, total, logs["loss"]))

    def close(self):
        self.calls.append((self.name, "close"))


class OnlyStep:
    """A callback of the old protocol: no base class, only `on_step`."""

    def __init__(self, calls):
        self.calls = calls

    def on_step(self, step, total, logs):
        self.calls.append(("plain", "step", step))


def test_hooks_run_in_order_and_missing_hooks_are_skipped():
    calls = []
    callbacks = CallbackList([Recorder("a", calls), OnlyStep(calls)])
    callbacks.callbacks.append(Recorder("b", calls))
    callbacks.on_start(2, 5)
    callbacks.on_step(3, 5, {"loss": 0.5})
    callbacks.close()
    assert calls == [
        ("a", "start", 2, 5),
        ("b", "start", 2, 5),
        ("a", "step", 3, 5, 0.5),
        ("plain", "step", 3),
        ("b", "step", 3, 5, 0.5),
        ("a", "close"),
        ("b", "close"),
    ]


def test_the_base_class_hooks_do_nothing():
    callback = Callback()
    assert callback.on_start(0, 1) is None
    assert callback.on_batch(1, {}) is None
    assert callback.on_step(1, 1, {}) is None
    assert callback.close() is None


def test_close_closes_every_callback_and_reraises_the_first_error():
    calls = []

    class Failing(Callback):
        def close(self):
            raise RuntimeError("disk gone")

    callbacks = CallbackList([Failing(), Recorder("after", calls)])
    with pytest.raises(RuntimeError, match="disk gone"):
        callbacks.close()
    assert calls == [("after", "close")]


def test_an_error_in_a_hook_stops_the_later_callbacks():
    calls = []

    class Stop(Callback):
        def on_step(self, step, total, logs):
            raise KeyError("stop")

    callbacks = CallbackList([Stop(), Recorder("later", calls)])
    with pytest.raises(KeyError):
        callbacks.on_step(1, 2, {"loss": 1.0})
    assert calls == []
