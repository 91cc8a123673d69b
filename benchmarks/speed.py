"""Benchmark: time of the distillation steps and their FLOP efficiency.

Times, on FashionMNIST (28 px, ConvNet-3 width 128, IPC 1, the `udd` method):

- the matching step of one class: the real batch's gradient, the synthetic
  training images' gradient (second order) and the gradient of the matching +
  CFC loss with respect to the class's stored image;
- one inner step of Algorithm 1: region selection, the image update of all
  classes (`update_images`) and the network update (`update_network`);
- the region search of each scoring policy, per synthetic image (the paper's
  Table 2 time column).

Each time is the median of `--repeats` calls after `--warmup` calls (the first
call traces and compiles; its time is reported too). The matching step's FLOPs
are counted exactly from its traced graph (every convolution, convolution
backprop and matrix product, 2 FLOPs per multiply-add; element-wise work is
not counted), and compared with the machine's peak: cores x clock x
`--flops-per-cycle` (32 float32 FLOPs per cycle per core: two 8-wide FMA pipes,
AMD Zen 3/4 and Intel cores with AVX2), the clock from /proc/cpuinfo. The
throughput of a large float32 matrix product is recorded beside it.

Wall time depends on what else runs on the machine (the 1-minute load average
while timing is recorded with every time). Process CPU time (all threads
summed) is recorded too, and compared with the single-core FLOP limit: on a
shared machine it is the steadier measure of the work a step costs.

Writes `benchmarks/results/speed-<tag>.json` and `.md`.

Usage:
    python benchmarks/speed.py --tag before
    python benchmarks/speed.py --tag after
"""

import argparse
import datetime
import json
import os
import pathlib
import time

import _timing as timing
from _environment import environment as shared_environment
from _environment import versions_text, write_results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = pathlib.Path(__file__).parent / "results"
POLICIES = ("jitter", "activation", "gradient", "vote", "random", "uniform")
# Measured by the author on this 2-core CPU (PyTorch is not installed
# here): the reference implementation's matching step, and a plain TensorFlow
# port of it, same settings.
REFERENCE_MATCHING_MS = {"pytorch_reference": 330.0, "plain_tensorflow": 210.0}
_CONV_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter")
_MATMUL_OPS = ("MatMul", "BatchMatMulV2", "BatchMatMulV3")


def parse_args(argv=None):
    from udd_keras.distillation.config import PRECISIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="after", help="Results file suffix.")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--policies", nargs="+", default=list(POLICIES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision",
        default="float32",
        choices=PRECISIONS,
        help="DistillConfig.precision of the distillation network.",
    )
    parser.add_argument("--peak-size", type=int, default=2048)
    parser.add_argument("--flops-per-cycle", type=int, default=32)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    return parser.parse_args(argv)


def cpu_clock_ghz():
    """The CPU clock from /proc/cpuinfo, GHz, or None."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1]) / 1000
    except (OSError, ValueError):
        pass
    return None


def environment():
    import tensorflow as tf

    threading = tf.config.threading
    return shared_environment(
        intra_op_threads=threading.get_intra_op_parallelism_threads(),
        inter_op_threads=threading.get_inter_op_parallelism_threads(),
        onednn=os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
    )


def measure(function, repeats, warmup):
    """`_timing.measure` of `function()` with its TF results fetched to host."""
    import numpy as np
    import tensorflow as tf

    return timing.measure(
        lambda: tf.nest.map_structure(np.asarray, function()), repeats, warmup
    )


def graph_flops(graph):
    """FLOPs of the convolutions and matrix products of a traced graph.

    Counts only the ops the graph's outputs depend on (dead branches are pruned
    before running, as TF's runtime does), and descends into functions called
    from the graph (while loops, conditionals, nested `tf.function`s).
    Convolutions (forward and both backprops) count
    `2 * N * H_out * W_out * prod(kernel shape)`; matrix products
    `2 * M * N * K` (times the batch).

    Returns:
        dict: FLOPs per op type, and `"total"`.
    """
    import numpy as np

    counts = {}

    def add(kind, value):
        counts[kind] = counts.get(kind, 0) + int(value)

    def executed(graph):
        """The ops the graph's outputs depend on (what the runtime executes)."""
        stack = [t.op for t in graph.outputs] + list(graph.control_outputs)
        seen = {}
        while stack:
            op = stack.pop()
            if op.name in seen:
                continue
            seen[op.name] = op
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
        return seen.values() if seen else graph.get_operations()

    def visit(graph):
        for op in executed(graph):
            if op.type in _CONV_OPS:
                # The (N, H_out, W_out) of the forward conv: the output of
                # Conv2D, the `out_backprop` input of both backprops.
                if op.type == "Conv2D":
                    spatial = op.outputs[0].shape
                    kernel = op.inputs[1].shape
                else:
                    spatial = op.inputs[2].shape
                    if op.type == "Conv2DBackpropInput":
                        kernel = op.inputs[1].shape
                    else:
                        kernel = op.outputs[0].shape
                add(op.type, 2 * np.prod(spatial[:3]) * np.prod(kernel))
            elif op.type in _MATMUL_OPS:
                a = op.inputs[0].shape
                adjoint = "transpose_a" if op.type == "MatMul" else "adj_x"
                inner = a[-2] if op.get_attr(adjoint) else a[-1]
                add(op.type, 2 * np.prod(op.outputs[0].shape) * inner)
            for name in _called_functions(op):
                function = graph._get_function(name)
                if function is not None and hasattr(function, "graph"):
                    visit(function.graph)

    visit(graph)
    counts["total"] = sum(counts.values())
    return counts


