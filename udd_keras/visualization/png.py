"""Writing matplotlib figures to PNG files atomically, with the Agg backend."""

import pathlib

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from udd_keras.files import atomic_path

DPI = 100


def new_figure(width_inches, height_inches):
    """A matplotlib `Figure` drawn by Agg, outside pyplot's global state.

    Args:
        width_inches: float, figure width.
        height_inches: float, figure height.

    Returns:
        `matplotlib.figure.Figure`.
    """
    figure = Figure(figsize=(width_inches, height_inches), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure, path):
    """Saves `figure` to `path` as a PNG, atomically.

    The figure is written to a temporary file in the same folder and moved onto
    `path` with `os.replace`, so `path` is never left half-written; the
    temporary file is removed if saving fails. Missing folders are created.

    Args:
        figure: `matplotlib.figure.Figure`.
        path: str or path-like, the PNG to write.

    Returns:
        `pathlib.Path` of the written file.
    """
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        figure.savefig(file, format="png", dpi=DPI)
    return pathlib.Path(path)
