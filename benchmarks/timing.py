"""The timing pipeline and its measures: `measure(args) -> dict` of named values.

`run` calls an experiment's measure function once per variant, with `args` the
experiment's `shared` parameters, the variant's `overrides` and `--set` ones
(plus `seed`, `repeats`, `steps`, `workdir` from the command line), and writes
one row of named values per variant. A measure is any function of that shape,
named in its spec as `"module:function"`. The step measures use the settings of
the paper's FashionMNIST runs: IPC 1, ConvNet-3 width 128, the `udd` method.

`timed` imports neither TensorFlow nor PyTorch (`reference_pytorch.py` uses it).
"""

import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

_CONV_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter")
_MATMUL_OPS = ("MatMul", "BatchMatMulV2", "BatchMatMulV3")
STEPS = ("select_regions", "update_images", "update_network", "inner_step")


def timed(function, repeats, warmup):
    """Times `function()`; seconds of wall and process CPU time (all threads).

    Returns:
        dict with `first` (the first call, tracing included), `median`, `min`,
        `cpu_median`, `load_average` (1-minute load while timing) and `runs`.
    """

    def once():
        start, cpu = time.perf_counter(), time.process_time()
        function()
        return time.perf_counter() - start, time.process_time() - cpu

    first = once()[0]
    for _ in range(max(0, warmup - 1)):
        once()
    load = os.getloadavg()[0]
    runs, cpu = zip(*[once() for _ in range(max(1, repeats))], strict=True)
    return {
        "first": first,
        "median": statistics.median(runs),
        "min": min(runs),
        "cpu_median": statistics.median(cpu),
        "load_average": (load + os.getloadavg()[0]) / 2,
        "runs": list(runs),
    }


def fetched(function):
    """`function` with its TensorFlow results fetched to host (so it finishes)."""
    import numpy as np
    import tensorflow as tf

    return lambda: tf.nest.map_structure(np.asarray, function())


def graph_flops(graph):
    """FLOPs of the convolutions and matrix products a traced graph executes.

    Descends into called functions (loops, conditionals); convolutions count
    `2 * N * H_out * W_out * prod(kernel)`, matrix products `2 * M * N * K`.
    Element-wise work is not counted. Returns `{op type: FLOPs, "total": ...}`.
    """
    import numpy as np

    counts = {}

    def executed(graph):
        stack = [t.op for t in graph.outputs] + list(graph.control_outputs)
        seen = {}
        while stack:
            op = stack.pop()
            if op.name not in seen:
                seen[op.name] = op
                stack.extend(t.op for t in op.inputs)
                stack.extend(op.control_inputs)
        return seen.values() if seen else graph.get_operations()

    def visit(graph):
        for op in executed(graph):
            flops = 0
            if op.type == "Conv2D":
                flops = np.prod(op.outputs[0].shape[:3]) * np.prod(op.inputs[1].shape)
            elif op.type in _CONV_OPS:
                kernel = op.inputs[1] if "Input" in op.type else op.outputs[0]
                flops = np.prod(op.inputs[2].shape[:3]) * np.prod(kernel.shape)
            elif op.type in _MATMUL_OPS:
                a = op.inputs[0].shape
                adjoint = "transpose_a" if op.type == "MatMul" else "adj_x"
                inner = a[-2] if op.get_attr(adjoint) else a[-1]
                flops = np.prod(op.outputs[0].shape) * inner
            if flops:
                counts[op.type] = counts.get(op.type, 0) + 2 * int(flops)
            for attr in ("f", "body", "cond", "then_branch", "else_branch"):
                try:
                    name = getattr(op.get_attr(attr), "name", None)
                except ValueError:
                    continue
                function = graph._get_function(name) if name else None
                if function is not None and hasattr(function, "graph"):
                    visit(function.graph)

    visit(graph)
    counts["total"] = sum(counts.values())
    return counts


