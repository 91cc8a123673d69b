"""How long `udd-keras COMMAND --help` takes in a fresh process, and what it prints.

Each command's help is run `--runs` times in a fresh Python process (the way a
user's shell runs it, through the installed `udd-keras` entry point when it is on
PATH, else `python -m udd_keras.cli.main`); the table gives the median and the
slowest wall time, the bytes written to stderr and whether TensorFlow was imported.

    python benchmarks/cli_help.py --runs 5

Writes `benchmarks/results/cli-help.json` and `.md`.
"""

import argparse
import datetime
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

from _environment import (
    environment,
    machine_text,
    versions_text,
    write_results,
)

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def help_commands():
    from udd_keras.cli.main import COMMANDS

    return [[], *([name] for name in COMMANDS)]


def entry_point():
    """The command line that starts `udd-keras` in a fresh process."""
    script = shutil.which("udd-keras")
    if script:
        return [script]
    return [sys.executable, "-m", "udd_keras.cli.main"]


def imports_tensorflow(args):
    """Whether `udd-keras ARGS` imports TensorFlow (checked in its own process)."""
    probe = (
        "import sys\nfrom udd_keras.cli.main import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1] == "True"


def measure(args, runs, workdir):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    seconds, stderr_bytes = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(
            [*entry_point(), *args, "--help"],
            capture_output=True,
            cwd=workdir,
            env=env,
        )
        seconds.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"udd-keras {' '.join(args)} --help failed")
        stderr_bytes = max(stderr_bytes, len(result.stderr))
    return {
        "command": " ".join(["udd-keras", *args, "--help"]),
        "seconds": seconds,
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
        "stderr_bytes": stderr_bytes,
        "imports_tensorflow": imports_tensorflow([*args, "--help"]),
    }


def markdown(report):
    lines = [
        "# `udd-keras COMMAND --help` in a fresh process",
        "",
        f"Run {report['date']}; {report['runs']} runs per command; "
        f"entry point `{' '.join(report['entry_point'])}`.",
        "",
        "| command | median (s) | slowest (s) | stderr (bytes) | imports TensorFlow |",
        "|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| `{row['command']}` | {row['median_seconds']:.2f} | "
            f"{row['max_seconds']:.2f} | {row['stderr_bytes']} | "
            f"{'yes' if row['imports_tensorflow'] else 'no'} |"
        )
    machine = report["machine"]
    lines += [
        "",
        f"Machine: {machine_text(machine)}.",
        f"Versions: {versions_text(report['versions'])}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default="cli-help", help="results file stem")
    args = parser.parse_args(argv)
    workdir = pathlib.Path.cwd()
    rows = [measure(command, args.runs, workdir) for command in help_commands()]
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "runs": args.runs,
        "entry_point": entry_point(),
        **environment(),
        "rows": rows,
    }
    text = markdown(report)
    write_results(RESULTS / args.out, report, text)
    print(text)


if __name__ == "__main__":
    main()
