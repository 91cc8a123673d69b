"""The evaluation protocol: repeated fresh trainings on a set, per model.

`evaluate` reads a synthetic-set TFRecord, decodes it into the images a network
trains on (each stored image, then its stored regions cropped and resized:
`udd_keras.tfrecords.decode_regions`, so no more stored pixels than the set
holds), loads the real test split of the dataset named in the metadata, and
trains each model `repeats` times with seeds `seed, seed + 1, ...`, each run
with the same `TrainingRecipe`; with `EvaluationOptions(full=True)` it does
the same on the whole real training set of a dataset (the upper bound).

`EvaluationOptions` of `evaluate`: `soft_labels=True` trains on the soft labels
the set stores (`udd_keras.evaluation.soft_labels`, with a temperature),
`baselines=True` also trains on random coresets of the same IPC and reports IOR,
HLR and LRS (`udd_keras.evaluation.baselines`), and `progress_path` keeps
finished runs so that an interrupted evaluation resumes
(`udd_keras.evaluation.finished_runs`). Every model's result records the
protocol it was measured under, and its fingerprint
(`udd_keras.evaluation.fingerprint`).

Callbacks (`udd_keras.training.Callback`, or any object with some of the
hooks), the same for every run: before each run `on_run_start(model, repeat,
seed)`, then the run's training loop calls them (`train_classifier`:
`on_start(0, epochs)`, `on_batch`, and after each epoch `on_step(epoch,
epochs, logs)` with `logs = {"loss", "lr"[, "test_accuracy", "test_images"]}`);
`close()` once the evaluation has ended. For the baseline runs `model` is
`"<model>/random-coreset"`. `udd_keras.progress.ProgressBar` and
`udd_keras.training.TensorBoard` (with `run.TENSORBOARD_SCALARS`) are the
command line's.
"""

import dataclasses

import numpy as np

from udd_keras.coreset.selection import check_ipc
from udd_keras.data import Normalization, load_dataset
from udd_keras.errors import UddError
from udd_keras.evaluation.baselines import (
    RANDOM_CORESET_LABEL,
    check_baseline_arguments,
    compare_with_baselines,
    random_coreset_runs,
)
from udd_keras.evaluation.fingerprint import DECODE_NONE, DECODE_REGIONS, protocol_of
from udd_keras.evaluation.finished_runs import track_runs
from udd_keras.evaluation.report import EvaluationReport, ModelResult
from udd_keras.evaluation.run import (
    check_positive_int,
    train_and_evaluate,
)
from udd_keras.evaluation.soft_labels import (
    apply_temperature,
    check_soft_label_arguments,
)
from udd_keras.models import MODEL_NAMES
from udd_keras.tfrecords import decode_regions, read_metadata, read_synthetic_set
from udd_keras.training import CallbackList, TrainingRecipe, as_callback_list


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
    """What `evaluate` trains on besides a set's hard labels.

    Validated on creation, before anything is loaded.

    Attributes:
        full: bool, the source is a dataset name (`load_dataset`): train on
            its whole real training set (the upper-bound row; the report's
            `ipc` is None). None of the options below but `progress_path`
            applies to it.
        soft_labels: bool, train on the soft labels the set stores (soft
            cross-entropy; CutMix mixes them by area) instead of its hard
            labels; `UddError` from `evaluate` when it stores none.
        temperature: float > 0, or None for 1: the targets are the stored
            probabilities `p ** (1 / T)`, renormalised
            (`udd_keras.evaluation.soft_labels`). Only with `soft_labels`.
        baselines: bool, also train each model, repeat by repeat with the
            same seeds and recipe, on a random coreset of real training images
            with the set's IPC, and report IOR, HLR and LRS
            (`udd_keras.evaluation.baselines`) in `report.baselines`.
        full_accuracy_percent: float in (0, 100], the full-data accuracy HLR
            is measured against; None looks it up in the paper (ConvNet-3)
            and leaves HLR out, with a note, where the paper has none. Only
            with `baselines`.
        progress_path: str or path-like, or None: a JSON file that keeps
            every finished run (not the baselines), so that the same call
            after an interruption trains only the others and reports what an
            uninterrupted one reports; deleted when all have finished. Under a
            multi-worker strategy it must be on storage every worker reads.

    Example:
    >>> EvaluationOptions(soft_labels=True).temperature
    1.0
    """

    full: bool = False
    soft_labels: bool = False
    temperature: float | None = None
    baselines: bool = False
    full_accuracy_percent: float | None = None
    progress_path: object = None

    def __post_init__(self):
        if self.full:
            set_only = {
                "soft_labels": self.soft_labels,
                "temperature": self.temperature is not None,
                "baselines": self.baselines,
                "full_accuracy_percent": self.full_accuracy_percent is not None,
            }
            given = ", ".join(name for name, used in set_only.items() if used)
            if given:
                raise UddError(f"{given} evaluate a synthetic set; not with full=True.")
        temperature = check_soft_label_arguments(self.soft_labels, self.temperature)
        object.__setattr__(self, "temperature", temperature)
        check_baseline_arguments(self.baselines, self.full_accuracy_percent)

    @property
    def full_accuracy(self):
        """The given full-data accuracy as a fraction, or None."""
        return check_baseline_arguments(self.baselines, self.full_accuracy_percent)


