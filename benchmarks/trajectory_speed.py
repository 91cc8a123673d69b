"""Benchmark: the inner step with the real-data trajectory replayed, against the
PyTorch reference, back to back on one machine.

For each `--methods` (FashionMNIST, IPC 1, ConvNet-3 width 128, float32, the
method's defaults otherwise), three runs of `--steps` inner steps, one after
another on the same machine:

- `inline`: no trajectory cache, every step computes its network update and
  real gradients (what a run without `--trajectory-cache` does);
- `record`: an empty cache, every step computes them and writes its entry;
- `replay`: the cache the record run filled, every step reads them.

A step's time is the loop's own (`seconds` in the step logs: the step, the
cache's reads and writes, logging), the median over the steps after the first
`--warmup` (tracing). The three runs end with the same images: their largest
absolute difference is recorded. The per-step FLOPs (convolutions and matrix
products, `speed.graph_flops`) of an inline and a replayed step give each
step's floor at the measured float32 matrix-product rate.

Before the runs, `benchmarks/reference_pytorch.py` (IDC's inner step in eager
PyTorch, `--threads` threads) is timed in a subprocess; its median inner step
is the reference. Nothing else should run on the machine meanwhile.

Writes `benchmarks/results/<--name>.json` and `.md`.

Usage:
    python benchmarks/trajectory_speed.py
    python benchmarks/trajectory_speed.py --methods idc --steps 6
"""

import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from _environment import (
    environment,
    machine_text,
    versions_text,
    write_results,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = pathlib.Path(__file__).parent / "results"
MODES = ("inline", "record", "replay")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["udd", "idc"])
    parser.add_argument("--steps", type=int, default=10, help="Inner steps per run.")
    parser.add_argument("--warmup", type=int, default=2, help="Steps not timed.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--reference-repeats", type=int, default=5)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--cache-dir", default=None, help="Default: a temporary one.")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--name", default="trajectory-speed")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    return parser.parse_args(argv)


def reference_step_seconds(args):
    """Median inner step of `reference_pytorch.py`, run in a subprocess."""
    script = pathlib.Path(__file__).parent / "reference_pytorch.py"
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            str(script),
            "--repeats",
            str(args.reference_repeats),
            "--warmup",
            "2",
            "--threads",
            str(args.threads),
            "--out",
            out,
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        data = json.loads(
            (pathlib.Path(out) / "speed-reference-pytorch.json").read_text()
        )
    inner = data["timings"]["inner_step"]
    return {
        "command": " ".join(command[1:3] + command[3:-2]),
        "inner_step_seconds": inner["median"],
        "inner_step_cpu_seconds": inner["cpu_median"],
        "matching_step_seconds": data["timings"]["matching_step"]["median"],
    }


class StepTimes:
    """A distillation callback that keeps each step's `seconds`."""

    def __init__(self):
        self.seconds = []

    def on_step(self, step, total, logs):
        self.seconds.append(logs["seconds"])


def timed_run(method, mode, cache_dir, dataset, args):
    from udd_keras.distillation import DistillConfig, Distiller

    config = DistillConfig(
        "fashion_mnist",
        ipc=1,
        method=method,
        iterations=1,
        inner_steps=args.steps,
        precision="float32",
        seed=args.seed,
    )
    times = StepTimes()
    distiller = Distiller(
        config,
        dataset=dataset,
        trajectory_dir=None if mode == "inline" else cache_dir,
        callbacks=[times],
    )
    start = time.perf_counter()
    result = distiller.run()
    total = time.perf_counter() - start
    timed = times.seconds[args.warmup :]
    return (
        result.images,
        distiller,
        {
            "step_seconds": statistics.median(timed),
            "step_seconds_all": times.seconds,
            "run_seconds": total,
        },
    )


def step_flops(distiller, replay):
    """GFLOP of one inner step, inline or replayed (see the module docstring)."""
    import speed
    import tensorflow as tf

    engine = distiller.engine
    key = tf.constant([0, 0], tf.int32)
    boxes = engine.select_regions(key)
    real = engine.compute_real_gradients(key)
    matching = speed.matching_step_function(engine)
    per_class = speed.graph_flops(
        matching.get_concrete_function(key, boxes, None if not replay else real).graph
    )["total"]
    parts = {
        "select_regions": speed.graph_flops(
            engine.select_regions.get_concrete_function(key).graph
        )["total"],
        "update_images": engine.num_classes * per_class,
        "update_network": 0 if replay else speed.network_update_flops(engine)["total"],
    }
    parts["total"] = sum(parts.values())
    return {name: value / 1e9 for name, value in parts.items()}


