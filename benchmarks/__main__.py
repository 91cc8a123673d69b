"""The benchmark runner.

    python -m benchmarks list
    python -m benchmarks run NAME [--resume] [--split validation|test] [--workdir DIR]
    python -m benchmarks run quick-start-digits --seeds 0 --repeats 1 --epochs 20

Results go to `benchmarks/results/<NAME>/<stem>.json`, `.md` (and `.png`), the
stem `--tag`, else the split (accuracy) or `latest` (timing).
"""

import argparse
import json
import os
import pathlib
import shlex
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_set(pairs):
    """`["KEY=VALUE", ...]` -> dict; a VALUE is JSON when it parses, else text."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE, got {pair!r}")
        try:
            overrides[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key.replace("-", "_")] = value
    return overrides


def check_fields(overrides):
    """Raises ValueError for a key that is not a `DistillConfig` field."""
    from udd_keras.distillation.config import settings

    known = {field.name for field in settings()}
    for key in overrides:
        if key not in known or key in ("dataset", "ipc", "seed"):
            raise ValueError(f"--set {key}: not a DistillConfig field it can set")


def parser():
    main = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    commands = main.add_subparsers(dest="action", required=True)
    commands.add_parser("list", help="every experiment: name, kind, question")
    run = commands.add_parser("run", help="run one experiment")
    run.add_argument("name")
    run.add_argument("--resume", action="store_true", help="keep what a run did")
    run.add_argument("--split", choices=("validation", "test"), default=None)
    run.add_argument("--workdir", default=None, help="runs and resumable state")
    run.add_argument("--out", type=pathlib.Path, default=None, help="results root")
    run.add_argument("--tag", default="", help="results file stem")
    run.add_argument("--seeds", type=int, nargs="+", default=None)
    run.add_argument("--repeats", type=int, default=None, help="evaluation repeats")
    run.add_argument("--epochs", type=int, default=None, help="evaluation epochs")
    run.add_argument("--eval-width", type=int, default=None)
    run.add_argument("--steps", type=int, default=None, help="inner steps in all")
    run.add_argument("--variants", nargs="+", default=None, help="only these")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a DistillConfig field (accuracy) or measure parameter (timing)",
    )
    run.add_argument("--trajectory-cache", default=None, metavar="DIR")
    run.add_argument(
        "--sets-of",
        default=None,
        metavar="TAG",
        help="evaluate the finished sets of the run tagged TAG ('' untagged)",
    )
    run.add_argument("--reference-python", default=sys.executable)
    run.add_argument("--reference-seconds", type=float, default=None)
    run.add_argument("--reference-steps", type=int, default=None, help="budget")
    return main


def main(argv=None):
    from benchmarks import accuracy, results, spec, timing

    argv = list(sys.argv[1:] if argv is None else argv)
    cli = parser()
    options = cli.parse_args(argv)
    found = spec.experiments()
    if options.action == "list":
        for name, experiment in found.items():
            print(f"{name:28s} {experiment.kind:8s} {experiment.question}")
        return 0
    if options.name not in found:
        cli.error(f"no experiment {options.name!r}; `list` shows them")
    experiment = found[options.name]
    try:
        options.overrides = parse_set(options.overrides)
        if experiment.kind == "accuracy":
            check_fields(options.overrides)
    except ValueError as error:
        cli.error(str(error))
    options.command = shlex.join(["python", "-m", "benchmarks", *argv])
    folder = (options.out or results.RESULTS) / experiment.name
    split = options.split or experiment.split
    stem = options.tag or (split if experiment.kind == "accuracy" else "latest")
    previous = folder / f"{stem}.json"
    options.previous = json.loads(previous.read_text()) if previous.exists() else {}
    pipeline = accuracy if experiment.kind == "accuracy" else timing
    text = pipeline.run(experiment, options, lambda r: results.write(r, folder, stem))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
