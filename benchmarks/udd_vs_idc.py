"""UDD against IDC at the same budget: formations, decodes, scoring and CFC.

Every variant is distilled with the same seeds, inner steps, image optimizer,
initial selection and precision (the shared `--set` settings), then evaluated
with the same protocol on the chosen split. A variant can be evaluated under
several decodes (what a stored image decodes to) from one distillation.
Results are written after every distillation seed, so an interrupted run
keeps what it finished: `--resume` skips the rows already in the JSON, and in an
unfinished row the seeds already evaluated with the same settings (a long
comparison can be run one session at a time).

    # screening on the validation split (1 seed x 2 evaluations)
    python benchmarks/udd_vs_idc.py --split validation --tag screen \\
        --variant idc:method=idc \\
        --variant tiles+regions:formation=tiles+regions --decodes trained fixed
    # the final comparison on the test split
    python benchmarks/udd_vs_idc.py --split test --seeds 0 1 --repeats 3 \\
        --variant udd:method=udd --variant idc:method=idc --out udd-vs-idc

Writes `benchmarks/results/<out>.json` and `.md`. The JSON has one row per
(variant, decode): `method`, `ipc`, `inner_steps`, `split`, `accuracies` (percent,
seeds x repeats), plus the settings, the distillation seconds, the CFC / matching
gradient ratio, the scoring agreement between two jitter draws, the mUE (with
`--mue`), the machine (CPU flags included) and the versions.
"""

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _environment import (  # noqa: E402
    environment,
    machine_text,
    versions_text,
    write_results,
)
from budget_curve import (  # noqa: E402
    EVAL_SEED_OFFSET,
    SPLITS,
    add_set_option,
    checked_overrides,
    load_split,
    parse_overrides,
)

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
# Settings shared by every variant unless --set says otherwise: the short-budget
# recipe the earlier comparisons used (quality-*-adam-kmeans.md), in float32
# (the precision every earlier row ran in; `auto` would choose per machine).
SHARED = {
    "image_optimizer": "adam",
    "lr_img": 0.01,
    "init_selection": "kmeans",
    "precision": "float32",
}
RANDOM_CORESET = "random-coreset"


def parse_variant(text):
    """`"NAME:key=value,key=value"` -> `(NAME, settings)`.

    Example:
    >>> parse_variant("p4:method=udd,formation=tiles+regions,num_selected=4")
    ('p4', {'method': 'udd', 'formation': 'tiles+regions', 'num_selected': 4})
    """
    name, _, pairs = text.partition(":")
    if not name:
        raise ValueError(f"--variant takes NAME:KEY=VALUE,..., got {text!r}")
    pairs = [p for p in pairs.split(",") if p]
    methods = [p.partition("=")[2] for p in pairs if p.startswith("method=")]
    settings = parse_overrides([p for p in pairs if not p.startswith("method=")])
    return name, ({"method": methods[-1]} if methods else {}) | settings


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--ipc", type=int, default=1)
    parser.add_argument("--split", default="validation", choices=SPLITS)
    parser.add_argument("--steps", type=int, default=100, help="inner steps in all")
    parser.add_argument(
        "--inner-steps", type=int, default=50, help="inner steps per outer iteration"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument(
        "--variant",
        dest="variants",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="a distilled variant (repeatable); DistillConfig fields",
    )
    parser.add_argument(
        "--decodes",
        nargs="+",
        default=None,
        choices=("trained", "fixed"),
        help="evaluate every variant under these decodes (default: its own)",
    )
    parser.add_argument("--mue", action="store_true", help="measure every set's mUE")
    parser.add_argument(
        "--random-coreset",
        action="store_true",
        help="add a row for the random coreset of the same IPC (one draw per "
        "distillation seed, evaluated the same way)",
    )
    parser.add_argument("--out", default=None, help="results file stem")
    parser.add_argument("--tag", default="")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--workdir",
        default=None,
        help="keep run directories here (default: a temporary one); a rerun "
        "continues an unfinished distillation from its last checkpoint",
    )
    parser.add_argument(
        "--trajectory-cache",
        default=None,
        metavar="DIR",
        help="replay the network's trajectory and the real gradients from DIR "
        "where a run on the same split and seed stored them, store them where "
        "not (variants on a real-data network only); same images, less time",
    )
    add_set_option(parser, "a DistillConfig field for every variant (repeatable)")
    args = parser.parse_args(argv)
    args.overrides = checked_overrides(parser, args.overrides)
    try:
        args.variants = [parse_variant(v) for v in args.variants]
    except ValueError as error:
        parser.error(str(error))
    if not args.variants:
        parser.error("give at least one --variant")
    return args


