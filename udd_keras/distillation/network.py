"""The network of the distillation: building it and re-initialising it in place.

Algorithm 1 re-initialises the network every outer iteration. Building a new
Keras model each time would create new variables and retrace every `tf.function`
of the engine, so the engine builds one `ConvNet` and re-draws its weights in place
from the layers' own initializers with a fresh seed.
"""

from udd_keras.models import ConvNet
from udd_keras.seeding import reinitialization_seed

_WEIGHT_INITIALIZERS = (
    ("kernel", "kernel_initializer"),
    ("bias", "bias_initializer"),
    ("gamma", "gamma_initializer"),
    ("beta", "beta_initializer"),
)


def build_network(image_shape, num_classes, width=128, depth=3, dtype=None):
    """A built ConvNet for distillation.

    Args:
        image_shape: `(H, W, C)`.
        num_classes: int.
        width: int, channels per convolution.
        depth: int, convolution blocks.
        dtype: a Keras dtype policy name, e.g. `"mixed_bfloat16"`, or None for
            the global policy (float32 unless changed).

    Returns:
        A built `udd_keras.models.ConvNet`.
    """
    return ConvNet(
        tuple(image_shape), num_classes, width=width, depth=depth, dtype=dtype
    )


def reinitialize(model, seed):
    """Re-draws every weight of `model` from its layer's initializer, in place.

    Args:
        model: a built Keras model.
        seed: int; the same seed gives the same weights.

    Returns:
        The number of variables re-drawn.
    """
    count = 0
    for index, layer in enumerate(model._flatten_layers(include_self=False)):
        for weight_name, initializer_name in _WEIGHT_INITIALIZERS:
            variable = getattr(layer, weight_name, None)
            initializer = getattr(layer, initializer_name, None)
            if variable is None or initializer is None:
                continue
            config = initializer.get_config()
            if "seed" in config:
                config["seed"] = reinitialization_seed(seed, index, count)
            fresh = initializer.__class__.from_config(config)
            variable.assign(fresh(variable.shape, dtype=variable.dtype))
            count += 1
    return count


__all__ = ["build_network", "reinitialize"]