def matmul_gflops(size=2048, repeats=5):
    """Best float32 matrix-product throughput, GFLOP/s of wall time."""
    import tensorflow as tf

    a = tf.random.stateless_normal([size, size], [1, 2])
    b = tf.random.stateless_normal([size, size], [3, 4])
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    product()
    best = min(timed(lambda: product().numpy(), repeats, 0)["runs"])
    return 2 * size**3 / best / 1e9


def engine_for(args, policy=None, dataset=None, strategy=None, **settings):
    """A `DistillationEngine` at the speed settings, network reset, centres filled."""
    import tensorflow as tf

    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig, Distiller

    config = DistillConfig(
        getattr(args, "dataset", "fashion_mnist"),
        ipc=getattr(args, "ipc", 1),
        method=getattr(args, "method", "udd"),
        seed=args.seed,
        precision=getattr(args, "precision", "float32"),
        width=getattr(args, "width", 128),
        **({"policy": policy} if policy else {}),
        **settings,
    )
    dataset = dataset or load_dataset(config.dataset, seed=args.seed)
    engine = Distiller(config, dataset=dataset, strategy=strategy).engine
    engine.reset_network(args.seed)
    key = tf.constant([args.seed, 0], tf.int32)
    boxes = engine.select_regions(key)
    engine.fill_centers(boxes)
    return engine, key, boxes


def matching_step_function(engine):
    """`tf.function (key, boxes, real=None) -> d loss / d image` of class 0."""
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


def inner_step_gflop(engine, key, boxes, replay=False):
    """GFLOP of one inner step by part (region selection, the image update of
    every class, the network update: none when the trajectory is replayed)."""
    import keras
    import tensorflow as tf

    real = engine.compute_real_gradients(key) if replay else None
    matching = matching_step_function(engine).get_concrete_function(key, boxes, real)

    @tf.function
    def network_gradients(images, targets):
        with tf.GradientTape() as tape:  # the sum inside: the tape must see it
            logits = engine.model(images, training=True)
            loss = tf.reduce_sum(
                keras.losses.categorical_crossentropy(targets, logits, True)
            )
        return tape.gradient(loss, engine.model.trainable_variables)

    one = network_gradients.get_concrete_function(
        tf.zeros((1, *engine.image_shape)), tf.one_hot([0], engine.num_classes)
    )
    images = min(engine.config.net_images, int(engine._network_data()[0].shape[0]))
    select = engine.select_regions.get_concrete_function(key).graph
    parts = {
        "select_regions": graph_flops(select)["total"],
        "update_images": engine.num_classes * graph_flops(matching.graph)["total"],
        "update_network": 0 if replay else images * graph_flops(one.graph)["total"],
    }
    parts["total"] = sum(parts.values())
    return {name: value / 1e9 for name, value in parts.items()}


def step_speed(args):
    """The matching step, the inner step and its parts, against the FLOP floor;
    the region search of each scoring policy per synthetic image."""
    from udd_keras.distillation.engine import fold_in

    engine, key, boxes = engine_for(args)
    counter = iter(range(1, 10**6))

    def next_key():
        return fold_in(key, next(counter))

    def inner_step():
        step_key = next_key()
        losses = engine.update_images(step_key, engine.select_regions(step_key))
        return losses, engine.update_network(step_key)

    matching = matching_step_function(engine)
    functions = {
        "matching_step": lambda: matching(next_key(), boxes),
        "select_regions": lambda: engine.select_regions(next_key()),
        "update_images": lambda: engine.update_images(next_key(), boxes),
        "update_network": lambda: engine.update_network(next_key()),
        "inner_step": inner_step,
    }
    values = {
        name: timed(fetched(f), args.repeats, args.warmup)
        for name, f in functions.items()
    }
    gflop = inner_step_gflop(engine, key, boxes)
    rate = matmul_gflops(args.peak_size)
    values.update(inner_step_gflop=gflop, matmul_gflops_per_second=rate)
    values["inner_step_floor_seconds"] = gflop["total"] / rate
    values["inner_step_x_floor"] = (
        values["inner_step"]["median"] / values["inner_step_floor_seconds"]
    )
    for policy in args.policies:
        policy_engine, _, _ = engine_for(args, policy=policy)
        search = timed(
            fetched(lambda e=policy_engine: e.select_regions(next_key())),
            args.repeats,
            args.warmup,
        )
        values[f"search_{policy}_seconds_per_image"] = search["median"] / len(
            policy_engine.labels
        )
    return values


