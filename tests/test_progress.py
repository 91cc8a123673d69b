"""`ProgressBar`: the distillation's and the evaluation's progress bar."""

import io

from rich.console import Console

from udd_keras.progress import ProgressBar


def _console():
    return Console(file=io.StringIO(), width=200, force_terminal=False)


def test_a_loop_shows_its_steps_status_and_rate():
    console = _console()
    bar = ProgressBar(
        "distill", status=lambda logs: f"loss {logs['loss']}", console=console
    )
    bar.on_start(2, 10)  # a resumed run
    bar.on_step(3, 10, {"loss": 0.5, "seconds": 0.5})
    (task,) = bar.progress.tasks
    assert (task.completed, task.total) == (3, 10)
    assert task.fields == {"status": "loss 0.5", "rate": "2.00 step/s"}
    bar.close()
    assert "distill" in console.file.getvalue()


def test_a_time_budget_fills_the_bar_with_the_time_used():
    bar = ProgressBar("distill", time_budget=60.0, console=_console())
    bar.on_start(0, 100)
    logs = {"seconds": 1.0, "time_used": 30.0, "time_left": 30.0}
    bar.on_step(5, 100, logs)
    (task,) = bar.progress.tasks
    assert (task.completed, task.total) == (30.0, 60.0)
    assert task.fields["steps"] == "5/100 steps"
    assert task.fields["time"] == "00:30 used, 00:30 left"
    bar.close()


def test_runs_share_one_bar_labelled_by_model_and_repeat():
    bar = ProgressBar(runs=4, repeats=2, unit="ep", console=_console())
    for repeat in (0, 1):
        bar.on_run_start("convnet3", repeat, seed=repeat)
        bar.on_start(0, 3)
        for epoch in (1, 2, 3):
            bar.on_step(epoch, 3, {"loss": 1.0})
    (task,) = bar.progress.tasks
    assert (task.description, task.completed, task.total) == ("convnet3 2/2", 6, 12)
    assert task.fields["rate"].endswith(" ep/s") or task.fields["rate"] == ""
    bar.close()


def test_a_bar_that_never_started_prints_nothing():
    console = _console()
    ProgressBar(runs=2, console=console).close()
    assert console.file.getvalue() == ""
