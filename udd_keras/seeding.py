"""Seeds: how every seeded draw of weights and data derives from one int.

Three things are seeded, each one way, all here:

- a model's initial weights: each sub-component (a convolution, a block, the
  classifier) gets `derive_seed(model_seed, index)` for its initializer;
- the distillation network's weights, re-drawn in place every outer iteration:
  `reinitialization_seed(seed, layer_index, weight_index)`;
- the global Python/NumPy/TensorFlow generators, for code that draws from them:
  `seed_globally(seed)`.

Draws inside `tf.function`s use stateless seeds
(`udd_keras.augmentation.seeds`) derived from the run's seed.

Example:
>>> derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(0, 2)
True
"""

import numpy as np


def derive_seed(seed, index):
    """A deterministic int seed for sub-component `index` of a seeded object.

    Args:
        seed: the object's int seed, or None.
        index: the sub-component's number (int).

    Returns:
        An int in [0, 2**31), or None when `seed` is None.
    """
    if seed is None:
        return None
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0]
    return int(state % (2**31))


def reinitialization_seed(seed, layer_index, weight_index):
    """The seed of one weight when a network is re-drawn in place.

    Used by `udd_keras.distillation.network.reinitialize`; kept as it was
    written first, so that runs (and their checkpoints) reproduce.

    Args:
        seed: int, the re-initialisation's seed (one per outer iteration).
        layer_index: int, the layer's position among the model's layers.
        weight_index: int, how many weights were re-drawn before this one.

    Returns:
        int.
    """
    return seed * 1009 + layer_index * 7 + weight_index


def seed_globally(seed):
    """Seeds Python's, NumPy's and TensorFlow's global generators (Keras' own
    `keras.utils.set_random_seed`), for code that draws from them."""
    import keras

    keras.utils.set_random_seed(int(seed))
