"""Does the scoring measure something? Selection stability across jitter draws.

For a formation's starting images and a network trained on real data for a few
updates (the state the images see inside an outer iteration), every scoring
setting (policy, jitter amount, M, size normalisation) scores the candidate
regions under `--draws` independent random keys. Reported per setting:

- agreement: the mean over image pairs of draws of |A ∩ B| / P, where A and B
  are the P regions two draws select for one image; a random choice of P of
  N' candidates agrees on P / N' in expectation;
- selection rate per window size: how often a window of each size (1/2, 2/3,
  1/3 of the side) is among the P selected, against P / N' for every size
  under random choice (a bias toward one size shows here).

    python benchmarks/scoring_stability.py                 # FashionMNIST, IPC 1
    python benchmarks/scoring_stability.py --dataset digits --draws 4 --width 16

Writes `benchmarks/results/scoring-stability-<dataset>-ipc<N>.json` and `.md`.
"""

import argparse
import dataclasses
import datetime
import itertools
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _environment import environment, versions_text, write_results  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
SIZE_NAMES = ("1/2", "2/3", "1/3")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--ipc", type=int, default=1)
    parser.add_argument(
        "--formations", nargs="+", default=["original+regions", "tiles+regions"]
    )
    parser.add_argument(
        "--amounts", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0]
    )
    parser.add_argument("--jitters", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--normalizations", nargs="+", default=["none", "size"])
    parser.add_argument(
        "--network-updates",
        type=int,
        default=25,
        help="network updates on real data before scoring (half an outer "
        "iteration of 50 inner steps)",
    )
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def selections(engine, draws, seed):
    """Indices of the P selected candidates per draw; int (draws, B, P)."""
    import tensorflow as tf

    picks = []
    for draw in range(draws):
        scores = engine.region_scores(tf.constant([seed, 1000 + draw], tf.int32))
        order = np.argsort(scores.numpy(), axis=1, kind="stable")
        picks.append(order[:, : engine.config.num_selected])
    return np.stack(picks)


def agreement(picks):
    """Mean |A ∩ B| / P over every pair of draws and every image."""
    draws, _, selected = picks.shape
    shares = [
        len(set(a) & set(b)) / selected
        for i, j in itertools.combinations(range(draws), 2)
        for a, b in zip(picks[i], picks[j], strict=True)
    ]
    return float(np.mean(shares))


def size_rates(picks, size_groups):
    """Per window size, the share of that size's candidates that are selected."""
    rates = {}
    chosen = np.zeros(picks.shape[:2] + (len(size_groups),), bool)
    np.put_along_axis(chosen, picks, True, axis=2)
    for group in np.unique(size_groups):
        rates[SIZE_NAMES[group]] = float(chosen[..., size_groups == group].mean())
    return rates


def measure(args):
    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig, Distiller
    from udd_keras.distillation.engine import fold_in

    dataset = load_dataset(args.dataset)
    rows = []
    for formation in args.formations:
        config = DistillConfig(
            dataset=dataset.name,
            ipc=args.ipc,
            formation=formation,
            init_selection="kmeans",
            width=args.width,
            seed=args.seed,
        )
        distiller = Distiller(config, dataset=dataset)
        engine = distiller.engine
        engine.reset_network(args.seed)
        base = fold_in([args.seed, 5], 0)
        for update in range(args.network_updates):
            engine.update_network(fold_in(base, update))
        resolved = engine.config
        groups = engine.formation.size_groups
        chance = resolved.num_selected / len(engine.candidate_boxes)
        settings = [("random", None, None, "none")] + [
            ("jitter", amount, jitters, normalization)
            for amount in args.amounts
            for jitters in args.jitters
            for normalization in args.normalizations
        ]
        for policy, amount, jitters, normalization in settings:
            engine.config = dataclasses.replace(
                resolved,
                policy=policy,
                jitter_amount=amount or resolved.jitter_amount,
                jitters=jitters or resolved.jitters,
                score_normalization=normalization,
            )
            picks = selections(engine, args.draws, args.seed)
            row = {
                "formation": formation,
                "policy": policy,
                "jitter_amount": amount,
                "jitters": jitters,
                "score_normalization": normalization,
                "candidates": len(engine.candidate_boxes),
                "selected": resolved.num_selected,
                "agreement": agreement(picks),
                "agreement_random": chance,
                "selection_rate_per_size": size_rates(picks, groups),
            }
            rows.append(row)
            print(
                f"{formation} {policy} amount={amount} M={jitters} "
                f"{normalization}: agreement {row['agreement']:.3f} "
                f"(random {chance:.3f}) rates {row['selection_rate_per_size']}",
                flush=True,
            )
        engine.config = resolved
    return rows


def markdown(report):
    lines = [
        f"# Scoring stability: {report['dataset']}, IPC {report['ipc']}",
        "",
        f"Run {report['date']}; `{report['command']}`.",
        f"Network: ConvNet-3 width {report['settings']['width']}, "
        f"{report['settings']['network_updates']} network updates on real data; "
        f"{report['settings']['draws']} scoring draws per setting; k-means start.",
        "",
        "| formation | policy | amount | M | normalisation | agreement (random) "
        "| selected per size: 1/2, 2/3, 1/3 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        rates = ", ".join(
            f"{name} {rate:.2f}"
            for name, rate in row["selection_rate_per_size"].items()
        )
        lines.append(
            f"| {row['formation']} | {row['policy']} | "
            f"{row['jitter_amount'] if row['jitter_amount'] else '-'} | "
            f"{row['jitters'] or '-'} | {row['score_normalization']} | "
            f"{row['agreement']:.3f} ({row['agreement_random']:.3f}) | {rates} |"
        )
    machine = report["machine"]
    lines += [
        "",
        "Random choice selects every size at the rate P / N' (the agreement in "
        "brackets). Amounts are in normalised pixel units.",
        f"Machine: {machine['processor']}, {machine['cpu_count']} CPUs. "
        f"Versions: {versions_text(report['versions'])}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    rows = measure(args)
    report = {
        "dataset": args.dataset,
        "ipc": args.ipc,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/scoring_stability.py "
        + " ".join(argv or sys.argv[1:]),
        "settings": vars(args),
        **environment(),
        "rows": rows,
    }
    stem = RESULTS / (args.out or f"scoring-stability-{args.dataset}-ipc{args.ipc}")
    write_results(stem, report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
