"""The accuracy pipeline: distil -> evaluate -> rows, resumable from its work folder.

For every variant and seed of an experiment: make the set (`Distiller`, its
initial images, a coreset, or an imported copy of another variant's set),
export it under each decode, evaluate it with `evaluate_arrays` (ConvNet-3,
the experiment's epochs and repeats, evaluation seed 1000 + seed) on the split's
test images, and keep the seed's entry in `<workdir>/entries.json`. With
`--resume` an entry of the same settings is kept and an unfinished distillation
continues from its checkpoint. Results are written after every seed.

A set whose decoded training images and labels are byte-identical to one
already evaluated in the run for the same seed (`udd`'s default and `idc`, say)
is not trained on again: the same inputs and evaluation seed give the same
accuracies, so its entry takes them and names the variant evaluated
(`evaluation_of`); `set_digest` is the SHA-256 both entries share.
"""

import dataclasses
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

VALIDATION_FRACTION, VALIDATION_SEED = 0.1, 0
EVAL_SEED_OFFSET = 1000
# Planned outer iterations under a time budget: an upper bound, the budget
# stops the run first; a share of the budget is kept for the set-up and export.
PLANNED_ITERATIONS, SETUP_RESERVE = 10_000, 0.01
REFERENCE = pathlib.Path(__file__).resolve().parent / "reference_pytorch.py"


def load_split(name, split):
    """The dataset to distil on; its test arrays are what is evaluated on.

    `validation`: 90% of the training set, tested on the held-out 10%;
    `test`: the whole training set, tested on the real test set.
    """
    from udd_keras.data import load_dataset, split_validation

    dataset = load_dataset(name)
    if split == "validation":
        return split_validation(dataset, VALIDATION_FRACTION, seed=VALIDATION_SEED)
    return dataset


def reference_minutes(budget, options, workdir):
    """`budget.reference_steps` x the PyTorch reference's inner step, in minutes.

    The step is `--reference-seconds`, or timed now by `reference_pytorch.py`
    under `--reference-python` (its own PyTorch environment); a timing made in
    `workdir` is reused by `--resume`.
    """
    seconds = options.reference_seconds
    timing = pathlib.Path(workdir) / "reference" / "speed-reference-pytorch.json"
    if seconds is None:
        if not (options.resume and timing.exists()):
            command = [options.reference_python, str(REFERENCE), "--out"]
            subprocess.run([*command, str(timing.parent)], check=True)
        seconds = json.loads(timing.read_text())["timings"]["inner_step"]["median"]
    return budget.reference_steps * seconds / 60.0, seconds


