"""`MomentumSGD`: PyTorch's SGD with momentum, on velocity variables given to it."""

import keras
import tensorflow as tf


class MomentumSGD:
    """SGD with momentum in PyTorch's form, for variables of any strategy.

    `velocity = momentum * velocity + gradient`, then
    `variable -= learning_rate * velocity` (Keras' SGD keeps the learning rate
    inside its momentum instead, which differs once the rate changes). The
    distillation's network update uses it with a constant rate; the velocity
    variables belong to the caller, so that its checkpoints keep them.

    Like a Keras optimizer, `apply_gradients` may be called in replica context
    (inside `strategy.run`): the replicas' gradients are summed, then every
    copy of a variable is updated through `strategy.extended.update` with the
    (identical) sum, so no variable needs an aggregation mode.

    Args:
        velocities: list of `tf.Variable`s, one per trained variable, same
            shapes, created in `strategy.scope()`.
        learning_rate: float.
        momentum: float.
        strategy: a `tf.distribute.Strategy`, default the current one.

    Example:
    >>> w = tf.Variable([1.0])
    >>> sgd = MomentumSGD([tf.Variable([0.0])], learning_rate=0.1, momentum=0.9)
    >>> sgd.apply_gradients([(tf.constant([2.0]), w)])
    >>> round(float(w[0]), 4)
    0.8
    """

    def __init__(self, velocities, learning_rate, momentum, strategy=None):
        self.velocities = list(velocities)
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.strategy = strategy or tf.distribute.get_strategy()

    @tf.autograph.experimental.do_not_convert
    def apply_gradients(self, grads_and_vars):
        """One step on every `(gradient, variable)` pair, in `velocities` order.

        In replica context the gradients are first summed over the replicas;
        in cross-replica context they are used as given.
        """
        pairs = [
            (
                gradient,
                variable.value if isinstance(variable, keras.Variable) else variable,
            )
            for gradient, variable in grads_and_vars
        ]
        context = tf.distribute.get_replica_context()
        if context is None:
            self._update(self.strategy, pairs)
            return
        if context.num_replicas_in_sync > 1:
            summed = context.all_reduce(
                tf.distribute.ReduceOp.SUM, [gradient for gradient, _ in pairs]
            )
            pairs = list(zip(summed, [variable for _, variable in pairs], strict=True))
        context.merge_call(self._update, args=(pairs,))

    def _update(self, strategy, pairs):
        """The update in cross-replica context."""

        def update_velocity(velocity, gradient):
            return velocity.assign(self.momentum * velocity + gradient)

        def update_variable(variable, velocity):
            return variable.assign(variable - self.learning_rate * velocity)

        extended = strategy.extended
        for (gradient, variable), velocity in zip(pairs, self.velocities, strict=True):
            extended.update(velocity, update_velocity, args=(gradient,))
            extended.update(variable, update_variable, args=(velocity,))