def op_times(xplane_path):
    """Seconds and calls per TF op type in a profile, over the executor threads."""
    import collections

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
                if ":" not in name or name.startswith(("ExecutorState", "ParallelFor")):
                    continue
                seconds[name.rsplit(":", 1)[1]] += event.duration_ps * 1e-12
                counts[name.rsplit(":", 1)[1]] += 1
    return seconds, counts


def op_class(op_type):
    """`"convolution"`, `"matmul"` or `"other"` for a TF op type."""
    if "Conv2D" in op_type:
        return "convolution"
    return "matmul" if "MatMul" in op_type else "other"


def step_profile(args):
    """Where an inner step's time goes, by op class, under the TF profiler (one
    inter-op thread, so op times add up); the convolutions' time is the floor."""
    import collections

    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    engine, key, boxes = engine_for(args)
    functions = {
        "select_regions": lambda: engine.select_regions(key),
        "update_images": lambda: engine.update_images(key, boxes),
        "update_network": lambda: engine.update_network(key),
    }
    gflop = inner_step_gflop(engine, key, boxes)
    values, merged = {}, collections.Counter()
    with tempfile.TemporaryDirectory() as logs:
        for name, function in functions.items():
            for _ in range(args.warmup):
                fetched(function)()
            tf.profiler.experimental.start(f"{logs}/{name}")
            wall = timed(fetched(function), args.repeats, 0)["median"]
            tf.profiler.experimental.stop()
            seconds, _ = op_times(
                sorted(pathlib.Path(logs, name).rglob("*.xplane.pb"))[-1]
            )
            # The profile holds the repeats and the first call.
            classes = collections.Counter()
            for op, value in seconds.items():
                classes[op_class(op)] += value / (args.repeats + 1)
                merged[op] += value / (args.repeats + 1)
            values[name] = {"wall_seconds": wall, "gflop": gflop[name], **classes}
    values["floor_seconds"] = sum(
        v.get("convolution", 0) + v.get("matmul", 0) for v in values.values()
    )
    values["top_ops_seconds"] = dict(merged.most_common(args.top))
    return values


def reference_pytorch(args):
    """The PyTorch reference's steps (`reference_pytorch.py`), run by `python`
    (its own PyTorch environment; `--set python=PATH`) in a subprocess."""
    script = pathlib.Path(__file__).resolve().parent / "reference_pytorch.py"
    with tempfile.TemporaryDirectory() as out:
        command = [args.python or sys.executable, str(script), "--repeats"]
        command += [str(args.repeats)]
        command += ["--warmup", str(args.warmup), "--out", out]
        command += ["--threads", str(args.threads)] if args.threads else []
        subprocess.run(command, check=True)
        data = json.loads(pathlib.Path(out, "speed-reference-pytorch.json").read_text())
    return {"versions": data.get("versions"), **data["timings"]}


class _StepSeconds:
    def __init__(self):
        self.seconds = []

    def on_step(self, step, total, logs):
        self.seconds.append(logs["seconds"])


def trajectory_speed(args):
    """The inner step inline, recording and replaying the real-data trajectory
    (same images), against its FLOP floor at the measured matmul rate."""
    import numpy as np

    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig, Distiller

    dataset, values, images = load_dataset("fashion_mnist"), {}, {}
    rate = matmul_gflops()
    with tempfile.TemporaryDirectory() as cache:
        for mode in ("inline", "record", "replay"):
            config = DistillConfig(
                "fashion_mnist",
                ipc=1,
                method=args.method,
                iterations=1,
                inner_steps=args.steps,
                precision="float32",
                seed=args.seed,
            )
            times = _StepSeconds()
            distiller = Distiller(
                config,
                dataset=dataset,
                callbacks=[times],
                trajectory_dir=None if mode == "inline" else cache,
            )
            images[mode] = distiller.run().images
            step = statistics.median(times.seconds[args.warmup :])
            engine = distiller.engine
            key = __import__("tensorflow").constant([0, 0], "int32")
            gflop = inner_step_gflop(
                engine, key, engine.select_regions(key), replay=mode == "replay"
            )["total"]
            values[mode] = {
                "step_seconds": step,
                "gflop": gflop,
                "x_floor": step / (gflop / rate),
                "max_image_difference": float(
                    np.abs(images[mode] - images["inline"]).max()
                ),
            }
    values["matmul_gflops_per_second"] = rate
    return values


