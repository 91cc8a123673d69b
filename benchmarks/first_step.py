"""How long a new process takes to its first distillation steps.

Every `udd-keras distill`, and every multi-process test, starts a new Python
process that imports TensorFlow and traces the engine's `tf.function`s before its
first step. This benchmark starts `--runs` fresh processes; each imports
udd_keras, loads `digits`, and times two identical small `distill` calls (the
first pays AutoGraph's conversion and the tracing, the second only the tracing,
since conversions are cached per process). It also times the whole command
`udd-keras distill digits --ipc 1 --iterations 1 --inner-steps 1 --width 8`.

    python benchmarks/first_step.py --runs 3 --tag after

Rows are kept per `--tag` in `benchmarks/results/first-step.json` (and `.md`), so
a run of an older checkout (`PYTHONPATH=OLD python benchmarks/first_step.py --tag
before`) and of this one share one table. Time nothing else beside it.
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

from _environment import environment, machine_text, versions_text, write_results

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
SETTINGS = dict(
    width=8,
    iterations=2,
    inner_steps=3,
    net_images=64,
    real_batch=16,
    checkpoint_every=1,
    log_every=1,
    formation="tiles+regions",
)
COMMAND = ["distill", "digits", "--ipc", "1", "--iterations", "1"]
COMMAND += ["--inner-steps", "1", "--width", "8", "--no-progress"]

# Runs in the child process: prints one JSON line of seconds and a checksum.
CHILD = """
import json, pathlib, sys, tempfile, time
start = time.perf_counter()
from udd_keras.data import load_dataset
from udd_keras.distillation import distill
digits = load_dataset("digits")
loaded = time.perf_counter() - start
settings = json.loads(sys.argv[1])
calls, checksums = [], []
for _ in range(2):
    with tempfile.TemporaryDirectory() as folder:
        begin = time.perf_counter()
        out = pathlib.Path(folder) / "run"
        result = distill(digits, ipc=1, out_dir=out, **settings)
        calls.append(time.perf_counter() - begin)
        checksums.append(float(abs(result.images).sum()))
print(json.dumps({"import_and_load": loaded, "calls": calls, "checksums": checksums}))
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes")
    parser.add_argument("--tag", default="current", help="the row's name")
    parser.add_argument("--out", default="first-step", help="results file stem")
    return parser.parse_args(argv)


def child_environment():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("UDD_KERAS_VERBOSE", None)
    return env


def time_calls():
    """One fresh process: import + load, first and second `distill` call (s)."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(SETTINGS)],
        capture_output=True,
        text=True,
        env=child_environment(),
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def time_command():
    """The wall seconds of the whole `udd-keras distill` command, fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "udd_keras.cli.main", *COMMAND, "--out", folder],
            capture_output=True,
            env=child_environment(),
            check=True,
        )
        return time.perf_counter() - start


def measure(runs):
    calls = [time_calls() for _ in range(runs)]
    commands = [time_command() for _ in range(runs)]
    checksums = {round(c, 3) for call in calls for c in call["checksums"]}
    return {
        "runs": runs,
        "import_and_load_seconds": [c["import_and_load"] for c in calls],
        "first_call_seconds": [c["calls"][0] for c in calls],
        "second_call_seconds": [c["calls"][1] for c in calls],
        "command_seconds": commands,
        "image_checksums": sorted(checksums),
    }


def report(data):
    lines = [
        "# A new process's first distillation steps",
        "",
        f"Last run {data['date']}; `python benchmarks/first_step.py` per tag "
        f"(its `--tag`), {data['runs']} fresh processes each, nothing else running.",
        f"`distill` call: digits, IPC 1, `{json.dumps(data['settings'])}`; command: "
        f"`udd-keras {' '.join(COMMAND)}`. Median (slowest) wall seconds.",
        "",
        "| tag | import + load | first `distill` call | second call | whole command "
        "| image checksum |",
        "|---|---|---|---|---|---|",
    ]
    for tag, row in data["rows"].items():

        def cell(key, row=row):
            values = row[key]
            return f"{statistics.median(values):.2f} ({max(values):.2f})"

        checksums = ", ".join(f"{c:.3f}" for c in row["image_checksums"])
        lines.append(
            f"| {tag} | {cell('import_and_load_seconds')} | "
            f"{cell('first_call_seconds')} | {cell('second_call_seconds')} | "
            f"{cell('command_seconds')} | {checksums} |"
        )
    lines += [
        "",
        f"Machine: {machine_text(data['machine'])}.",
        f"Versions: {versions_text(data['versions'])}.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    stem = RESULTS / args.out
    previous = {}
    if stem.with_suffix(".json").exists():
        previous = json.loads(stem.with_suffix(".json").read_text())["rows"]
    environment_now = environment()
    row = {**measure(args.runs), "machine": environment_now["machine"]}
    data = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "runs": args.runs,
        "settings": SETTINGS,
        **environment_now,
        "rows": {**previous, args.tag: row},
    }
    write_results(stem, data, report(data))
    print(report(data))


if __name__ == "__main__":
    main()
