"""Grouped bar charts, e.g. per-class mUE of several sets side by side."""

import numpy as np

from udd_keras.errors import UddError
from udd_keras.visualization.png import new_figure, save_png


def save_bar_chart(path, groups, ylabel, title):
    """Writes a PNG of grouped bars.

    The outer keys of `groups` are the groups along the x axis (e.g. classes),
    the inner keys the bars within each group (e.g. synthetic sets), with one
    colour and legend entry per inner key. A bar missing from a group is left
    out of that group.

    Args:
        path: str or path-like, the PNG to write (written atomically).
        groups: dict group name -> dict bar name -> value, e.g.
            `{"cat": {"UDD": 0.81, "IDC": 0.74}, "dog": {...}}`.
        ylabel: str.
        title: str.

    Returns:
        `pathlib.Path` of the PNG.

    Example:
    >>> groups = {"cat": {"UDD": 0.81, "IDC": 0.74}, "dog": {"UDD": 0.8}}
    >>> save_bar_chart("/tmp/mue.png", groups, "mUE", "Per-class mUE").name
    'mue.png'
    """
    if not groups or not all(isinstance(bars, dict) for bars in groups.values()):
        raise UddError(
            "groups must be a non-empty dict of group name -> dict of bar name "
            f"-> value, got {groups!r}"
        )
    bar_names = list(dict.fromkeys(name for bars in groups.values() for name in bars))
    if not bar_names:
        raise UddError(f"groups must hold at least one bar, got {groups!r}")
    group_names = list(groups)
    slot = 0.8 / len(bar_names)
    centres = np.arange(len(group_names))

    figure = new_figure(max(5.0, 1.0 + 0.35 * len(group_names) * len(bar_names)), 4.0)
    axes = figure.add_subplot()
    for k, bar_name in enumerate(bar_names):
        heights = np.array(
            [float(groups[g].get(bar_name, np.nan)) for g in group_names]
        )
        offset = (k - (len(bar_names) - 1) / 2) * slot
        present = ~np.isnan(heights)
        axes.bar(
            centres[present] + offset, heights[present], width=slot, label=bar_name
        )
    axes.set_xticks(
        centres, [str(g) for g in group_names], rotation=45 if len(groups) > 6 else 0
    )
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, axis="y", alpha=0.3)
    if len(bar_names) > 1:
        axes.legend(fontsize=8)
    figure.tight_layout()
    return save_png(figure, path)