def check_models(models):
    """Returns `models` as a tuple of names; `UddError` on an unknown name."""
    models = (models,) if isinstance(models, str) else tuple(models)
    if not models:
        raise UddError(f"No model given; choose from {', '.join(MODEL_NAMES)}.")
    for name in models:
        if name not in MODEL_NAMES:
            raise UddError(
                f"Unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}."
            )
    return models


def check_has_soft_labels(meta, source):
    """Raises `UddError` unless the set's metadata declares soft labels."""
    if not meta.has_soft_labels:
        raise UddError(
            f"{source}: soft labels asked for, but the set stores none (method "
            f"{meta.method!r}, schema {meta.schema_version}); evaluate it with its "
            "hard labels."
        )


def load_evaluation_set(source, dataset, soft_labels=False):
    """Reads a synthetic set and decodes it into training images.

    Args:
        source: str or path-like, a synthetic-set TFRecord.
        dataset: the `ImageDataset` named by its metadata; the decoded images
            are brought into its normalisation when the set was stored in
            another one.
        soft_labels: bool, also return the stored soft labels; `UddError`
            when the set has none.

    Returns:
        Tuple `(images, labels)`: float32 (N', H, W, C), int32 (N',), where
        `N' = N * (K + include_original)`. With `soft_labels=True`,
        `(images, labels, soft_labels)`: float32 (N', num_classes) stored
        probabilities, each decoded image keeping its stored image's.
    """
    synthetic = read_synthetic_set(source)
    meta = synthetic.metadata
    if soft_labels:
        check_has_soft_labels(meta, source)
    if tuple(meta.image_shape) != tuple(dataset.image_shape):
        raise UddError(
            f"{source}: images of shape {tuple(meta.image_shape)} do not match "
            f"dataset {meta.dataset!r} images of shape {dataset.image_shape}."
        )
    if meta.num_classes != dataset.num_classes:
        raise UddError(
            f"{source}: {meta.num_classes} classes do not match dataset "
            f"{meta.dataset!r} with {dataset.num_classes} classes."
        )
    images, labels, *soft = decode_regions(synthetic, soft_labels=soft_labels)
    stored = Normalization.from_dict(meta.normalization)
    if stored != dataset.normalization:
        images = dataset.normalization.normalize(stored.denormalize(images))
    return (np.asarray(images, np.float32), labels, *soft)


def make_repeat_trainer(
    dataset, recipe=None, eval_every=None, strategy=None, callbacks=None
):
    """One training run of the protocol, as a function.

    Args:
        dataset: `ImageDataset` whose test split is used (and whose name
            resolves the recipe's `dsa_strategy`).
        recipe: `TrainingRecipe`, None for the defaults; each run trains its
            own model name with it.
        eval_every: int or None, epochs between test-accuracy points.
        strategy: optional `tf.distribute.Strategy`.
        callbacks: a `CallbackList`, callbacks, or None (see the module).

    Returns:
        `fn(model_name, repeat, run_seed, x_train, y_train, label=None) ->
        EvalRun`; `y_train` holds labels (N,) or soft labels (N, classes);
        `label` (default: the model name) is what the callbacks receive as
        the model.
    """
    recipe = (recipe or TrainingRecipe()).for_dataset(dataset.name)
    callbacks = as_callback_list(callbacks)

    def train_repeat(model_name, repeat, run_seed, x_train, y_train, label=None):
        callbacks.on_run_start(label or model_name, repeat, run_seed)
        return train_and_evaluate(
            x_train,
            y_train,
            dataset.x_test,
            dataset.y_test,
            recipe.replace(model=model_name),
            seed=run_seed,
            num_classes=dataset.num_classes,
            eval_every=eval_every,
            strategy=strategy,
            callbacks=callbacks,
        )

    return train_repeat


