"""Making a shipped set: distil, evaluate, write the set and its index entry.

One command makes (or remakes) a shipped set, and that command is what its
index entry records:

```bash
python -m udd_keras.sets.make digits-ipc1-udd --preset quick
python -m udd_keras.sets.make fashion_mnist-ipc10-idc --preset cpu-hour
python -m udd_keras.sets.make fashion_mnist-ipc1-udd --preset cpu-hour \
    --set iterations=2 --set inner_steps=50 --run-dir runs/fmnist-ipc1
```

The name says what is distilled, `<dataset>-ipc<N>-<method>`; the method
named wins over the preset's. The set is evaluated with the protocol
(`udd_keras.evaluation.evaluate`, ConvNet-3, 300 epochs, test split, 5
repeats) and again under a short recipe (100 epochs, width 32, 3 repeats), the
check a test re-runs; both go into the set's metadata (`extra["accuracy"]`,
`extra["check"]`) and its entry in `udd_keras/sets/data/index.json`
(`udd_keras.sets.index`).

`--run-dir DIR` distils in `DIR` instead of a temporary folder: an
interrupted make continues there when run again, and a finished run already
there (a benchmark's, say) is taken as it is, provided its settings are
exactly the ones the command resolves to, so the recorded command still
remakes the set from nothing. A set whose decoded training images and labels
are byte-identical to a shipped one's (`udd`'s default and `idc`: the same
objective) trains the same networks under the same protocol and seeds, so it
takes that set's accuracy rather than measuring it again, and its entry names
the set measured (`evaluation_of`).
"""

import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import platform
import re
import shlex
import sys
import tempfile
import time

from udd_keras.errors import UddError
from udd_keras.files import atomic_write_json
from udd_keras.sets.index import (
    DATA_DIR,
    INDEX_FILE,
    INDEX_FORMAT,
    ShippedSet,
    read_index,
)
from udd_keras.training.recipe import TrainingRecipe

NAME_PATTERN = re.compile(
    r"^(?P<dataset>[a-z][a-z0-9_]*)-ipc(?P<ipc>[1-9][0-9]*)-(?P<method>[a-z]+)$"
)
# What a re-run of one check seed may differ from the check's mean by, beyond
# 3 standard deviations of its runs: other CPUs and TensorFlow builds round
# differently, and a short training amplifies that.
CHECK_MARGIN = 0.05
MODULE_COMMAND = "python -m udd_keras.sets.make"


@dataclasses.dataclass(frozen=True)
class ShippingProtocol:
    """How a shipped set's accuracy is measured (ConvNet-3, the protocol's recipe).

    Attributes:
        epochs: int, training epochs of the reported accuracy (300).
        width: int, ConvNet-3 width of the reported accuracy (128).
        repeats: int >= 1, trainings of the reported accuracy (seeds
            `seed, seed + 1, ...`).
        check_epochs: int, epochs of the short check a test re-runs (100).
        check_width: int, ConvNet-3 width of the check (32).
        check_repeats: int >= 1, trainings of the check.
        seed: int, the first evaluation seed.

    Example:
    >>> ShippingProtocol().check_recipe.epochs
    100
    """

    epochs: int = 300
    width: int = 128
    repeats: int = 5
    check_epochs: int = 100
    check_width: int = 32
    check_repeats: int = 3
    seed: int = 0

    @property
    def recipe(self):
        """`TrainingRecipe` of the reported accuracy."""
        return TrainingRecipe(epochs=self.epochs, width=self.width)

    @property
    def check_recipe(self):
        """`TrainingRecipe` of the check: its final accuracy only, no curve."""
        return TrainingRecipe(
            epochs=self.check_epochs, width=self.check_width, curve="final"
        )


def parse_name(name):
    """`(dataset, ipc, method)` of a set name `<dataset>-ipc<N>-<method>`.

    Raises:
        UddError: a name of another form.

    Example:
    >>> parse_name("fashion_mnist-ipc10-idc")
    ('fashion_mnist', 10, 'idc')
    """
    match = NAME_PATTERN.match(str(name))
    if not match:
        raise UddError(
            f"A shipped set's name is <dataset>-ipc<N>-<method>, e.g. "
            f"'fashion_mnist-ipc1-udd'; got {name!r}."
        )
    return match["dataset"], int(match["ipc"]), match["method"]


