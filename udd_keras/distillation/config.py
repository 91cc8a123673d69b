"""Settings of a distillation run, with the paper's defaults.

`DistillConfig` holds every knob of Algorithm 1. Fields left `None` are filled by
`resolve()` from the method (`udd`, `idc`, `dc`) and the dataset, so the defaults
are the paper's (appendix A) and IDC's (which UDD inherits), except where a
measurement on FashionMNIST IPC 1's validation split chose otherwise (marked *;
measured by the `formation-screen-ipc1` and `scoring-stability` experiments,
listed in `benchmarks/README.md`; the choices are in `docs/method-choices.md`):

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


# Sections of the settings, named after the groups `DistillConfig` will be split into.
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
    section,
    *,
    choices=None,
    flag=None,
    default_text=None,
    minimum=None,
    above=None,
    metavar=None,
):
    """A `DistillConfig` field with its documentation, written once.

    The CLI builds its option from the metadata and `settings_table()` the
    guide's table.

    Args:
        default: the field's default (`dataclasses.MISSING`: required).
        help: str, what the setting does (its `--help` line, without the default).
        section: one of `SECTIONS`.
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
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {SECTIONS}; got {section!r}")
    metadata = {
        "help": help,
        "section": section,
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


@dataclasses.dataclass
class DistillConfig:
    """Every setting of a distillation run, one field each.

    Each field documents itself (`setting`: help, choices, default, section):
    `settings()` lists the fields, `udd-keras distill` builds its options from
    them and `settings_table()` renders the settings table of
    docs/distillation.md. Fields left None are filled by `resolve()` from the
    method and the dataset (the module docstring's table).

    Example:
    >>> config = DistillConfig("digits", ipc=1).resolve()
    >>> config.policy, config.metric
    ('uniform', 'l1')
    """

    dataset: str = setting(
        dataclasses.MISSING,
        "A source name understood by `udd_keras.data.load_dataset` (see "
        "`udd-keras datasets`), an .npz file or an image folder.",
        "data",
        flag="DATASET",
        default_text="required",
    )
    ipc: int = setting(1, "Synthetic images per class.", "data", flag="--ipc")
    method: str = setting(
        "udd",
        "udd, idc (factor-2 tiles, no CFC) or dc.",
        "method and formation",
        choices=METHODS,
        flag="--method",
    )
    policy: str | None = setting(
        None,
        "Region scoring policy.",
        "method and formation",
        choices=(*POLICIES, "none"),
        flag="--policy",
        default_text=f"jitter for {', '.join(_MINED)}; "
        + ", ".join(f"{get_formation(n).fixed_policy} for {n}" for n in _UNMINED),
    )
    formation: str | None = setting(
        None,
        "Which boxes of each image are trained on: the whole image, IDC's "
        "tiles, or either plus P mined regions (see docs/distillation.md).",
        "method and formation",
        choices=FORMATIONS,
        flag="--formation",
        default_text=by_method("formation"),
    )
    decode: str | None = setting(
        None,
        "What a stored image decodes to for evaluation: every box last "
        "trained on, or the fixed part only (the image or its tiles).",
        "method and formation",
        choices=DECODES,
        flag="--decode",
        default_text=by_method("decode"),
    )
    num_regions: int = setting(
        12,
        "Candidate corner windows N per mined area.",
        "method and formation",
        choices=NUM_REGIONS_ALLOWED,
        flag="--regions",
    )
    num_selected: int | None = setting(
        None,
        "Mined regions trained on, P.",
        "method and formation",
        flag="--select",
        default_text=", ".join(
            f"{get_formation(n).default_selected} for {n}" for n in _MINED
        ),
        minimum=1,
    )
    factor: int = setting(
        2, "IDC's tiles per side.", "method and formation", flag="--factor", minimum=1
    )
    include_original: bool | None = setting(
        None,
        "Whether the whole image is trained on; the formation decides it, and "
        "an explicit value must agree with it.",
        "method and formation",
        default_text="the formation's",
    )
    score_normalization: str | None = setting(
        None,
        "size: compare each window's score with the windows of its own size "
        "(removes the bias toward large windows).",
        "method and formation",
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
        "method and formation",
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
        "method and formation",
        choices=REGION_PERIODS,
        flag="--region-period",
    )
    # The loss is the weighted mean over S_train; the CFC embedding mean is not
    # weighted.
    region_weight: float = setting(
        1.0,
        "What a mined region counts in the synthetic loss, against 1 for the "
        "image or a tile.",
        "method and formation",
        flag="--region-weight",
        minimum=0,
    )
    mine_from: str | None = setting(
        None,
        "Which end of the scoring policy's ranking is mined: the lowest scores "
        "(the paper's underutilized regions) or the highest. Given with --method "
        "udd alone, it selects tiles+regions.",
        "method and formation",
        choices=MINE_FROM,
        flag="--mine-from",
        default_text=MINE_FROM[0],
    )
    jitters: int = setting(
        8, "Jittered copies M.", "method and formation", flag="--jitters", minimum=1
    )
    jitter_function: str = setting(
        "gaussian",
        "Jitter function.",
        "method and formation",
        choices=JITTER_FUNCTIONS,
        flag="--jitter-fn",
    )
    jitter_amount: float = setting(
        1.0,
        "Jitter strength (normalised units).",
        "method and formation",
        flag="--jitter-amount",
    )
    # Configs written before it was a setting of its own read `response_layer`.
    score_block: int = setting(
        -1,
        "ConvNet block whose feature map the scoring policy reads, indexed "
        "from 0 (the first block's map, 32x32 for 32x32 images) or from the end "
        "(-1: the last block's, 8x8 at depth 3); -depth..depth-1.",
        "method and formation",
        flag="--score-block",
    )
    cfc_weight: float | None = setting(
        None,
        "CFC weight; with --cfc-scale gradient, CFC's pixel gradient as a "
        "multiple of the matching gradient's norm.",
        "method and formation",
        flag="--cfc-weight",
        default_text=by_method("cfc_weight"),
    )
    cfc_scale: str | None = setting(
        None,
        "loss: L = matching + w x CFC (the paper); gradient: CFC's pixel gradient "
        "is w times the matching gradient's norm, whatever the metric.",
        "method and formation",
        choices=CFC_SCALES,
        flag="--cfc-scale",
        default_text=by_method("cfc_scale"),
    )
    tau: float = setting(0.7, "CFC temperature.", "method and formation", flag="--tau")
    alpha: float = setting(
        0.5, "CFC moving-average weight.", "method and formation", flag="--alpha"
    )
    metric: str | None = setting(
        None,
        "Gradient distance.",
        "method and formation",
        choices=METRICS,
        flag="--metric",
        default_text=f"l1 for {_DIGIT_LIKE}, mse otherwise",
    )
    matched: str | None = setting(
        None,
        "Matched parameters.",
        "method and formation",
        choices=MATCHED_PARAMETERS,
        flag="--match",
        default_text=by_method("matched"),
    )
    iterations: int = setting(
        2000, "Outer iterations.", "schedule", flag="--iterations", minimum=1
    )
    inner_steps: int = setting(
        100,
        "Image updates per outer iteration.",
        "schedule",
        flag="--inner-steps",
        minimum=1,
    )
    real_batch: int = setting(
        64,
        "Real images per class per step.",
        "data",
        flag="--real-batch",
        minimum=1,
    )
    max_synthetic_batch: int = setting(
        128,
        "At most this many synthetic training images per class per step (a "
        "random subsample beyond).",
        "data",
    )
    # The network's trajectory does not change with K, so a recorded trajectory
    # replays for any K.
    image_updates: int = setting(
        1,
        "Image updates per inner step, against one computation of the real "
        "gradients (the real side is most of a step's cost on a CPU).",
        "schedule",
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
        "schedule",
        flag="--network-pool",
        default_text="every outer iteration its own network",
        minimum=1,
    )
    # The matching loss averages over a class's synthetic images, so each
    # image's gradient shrinks as IPC grows: hence IDC's scaling rule.
    lr_img: float | None = setting(
        None,
        "Image learning rate, [0, 1]-pixel units, at IPC 10 and "
        f"{REFERENCE_SIDE}x{REFERENCE_SIDE} px ({MNIST_REFERENCE_SIDE}x"
        f"{MNIST_REFERENCE_SIDE} for mnist).",
        "image optimizer",
        flag="--lr-img",
        default_text=f"{DIGIT_LIKE_LR_IMG:g} for {_DIGIT_LIKE}, {OTHER_LR_IMG:g} "
        "otherwise",
    )
    lr_scaling: str = setting(
        "idc",
        "idc: scale --lr-img by ipc/10 x the image area over the reference "
        "area above (IDC's rule); none: use it as is.",
        "image optimizer",
        choices=LR_SCALINGS,
        flag="--lr-scaling",
    )
    momentum_img: float = setting(0.5, "Momentum of the image SGD.", "image optimizer")
    image_optimizer: str = setting(
        "sgd",
        "Optimizer of the synthetic images; with adam, --lr-img is the step of "
        "a [0, 1] pixel.",
        "image optimizer",
        choices=IMAGE_OPTIMIZERS,
        flag="--image-optimizer",
    )
    lr_decay_at: tuple = setting(
        (0.6, 0.8, 0.9),
        "Fractions of the iterations (of the time budget, when given) at which "
        "the image learning rate is multiplied by lr_decay_factor (the paper: "
        "1200, 1600, 1800 of 2000).",
        "schedule",
    )
    lr_decay_factor: float = setting(
        0.5, "What each decay multiplies the image learning rate by.", "schedule"
    )
    net_data: str | None = setting(
        None,
        "What the network is trained on between inner steps.",
        "network",
        choices=("real", "synthetic"),
        default_text=by_method("net_data"),
    )
    net_images: int | None = setting(
        None,
        "Real images per network update.",
        "network",
        flag="--net-images",
        default_text=f"{CIFAR_NET_IMAGES} for CIFAR (cifar10, cifar100), "
        f"{OTHER_NET_IMAGES} otherwise",
        minimum=1,
    )
    net_batch: int = setting(64, "Batch size of the network updates.", "network")
    net_lr: float = setting(0.01, "Learning rate of the network's SGD.", "network")
    net_momentum: float = setting(0.9, "Momentum of the network's SGD.", "network")
    net_weight_decay: float = setting(
        5e-4, "Weight decay of the network's SGD.", "network"
    )
    net_cutmix: float = setting(
        0.5, "CutMix probability in the network updates.", "network"
    )
    matching_augmentation: str = setting(
        "color_crop_cutout",
        "DSA strategy of the siamese augmentation of the matched batches.",
        "method and formation",
    )
    net_augmentation: str | None = setting(
        None,
        "DSA strategy of the network updates.",
        "network",
        default_text="color_crop, IDC's matching strategy without cutout, as "
        "CutMix is used",
    )
    width: int = setting(128, "ConvNet width.", "network", flag="--width", minimum=1)
    depth: int = setting(3, "ConvNet depth.", "network", flag="--depth", minimum=1)
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
        "network",
        choices=PRECISIONS,
        flag="--precision",
    )
    init: str | None = setting(
        None,
        "Initial images.",
        "data",
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
        "data",
        choices=SELECTIONS,
        flag="--init-selection",
    )
    clip: bool = setting(
        True, "Keep the pixels inside the valid normalised range.", "image optimizer"
    )
    seed: int = setting(0, "Random seed.", "run control", flag="--seed")
    checkpoint_every: int = setting(
        50,
        "Inner steps between checkpoints.",
        "run control",
        flag="--checkpoint-every",
        minimum=1,
    )
    log_every: int = setting(
        10,
        "Inner steps between metric lines.",
        "run control",
        flag="--log-every",
        minimum=1,
    )
    # See `udd_keras.distillation.time_budget`.
    time_budget_minutes: float | None = setting(
        None,
        "Stop after MINUTES of distillation (wall time, resumes included), "
        "with the set exported and a checkpoint; the image learning rate decays "
        "at 60/80/90% of the time, and --iterations x --inner-steps is only an "
        "upper bound. --resume keeps the run's budget unless given.",
        "schedule",
        flag="--time-budget",
        default_text="none, the steps decide",
        above=0,
        metavar="MINUTES",
    )

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
        values = dataclasses.asdict(self)
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
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """The config of `values` (e.g. a run's `config.json`).

        Configs written by earlier versions read as those runs ran: without
        `precision`, in float32; their `response_layer` is `score_block`.

        Args:
            values: dict of `DistillConfig` fields.

        Returns:
            A `DistillConfig` (not resolved).
        """
        values = dict(values)
        if "response_layer" in values:
            # The name of `score_block` before it was a setting of its own.
            legacy = values.pop("response_layer")
            values.setdefault("score_block", legacy)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UddError(f"unknown distillation settings: {', '.join(unknown)}")
        # Runs written before `precision="auto"` existed ran in float32.
        values = {"precision": LEGACY_PRECISION, **values}
        if "lr_decay_at" in values:
            values["lr_decay_at"] = tuple(values["lr_decay_at"])
        return cls(**values)


def settings(section=None):
    """The `DistillConfig` fields, in order; those of `section` when given.

    Each field's metadata holds its `help`, `section`, `choices`, `flag` (the
    option of `udd-keras distill`, or None), `default_text`, `minimum`, `above`
    and `metavar` (see `setting`).
    """
    return tuple(
        field
        for field in dataclasses.fields(DistillConfig)
        if section in (None, field.metadata["section"])
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
