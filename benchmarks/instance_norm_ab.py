"""Benchmark: the instance norm's backward pass, autodiff against closed form.

Times the matching step of one class and the network update (ConvNet-3 width
128, FashionMNIST, the settings of `benchmarks/speed.py`) with two versions of
`InstanceNormalization.call`, interleaved call by call in the same process, so
that a machine whose speed drifts between runs (a shared 2-core VM) cannot
favour either:

- `autodiff` (commit 8ac01fd): the folded formula
  `x * scale + (beta - mean * scale)` differentiated by TensorFlow's autodiff,
  which broadcasts the statistics' gradients back to full size (`Tile`,
  `BroadcastTo`) and sums three full-size terms;
- `closed-form` (current, `udd_keras.models.normalization.instance_norm`): the
  same forward pass with a hand-written first derivative, one scale and offset
  per image and channel applied to `dy` and `x`; higher derivatives by autodiff
  of that backward pass.

Both compute the same function with every derivative exact; the script also
reports the largest difference of the two matching steps' image gradients.

Writes `benchmarks/results/speed-instance-norm-ab.json` and `.md`.

    python benchmarks/instance_norm_ab.py --rounds 7
"""

import argparse
import datetime
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _environment import environment  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def autodiff_call(self, inputs, training=None):
    """`InstanceNormalization.call` at commit 8ac01fd (autodiff backward)."""
    from keras import ops

    axes = tuple(range(1, len(inputs.shape) - 1))
    mean = ops.mean(inputs, axis=axes, keepdims=True)
    variance = ops.mean(ops.square(inputs - mean), axis=axes, keepdims=True)
    scale = ops.rsqrt(variance + self.epsilon) * self.gamma
    return inputs * scale + (self.beta - mean * scale)


def build_steps(dataset, call, seed):
    """(matching step, network update) callables built with `call` in place."""
    import speed
    import tensorflow as tf

    from udd_keras.distillation.engine import fold_in
    from udd_keras.models import normalization

    normalization.InstanceNormalization.call = call
    engine = speed.build_distiller(dataset, None, seed).engine
    engine.reset_network(seed)
    key = tf.constant([seed, 0], tf.int32)
    boxes = engine.select_regions(key)
    engine.fill_centers(boxes)
    matching = speed.matching_step_function(engine)
    counter = iter(range(1, 10**6))

    def matching_step():
        return matching(fold_in(key, next(counter)), boxes)

    def update_network():
        return engine.update_network(fold_in(key, next(counter)))

    first_gradient = matching(fold_in(key, 0), boxes).numpy()
    return matching_step, update_network, first_gradient


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import numpy as np
    import tensorflow as tf

    from udd_keras.data import load_dataset
    from udd_keras.files import atomic_write_json, atomic_write_text
    from udd_keras.models.normalization import InstanceNormalization

    dataset = load_dataset("fashion_mnist", seed=args.seed)
    current_call = InstanceNormalization.call
    steps = {
        "autodiff": build_steps(dataset, autodiff_call, args.seed),
        "closed-form": build_steps(dataset, current_call, args.seed),
    }
    InstanceNormalization.call = current_call
    difference = float(np.abs(steps["autodiff"][2] - steps["closed-form"][2]).max())
    scale = float(np.abs(steps["autodiff"][2]).max())
    for version in steps.values():  # warm-up
        for function in version[:2]:
            tf.nest.map_structure(np.asarray, function())
    times = {f"{v}/{s}": [] for v in steps for s in ("matching", "network")}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for version, (matching, network, _) in steps.items():
            for name, function in (("matching", matching), ("network", network)):
                start = time.perf_counter()
                tf.nest.map_structure(np.asarray, function())
                times[f"{version}/{name}"].append(time.perf_counter() - start)
    load.append(os.getloadavg()[0])
    medians = {k: statistics.median(v) for k, v in times.items()}
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/instance_norm_ab.py "
        + " ".join(argv or sys.argv[1:]),
        "rounds": args.rounds,
        "seed": args.seed,
        "times_s": times,
        "medians_s": medians,
        "max_gradient_difference": difference,
        "max_gradient": scale,
        "load_average": load,
        "environment": environment(),
    }
    lines = [
        "# Instance norm backward: autodiff against closed form, interleaved",
        "",
        f"Run {report['date']}; `{report['command']}`. Median of {args.rounds} "
        "interleaved rounds (wall ms); 1-minute load average "
        f"{load[0]:.2f} -> {load[1]:.2f}.",
        "",
        "| step | autodiff (ms) | closed form (ms) | speed-up |",
        "|---|---|---|---|",
    ]
    for name, label in (("matching", "matching step"), ("network", "update_network")):
        old, new = medians[f"autodiff/{name}"], medians[f"closed-form/{name}"]
        lines.append(
            f"| {label} | {1000 * old:.1f} | {1000 * new:.1f} | {old / new:.2f}x |"
        )
    lines += [
        "",
        f"Largest difference of the matching step's image gradient: {difference:.2e} "
        f"(largest value {scale:.2e}).",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "speed-instance-norm-ab.json", report)
    atomic_write_text(args.out / "speed-instance-norm-ab.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
