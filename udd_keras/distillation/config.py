"""Settings of a distillation run, with the paper's defaults.

`DistillConfig` holds every knob of Algorithm 1, grouped into six frozen
sections (`SECTIONS`), one dataclass each: `DataSettings` (the dataset, IPC, real
batches, initial images, seed), `NetworkSettings` (the ConvNet and its
training), `MethodSettings` (method and formation: the objective, region mining,
CFC, the matching), `ImageOptimizerSettings`, `ScheduleSettings` (steps, network
pool, decay) and `RunControl` (iterations, time budget, checkpoints, metric
lines). The first five are the algorithm (`algorithm_dict()`), which a resumed
run must agree with; run control is what a resume may change: the run's length
(as `epochs` in Keras's `fit` with `BackupAndRestore`) and how often it saves
and logs. Settings are given and read flat (`DistillConfig("digits",
lr_img=0.01)`, `config.lr_img`), and a run's config.json holds them flat
(`to_dict()`).

Settings left `None` are filled by `resolve()` from the method (`udd`, `idc`,
`dc`) and the dataset, so the defaults are the paper's (appendix A) and IDC's
(which UDD inherits), except where a measurement on FashionMNIST IPC 1's
validation split chose otherwise (marked *; measured by the
`formation-screen-ipc1` and `scoring-stability` experiments, listed in
`benchmarks/README.md`; the choices are in `docs/method-choices.md`):

| setting | udd | idc | dc |
|---|---|---|---|
| formation | tiles* | tiles | original |
| policy (mined formations) | jitter, M = 8*, amount 1.0* | uniform | none |
| candidates N' / mined P (`tiles+regions`) | 8 (12 minus the 4 tiles) / 2* | - | - |
| score normalisation | size* | - | - |
| decode | fixed* (the tiles) | the tiles | the image |
| crop gradient | area* (sum when nothing is mined) | sum | sum |
| CFC | off* (`--cfc-weight 0.1`: 0.1 x the matching gradient) | off | off |
| matched parameters | conv | conv | all |
| network trained on | real data | real data | synthetic set |
| image init | mosaic | mosaic | real |

The paper read literally is `formation="original+regions"`, `num_selected=8`,
`jitters=2`, `jitter_amount=0.1`, `score_normalization="none"`,
`crop_gradient="sum"`, `cfc_scale="loss"`, `cfc_weight=1.0`, `init="real"`.
udd's default formation is `tiles`: mined regions (`tiles+regions`,
`original+regions`, `regions-in-tiles`) cost accuracy at every budget measured
(100 inner steps, IPC 1 and 10; measured by the `formation-screen-ipc1` and
`formation-screen-ipc10` experiments, and `mined-regions-ipc1` and
`mined-regions-budget` for the stopped crop gradient, other scoring maps,
re-selection periods, 2,000 steps and factor 3), and CFC at 0.1 cost 0.3-0.4
points on the test split (`udd-vs-idc-ipc1`, `udd-vs-idc-ipc10`). So udd's
default trains IDC's tiles with neither CFC nor mined regions, the same
objective as `idc`, unless a mined formation, a scoring policy or a CFC weight
is asked for.

As in IDC's published settings: the matching metric is `l1` with an image
learning rate of 1e-4 for grayscale digit-like sets (mnist, fashion_mnist,
digits) and `mse` with 5e-3 (the paper's 0.005) otherwise; the network is trained
on 500 real images after each inner step (2000 for CIFAR) with DSA `color_crop`
per image and CutMix (p = 0.5). The image learning rate is in [0, 1]-pixel units,
as IDC's images are (the distiller converts it for the normalised images it
stores), given at IPC 10 and 32 x 32 px, and scaled to the run's IPC and image
size by IDC's rule (`lr_scaling`): 7.7e-6 for FashionMNIST at IPC 1.
"""

import dataclasses
import math
import operator

from udd_keras.choices import (
    CROP_GRADIENTS,
    JITTER_FUNCTIONS,
    MATCHED_PARAMETERS,
    METRICS,
    MINE_FROM,
    POLICIES,
    REGION_PERIODS,
    SCORED_POLICIES,
    SELECTIONS,
)
from udd_keras.errors import UddError
from udd_keras.precision import (
    AUTO,
    BFLOAT16_CPU_FLAGS,
    DEFAULT_PRECISION,
    LEGACY_PRECISION,
    PRECISIONS,
    detect_precision,
)
from udd_keras.regions.boxes import NUM_REGIONS_ALLOWED
from udd_keras.regions.formations import (
    DECODES,
    FORMATIONS,
    MINED_FORMATIONS,
    get_formation,
)

METHODS = ("udd", "idc", "dc")
INITIALIZATIONS = ("real", "mosaic", "noise")
LR_SCALINGS = ("idc", "none")
IMAGE_OPTIMIZERS = ("sgd", "adam")
SCORE_NORMALIZATIONS = ("none", "size")
CFC_SCALES = ("loss", "gradient")
GRAYSCALE_DIGIT_SETS = ("mnist", "fashion_mnist", "digits")
# Defaults that depend on the dataset: the image learning rate (digit-like sets,
# others) and the real images per network update (CIFAR, others).
DIGIT_LIKE_LR_IMG, OTHER_LR_IMG = 1e-4, 5e-3
CIFAR_NET_IMAGES, OTHER_NET_IMAGES = 2000, 500
# The image side IDC's learning rates are given at (`lr_scaling="idc"`), and
# the side formations are counted on (`candidates_per_image`).
REFERENCE_SIDE = 32
MNIST_REFERENCE_SIDE = 28

