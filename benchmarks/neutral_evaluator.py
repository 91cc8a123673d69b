"""The neutral evaluator on one set: imported, relabelled, against its baselines.

One set is distilled (`digits`, IPC 1, the `quick` preset) and measured four ways
with `evaluate(..., baselines=True)`, every row in the same protocol and seeds:

1. the TFRecord udd-keras wrote;
2. the same images exported to an `.npz` (NCHW, normalised, as DC-style code
   bases store sets) and brought back with `udd_keras.importing.import_set`: the
   accuracies must equal row 1's, which is what "measured the same way" means;
3. the same images with soft labels from a teacher (a ConvNet-3 trained on the
   whole training set), SRe2L-style, imported with `soft_labels` and evaluated
   with `--soft-labels` at temperature 1 and 4.

Every row also trains a random coreset of the same IPC in the same run and
reports IOR (accuracy over the random coreset) and, where a full-data figure is
known, HLR.

    python benchmarks/neutral_evaluator.py --repeats 3

Writes `benchmarks/results/neutral-evaluator.json` and `.md`.
"""

import argparse
import datetime
import os
import pathlib
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _environment import (  # noqa: E402
    environment,
    machine_text,
    versions_text,
    write_results,
)

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def export_npz(path, synthetic, soft_labels=None):
    """The set's images as DC-style code bases store them: NCHW, normalised."""
    arrays = {
        "images": np.asarray(synthetic.images).transpose(0, 3, 1, 2),
        "labels": np.asarray(synthetic.labels, np.int64),
    }
    if soft_labels is not None:
        arrays["soft_labels"] = soft_labels.astype(np.float32)
    np.savez(path, **arrays)
    return path


def row(name, report, **extra):
    (result,) = report.results
    (comparison,) = report.baselines
    return {
        "name": name,
        "accuracies": [100.0 * a for a in result.accuracies],
        "random_coreset": [100.0 * a for a in comparison.random_coreset.accuracies],
        "ior": [100.0 * a for a in comparison.ior],
        "hlr": None if comparison.hlr is None else [100.0 * a for a in comparison.hlr],
        **extra,
    }


