"""What the windows UDD mines contain: `measure(args) -> dict` of named values.

One short distillation (the run mines as its config says: the lowest jitter
scores). Before its first step and every `every` steps after, with the network of
that moment, the candidate windows of every synthetic image are scored by jitter
(as the run mines them) and by activation, and three choices of P windows are
made from the same scores: the P lowest (the paper's underutilized regions), the
P highest, and P at random (`policy="random"`). For each chosen window: its box,
its fraction of near-background pixels (value < `threshold` in [0, 1], the mean
over channels) in the synthetic image, and the same fraction in the same window
of the class's real images, laid out as the formation starts from them (whole
images for `original+regions`; for the tiled formations, mosaics of `factor**2`
real images shrunk into the tiles, as the mosaic start builds them): the
reference for a black border. And the Spearman rank correlation of the jitter
scores with the activation scores over every candidate window.
"""

import pathlib

import numpy as np

MODES = ("lowest", "random", "highest")
SIZE_NAMES = ("1/2", "2/3", "1/3")  # `formation.size_groups` 0, 1, 2
BOX_FIELDS = ("top", "left", "bottom", "right", "synthetic", "real")


def background_fractions(images, boxes, threshold):
    """Fraction of pixels below `threshold` (mean over channels) in each box.

    Args:
        images: float array (B, H, W, C) in [0, 1].
        boxes: int array (N, 4) of `[top, left, bottom, right)` boxes.
        threshold: float.

    Returns:
        float64 array (B, N) in [0, 1].
    """
    dark = np.asarray(images, np.float64).mean(axis=-1) < threshold
    return np.stack(
        [dark[:, t:b, x:r].mean(axis=(1, 2)) for t, x, b, r in np.asarray(boxes)],
        axis=1,
    )


def spearman(a, b):
    """Spearman's rank correlation of two flat arrays (ties averaged); NaN when
    either is constant."""
    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    try:
        from scipy.stats import spearmanr

        return float(spearmanr(a, b).statistic)
    except ImportError:
        return float(np.corrcoef(_average_ranks(a), _average_ranks(b))[0, 1])


def _average_ranks(values):
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(len(values))
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def chosen(scores, count, end):
    """Indices (B, count) of the `count` lowest or highest scores of each row,
    in the order `select_lowest` gives them (ties: the lower index first)."""
    scores = np.asarray(scores)
    order = np.argsort(scores if end == "lowest" else -scores, axis=1, kind="stable")
    return order[:, :count]