# Settings whose default depends on the method (None in the dataclass): one
# column per setting, one row per method (the table of the module docstring).
_METHOD_COLUMNS = (
    "formation",
    "decode",
    "init",
    "matched",
    "net_data",
    "crop_gradient",
    "score_normalization",
    "cfc_scale",
    "cfc_weight",
)
METHOD_DEFAULTS = {
    method: dict(zip(_METHOD_COLUMNS, row, strict=True))
    for method, row in {
        "udd": ("tiles", "fixed", "real", "conv", "real")
        + ("area", "size", "gradient", 0.0),
        "idc": ("tiles", "trained", "mosaic", "conv", "real")
        + ("sum", "none", "loss", 0.0),
        "dc": ("original", "trained", "real", "all", "synthetic")
        + ("sum", "none", "loss", 0.0),
    }.items()
}


def is_digit_like(dataset):
    """Whether `dataset` (a name) is a grayscale digit-like set (l1, 1e-4)."""
    return str(dataset).lower() in GRAYSCALE_DIGIT_SETS


def is_cifar(dataset):
    """Whether `dataset` (a name) is a CIFAR set (2000 network images)."""
    return str(dataset).lower().startswith("cifar")


# The sections of the settings, one frozen class each (`SECTION_CLASSES`), in the
# settings table's order.
SECTIONS = (
    "data",
    "network",
    "method and formation",
    "image optimizer",
    "schedule",
    "run control",
)


def setting(
    default,
    help,
    *,
    choices=None,
    flag=None,
    default_text=None,
    minimum=None,
    above=None,
    metavar=None,
):
    """A setting of a `DistillConfig` section, with its documentation, written once.

    Declared in a section's class (`_section`), which records the section. The
    CLI builds its option from the metadata and `settings_table()` the guide's
    table.

    Args:
        default: the field's default (`dataclasses.MISSING`: required).
        help: str, what the setting does (its `--help` line, without the default).
        choices: the allowed values, or None.
        flag: str, the option of `udd-keras distill` (`DATASET`: its
            argument), or None (none).
        default_text: str, the default as said (a default that depends on the
            method or the dataset); None: the default's value.
        minimum: the smallest value the option accepts, or None.
        above: a bound the option's value must exceed, or None.
        metavar: str, the option's value as named in `--help`, or None.

    Returns:
        A `dataclasses.Field`.
    """
    metadata = {
        "help": help,
        "section": None,  # Set by the section's class (`_section`).
        "choices": None if choices is None else tuple(choices),
        "flag": flag,
        "default_text": default_text,
        "minimum": minimum,
        "above": above,
        "metavar": metavar,
    }
    return dataclasses.field(default=default, metadata=metadata)


