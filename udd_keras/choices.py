"""The named choices of the settings, importable without TensorFlow.

Each tuple lists the values a setting accepts. The modules that implement a
choice re-export its tuple (`udd_keras.losses.METRICS` is `METRICS` here), and the
command-line options build their `click.Choice` lists from these, so
`udd-keras COMMAND --help` never has to import TensorFlow.
"""

# Gradient matching (udd_keras/losses/matching.py).
METRICS = ("l1", "mse", "cos")
MATCHED_PARAMETERS = ("conv", "conv+dense", "all")

# Region scoring (udd_keras/policies/).
JITTER_FUNCTIONS = ("gaussian", "uniform", "salt_and_pepper")
POLICIES = ("jitter", "activation", "gradient", "vote", "random", "uniform")
SCORED_POLICIES = ("jitter", "activation", "gradient", "vote", "random")
# Which end of a scoring policy's ranking is mined: the lowest scores (the
# paper's underutilized regions) or the highest.
MINE_FROM = ("lowest", "highest")

# How a crop's backward pass is scaled (udd_keras/regions/formation.py):
# bilinear resizing's own, scaled by the crop's share of the image, or none
# through the mined regions' crops (the fixed boxes' scaled as under "area").
CROP_GRADIENTS = ("sum", "area", "stop")
# How often the mined regions are chosen (udd_keras/distillation/engine.py): at
# every image update, once per outer iteration, or once per run.
REGION_PERIODS = ("step", "iteration", "run")

# Which real images start the synthetic ones
# (udd_keras/distillation/initialization.py).
SELECTIONS = ("random", "kmeans")

# Where the evaluation's accuracy curve tests (udd_keras/evaluation/run.py): its
# intermediate points on a fixed class-balanced test subset, on the whole test
# split, or no intermediate point. The last point is always the whole split.
CURVES = ("subset", "full", "final")

# tf.distribute strategies (udd_keras/distribute.py).
STRATEGIES = ("auto", "one", "mirrored", "multi-worker")

# Multi-worker runs (udd_keras/distribute.py): seconds after which a silent
# worker is taken as lost, by default and at least.
DEFAULT_WORKER_TIMEOUT = 60.0
MIN_WORKER_TIMEOUT = 2.0
