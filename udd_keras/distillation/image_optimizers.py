"""Optimizers of the synthetic images: SGD with momentum, and Adam.

Shaped like `keras.optimizers.SGD` / `Adam`: one class per update rule,
`build(images)` creates its state once for the images' shape, `update_step` is
the rule on one copy of the images, `apply(gradient, images)` runs it, and
`get_config()` holds what rebuilds it. They are `tf.Module`s, so their
variables checkpoint with the object that holds them
(`tf.train.Checkpoint(image_optimizer=optimizer)`).

They differ from Keras's optimizers where the distillation needs it:

- the learning rate is a per-channel variable (the distiller sets it from a
  rate for [0, 1] pixels, see `set_pixel_learning_rate`), and the updated
  pixels can be clipped to the valid range;
- `apply` runs in cross-replica context with a gradient that is already
  all-reduced: `strategy.extended.update` runs the rule on every replica's copy
  with identical values, so the images need no aggregation mode.

Example:
>>> images = tf.Variable(tf.zeros([10, 8, 8, 1]))
>>> optimizer = get_image_optimizer("sgd", learning_rate=0.1, momentum=0.5)
>>> optimizer.build(images)
>>> optimizer.apply(tf.ones([10, 8, 8, 1]), images)
>>> float(images[0, 0, 0, 0])
-0.1
"""

import numpy as np
import tensorflow as tf

from udd_keras.errors import UddError


class ImageOptimizer(tf.Module):
    """Base class: per-channel learning rate, optional clipping, `apply`.

    Args:
        learning_rate: float, the initial rate of every channel (normalised
            units); `learning_rate` becomes a (C,) variable on `build`.
        clip: `(low, high)` per-channel arrays of valid normalised pixel values,
            or None to leave the pixels unbounded.
        strategy: the `tf.distribute.Strategy` the images live under, default
            the current one.
        name: str.
    """

    # A normalised step of `lr / std**std_power` is a pixel step of `lr`.
    std_power = 2

    def __init__(self, learning_rate=0.01, clip=None, strategy=None, name=None):
        super().__init__(name=name)
        self.initial_learning_rate = float(learning_rate)
        self.clip = clip
        self.strategy = strategy or tf.distribute.get_strategy()
        self.built = False

    def build(self, images):
        """Creates the learning rate and the rule's state for `images`' shape.

        Args:
            images: the `tf.Variable` to optimise, float32 (N, H, W, C).
        """
        if self.built:
            return
        with self.strategy.scope():
            self.learning_rate = tf.Variable(
                tf.fill([images.shape[-1]], self.initial_learning_rate),
                name="learning_rate",
            )
            self.build_state(images)
        self.built = True

    def build_state(self, images):
        """Creates the rule's variables (subclasses)."""
        raise NotImplementedError

    def state(self):
        """The rule's variables, in the order `update_step` takes them."""
        raise NotImplementedError

    def set_pixel_learning_rate(self, rate, std):
        """Sets the per-channel rate from a rate for [0, 1] pixels.

        The images are stored normalised, `x = (p - mean) / std`: SGD's step
        scales with the gradient, so a pixel rate `lr` is `lr / std**2` in
        normalised units; Adam's does not, so it is `lr / std`.

        Args:
            rate: float, the rate for [0, 1] pixels.
            std: float array (C,), the normalisation's standard deviations.
        """
        scale = (1.0 / np.asarray(std, np.float32) ** self.std_power).astype(np.float32)
        self.learning_rate.assign(rate * scale)

    def apply(self, gradient, images):
        """One step on `images` (every replica's copy), in cross-replica context.

        Args:
            gradient: the all-reduced gradient of `images` (a tensor, or the
                identical per-replica tensors), float32 (N, H, W, C).
            images: the `tf.Variable` this optimizer was built for.
        """
        self.strategy.extended.update(
            images, self.update_step, args=(gradient, self.learning_rate, *self.state())
        )

    def update_step(self, images, gradient, learning_rate, *state):
        """The rule on one copy of the images (subclasses); returns the assign."""
        raise NotImplementedError

    def _clipped(self, value):
        if self.clip is None:
            return value
        return tf.clip_by_value(value, *self.clip)

    def get_config(self):
        """The constructor's arguments (without the strategy)."""
        clip = (
            None if self.clip is None else [np.asarray(c).tolist() for c in self.clip]
        )
        return {
            "name": self.name,
            "learning_rate": self.initial_learning_rate,
            "clip": clip,
        }