def distribution_speed(args):
    """The engine's steps under no strategy, `one` and `mirrored` on logical CPU
    devices, interleaved call by call; and how far their images drift apart."""
    import numpy as np

    from udd_keras.distribute import make_strategy, split_cpu

    if args.devices:
        split_cpu(args.devices)
    from udd_keras.data import load_dataset

    settings = {"real_batch": args.real_batch, "net_images": args.net_images}
    dataset, values, engines = load_dataset(args.dataset), {}, {}
    for name in ("default", "one", "mirrored"):
        strategy = None if name == "default" else make_strategy(name)
        engines[name] = engine_for(args, None, dataset, strategy, **settings)
    for name, (engine, key, boxes) in engines.items():
        steps = {
            "select_regions": lambda e=engine, k=key: e.select_regions(k),
            "update_images": lambda e=engine, k=key, b=boxes: e.update_images(k, b),
            "update_network": lambda e=engine, k=key: e.update_network(k),
        }
        values[name] = {
            s: timed(fetched(f), args.repeats, args.warmup)["median"]
            for s, f in steps.items()
        }
    default = engines["default"][0].images.numpy()
    for name in ("one", "mirrored"):
        values[name]["max_image_difference"] = float(
            np.abs(engines[name][0].images.numpy() - default).max()
        )
    return values


FIRST_STEP_CHILD = """
import json, sys, tempfile, time
start = time.perf_counter()
from udd_keras.data import load_dataset
from udd_keras.distillation import distill
digits = load_dataset("digits")
loaded, calls = time.perf_counter() - start, []
for _ in range(2):
    with tempfile.TemporaryDirectory() as folder:
        begin = time.perf_counter()
        run = distill(digits, ipc=1, out_dir=folder + "/r", **json.loads(sys.argv[1]))
        calls.append([time.perf_counter() - begin, float(abs(run.images).sum())])
print(json.dumps({"import_and_load": loaded, "calls": calls}))
"""


def _child_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("UDD_KERAS_VERBOSE", None)
    return env


def first_step(args):
    """A new process's import, first and second `distill` call, and the whole
    `udd-keras distill` command (median of `repeats` fresh processes)."""
    runs, commands = [], []
    for _ in range(args.repeats):
        child = subprocess.run(
            [sys.executable, "-c", FIRST_STEP_CHILD, json.dumps(args.distill)],
            capture_output=True,
            text=True,
            env=_child_env(),
            check=True,
        )
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "udd_keras.cli.main",
                    *args.command,
                    "--out",
                    folder,
                ],
                capture_output=True,
                env=_child_env(),
                check=True,
            )
            commands.append(time.perf_counter() - start)
    return {
        "import_and_load_seconds": statistics.median(
            r["import_and_load"] for r in runs
        ),
        "first_call_seconds": statistics.median(r["calls"][0][0] for r in runs),
        "second_call_seconds": statistics.median(r["calls"][1][0] for r in runs),
        "command_seconds": statistics.median(commands),
        "image_checksums": sorted({round(c[1], 3) for r in runs for c in r["calls"]}),
    }


