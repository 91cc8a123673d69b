"""Benchmark: where the time of an inner step goes, op type by op type.

Runs the three compiled parts of an inner step of Algorithm 1 (`select_regions`,
`update_images`, `update_network`; the settings of `speed.py`: FashionMNIST,
ConvNet-3 width 128, IPC 1, the `udd` method) under the TensorFlow profiler and
sums the time of every TF op by op type (`_MklNativeConv2DBackpropFilter`,
`Mul`, `Mean`, ...) and by class: convolutions (forward and both backprops),
matrix products, and everything else (normalisation, activations, pooling,
augmentation, optimizer updates: element-wise and reduction work).

TF runs independent ops concurrently by default, so per-op times overlap and do
not add up to the wall time; this script sets one inter-op thread (each op
still uses every core), so that they do. Its wall times are therefore
`speed.py`'s only roughly; the shares are what it measures.

The convolution time is a floor for the step as written: it is what the step
would take if every other op cost nothing. Beside it, the FLOPs of the
convolutions (counted as in `speed.py`) give the rate the convolution kernels
reach.

Writes `benchmarks/results/profile-<tag>.json` and `.md`.

Usage:
    python benchmarks/step_profile.py
    python benchmarks/step_profile.py --precision mixed_bfloat16 --tag bf16
"""

import argparse
import collections
import datetime
import glob
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import speed  # noqa: E402
from _environment import environment, versions_text, write_results  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results"
# Trace events that wrap ops rather than being ops.
_WRAPPERS = ("ExecutorState::Process", "ParallelFor")


def parse_args(argv=None):
    from udd_keras.distillation.config import PRECISIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="float32", help="Results file suffix.")
    parser.add_argument("--calls", type=int, default=3, help="profiled calls per part")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument("--top", type=int, default=12, help="op types listed")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    return parser.parse_args(argv)


def op_class(op_type):
    """`"convolution"`, `"matmul"` or `"other"` for a TF op type."""
    if "Conv2D" in op_type:
        return "convolution"
    if "MatMul" in op_type:
        return "matmul"
    return "other"


def op_times(xplane_path):
    """Seconds per op type in a profile, summed over TF's executor threads.

    Args:
        xplane_path: a `*.xplane.pb` written by `tf.profiler.experimental`.

    Returns:
        `(seconds, counts)`: two `collections.Counter`s keyed by op type.
    """
    try:
        from tsl.profiler.protobuf import xplane_pb2
    except ImportError:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(pathlib.Path(xplane_path).read_bytes())
    seconds, counts = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {key: value.name for key, value in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if name in _WRAPPERS or ":" not in name:
                    continue
                op_type = name.rsplit(":", 1)[1]
                seconds[op_type] += event.duration_ps * 1e-12
                counts[op_type] += 1
    return seconds, counts


def profile(function, calls, logdir):
    """Profiles `calls` calls of `function`; returns (wall s per call, op times)."""
    import numpy as np
    import tensorflow as tf

    tf.profiler.experimental.start(str(logdir))
    start = time.perf_counter()
    for _ in range(calls):
        tf.nest.map_structure(np.asarray, function())
    wall = (time.perf_counter() - start) / calls
    tf.profiler.experimental.stop()
    path = sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1]
    seconds, counts = op_times(path)
    return wall, {
        op: {"seconds": seconds[op] / calls, "count": counts[op] / calls}
        for op in seconds
    }


def summarize(ops):
    """Seconds per op class of one part's `{op type: {"seconds", ...}}`."""
    classes = collections.Counter()
    for op, row in ops.items():
        classes[op_class(op)] += row["seconds"]
    return {name: classes[name] for name in ("convolution", "matmul", "other")}


def run(args):
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    from udd_keras.data import load_dataset
    from udd_keras.distillation.engine import fold_in

    dataset = load_dataset("fashion_mnist", data_dir=args.data_dir, seed=args.seed)
    engine = speed.build_distiller(dataset, None, args.seed, args.precision).engine
    engine.reset_network(args.seed)
    key = tf.constant([args.seed, 0], tf.int32)
    boxes = engine.select_regions(key)
    engine.fill_centers(boxes)
    counter = iter(range(10**6))

    def next_key():
        return fold_in(key, next(counter))

    functions = {
        "select_regions": lambda: engine.select_regions(next_key()),
        "update_images": lambda: engine.update_images(next_key(), boxes),
        "update_network": lambda: engine.update_network(next_key()),
    }
    matching = speed.graph_flops(
        speed.matching_step_function(engine).get_concrete_function(key, boxes).graph
    )
    flops = speed.inner_step_flops(engine, matching, key)
    parts = {}
    with tempfile.TemporaryDirectory() as logs:
        for name, function in functions.items():
            for _ in range(args.warmup):
                tf.nest.map_structure(np.asarray, function())
            wall, ops = profile(function, args.calls, pathlib.Path(logs) / name)
            parts[name] = {
                "wall_seconds": wall,
                "gflop": flops[name] / 1e9,
                "classes": summarize(ops),
                "ops": dict(sorted(ops.items(), key=lambda item: -item[1]["seconds"])),
            }
    return parts, engine.config


