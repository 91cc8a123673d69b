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

The first derivative is written by hand (`instance_norm`): autodiff of the
formula broadcasts the mean's and the variance's gradients back to full size and
sums three full-size terms, and at 32 x 32 x 128 this memory-bound layer is,
after the convolutions, the largest cost of a distillation step on a CPU. Higher
derivatives differentiate that hand-written backward pass with ordinary
autodiff, so they stay exact.
"""

import keras
import tensorflow as tf
from keras import ops


def instance_norm(inputs, gamma, beta, epsilon=1e-5):
    """Instance normalisation with a closed-form first derivative.

    `y = (x - mean) / sqrt(var + epsilon) * gamma + beta`, statistics per image
    and channel over every axis between the first and the last.

    Args:
        inputs: float tensor (B, ..., C), e.g. (B, H, W, C).
        gamma: float tensor (C,), the scale.
        beta: float tensor (C,), the offset.
        epsilon: float added to the (biased) variance.

    Returns:
        A tensor of the shape and dtype of `inputs`.

    Example:
    >>> import numpy as np
    >>> x = np.random.rand(2, 8, 8, 4).astype("float32")
    >>> y = instance_norm(x, np.ones(4, "float32"), np.zeros(4, "float32"))
    >>> tuple(y.shape)
    (2, 8, 8, 4)
    """
    inputs = tf.convert_to_tensor(inputs)
    gamma = tf.convert_to_tensor(gamma, inputs.dtype)
    beta = tf.convert_to_tensor(beta, inputs.dtype)
    return _instance_norm(inputs, gamma, beta, float(epsilon))


def _instance_norm(inputs, gamma, beta, epsilon):
    axes = list(range(1, len(inputs.shape) - 1))

    @tf.custom_gradient
    def normalize(x, gamma, beta):
        mean = tf.reduce_mean(x, axis=axes, keepdims=True)
        # squared_difference differentiates both arguments (tf.nn.moments
        # stops the mean's gradient, which loses a second-order term).
        variance = tf.reduce_mean(
            tf.math.squared_difference(x, mean), axis=axes, keepdims=True
        )
        inv_std = tf.math.rsqrt(variance + epsilon)
        scale = inv_std * gamma
        outputs = x * scale + (beta - mean * scale)

        def backward(upstream):
            # With xhat = (x - mean) * inv_std, per image and channel:
            #   dx = scale * (dy - mean(dy) - xhat * mean(dy * xhat))
            # which is one scale and one offset per image and channel applied
            # to dy, plus one per image and channel applied to x.
            mean_dy = tf.reduce_mean(upstream, axis=axes, keepdims=True)
            mean_dy_x = tf.reduce_mean(upstream * x, axis=axes, keepdims=True)
            mean_dy_xhat = (mean_dy_x - mean_dy * mean) * inv_std
            x_coefficient = -scale * mean_dy_xhat * inv_std
            offset = -scale * mean_dy - x_coefficient * mean
            grad_inputs = upstream * scale + (x * x_coefficient + offset)
            count = tf.cast(tf.reduce_prod(tf.shape(x)[1:-1]), x.dtype)
            batch_axes = [0] + axes
            grad_gamma = tf.reduce_sum(mean_dy_xhat, axis=batch_axes) * count
            grad_beta = tf.reduce_sum(mean_dy, axis=batch_axes) * count
            return grad_inputs, grad_gamma, grad_beta

        return outputs, backward

    return normalize(inputs, gamma, beta)


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
            shape=(channels,),
            initializer=self.gamma_initializer,
            name="gamma",
            autocast=False,
        )
        self.beta = self.add_weight(
            shape=(channels,),
            initializer=self.beta_initializer,
            name="beta",
            autocast=False,
        )

    def call(self, inputs, training=None):
        # Under a mixed policy the statistics, gamma and beta stay float32 (as
        # in keras.layers.BatchNormalization); only the output is cast.
        outputs = instance_norm(
            ops.cast(inputs, self.variable_dtype),
            ops.convert_to_tensor(self.gamma),
            ops.convert_to_tensor(self.beta),
            self.epsilon,
        )
        return ops.cast(outputs, self.compute_dtype)

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