def run(args):
    import numpy as np
    import speed
    import tensorflow as tf

    from udd_keras.data import load_dataset

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    reference = None if args.skip_reference else reference_step_seconds(args)
    gflops_rate = speed.matmul_gflops(2048)
    dataset = load_dataset("fashion_mnist", data_dir=args.data_dir)
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        cache_root = pathlib.Path(args.cache_dir or temporary)
        for method in args.methods:
            cache_dir = cache_root / f"{method}-{datetime.datetime.now():%H%M%S%f}"
            images, results = {}, {}
            for mode in MODES:
                images[mode], distiller, results[mode] = timed_run(
                    method, mode, cache_dir, dataset, args
                )
            flops = {
                "inline": step_flops(distiller, replay=False),
                "replay": step_flops(distiller, replay=True),
            }
            entry = next(iter(sorted(cache_dir.glob("*/step-*.npz"))))
            rows.append(
                {
                    "method": method,
                    **results,
                    "gflop": flops,
                    "entry_megabytes": entry.stat().st_size / 1e6,
                    "max_image_difference": {
                        mode: float(np.abs(images[mode] - images["inline"]).max())
                        for mode in MODES[1:]
                    },
                }
            )
    return {
        "benchmark": "trajectory_speed",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/trajectory_speed.py " + " ".join(sys.argv[1:]),
        "settings": {
            "dataset": "fashion_mnist",
            "ipc": 1,
            "width": 128,
            "precision": "float32",
            "steps": args.steps,
            "warmup": args.warmup,
            "seed": args.seed,
            "threads": args.threads,
        },
        "matmul_gflops_per_second": gflops_rate,
        "reference": reference,
        "rows": rows,
        **environment(threads=args.threads),
    }


def markdown(data):
    rate = data["matmul_gflops_per_second"]
    reference = data["reference"]
    settings = data["settings"]
    lines = [
        "# The inner step with the real-data trajectory replayed",
        "",
        f"Run {data['date']}; `{data['command']}`. FashionMNIST, IPC 1, ConvNet-3 "
        f"width 128, float32, {settings['threads']} threads; median step of "
        f"{settings['steps'] - settings['warmup']} after {settings['warmup']} "
        "warm-up steps, nothing else running. Floor: the step's convolution and "
        f"matrix-product GFLOP at the measured float32 matmul rate ({rate:.0f} "
        "GFLOP/s).",
        "",
    ]
    if reference is not None:
        lines += [
            "PyTorch reference (`benchmarks/reference_pytorch.py`, IDC's inner "
            f"step, eager): **{reference['inner_step_seconds']:.2f} s** per inner "
            "step, timed just before.",
            "",
        ]
    lines += [
        "| method | mode | s / step | GFLOP / step | x floor | reference / ours "
        "| images vs inline |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        for mode in MODES:
            seconds = row[mode]["step_seconds"]
            gflop = row["gflop"]["replay" if mode == "replay" else "inline"]["total"]
            floor = gflop / rate
            speedup = (
                f"{reference['inner_step_seconds'] / seconds:.2f}x"
                if reference
                else "-"
            )
            difference = row["max_image_difference"].get(mode)
            difference = "-" if difference is None else f"{difference:.1e}"
            lines.append(
                f"| {row['method']} | {mode} | {seconds:.2f} | {gflop:.1f} | "
                f"{seconds / floor:.2f} | {speedup} | {difference} |"
            )
    lines += [
        "",
        "A cache entry (one inner step): "
        + ", ".join(
            f"{row['method']} {row['entry_megabytes']:.1f} MB" for row in data["rows"]
        )
        + ". `record` is a first run (it computes and writes); `replay` reads a "
        "trajectory another run recorded on the same data and seed.",
        "",
        f"Machine: {machine_text(data['machine'])}.",
        f"Versions: {versions_text(data['versions'])}.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    data = run(args)
    write_results(args.out / args.name, data, markdown(data))
    print(markdown(data))


if __name__ == "__main__":
    main()