def _called_functions(op):
    names = []
    for attr in ("f", "body", "cond", "then_branch", "else_branch"):
        try:
            value = op.get_attr(attr)
        except ValueError:
            continue
        name = getattr(value, "name", None)
        if name:
            names.append(name)
    return names


def matmul_gflops(size, repeats=5):
    """Best float32 matrix-product throughput, GFLOP/s of wall time."""
    import tensorflow as tf

    a = tf.random.stateless_normal([size, size], [1, 2])
    b = tf.random.stateless_normal([size, size], [3, 4])
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    product()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def build_distiller(dataset, policy, seed, precision="float32"):
    from udd_keras.distillation import DistillConfig, Distiller

    config = DistillConfig(
        "fashion_mnist", ipc=1, method="udd", seed=seed, precision=precision
    )
    if policy is not None:
        config.policy = policy
    return Distiller(config, dataset=dataset)


def matching_step_function(engine):
    """A `tf.function` (key, boxes, real=None) -> d loss / d image of class 0's
    matching step; `real`: every class's real gradients to use (a replayed
    step), or None to compute them inside."""
    import tensorflow as tf

    from udd_keras.distillation.engine import fold_in

    ipc = engine.config.ipc

    @tf.function
    def matching_step(key, boxes, real=None):
        class_id = tf.constant(0)
        synthetic = tf.convert_to_tensor(engine.images)[:ipc]
        with tf.GradientTape() as tape:
            tape.watch(synthetic)
            loss = engine.class_loss(
                class_id,
                synthetic,
                boxes[:ipc],
                fold_in(key, class_id),
                tf.convert_to_tensor(engine.class_centers),
                tf.convert_to_tensor(engine.centers_filled),
                real_gradients=None if real is None else [g[0] for g in real],
            )[0]
        return tape.gradient(loss, synthetic)

    return matching_step


def network_update_flops(engine):
    """FLOPs of `update_network`: one training pass over `net_images` images.

    Counted from the traced cross-entropy gradient of the engine's network
    (what `udd_keras.training.ClassifierStep` takes) for one image, times the
    images of the pass (the count is linear in the batch size); DSA, CutMix and
    the SGD update are element-wise and not counted.
    """
    import keras
    import tensorflow as tf

    image = tf.zeros((1, *engine.image_shape))
    target = tf.one_hot([0], engine.num_classes)

    @tf.function
    def gradients(images, targets):
        variables = engine.model.trainable_variables
        with tf.GradientTape() as tape:
            logits = engine.model(images, training=True)
            loss = tf.reduce_sum(
                keras.losses.categorical_crossentropy(targets, logits, from_logits=True)
            )
        return tape.gradient(loss, variables)

    per_image = graph_flops(gradients.get_concrete_function(image, target).graph)
    x, _ = engine._network_data()
    images = min(engine.config.net_images, int(x.shape[0]))
    return {kind: value * images for kind, value in per_image.items()}


def inner_step_flops(engine, matching_flops, key):
    """FLOPs of one inner step, by part: region selection, the matching steps of
    all classes (`update_images`) and the network update, and their `"total"`."""
    select = graph_flops(engine.select_regions.get_concrete_function(key).graph)
    parts = {
        "select_regions": select["total"],
        "update_images": engine.num_classes * matching_flops["total"],
        "update_network": network_update_flops(engine)["total"],
    }
    parts["total"] = sum(parts.values())
    return parts


