"""Line plots: named curves, with an optional std band."""

import numpy as np

from udd_keras.errors import UddError
from udd_keras.visualization.png import new_figure, save_png


def plot_series(axes, name, values):
    """Draws one series: (x, y) as a line, (x, y_mean, y_std) with a band."""
    if not isinstance(values, (tuple, list)) or len(values) not in (2, 3):
        raise UddError(
            f"series {name!r} must be (x, y) or (x, y_mean, y_std), "
            f"got {type(values).__name__} of length "
            f"{len(values) if hasattr(values, '__len__') else '?'}"
        )
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in values]
    if any(a.shape != arrays[0].shape for a in arrays):
        raise UddError(
            f"series {name!r} must have equal lengths, got "
            f"{[a.shape[0] for a in arrays]}"
        )
    x, y = arrays[0], arrays[1]
    (line,) = axes.plot(x, y, marker="o" if x.size <= 30 else None, ms=3, label=name)
    if len(arrays) == 3:
        axes.fill_between(
            x, y - arrays[2], y + arrays[2], color=line.get_color(), alpha=0.2
        )


def save_curves(path, series, xlabel, ylabel, title):
    """Writes a PNG of named curves on one set of axes.

    Args:
        path: str or path-like, the PNG to write (written atomically).
        series: dict name -> `(x, y)` or `(x, y_mean, y_std)`; the std is
            drawn as a shaded band of +-1 std.
        xlabel: str.
        ylabel: str.
        title: str.

    Returns:
        `pathlib.Path` of the PNG.

    Example:
    >>> save_curves("/tmp/loss.png", {"loss": ([0, 1, 2], [3.0, 2.0, 1.5])},
    ...             "step", "loss", "Matching loss").name
    'loss.png'
    """
    if not series:
        raise UddError("series must hold at least one curve, got an empty dict")
    figure = new_figure(6.0, 4.0)
    axes = figure.add_subplot()
    for name, values in series.items():
        plot_series(axes, str(name), values)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return save_png(figure, path)


def save_ue_curve(
    path, stds, ue_values_by_d, title="Utilization of normal activations"
):
    """Writes the paper's Fig. 8: UE^d of normal activations against their std.

    Args:
        path: str or path-like, the PNG to write (written atomically).
        stds: 1-D sequence of the stds, e.g. the ones given to
            `udd_keras.metrics.ue_curve_for_normal`.
        ue_values_by_d: dict d -> UE^d values, one per std. Their mean (mUE)
            is drawn as a dashed black line when there are several d.
        title: str.

    Returns:
        `pathlib.Path` of the PNG.

    Example:
    >>> from udd_keras.metrics import ue_curve_for_normal
    >>> stds = np.geomspace(0.01, 10.0, 20)
    >>> curves = {d: ue_curve_for_normal(stds, d) for d in range(5, 11)}
    >>> save_ue_curve("/tmp/fig8.png", stds, curves).name
    'fig8.png'
    """
    stds = np.asarray(stds, dtype=np.float64).reshape(-1)
    if not ue_values_by_d:
        raise UddError("ue_values_by_d must hold at least one d, got an empty dict")
    curves = {
        d: np.asarray(v, dtype=np.float64).reshape(-1)
        for d, v in ue_values_by_d.items()
    }
    for d, values in curves.items():
        if values.shape != stds.shape:
            raise UddError(
                f"ue_values_by_d[{d!r}] must hold one value per std: got "
                f"{values.shape[0]} values for {stds.shape[0]} stds"
            )
    figure = new_figure(6.0, 4.0)
    axes = figure.add_subplot()
    for d, values in curves.items():
        axes.plot(stds, values, lw=1.2, label=f"d = {d}")
    if len(curves) > 1:
        mean = np.mean(list(curves.values()), axis=0)
        axes.plot(stds, mean, "k--", lw=2.0, label="mean (mUE)")
    if stds.size and stds.min() > 0 and stds.max() / stds.min() > 20:
        axes.set_xscale("log")
    axes.set_ylim(0.0, 1.0)
    axes.set_xlabel("std of the normal distribution")
    axes.set_ylabel("UE")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return save_png(figure, path)