def check_settings(settings, method):
    """`settings` as `DistillConfig` fields; the name's method must agree.

    Raises:
        UddError: a field `DistillConfig` does not have (or `dataset`/`ipc`,
            which the name gives), or a `method` other than the name's.
    """
    from udd_keras.distillation.config import settings as settings_fields

    settings = dict(settings or {})
    allowed = sorted(
        f.name for f in settings_fields() if f.name not in ("dataset", "ipc")
    )
    for key in settings:
        if key not in allowed:
            raise UddError(
                f"Unknown distillation setting {key!r}; allowed: {', '.join(allowed)}."
            )
    if settings.get("method", method) != method:
        raise UddError(
            f"Setting method={settings['method']!r} contradicts the name's method "
            f"{method!r}."
        )
    return settings


def command_line(name, preset=None, settings=None, protocol=ShippingProtocol()):
    """The `python -m udd_keras.sets.make ...` command that makes a set.

    Only what differs from the defaults is spelled out.

    Example:
    >>> command_line("digits-ipc1-udd", "quick", {"seed": 1})
    'python -m udd_keras.sets.make digits-ipc1-udd --preset quick --set seed=1'
    """
    default = ShippingProtocol()
    words = [name]
    if preset is not None:
        words += ["--preset", preset]
    for key, value in sorted((settings or {}).items()):
        words += [
            "--set",
            f"{key}={json.dumps(value) if not isinstance(value, str) else value}",
        ]
    for field in dataclasses.fields(ShippingProtocol):
        value = getattr(protocol, field.name)
        if value != getattr(default, field.name):
            words += ["--" + field.name.replace("_", "-"), str(value)]
    return f"{MODULE_COMMAND} {shlex.join(words)}"


def _cpu_model():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _accuracy(result, split="test"):
    """The index's accuracy dict of an evaluation's `ModelResult`."""
    fingerprint = getattr(result, "protocol_fingerprint", None)
    return {
        "mean": result.accuracy_mean,
        "std": result.accuracy_std,
        "n": len(result.runs),
        "runs": list(result.accuracies),
        "split": split,
        "epochs": result.epochs,
        "model": result.model,
        "seeds": [run.seed for run in result.runs],
        "protocol_fingerprint": fingerprint,
    }


# Settings that decide nothing about a set: how often a run logs and saves.
UNCOMPARED_SETTINGS = ("checkpoint_every", "log_every")


def check_run_settings(run_config, expected):
    """Raises unless a finished run's settings are the command's.

    Args:
        run_config: the run's resolved `DistillConfig`.
        expected: the resolved `DistillConfig` the name, preset and settings
            make.

    Raises:
        UddError: naming the first settings that differ, with both values.
    """
    ran, wanted = run_config.to_dict(), expected.to_dict()
    differing = [
        key
        for key in wanted
        if key not in UNCOMPARED_SETTINGS and ran.get(key) != wanted[key]
    ]
    if differing:
        shown = ", ".join(
            f"{key}={ran.get(key)!r} (the command makes {wanted[key]!r})"
            for key in differing[:3]
        )
        raise UddError(
            f"The run in --run-dir was made with other settings: {shown}; give "
            "those settings with --set, or another --run-dir."
        )


def _evaluated_twin(index, digest, protocol):
    """`(name, entry)` of a shipped set that trains on the same data under
    `protocol`, or None."""
    wanted = dataclasses.asdict(protocol)
    for name, entry in index["sets"].items():
        if entry.get("training_digest") == digest and entry.get("protocol") == wanted:
            return name, entry
    return None


def _check_range(check):
    spread = 3 * check["std"] + CHECK_MARGIN
    return [max(0.0, check["mean"] - spread), min(1.0, check["mean"] + spread)]


def _sha256(file):
    return hashlib.sha256(pathlib.Path(file).read_bytes()).hexdigest()


