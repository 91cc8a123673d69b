"""`udd-keras distill`: distil a dataset into a few synthetic images per class."""

import click
from rich.console import Console

from udd_keras.choices import (
    CROP_GRADIENTS,
    JITTER_FUNCTIONS,
    MATCHED_PARAMETERS,
    METRICS,
    MINE_FROM,
    POLICIES,
    REGION_PERIODS,
    SELECTIONS,
)
from udd_keras.cli.options import IntChoice, add_options, strategy_options
from udd_keras.distillation.config import (
    CFC_SCALES,
    CIFAR_NET_IMAGES,
    DIGIT_LIKE_LR_IMG,
    GRAYSCALE_DIGIT_SETS,
    IMAGE_OPTIMIZERS,
    INITIALIZATIONS,
    LR_SCALINGS,
    METHOD_DEFAULTS,
    METHODS,
    MNIST_REFERENCE_SIDE,
    OTHER_LR_IMG,
    OTHER_NET_IMAGES,
    REFERENCE_SIDE,
    SCORE_NORMALIZATIONS,
    DistillConfig,
)
from udd_keras.distillation.presets import PRESETS
from udd_keras.precision import BFLOAT16_CPU_FLAGS, DEFAULT_PRECISION, PRECISIONS
from udd_keras.regions.boxes import NUM_REGIONS_ALLOWED
from udd_keras.regions.formations import DECODES, FORMATIONS, get_formation


def _default(field):
    """`"[default: VALUE]"` of a `DistillConfig` field, from the dataclass."""
    return f"[default: {DistillConfig.__dataclass_fields__[field].default}]"


def _method_defaults(field):
    """`"[default: V for udd, ...]"` of a setting the method decides."""
    return (
        "[default: "
        + ", ".join(
            f"{_text(defaults[field])} for {method}"
            for method, defaults in METHOD_DEFAULTS.items()
        )
        + "]"
    )


