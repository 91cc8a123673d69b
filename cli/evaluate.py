"""`udd-keras evaluate`: train fresh networks on a set, report test accuracy."""

import pathlib

import click

from udd_keras.choices import CURVES
from udd_keras.cli.options import (
    SetArgument,
    choice_option,
    data_dir_option,
    output_options,
    recipe_option,
    strategy_options,
)
from udd_keras.sets.index import is_shipped
from udd_keras.training.recipe import DEFAULTS


def beside_source(source, suffix):
    """`source` with `suffix`, or in the current folder for a shipped set
    (the package's data folder is not the user's to write in)."""
    path = pathlib.Path(source).with_suffix(suffix)
    return pathlib.Path(path.name) if is_shipped(source) else path


def default_png_path(json_path, source, full):
    """Where the curve PNG goes when `--png` is not given.

    Next to the JSON (`report.json` -> `report.png`), else next to the source
    set (`set.tfrecord` -> `set.eval.png`; a shipped set's in the current
    folder); None for `--full` without `--json`.
    """
    if json_path:
        return pathlib.Path(json_path).with_suffix(".png")
    if full:
        return None
    return beside_source(source, ".eval.png")


def default_progress_path(json_path, source, full):
    """Where the finished runs are kept until all are done (a rerun skips them).

    Next to the JSON (`report.json` -> `report.progress.json`), else next to
    the source set (`set.tfrecord` -> `set.eval-progress.json`; a shipped
    set's in the current folder); None for `--full` without `--json`.
    """
    if json_path:
        return pathlib.Path(json_path).with_suffix(".progress.json")
    if full:
        return None
    return beside_source(source, ".eval-progress.json")


def percent(mean, std):
    """`mean ± std` of fractions, in percent (or points) with two decimals."""
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def results_table(report):
    """A rich table of mean +- std test accuracy (%) per model.

    With baselines, also the random coreset's accuracy, IOR and HLR (points)
    and LRS (DD-Ranking's label-robust score, 0-100), and a caption naming
    each full-data figure's source or why HLR and LRS are absent. The caption
    ends with each model's protocol fingerprint.
    """
    from rich.table import Table

    title = f"{report.dataset}, " + (
        f"IPC {report.ipc}" if report.ipc is not None else "full training set"
    )
    if report.settings.get("labels") == "soft":
        title += f", soft labels (T = {report.settings.get('temperature'):g})"
    columns = ["Model", "Accuracy (%)"]
    baselines = {b.model: b for b in report.baselines or ()}
    # With baselines the table must still fit 80 columns: the epochs go to the
    # title and HLR only gets a column when some model has a full-data figure.
    show_hlr = any(b.hlr is not None for b in baselines.values())
    if baselines:
        columns += ["Random coreset (%)", "IOR (pts)"]
        columns += ["HLR (pts)", "LRS"] if show_hlr else []
        columns += ["Runs", "Seconds"]
        epochs = sorted({result.epochs for result in report.results})
        title += ", " + "/".join(map(str, epochs)) + " epochs"
    else:
        columns += ["Runs", "Epochs", "Seconds"]
    table = Table(title=title)
    for name in columns:
        table.add_column(name, justify="left" if name == "Model" else "right")
    captions = []
    for result in report.results:
        row = [result.model, percent(result.accuracy_mean, result.accuracy_std)]
        seconds = result.seconds
        baseline = baselines.get(result.model)
        if baseline is not None:
            coreset = baseline.random_coreset
            hlr = lrs = "-"
            if baseline.hlr is not None:
                hlr = percent(baseline.hlr_mean, baseline.hlr_std)
                lrs = percent(baseline.lrs_mean, baseline.lrs_std)
                captions.append(
                    f"{result.model}: full data {100 * baseline.full_accuracy:.2f}%, "
                    f"{baseline.full_accuracy_source}"
                )
            else:
                captions.append(f"{result.model}: {baseline.note}")
            row += [
                percent(coreset.accuracy_mean, coreset.accuracy_std),
                percent(baseline.ior_mean, baseline.ior_std),
            ]
            row += [hlr, lrs] if show_hlr else []
            seconds += coreset.seconds
        epochs = [] if baselines else [str(result.epochs)]
        row += [str(len(result.runs)), *epochs, f"{seconds:.1f}"]
        table.add_row(*row)
    if baselines:
        legend = (
            "IOR = set - random coreset (same IPC, seeds and protocol); "
            "HLR = full data - set; "
        )
        if show_hlr:
            legend += (
                f"LRS = DD-Ranking's label-robust score (w = "
                f"{next(iter(baselines.values())).lrs_weight:g}); "
            )
        captions.insert(0, legend + "mean ± std over paired repeats")
    fingerprints = [
        f"{result.model}: {result.protocol_fingerprint}"
        for result in report.results
        if result.protocol_fingerprint is not None
    ]
    if fingerprints:
        captions.append("Protocol fingerprint: " + ", ".join(fingerprints))
    table.caption = "\n".join(captions) if captions else None
    return table


