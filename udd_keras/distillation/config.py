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


@dataclasses.dataclass
class DistillConfig:
    """Every setting of a distillation run.

    Args:
        dataset: str, a source name understood by `udd_keras.data.load_dataset`.
        ipc: int, synthetic images per class.
        method: `"udd"`, `"idc"` or `"dc"`; sets the defaults of `None` fields.
        policy: region scoring policy, one of `POLICIES` or `"none"`.
        formation: which boxes of a stored image are trained on, one of
            `FORMATIONS` (`udd_keras.regions.formations`): `original`,
            `tiles`, `original+regions`, `tiles+regions`, `regions-in-tiles`
            (None: the method's; a `uniform` policy implies `tiles`, `none`
            implies `original`).
        decode: what a stored image decodes to for evaluation: `"trained"`
            (every box last trained on) or `"fixed"` (the fixed part only: the
            whole image, or the tiles).
        num_regions: int, N corner windows per mined area (4, 8, 12).
        num_selected: int, P mined regions trained on per image (None: 8 for
            `original+regions`, 4 for the tile formations).
        factor: int, IDC's tiles per side.
        include_original: bool, derived from the formation (train on the
            whole image); an explicit value must agree with it.
        score_normalization: `"none"` or `"size"`: divide each region's score
            by the mean score of the windows of its size on that image, so
            that windows of different areas (which average different numbers
            of map cells) compete on one scale.
        jitters: int, M jittered copies for the jitter policy.
        jitter_function: `"gaussian"`, `"uniform"` or `"salt_and_pepper"`.
        jitter_amount: float, jitter strength in normalised pixel units.
        score_block: int, the ConvNet block whose feature map (after its
            ReLU, before pooling) the scoring policies read, indexed as a
            Python list: -1 (default) the last block (8 x 8 cells for 32 x 32
            images at depth 3), 0 the first (32 x 32), 1 the second (16 x 16);
            any of `-depth .. depth - 1`. The candidate windows are laid on
            that map's cells. (Configs written before it read
            `response_layer`.)
        crop_gradient: one of `CROP_GRADIENTS`: `"sum"` (bilinear resizing's
            own backward pass: a crop's gradient grows with its zoom),
            `"area"` (each crop's gradient scaled by its share of the image
            area, so regions of every size pull on the pixels alike) or
            `"stop"` (the mined regions' crops enter the loss but pass no
            gradient to the pixels; the whole image and the fixed boxes,
            IDC's tiles, do, the tiles scaled as under `"area"`); see
            `udd_keras.regions.formation.form_training_images`.
        region_period: how often the mined regions are chosen, one of
            `REGION_PERIODS`: `"step"` (default, the paper: at every image
            update), `"iteration"` (at the first update of every outer
            iteration, with the fresh network, and trained on for its inner
            steps) or `"run"` (at the run's first update, and kept to the
            end). Kept boxes are in the checkpoint, so a resumed run keeps
            them.
        region_weight: float >= 0, what one mined region counts in the
            synthetic images' cross-entropy, against 1 for the whole image and
            each tile (the loss is the weighted mean over S_train; 1 = every
            training image alike, as the paper; 0 = the regions are formed but
            not matched). The CFC embedding mean is not weighted.
        mine_from: which end of the policy's ranking is mined, one of
            `MINE_FROM`: `"lowest"` (None; the paper's underutilized regions:
            the P lowest scores) or `"highest"` (the P highest). Given with a
            method whose default formation mines nothing, it selects the mined
            counterpart, as a scoring policy does.
        cfc_weight: float, weight of the CFC loss.
        cfc_scale: `"loss"`: `L = L_match + cfc_weight * L_cfc` (the paper);
            `"gradient"`: per class, the CFC pixel gradient is rescaled to
            `cfc_weight` times the norm of the matching pixel gradient, so its
            effect does not depend on the metric or the number of matched
            weights.
        tau: float, CFC temperature.
        alpha: float, CFC moving-average weight of the old average.
        metric: `"l1"`, `"mse"` or `"cos"`.
        matched: `"conv"`, `"conv+dense"` or `"all"`.
        iterations: int, outer iterations (network re-initialisations).
        inner_steps: int, image updates per outer iteration.
        real_batch: int, real images per class per matching step.
        max_synthetic_batch: int, at most this many synthetic training images per
            class per step (a random subsample beyond).
        image_updates: int, image updates per inner step, all against the
            step's one computation of the real gradients (1: the paper's). The
            real side (real gradients and network update) is most of a step's
            cost on a CPU, so K updates cost far less than K steps; the
            network's trajectory does not change, so a recorded trajectory
            replays for any K.
        network_pool: int or None, how many outer iterations' networks the
            run trains against (None: every outer iteration has its own, the
            paper's). Outer iteration i replays iteration `i % network_pool`'s
            network, real batches and augmentation, as MTT reuses a pool of
            expert trajectories; only the pool's real side is computed, once,
            and kept in a trajectory cache (the run's `trajectory/` folder, or
            the `trajectory_dir` given), so every later outer iteration costs
            the synthetic half of a step. Needs a network trained on real data
            (`udd`, `idc`).
        lr_img: float, image learning rate for [0, 1] pixels at the reference
            setting, IPC 10 and 32 x 32 images (None: 1e-4 for digit-like sets
            with `l1`, 5e-3 otherwise).
        lr_scaling: `"idc"` scales `lr_img` by `ipc / 10 * (H * W) / 32**2`
            (28**2 for mnist), IDC's rule: the matching loss averages over a
            class's synthetic images, so each image's gradient shrinks as IPC
            grows; `"none"` uses `lr_img` as is.
        momentum_img: float, image SGD momentum.
        image_optimizer: `"sgd"` (paper, IDC) or `"adam"`: with Adam, `lr_img`
            is the step of a pixel in [0, 1] units (about), and `lr_scaling`
            does not apply.
        lr_decay_at: fractions of `iterations` (of `time_budget_minutes` when
            given) at which the image lr is multiplied by `lr_decay_factor`
            (paper: 1200, 1600, 1800 of 2000).
        lr_decay_factor: float.
        net_data: `"real"` or `"synthetic"`, what the network trains on.
        net_images: int, images per network update (None: 500, 2000 for CIFAR).
        net_batch: int, network batch size.
        net_lr, net_momentum, net_weight_decay: network SGD settings.
        net_cutmix: float, CutMix probability in network updates.
        matching_augmentation: DSA strategy of the siamese augmentation.
        net_augmentation: DSA strategy of the network updates (None:
            `color_crop`, IDC's matching strategy without cutout, as CutMix
            is used).
        width, depth: ConvNet size.
        precision: `"auto"`, `"float32"` (exact) or `"mixed_bfloat16"`: the
            distillation network's convolutions and pooling run in bfloat16
            (instance norm, losses, gradients of the pixels and every variable
            stay float32), with results that differ from float32 by bfloat16
            rounding. `"auto"` resolves to `mixed_bfloat16` where bfloat16 is
            native (a GPU, or a CPU with AVX512_BF16 or AMX), else `float32`
            (`udd_keras.precision`); the resolved value is what `resolve()`
            returns and what a run records.
        init: `"real"` (random real images), `"mosaic"` (IDC: factor**2 real
            images downsampled into the tiles) or `"noise"`.
        init_selection: `"random"` (paper) or `"kmeans"`: which real images
            `init` starts from (the ones nearest k-means centres of their class).
        clip: bool, keep pixels inside the valid normalised range.
        seed: int.
        checkpoint_every: int, inner steps between checkpoints.
        log_every: int, inner steps between metric lines.
        time_budget_minutes: float, or None: stop the run once this much
            wall time of its loop is used (resumes included), and decay the
            image learning rate at the fractions `lr_decay_at` of this time
            instead of the iterations; `iterations * inner_steps` is then an
            upper bound (see `udd_keras.distillation.time_budget`).

    Example:
    >>> config = DistillConfig("digits", ipc=1).resolve()
    >>> config.policy, config.metric
    ('jitter', 'l1')
    """

    dataset: str
    ipc: int = 1
    method: str = "udd"
    policy: str | None = None
    formation: str | None = None
    decode: str | None = None
    num_regions: int = 12
    num_selected: int | None = None
    factor: int = 2
    include_original: bool | None = None
    score_normalization: str | None = None
    crop_gradient: str | None = None
    region_period: str = REGION_PERIODS[0]
    region_weight: float = 1.0
    mine_from: str | None = None
    jitters: int = 8
    jitter_function: str = "gaussian"
    jitter_amount: float = 1.0
    score_block: int = -1
    cfc_weight: float | None = None
    cfc_scale: str | None = None
    tau: float = 0.7
    alpha: float = 0.5
    metric: str | None = None
    matched: str | None = None
    iterations: int = 2000
    inner_steps: int = 100
    real_batch: int = 64
    max_synthetic_batch: int = 128
    image_updates: int = 1
    network_pool: int | None = None
    lr_img: float | None = None
    lr_scaling: str = "idc"
    momentum_img: float = 0.5
    image_optimizer: str = "sgd"
    lr_decay_at: tuple = (0.6, 0.8, 0.9)
    lr_decay_factor: float = 0.5
    net_data: str | None = None
    net_images: int | None = None
    net_batch: int = 64
    net_lr: float = 0.01
    net_momentum: float = 0.9
    net_weight_decay: float = 5e-4
    net_cutmix: float = 0.5
    matching_augmentation: str = "color_crop_cutout"
    net_augmentation: str | None = None
    width: int = 128
    depth: int = 3
    precision: str = DEFAULT_PRECISION
    init: str | None = None
    init_selection: str = "random"
    clip: bool = True
    seed: int = 0
    checkpoint_every: int = 50
    log_every: int = 10
    time_budget_minutes: float | None = None

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