def evaluation_runs(recipe, models, repeats, seed, eval_every, strategy):
    """The runs of an evaluation, validated before any data is loaded.

    Args:
        recipe: `TrainingRecipe`.
        models: model name, sequence of names, or None for `recipe.model`.
        repeats: int >= 1.
        seed: int, seed of the first repeat.
        eval_every: int >= 1 or None.
        strategy: a `tf.distribute.Strategy` or None.

    Returns:
        dict with `models` (tuple of names), `repeats`, `seed`, `eval_every`
        and `strategy`: what every model trains, and what a progress file
        keeps the runs of (`finished_runs.track_runs`).
    """
    check_positive_int("repeats", repeats)
    if eval_every is not None:
        check_positive_int("eval_every", eval_every)
    return dict(
        models=check_models(recipe.model if models is None else models),
        repeats=repeats,
        seed=seed,
        eval_every=eval_every,
        strategy=strategy,
    )


def _runs_trainer(dataset, recipe, runs, callbacks):
    """`make_repeat_trainer` with the eval points, strategy and curve of `runs`."""
    return make_repeat_trainer(
        dataset, recipe, runs["eval_every"], runs["strategy"], callbacks
    )


def _train_models(x_train, y_train, dataset, recipe, runs, callbacks, tracker=None):
    """Every model of `runs` trained `repeats` times; list of `ModelResult`."""
    callbacks = as_callback_list(callbacks)
    if tracker is not None:
        callbacks = CallbackList([*callbacks.callbacks, *tracker.callbacks()])
    train_repeat = _runs_trainer(dataset, recipe, runs, callbacks)
    if tracker is not None:
        train_repeat = tracker.wrap(train_repeat)
    results = []
    for model_name in runs["models"]:
        model_runs = [
            train_repeat(model_name, repeat, runs["seed"] + repeat, x_train, y_train)
            for repeat in range(runs["repeats"])
        ]
        results.append(
            ModelResult(model=model_name, runs=model_runs, epochs=recipe.epochs)
        )
    return results


def evaluate_arrays(
    x_train,
    y_train,
    dataset,
    recipe=None,
    models=None,
    repeats=5,
    seed=0,
    eval_every=None,
    strategy=None,
    callbacks=None,
):
    """Trains every model `repeats` times on given arrays; tests on `dataset`.

    Args:
        x_train: float32 array (N, H, W, C), normalised like `dataset`.
        y_train: int array (N,), or float32 array (N, num_classes) of soft
            labels, rows summing to 1 (`soft_labels.apply_temperature`).
        dataset: `ImageDataset` whose test split is used.
        recipe, models, repeats, seed, eval_every, strategy, callbacks: see
            `evaluate`.

    Returns:
        list of `ModelResult`, one per model, each with its protocol (decode
        `"none"`: the arrays as given; labels `"soft"` for 2-D `y_train`).

    Example:
    >>> from udd_keras.data import load_dataset
    >>> ds = load_dataset("digits")
    >>> (result,) = evaluate_arrays(ds.x_train[:20], ds.y_train[:20], ds,
    ...     TrainingRecipe(epochs=1, width=4), repeats=1)  # doctest: +SKIP
    """
    recipe = recipe or TrainingRecipe()
    runs = evaluation_runs(recipe, models, repeats, seed, eval_every, strategy)
    results = _train_models(x_train, y_train, dataset, recipe, runs, callbacks)
    labels = "soft" if np.ndim(y_train) == 2 else "hard"
    _record_protocols(results, recipe, dataset, labels, None, DECODE_NONE)
    return results


def _record_protocols(results, recipe, dataset, labels, temperature, decode):
    """Gives every `ModelResult` its protocol (`fingerprint.protocol_of`)."""
    for result in results:
        result.protocol = protocol_of(
            recipe.replace(model=result.model), dataset, labels, temperature, decode
        )


def _report(source, dataset, ipc, method, train, recipe, runs, callbacks, progress):
    """Trains on `train = (x, y, soft labels or None)`; an `EvaluationReport`."""
    x_train, y_train, soft_labels = train
    recipe = recipe.for_dataset(dataset.name)
    targets = y_train if soft_labels is None else soft_labels
    settings = dict(recipe.to_dict(), **runs)
    with track_runs(progress, x_train, targets, settings) as tracker:
        results = _train_models(
            x_train, targets, dataset, recipe, runs, callbacks, tracker
        )
    settings = {"method": method, "training_images": len(x_train)}
    for name in ("lr", "batch_size", "augment", "cutmix_probability", "width"):
        settings[name] = getattr(recipe, name)
    settings["labels"] = "hard" if soft_labels is None else "soft"
    settings["curve"] = recipe.curve
    settings["curve_test_images"] = results[0].runs[0].curve_test_images
    settings["dsa_strategy"] = recipe.augmentation
    return EvaluationReport(
        source=str(source),
        dataset=dataset.name,
        ipc=ipc,
        results=results,
        settings=settings,
    )