def time_steps(dataset, args):
    """Times the matching step, the inner step and its parts (jitter policy)."""
    import tensorflow as tf

    from udd_keras.distillation.engine import fold_in

    distiller = build_distiller(dataset, None, args.seed, args.precision)
    engine = distiller.engine
    engine.reset_network(args.seed)
    key = tf.constant([args.seed, 0], tf.int32)
    boxes = engine.select_regions(key)
    engine.fill_centers(boxes)
    matching_step = matching_step_function(engine)
    counter = iter(range(10**6))

    def next_key():
        return fold_in(key, next(counter))

    def inner_step():
        step_key = next_key()
        step_boxes = engine.select_regions(step_key)
        losses = engine.update_images(step_key, step_boxes)
        return losses, engine.update_network(step_key)

    timings = {
        "matching_step": measure(
            lambda: matching_step(next_key(), boxes), args.repeats, args.warmup
        ),
        "select_regions": measure(
            lambda: engine.select_regions(next_key()), args.repeats, args.warmup
        ),
        "update_images": measure(
            lambda: engine.update_images(next_key(), boxes), args.repeats, args.warmup
        ),
        "update_network": measure(
            lambda: engine.update_network(next_key()), args.repeats, args.warmup
        ),
        "inner_step": measure(inner_step, args.repeats, args.warmup),
    }
    concrete = matching_step.get_concrete_function(key, boxes)
    flops = graph_flops(concrete.graph)
    inner_flops = inner_step_flops(engine, flops, key)
    config = engine.config
    settings = {
        "dataset": "fashion_mnist",
        "image_shape": list(engine.image_shape),
        "method": config.method,
        "ipc": config.ipc,
        "width": config.width,
        "depth": config.depth,
        "real_batch": config.real_batch,
        "synthetic_training_images_per_class": engine.training_images_per_image,
        "num_classes": engine.num_classes,
        "net_images": config.net_images,
        "net_batch": config.net_batch,
        "policy": config.policy,
        "num_regions": config.num_regions,
        "num_selected": config.num_selected,
        "jitters": config.jitters,
        "metric": config.metric,
        "cfc_weight": config.cfc_weight,
        "matching_augmentation": config.matching_augmentation,
        "net_augmentation": config.net_augmentation,
        "precision": config.precision,
    }
    return timings, flops, inner_flops, settings


def time_policies(dataset, args):
    """Region search time per synthetic image for each policy; seconds."""
    import tensorflow as tf

    from udd_keras.distillation.engine import fold_in

    rows = {}
    for policy in args.policies:
        distiller = build_distiller(dataset, policy, args.seed, args.precision)
        engine = distiller.engine
        engine.reset_network(args.seed)
        key = tf.constant([args.seed, 0], tf.int32)
        counter = iter(range(10**6))
        timing = measure(
            lambda engine=engine, counter=counter, key=key: engine.select_regions(
                fold_in(key, next(counter))
            ),
            args.repeats,
            args.warmup,
        )
        images = len(engine.labels)
        rows[policy] = {
            "images": images,
            "seconds_per_image": timing["median"] / images,
            **timing,
        }
        del distiller, engine
    return rows