def _text(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


class _Minutes(click.FloatRange):
    """A positive number of minutes (shown as MINUTES in --help)."""

    name = "minutes"


_MINED = [name for name in FORMATIONS if get_formation(name).mines]
_DIGIT_LIKE = "/".join(GRAYSCALE_DIGIT_SETS)

# (flag, DistillConfig field, type, help). Every option defaults to None: the
# preset's, the method's or the dataclass's value applies, as the help says.
SETTING_OPTIONS = (
    (
        "--method",
        "method",
        click.Choice(METHODS),
        "udd, idc (factor-2 tiles, no CFC) or dc. " + _default("method"),
    ),
    (
        "--policy",
        "policy",
        click.Choice([*POLICIES, "none"]),
        "Region scoring policy. [default: jitter for "
        + ", ".join(_MINED)
        + "; "
        + ", ".join(
            f"{get_formation(n).fixed_policy} for {n}"
            for n in FORMATIONS
            if not get_formation(n).mines
        )
        + "]",
    ),
    (
        "--formation",
        "formation",
        click.Choice(FORMATIONS),
        "Which boxes of each image are trained on: the whole image, IDC's "
        "tiles, or either plus P mined regions (see docs/distillation.md). "
        + _method_defaults("formation"),
    ),
    (
        "--decode",
        "decode",
        click.Choice(DECODES),
        "What a stored image decodes to for evaluation: every box last "
        "trained on, or the fixed part only (the image or its tiles). "
        + _method_defaults("decode"),
    ),
    (
        "--regions",
        "num_regions",
        IntChoice(NUM_REGIONS_ALLOWED),
        "Candidate corner windows N per mined area. " + _default("num_regions"),
    ),
    (
        "--select",
        "num_selected",
        click.IntRange(1),
        "Mined regions trained on, P. [default: "
        + ", ".join(f"{get_formation(n).default_selected} for {n}" for n in _MINED)
        + "]",
    ),
    (
        "--factor",
        "factor",
        click.IntRange(1),
        "IDC's tiles per side. " + _default("factor"),
    ),
    (
        "--crop-gradient",
        "crop_gradient",
        click.Choice(CROP_GRADIENTS),
        "sum: a resized crop's gradient grows with its zoom (bilinear resizing's "
        "backward pass); area: scaled by the crop's share of the image, so "
        "regions of every size pull on the pixels alike; stop: the mined "
        "regions' crops enter the loss but pass no gradient to the pixels (the "
        "image and IDC's tiles do, the tiles as under area). "
        + _method_defaults("crop_gradient"),
    ),
    (
        "--score-block",
        "score_block",
        int,
        "ConvNet block whose feature map the scoring policy reads, indexed "
        "from 0 (the first block's map, 32x32 for 32x32 images) or from the end "
        "(-1: the last block's, 8x8 at depth 3); -depth..depth-1. "
        + _default("score_block"),
    ),
    (
        "--region-period",
        "region_period",
        click.Choice(REGION_PERIODS),
        "How often the mined regions are chosen: at every image update (step, "
        "the paper), at the first step of every outer iteration (iteration), or "
        "once at the run's first step (run); kept boxes survive --resume. "
        + _default("region_period"),
    ),
    (
        "--score-normalization",
        "score_normalization",
        click.Choice(SCORE_NORMALIZATIONS),
        "size: compare each window's score with the windows of its own size "
        "(removes the bias toward large windows). "
        + _method_defaults("score_normalization"),
    ),
    (
        "--jitters",
        "jitters",
        click.IntRange(1),
        "Jittered copies M. " + _default("jitters"),
    ),
    (
        "--jitter-fn",
        "jitter_function",
        click.Choice(JITTER_FUNCTIONS),
        "Jitter function. " + _default("jitter_function"),
    ),
    (
        "--jitter-amount",
        "jitter_amount",
        float,
        "Jitter strength (normalised units). " + _default("jitter_amount"),
    ),
    (
        "--region-weight",
        "region_weight",
        click.FloatRange(min=0),
        "What a mined region counts in the synthetic loss, against 1 for the "
        "image or a tile. " + _default("region_weight"),
    ),
    (
        "--mine-from",
        "mine_from",
        click.Choice(MINE_FROM),
        "Which end of the scoring policy's ranking is mined: the lowest scores "
        "(the paper's underutilized regions) or the highest. Given with --method "
        "udd alone, it selects tiles+regions. [default: " + MINE_FROM[0] + "]",
    ),
    (
        "--cfc-weight",
        "cfc_weight",
        float,
        "CFC weight; with --cfc-scale gradient, CFC's pixel gradient as a "
        "multiple of the matching gradient's norm. " + _method_defaults("cfc_weight"),
    ),
    (
        "--cfc-scale",
        "cfc_scale",
        click.Choice(CFC_SCALES),
        "loss: L = matching + w x CFC (the paper); gradient: CFC's pixel gradient "
        "is w times the matching gradient's norm, whatever the metric. "
        + _method_defaults("cfc_scale"),
    ),
    ("--tau", "tau", float, "CFC temperature. " + _default("tau")),
    ("--alpha", "alpha", float, "CFC moving-average weight. " + _default("alpha")),
    (
        "--metric",
        "metric",
        click.Choice(METRICS),
        f"Gradient distance. [default: l1 for {_DIGIT_LIKE}, mse otherwise]",
    ),
    (
        "--match",
        "matched",
        click.Choice(MATCHED_PARAMETERS),
        "Matched parameters. " + _method_defaults("matched"),
    ),
    (
        "--iterations",
        "iterations",
        click.IntRange(1),
        "Outer iterations. " + _default("iterations"),
    ),
    (
        "--inner-steps",
        "inner_steps",
        click.IntRange(1),
        "Image updates per outer iteration. " + _default("inner_steps"),
    ),
    (
        "--lr-img",
        "lr_img",
        float,
        "Image learning rate, [0, 1]-pixel units, at IPC 10 and "
        f"{REFERENCE_SIDE}x{REFERENCE_SIDE} px ({MNIST_REFERENCE_SIDE}x"
        f"{MNIST_REFERENCE_SIDE} for mnist). [default: {DIGIT_LIKE_LR_IMG:g} for "
        f"{_DIGIT_LIKE}, {OTHER_LR_IMG:g} otherwise]",
    ),
    (
        "--lr-scaling",
        "lr_scaling",
        click.Choice(LR_SCALINGS),
        "idc: scale --lr-img by ipc/10 x the image area over the reference "
        "area above (IDC's rule); none: use it as is. " + _default("lr_scaling"),
    ),
    ("--width", "width", click.IntRange(1), "ConvNet width. " + _default("width")),
    ("--depth", "depth", click.IntRange(1), "ConvNet depth. " + _default("depth")),
    (
        "--init",
        "init",
        click.Choice(INITIALIZATIONS),
        "Initial images. [default: mosaic for the tiled formations ("
        + ", ".join(n for n in FORMATIONS if get_formation(n).tiled)
        + "), else the method's: "
        + ", ".join(f"{d['init']} for {m}" for m, d in METHOD_DEFAULTS.items())
        + "]",
    ),
    (
        "--init-selection",
        "init_selection",
        click.Choice(SELECTIONS),
        "Which real images --init starts from: random, or the ones nearest "
        "k-means centres of their class. " + _default("init_selection"),
    ),
    (
        "--image-optimizer",
        "image_optimizer",
        click.Choice(IMAGE_OPTIMIZERS),
        "Optimizer of the synthetic images; with adam, --lr-img is the step of "
        "a [0, 1] pixel. " + _default("image_optimizer"),
    ),
    (
        "--precision",
        "precision",
        click.Choice(PRECISIONS),
        "Arithmetic of the distillation network: float32 (exact), "
        "mixed_bfloat16 (bfloat16 convolutions and pooling; results differ by "
        "rounding; emulated, and often slower, where the hardware has no "
        "bfloat16), or auto: mixed_bfloat16 when every GPU has CUDA compute "
        "capability 8.0 or more (A100, RTX 30xx, H100; not a T4 or V100) or, "
        "without a GPU, on a CPU with "
        + " or ".join(BFLOAT16_CPU_FLAGS)
        + ", float32 otherwise. A resumed run keeps its own. "
        + _default("precision"),
    ),
    (
        "--real-batch",
        "real_batch",
        click.IntRange(1),
        "Real images per class per step. " + _default("real_batch"),
    ),
    (
        "--image-updates",
        "image_updates",
        click.IntRange(1),
        "Image updates per inner step, against one computation of the real "
        "gradients (the real side is most of a step's cost on a CPU). "
        + _default("image_updates"),
    ),
    (
        "--network-pool",
        "network_pool",
        click.IntRange(1),
        "Train against this many outer iterations' networks, cycled (outer "
        "iteration i replays i mod N's network, real batches and augmentation): "
        "the pool's real side is computed once and kept in the run's "
        "trajectory/ folder (or --trajectory-cache), so later iterations cost "
        "the synthetic half of a step. Not for --method dc. [default: every "
        "outer iteration its own network]",
    ),
    (
        "--net-images",
        "net_images",
        click.IntRange(1),
        f"Real images per network update. [default: {CIFAR_NET_IMAGES} for "
        f"CIFAR (cifar10, cifar100), {OTHER_NET_IMAGES} otherwise]",
    ),
    ("--seed", "seed", int, "Random seed. " + _default("seed")),
    (
        "--checkpoint-every",
        "checkpoint_every",
        click.IntRange(1),
        "Inner steps between checkpoints. " + _default("checkpoint_every"),
    ),
    (
        "--log-every",
        "log_every",
        click.IntRange(1),
        "Inner steps between metric lines. " + _default("log_every"),
    ),
    (
        "--time-budget",
        "time_budget_minutes",
        _Minutes(min=0, min_open=True),
        "Stop after MINUTES of distillation (wall time, resumes included), "
        "with the set exported and a checkpoint; the image learning rate decays "
        "at 60/80/90% of the time, and --iterations x --inner-steps is only an "
        "upper bound. --resume keeps the run's budget unless given. "
        "[default: none, the steps decide]",
    ),
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
    "--ipc", type=int, default=1, show_default=True, help="Synthetic images per class."
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
@add_options(SETTING_OPTIONS)
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