def markdown(report):
    parts = report["parts"]

    def ms(seconds):
        return f"{1000 * seconds:.1f}"

    lines = [
        f"# Where an inner step's time goes ({report['tag']})",
        "",
        f"Run {report['finished']}; `{report['command']}`. One inter-op thread "
        "(ops run one after another, each on every core), so op times add up; "
        f"mean of {report['calls']} profiled calls per part after "
        f"{report['warmup']} warm-up calls.",
        "",
        "| part | wall (ms) | convolutions (ms) | matmul (ms) | other ops (ms) "
        "| GFLOP | convolution GFLOP/s |",
        "|---|---|---|---|---|---|---|",
    ]
    totals = collections.Counter()
    for name, part in parts.items():
        classes = part["classes"]
        rate = part["gflop"] / classes["convolution"] if classes["convolution"] else 0
        lines.append(
            f"| {name} | {ms(part['wall_seconds'])} | {ms(classes['convolution'])} "
            f"| {ms(classes['matmul'])} | {ms(classes['other'])} | "
            f"{part['gflop']:.1f} | {rate:.0f} |"
        )
        totals.update(wall=part["wall_seconds"], gflop=part["gflop"], **classes)
    lines += [
        f"| inner step | {ms(totals['wall'])} | {ms(totals['convolution'])} | "
        f"{ms(totals['matmul'])} | {ms(totals['other'])} | {totals['gflop']:.1f} "
        f"| {totals['gflop'] / totals['convolution']:.0f} |",
        "",
        f"Floor of the step as written (its convolutions and matrix products "
        f"alone): {ms(totals['convolution'] + totals['matmul'])} ms.",
    ]
    reference = report.get("reference_inner_step_seconds")
    if reference:
        lines.append(
            f"Half the PyTorch reference's inner step: {ms(reference / 2)} ms "
            f"(speed-reference-pytorch.json), which leaves "
            f"{ms(reference / 2 - totals['convolution'] - totals['matmul'])} ms "
            "for all other ops."
        )
    lines += ["", f"Largest op types, all parts (top {report['top']}):", ""]
    merged = collections.Counter()
    counts = collections.Counter()
    for part in parts.values():
        for op, row in part["ops"].items():
            merged[op] += row["seconds"]
            counts[op] += row["count"]
    lines += ["| op type | class | ms per inner step | calls |", "|---|---|---|---|"]
    for op, seconds in merged.most_common(report["top"]):
        lines.append(f"| {op} | {op_class(op)} | {ms(seconds)} | {counts[op]:.0f} |")
    machine, versions = report["machine"], report["versions"]
    lines += [
        "",
        "Settings: "
        + ", ".join(f"{key} {value}" for key, value in report["settings"].items())
        + f"; seed {report['seed']}.",
        f"Machine: {machine['platform']}, {machine['processor']}, "
        f"{machine['cpu_count']} CPUs. Versions: " + versions_text(versions) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    parts, config = run(args)
    report = {
        "tag": args.tag,
        "command": "python benchmarks/step_profile.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        **environment(inter_op_threads=1),
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        "calls": args.calls,
        "warmup": args.warmup,
        "seed": args.seed,
        "top": args.top,
        "settings": {
            "dataset": "fashion_mnist",
            "method": config.method,
            "ipc": config.ipc,
            "width": config.width,
            "real_batch": config.real_batch,
            "net_images": config.net_images,
            "net_batch": config.net_batch,
            "policy": config.policy,
            "precision": config.precision,
        },
        "parts": parts,
    }
    reference = args.out / "speed-reference-pytorch.json"
    if reference.exists():
        timings = json.loads(reference.read_text())["timings"]
        report["reference_inner_step_seconds"] = timings["inner_step"]["median"]
    write_results(args.out / f"profile-{args.tag}", report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