def markdown(summary):
    timings = summary["timings"]
    flops = summary["matching_flops"]
    matching = timings["matching_step"]
    limit, core_limit = (
        summary["matching_flop_limit_s"],
        summary["matching_core_limit_s"],
    )
    by_op = ", ".join(
        f"{kind} {value / 1e9:.2f}" for kind, value in flops.items() if kind != "total"
    )

    def ms(seconds):
        return f"{1000 * seconds:.1f}"

    lines = [
        f"# Speed of the distillation steps ({summary['tag']})",
        "",
        f"Run {summary['finished']}; `python benchmarks/speed.py --tag "
        f"{summary['tag']} --repeats {summary['repeats']} --warmup "
        f"{summary['warmup']}{_precision_flag(summary)}`. "
        f"Median of {summary['repeats']} calls after "
        f"{summary['warmup']} warm-up calls; `first` is the first call "
        "(tracing included); CPU is process CPU time, all threads summed; load "
        "is the 1-minute load average while timing.",
        "",
        "| step | median (ms) | min (ms) | CPU median (ms) | first call (ms) | load |",
        "|---|---|---|---|---|---|",
    ]
    for name in (
        "matching_step",
        "select_regions",
        "update_images",
        "update_network",
        "inner_step",
    ):
        lines.append(_timing_row(name, timings[name], ms))
    lines += [
        "",
        f"Matching step (one class): {flops['total'] / 1e9:.2f} GFLOP executed "
        f"({by_op} GFLOP). Peak estimate {summary['peak_gflops']:.0f} GFLOP/s "
        f"({summary['clock_ghz']:.2f} GHz x {summary['flops_per_cycle']} FLOP/cycle "
        f"x {summary['machine']['cpu_count']} cores; a {summary['peak_size']}^2 "
        f"matmul reached {summary['matmul_gflops']:.0f} GFLOP/s wall), so the "
        f"FLOP limit is {ms(limit)} ms wall, {ms(core_limit)} ms of CPU time.",
        f"Achieved: {flops['total'] / matching['median'] / 1e9:.1f} GFLOP/s wall "
        f"= {matching['median'] / limit:.2f}x the limit; "
        f"{flops['total'] / matching['cpu_median'] / 1e9:.1f} GFLOP per CPU second "
        f"= {matching['cpu_median'] / core_limit:.2f}x the limit.",
        f"Against the measured matmul throughput instead (the clock in "
        f"/proc/cpuinfo is the nominal one; the matmul shows the cores run "
        f"faster): limit {ms(summary['matching_matmul_limit_s'])} ms wall, "
        f"achieved {matching['median'] / summary['matching_matmul_limit_s']:.2f}x "
        "that limit.",
        *_inner_step_lines(summary, ms),
        *_precision_note(summary),
        *_reference_lines(summary, ms),
        "",
        *_before_after_lines(summary, ms),
        "## Region search per synthetic image (paper Table 2, time column)",
        "",
        "| policy | ms / image | select_regions median (ms) | CPU median (ms) "
        "| images |",
        "|---|---|---|---|---|",
    ]
    for policy, row in summary["policies"].items():
        lines.append(
            f"| {policy} | {ms(row['seconds_per_image'])} | {ms(row['median'])} | "
            f"{ms(row['cpu_median'])} | {row['images']} |"
        )
    machine, versions = summary["machine"], summary["versions"]
    lines += [
        "",
        "Settings: "
        + ", ".join(f"{key} {value}" for key, value in summary["settings"].items())
        + f"; seed {summary['seed']}.",
        f"Machine: {machine['platform']}, {machine['processor']}, "
        f"{machine['cpu_count']} CPUs, {machine['gpus']} GPUs, TF threads intra "
        f"{machine['intra_op_threads']} / inter {machine['inter_op_threads']} "
        "(0 = TF's default, one per core), oneDNN "
        f"{machine['onednn']}.",
        "Versions: " + versions_text(versions) + ".",
        "",
    ]
    return "\n".join(lines)


def _inner_step_lines(summary, ms):
    """The inner step's FLOPs, its limit, and the rate half the reference needs."""
    flops = summary.get("inner_step_flops")
    if not flops:
        return []
    median = summary["timings"]["inner_step"]["median"]
    limit = summary["inner_step_matmul_limit_s"]
    gflop = {part: value / 1e9 for part, value in flops.items()}
    lines = [
        f"Inner step: {gflop['total']:.1f} GFLOP (select_regions "
        f"{gflop['select_regions']:.2f}, update_images {gflop['update_images']:.1f}"
        f" = {summary['settings']['num_classes']} matching steps, update_network "
        f"{gflop['update_network']:.1f}). At the measured matmul rate its limit is "
        f"{ms(limit)} ms; achieved {ms(median)} ms = {median / limit:.2f}x "
        f"({gflop['total'] / median:.1f} GFLOP/s).",
    ]
    reference = summary.get("reference", {}).get("timings", {}).get("inner_step")
    if reference:
        half = reference["median"] / 2
        needed = gflop["total"] / half
        lines.append(
            f"Half the PyTorch reference's inner step ({ms(half)} ms) needs "
            f"{needed:.1f} GFLOP/s over the whole step, element-wise work "
            f"included: {100 * needed / summary['matmul_gflops']:.0f}% of the "
            "measured matmul rate."
        )
    return lines


def _precision_flag(summary):
    precision = summary["settings"].get("precision", "float32")
    return "" if precision == "float32" else f" --precision {precision}"


def _precision_note(summary):
    if summary["settings"].get("precision", "float32") == "float32":
        return []
    return [
        "These limits are float32's: with bfloat16 convolutions (AVX512_BF16 "
        "dot products) the same FLOPs can run at up to twice these rates, so "
        "the ratios are not comparable with a float32 run's.",
    ]


