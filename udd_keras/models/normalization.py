"""Instance normalisation with exact higher-order gradients.

Gradient matching differentiates the network's parameter gradients with respect to
the synthetic pixels, so it needs exact second-order gradients through every layer.
`keras.layers.GroupNormalization` computes its statistics with `tf.nn.moments`,
which stops the gradient of the mean inside the variance: first derivatives are
exact, but second derivatives lose a term (a few percent of a Hessian-vector product
on a small example; see tests/models/test_normalization.py). This layer computes the
variance as a plain mean of squared deviations, so every order is exact, and is
otherwise the same as `GroupNormalization(groups=channels)`: per image and channel
over H and W, biased variance, affine.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="udd_keras")
class InstanceNormalization(keras.layers.Layer):
    """Normalises each channel of each image over its spatial positions.

    `y = (x - mean) / sqrt(var + epsilon) * gamma + beta`, with mean and (biased)
    variance over H and W of one image and channel; as PyTorch's
    `nn.GroupNorm(C, C)` / `nn.InstanceNorm2d(C, affine=True)`.

    Args:
        epsilon: float added to the variance.
        gamma_initializer: initializer of the (C,) scale.
        beta_initializer: initializer of the (C,) offset.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np
    >>> layer = InstanceNormalization()
    >>> y = layer(np.random.rand(2, 8, 8, 4).astype("float32"))
    >>> tuple(y.shape)
    (2, 8, 8, 4)
    """

    def __init__(
        self, epsilon=1e-5, gamma_initializer="ones", beta_initializer="zeros", **kwargs
    ):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_initializer = keras.initializers.get(beta_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(
            shape=(channels,), initializer=self.gamma_initializer, name="gamma"
        )
        self.beta = self.add_weight(
            shape=(channels,), initializer=self.beta_initializer, name="beta"
        )

    def call(self, inputs, training=None):
        axes = tuple(range(1, len(inputs.shape) - 1))
        mean = ops.mean(inputs, axis=axes, keepdims=True)
        variance = ops.mean(ops.square(inputs - mean), axis=axes, keepdims=True)
        # Folded into one scale and one offset per image and channel: two
        # full-size passes instead of four (the same function, so every
        # derivative is still exact; this layer dominates ConvNet's memory
        # traffic at 32 x 32).
        scale = ops.rsqrt(variance + self.epsilon) * self.gamma
        return inputs * scale + (self.beta - mean * scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "epsilon": self.epsilon,
                "gamma_initializer": keras.initializers.serialize(
                    self.gamma_initializer
                ),
                "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            }
        )
        return config