def markdown(report):
    def cell(values):
        return (
            "-" if values is None else f"{np.mean(values):.2f} ± {np.std(values):.2f}"
        )

    lines = [
        "# The neutral evaluator: one set, imported, relabelled, against baselines",
        "",
        f"Run {report['date']}; `{report['command']}`.",
        f"Set: `{report['dataset']}`, IPC {report['ipc']}, preset "
        f"`{report['preset']}`, seed {report['seed']}. Evaluation: ConvNet-3, "
        f"{report['epochs']} epochs x {report['repeats']} repeats, each paired "
        "with a random coreset of the same IPC trained with the same seed.",
        "",
        "| set | accuracy (%) | random coreset (%) | IOR (points) | HLR (points) |",
        "|---|---|---|---|---|",
    ]
    for entry in report["rows"]:
        lines.append(
            f"| {entry['name']} | {cell(entry['accuracies'])} | "
            f"{cell(entry['random_coreset'])} | {cell(entry['ior'])} | "
            f"{cell(entry['hlr'])} |"
        )
    machine = report["machine"]
    lines += [
        "",
        "The `.npz` holds the images NCHW in the dataset's normalisation and is "
        "imported with its `mean`/`std`; largest pixel difference after the "
        f"round trip {report['import_max_pixel_difference']:.3g}, accuracies "
        f"equal to the TFRecord row's: {report['import_identical']}. "
        "Teacher: ConvNet-3 trained "
        f"{report['teacher_epochs']} epochs on the whole training set, test "
        f"accuracy {report['teacher_accuracy']:.2f} %. HLR needs a full-data "
        "figure; the paper has none for `digits`.",
        "",
        f"Machine: {machine_text(machine)}.",
        f"Versions: {versions_text(report['versions'])}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--ipc", type=int, default=1)
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--teacher-epochs", type=int, default=30)
    parser.add_argument("--out", default="neutral-evaluator")
    args = parser.parse_args(argv)

    from udd_keras.data import load_dataset
    from udd_keras.distillation import distill
    from udd_keras.evaluation import EvaluationOptions, evaluate
    from udd_keras.importing import import_set
    from udd_keras.tfrecords import read_synthetic_set
    from udd_keras.training import TrainingRecipe, make_classify_fn, top1_accuracy

    dataset = load_dataset(args.dataset)
    protocol = dict(
        recipe=TrainingRecipe(epochs=args.epochs),
        repeats=args.repeats,
        options=EvaluationOptions(baselines=True),
    )
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        work = pathlib.Path(workdir)
        distill(
            dataset.name,
            ipc=args.ipc,
            preset=args.preset,
            seed=args.seed,
            out_dir=work / "run",
        )
        native = work / "run" / "synthetic.tfrecord"
        rows.append(row("udd-keras TFRecord", evaluate(native, **protocol)))

        synthetic = read_synthetic_set(native)
        normalization = {
            "mean": dataset.normalization.mean,
            "std": dataset.normalization.std,
        }
        npz = export_npz(work / "set.npz", synthetic)
        imported = import_set(
            npz, dataset.name, work / "imported.tfrecord", **normalization
        ).path
        pixel_difference = float(
            np.max(np.abs(read_synthetic_set(imported).images - synthetic.images))
        )
        rows.append(
            row("same images via `.npz` import", evaluate(imported, **protocol))
        )

        probabilities, teacher = teacher_probabilities_and_model(
            dataset, synthetic.images, args.teacher_epochs, args.seed
        )
        teacher_accuracy = 100.0 * float(
            top1_accuracy(make_classify_fn(teacher), dataset.x_test, dataset.y_test)
        )
        soft_npz = export_npz(work / "soft.npz", synthetic, probabilities)
        relabelled = import_set(
            soft_npz, dataset.name, work / "soft.tfrecord", **normalization
        ).path
        rows.append(
            row(
                "hard labels of the relabelled import",
                evaluate(relabelled, **protocol),
            )
        )
        for temperature in (1.0, 4.0):
            soft = EvaluationOptions(
                soft_labels=True, temperature=temperature, baselines=True
            )
            report = evaluate(relabelled, **{**protocol, "options": soft})
            rows.append(
                row(
                    f"teacher soft labels, `--soft-labels --temperature "
                    f"{temperature:g}`",
                    report,
                    temperature=temperature,
                )
            )
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/neutral_evaluator.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "dataset": dataset.name,
        "ipc": args.ipc,
        "preset": args.preset,
        "seed": args.seed,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "teacher_epochs": args.teacher_epochs,
        "teacher_accuracy": teacher_accuracy,
        "import_identical": rows[0]["accuracies"] == rows[1]["accuracies"],
        "import_max_pixel_difference": pixel_difference,
        **environment(),
        "rows": rows,
    }
    text = markdown(report)
    write_results(RESULTS / args.out, report, text)
    print(text)


def teacher_probabilities_and_model(dataset, images, epochs, seed):
    """(softmax outputs on `images`, the trained teacher)."""
    import tensorflow as tf

    from udd_keras.training import TrainingRecipe, build_classifier, train_classifier

    recipe = TrainingRecipe(epochs=epochs)
    model = build_classifier(
        recipe, dataset.image_shape, dataset.num_classes, seed=seed
    )
    train_classifier(
        model,
        dataset.x_train,
        dataset.y_train,
        dataset.num_classes,
        recipe,
        seed=seed,
    )
    logits = model(tf.constant(np.asarray(images), tf.float32), training=False)
    return tf.nn.softmax(tf.cast(logits, tf.float32)).numpy(), model


if __name__ == "__main__":
    main()
