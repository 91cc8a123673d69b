"""The evaluation protocol: repeated fresh trainings on a set, per model.

`evaluate` reads a synthetic-set TFRecord, decodes it into the images a network
trains on (each stored image, then its stored regions cropped and resized:
`udd_keras.tfrecords.decode_regions`, so no more stored pixels than the set
holds), loads the real test split of the dataset named in the metadata, and
trains each model `repeats` times with seeds `seed, seed + 1, ...`.
`evaluate_full` does the same on the whole real training set (the upper bound).
"""

import numpy as np

from udd_keras.data import Normalization, load_dataset
from udd_keras.errors import UddError
from udd_keras.evaluation.augment_strategy import dsa_strategy_for
from udd_keras.evaluation.report import EvaluationReport, ModelResult
from udd_keras.evaluation.run import (
    check_positive_int,
    check_training_arguments,
    train_and_evaluate,
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


def load_evaluation_set(source, dataset):
    """Reads a synthetic set and decodes it into training images.

    Args:
        source: str or path-like, a synthetic-set TFRecord.
        dataset: the `ImageDataset` named by its metadata; the decoded images
            are brought into its normalisation when the set was stored in
            another one.

    Returns:
        Tuple `(images, labels)`: float32 (N', H, W, C), int32 (N',), where
        `N' = N * (K + include_original)`.
    """
    synthetic = read_synthetic_set(source)
    meta = synthetic.metadata
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
    images, labels = decode_regions(synthetic)
    stored = Normalization.from_dict(meta.normalization)
    if stored != dataset.normalization:
        images = dataset.normalization.normalize(stored.denormalize(images))
    return np.asarray(images, np.float32), labels


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

    Returns:
        list of `ModelResult`, one per model.
    """
    if dsa_strategy is None:
        dsa_strategy = dsa_strategy_for(dataset.name, cutmix_probability)
    results = []
    for model_name in models:
        runs = []
        for repeat in range(repeats):
            run_seed = seed + repeat
            if on_run_start is not None:
                on_run_start(model_name, repeat, run_seed)
            epoch_end = None
            if on_epoch_end is not None:

                def epoch_end(epoch, logs, model_name=model_name, repeat=repeat):
                    on_epoch_end(model_name, repeat, epoch, logs)

            runs.append(
                train_and_evaluate(
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
                )
            )
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
        **training: keyword arguments of `evaluate_arrays`.

    Returns:
        `EvaluationReport`.
    """
    if training.get("dsa_strategy") is None:
        training["dsa_strategy"] = dsa_strategy_for(
            dataset.name, training.get("cutmix_probability", 0.5)
        )
    results = evaluate_arrays(x_train, y_train, dataset, **training)
    settings = {"method": method, "training_images": len(x_train)}
    for name in ("lr", "batch_size", "augment", "cutmix_probability", "width"):
        settings[name] = training.get(name)
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
        on_run_start: optional `fn(model, repeat, seed)`.
        on_epoch_end: optional `fn(model, repeat, epoch, logs)`.

    Returns:
        `EvaluationReport`.

    Example:
    >>> report = evaluate("out/synthetic.tfrecord", epochs=300)  # doctest: +SKIP
    >>> report.results[0].accuracy_mean  # doctest: +SKIP
    0.823
    """
    models = check_protocol_arguments(
        models, epochs, repeats, lr, batch_size, cutmix_probability
    )
    meta = read_metadata(source)
    dataset = load_dataset(meta.dataset, data_dir=data_dir)
    x_train, y_train = load_evaluation_set(source, dataset)
    return build_report(
        source,
        dataset,
        meta.ipc,
        meta.method,
        x_train,
        y_train,
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
    )


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
):
    """Evaluates training on the whole real training set (the upper-bound row).

    Args:
        dataset_name: str, a `udd_keras.data.load_dataset` name or path.
        Others: as in `evaluate`.

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
    )
