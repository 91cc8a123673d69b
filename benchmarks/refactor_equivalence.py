"""Same seed, same results: fingerprints a refactor must not change.

Records (or compares against) the outputs of short, seeded runs of every code
path a refactor of the training and distillation loops touches: distillations
on `digits` (udd with SGD and with Adam images, idc, dc) and on
`fashion_mnist` (udd), the evaluation protocol on a distilled set, a herding
and a forgetting coreset, and a measuring network's logits (mUE).

    # before the change
    python benchmarks/refactor_equivalence.py --record /tmp/before.npz
    # after it
    python benchmarks/refactor_equivalence.py --compare /tmp/before.npz \\
        --out refactor-equivalence

`results/refactor-equivalence-3ada62d.npz` holds the fingerprints recorded at
commit 3ada62d, before issue 17's refactor (training recipe, loop callbacks,
image optimizer classes); every later commit compares against it.

`--compare` writes `benchmarks/results/<out>.json` and `.md` with the largest
absolute difference per fingerprint (images in normalised units, accuracies in
percent) and exits 1 when one is above its tolerance (1e-5 for arrays, 0 for
accuracies and coreset indices).
"""

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _environment import (  # noqa: E402
    environment,
    machine_text,
    versions_text,
    write_results,
)

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
ARRAY_TOLERANCE = 1e-5
# float32: the default before `precision="auto"` (which picks bfloat16 on a
# CPU with native bfloat16), so that the fingerprints do not depend on the CPU.
SHORT = {
    "iterations": 2,
    "inner_steps": 3,
    "width": 16,
    "net_images": 50,
    "precision": "float32",
}
# udd with mined regions (`tiles+regions`, its default when the fingerprints
# were recorded; the default is `tiles` since), so every part of the step runs.
MINED = {"method": "udd", "formation": "tiles+regions"}
DISTILLS = {
    "digits-udd-sgd": ("digits", MINED),
    "digits-udd-adam": ("digits", {**MINED, "image_optimizer": "adam"}),
    "digits-idc": ("digits", {"method": "idc"}),
    "digits-dc": ("digits", {"method": "dc"}),
    "fashion_mnist-udd": (
        "fashion_mnist",
        {**MINED, "iterations": 1, "inner_steps": 2},
    ),
}


def fingerprints():
    """Runs every short job; returns `{name: array}`."""
    from udd_keras.coreset import coreset_recipe, select_coreset
    from udd_keras.data import load_dataset
    from udd_keras.distillation import distill
    from udd_keras.evaluation.protocol import evaluate_arrays
    from udd_keras.metrics.network import train_measuring_network
    from udd_keras.training import TrainingRecipe

    out = {}
    datasets = {}
    for name, (dataset, settings) in DISTILLS.items():
        if dataset not in datasets:
            datasets[dataset] = load_dataset(dataset)
        result = distill(datasets[dataset], ipc=1, **(SHORT | settings))
        out[f"{name}/images"] = result.images
        out[f"{name}/boxes"] = result.boxes
        print(f"{name}: distilled", flush=True)
    digits = datasets["digits"]
    images = out["digits-udd-sgd/images"]
    labels = np.arange(digits.num_classes)
    recipe = TrainingRecipe(epochs=5, width=16)
    (result,) = evaluate_arrays(images, labels, digits, recipe, repeats=2)
    out["evaluate/accuracies"] = 100 * np.asarray(result.accuracies, np.float64)
    print("evaluation done", flush=True)
    for method in ("herding", "forgetting"):
        coreset = coreset_recipe(method).replace(epochs=2, width=16)
        out[f"coreset-{method}/indices"] = select_coreset(
            digits, ipc=2, method=method, seed=0, recipe=coreset
        )
        print(f"coreset {method} done", flush=True)
    network = train_measuring_network(
        images, labels, digits.num_classes, "digits", recipe, seed=0
    )
    out["mue-network/logits"] = np.asarray(network.model(digits.x_test[:64]))
    return out


def tolerance(name):
    return ARRAY_TOLERANCE if name.endswith(("images", "logits")) else 0.0


def compare(reference, current):
    rows = []
    for name in sorted(reference):
        before = reference[name]
        after = current.get(name)
        if after is None or np.shape(after) != np.shape(before):
            shape = None if after is None else np.shape(after)
            rows.append((name, float("inf"), tolerance(name), f"shape {shape}"))
            continue
        difference = float(
            np.max(np.abs(np.asarray(after, np.float64) - before), initial=0.0)
        )
        rows.append((name, difference, tolerance(name), ""))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--record", type=pathlib.Path, help="write fingerprints")
    action.add_argument("--compare", type=pathlib.Path, help="compare with these")
    parser.add_argument("--out", default="refactor-equivalence")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    current = fingerprints()
    seconds = time.perf_counter() - start
    if args.record:
        np.savez(args.record, **current)
        print(f"wrote {len(current)} fingerprints to {args.record} ({seconds:.0f} s)")
        return 0
    with np.load(args.compare) as data:
        reference = {name: data[name] for name in data.files}
    rows = compare(reference, current)
    failed = [row for row in rows if not row[1] <= row[2]]
    env = environment()
    data = {
        "reference": str(args.compare),
        "settings": {"short": SHORT, "distills": DISTILLS},
        "rows": [
            {"name": n, "max_abs_difference": d, "tolerance": t, "problem": p}
            for n, d, t, p in rows
        ],
        "passed": not failed,
        "seconds": seconds,
        **env,
    }
    lines = [
        "# Refactor equivalence: the same seeds before and after",
        "",
        f"`python benchmarks/refactor_equivalence.py --compare {args.compare.name}`;"
        " short seeded runs (settings in the JSON).",
        "",
        "| fingerprint | max abs difference | tolerance | |",
        "|---|---|---|---|",
        *(
            f"| {n} | {d:.3g} | {t:g} | {'ok' if d <= t else 'DIFFERS ' + p} |"
            for n, d, t, p in rows
        ),
        "",
        f"Machine: {machine_text(env['machine'])}.",
        f"Versions: {versions_text(env['versions'])}.",
        "",
    ]
    write_results(RESULTS / args.out, data, "\n".join(lines))
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
