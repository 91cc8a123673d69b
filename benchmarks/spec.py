"""What an experiment is: a question, its variants, seeds, split, budget, measures.

An experiment is a TOML file `benchmarks/experiments/<name>.toml` read into a
frozen `Experiment` (its header comment: the question and the command that
reproduces its committed results; its `[results]` table: those files).
`kind="accuracy"` experiments run through `benchmarks/accuracy.py` (distil ->
evaluate -> rows); `kind="timing"` ones call their `measure` function (a dotted
name `"module:function"` or a callable, `measure(args) -> dict` of named values)
once per variant through `benchmarks/timing.py`. Imports nothing heavy.
"""

import dataclasses
import importlib
import pathlib

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

EXPERIMENTS = pathlib.Path(__file__).resolve().parent / "experiments"

KINDS = ("accuracy", "timing")
SOURCES = ("distill", "init", "coreset", "import")
# What an accuracy experiment can report besides accuracy (mean ± std, n):
# `paired:<variant>` (the difference per distillation seed and evaluation
# repeat to that variant's row; against a `coreset` variant it is the IOR),
# `mue` (one reference range over every row's last set), `agreement` (share of
# mined regions two scoring draws agree on, against random choice), `cfc_ratio`
# (CFC / matching pixel gradient), `steps` and `seconds` (of distillation).
MEASURES = ("accuracy", "mue", "agreement", "cfc_ratio", "steps", "seconds")


@dataclasses.dataclass(frozen=True)
class Variant:
    """One row (or, for timing, one call of the measure).

    Attributes:
        name: the row's name.
        overrides: `DistillConfig` fields (accuracy) or measure parameters
            (timing) on top of the experiment's `shared` ones.
        source: `distill` (the default), `init` (the variant's starting images,
            no step taken), `coreset` (`select_coreset`, method from
            `overrides["method"]`, default random) or `import` (the set of the
            variant named in `of`, written as an NCHW `.npz` and brought back
            with `udd_keras.importing.import_set`).
        decodes: evaluate the distilled set under each of these decodes.
        of: for `import`, the variant whose set is imported.
    """

    name: str
    overrides: dict = dataclasses.field(default_factory=dict)
    source: str = "distill"
    decodes: tuple = ()
    of: str | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"variant {self.name}: source must be one of {SOURCES}")


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long each distillation runs: steps, minutes, or reference steps.

    Attributes:
        steps: inner steps in all, in outer iterations of `inner_steps`
            (a variant's own `iterations`/`inner_steps` win).
        inner_steps: inner steps per outer iteration (network re-init).
        minutes: a time budget (`DistillConfig.time_budget_minutes`).
        reference_steps: a time budget of this many inner steps of
            `benchmarks/reference_pytorch.py`, timed on the same machine
            right before the run (in its own PyTorch environment).
        snapshots: fractions of the budget at which the images are saved and
            evaluated (the final set always is): an accuracy-against-time curve.
        clock: `wall`, or `cpu` (process CPU seconds; with `threads=1` the
            time on one core, steady on a shared machine).
        threads: TensorFlow intra-op threads, or None for TensorFlow's default.
    """

    steps: int | None = 100
    inner_steps: int = 50
    minutes: float | None = None
    reference_steps: int | None = None
    snapshots: tuple = ()
    clock: str = "wall"
    threads: int | None = None


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A question and how it is measured.

    Attributes:
        name: the experiment's name, its results folder `results/<name>/`.
        question: what it answers, one sentence.
        kind: `accuracy` or `timing`.
        variants: tuple of `Variant`.
        command: the command that reproduces its results (the index shows it).
        dataset, ipc, split: what is distilled and where it is evaluated
            (`validation`: 10% of the training set held out; `test`).
        seeds: distillation seeds (and, offset, evaluation seeds).
        preset: a `DistillConfig` preset under `shared`, or None.
        shared: `DistillConfig` fields (or measure parameters) of every variant.
        budget: a `Budget`.
        epochs, repeats, eval_width: the evaluation (ConvNet-3).
        measures: names from `MEASURES` or `paired:<variant>`.
        measure: timing: `"module:function"` or a callable, `fn(args) -> dict`.
        results: the committed result files in the folder and what made them.
    """

    name: str
    question: str
    kind: str
    variants: tuple
    command: str = ""
    dataset: str = "fashion_mnist"
    ipc: int = 1
    split: str = "validation"
    seeds: tuple = (0,)
    preset: str | None = None
    shared: dict = dataclasses.field(default_factory=dict)
    budget: Budget = Budget()
    epochs: int = 300
    repeats: int = 2
    eval_width: int = 128
    measures: tuple = ("accuracy",)
    measure: object = None
    results: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}")
        if self.kind == "timing" and self.measure is None:
            raise ValueError(f"{self.name}: a timing experiment needs `measure`")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: variant names repeat: {names}")
        for measure in self.measures:
            base = measure.removeprefix("paired:")
            if measure.startswith("paired:") and base not in names:
                raise ValueError(f"{self.name}: no variant {base!r} to pair with")
            if not measure.startswith("paired:") and measure not in MEASURES:
                raise ValueError(f"{self.name}: unknown measure {measure!r}")

    def baseline(self):
        """The variant every row is paired with, or None."""
        paired = [m for m in self.measures if m.startswith("paired:")]
        return paired[0].removeprefix("paired:") if paired else None


def resolve(name):
    """The object a dotted name `package.module:attribute` (or `.attribute`) names."""
    if callable(name):
        return name
    module, _, attribute = name.rpartition(":") if ":" in name else name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def _nulls(value):
    """TOML has no null: the string `"null"` stands for None."""
    if isinstance(value, dict):
        return {key: _nulls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nulls(item) for item in value]
    return None if value == "null" else value


def load(path):
    """The `Experiment` of a TOML spec; its name is the file's stem."""
    data = _nulls(tomllib.loads(pathlib.Path(path).read_text()))
    data["variants"] = tuple(
        Variant(**{**v, "decodes": tuple(v.get("decodes", ()))})
        for v in data["variants"]
    )
    budget = data.get("budget", {})
    data["budget"] = Budget(
        **{**budget, "snapshots": tuple(budget.get("snapshots", ()))}
    )
    for key in ("seeds", "measures"):
        if key in data:
            data[key] = tuple(data[key])
    return Experiment(name=pathlib.Path(path).stem, **data)


def experiments(folder=EXPERIMENTS):
    """`{name: Experiment}` of every `*.toml` spec in `benchmarks/experiments/`."""
    return {
        path.stem: load(path) for path in sorted(pathlib.Path(folder).glob("*.toml"))
    }
