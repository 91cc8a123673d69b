"""`udd-keras distill`: distil a dataset into a few synthetic images per class."""

import click
from rich.console import Console

from udd_keras.choices import (
    CROP_GRADIENTS,
    DEFAULT_WORKER_TIMEOUT,
    JITTER_FUNCTIONS,
    MATCHED_PARAMETERS,
    METRICS,
    MIN_WORKER_TIMEOUT,
    POLICIES,
    SELECTIONS,
    STRATEGIES,
)
from udd_keras.distillation.config import (
    CFC_SCALES,
    CIFAR_NET_IMAGES,
    DIGIT_LIKE_LR_IMG,
    IMAGE_OPTIMIZERS,
    INITIALIZATIONS,
    LR_SCALINGS,
    METHOD_DEFAULTS,
    METHODS,
    OTHER_LR_IMG,
    OTHER_NET_IMAGES,
    PRECISIONS,
    SCORE_NORMALIZATIONS,
    DistillConfig,
)
from udd_keras.distillation.presets import PRESETS
from udd_keras.regions.boxes import NUM_REGIONS_ALLOWED
from udd_keras.regions.formations import DECODES, FORMATIONS


def _default(field):
    """`"[default: VALUE]"` of a `DistillConfig` field, from the dataclass."""
    return f"[default: {DistillConfig.__dataclass_fields__[field].default}]"