def reference_layout(dataset, formation, factor, count, seed):
    """The class's real images as the formation's start lays them out.

    Returns:
        `(images, labels)`: every training image (whole-image formations), or
        `count` mosaics per class of `factor**2` random real images (tiled).
    """
    from udd_keras.distillation.initialization import mosaic_images

    if not formation.tiled:
        return dataset.x_train, np.asarray(dataset.y_train)
    smallest = int(np.bincount(dataset.y_train).min())
    count = max(1, min(count, smallest // factor**2))
    rng = np.random.default_rng(seed)
    mosaics = mosaic_images(
        dataset.x_train, dataset.y_train, dataset.num_classes, count, factor, rng
    )
    return mosaics, np.repeat(np.arange(dataset.num_classes), count)


class _Probe:
    """Distiller callback: `analyse(step)` before the first step and every
    `every` steps after (and at the last)."""

    def __init__(self, distiller, analyse, every):
        self.distiller, self.analyse, self.every = distiller, analyse, every

    def on_start(self, step, total):
        # The loop resets the network to this seed before step 0 as well.
        self.distiller.engine.reset_network(self.distiller._network_seed(0))
        self.analyse(step)

    def on_step(self, step, total, logs):
        if step % self.every == 0 or step == total:
            self.analyse(step)


def _scores(engine, resolved, key, policy, normalization):
    engine.config = resolved.replace(policy=policy, score_normalization=normalization)
    try:
        return np.asarray(engine.region_scores(key))
    finally:
        engine.config = resolved


def measure(args):
    """Background fractions of the windows lowest / random / highest mining picks.

    `args`: `dataset`, `formation`, `width`, `inner_steps` (or `steps`), `every`,
    `threshold`, `reference_images`, `figure` (a PNG path, `{formation}` filled
    in, relative to `benchmarks/`; empty for none), `figure_classes`, `seed`, and
    any `DistillConfig` field in `config` (a dict).

    Returns:
        dict: per mode, the mean background fraction of its chosen windows in
        the synthetic images and in the real reference, their mean area share
        and the share of each window size; the same over every candidate window;
        the Spearman correlations of jitter with activation scores (over all
        (image, window) pairs as mined, the same without size normalisation,
        and the mean over images); every step's boxes in `per_step`.
    """
    import tensorflow as tf

    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig, Distiller
    from udd_keras.distillation.engine import fold_in
    from udd_keras.regions.formations import get_formation

    steps = getattr(args, "steps", None) or args.inner_steps
    config = DistillConfig(
        args.dataset,
        ipc=1,
        method="udd",
        formation=args.formation,
        width=args.width,
        seed=args.seed,
        iterations=1,
        inner_steps=steps,
        **getattr(args, "config", {}),
    )
    dataset = load_dataset(args.dataset)
    distiller = Distiller(config, dataset=dataset)
    engine, resolved = distiller.engine, distiller.config
    formation = engine.formation
    candidates, groups = formation.candidates, np.asarray(formation.size_groups)
    count = resolved.num_selected
    height, width = engine.image_shape[:2]
    areas = (candidates[:, 2] - candidates[:, 0]) * (
        candidates[:, 3] - candidates[:, 1]
    )
    areas = areas / (height * width)
    real_images, real_labels = reference_layout(
        dataset,
        get_formation(resolved.formation),
        resolved.factor,
        args.reference_images,
        args.seed,
    )
    real_images = dataset.normalization.denormalize(real_images)
    real_per_window = background_fractions(real_images, candidates, args.threshold)
    per_class = np.stack(
        [
            real_per_window[real_labels == c].mean(axis=0)
            for c in range(dataset.num_classes)
        ]
    )
    real_class = per_class[engine.labels]  # (num_images, N'): each image's class
    base_key = tf.constant([args.seed, 0], tf.int32)
    per_step = []

    def analyse(step):
        key = fold_in(base_key, 0, step)  # the key step `step` selects with
        images = dataset.normalization.denormalize(engine.images.numpy())
        images = np.clip(images, 0.0, 1.0)
        synthetic = background_fractions(images, candidates, args.threshold)
        jitter = _scores(engine, resolved, key, "jitter", resolved.score_normalization)
        activation = _scores(
            engine, resolved, key, "activation", resolved.score_normalization
        )
        raw_jitter = _scores(engine, resolved, key, "jitter", "none")
        raw_activation = _scores(engine, resolved, key, "activation", "none")
        random = _scores(engine, resolved, key, "random", "none")
        record = {
            "step": step,
            "candidates": {
                "synthetic": float(synthetic.mean()),
                "real": float(real_class.mean()),
            },
            "spearman": spearman(jitter, activation),
            "spearman_raw": spearman(raw_jitter, raw_activation),
            "spearman_per_image": float(
                np.nanmean(
                    [spearman(j, a) for j, a in zip(jitter, activation, strict=True)]
                )
            ),
        }
        for mode, picks in (
            ("lowest", chosen(jitter, count, "lowest")),
            ("random", chosen(random, count, "lowest")),
            ("highest", chosen(jitter, count, "highest")),
        ):
            rows = np.arange(len(picks))[:, None]
            record[mode] = {
                "synthetic": float(synthetic[rows, picks].mean()),
                "real": float(real_class[rows, picks].mean()),
                "area": float(areas[picks].mean()),
                "sizes": [
                    float((groups[picks] == g).mean()) for g in np.unique(groups)
                ],
                "boxes": [
                    [
                        [
                            *map(int, candidates[n]),
                            round(float(synthetic[i, n]), 4),
                            round(float(real_class[i, n]), 4),
                        ]
                        for n in picks[i]
                    ]
                    for i in range(len(picks))
                ],
            }
            record[mode]["indices"] = picks.tolist()
        record["images"] = images
        record["maps"] = np.asarray(engine._forward(engine.images)[0])
        per_step.append(record)

    every = max(1, min(args.every, steps))
    distiller.callbacks.append(_Probe(distiller, analyse, every))
    distiller.run()
    figure = _figure(args, per_step, engine, dataset, resolved)
    for record in per_step:
        del record["images"], record["maps"]
    values = {
        "formation": resolved.formation,
        "selected_P": count,
        "candidates_N": len(candidates),
        "steps_analysed": [r["step"] for r in per_step],
        "candidates_background_synthetic": _mean(per_step, "candidates", "synthetic"),
        "candidates_background_real": _mean(per_step, "candidates", "real"),
    }
    for mode in MODES:
        values[f"{mode}_background_synthetic"] = _mean(per_step, mode, "synthetic")
        values[f"{mode}_background_real"] = _mean(per_step, mode, "real")
        values[f"{mode}_area"] = _mean(per_step, mode, "area")
        sizes = np.mean([r[mode]["sizes"] for r in per_step], axis=0)
        values[f"{mode}_size_shares"] = {
            SIZE_NAMES[g]: float(s)
            for g, s in zip(np.unique(groups), sizes, strict=True)
        }
    for name in ("spearman", "spearman_raw", "spearman_per_image"):
        values[f"{name}_jitter_activation"] = float(
            np.nanmean([r[name] for r in per_step])
        )
    values["box_fields"] = list(BOX_FIELDS)
    values["per_step"] = per_step
    values["figure"] = figure
    return values


def _mean(per_step, mode, field):
    return float(np.mean([r[mode][field] for r in per_step]))


def _figure(args, per_step, engine, dataset, resolved):
    """Synthetic images of a few classes, first and last step analysed, with the
    lowest (red) and highest (green, dashed) chosen boxes; the second row of
    each step with the response map overlaid (`visualization.overlays`)."""
    path = getattr(args, "figure", "")
    if not path:
        return None
    from matplotlib.patches import Rectangle

    from udd_keras.visualization.images import to_rgb
    from udd_keras.visualization.overlays import overlay, upsample_maps
    from udd_keras.visualization.png import new_figure, save_png

    given = pathlib.Path(path.format(formation=resolved.formation))
    path = pathlib.Path(__file__).resolve().parent / given  # absolute stays
    classes = [c for c in args.figure_classes if c < len(engine.labels)]
    shown = [per_step[0], per_step[-1]] if len(per_step) > 1 else per_step
    height, width = engine.image_shape[:2]
    figure = new_figure(1.6 * len(classes), 1.7 * 2 * len(shown))
    grid = figure.subplots(2 * len(shown), len(classes), squeeze=False)
    for block, record in enumerate(shown):
        pictures = record["images"]
        maps = upsample_maps(record["maps"], height, width)
        for col, c in enumerate(classes):
            one = pictures[c : c + 1]
            for row, picture in enumerate(
                (to_rgb(one)[0], overlay(one, maps[c : c + 1])[0])
            ):
                axes = grid[2 * block + row, col]
                axes.imshow(np.clip(picture, 0, 1), interpolation="nearest")
                axes.set_xticks([])
                axes.set_yticks([])
                for mode, colour, style, inset in (
                    ("lowest", "red", "-", 0.0),
                    ("highest", "lime", "--", 0.35),
                ):
                    for t, x, b, r, *_ in record[mode]["boxes"][c]:
                        axes.add_patch(
                            Rectangle(
                                (x - 0.5 + inset, t - 0.5 + inset),
                                r - x - 2 * inset,
                                b - t - 2 * inset,
                                fill=False,
                                edgecolor=colour,
                                linestyle=style,
                                linewidth=1.2,
                            )
                        )
                if row == 0:
                    axes.set_title(
                        f"{dataset.class_names[c]}, step {record['step']}", fontsize=7
                    )
    figure.suptitle(
        f"{resolved.formation}: lowest jitter (red) / highest (green)", fontsize=8
    )
    save_png(figure, path)
    return str(given)
