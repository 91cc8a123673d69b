"""PNG figures: image grids, curves, activation overlays, bar charts, Fig. 8.

Every function draws with matplotlib's Agg backend (no display needed), writes
its PNG atomically (a temporary file in the same folder, then `os.replace`) and
returns the path.
"""

from udd_keras.visualization.bars import save_bar_chart
from udd_keras.visualization.curves import save_curves, save_ue_curve
from udd_keras.visualization.image_grid import save_image_grid
from udd_keras.visualization.overlays import save_activation_overlays

__all__ = [
    "save_activation_overlays",
    "save_bar_chart",
    "save_curves",
    "save_image_grid",
    "save_ue_curve",
]