class ImageSGD(ImageOptimizer):
    """SGD with momentum, as PyTorch's `SGD` (IDC and the paper).

    `velocity = momentum * velocity + gradient`, then
    `images -= learning_rate * velocity` (clipped when `clip` is given).

    Args:
        learning_rate, clip, strategy: see `ImageOptimizer`.
        momentum: float in [0, 1).
        name: str.
    """

    def __init__(
        self, learning_rate=0.01, momentum=0.5, clip=None, strategy=None, name="sgd"
    ):
        super().__init__(learning_rate, clip, strategy, name)
        self.momentum = float(momentum)

    def build_state(self, images):
        self.velocity = tf.Variable(tf.zeros_like(images), name="velocity")

    def state(self):
        return (self.velocity,)

    def update_step(self, images, gradient, learning_rate, velocity):
        velocity.assign(self.momentum * velocity + gradient)
        return images.assign(self._clipped(images - learning_rate * velocity))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class ImageAdam(ImageOptimizer):
    """Adam, bias-corrected as `keras.optimizers.Adam`.

    Each pixel moves by about `learning_rate` (normalised units) per step,
    whatever the scale of its gradient: the step size is set by the learning
    rate alone, which is what a short budget needs.

    Args:
        learning_rate, clip, strategy: see `ImageOptimizer`.
        beta_1, beta_2: floats, decay of the first and second moments.
        epsilon: float, added to the second moment's square root.
        name: str.
    """

    std_power = 1

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        clip=None,
        strategy=None,
        name="adam",
    ):
        super().__init__(learning_rate, clip, strategy, name)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build_state(self, images):
        self.first_moment = tf.Variable(tf.zeros_like(images), name="first_moment")
        self.second_moment = tf.Variable(tf.zeros_like(images), name="second_moment")
        self.iterations = tf.Variable(0.0, name="iterations")

    def state(self):
        return (self.first_moment, self.second_moment, self.iterations)

    def update_step(self, images, gradient, learning_rate, first, second, count):
        beta_1, beta_2 = self.beta_1, self.beta_2
        count.assign_add(1.0)
        first.assign(beta_1 * first + (1.0 - beta_1) * gradient)
        second.assign(beta_2 * second + (1.0 - beta_2) * tf.square(gradient))
        first_hat = first / (1.0 - tf.pow(beta_1, count))
        second_hat = second / (1.0 - tf.pow(beta_2, count))
        step = learning_rate * first_hat / (tf.sqrt(second_hat) + self.epsilon)
        return images.assign(self._clipped(images - step))

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


IMAGE_OPTIMIZER_CLASSES = {"sgd": ImageSGD, "adam": ImageAdam}


def get_image_optimizer(name, **kwargs):
    """An image optimizer by name (as `keras.optimizers.get`).

    Args:
        name: `"sgd"` or `"adam"` (`config.IMAGE_OPTIMIZERS`).
        **kwargs: the class's arguments, e.g. `learning_rate`, `momentum`,
            `clip`, `strategy`.

    Returns:
        An unbuilt `ImageOptimizer`.
    """
    if name not in IMAGE_OPTIMIZER_CLASSES:
        raise UddError(
            f"image optimizer must be one of {', '.join(IMAGE_OPTIMIZER_CLASSES)}; "
            f"got {name!r}"
        )
    return IMAGE_OPTIMIZER_CLASSES[name](**kwargs)