def _reference_lines(summary, ms):
    reference = summary.get("reference")
    if not reference:
        return [
            "Reference times of the same matching step on this CPU (from the "
            "issue, not measured here): PyTorch reference "
            f"{REFERENCE_MATCHING_MS['pytorch_reference']:.0f} ms, plain "
            f"TensorFlow {REFERENCE_MATCHING_MS['plain_tensorflow']:.0f} ms.",
        ]
    timings = summary["timings"]
    lines = [
        "",
        f"PyTorch reference implementation, measured on this machine "
        f"({reference['source']}, torch {reference['torch']}):",
        "",
        "| step | PyTorch reference (ms) | udd-keras (ms) | speed-up |",
        "|---|---|---|---|",
    ]
    for name in ("matching_step", "update_network", "inner_step"):
        if name in reference["timings"]:
            theirs = reference["timings"][name]["median"]
            ours = timings[name]["median"]
            lines.append(
                f"| {name} | {ms(theirs)} | {ms(ours)} | {theirs / ours:.2f}x |"
            )
    return lines


def _before_after_lines(summary, ms):
    before = summary.get("before")
    if not before:
        return []
    lines = [
        f"## Before and after ({before['source']})",
        "",
        "| step | before (ms) | after (ms) | speed-up | before CPU (ms) | "
        "after CPU (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for name, after in summary["timings"].items():
        if name not in before["timings"]:
            continue
        old = before["timings"][name]
        lines.append(
            f"| {name} | {ms(old['median'])} | {ms(after['median'])} | "
            f"{old['median'] / after['median']:.2f}x | {ms(old['cpu_median'])} | "
            f"{ms(after['cpu_median'])} |"
        )
    for policy, after in summary["policies"].items():
        old = before["policies"].get(policy)
        if old:
            lines.append(
                f"| search: {policy} (per image) | {ms(old['seconds_per_image'])} "
                f"| {ms(after['seconds_per_image'])} | "
                f"{old['seconds_per_image'] / after['seconds_per_image']:.2f}x "
                "| | |"
            )
    return [*lines, ""]


def _load_comparisons(summary, out):
    """Adds the `before` run and the PyTorch reference when their files exist."""
    before = out / "speed-before.json"
    if summary["tag"] != "before" and before.exists():
        data = json.loads(before.read_text())
        summary["before"] = {
            "source": f"{before.name}, run {data['finished']}",
            "timings": data["timings"],
            "policies": data["policies"],
        }
    reference = out / "speed-reference-pytorch.json"
    if reference.exists():
        data = json.loads(reference.read_text())
        summary["reference"] = {
            "source": reference.name,
            "torch": data.get("versions", {}).get("torch", "?"),
            "timings": data["timings"],
        }


def _timing_row(name, timing, ms):
    return (
        f"| {name} | {ms(timing['median'])} | {ms(timing['min'])} | "
        f"{ms(timing['cpu_median'])} | {ms(timing['first'])} | "
        f"{timing['load_average']:.1f} |"
    )


def main(argv=None):
    args = parse_args(argv)
    from udd_keras.data import load_dataset

    dataset = load_dataset("fashion_mnist", data_dir=args.data_dir, seed=args.seed)
    summary = {"tag": args.tag, **environment()}
    clock = cpu_clock_ghz()
    cores = os.cpu_count()
    summary["clock_ghz"] = clock
    summary["flops_per_cycle"] = args.flops_per_cycle
    summary["core_peak_gflops"] = clock * args.flops_per_cycle
    summary["peak_gflops"] = summary["core_peak_gflops"] * cores
    summary["peak_size"] = args.peak_size
    summary["matmul_gflops"] = matmul_gflops(args.peak_size)
    timings, flops, inner_flops, settings = time_steps(dataset, args)
    summary.update(
        timings=timings,
        matching_flops=flops,
        inner_step_flops=inner_flops,
        inner_step_matmul_limit_s=inner_flops["total"]
        / (summary["matmul_gflops"] * 1e9),
        matching_flop_limit_s=flops["total"] / (summary["peak_gflops"] * 1e9),
        matching_core_limit_s=flops["total"] / (summary["core_peak_gflops"] * 1e9),
        matching_matmul_limit_s=flops["total"] / (summary["matmul_gflops"] * 1e9),
        settings=settings,
        seed=args.seed,
        repeats=args.repeats,
        warmup=args.warmup,
    )
    summary["policies"] = time_policies(dataset, args)
    summary["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    _load_comparisons(summary, args.out)
    write_results(args.out / f"speed-{args.tag}", summary, markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