def schedule(budget, minutes, overrides):
    """`DistillConfig` fields of the run's length: steps, or a time budget."""
    if minutes is not None:
        length = {"iterations": PLANNED_ITERATIONS, "inner_steps": budget.inner_steps}
        length["time_budget_minutes"] = minutes * (1.0 - SETUP_RESERVE)
    else:
        inner = min(budget.inner_steps, budget.steps)
        length = {"iterations": max(1, budget.steps // inner), "inner_steps": inner}
    keys = ("iterations", "inner_steps", "time_budget_minutes")
    return {**length, **{k: overrides[k] for k in keys if k in overrides}}


def distill_config(experiment, variant, run, seed):
    """The variant's `DistillConfig`: preset, shared, variant, `--set`, length."""
    from udd_keras.distillation import DistillConfig
    from udd_keras.distillation.presets import preset_settings

    settings = preset_settings(experiment.preset or "paper", **experiment.shared)
    settings.update(variant.overrides)
    settings.update(run["overrides"])
    ipc = settings.pop("ipc", experiment.ipc)
    settings.update(schedule(run["budget"], run["minutes"], variant.overrides))
    return DistillConfig(
        dataset=experiment.dataset,
        ipc=ipc,
        seed=seed,
        log_every=max(1, settings["inner_steps"] // 5),
        **settings,
    )


class Snapshots:
    """A callback saving the images at fractions of the time budget."""

    def __init__(self, distiller, dataset, folder, minutes, fractions, clock):
        self.distiller, self.dataset, self.folder = distiller, dataset, folder
        self.marks = sorted(minutes * f for f in fractions)
        self.clock = time.process_time if clock == "cpu" else time.perf_counter
        self.start, self.points = self.clock(), []

    def save(self, label, minutes, steps):
        from udd_keras.distillation import export

        path = pathlib.Path(self.folder) / f"snap-{label}.tfrecord"
        export(self.distiller.snapshot(), self.dataset, path)
        self.points.append({"minutes": minutes, "steps": steps, "path": str(path)})

    def on_step(self, step, total, logs):
        minutes = (self.clock() - self.start) / 60.0
        while self.marks and minutes >= self.marks[0]:
            self.save(f"{self.marks.pop(0):.4g}min", minutes, step)


def selection_agreement(engine, seed):
    """Share of mined regions two scoring draws agree on, and random's share."""
    import numpy as np
    import tensorflow as tf

    if not engine.formation.mines:
        return None, None
    picks = [
        np.argsort(engine.region_scores(tf.constant(key, tf.int32)).numpy(), axis=1)[
            :, : engine.config.num_selected
        ]
        for key in ([seed, 7], [seed, 8])
    ]
    same = [len(set(a) & set(b)) for a, b in zip(*picks, strict=True)]
    selected = engine.config.num_selected
    return float(np.mean(same) / selected), selected / len(engine.candidate_boxes)


def distill(experiment, variant, run, dataset, seed, folder):
    """Distils one seed; returns `(result, facts, snapshot points)`."""
    import numpy as np

    from udd_keras.distillation import Distiller

    config = distill_config(experiment, variant, run, seed)
    resume = (run["resume"] or run["sets_dir"]) and (folder / "config.json").exists()
    trajectory = run["trajectory_cache"]
    if trajectory and config.resolve().net_data != "real":
        trajectory = None
    distiller = Distiller(
        config,
        dataset=dataset,
        out_dir=folder,
        resume=resume,
        force=not resume,
        trajectory_dir=trajectory,
    )
    snapshots = None
    if run["budget"].snapshots and run["minutes"]:
        snapshots = Snapshots(
            distiller,
            dataset,
            folder,
            run["minutes"],
            run["budget"].snapshots,
            run["budget"].clock,
        )
        snapshots.save("0min", 0.0, 0)
        distiller.callbacks.append(snapshots)
    start = time.perf_counter()
    result = distiller.run()
    seconds = time.perf_counter() - start
    if resume:  # this process ran only part of it: the logged intervals count
        seconds = float(sum(m["seconds"] for m in result.metrics))
    ratios = [m["cfc_gradient_ratio"] for m in result.metrics]
    facts = {
        "distill_seconds": seconds,
        "steps": result.steps,  # all of the run's, a resumed one's too
        "cfc_ratio": float(np.mean(ratios)) if ratios else None,
        "final_matching_loss": result.metrics[-1]["matching_loss"],
        "config": json.loads(json.dumps(result.config.to_dict())),
    }
    if "agreement" in experiment.measures:
        facts["agreement"], facts["agreement_random"] = selection_agreement(
            distiller.engine, seed
        )
    return result, facts, (snapshots.points if snapshots else [])


def evaluate(x, y, dataset, run, seed):
    """Accuracies (percent) of fresh ConvNet-3s trained on `x, y`; and seconds."""
    from udd_keras.evaluation.protocol import evaluate_arrays
    from udd_keras.training import TrainingRecipe

    start = time.perf_counter()
    (report,) = evaluate_arrays(
        x,
        y,
        dataset,
        TrainingRecipe(epochs=run["epochs"], width=run["eval_width"]),
        repeats=run["repeats"],
        eval_every=run["epochs"],
        seed=EVAL_SEED_OFFSET + seed,
    )
    return [100.0 * a for a in report.accuracies], time.perf_counter() - start


def evaluate_path(path, dataset, run, seed):
    from udd_keras.evaluation.protocol import load_evaluation_set

    return evaluate(*load_evaluation_set(path, dataset), dataset, run, seed)


def evaluation_name(variant, decode):
    """How `evaluation_of` names a variant's set: with its decode if it has several."""
    return f"{variant.name} [{decode}]" if variant.decodes else variant.name


def evaluate_once(path, dataset, run, seed, evaluated, name):
    """`evaluate_path`, or the accuracies of the same images evaluated before.

    `evaluated` maps `(training_digest, seed)` to the entry evaluated first
    (its `variant`, `accuracies`); returns an entry's evaluation fields.
    """
    from udd_keras.evaluation.protocol import load_evaluation_set

    x, y = load_evaluation_set(path, dataset)
    from udd_keras.evaluation.fingerprint import training_digest

    digest = training_digest(x, y)
    earlier = evaluated.get((digest, seed))
    if earlier is not None:
        fields = {"accuracies": list(earlier["accuracies"]), "eval_seconds": 0.0}
        return {**fields, "set_digest": digest, "evaluation_of": earlier["variant"]}
    accuracies, seconds = evaluate(x, y, dataset, run, seed)
    evaluated[(digest, seed)] = {"variant": name, "accuracies": accuracies}
    return {"accuracies": accuracies, "eval_seconds": seconds, "set_digest": digest}


def import_round_trip(path, dataset, folder):
    """The set at `path` as DC-style code stores it (NCHW `.npz`), imported back."""
    import numpy as np

    from udd_keras.importing import import_set
    from udd_keras.tfrecords import read_synthetic_set

    synthetic = read_synthetic_set(path)
    npz = pathlib.Path(folder) / "set.npz"
    images = np.asarray(synthetic.images).transpose(0, 3, 1, 2)
    np.savez(npz, images=images, labels=np.asarray(synthetic.labels, np.int64))
    norm = dataset.normalization
    out = pathlib.Path(folder) / "imported.tfrecord"
    return import_set(npz, dataset.name, out, mean=norm.mean, std=norm.std).path


def run_seed(experiment, variant, run, dataset, seed, paths, evaluated=None):
    """One seed of a variant: `{decode: entry}` with accuracies and facts.

    `evaluated`: see `evaluate_once`; None evaluates every set.
    """
    evaluated = {} if evaluated is None else evaluated
    from udd_keras.coreset import select_coreset
    from udd_keras.distillation import Distiller, export

    folder = (
        pathlib.Path(run["sets_dir"] or run["workdir"]) / f"{variant.name}-seed{seed}"
    )
    finished = (folder / "config.json").exists()
    if run["sets_dir"] and variant.source == "distill" and not finished:
        raise SystemExit(f"--sets-of: no {variant.name} seed {seed} in {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    if variant.source == "coreset":
        method = variant.overrides.get("method", "random")
        ipc = variant.overrides.get("ipc", experiment.ipc)
        indices = select_coreset(dataset, ipc, method=method, seed=seed)
        x, y = dataset.x_train[indices], dataset.y_train[indices]
        accuracies, seconds = evaluate(x, y, dataset, run, seed)
        return {"trained": {"accuracies": accuracies, "eval_seconds": seconds}}
    if variant.source == "import":
        path = import_round_trip(paths[(variant.of, seed)], dataset, folder)
        accuracies, seconds = evaluate_path(path, dataset, run, seed)
        return {"trained": {"accuracies": accuracies, "eval_seconds": seconds}}
    if variant.source == "init":
        config = distill_config(experiment, variant, run, seed)
        result, facts, points = Distiller(config, dataset=dataset).snapshot(), {}, []
        facts = {"steps": 0, "distill_seconds": 0.0}
    else:
        result, facts, points = distill(experiment, variant, run, dataset, seed, folder)
    entries = {}
    for decode in variant.decodes or (result.config.resolve().decode,):
        config = result.config.replace(decode=decode)
        path = folder / f"set-{decode}.tfrecord"
        export(dataclasses.replace(result, config=config), dataset, path)
        paths[(variant.name, seed)] = str(path)
        name = evaluation_name(variant, decode)
        fields = evaluate_once(path, dataset, run, seed, evaluated, name)
        entries[decode] = {**fields, **facts, "path": str(path)}
    if points:
        entries[decode]["curve"] = [
            {**p, "accuracies": evaluate_path(p["path"], dataset, run, seed)[0]}
            for p in points
        ] + [
            {
                "minutes": facts["distill_seconds"] / 60.0,
                "steps": facts["steps"],
                "accuracies": entries[decode]["accuracies"],
            }
        ]
    return entries


def entry_identity(settings):
    """What a kept seed's entry must share with a run to be kept: its settings
    without `resume` and `seeds` (an entry is one seed's, whichever seeds the
    run has), so `--seeds 0` keeps seed 0 of a two-seed run."""
    return {k: v for k, v in settings.items() if k not in ("resume", "seeds")}


def kept_evaluations(experiment, kept):
    """`evaluate_once`'s map for the kept entries of every variant, so a run of
    some variants (`--variants`) reuses the evaluations of the others."""
    variants = {variant.name: variant for variant in experiment.variants}
    evaluated = {}
    for key, kept_entry in kept.items():
        name, _, seed = key.rpartition("/seed")
        if name not in variants:
            continue
        for decode, entry in kept_entry["entries"].items():
            if entry.get("set_digest") and not entry.get("evaluation_of"):
                evaluated[(entry["set_digest"], int(seed))] = {
                    "variant": evaluation_name(variants[name], decode),
                    "accuracies": entry["accuracies"],
                }
    return evaluated


def row_of(variant, decode, seeds, entries, split=None):
    """The row of one (variant, decode) from its seeds' entries.

    `default` is true on the rows of a distilled variant that sets nothing but
    its method: the method's defaults under the experiment's shared settings.
    """
    last = entries[-1]
    config = last.get("config") or {}
    row = {
        "variant": variant.name,
        "source": variant.source,
        "method": config.get("method", variant.overrides.get("method")),
        "ipc": config.get("ipc"),
        "inner_steps": last.get("steps"),
        "split": split,
        "default": variant.source == "distill" and set(variant.overrides) <= {"method"},
        "decode": decode,
        "seeds": list(seeds),
        "accuracies": [a for e in entries for a in e["accuracies"]],
        "eval_seconds": sum(e["eval_seconds"] for e in entries),
        "distill_seconds": statistics.fmean(
            e.get("distill_seconds", 0.0) for e in entries
        ),
    }
    for key in (
        "steps",
        "cfc_ratio",
        "agreement",
        "agreement_random",
        "config",
        "path",
    ):
        if last.get(key) is not None:
            row[key] = last[key]
    if any(e.get("set_digest") for e in entries):
        row["set_digests"] = [e.get("set_digest") for e in entries]
    reused = sorted({e["evaluation_of"] for e in entries if e.get("evaluation_of")})
    if reused:  # the same images as these variants' sets: their accuracies
        row["evaluation_of"] = reused
    curves = [e["curve"] for e in entries if e.get("curve")]
    if curves:  # the seeds' curves, point by point
        row["curve"] = [
            {**points[0], "accuracies": [a for p in points for a in p["accuracies"]]}
            for points in zip(*curves, strict=False)
        ]
    return row


def add_mue(rows):
    """Adds the mUE of every row's last set, on one joint reference range."""
    from udd_keras.metrics.measure import measure_sets

    rows = [r for r in rows if r.get("path") and pathlib.Path(r["path"]).exists()]
    if rows:
        measured = measure_sets([r["path"] for r in rows])
        for row, result in zip(rows, measured, strict=True):
            row["mue"] = float(result.report.overall)


def run(experiment, options, write):
    """Runs every variant and seed; `write(report)` after every seed."""
    from benchmarks.results import new_report

    budget = experiment.budget
    if options.steps is not None:
        budget = dataclasses.replace(budget, steps=options.steps, minutes=None)
        budget = dataclasses.replace(budget, reference_steps=None)
    split = options.split or experiment.split
    seeds = options.seeds or list(experiment.seeds)
    workdir = pathlib.Path(options.workdir or tempfile.gettempdir()) / experiment.name
    sets_dir = None
    if options.sets_of is not None:  # another run's finished sets, evaluated again
        sets_dir = workdir / "-".join(filter(None, (split, options.sets_of)))
    workdir = workdir / "-".join(filter(None, (split, options.tag)))
    workdir.mkdir(parents=True, exist_ok=True)
    if budget.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(budget.threads)
    minutes, reference_seconds = budget.minutes, None
    if options.reference_steps:
        budget = dataclasses.replace(budget, reference_steps=options.reference_steps)
    if budget.reference_steps and options.steps is None:
        minutes, reference_seconds = reference_minutes(budget, options, workdir)
    run = {
        "split": split,
        "seeds": seeds,
        "repeats": options.repeats or experiment.repeats,
        "epochs": options.epochs or experiment.epochs,
        "eval_width": options.eval_width or experiment.eval_width,
        "budget": budget,
        "minutes": minutes,
        "overrides": options.overrides,
        "workdir": str(workdir),
        "sets_dir": str(sets_dir) if sets_dir else None,
        "resume": options.resume,
        "trajectory_cache": options.trajectory_cache,
    }
    settings = {
        **{
            k: v
            for k, v in run.items()
            if k not in ("workdir", "trajectory_cache", "sets_dir")
        },
        "sets_of": options.sets_of,
        "dataset": experiment.dataset,
        "ipc": experiment.ipc,
        "preset": experiment.preset,
        "shared": experiment.shared,
        "budget": dataclasses.asdict(budget),
        "reference_step_seconds": reference_seconds,
    }
    identity = json.dumps(entry_identity(settings), sort_keys=True, default=str)
    store = workdir / "entries.json"
    kept = json.loads(store.read_text()) if options.resume and store.exists() else {}
    kept = {
        k: v
        for k, v in kept.items()
        if entry_identity(json.loads(v["identity"])) == json.loads(identity)
    }
    report = new_report(experiment, options.command, settings)
    variants = [
        v
        for v in experiment.variants
        if not options.variants or v.name in options.variants
    ]
    report["variants"] = {v.name: {"source": v.source, **v.overrides} for v in variants}
    report["unfinished"] = [v.name for v in variants]
    dataset, paths = load_split(experiment.dataset, split), {}
    evaluated = kept_evaluations(experiment, kept)
    for variant in variants:
        per_seed = []
        for seed in seeds:
            key = f"{variant.name}/seed{seed}"
            if key in kept:
                print(f"{key}: kept from an earlier run", flush=True)
                paths[(variant.name, seed)] = next(
                    iter(kept[key]["entries"].values())
                ).get("path")
            else:
                entries = run_seed(
                    experiment, variant, run, dataset, seed, paths, evaluated
                )
                kept[key] = {"identity": identity, "entries": entries}
                store.write_text(json.dumps(kept))
                for decode, entry in entries.items():
                    print(f"{key} [{decode}]: {entry['accuracies']}", flush=True)
            per_seed.append(kept[key]["entries"])
        for decode in per_seed[0]:
            entries = [seed_entries[decode] for seed_entries in per_seed]
            report["rows"].append(row_of(variant, decode, seeds, entries, split))
        report["unfinished"].remove(variant.name)
        write(report)
    if "mue" in experiment.measures:
        add_mue(report["rows"])
    return write(report)
