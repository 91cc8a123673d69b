"""`TensorBoard`: a loop's logs as TensorBoard scalars, for every command.

The distillation writes its losses every `log_every` steps into the run's
`--logdir` (`udd_keras.distillation.callbacks.TENSORBOARD_SCALARS`); the
evaluation writes each run's training loss, learning rate and test accuracy
per epoch into `logdir/model/repeat-k`
(`udd_keras.evaluation.run.TENSORBOARD_SCALARS`).

Example:
>>> board = TensorBoard("tb", {"train/loss": "loss"})  # doctest: +SKIP
>>> train_classifier(model, x, y, 10, recipe, callbacks=[board])  # doctest: +SKIP
>>> board.close()  # doctest: +SKIP
"""

import numbers
import pathlib

import tensorflow as tf

from udd_keras.training.callbacks import Callback


def scalar_metadata():
    """Serialised `SummaryMetadata` that marks a summary as a TensorBoard scalar.

    `tf.summary.scalar` needs the `tensorboard` package; writing the same record
    with `tf.summary.write` and this metadata needs TensorFlow only.
    """
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    metadata.data_class = summary_pb2.DATA_CLASS_SCALAR
    return metadata.SerializeToString()


class TensorBoard(Callback):
    """Writes values of a loop's logs as TensorBoard scalars.

    The writer opens at the loop's start (`on_start`). In a loop of several
    runs (an evaluation calls `on_run_start(model, repeat, seed)` before each)
    every run writes to its own folder, `logdir/model/repeat-k`, its steps
    counted from 1 again.

    Args:
        logdir: str or path-like, the TensorBoard log directory.
        scalars: dict of tag -> logs key, e.g. `{"train/loss": "loss"}`; a key
            missing from a step's logs is skipped (a test accuracy measured on
            some epochs only). None writes every number of the logs under its
            own key.
        every: int, write every `every`-th step and the last one.

    Example:
    >>> board = TensorBoard("tb", {"train/loss": "loss"}, every=2)  # doctest: +SKIP
    """

    def __init__(self, logdir, scalars=None, every=1):
        self.logdir = pathlib.Path(logdir)
        self.scalars = None if scalars is None else dict(scalars)
        self.every = every
        self.run_dir = self.logdir
        self.writer = None
        self.metadata = scalar_metadata()

    def on_run_start(self, model, repeat, seed):
        self.close()
        self.run_dir = self.logdir / model / f"repeat-{repeat}"

    def on_start(self, step, total):
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(str(self.run_dir))

    def _values(self, logs):
        if self.scalars is None:
            return {
                key: value
                for key, value in logs.items()
                if isinstance(value, numbers.Real)
            }
        return {tag: logs[key] for tag, key in self.scalars.items() if key in logs}

    def on_step(self, step, total, logs):
        if step % self.every != 0 and step != total:
            return
        self.on_start(step, total)
        with self.writer.as_default(step=step):
            for tag, value in self._values(logs).items():
                tf.summary.write(
                    tag, tf.constant(value, tf.float32), metadata=self.metadata
                )
        self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