def make_set(
    name,
    preset=None,
    settings=None,
    protocol=None,
    folder=DATA_DIR,
    data_dir=None,
    on_progress=None,
    run_dir=None,
    trajectory_dir=None,
):
    """Distils, evaluates and writes a shipped set and its index entry.

    Args:
        name: str, `<dataset>-ipc<N>-<method>`, e.g. `"digits-ipc1-udd"`.
        preset: str or None, a distillation preset (`"quick"`, `"cpu-hour"`,
            `"paper"`); None is the paper's settings.
        settings: dict of `DistillConfig` fields over the preset's, or None.
        protocol: `ShippingProtocol`, or None for the defaults.
        folder: where the set file and `index.json` go (default: the
            package's `udd_keras/sets/data`).
        data_dir: optional folder passed to `load_dataset`.
        on_progress: optional `fn(text)` told what is being done.
        run_dir: folder the distillation runs in and is kept in, or None (a
            temporary one). An unfinished run of the same settings there
            continues; a finished one is taken as it is when its settings are
            exactly the command's (`check_run_settings`).
        trajectory_dir: optional trajectory cache folder
            (`udd_keras.distillation.trajectory`): a run replays the real-data
            trajectory stored there for its seed and settings, and ends with
            the images it would compute inline.

    Returns:
        `ShippedSet` of the written set.

    Raises:
        UddError: a bad name or setting (before anything runs), a run in
            `run_dir` of other settings, an interrupted distillation, or any
            error of the distillation or the evaluation.

    Example:
    >>> make_set("digits-ipc1-udd", preset="quick")  # doctest: +SKIP
    ShippedSet(name='digits-ipc1-udd', ...)
    """
    from udd_keras import __version__
    from udd_keras.data import load_dataset
    from udd_keras.evaluation import evaluate
    from udd_keras.evaluation.fingerprint import training_digest
    from udd_keras.evaluation.protocol import load_evaluation_set
    from udd_keras.tfrecords import read_synthetic_set, write_synthetic_set

    dataset, ipc, method = parse_name(name)
    settings = check_settings(settings, method)
    protocol = protocol or ShippingProtocol()
    tell = on_progress or (lambda text: None)
    folder = pathlib.Path(folder)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"udd-keras-{name}-") as workdir:
        distilled = _distilled_set(
            name,
            preset,
            {**settings, "method": method},
            pathlib.Path(run_dir or pathlib.Path(workdir) / "run"),
            kept=run_dir is not None,
            data_dir=data_dir,
            on_progress=on_progress,
            trajectory_dir=trajectory_dir,
        )
        distill_seconds = time.monotonic() - started
        synthetic = read_synthetic_set(distilled)
        digest = training_digest(
            *load_evaluation_set(distilled, load_dataset(dataset, data_dir=data_dir))
        )
        twin = _evaluated_twin(read_index(folder), digest, protocol)

        def measure(doing, recipe, repeats):
            """The accuracy dict (with the width) of `repeats` trainings."""
            tell(f"{doing}: {repeats} x {recipe.epochs} epochs")
            report = evaluate(
                distilled,
                recipe,
                repeats=repeats,
                seed=protocol.seed,
                data_dir=data_dir,
            )
            return {**_accuracy(report.results[0]), "width": recipe.width}

        if twin is None:
            accuracy = measure("evaluating", protocol.recipe, protocol.repeats)
            check = measure("checking", protocol.check_recipe, protocol.check_repeats)
            check["range"] = _check_range(check)
        else:
            tell(f"the same training data as {twin[0]}: its accuracy is this set's")
            accuracy, check = twin[1]["accuracy"], twin[1]["check"]
    meta = synthetic.metadata
    meta.extra = {**meta.extra, "accuracy": accuracy, "check": check}
    file = folder / f"{name}.tfrecord"
    write_synthetic_set(
        file,
        synthetic.images,
        synthetic.labels,
        meta,
        boxes=synthetic.boxes,
        soft_labels=synthetic.soft_labels,
    )
    import tensorflow as tf

    entry = {
        "file": file.name,
        "sha256": _sha256(file),
        "bytes": file.stat().st_size,
        "dataset": dataset,
        "ipc": ipc,
        "method": method,
        "num_classes": meta.num_classes,
        "accuracy": accuracy,
        "check": check,
        "training_digest": digest,
        "protocol": dataclasses.asdict(protocol),
        **({} if twin is None else {"evaluation_of": twin[0]}),
        "command": command_line(name, preset, settings, protocol),
        "distillation": {
            "preset": preset,
            "settings": settings,
            "formation": meta.extra.get("formation"),
            "decode": meta.extra.get("decode"),
        },
        "made": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            "udd_keras": __version__,
            "tensorflow": tf.__version__,
            "python": platform.python_version(),
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "seconds": round(time.monotonic() - started, 1),
            "distill_seconds": round(distill_seconds, 1),
        },
    }
    index = read_index(folder)
    index["format"] = INDEX_FORMAT
    index["sets"] = {**index["sets"], name: entry}
    index["sets"] = dict(sorted(index["sets"].items()))
    atomic_write_json(folder / INDEX_FILE, index)
    return ShippedSet.from_entry(name, entry, folder)