def _text(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def by_method(name):
    """`"V for udd, V for idc, V for dc"`: a default the method decides."""
    return ", ".join(
        f"{_text(defaults[name])} for {method}"
        for method, defaults in METHOD_DEFAULTS.items()
    )


_MINED = tuple(name for name in FORMATIONS if get_formation(name).mines)
_UNMINED = tuple(name for name in FORMATIONS if not get_formation(name).mines)
_TILED = tuple(name for name in FORMATIONS if get_formation(name).tiled)
_DIGIT_LIKE = "/".join(GRAYSCALE_DIGIT_SETS)


def _section(name):
    """Makes a class of `setting`s the frozen dataclass of section `name`.

    Each field's metadata records `name` as its `section`, and the class's
    `SECTION` is `name`.
    """
    if name not in SECTIONS:
        raise ValueError(f"section must be one of {SECTIONS}; got {name!r}")

    def make(cls):
        for key in cls.__dict__.get("__annotations__", {}):
            field = cls.__dict__[key]
            metadata = {**field.metadata, "section": name}
            setattr(
                cls, key, dataclasses.field(default=field.default, metadata=metadata)
            )
        cls.SECTION = name
        return dataclasses.dataclass(frozen=True)(cls)

    return make


@_section("data")
class DataSettings:
    """Section "data" (`DistillConfig.data`): the dataset, the IPC, the real
    batches, the initial images and the seed.

    The seed is here, with the data it draws, rather than in run control: it
    draws the initial images, the network initialisations and the real
    batches, and keys the run's trajectory (`TrajectoryCache`), so a resumed
    run must keep it.
    """

    dataset: str = setting(
        dataclasses.MISSING,
        "A source name understood by `udd_keras.data.load_dataset` (see "
        "`udd-keras datasets`), an .npz file or an image folder.",
        flag="DATASET",
        default_text="required",
    )
    ipc: int = setting(1, "Synthetic images per class.", flag="--ipc")
    real_batch: int = setting(
        64,
        "Real images per class per step.",
        flag="--real-batch",
        minimum=1,
    )
    max_synthetic_batch: int = setting(
        128,
        "At most this many synthetic training images per class per step (a "
        "random subsample beyond).",
    )
    init: str | None = setting(
        None,
        "Initial images.",
        choices=INITIALIZATIONS,
        flag="--init",
        default_text=f"mosaic for the tiled formations ({', '.join(_TILED)}), "
        "else the method's: "
        + ", ".join(f"{d['init']} for {m}" for m, d in METHOD_DEFAULTS.items()),
    )
    init_selection: str = setting(
        "random",
        "Which real images --init starts from: random, or the ones nearest "
        "k-means centres of their class.",
        choices=SELECTIONS,
        flag="--init-selection",
    )
    seed: int = setting(
        0,
        "Random seed: draws the initial images, the network initialisations "
        "and the batches; a resumed run must keep it.",
        flag="--seed",
    )


@_section("network")
class NetworkSettings:
    """Section "network" (`DistillConfig.network`): the ConvNet, its training
    between inner steps and its precision."""

    net_data: str | None = setting(
        None,
        "What the network is trained on between inner steps.",
        choices=("real", "synthetic"),
        default_text=by_method("net_data"),
    )
    net_images: int | None = setting(
        None,
        "Real images per network update.",
        flag="--net-images",
        default_text=f"{CIFAR_NET_IMAGES} for CIFAR (cifar10, cifar100), "
        f"{OTHER_NET_IMAGES} otherwise",
        minimum=1,
    )
    net_batch: int = setting(64, "Batch size of the network updates.")
    net_lr: float = setting(0.01, "Learning rate of the network's SGD.")
    net_momentum: float = setting(0.9, "Momentum of the network's SGD.")
    net_weight_decay: float = setting(5e-4, "Weight decay of the network's SGD.")
    net_cutmix: float = setting(0.5, "CutMix probability in the network updates.")
    net_augmentation: str | None = setting(
        None,
        "DSA strategy of the network updates.",
        default_text="color_crop, IDC's matching strategy without cutout, as "
        "CutMix is used",
    )
    width: int = setting(128, "ConvNet width.", flag="--width", minimum=1)
    depth: int = setting(3, "ConvNet depth.", flag="--depth", minimum=1)
    # `resolve()` returns the resolved precision, which a run records.
    precision: str = setting(
        DEFAULT_PRECISION,
        "Arithmetic of the distillation network: float32 (exact), "
        "mixed_bfloat16 (bfloat16 convolutions and pooling; results differ by "
        "rounding; emulated, and often slower, where the hardware has no "
        "bfloat16), or auto: mixed_bfloat16 when every GPU has CUDA compute "
        "capability 8.0 or more (A100, RTX 30xx, H100; not a T4 or V100) or, "
        f"without a GPU, on a CPU with {' or '.join(BFLOAT16_CPU_FLAGS)}, float32 "
        "otherwise. A resumed run keeps its own.",
        choices=PRECISIONS,
        flag="--precision",
    )


@_section("method and formation")
class MethodSettings:
    """Section "method and formation" (`DistillConfig.objective`): the method,
    the formation, region mining and scoring, CFC and the matching."""

    method: str = setting(
        "udd",
        "udd, idc (factor-2 tiles, no CFC) or dc.",
        choices=METHODS,
        flag="--method",
    )
    policy: str | None = setting(
        None,
        "Region scoring policy.",
        choices=(*POLICIES, "none"),
        flag="--policy",
        default_text=f"jitter for {', '.join(_MINED)}; "
        + ", ".join(f"{get_formation(n).fixed_policy} for {n}" for n in _UNMINED),
    )
    formation: str | None = setting(
        None,
        "Which boxes of each image are trained on: the whole image, IDC's "
        "tiles, or either plus P mined regions (see docs/distillation.md).",
        choices=FORMATIONS,
        flag="--formation",
        default_text=by_method("formation"),
    )
    decode: str | None = setting(
        None,
        "What a stored image decodes to for evaluation: every box last "
        "trained on, or the fixed part only (the image or its tiles).",
        choices=DECODES,
        flag="--decode",
        default_text=by_method("decode"),
    )
    num_regions: int = setting(
        12,
        "Candidate corner windows N per mined area.",
        choices=NUM_REGIONS_ALLOWED,
        flag="--regions",
    )
    num_selected: int | None = setting(
        None,
        "Mined regions trained on, P.",
        flag="--select",
        default_text=", ".join(
            f"{get_formation(n).default_selected} for {n}" for n in _MINED
        ),
        minimum=1,
    )
    factor: int = setting(2, "IDC's tiles per side.", flag="--factor", minimum=1)
    include_original: bool | None = setting(
        None,
        "Whether the whole image is trained on; the formation decides it, and "
        "an explicit value must agree with it.",
        default_text="the formation's",
    )
    score_normalization: str | None = setting(
        None,
        "size: compare each window's score with the windows of its own size "
        "(removes the bias toward large windows).",
        choices=SCORE_NORMALIZATIONS,
        flag="--score-normalization",
        default_text=by_method("score_normalization"),
    )
    # See `udd_keras.regions.formation.form_training_images`.
    crop_gradient: str | None = setting(
        None,
        "sum: a resized crop's gradient grows with its zoom (bilinear resizing's "
        "backward pass); area: scaled by the crop's share of the image, so "
        "regions of every size pull on the pixels alike; stop: the mined "
        "regions' crops enter the loss but pass no gradient to the pixels (the "
        "image and IDC's tiles do, the tiles as under area).",
        choices=CROP_GRADIENTS,
        flag="--crop-gradient",
        default_text=f"sum for the formations that mine nothing ({', '.join(_UNMINED)})"
        ", else the method's: " + by_method("crop_gradient"),
    )
    region_period: str = setting(
        REGION_PERIODS[0],
        "How often the mined regions are chosen: at every image update (step, "
        "the paper), at the first step of every outer iteration (iteration), or "
        "once at the run's first step (run); kept boxes survive --resume.",
        choices=REGION_PERIODS,
        flag="--region-period",
    )
    # The loss is the weighted mean over S_train; the CFC embedding mean is not
    # weighted.
    region_weight: float = setting(
        1.0,
        "What a mined region counts in the synthetic loss, against 1 for the "
        "image or a tile.",
        flag="--region-weight",
        minimum=0,
    )
    mine_from: str | None = setting(
        None,
        "Which end of the scoring policy's ranking is mined: the lowest scores "
        "(the paper's underutilized regions) or the highest. Given with --method "
        "udd alone, it selects tiles+regions.",
        choices=MINE_FROM,
        flag="--mine-from",
        default_text=MINE_FROM[0],
    )
    jitters: int = setting(8, "Jittered copies M.", flag="--jitters", minimum=1)
    jitter_function: str = setting(
        "gaussian",
        "Jitter function.",
        choices=JITTER_FUNCTIONS,
        flag="--jitter-fn",
    )
    jitter_amount: float = setting(
        1.0,
        "Jitter strength (normalised units).",
        flag="--jitter-amount",
    )
    # Configs written before it was a setting of its own read `response_layer`.
    score_block: int = setting(
        -1,
        "ConvNet block whose feature map the scoring policy reads, indexed "
        "from 0 (the first block's map, 32x32 for 32x32 images) or from the end "
        "(-1: the last block's, 8x8 at depth 3); -depth..depth-1.",
        flag="--score-block",
    )
    cfc_weight: float | None = setting(
        None,
        "CFC weight; with --cfc-scale gradient, CFC's pixel gradient as a "
        "multiple of the matching gradient's norm.",
        flag="--cfc-weight",
        default_text=by_method("cfc_weight"),
    )
    cfc_scale: str | None = setting(
        None,
        "loss: L = matching + w x CFC (the paper); gradient: CFC's pixel gradient "
        "is w times the matching gradient's norm, whatever the metric.",
        choices=CFC_SCALES,
        flag="--cfc-scale",
        default_text=by_method("cfc_scale"),
    )
    tau: float = setting(0.7, "CFC temperature.", flag="--tau")
    alpha: float = setting(0.5, "CFC moving-average weight.", flag="--alpha")
    metric: str | None = setting(
        None,
        "Gradient distance.",
        choices=METRICS,
        flag="--metric",
        default_text=f"l1 for {_DIGIT_LIKE}, mse otherwise",
    )
    matched: str | None = setting(
        None,
        "Matched parameters.",
        choices=MATCHED_PARAMETERS,
        flag="--match",
        default_text=by_method("matched"),
    )
    matching_augmentation: str = setting(
        "color_crop_cutout",
        "DSA strategy of the siamese augmentation of the matched batches.",
    )


@_section("image optimizer")
class ImageOptimizerSettings:
    """Section "image optimizer" (`DistillConfig.images`): how the synthetic
    pixels are updated."""

    # The matching loss averages over a class's synthetic images, so each
    # image's gradient shrinks as IPC grows: hence IDC's scaling rule.
    lr_img: float | None = setting(
        None,
        "Image learning rate, [0, 1]-pixel units, at IPC 10 and "
        f"{REFERENCE_SIDE}x{REFERENCE_SIDE} px ({MNIST_REFERENCE_SIDE}x"
        f"{MNIST_REFERENCE_SIDE} for mnist).",
        flag="--lr-img",
        default_text=f"{DIGIT_LIKE_LR_IMG:g} for {_DIGIT_LIKE}, {OTHER_LR_IMG:g} "
        "otherwise",
    )
    lr_scaling: str = setting(
        "idc",
        "idc: scale --lr-img by ipc/10 x the image area over the reference "
        "area above (IDC's rule); none: use it as is.",
        choices=LR_SCALINGS,
        flag="--lr-scaling",
    )
    momentum_img: float = setting(0.5, "Momentum of the image SGD.")
    image_optimizer: str = setting(
        "sgd",
        "Optimizer of the synthetic images; with adam, --lr-img is the step of "
        "a [0, 1] pixel.",
        choices=IMAGE_OPTIMIZERS,
        flag="--image-optimizer",
    )
    clip: bool = setting(True, "Keep the pixels inside the valid normalised range.")


@_section("schedule")
class ScheduleSettings:
    """Section "schedule" (`DistillConfig.schedule`): the steps of an outer
    iteration, the network pool and the learning-rate decay. The run's length
    (iterations, time budget) is run control."""

    inner_steps: int = setting(
        100,
        "Image updates per outer iteration.",
        flag="--inner-steps",
        minimum=1,
    )
    # The network's trajectory does not change with K, so a recorded trajectory
    # replays for any K.
    image_updates: int = setting(
        1,
        "Image updates per inner step, against one computation of the real "
        "gradients (the real side is most of a step's cost on a CPU).",
        flag="--image-updates",
        minimum=1,
    )
    # As MTT reuses a pool of expert trajectories; with `out_dir=None` the
    # trajectory is a temporary folder.
    network_pool: int | None = setting(
        None,
        "Train against this many outer iterations' networks, cycled (outer "
        "iteration i replays i mod N's network, real batches and augmentation): "
        "the pool's real side is computed once and kept in the run's "
        "trajectory/ folder (or --trajectory-cache), so later iterations cost "
        "the synthetic half of a step. Not for --method dc.",
        flag="--network-pool",
        default_text="every outer iteration its own network",
        minimum=1,
    )
    lr_decay_at: tuple = setting(
        (0.6, 0.8, 0.9),
        "Fractions of the iterations (of the time budget, when given) at which "
        "the image learning rate is multiplied by lr_decay_factor (the paper: "
        "1200, 1600, 1800 of 2000).",
    )
    lr_decay_factor: float = setting(
        0.5, "What each decay multiplies the image learning rate by."
    )


@_section("run control")
class RunControl:
    """Section "run control" (`DistillConfig.run`): the run's length (the
    iterations, the time budget), checkpoints and metric lines.

    What a resumed run may change, as `epochs` in Keras's `fit` with
    `BackupAndRestore`: the command's iterations, and its time budget when
    given, replace the run's (a run is extended so); the run keeps its own
    checkpoint and log periods. Every other section must agree
    (`algorithm_dict()`).
    """

    iterations: int = setting(2000, "Outer iterations.", flag="--iterations", minimum=1)
    # See `udd_keras.distillation.time_budget`.
    time_budget_minutes: float | None = setting(
        None,
        "Stop after MINUTES of distillation (wall time, resumes included), "
        "with the set exported and a checkpoint; the image learning rate decays "
        "at 60/80/90% of the time, and --iterations x --inner-steps is only an "
        "upper bound. --resume keeps the run's budget unless given.",
        flag="--time-budget",
        default_text="none, the steps decide",
        above=0,
        metavar="MINUTES",
    )
    checkpoint_every: int = setting(
        50,
        "Inner steps between checkpoints.",
        flag="--checkpoint-every",
        minimum=1,
    )
    log_every: int = setting(
        10,
        "Inner steps between metric lines.",
        flag="--log-every",
        minimum=1,
    )


# The sections of a `DistillConfig`: its attribute for each, in `SECTIONS`' order.
SECTION_CLASSES = {
    "data": DataSettings,
    "network": NetworkSettings,
    "objective": MethodSettings,
    "images": ImageOptimizerSettings,
    "schedule": ScheduleSettings,
    "run": RunControl,
}
# The order of the settings across sections: that of `settings()`, `to_dict()`
# (and so of a run's config.json) and of the options `udd-keras distill` does
# not order itself, as it was when the settings were one flat class.
_SETTING_ORDER = (
    "dataset", "ipc", "method", "policy", "formation", "decode", "num_regions",
    "num_selected", "factor", "include_original", "score_normalization",
    "crop_gradient", "region_period", "region_weight", "mine_from", "jitters",
    "jitter_function", "jitter_amount", "score_block", "cfc_weight", "cfc_scale",
    "tau", "alpha", "metric", "matched", "iterations", "inner_steps",
    "real_batch", "max_synthetic_batch", "image_updates", "network_pool",
    "lr_img", "lr_scaling", "momentum_img", "image_optimizer", "lr_decay_at",
    "lr_decay_factor", "net_data", "net_images", "net_batch", "net_lr",
    "net_momentum", "net_weight_decay", "net_cutmix", "matching_augmentation",
    "net_augmentation", "width", "depth", "precision", "init", "init_selection",
    "clip", "seed", "checkpoint_every", "log_every", "time_budget_minutes",
)  # fmt: skip
# Every setting's field, and the attribute of the section that owns it.
_FIELDS = {
    field.name: field
    for section_class in SECTION_CLASSES.values()
    for field in dataclasses.fields(section_class)
}
_OWNER = {
    field.name: attribute
    for attribute, section_class in SECTION_CLASSES.items()
    for field in dataclasses.fields(section_class)
}
if sorted(_SETTING_ORDER) != sorted(_FIELDS) or len(_FIELDS) != sum(
    len(dataclasses.fields(c)) for c in SECTION_CLASSES.values()
):
    raise AssertionError("every setting is declared in one section, and ordered once")
if [c.SECTION for c in SECTION_CLASSES.values()] != list(SECTIONS):
    raise AssertionError("SECTION_CLASSES follows SECTIONS")


@dataclasses.dataclass(frozen=True, init=False)
class DistillConfig:
    """Every setting of a distillation run, grouped into frozen sections.

    Six sections, one frozen dataclass each (`SECTIONS`, `SECTION_CLASSES`):

    - `data` (`DataSettings`): the dataset, the IPC, the real batches, the
      initial images and the seed that draws them;
    - `network` (`NetworkSettings`): the ConvNet, its training between inner
      steps and its precision;
    - `objective` (`MethodSettings`, section "method and formation"): the
      method, the formation, region mining and scoring, CFC and the matching;
    - `images` (`ImageOptimizerSettings`): the synthetic images' optimizer;
    - `schedule` (`ScheduleSettings`): the steps, the network pool and the
      learning-rate decay;
    - `run` (`RunControl`): the run's length (iterations, time budget),
      checkpoints and metric lines.

    The first five are the algorithm (`algorithm_dict()`), which a resumed run
    must agree with; run control is what a resume may change. A config is
    built from flat settings by name, each routed to the section that owns it,
    and every setting reads flat too: `config.lr_img` is
    `config.images.lr_img`. Nothing is assigned in place: `replace()` returns a
    changed copy. `to_dict()` is the flat dict a run's config.json holds.

    Each setting documents itself (`setting`: help, choices, default, section):
    `settings()` lists them, `udd-keras distill` builds its options from them
    and `settings_table()` renders the settings table of docs/distillation.md.
    Settings left None are filled by `resolve()` from the method and the
    dataset (the module docstring's table).

    Args:
        dataset: the dataset setting (also accepted by name).
        **settings: any setting of `settings()` by name, e.g. `ipc=1`,
            `lr_img=0.01`; and whole sections by attribute, e.g.
            `data=DataSettings("digits")`, which a setting given by name
            overrides. Settings not given take their defaults.

    Raises:
        UddError: a name that is neither a setting nor a section, or a section
            of the wrong class.

    Example:
    >>> config = DistillConfig("digits", ipc=1).resolve()
    >>> config.policy, config.metric
    ('uniform', 'l1')
    >>> config.objective.metric, config.data.seed, config.run.iterations
    ('l1', 0, 2000)
    >>> config.replace(seed=3).seed
    3
    """

    data: DataSettings
    network: NetworkSettings
    objective: MethodSettings
    images: ImageOptimizerSettings
    schedule: ScheduleSettings
    run: RunControl

    def __init__(self, dataset=dataclasses.MISSING, **settings):
        if dataset is not dataclasses.MISSING:
            settings["dataset"] = dataset
        sections = {
            attribute: settings.pop(attribute)
            for attribute in SECTION_CLASSES
            if attribute in settings
        }
        unknown = sorted(name for name in settings if name not in _OWNER)
        if unknown:
            raise UddError(
                f"unknown distillation settings: {', '.join(unknown)}; the "
                f"settings are {', '.join(_SETTING_ORDER)}, and the sections "
                f"{', '.join(SECTION_CLASSES)}"
            )
        if "dataset" not in settings and "data" not in sections:
            raise TypeError("DistillConfig() needs a dataset")
        for attribute, section_class in SECTION_CLASSES.items():
            given = {
                name: value
                for name, value in settings.items()
                if _OWNER[name] == attribute
            }
            section = sections.get(attribute)
            if section is None:
                section = section_class(**given)
            elif not isinstance(section, section_class):
                raise UddError(
                    f"section {attribute} must be a {section_class.__name__}; got "
                    f"{section!r}"
                )
            elif given:
                section = dataclasses.replace(section, **given)
            object.__setattr__(self, attribute, section)

    def replace(self, **changes):
        """A copy of this config with `changes`.

        Args:
            **changes: settings by name (`lr_img=0.01`), or whole sections by
                attribute (`run=RunControl(iterations=10)`).

        Returns:
            A new `DistillConfig`, not resolved again (`resolve()` fills and
            checks the changed settings).

        Example:
        >>> config = DistillConfig("digits", ipc=1)
        >>> config.replace(ipc=10).ipc, config.ipc
        (10, 1)
        """
        sections = {
            attribute: getattr(self, attribute) for attribute in SECTION_CLASSES
        }
        return type(self)(**{**sections, **changes})

    def resolve(self, auto_precision=None):
        """Fills `None` fields from the method and dataset, resolves the
        precision `"auto"`, then validates.

        Args:
            auto_precision: what `precision="auto"` becomes; None: this
                machine's choice (`udd_keras.precision.detect_precision`). A
                resumed run passes the precision it was started with.

        Returns:
            A new, fully specified `DistillConfig`.
        """
        _check_choice("method", self.method, METHODS)
        filled = dict(METHOD_DEFAULTS[self.method])
        digit_like = is_digit_like(self.dataset)
        filled["metric"] = "l1" if digit_like else "mse"
        filled["net_images"] = (
            CIFAR_NET_IMAGES if is_cifar(self.dataset) else OTHER_NET_IMAGES
        )
        filled["lr_img"] = DIGIT_LIKE_LR_IMG if digit_like else OTHER_LR_IMG
        filled["net_augmentation"] = "color_crop"
        values = self.to_dict()
        formation = get_formation(_resolve_formation(values, filled["formation"]))
        values["formation"] = formation.name
        if formation.tiled:
            # Tiles start as IDC's: factor**2 real images shrunk into them.
            filled["init"] = "mosaic"
        if not formation.mines:
            # Without mined crops `area` would only rescale the tiles' pixel
            # gradient (their learning rate under SGD): keep IDC's sum.
            filled["crop_gradient"] = "sum"
        for key, default in filled.items():
            if values[key] is None:
                values[key] = default
        if values["policy"] is None:
            values["policy"] = formation.fixed_policy or "jitter"
        if values["num_selected"] is None:
            values["num_selected"] = formation.default_selected
        if values["mine_from"] is None:
            values["mine_from"] = MINE_FROM[0]
        if values["precision"] == AUTO:
            values["precision"] = auto_precision or detect_precision(AUTO).precision
        includes_original = formation.includes_original
        if values["include_original"] is None:
            values["include_original"] = includes_original
        elif bool(values["include_original"]) != includes_original:
            raise UddError(
                f"include_original={values['include_original']!r} contradicts "
                f"formation {values['formation']!r}, which "
                f"{'trains' if includes_original else 'does not train'} on the "
                "whole image; choose the formation instead"
            )
        values["lr_decay_at"] = tuple(values["lr_decay_at"])
        config = DistillConfig(**values)
        config.validate()
        return config

    def validate(self):
        """Raises `UddError` naming the first bad setting."""
        self._validate_choices()
        self._validate_formation()
        self._validate_counts()
        self._validate_limits()

    def _validate_choices(self):
        _check_choice("method", self.method, METHODS)
        _check_choice("policy", self.policy, (*POLICIES, "none"))
        _check_choice("metric", self.metric, METRICS)
        _check_choice("matched parameters", self.matched, MATCHED_PARAMETERS)
        _check_choice("jitter function", self.jitter_function, JITTER_FUNCTIONS)
        _check_choice("initialisation", self.init, INITIALIZATIONS)
        _check_choice("initial image selection", self.init_selection, SELECTIONS)
        _check_choice("network data", self.net_data, ("real", "synthetic"))
        _check_choice("lr scaling", self.lr_scaling, LR_SCALINGS)
        _check_choice("image optimizer", self.image_optimizer, IMAGE_OPTIMIZERS)
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("number of regions", self.num_regions, NUM_REGIONS_ALLOWED)
        _check_choice("formation", self.formation, FORMATIONS)
        _check_choice("decode", self.decode, DECODES)
        _check_choice(
            "score normalization", self.score_normalization, SCORE_NORMALIZATIONS
        )
        _check_choice("CFC scale", self.cfc_scale, CFC_SCALES)
        _check_choice("crop gradient", self.crop_gradient, CROP_GRADIENTS)
        _check_choice("mine from", self.mine_from, MINE_FROM)
        _check_choice("region period", self.region_period, REGION_PERIODS)

    def _validate_formation(self):
        formation = self.formation_spec
        mined = formation.mines
        if mined and self.policy not in SCORED_POLICIES:
            raise UddError(
                f"formation {self.formation!r} mines regions, so the policy must be "
                f"one of {', '.join(SCORED_POLICIES)}; got {self.policy!r}"
            )
        if not mined and self.policy != formation.fixed_policy:
            raise UddError(
                f"formation {self.formation!r} mines no region, so the policy must "
                f"be {formation.fixed_policy!r}; got {self.policy!r} (for "
                "mined regions choose one of " + ", ".join(MINED_FORMATIONS) + ")"
            )
        for name, default in (
            ("mine_from", MINE_FROM[0]),
            ("region_period", REGION_PERIODS[0]),
        ):
            if not mined and getattr(self, name) != default:
                raise UddError(
                    f"{name}={getattr(self, name)!r} needs a formation that mines "
                    f"regions (one of {', '.join(MINED_FORMATIONS)}); formation "
                    f"{self.formation!r} mines none"
                )
        # Raises the formation's own message when no candidate is left.
        candidates = len(
            self.formation_boxes(REFERENCE_SIDE, REFERENCE_SIDE).candidates
        )
        if mined and not (
            isinstance(self.num_selected, int) and 1 <= self.num_selected <= candidates
        ):
            raise UddError(
                f"selected regions P must be between 1 and {candidates} (the "
                f"candidates of formation {self.formation!r} with N="
                f"{self.num_regions}), got {self.num_selected!r}"
            )

    def _validate_counts(self):
        for name in (
            "ipc",
            "iterations",
            "inner_steps",
            "real_batch",
            "jitters",
            "width",
            "depth",
            "factor",
            "net_batch",
            "max_synthetic_batch",
            "image_updates",
            "checkpoint_every",
            "log_every",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UddError(f"{name} must be a positive integer, got {value!r}")
        for name in ("lr_img", "tau"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise UddError(f"{name} must be a positive number, got {value!r}")
        for name in ("cfc_weight", "jitter_amount", "region_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise UddError(f"{name} must be a number >= 0, got {value!r}")

    def _validate_limits(self):
        pool = self.network_pool
        if pool is not None:
            if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
                raise UddError(
                    f"network_pool must be a positive integer or None, got {pool!r}"
                )
            if self.net_data != "real":
                raise UddError(
                    f"network_pool needs a network trained on real data; method "
                    f"{self.method!r} trains it on {self.net_data!r} images (use "
                    "udd or idc, or leave network_pool unset)"
                )
        budget = self.time_budget_minutes
        if budget is not None and not (
            isinstance(budget, (int, float))
            and not isinstance(budget, bool)
            and math.isfinite(budget)
            and budget > 0
        ):
            raise UddError(
                "time_budget_minutes must be a positive number of minutes, got "
                f"{budget!r}"
            )
        if not 0.0 <= self.alpha <= 1.0:
            raise UddError(f"alpha must be in [0, 1], got {self.alpha!r}")
        block = self.score_block
        if (
            isinstance(block, bool)
            or not isinstance(block, int)
            or not -self.depth <= block < self.depth
        ):
            raise UddError(
                f"score_block must be an integer in {-self.depth}..{self.depth - 1} "
                f"(a block of the depth-{self.depth} ConvNet; -1 = the last), "
                f"got {block!r}"
            )

    def image_lr(self, image_shape):
        """The image learning rate in use for images of `image_shape` (H, W, C).

        Example:
        >>> config = DistillConfig("fashion_mnist", ipc=1).resolve()
        >>> f"{config.image_lr((28, 28, 1)):.3g}"
        '7.66e-06'
        """
        if self.lr_scaling == "none" or self.image_optimizer == "adam":
            return self.lr_img
        side = (
            MNIST_REFERENCE_SIDE
            if str(self.dataset).lower() == "mnist"
            else REFERENCE_SIDE
        )
        area = image_shape[0] * image_shape[1] / side**2
        return self.lr_img * self.ipc / 10 * area

    @property
    def formation_spec(self):
        """The `udd_keras.regions.formations.Formation` of this run: whether it
        mines regions, trains on the whole image, is built on IDC's tiles.

        Example:
        >>> DistillConfig("digits", method="idc").resolve().formation_spec.tiled
        True
        """
        return get_formation(self.formation)

    @property
    def mines_regions(self):
        """Whether the policy mines regions (the formation has candidates)."""
        return self.formation_spec.mines

    def formation_boxes(self, height, width):
        """The formation's fixed and candidate boxes on `height x width` images.

        Returns:
            A `udd_keras.regions.formations.FormationBoxes`.
        """
        return self.formation_spec.boxes(height, width, self.num_regions, self.factor)

    @property
    def candidates_per_image(self):
        """Candidate regions the policy mines among per image (N'), 0 if none.

        Counted on a 32 x 32 image: corner windows that coincide with a tile are
        not mined twice (`tiles+regions`).
        """
        if not self.mines_regions:
            return 0
        try:
            boxes = self.formation_boxes(REFERENCE_SIDE, REFERENCE_SIDE)
        except UddError:
            return 0
        return len(boxes.candidates)

    @property
    def fixed_regions_per_image(self):
        """Boxes always trained on per image (IDC's tiles), 0 for none."""
        return self.factor**2 if self.formation_spec.tiled else 0

    @property
    def regions_per_image(self):
        """Regions trained on per stored image (K = fixed + P mined)."""
        mined = self.num_selected if self.mines_regions else 0
        return self.fixed_regions_per_image + mined

    @property
    def decoded_regions_per_image(self):
        """Regions a stored image decodes to for evaluation."""
        if self.decode == "fixed":
            return self.fixed_regions_per_image
        return self.regions_per_image

    def to_dict(self):
        """The settings as one flat dict, in `settings()`' order.

        What a run's config.json holds, and what `from_dict()` reads.

        Returns:
            dict of every setting by name.

        Example:
        >>> DistillConfig("digits", ipc=1).to_dict()["ipc"]
        1
        """
        values = {}
        for attribute in SECTION_CLASSES:
            values.update(dataclasses.asdict(getattr(self, attribute)))
        return {name: values[name] for name in _SETTING_ORDER}

    def algorithm_dict(self):
        """The settings that decide what a run computes, and that a resumed
        run must agree with: `to_dict()` without the run control section (the
        run's length, checkpoints, metric lines).

        Returns:
            dict of the settings of the data (the seed included), network,
            method and formation, image optimizer and schedule sections, in
            `settings()`' order.

        Example:
        >>> algorithm = DistillConfig("digits").algorithm_dict()
        >>> "lr_img" in algorithm, "seed" in algorithm
        (True, True)
        >>> "iterations" in algorithm, "checkpoint_every" in algorithm
        (False, False)
        """
        return {
            name: value
            for name, value in self.to_dict().items()
            if _OWNER[name] != "run"
        }

    @classmethod
    def from_dict(cls, values):
        """The config of `values` (e.g. a run's `config.json`).

        Configs written by earlier versions read as those runs ran: without
        `precision`, in float32; their `response_layer` is `score_block`.

        Args:
            values: dict of settings by name (`to_dict()`).

        Returns:
            A `DistillConfig` (not resolved).
        """
        values = dict(values)
        if "response_layer" in values:
            # The name of `score_block` before it was a setting of its own.
            legacy = values.pop("response_layer")
            values.setdefault("score_block", legacy)
        unknown = sorted(set(values) - set(_SETTING_ORDER))
        if unknown:
            raise UddError(
                f"unknown distillation settings: {', '.join(unknown)}; the "
                f"settings are {', '.join(_SETTING_ORDER)}"
            )
        # Runs written before `precision="auto"` existed ran in float32.
        values = {"precision": LEGACY_PRECISION, **values}
        if "lr_decay_at" in values:
            values["lr_decay_at"] = tuple(values["lr_decay_at"])
        return cls(**values)


def _read_through(attribute, name):
    """The property that reads setting `name` from section `attribute`."""
    return property(
        operator.attrgetter(f"{attribute}.{name}"),
        doc=f"`{attribute}.{name}`: {_FIELDS[name].metadata['help']}",
    )


# Every setting reads flat: `config.lr_img` is `config.images.lr_img`.
for _name in _SETTING_ORDER:
    setattr(DistillConfig, _name, _read_through(_OWNER[_name], _name))
del _name


def settings(section=None):
    """Every setting's field, across the sections; those of `section` when given.

    Each field (a `dataclasses.Field` of its section's class) has the setting's
    `name` and `default`, and its metadata holds its `help`, `section`,
    `choices`, `flag` (the option of `udd-keras distill`, or None),
    `default_text`, `minimum`, `above` and `metavar` (see `setting`).

    Args:
        section: one of `SECTIONS`, or None (all).

    Returns:
        A tuple of `dataclasses.Field`s, in the settings' order.

    Example:
    >>> [field.name for field in settings("run control")]
    ['iterations', 'checkpoint_every', 'log_every', 'time_budget_minutes']
    """
    return tuple(
        _FIELDS[name]
        for name in _SETTING_ORDER
        if section in (None, _FIELDS[name].metadata["section"])
    )


def default_text(field):
    """A setting's default as said in `--help` and the guide: the method's,
    the dataset's, or the value."""
    text = field.metadata["default_text"]
    return str(field.default) if text is None else text


def _bounds(meta):
    if meta["above"] is not None:
        return f"> {meta['above']}"
    if meta["minimum"] is not None:
        return f">= {meta['minimum']}"
    return "-"


def _cell(text):
    return str(text).replace("|", "\\|")


def settings_table():
    """The settings of docs/distillation.md: one Markdown table per section.

    Example:
    >>> print(settings_table().splitlines()[0])
    ### Data
    """
    parts = []
    for section in SECTIONS:
        rows = [
            f"### {section[0].upper()}{section[1:]}",
            "",
            "| setting | flag | values | default | what it sets |",
            "|---|---|---|---|---|",
        ]
        for field in settings(section):
            meta = field.metadata
            flag = f"`{meta['flag']}`" if meta["flag"] else "-"
            values = ", ".join(f"`{c}`" for c in meta["choices"] or ()) or _bounds(meta)
            default = (
                default_text(field)
                if meta["default_text"] is not None
                else f"`{field.default}`"
            )
            cells = (f"`{field.name}`", flag, values, default, meta["help"])
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts) + "\n"


def _resolve_formation(values, method_default):
    """The formation of a config: given, implied by the policy, or the method's.

    A policy of `"uniform"` (IDC's fixed tiles) implies `tiles`, `"none"`
    implies `original`; a scoring policy with `include_original=True` implies
    `original+regions` (how configs written before formations existed read);
    a scoring policy, a P (`num_selected`) or `mine_from` with a method whose default
    formation mines nothing implies its mined counterpart: `tiles+regions`
    (IDC's tiles plus mined regions) for `tiles`, `original+regions` for
    `original`.
    """
    if values["formation"] is not None:
        return values["formation"]
    policy = values["policy"]
    for name in FORMATIONS:
        if policy is not None and policy == get_formation(name).fixed_policy:
            return name
    if policy is not None and values["include_original"]:
        # A config from before formations existed: mined regions + the image.
        return "original+regions"
    default = get_formation(method_default)
    asks_to_mine = policy is not None or any(
        values[key] is not None for key in ("num_selected", "mine_from")
    )
    if asks_to_mine and not default.mines:
        return "tiles+regions" if default.tiled else "original+regions"
    return method_default


def _check_choice(name, value, allowed):
    if value not in allowed:
        choices = ", ".join(str(a) for a in allowed)
        raise UddError(f"{name} must be one of {choices}; got {value!r}")