def evaluate(
    source,
    recipe=None,
    models=None,
    repeats=5,
    seed=0,
    eval_every=None,
    data_dir=None,
    strategy=None,
    callbacks=None,
    options=None,
):
    """Evaluates a synthetic set: fresh networks trained on it, tested on real data.

    Args:
        source: str or path-like, a synthetic-set TFRecord (its metadata names
            the dataset); with `options.full`, a `load_dataset` name or path.
        recipe: `TrainingRecipe` of every run (None: the protocol's defaults,
            300 epochs); its `dsa_strategy` None is the dataset's default, its
            `curve` where the accuracy curve's earlier points are tested.
        models: model name or sequence of names
            (`udd_keras.models.MODEL_NAMES`), or None for `recipe.model`.
        repeats: int >= 1, runs per model, with seeds `seed, seed + 1, ...`.
        seed: int, seed of the first repeat.
        eval_every: int or None, epochs between test-accuracy points (None:
            `max(1, epochs // 10)`).
        data_dir: optional folder passed to `load_dataset`.
        strategy: optional `tf.distribute.Strategy`.
        callbacks: iterable of callbacks, or a `CallbackList` (see the module).
        options: `EvaluationOptions` (the full training set, soft labels,
            baselines, progress file), or None for none.

    Returns:
        `EvaluationReport` (`ipc` None with `options.full`); each model's
        result carries its protocol and fingerprint
        (`udd_keras.evaluation.fingerprint`).

    Example:
    >>> report = evaluate("out/synthetic.tfrecord")  # doctest: +SKIP
    >>> report.results[0].accuracy_mean  # doctest: +SKIP
    0.823
    >>> report = evaluate("out/synthetic.tfrecord", TrainingRecipe(epochs=50),
    ...     options=EvaluationOptions(baselines=True))  # doctest: +SKIP
    >>> report.baselines[0].ior_mean  # doctest: +SKIP
    0.312
    >>> full = EvaluationOptions(full=True)
    >>> evaluate("digits", options=full).ipc is None  # doctest: +SKIP
    True
    """
    recipe = recipe or TrainingRecipe()
    options = options or EvaluationOptions()
    runs = evaluation_runs(recipe, models, repeats, seed, eval_every, strategy)
    dataset, ipc, method, train = _training_set(source, options, data_dir)
    callbacks = as_callback_list(callbacks)
    try:
        report = _report(
            source,
            dataset,
            ipc,
            method,
            train,
            recipe,
            runs,
            callbacks,
            options.progress_path,
        )
        if not options.full:
            report.settings["temperature"] = options.temperature
        _record_protocols(
            report.results,
            recipe,
            dataset,
            report.settings["labels"],
            options.temperature,
            DECODE_NONE if options.full else DECODE_REGIONS,
        )
        if options.baselines:
            report.baselines = _baselines(
                report, dataset, ipc, recipe, runs, callbacks, options.full_accuracy
            )
    finally:
        callbacks.close()
    return report


def _training_set(source, options, data_dir):
    """What `evaluate` trains on, checked before any training.

    Returns:
        `(dataset, ipc, method, (x, y, soft labels or None))`: the
        `ImageDataset` tested on, the set's IPC (None for `options.full`) and
        method (`"full"`), and the arrays `_report` trains on.
    """
    if options.full:
        dataset = load_dataset(source, data_dir=data_dir)
        return dataset, None, "full", (dataset.x_train, dataset.y_train, None)
    meta = read_metadata(source)
    if options.soft_labels:
        check_has_soft_labels(meta, source)
    dataset = load_dataset(meta.dataset, data_dir=data_dir)
    if options.baselines:
        check_ipc(np.asarray(dataset.y_train), dataset.num_classes, meta.ipc)
    x_train, y_train, *stored = load_evaluation_set(
        source, dataset, options.soft_labels
    )
    soft = apply_temperature(stored[0], options.temperature) if stored else None
    return dataset, meta.ipc, meta.method, (x_train, y_train, soft)


def _baselines(report, dataset, ipc, recipe, runs, callbacks, full_accuracy):
    """The random-coreset comparison of every model of `report`."""
    train_repeat = _runs_trainer(dataset, recipe, runs, callbacks)
    comparisons = []
    for result in report.results:

        def train_coreset(model_name, repeat, run_seed, x, y):
            label = f"{model_name}/{RANDOM_CORESET_LABEL}"
            return train_repeat(model_name, repeat, run_seed, x, y, label=label)

        coreset_runs = random_coreset_runs(
            dataset, ipc, result.model, runs["repeats"], runs["seed"], train_coreset
        )
        comparisons.append(
            compare_with_baselines(result, coreset_runs, dataset.name, full_accuracy)
        )
    return comparisons
