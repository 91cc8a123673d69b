"""The evaluation protocol: repeated fresh trainings on a set, per model.

`evaluate` reads a synthetic-set TFRecord, decodes it into the images a network
trains on (each stored image, then its stored regions cropped and resized:
`udd_keras.tfrecords.decode_regions`, so no more stored pixels than the set
holds), loads the real test split of the dataset named in the metadata, and
trains each model `repeats` times with seeds `seed, seed + 1, ...`.
`evaluate_full` does the same on the whole real training set (the upper bound).

Options of `evaluate`: `soft_labels=True` trains on the soft labels the set
stores (`udd_keras.evaluation.soft_labels`, with a temperature), and
`baselines=True` also trains on random coresets of the same IPC and reports
IOR and HLR (`udd_keras.evaluation.baselines`).
"""

import numpy as np

from udd_keras.coreset.selection import check_ipc
from udd_keras.data import Normalization, load_dataset
from udd_keras.errors import UddError
from udd_keras.evaluation.augment_strategy import dsa_strategy_for
from udd_keras.evaluation.baselines import (
    RANDOM_CORESET_LABEL,
    check_baseline_arguments,
    compare_with_baselines,
    random_coreset_runs,
)
from udd_keras.evaluation.finished_runs import track_runs
from udd_keras.evaluation.report import EvaluationReport, ModelResult
from udd_keras.evaluation.run import (
    check_positive_int,
    check_training_arguments,
    train_and_evaluate,
)
from udd_keras.evaluation.soft_labels import (
    apply_temperature,
    check_soft_label_arguments,
)
from udd_keras.models import MODEL_NAMES
from udd_keras.tfrecords import decode_regions, read_metadata, read_synthetic_set


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
    dataset,
    epochs=300,
    lr=0.01,
    batch_size=64,
    augment=True,
    dsa_strategy=None,
    cutmix_probability=0.5,
    eval_every=None,
    width=128,
    strategy=None,
    on_run_start=None,
    on_epoch_end=None,
):
    """One training run under fixed protocol settings, as a function.

    Args:
        dataset: `ImageDataset` whose test split is used.
        Others: see `evaluate`.

    Returns:
        `fn(model_name, repeat, run_seed, x_train, y_train, soft_labels=None,
        label=None) -> EvalRun`; `label` (default: the model name) is what
        the callbacks receive as the model.
    """
    if dsa_strategy is None:
        dsa_strategy = dsa_strategy_for(dataset.name, cutmix_probability)

    def train_repeat(
        model_name, repeat, run_seed, x_train, y_train, soft_labels=None, label=None
    ):
        label = label or model_name
        if on_run_start is not None:
            on_run_start(label, repeat, run_seed)
        epoch_end = None
        if on_epoch_end is not None:

            def epoch_end(epoch, logs):
                on_epoch_end(label, repeat, epoch, logs)

        return train_and_evaluate(
            x_train,
            y_train,
            dataset.x_test,
            dataset.y_test,
            model_name=model_name,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            augment=augment,
            dsa_strategy=dsa_strategy,
            cutmix_probability=cutmix_probability,
            seed=run_seed,
            num_classes=dataset.num_classes,
            strategy=strategy,
            on_epoch_end=epoch_end,
            eval_every=eval_every,
            width=width,
            soft_labels=soft_labels,
        )

    return train_repeat


def evaluate_arrays(
    x_train,
    y_train,
    dataset,
    models=("convnet3",),
    epochs=300,
    repeats=5,
    lr=0.01,
    batch_size=64,
    augment=True,
    dsa_strategy=None,
    cutmix_probability=0.5,
    eval_every=None,
    width=128,
    seed=0,
    strategy=None,
    on_run_start=None,
    on_epoch_end=None,
    soft_labels=None,
    tracker=None,
):
    """Trains every model `repeats` times on given arrays; tests on `dataset`.

    Args:
        x_train: float32 array (N, H, W, C), normalised like `dataset`.
        y_train: int array (N,).
        dataset: `ImageDataset` whose test split is used.
        models, epochs, repeats, lr, batch_size, augment, dsa_strategy,
        cutmix_probability, eval_every, width, seed, strategy: see `evaluate`.
        on_run_start: optional `fn(model, repeat, seed)` before each run.
        on_epoch_end: optional `fn(model, repeat, epoch, logs)` after each epoch.
        soft_labels: optional float32 array (N, num_classes) of training
            targets, rows summing to 1 (`soft_labels.apply_temperature`);
            None trains on the one-hot `y_train`.
        tracker: optional `finished_runs.RunTracker`: finished runs are taken
            from it and new ones added to it (see `build_report`).

    Returns:
        list of `ModelResult`, one per model.
    """
    if tracker is not None:
        on_epoch_end = tracker.epoch_hook(on_epoch_end)
    train_repeat = make_repeat_trainer(
        dataset,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        augment=augment,
        dsa_strategy=dsa_strategy,
        cutmix_probability=cutmix_probability,
        eval_every=eval_every,
        width=width,
        strategy=strategy,
        on_run_start=on_run_start,
        on_epoch_end=on_epoch_end,
    )
    if tracker is not None:
        train_repeat = tracker.wrap(train_repeat)
    results = []
    for model_name in models:
        runs = [
            train_repeat(
                model_name, repeat, seed + repeat, x_train, y_train, soft_labels
            )
            for repeat in range(repeats)
        ]
        results.append(ModelResult(model=model_name, runs=runs, epochs=epochs))
    return results


