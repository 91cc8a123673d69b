"""Measures that are neither accuracy nor time: `measure(args) -> dict`.

Run by the timing pipeline (`benchmarks/timing.py`) like any measure.
"""

import itertools
import pathlib

import numpy as np

ARRAY_TOLERANCE = 1e-5


def scoring_stability(args):
    """How often independent scoring draws select the same regions.

    For the formation's starting images and a network trained on real data for
    `network_updates` updates, each scoring setting scores the candidates under
    `draws` keys. Returns, per setting, the mean over draw pairs and images of
    |A ∩ B| / P (random choice: P / N') and the selection rate per window size.
    """
    import tensorflow as tf

    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig, Distiller
    from udd_keras.distillation.engine import fold_in

    config = DistillConfig(
        args.dataset,
        ipc=args.ipc,
        formation=args.formation,
        init_selection="kmeans",
        width=args.width,
        seed=args.seed,
    )
    engine = Distiller(config, dataset=load_dataset(args.dataset)).engine
    engine.reset_network(args.seed)
    for update in range(args.network_updates):
        engine.update_network(fold_in(fold_in([args.seed, 5], 0), update))
    resolved, values = engine.config, {}
    selected = resolved.num_selected
    values["agreement_random"] = selected / len(engine.candidate_boxes)
    settings = [("random", None, None, "none")] + list(
        itertools.product(["jitter"], args.amounts, args.jitters, args.normalizations)
    )
    for policy, amount, jitters, normalization in settings:
        engine.config = resolved.replace(
            policy=policy,
            jitter_amount=amount or resolved.jitter_amount,
            jitters=jitters or resolved.jitters,
            score_normalization=normalization,
        )
        picks = np.stack(
            [
                np.argsort(
                    engine.region_scores(tf.constant([args.seed, 1000 + d], tf.int32)),
                    axis=1,
                    kind="stable",
                )[:, :selected]
                for d in range(args.draws)
            ]
        )
        shares = [
            len(set(a) & set(b)) / selected
            for i, j in itertools.combinations(range(args.draws), 2)
            for a, b in zip(picks[i], picks[j], strict=True)
        ]
        chosen = np.zeros(picks.shape[:2] + (len(engine.candidate_boxes),), bool)
        np.put_along_axis(chosen, picks, True, axis=2)
        groups = np.asarray(engine.formation.size_groups)
        values[f"{policy} amount={amount} M={jitters} {normalization}"] = {
            "agreement": float(np.mean(shares)),
            "selection_rate_per_size": [
                float(chosen[..., groups == g].mean()) for g in np.unique(groups)
            ],
        }
    engine.config = resolved
    return values


def fingerprints(args):
    """`{name: array}` of short seeded runs of every path a refactor touches."""
    from udd_keras.coreset import coreset_recipe, select_coreset
    from udd_keras.data import load_dataset
    from udd_keras.distillation import distill
    from udd_keras.evaluation.protocol import evaluate_arrays
    from udd_keras.metrics.network import train_measuring_network
    from udd_keras.training import TrainingRecipe

    out, datasets = {}, {}
    for name, (dataset, settings) in args.distills.items():
        datasets.setdefault(dataset, load_dataset(dataset))
        result = distill(datasets[dataset], ipc=1, **(args.short | settings))
        out[f"{name}/images"], out[f"{name}/boxes"] = result.images, result.boxes
    digits = datasets["digits"]
    images, labels = out["digits-udd-sgd/images"], np.arange(digits.num_classes)
    recipe = TrainingRecipe(epochs=5, width=16)
    (result,) = evaluate_arrays(images, labels, digits, recipe, repeats=2)
    out["evaluate/accuracies"] = 100 * np.asarray(result.accuracies, np.float64)
    for method in ("herding", "forgetting"):
        coreset = coreset_recipe(method).replace(epochs=2, width=16)
        out[f"coreset-{method}/indices"] = select_coreset(
            digits, ipc=2, method=method, seed=0, recipe=coreset
        )
    network = train_measuring_network(
        images, labels, digits.num_classes, "digits", recipe, seed=0
    )
    out["mue-network/logits"] = np.asarray(network.model(digits.x_test[:64]))
    return out


def refactor_equivalence(args):
    """The largest difference of every fingerprint from the recorded ones
    (`reference`, an `.npz`; `record`: write the current ones there instead)."""
    current = fingerprints(args)
    if getattr(args, "record", None):
        np.savez(args.record, **current)
        return {"recorded": str(args.record), "fingerprints": len(current)}
    reference = pathlib.Path(args.reference)
    if not reference.is_absolute():
        reference = pathlib.Path(__file__).resolve().parent / reference
    values, failed = {}, []
    with np.load(reference) as data:
        for name in sorted(data.files):
            after = current.get(name)
            if after is None or np.shape(after) != data[name].shape:
                difference = float("inf")
            else:
                difference = float(
                    np.max(
                        np.abs(np.asarray(after, np.float64) - data[name]), initial=0.0
                    )
                )
            tolerance = ARRAY_TOLERANCE if name.endswith(("images", "logits")) else 0
            values[name] = difference
            if not difference <= tolerance:
                failed.append(name)
    return {
        "reference": reference.name,
        "passed": not failed,
        "failed": failed,
        **values,
    }
