"""Hooks a loop calls around its steps: `Callback` and `CallbackList`.

Modelled on `keras.callbacks.Callback` / `CallbackList`, for loops that count
steps (a distillation's inner steps, a training run's epochs:
`udd_keras.training.train_classifier`):

- `on_start(step, total)` once before the first step, `step` being the number
  of steps already done (more than 0 when a run resumes);
- `on_batch(batch, logs)` after each batch of a training run (`batch` counting
  from 1 over the whole run, `logs` holding the batch's `indices` and
  `correct`, see `train_classifier`); the distillation has no batches;
- `on_step(step, total, logs)` after each step, `step` counting from 1 and
  `logs` a dict of the step's values (floats), e.g. `{"loss": 0.3}`;
- `close()` once the loop has ended, however it ended.

Every callback gets the same `logs` dict, in order: a callback may add values
for those after it (the evaluation's test accuracy, like Keras' callbacks
adding to the logs). A callback may raise to stop the loop (a NaN guard, a
time budget). Loops of several runs (an evaluation) also call
`on_run_start(model, repeat, seed)` before each run, where a callback has it.

Example:
>>> class PrintLoss(Callback):
...     def on_step(self, step, total, logs):
...         print(f"{step}/{total} loss {logs['loss']:.3f}")
>>> callbacks = CallbackList([PrintLoss()])
>>> callbacks.on_step(1, 2, {"loss": 0.25})
1/2 loss 0.250
"""


class Callback:
    """Base class of a loop's hooks; override those you need (each a no-op)."""

    def on_start(self, step, total):
        """Before the first step.

        Args:
            step: int, steps already done (0, or where a resumed run restarts).
            total: int, the loop's last step.
        """

    def on_batch(self, batch, logs):
        """After a batch of a training run.

        Args:
            batch: int, the batches done so far in the run, from 1.
            logs: dict of str -> value, the batch's (see `train_classifier`).
        """

    def on_step(self, step, total, logs):
        """After a step.

        Args:
            step: int, the steps done so far, from 1.
            total: int, the loop's last step.
            logs: dict of str -> float, the step's values.
        """

    def close(self):
        """Once the loop has ended, however it ended: release what was opened."""


class CallbackList:
    """Calls every callback's hook, in order.

    Callbacks may be `Callback`s or any objects with some of the hooks
    (`on_start`, `on_batch`, `on_step`, `close`): a missing hook is skipped.

    Args:
        callbacks: iterable of callbacks.
    """

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)

    def _call(self, hook, *args):
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(*args)

    def on_start(self, step, total):
        self._call("on_start", step, total)

    def on_run_start(self, model, repeat, seed):
        self._call("on_run_start", model, repeat, seed)

    def on_batch(self, batch, logs):
        self._call("on_batch", batch, logs)

    def on_step(self, step, total, logs):
        self._call("on_step", step, total, logs)

    def close(self):
        """Closes every callback, even when one of them raises (then re-raised)."""
        error = None
        for callback in self.callbacks:
            try:
                if hasattr(callback, "close"):
                    callback.close()
            except Exception as raised:  # noqa: BLE001 - the others still close
                error = error or raised
        if error is not None:
            raise error


def as_callback_list(callbacks):
    """`callbacks` (None, a `CallbackList` or an iterable) as a `CallbackList`."""
    if isinstance(callbacks, CallbackList):
        return callbacks
    return CallbackList(callbacks or ())