def build_report(source, dataset, ipc, method, x_train, y_train, **training):
    """Runs `evaluate_arrays` and wraps the results with their settings.

    Args:
        source: str, what was evaluated (a path or a dataset name).
        dataset: `ImageDataset` whose test split is used.
        ipc: int or None.
        method: str, how the training set was made ("udd", "random", "full"...).
        x_train: float32 array (N, H, W, C).
        y_train: int array (N,).
        **training: keyword arguments of `evaluate_arrays`, and
            `progress_path`: the JSON file that keeps the finished runs
            (`udd_keras.evaluation.finished_runs`), or None.

    Returns:
        `EvaluationReport`.
    """
    if training.get("dsa_strategy") is None:
        training["dsa_strategy"] = dsa_strategy_for(
            dataset.name, training.get("cutmix_probability", 0.5)
        )
    progress_path = training.pop("progress_path", None)
    with track_runs(progress_path, x_train, y_train, training) as tracker:
        results = evaluate_arrays(
            x_train, y_train, dataset, tracker=tracker, **training
        )
    settings = {"method": method, "training_images": len(x_train)}
    for name in ("lr", "batch_size", "augment", "cutmix_probability", "width"):
        settings[name] = training.get(name)
    settings["labels"] = "hard" if training.get("soft_labels") is None else "soft"
    settings["dsa_strategy"] = (
        training["dsa_strategy"] if training.get("augment", True) else None
    )
    return EvaluationReport(
        source=str(source),
        dataset=dataset.name,
        ipc=ipc,
        results=results,
        settings=settings,
    )


def check_protocol_arguments(models, epochs, repeats, lr, batch_size, cutmix):
    """Validates what a user passes before any data is loaded; returns the models.

    Returns:
        tuple of model names.
    """
    check_training_arguments(epochs, lr, batch_size, cutmix)
    check_positive_int("repeats", repeats)
    return check_models(models)