def output_stem(args):
    if args.out:
        return RESULTS / args.out
    tag = f"-{args.tag}" if args.tag else ""
    return RESULTS / f"udd-vs-idc-{args.dataset}-ipc{args.ipc}-{args.split}{tag}"


def selection_agreement(engine, key_a, key_b):
    """Share of mined regions two scoring draws agree on, and random's share.

    Returns:
        `(agreement, chance)`: the mean over images of |A ∩ B| / P, and its
        expectation when both draws pick P of N' candidates at random (P / N');
        None, None when the formation mines nothing.
    """
    import tensorflow as tf

    config = engine.config
    if not engine.formation.mines:
        return None, None
    picks = []
    for key in (key_a, key_b):
        scores = engine.region_scores(tf.constant(key, tf.int32)).numpy()
        picks.append(
            np.argsort(scores, axis=1, kind="stable")[:, : config.num_selected]
        )
    same = [len(set(a) & set(b)) for a, b in zip(*picks, strict=True)]
    candidates = len(engine.candidate_boxes)
    return float(np.mean(same) / config.num_selected), config.num_selected / candidates


def schedule(args, settings):
    """`{"iterations", "inner_steps"}` of a variant: `--steps` split into
    outer iterations of `--inner-steps`, unless the variant sets its own.

    Example: `--steps 100 --inner-steps 50` gives 2 x 50; a variant with
    `iterations=40` (e.g. on a `network_pool`) 40 x 50.
    """
    inner = min(args.inner_steps, args.steps)
    return {
        "iterations": max(1, args.steps // inner),
        "inner_steps": inner,
        **{k: settings[k] for k in ("iterations", "inner_steps") if k in settings},
    }


def distill_variant(name, settings, args, dataset, seed, workdir):
    """Distils one variant; returns the `DistillResult` and its facts."""
    from udd_keras.distillation import DistillConfig, Distiller

    steps = schedule(args, settings)
    config = DistillConfig(
        dataset=dataset.name,
        ipc=args.ipc,
        seed=seed,
        log_every=max(1, steps["inner_steps"] // 5),
        **{**SHARED, **args.overrides, **settings, **steps},
    )
    out = pathlib.Path(workdir) / f"{name}-seed{seed}"
    resume = (out / "config.json").exists()
    trajectory_dir = None
    if args.trajectory_cache and config.resolve().net_data == "real":
        trajectory_dir = args.trajectory_cache
    distiller = Distiller(
        config,
        dataset=dataset,
        out_dir=out,
        resume=resume,
        trajectory_dir=trajectory_dir,
    )
    start = time.perf_counter()
    result = distiller.run()
    seconds = time.perf_counter() - start
    if resume:
        # This process ran only part of the run; the metrics hold every
        # logged interval's seconds (the steps redone after a kill not counted).
        seconds = float(sum(m["seconds"] for m in result.metrics))
    agreement, chance = selection_agreement(distiller.engine, [seed, 7], [seed, 8])
    ratios = [m["cfc_gradient_ratio"] for m in result.metrics]
    facts = {
        "distill_seconds": seconds,
        "scoring_agreement": agreement,
        "scoring_agreement_random": chance,
        "cfc_gradient_ratio": float(np.mean(ratios)) if ratios else None,
        "final_matching_loss": result.metrics[-1]["matching_loss"],
        "trajectory_steps_replayed": None
        if distiller.trajectory is None
        else distiller.trajectory.hits,
    }
    print(
        f"{name} seed {seed}: {seconds:.0f} s, agreement {agreement} "
        f"(random {chance}), CFC ratio {facts['cfc_gradient_ratio']}",
        flush=True,
    )
    return result, facts


def evaluate_decode(result, decode, dataset, args, seed, path):
    """Exports `result` under `decode` and evaluates it; accuracies in percent."""
    from udd_keras.distillation import export
    from udd_keras.evaluation.protocol import evaluate_arrays, load_evaluation_set
    from udd_keras.training import TrainingRecipe

    config = dataclasses.replace(result.config, decode=decode)
    export(dataclasses.replace(result, config=config), dataset, path)
    x, y = load_evaluation_set(path, dataset)
    start = time.perf_counter()
    (report,) = evaluate_arrays(
        x,
        y,
        dataset,
        TrainingRecipe(epochs=args.epochs),
        repeats=args.repeats,
        eval_every=args.epochs,
        seed=EVAL_SEED_OFFSET + seed,
    )
    return [100.0 * a for a in report.accuracies], time.perf_counter() - start, len(x)


def evaluate_random_coreset(args, dataset, seed):
    """The random coreset drawn with `seed`, evaluated like the variants."""
    from udd_keras.coreset import select_coreset
    from udd_keras.evaluation.protocol import evaluate_arrays
    from udd_keras.training import TrainingRecipe

    indices = select_coreset(dataset, args.ipc, method="random", seed=seed)
    start = time.perf_counter()
    (report,) = evaluate_arrays(
        dataset.x_train[indices],
        dataset.y_train[indices],
        dataset,
        TrainingRecipe(epochs=args.epochs),
        repeats=args.repeats,
        eval_every=args.epochs,
        seed=EVAL_SEED_OFFSET + seed,
    )
    return [100.0 * a for a in report.accuracies], time.perf_counter() - start


def random_coreset_row(args, dataset):
    accuracies, seconds = [], 0.0
    for seed in args.seeds:
        seed_accuracies, seed_seconds = evaluate_random_coreset(args, dataset, seed)
        accuracies += seed_accuracies
        seconds += seed_seconds
        print(
            f"  random-coreset seed {seed}: "
            + ", ".join(f"{a:.2f}" for a in seed_accuracies),
            flush=True,
        )
    return {
        "variant": RANDOM_CORESET,
        "method": "random",
        "formation": "original",
        "decode": "trained",
        "decodes": ["trained"],
        "ipc": args.ipc,
        "inner_steps": 0,
        "split": args.split,
        "seeds": args.seeds,
        "variant_settings": {},
        "accuracies": accuracies,
        "eval_seconds": seconds,
        "images_per_class": args.ipc,
        "distill_seconds": 0.0,
    }


def markdown(report):
    settings = report["settings"]
    lines = [
        f"# UDD against IDC: {report['dataset']}, IPC {report['ipc']}, "
        f"{report['split']} split",
        "",
        f"Run {report['date']}; `{report['command']}`.",
        f"{settings['steps']} inner steps ({settings['inner_steps']} per outer "
        "iteration) unless a variant sets its own (column steps), "
        f"seeds {settings['seeds']} x {settings['repeats']} evaluations "
        f"of {settings['epochs']} epochs; every variant with "
        + ", ".join(f"`{k}={v}`" for k, v in report["shared"].items())
        + ".",
        "",
        "| variant | decode | steps | images/class | accuracy (%) | n | agreement "
        "(random) | CFC/match grad | mUE | distill (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        agreement = (
            f"{row['scoring_agreement']:.3f} ({row['scoring_agreement_random']:.3f})"
            if row.get("scoring_agreement") is not None
            else "-"
        )
        ratio = row.get("cfc_gradient_ratio")
        mue = row.get("mue")
        replayed = row.get("trajectory_steps_replayed")
        lines.append(
            f"| {row['variant']} | {row['decode']} | {row['inner_steps']} | "
            f"{row['images_per_class']} | "
            f"{np.mean(row['accuracies']):.2f} ± {np.std(row['accuracies']):.2f} | "
            f"{len(row['accuracies'])} | {agreement} | "
            f"{'-' if not ratio else f'{ratio:.2g}'} | "
            f"{'-' if mue is None else f'{mue:.3f}'} | "
            f"{row['distill_seconds']:.0f}"
            + (f" ({replayed} replayed)" if replayed else "")
            + " |"
        )
    unfinished = sorted(
        {(e["variant"], e["seed"]) for e in report.get("finished_seeds", [])}
    )
    if unfinished:
        lines += [
            "",
            "Seeds evaluated of rows not finished yet (`--resume` keeps them): "
            + ", ".join(f"`{variant}` seed {seed}" for variant, seed in unfinished)
            + ".",
        ]
    machine = report["machine"]
    lines += [
        "",
        "Variants (DistillConfig fields on top of the shared ones):",
        "",
        *[
            f"- `{row['variant']}`: "
            + (", ".join(f"`{k}={v}`" for k, v in row["variant_settings"].items()))
            for row in report["rows"]
            if row["decode"] == row["decodes"][0]
        ],
        "",
        f"Machine: {machine_text(machine)}.",
        f"Versions: {versions_text(report['versions'])}.",
    ]
    return "\n".join(lines) + "\n"


def measure_mue(rows):
    """Adds the mUE of every row's set (one joint reference range)."""
    from udd_keras.metrics.measure import measure_sets

    paths = [row["path"] for row in rows]
    if not paths:
        return
    measured = measure_sets(paths)
    by_path = {
        path: result.report.overall
        for path, result in zip(paths, measured, strict=True)
    }
    for row in rows:
        if row.get("path") in by_path:
            row["mue"] = float(by_path[row["path"]])


# The facts of a distillation seed a row keeps (the last seed's).
SEED_FACTS = (
    "scoring_agreement",
    "scoring_agreement_random",
    "cfc_gradient_ratio",
    "final_matching_loss",
    "trajectory_steps_replayed",
)


def seed_identity(name, settings, args):
    """What makes a finished seed's result reusable by a resumed run."""
    return {
        "variant": name,
        "variant_settings": settings,
        "shared": {**SHARED, **args.overrides},
        **{
            key: getattr(args, key)
            for key in (
                "dataset",
                "ipc",
                "split",
                "steps",
                "inner_steps",
                "repeats",
                "epochs",
            )
        },
    }


def stored_entry(finished, identity, seed, decode):
    """The finished-seed entry of `seed` and `decode` with this identity, or None."""
    for entry in finished:
        if (entry["seed"], entry["decode"]) == (seed, decode) and all(
            entry.get(key) == value for key, value in identity.items()
        ):
            return entry
    return None


def run_seed(name, settings, decodes, args, dataset, seed, workdir):
    """Distils one seed of a variant and evaluates it under every decode.

    Returns:
        list of finished-seed entries, one per decode: the `seed_identity`,
        `decode`, `seed`, `accuracies` (percent), `eval_seconds`,
        `images_per_class`, `path` and the distillation's facts.
    """
    result, facts = distill_variant(name, settings, args, dataset, seed, workdir)
    entries = []
    for decode in decodes:
        path = pathlib.Path(workdir) / f"{name}-{decode}-s{seed}.tfrecord"
        accuracies, seconds, count = evaluate_decode(
            result, decode, dataset, args, seed, path
        )
        print(
            f"  {name} [{decode}] seed {seed}: "
            + ", ".join(f"{a:.2f}" for a in accuracies),
            flush=True,
        )
        entries.append(
            {
                **seed_identity(name, settings, args),
                "decode": decode,
                "seed": seed,
                "accuracies": accuracies,
                "eval_seconds": seconds,
                "images_per_class": count // dataset.num_classes,
                "path": str(path),
                **facts,
            }
        )
    return entries


def variant_row(name, settings, resolved, decode, decodes, args, entries):
    """The row of one (variant, decode) from its seeds' entries, in seed order."""
    return {
        "variant": name,
        "method": resolved.method,
        "formation": resolved.formation,
        "decode": decode,
        "decodes": decodes,
        "ipc": args.ipc,
        "inner_steps": resolved.iterations * resolved.inner_steps,
        "split": args.split,
        "seeds": args.seeds,
        "variant_settings": settings,
        "config": {
            k: v for k, v in resolved.to_dict().items() if k not in ("dataset", "seed")
        },
        "accuracies": [a for e in entries for a in e["accuracies"]],
        "eval_seconds": float(sum(e["eval_seconds"] for e in entries)),
        "images_per_class": entries[-1]["images_per_class"],
        "path": entries[-1]["path"],
        "distill_seconds": float(np.mean([e["distill_seconds"] for e in entries])),
        **{key: entries[-1][key] for key in SEED_FACTS},
    }


def main(argv=None):
    args = parse_args(argv)
    dataset = load_split(args.dataset, args.split)
    stem = output_stem(args)
    rows, finished = [], []
    if args.resume and stem.with_suffix(".json").exists():
        previous = json.loads(stem.with_suffix(".json").read_text())
        rows = previous["rows"]
        finished = previous.get("finished_seeds", [])
    done = {(r["variant"], r["decode"]) for r in rows}
    report = {
        "dataset": args.dataset,
        "ipc": args.ipc,
        "split": args.split,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/udd_vs_idc.py " + " ".join(argv or sys.argv[1:]),
        "settings": {
            key: value
            for key, value in vars(args).items()
            if key not in ("variants", "overrides")
        },
        "shared": {**SHARED, **args.overrides},
        **environment(),
        "rows": rows,
        # Seeds of unfinished rows, kept so that --resume does not redo them.
        "finished_seeds": finished,
    }
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or stack.enter_context(tempfile.TemporaryDirectory())
        for name, settings in args.variants:
            from udd_keras.distillation import DistillConfig

            resolved = DistillConfig(
                dataset=args.dataset,
                ipc=args.ipc,
                **{**SHARED, **args.overrides, **settings, **schedule(args, settings)},
            ).resolve()
            decodes = args.decodes or [resolved.decode]
            if all((name, d) in done for d in decodes):
                continue
            identity = json.loads(json.dumps(seed_identity(name, settings, args)))

            per_seed = {}
            for seed in args.seeds:
                entries = [
                    stored_entry(finished, identity, seed, decode) for decode in decodes
                ]
                if all(entries):
                    print(f"{name} seed {seed}: evaluated before, kept", flush=True)
                else:
                    entries = run_seed(
                        name, settings, decodes, args, dataset, seed, workdir
                    )
                    finished += entries
                    write_results(stem, report, markdown(report))
                per_seed[seed] = entries
            for index, decode in enumerate(decodes):
                entries = [per_seed[seed][index] for seed in args.seeds]
                rows.append(
                    variant_row(
                        name, settings, resolved, decode, decodes, args, entries
                    )
                )
            finished[:] = [e for e in finished if e["variant"] != name]
            write_results(stem, report, markdown(report))
        if args.random_coreset and (RANDOM_CORESET, "trained") not in done:
            rows.append(random_coreset_row(args, dataset))
            write_results(stem, report, markdown(report))
        if args.mue:
            # The last seed's set of every row, on one reference range; rows
            # from a resumed file (their sets are gone) keep what they had.
            measure_mue(
                [
                    row
                    for row in rows
                    if row.get("path") and pathlib.Path(row["path"]).exists()
                ]
            )
            write_results(stem, report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