def _distilled_set(
    name, preset, settings, run_dir, kept, data_dir, on_progress, trajectory_dir=None
):
    """The synthetic-set file of the set's distillation, run (or resumed) in
    `run_dir`."""
    from udd_keras.distillation import DistillConfig, distill
    from udd_keras.distillation.checkpoints import DistillationInterrupted
    from udd_keras.distillation.presets import preset_settings

    dataset, ipc, _ = parse_name(name)
    if on_progress is not None:
        on_progress(f"distilling {dataset}, IPC {ipc}, {settings['method']}")
    resume = kept and (run_dir / "config.json").is_file()
    if resume:
        # Checked before any work: a run of other settings is neither taken
        # nor continued (a larger `iterations` would extend it).
        saved = DistillConfig.from_dict(
            json.loads((run_dir / "config.json").read_text())
        ).resolve()
        options = preset_settings(preset, **settings) if preset else settings
        expected = DistillConfig(dataset=dataset, ipc=ipc, **options).resolve(
            auto_precision=saved.precision
        )
        check_run_settings(saved, expected)
    try:
        distill(
            dataset,
            ipc=ipc,
            out_dir=run_dir,
            preset=preset,
            data_dir=data_dir,
            progress=on_progress is not None,
            resume=resume,
            trajectory_dir=trajectory_dir,
            **settings,
        )
    except DistillationInterrupted:
        again = (
            "run the same command again to continue"
            if kept
            else "nothing was kept; give --run-dir to make it resumable"
        )
        raise UddError(f"Making {name} was interrupted; {again}.") from None
    return run_dir / "synthetic.tfrecord"


def parse_setting(text):
    """`"KEY=VALUE"` -> `(key, value)`, the value read as JSON where it is one.

    Example:
    >>> parse_setting("lr_img=0.01"), parse_setting("formation=tiles")
    (('lr_img', 0.01), ('formation', 'tiles'))
    """
    key, separator, value = str(text).partition("=")
    if not separator or not key:
        raise UddError(f"--set takes KEY=VALUE (a distillation setting); got {text!r}.")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


# Help of the evaluation flags, one per `ShippingProtocol` field.
PROTOCOL_HELP = {
    "epochs": "Training epochs of the reported accuracy.",
    "width": "ConvNet-3 width of the reported accuracy.",
    "repeats": "Trainings of the reported accuracy.",
    "check_epochs": "Training epochs of the short check.",
    "check_width": "ConvNet-3 width of the short check.",
    "check_repeats": "Trainings of the short check.",
    "seed": "First evaluation seed.",
}


def _command():
    import click

    from udd_keras.distillation.presets import PRESETS

    default = ShippingProtocol()

    def protocol_options(command):
        for field in reversed(dataclasses.fields(ShippingProtocol)):
            command = click.option(
                "--" + field.name.replace("_", "-"),
                field.name,
                type=int,
                default=getattr(default, field.name),
                show_default=True,
                help=PROTOCOL_HELP[field.name],
            )(command)
        return command

    @click.command(context_settings={"help_option_names": ["-h", "--help"]})
    @click.argument("name")
    @click.option(
        "--preset",
        type=click.Choice(sorted(PRESETS)),
        default=None,
        help="Distillation preset.  [default: the paper's settings]",
    )
    @click.option(
        "--set",
        "settings",
        multiple=True,
        metavar="KEY=VALUE",
        help="A distillation setting (DistillConfig field); repeat for several.",
    )
    @protocol_options
    @click.option(
        "--out",
        type=click.Path(file_okay=False),
        default=str(DATA_DIR),
        show_default=True,
        help="Folder of the set files and index.json.",
    )
    @click.option("--data-dir", type=click.Path(file_okay=False), default=None)
    @click.option(
        "--run-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Distil in this folder and keep it: an interrupted make continues "
        "there, a finished run of exactly these settings is taken as it is.  "
        "[default: a temporary folder]",
    )
    @click.option(
        "--trajectory-cache",
        "trajectory_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Replay (or record) the real-data trajectory in this folder; the "
        "images are those of an inline run.",
    )
    def make(
        name, preset, settings, out, data_dir, run_dir, trajectory_dir, **protocol
    ):
        """Distil, evaluate and ship the set NAME (<dataset>-ipc<N>-<method>)."""
        from rich.console import Console

        console = Console(stderr=True)
        shipped = make_set(
            name,
            preset=preset,
            settings=dict(parse_setting(text) for text in settings),
            protocol=ShippingProtocol(**protocol),
            folder=out,
            data_dir=data_dir,
            on_progress=lambda text: console.print(text),
            run_dir=run_dir,
            trajectory_dir=trajectory_dir,
        )
        accuracy = shipped.accuracy
        mean, std = 100 * accuracy["mean"], 100 * accuracy["std"]
        click.echo(
            f"{shipped.name}: {mean:.2f} ± {std:.2f} % "
            f"(n {accuracy['n']}, {accuracy['epochs']} epochs, {accuracy['split']}); "
            f"wrote {shipped.path}"
        )

    return make


def main(argv=None):
    """`python -m udd_keras.sets.make NAME ...`; user mistakes are one line."""
    import click

    try:
        _command().main(args=argv, prog_name=MODULE_COMMAND, standalone_mode=False)
    except click.ClickException as error:
        click.echo(f"Error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except UddError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