# Options whose default (None) means "the method's / paper's default".
_SETTINGS = {
    "method": "method",
    "policy": "policy",
    "formation": "formation",
    "decode": "decode",
    "score_normalization": "score_normalization",
    "cfc_scale": "cfc_scale",
    "crop_gradient": "crop_gradient",
    "regions": "num_regions",
    "select": "num_selected",
    "factor": "factor",
    "jitters": "jitters",
    "jitter_fn": "jitter_function",
    "jitter_amount": "jitter_amount",
    "cfc_weight": "cfc_weight",
    "tau": "tau",
    "alpha": "alpha",
    "metric": "metric",
    "match": "matched",
    "iterations": "iterations",
    "inner_steps": "inner_steps",
    "lr_img": "lr_img",
    "lr_scaling": "lr_scaling",
    "width": "width",
    "depth": "depth",
    "init": "init",
    "init_selection": "init_selection",
    "image_optimizer": "image_optimizer",
    "precision": "precision",
    "real_batch": "real_batch",
    "net_images": "net_images",
    "seed": "seed",
    "checkpoint_every": "checkpoint_every",
    "log_every": "log_every",
}


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
    help="Named settings (see the README); options given explicitly win. "
    "[default: the paper's settings]",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    help="udd, idc (factor-2 tiles, no CFC) or dc. [default: udd]",
)
@click.option(
    "--policy",
    type=click.Choice([*POLICIES, "none"]),
    help="Region scoring policy. [default: jitter for udd]",
)
@click.option(
    "--formation",
    type=click.Choice(FORMATIONS),
    help="Which boxes of each image are trained on: the whole image, IDC's "
    "tiles, or either plus P mined regions (see the README). [default: the "
    "method's]",
)
@click.option(
    "--decode",
    type=click.Choice(DECODES),
    help="What a stored image decodes to for evaluation: every box last "
    "trained on, or the fixed part only (the image or its tiles). "
    "[default: the method's]",
)
@click.option(
    "--regions",
    type=click.Choice([str(n) for n in NUM_REGIONS_ALLOWED]),
    callback=lambda ctx, param, value: None if value is None else int(value),
    help=f"Candidate corner windows N per mined area. {_default('num_regions')}",
)
@click.option(
    "--select",
    type=click.IntRange(1),
    help="Mined regions trained on, P. [default: 2 for tiles+regions, 4 for "
    "regions-in-tiles, 8 for original+regions]",
)
@click.option(
    "--factor",
    type=click.IntRange(1),
    help=f"IDC's tiles per side. {_default('factor')}",
)
@click.option(
    "--crop-gradient",
    type=click.Choice(CROP_GRADIENTS),
    help="sum: a resized crop's gradient grows with its zoom (bilinear "
    "resizing's backward pass); area: scaled by the crop's share of the image, "
    "so regions of every size pull on the pixels alike. [default: the method's]",
)
@click.option(
    "--score-normalization",
    type=click.Choice(SCORE_NORMALIZATIONS),
    help="size: compare each window's score with the windows of its own size "
    "(removes the bias toward large windows). [default: the method's]",
)
@click.option(
    "--jitters",
    type=click.IntRange(1),
    help=f"Jittered copies M. {_default('jitters')}",
)
@click.option(
    "--jitter-fn",
    type=click.Choice(JITTER_FUNCTIONS),
    help=f"Jitter function. {_default('jitter_function')}",
)
@click.option(
    "--jitter-amount",
    type=float,
    help=f"Jitter strength (normalised units). {_default('jitter_amount')}",
)
@click.option(
    "--cfc-weight",
    type=float,
    help="CFC weight; with --cfc-scale gradient, CFC's pixel gradient as a "
    "multiple of the matching gradient's norm. [default: "
    + ", ".join(f"{d['cfc_weight']:g} for {m}" for m, d in METHOD_DEFAULTS.items())
    + "]",
)
@click.option(
    "--cfc-scale",
    type=click.Choice(CFC_SCALES),
    help="loss: L = matching + w x CFC (the paper); gradient: CFC's pixel "
    "gradient is w times the matching gradient's norm, whatever the metric. "
    "[default: the method's]",
)
@click.option("--tau", type=float, help=f"CFC temperature. {_default('tau')}")
@click.option(
    "--alpha", type=float, help=f"CFC moving-average weight. {_default('alpha')}"
)
@click.option(
    "--metric",
    type=click.Choice(METRICS),
    help="Gradient distance. [default: l1 digits-like, mse otherwise]",
)
@click.option(
    "--match",
    type=click.Choice(MATCHED_PARAMETERS),
    help="Matched parameters. [default: "
    + ", ".join(f"{d['matched']} for {m}" for m, d in METHOD_DEFAULTS.items())
    + "]",
)
@click.option(
    "--iterations",
    type=click.IntRange(1),
    help=f"Outer iterations. {_default('iterations')}",
)
@click.option(
    "--inner-steps",
    type=click.IntRange(1),
    help=f"Image updates per outer iteration. {_default('inner_steps')}",
)
@click.option(
    "--lr-img",
    type=float,
    help="Image learning rate, [0, 1]-pixel units, at IPC 10 and 32x32 px. "
    f"[default: {DIGIT_LIKE_LR_IMG:g} digit-like sets, {OTHER_LR_IMG:g} otherwise]",
)
@click.option(
    "--lr-scaling",
    type=click.Choice(LR_SCALINGS),
    help="Scale --lr-img by ipc/10 x image area/32^2 (IDC) or not. "
    + _default("lr_scaling"),
)
@click.option(
    "--width", type=click.IntRange(1), help=f"ConvNet width. {_default('width')}"
)
@click.option(
    "--depth", type=click.IntRange(1), help=f"ConvNet depth. {_default('depth')}"
)
@click.option(
    "--init",
    type=click.Choice(INITIALIZATIONS),
    help="Initial images. [default: mosaic for tiled formations, real otherwise]",
)
@click.option(
    "--init-selection",
    type=click.Choice(SELECTIONS),
    help="Which real images --init starts from: random, or the ones nearest "
    "k-means centres of their class. " + _default("init_selection"),
)
@click.option(
    "--image-optimizer",
    type=click.Choice(IMAGE_OPTIMIZERS),
    help="Optimizer of the synthetic images; with adam, --lr-img is the step "
    "of a [0, 1] pixel. " + _default("image_optimizer"),
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="Arithmetic of the distillation network: float32 (exact), or "
    "mixed_bfloat16 (bfloat16 convolutions: faster only where the hardware runs "
    "bfloat16 natively, e.g. a GPU or a CPU with AVX512_BF16 or AMX, and slower "
    "elsewhere; results differ by rounding). " + _default("precision"),
)
@click.option(
    "--real-batch",
    type=click.IntRange(1),
    help=f"Real images per class per step. {_default('real_batch')}",
)
@click.option(
    "--net-images",
    type=click.IntRange(1),
    help=f"Real images per network update. [default: {CIFAR_NET_IMAGES} for "
    f"CIFAR, {OTHER_NET_IMAGES} otherwise]",
)
@click.option("--seed", type=int, help=f"Random seed. {_default('seed')}")
@click.option(
    "--checkpoint-every",
    type=click.IntRange(1),
    help=f"Inner steps between checkpoints. {_default('checkpoint_every')}",
)
@click.option(
    "--log-every",
    type=click.IntRange(1),
    help=f"Inner steps between metric lines. {_default('log_every')}",
)
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
    "--strategy",
    "strategy_name",
    type=click.Choice(STRATEGIES),
    default="auto",
    show_default=True,
    help="tf.distribute strategy; auto: mirrored with several GPUs, else one "
    "device. multi-worker reads TF_CONFIG.",
)
@click.option(
    "--worker-timeout",
    type=click.FloatRange(min=MIN_WORKER_TIMEOUT),
    default=DEFAULT_WORKER_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="multi-worker: a worker silent this long is taken as lost and the "
    "others stop within about this time (exit status 69; SIGTERM to any "
    "worker stops all after a common checkpoint: 75).",
)
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar.")
def distill(
    dataset,
    ipc,
    out_dir,
    resume,
    force,
    logdir,
    data_dir,
    strategy_name,
    no_progress,
    preset,
    **options,
):
    """Distil DATASET into --ipc synthetic images per class.

    DATASET is a source name (see `udd-keras datasets`), an .npz file or an image
    folder. Defaults are the paper's settings; e.g.

        udd-keras distill digits --ipc 1 --iterations 2 --inner-steps 5 --out runs/d
    """
    from udd_keras.distribute import make_strategy

    # First: multi-worker collectives must be set up before TensorFlow starts.
    strategy = make_strategy(
        strategy_name, worker_timeout=options.pop("worker_timeout")
    )

    from udd_keras.distillation import distill as run_distill

    settings = {
        _SETTINGS[name]: value
        for name, value in options.items()
        if value is not None and name in _SETTINGS
    }
    console = Console(stderr=True)
    result = run_distill(
        dataset,
        ipc=ipc,
        out_dir=out_dir,
        resume=resume,
        force=force,
        logdir=logdir,
        data_dir=data_dir,
        strategy=strategy,
        progress=not no_progress,
        preset=preset,
        **settings,
    )
    last = result.metrics[-1] if result.metrics else {}
    console.print(
        f"[green]done[/] {result.config.method} {dataset} ipc={ipc} in "
        f"{result.seconds:.1f}s; final matching loss "
        f"{last.get('matching_loss', float('nan')):.4g}"
    )
    for name in ("synthetic.tfrecord", "synthetic.png", "config.json", "metrics.jsonl"):
        click.echo(f"{result.out_dir / name}")
