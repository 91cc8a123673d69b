"""The shared `TensorBoard` callback: scalars, runs' folders, `every`."""

import tensorflow as tf

from udd_keras.training import TensorBoard


def _scalars(folder):
    (events,) = folder.glob("events.*")
    return [
        (value.tag, event.step, float(tf.make_ndarray(value.tensor)))
        for event in tf.compat.v1.train.summary_iterator(str(events))
        for value in event.summary.value
        if value.metadata.plugin_data.plugin_name == "scalars"
    ]


def test_chosen_logs_are_written_and_missing_keys_skipped(tmp_path):
    board = TensorBoard(tmp_path, {"train/loss": "loss", "test/accuracy": "acc"})
    board.on_start(0, 2)
    board.on_step(1, 2, {"loss": 2.0, "lr": 0.1})
    board.on_step(2, 2, {"loss": 1.0, "acc": 0.5})
    board.close()
    assert _scalars(tmp_path) == [
        ("train/loss", 1, 2.0),
        ("train/loss", 2, 1.0),
        ("test/accuracy", 2, 0.5),
    ]


def test_every_run_writes_to_its_own_folder(tmp_path):
    board = TensorBoard(tmp_path, {"train/loss": "loss"})
    for repeat in (0, 1):
        board.on_run_start("convnet3", repeat, seed=repeat)
        board.on_start(0, 1)
        board.on_step(1, 1, {"loss": float(repeat)})
    board.close()
    assert not list(tmp_path.glob("events.*"))
    for repeat in (0, 1):
        folder = tmp_path / "convnet3" / f"repeat-{repeat}"
        assert _scalars(folder) == [("train/loss", 1, float(repeat))]


def test_every_nth_step_and_the_last_and_every_number_by_default(tmp_path):
    board = TensorBoard(tmp_path, every=2)
    for step in range(1, 4):
        board.on_step(step, 3, {"loss": 1.0, "name": "text"})
    board.close()
    assert _scalars(tmp_path) == [("loss", 2, 1.0), ("loss", 3, 1.0)]