def cli_help(args):
    """`udd-keras COMMAND --help` in fresh processes: median seconds, stderr bytes,
    and whether TensorFlow was imported."""
    from udd_keras.cli.main import COMMANDS

    script = shutil.which("udd-keras")
    entry = [script] if script else [sys.executable, "-m", "udd_keras.cli.main"]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    probe = (
        "import sys\nfrom udd_keras.cli.main import main\ntry:\n    main(sys.argv[1:])"
        "\nexcept SystemExit:\n    pass\nprint('tensorflow' in sys.modules)"
    )
    values = {}
    for command in [[], *([name] for name in COMMANDS)]:
        stderr = []

        def run_help(command=command, stderr=stderr):
            argv = [*entry, *command, "--help"]
            done = subprocess.run(argv, capture_output=True, env=env, check=True)
            stderr.append(len(done.stderr))

        seconds = timed(run_help, args.repeats, 0)
        imports = subprocess.run(
            [sys.executable, "-c", probe, *command, "--help"],
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        values[" ".join(["udd-keras", *command, "--help"])] = {
            "median_seconds": seconds["median"],
            "stderr_bytes": max(stderr),
            "imports_tensorflow": imports == "True",
        }
    return values


def instance_norm_ab(args):
    """The matching step and network update with the instance norm's backward by
    autodiff (commit 8ac01fd) and in closed form (now), interleaved call by call;
    and the largest difference of their image gradients."""
    import numpy as np
    from keras import ops

    from udd_keras.distillation.engine import fold_in
    from udd_keras.models.normalization import InstanceNormalization

    def autodiff_call(self, inputs, training=None):
        axes = tuple(range(1, len(inputs.shape) - 1))
        mean = ops.mean(inputs, axis=axes, keepdims=True)
        variance = ops.mean(ops.square(inputs - mean), axis=axes, keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon) * self.gamma
        return inputs * scale + (self.beta - mean * scale)

    current, functions, gradients = InstanceNormalization.call, {}, {}
    for version, call in (("autodiff", autodiff_call), ("closed_form", current)):
        InstanceNormalization.call = call
        engine, key, boxes = engine_for(args)
        matching = matching_step_function(engine)
        gradients[version] = matching(fold_in(key, 0), boxes).numpy()
        functions[f"{version}_matching"] = fetched(
            lambda m=matching, k=key, b=boxes: m(k, b)
        )
        functions[f"{version}_network"] = fetched(
            lambda e=engine, k=key: e.update_network(k)
        )
    InstanceNormalization.call = current
    runs = {name: [] for name in functions}
    for _ in range(args.repeats):  # interleaved, so a drifting machine favours none
        for name, function in functions.items():
            runs[name].append(timed(function, 1, 0)["median"])
    values = {f"{name}_seconds": statistics.median(v) for name, v in runs.items()}
    values["max_gradient_difference"] = float(
        np.abs(gradients["autodiff"] - gradients["closed_form"]).max()
    )
    return values


def run(experiment, options, write):
    """Calls the experiment's measure once per variant; `write(report)` each time.

    With `--resume`, rows of variants already in the results file are kept.
    """
    import dataclasses
    import types

    from benchmarks.results import new_report
    from benchmarks.spec import resolve

    measure = resolve(experiment.measure)
    variants = [
        v
        for v in experiment.variants
        if not options.variants or v.name in options.variants
    ]
    command_line = {"seed": (options.seeds or [experiment.seeds[0]])[0]}
    command_line.update(repeats=options.repeats or experiment.repeats)
    if options.steps is not None:
        command_line["steps"] = options.steps
    settings = {**experiment.shared, **command_line, **options.overrides}
    report = new_report(experiment, options.command, settings)
    if options.resume and options.previous:
        report["rows"] = list(options.previous.get("rows", []))
    done = {row["variant"] for row in report["rows"]}
    for variant in variants:
        if variant.name in done:
            print(f"{variant.name}: kept from an earlier run", flush=True)
            continue
        args = {**experiment.shared, **variant.overrides, **command_line}
        args.update(options.overrides, workdir=options.workdir)
        values = measure(types.SimpleNamespace(**args))
        print(f"{variant.name}: {json.dumps(values, default=str)[:300]}", flush=True)
        report["rows"].append({"variant": variant.name, **values})
        write(report)
    report["variants"] = {v.name: dataclasses.asdict(v) for v in variants}
    return write(report)