def evaluate(
    source,
    models=("convnet3",),
    epochs=300,
    repeats=5,
    lr=0.01,
    batch_size=64,
    augment=True,
    dsa_strategy=None,
    cutmix_probability=0.5,
    eval_every=None,
    width=128,
    seed=0,
    data_dir=None,
    strategy=None,
    on_run_start=None,
    on_epoch_end=None,
    soft_labels=False,
    temperature=None,
    baselines=False,
    full_accuracy_percent=None,
    progress_path=None,
):
    """Evaluates a synthetic set: fresh networks trained on it, tested on real data.

    Args:
        source: str or path-like, a synthetic-set TFRecord (its metadata names
            the dataset).
        models: model name or sequence of names (`udd_keras.models.MODEL_NAMES`).
        epochs: int >= 1, training epochs per run (UDD: 300).
        repeats: int >= 1, runs per model, with seeds `seed, seed + 1, ...`.
        lr: float, initial learning rate.
        batch_size: int, training batch (the set size when smaller).
        augment: bool, whether to use differentiable augmentation.
        dsa_strategy: str or None for the dataset's default
            (`dsa_strategy_for`).
        cutmix_probability: float in [0, 1].
        eval_every: int or None, epochs between test-accuracy points.
        width: int, ConvNet width.
        seed: int, seed of the first repeat.
        data_dir: optional folder passed to `load_dataset`.
        strategy: optional `tf.distribute.Strategy`.
        on_run_start: optional `fn(model, repeat, seed)`; for the baseline
            runs `model` is `"<model>/random-coreset"`.
        on_epoch_end: optional `fn(model, repeat, epoch, logs)`, same labels.
        soft_labels: bool, train on the soft labels the set stores (soft
            cross-entropy; CutMix mixes them by area) instead of its hard
            labels; `UddError` when it stores none.
        temperature: float > 0, or None for 1: the targets are the stored
            probabilities `p ** (1 / T)`, renormalised
            (`udd_keras.evaluation.soft_labels`). Only with `soft_labels`.
        baselines: bool, also train each model, repeat by repeat with the same
            seeds and settings, on a random coreset of real training images
            with the set's IPC, and report IOR and HLR
            (`udd_keras.evaluation.baselines`) in `report.baselines`.
        full_accuracy_percent: float in (0, 100], the full-data accuracy HLR
            is measured against; None looks it up in the paper (ConvNet-3)
            and leaves HLR out, with a note, where the paper has none. Only
            with `baselines`.
        progress_path: str or path-like, or None: a JSON file that keeps
            every finished run (not the baselines), so that the same call
            after an interruption trains only the others and reports what an
            uninterrupted one reports; deleted when all have finished
            (`udd_keras.evaluation.finished_runs`). Under a multi-worker
            strategy it must be on storage every worker reads.

    Returns:
        `EvaluationReport`.

    Example:
    >>> report = evaluate("out/synthetic.tfrecord", epochs=300)  # doctest: +SKIP
    >>> report.results[0].accuracy_mean  # doctest: +SKIP
    0.823
    >>> report = evaluate("out/synthetic.tfrecord", baselines=True)  # doctest: +SKIP
    >>> report.baselines[0].ior_mean  # doctest: +SKIP
    0.312
    """
    models = check_protocol_arguments(
        models, epochs, repeats, lr, batch_size, cutmix_probability
    )
    temperature = check_soft_label_arguments(soft_labels, temperature)
    full_accuracy = check_baseline_arguments(baselines, full_accuracy_percent)
    meta = read_metadata(source)
    if soft_labels:
        check_has_soft_labels(meta, source)
    dataset = load_dataset(meta.dataset, data_dir=data_dir)
    if baselines:
        check_ipc(np.asarray(dataset.y_train), dataset.num_classes, meta.ipc)
    targets = None
    if soft_labels:
        x_train, y_train, stored = load_evaluation_set(source, dataset, True)
        targets = apply_temperature(stored, temperature)
    else:
        x_train, y_train = load_evaluation_set(source, dataset)
    if dsa_strategy is None:
        dsa_strategy = dsa_strategy_for(dataset.name, cutmix_probability)
    protocol = dict(
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        augment=augment,
        dsa_strategy=dsa_strategy,
        cutmix_probability=cutmix_probability,
        eval_every=eval_every,
        width=width,
        strategy=strategy,
        on_run_start=on_run_start,
        on_epoch_end=on_epoch_end,
    )
    report = build_report(
        source,
        dataset,
        meta.ipc,
        meta.method,
        x_train,
        y_train,
        models=models,
        repeats=repeats,
        seed=seed,
        soft_labels=targets,
        progress_path=progress_path,
        **protocol,
    )
    report.settings["temperature"] = temperature
    if baselines:
        train_repeat = make_repeat_trainer(dataset, **protocol)
        report.baselines = []
        for result in report.results:

            def train_coreset(model_name, repeat, run_seed, x, y):
                return train_repeat(
                    model_name,
                    repeat,
                    run_seed,
                    x,
                    y,
                    label=f"{model_name}/{RANDOM_CORESET_LABEL}",
                )

            runs = random_coreset_runs(
                dataset, meta.ipc, result.model, repeats, seed, train_coreset
            )
            report.baselines.append(
                compare_with_baselines(result, runs, dataset.name, full_accuracy)
            )
    return report


def evaluate_full(
    dataset_name,
    models=("convnet3",),
    epochs=300,
    repeats=5,
    lr=0.01,
    batch_size=64,
    augment=True,
    dsa_strategy=None,
    cutmix_probability=0.5,
    eval_every=None,
    width=128,
    seed=0,
    data_dir=None,
    strategy=None,
    on_run_start=None,
    on_epoch_end=None,
    progress_path=None,
):
    """Evaluates training on the whole real training set (the upper-bound row).

    Args:
        dataset_name: str, a `udd_keras.data.load_dataset` name or path.
        Others (`progress_path` included): as in `evaluate`.

    Returns:
        `EvaluationReport` with `ipc=None`.
    """
    models = check_protocol_arguments(
        models, epochs, repeats, lr, batch_size, cutmix_probability
    )
    dataset = load_dataset(dataset_name, data_dir=data_dir)
    return build_report(
        dataset_name,
        dataset,
        None,
        "full",
        dataset.x_train,
        dataset.y_train,
        models=models,
        epochs=epochs,
        repeats=repeats,
        lr=lr,
        batch_size=batch_size,
        augment=augment,
        dsa_strategy=dsa_strategy,
        cutmix_probability=cutmix_probability,
        eval_every=eval_every,
        width=width,
        seed=seed,
        strategy=strategy,
        on_run_start=on_run_start,
        on_epoch_end=on_epoch_end,
        progress_path=progress_path,
    )