@click.command()
@click.argument("source", cls=SetArgument, dataset_flag="full")
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Model to train; repeat the flag for several.  "
    f"[default: {DEFAULTS['model']}]",
)
@recipe_option("epochs")
@click.option("--repeats", type=int, default=5, show_default=True)
@recipe_option("lr")
@recipe_option("batch_size")
@recipe_option(
    "augment", help="Differentiable augmentation (the dataset's DSA strategy)."
)
@recipe_option("cutmix_probability", "--cutmix", help="CutMix probability.")
@click.option(
    "--eval-every",
    type=int,
    default=None,
    help="Epochs between test-accuracy points.  [default: epochs // 10]",
)
@choice_option(
    "--curve",
    CURVES,
    DEFAULTS["curve"],
    help="Test images of the accuracy curve's points before the last: a fixed "
    "class-balanced 1,000 (subset), the whole test split (full), or none "
    "(final). The reported accuracy is always the whole split's.",
)
@recipe_option("width", help="ConvNet width.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the first repeat."
)
@output_options(
    "Write the report.",
    "Test accuracy against epoch.  [default: next to the JSON or SOURCE]",
)
@click.option(
    "--full", is_flag=True, help="SOURCE is a dataset name: train on all of it."
)
@click.option(
    "--soft-labels",
    is_flag=True,
    help="Train on the soft labels the set stores (soft cross-entropy).",
)
@click.option(
    "--temperature",
    type=float,
    default=None,
    help="Soft-label temperature T: targets p^(1/T), renormalised.  [default: 1]",
)
@click.option(
    "--baselines",
    is_flag=True,
    help="Also train on random coresets of the same IPC (same seeds and "
    "protocol); report IOR, HLR and LRS.",
)
@click.option(
    "--full-accuracy",
    type=float,
    default=None,
    metavar="PERCENT",
    help="Full-data accuracy for HLR.  [default: the paper's ConvNet-3 "
    "figure where it has one]",
)
@data_dir_option()
@click.option(
    "--logdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write TensorBoard scalars here.",
)
@strategy_options("Finished runs are kept; a rerun does the rest.")
def evaluate(
    source,
    models,
    repeats,
    eval_every,
    seed,
    json_path,
    png_path,
    full,
    soft_labels,
    temperature,
    baselines,
    full_accuracy,
    data_dir,
    logdir,
    strategy_name,
    worker_timeout,
    **recipe_settings,
):
    """Train fresh networks on the synthetic set SOURCE (a .tfrecord) and
    report top-1 test accuracy on the real test split, mean ± std over repeats.
    """
    from rich.console import Console

    from udd_keras.errors import UddError

    set_only = {
        "--soft-labels": soft_labels,
        "--temperature": temperature is not None,
        "--baselines": baselines,
        "--full-accuracy": full_accuracy is not None,
    }
    if full and any(set_only.values()):
        given = ", ".join(name for name, used in set_only.items() if used)
        raise UddError(f"{given} evaluate a synthetic set; not with --full.")

    from udd_keras.distribute import is_chief, make_strategy

    # First: multi-worker collectives must be set up before TensorFlow starts.
    strategy = make_strategy(strategy_name, worker_timeout=worker_timeout)

    from udd_keras.evaluation import EvaluationOptions
    from udd_keras.evaluation import evaluate as evaluate_set
    from udd_keras.evaluation.run import TENSORBOARD_SCALARS
    from udd_keras.progress import ProgressBar
    from udd_keras.training import TensorBoard, TrainingRecipe
    from udd_keras.visualization import save_curves

    recipe = TrainingRecipe(**recipe_settings)
    models = models or (recipe.model,)
    total_runs = len(models) * repeats * (2 if baselines else 1)
    bar = ProgressBar(
        runs=total_runs, repeats=repeats, unit="ep", console=Console(stderr=True)
    )
    callbacks = [bar]
    if logdir:
        callbacks.append(TensorBoard(logdir, TENSORBOARD_SCALARS))
    options = EvaluationOptions(
        full=full,
        soft_labels=soft_labels,
        temperature=temperature,
        baselines=baselines,
        full_accuracy_percent=full_accuracy,
        progress_path=default_progress_path(json_path, source, full),
    )
    report = evaluate_set(
        source,
        recipe,
        models=models,
        repeats=repeats,
        seed=seed,
        eval_every=eval_every,
        data_dir=data_dir,
        strategy=strategy,
        callbacks=callbacks,
        options=options,
    )

    Console().print(results_table(report))
    if not is_chief(strategy):
        return  # Under multi-worker only the chief writes the report.
    if json_path:
        click.echo(f"Report: {report.write_json(json_path)}")
    png_path = png_path or default_png_path(json_path, source, full)
    if png_path:
        title = f"{report.dataset} " + (
            f"IPC {report.ipc}" if report.ipc is not None else "full"
        )
        path = save_curves(
            png_path, report.curve_series(), "epoch", "test accuracy (%)", title
        )
        click.echo(f"Curves: {path}")
