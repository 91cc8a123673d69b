"""`udd-keras distill`: distil a dataset into a few synthetic images per class."""

import click
from rich.console import Console

from udd_keras.cli.options import setting_options, strategy_options
from udd_keras.distillation.config import settings
from udd_keras.distillation.presets import PRESETS
from udd_keras.precision import DEFAULT_PRECISION

# The settings' options in the order --help lists them; any other setting with a
# flag follows. DATASET and --ipc are the command's own (below).
HELP_ORDER = (
    "method", "policy", "formation", "decode", "num_regions", "num_selected",
    "factor", "crop_gradient", "score_block", "region_period",
    "score_normalization", "jitters", "jitter_function", "jitter_amount",
    "region_weight", "mine_from", "cfc_weight", "cfc_scale", "tau", "alpha",
    "metric", "matched", "iterations", "inner_steps", "lr_img", "lr_scaling",
    "width", "depth", "init", "init_selection", "image_optimizer", "precision",
    "real_batch", "image_updates", "network_pool", "net_images", "seed",
    "checkpoint_every", "log_every", "time_budget_minutes",
)  # fmt: skip
_FIELDS = {field.name: field for field in settings()}
SETTING_FIELDS = tuple(_FIELDS[name] for name in HELP_ORDER) + tuple(
    field
    for field in _FIELDS.values()
    if (field.metadata["flag"] or "").startswith("--")
    and field.name not in (*HELP_ORDER, "ipc")
)


class _SayPrecision:
    """Prints the precision `auto` chose (and any warning) as the run starts."""

    def __init__(self, console, choice):
        self.console, self.choice = console, choice

    def on_start(self, step, total):
        self.console.print(self.choice.message, highlight=False)
        if self.choice.warning:
            self.console.print(
                f"[yellow]Warning:[/] {self.choice.warning}", highlight=False
            )


class _SayLongRun:
    """Says how long the run would take at the measured step rate (no GPU)."""

    def __init__(self, console):
        from udd_keras.distillation.callbacks import RunTimeEstimate

        self.estimate = RunTimeEstimate(self.say)
        self.console = console

    def on_start(self, step, total):
        self.estimate.on_start(step, total)

    def on_step(self, step, total, logs):
        self.estimate.on_step(step, total, logs)

    def say(self, seconds_left, seconds_per_step):
        self.console.print(
            f"[yellow]Warning:[/] at {seconds_per_step:.2g} s per step, this run "
            f"would take about {seconds_left / 3600:,.0f} more hours on this "
            "machine (no GPU); stop it (Ctrl-C) and run with --time-budget "
            "MINUTES, or --preset cpu-hour",
            highlight=False,
        )


@click.command()
@click.argument("dataset")
@click.option(
    "--ipc",
    type=int,
    default=_FIELDS["ipc"].default,
    show_default=True,
    help=_FIELDS["ipc"].metadata["help"],
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory (TFRecord, PNG, config, metrics, checkpoints).",
)
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    help="Named settings (see docs/distillation.md); options given explicitly win. "
    "[default: the paper's settings]",
)
@setting_options(SETTING_FIELDS)
@click.option(
    "--resume", is_flag=True, help="Continue the run in --out from its last checkpoint."
)
@click.option("--force", is_flag=True, help="Overwrite a run already in --out.")
@click.option(
    "--logdir", type=click.Path(file_okay=False), help="TensorBoard log directory."
)
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False),
    help="Folder with dataset files.",
)
@click.option(
    "--trajectory-cache",
    "trajectory_dir",
    type=click.Path(file_okay=False),
    help="Keep the network's trajectory and the real gradients in this folder, "
    "and read them from it where a run on the same data, seed and network "
    "settings stored them: the same images, and a replayed step only computes "
    "the synthetic half (not for --method dc; about 14 MB per step at width 128).",
)
@strategy_options("A stop saves a checkpoint common to all workers first.")
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar.")
def distill(
    dataset,
    ipc,
    out_dir,
    resume,
    force,
    logdir,
    data_dir,
    trajectory_dir,
    strategy_name,
    worker_timeout,
    no_progress,
    preset,
    **settings,
):
    """Distil DATASET into --ipc synthetic images per class.

    DATASET is a source name (see `udd-keras datasets`), an .npz file or an image
    folder. Defaults are the paper's settings; e.g.

        udd-keras distill digits --ipc 1 --iterations 2 --inner-steps 5 --out runs/d
    """
    from udd_keras.distribute import make_strategy

    # First: multi-worker collectives must be set up before TensorFlow starts.
    strategy = make_strategy(strategy_name, worker_timeout=worker_timeout)

    from udd_keras.distillation import distill as run_distill
    from udd_keras.precision import count_gpus, detect_precision

    settings = {name: value for name, value in settings.items() if value is not None}
    console = Console(stderr=True)
    callbacks = []
    if not resume:
        # A resumed run keeps its own precision; a new one says what `auto`
        # chose once its settings and data are checked, before the first step.
        requested = {**PRESETS.get(preset, {}), **settings}.get(
            "precision", DEFAULT_PRECISION
        )
        choice = detect_precision(requested)
        settings["precision"] = choice.precision
        callbacks.append(_SayPrecision(console, choice))
        if "time_budget_minutes" not in settings and count_gpus() == 0:
            # E.g. the paper's 200,000 steps on a CPU.
            callbacks.append(_SayLongRun(console))
    result = run_distill(
        dataset,
        ipc=ipc,
        out_dir=out_dir,
        resume=resume,
        force=force,
        logdir=logdir,
        data_dir=data_dir,
        trajectory_dir=trajectory_dir,
        strategy=strategy,
        progress=not no_progress,
        preset=preset,
        callbacks=callbacks,
        **settings,
    )
    last = result.metrics[-1] if result.metrics else {}
    console.print(
        f"[green]done[/] {result.config.method} {dataset} ipc={ipc} "
        f"({result.config.precision}) in "
        f"{result.seconds:.1f}s; final matching loss "
        f"{last.get('matching_loss', float('nan')):.4g}"
    )
    if result.stopped_by_budget:
        console.print(
            f"stopped on the time budget ({result.config.time_budget_minutes:g} "
            f"min) after {result.steps} of {result.config.iterations} x "
            f"{result.config.inner_steps} steps; the set is exported and a "
            "checkpoint kept (--resume with a larger --time-budget continues)",
            highlight=False,
        )
    for name in ("synthetic.tfrecord", "synthetic.png", "config.json", "metrics.jsonl"):
        click.echo(f"{result.out_dir / name}")
