"""Benchmark: distillation step time under `one` and `mirrored`.

Splits the CPU into logical devices (`udd_keras.distribute.split_cpu`) so that
`mirrored` has several replicas without GPUs, then times the compiled steps of
`DistillationEngine` (`select_regions`, `update_images`, `update_network`, and
the three together as one inner step) under the default strategy (no
`tf.distribute` scope, the path of library calls without `strategy=`), `one`
and `mirrored`. The runs use the same seed and check that the images agree.

On a CPU the logical devices share the same cores, so `mirrored` measures the
cost of the distribution machinery (per-replica tracing, all-reduce, variable
copies) rather than a speed-up; with GPUs, pass `--devices 0` to use them.

Writes `benchmarks/results/distribution-speed.json` and `.md`.

Usage:
    python benchmarks/distribution_speed.py --devices 2 --repeats 10
"""

import argparse
import datetime
import json
import os
import pathlib
import statistics
import time

from _environment import environment as shared_environment
from _environment import versions_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = pathlib.Path(__file__).parent / "results"
NAME = "distribution-speed"
STEPS = ("select_regions", "update_images", "update_network", "inner_step")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--devices",
        type=int,
        default=2,
        help="Logical CPU devices for `mirrored`; 0 keeps the machine's devices.",
    )
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--ipc", type=int, default=10)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--real-batch", type=int, default=64)
    parser.add_argument("--net-images", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    return parser.parse_args(argv)


def environment():
    import tensorflow as tf

    return shared_environment(logical_cpus=len(tf.config.list_logical_devices("CPU")))


def elapsed_ms(function):
    """Milliseconds of `function()`, waiting for the tensors it returns."""
    import numpy as np
    import tensorflow as tf

    start = time.perf_counter()
    value = function()
    if value is not None:
        tf.nest.map_structure(np.asarray, value)
    return 1000 * (time.perf_counter() - start)


def prepare(strategy, config, dataset, seed):
    """A `Distiller`'s engine under `strategy`, and its steps as callables."""
    import tensorflow as tf

    from udd_keras.distillation import Distiller
    from udd_keras.distillation.engine import fold_in

    engine = Distiller(config, dataset=dataset, strategy=strategy).engine
    engine.reset_network(seed)
    key = fold_in(tf.constant([seed, 0], tf.int32), 0, 0)
    boxes = engine.select_regions(key)
    engine.fill_centers(boxes)

    def inner_step():
        regions = engine.select_regions(key)
        engine.update_images(key, regions)
        return engine.update_network(key)

    steps = {
        "select_regions": lambda: engine.select_regions(key),
        "update_images": lambda: engine.update_images(key, boxes),
        "update_network": lambda: engine.update_network(key),
        "inner_step": inner_step,
    }
    return engine, steps


def time_strategies(strategies, config, dataset, args):
    """Times every step under every strategy, strategies interleaved per call.

    Interleaving spreads the noise of a shared machine evenly over the
    strategies. Returns the result rows and each strategy's images after the
    first calls (two image updates) and after all calls.
    """
    engines, steps, times, first, early = {}, {}, {}, {}, {}
    for name, strategy in strategies.items():
        engines[name], steps[name] = prepare(strategy, config, dataset, args.seed)
        first[name] = {step: elapsed_ms(steps[name][step]) for step in STEPS}
        times[name] = {step: [] for step in STEPS}
        early[name] = engines[name].images.numpy()
    for index in range(args.warmup + args.repeats):
        for step in STEPS:
            for name in strategies:
                milliseconds = elapsed_ms(steps[name][step])
                if index >= args.warmup:
                    times[name][step].append(milliseconds)
    rows = []
    for name, strategy in strategies.items():
        row = {
            "strategy": name,
            "replicas": strategy.num_replicas_in_sync if strategy else 1,
        }
        for step in STEPS:
            row[step] = {
                "median_ms": statistics.median(times[name][step]),
                "min_ms": min(times[name][step]),
                "first_ms": first[name][step],
            }
        rows.append(row)
    final = {name: engine.images.numpy() for name, engine in engines.items()}
    return rows, early, final


def markdown(summary):
    settings = summary["settings"]
    lines = [
        "# Distillation step time by strategy",
        "",
        f"Run {summary['finished']}; `python benchmarks/distribution_speed.py "
        f"--devices {settings['devices']} --repeats {settings['repeats']}`. "
        f"Median of {settings['repeats']} calls after {settings['warmup']} "
        "warm-up call(s), the strategies interleaved call by call; `first` is the "
        "first update_images call (tracing included).",
        "",
        "| strategy | replicas | "
        + " | ".join(f"{step} (ms)" for step in STEPS)
        + " | first update_images (ms) |",
        "|---|---|" + "---|" * (len(STEPS) + 1),
    ]
    for row in summary["rows"]:
        lines.append(
            f"| {row['strategy']} | {row['replicas']} | "
            + " | ".join(f"{row[step]['median_ms']:.1f}" for step in STEPS)
            + f" | {row['update_images']['first_ms']:.0f} |"
        )
    machine, versions = summary["machine"], summary["versions"]
    lines += [
        "",
        "Max abs difference of the images from the default strategy's: "
        + ", ".join(
            f"{name} {diff:.1e}" for name, diff in summary["image_difference"].items()
        )
        + ". Float rounding differs between one and two replicas (the network"
        " batch is summed in two halves); after a few steps it agrees to ~1e-7,"
        " over tens of repeated steps the training dynamics amplify it.",
        "Settings: "
        + ", ".join(f"{key} {value}" for key, value in settings["config"].items())
        + ".",
        f"Machine: {machine['platform']}, {machine['cpu_count']} CPUs "
        f"({machine['logical_cpus']} logical CPU devices), {machine['gpus']} "
        "GPUs; the machine may be shared, so compare rows of one run only.",
        "Versions: " + versions_text(versions) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    from udd_keras.distribute import make_strategy, split_cpu

    if args.devices:
        split_cpu(args.devices)

    import numpy as np

    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig

    dataset = load_dataset(args.dataset)
    config = DistillConfig(
        args.dataset,
        ipc=args.ipc,
        width=args.width,
        real_batch=args.real_batch,
        net_images=args.net_images,
        seed=args.seed,
    ).resolve()
    strategies = {
        "default": None,
        "one": make_strategy("one"),
        "mirrored": make_strategy("mirrored"),
    }
    rows, early, final = time_strategies(strategies, config, dataset, args)
    for row in rows:
        print(
            f"{row['strategy']:9s} replicas {row['replicas']}: "
            + ", ".join(f"{step} {row[step]['median_ms']:.1f} ms" for step in STEPS),
            flush=True,
        )
    shown = (
        "dataset",
        "method",
        "policy",
        "ipc",
        "width",
        "depth",
        "real_batch",
        "net_images",
        "net_batch",
        "cfc_weight",
    )
    summary = {
        **environment(),
        "settings": {
            "devices": args.devices,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "config": {key: getattr(config, key) for key in shown},
        },
        "rows": rows,
        "image_difference": {
            f"{name} after {when}": float(
                np.max(np.abs(images[name] - images["default"]))
            )
            for when, images in (("2 updates", early), ("all calls", final))
            for name in ("one", "mirrored")
        },
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{NAME}.json").write_text(json.dumps(summary, indent=2))
    (args.out / f"{NAME}.md").write_text(markdown(summary))
    print(f"wrote {args.out / NAME}.json and .md")


if __name__ == "__main__":
    main()
