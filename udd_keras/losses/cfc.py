"""Category-wise Feature Contrastive (CFC) loss (paper section 2.4, eq. 7-8).

For class `c`, `f_c` is the mean embedding (penultimate features) of the class's
current synthetic training images and `F_c` an exponential moving average of it,
`F_c <- alpha * F_c + (1 - alpha) * f_c`. With cosine similarity `sim`,

    L_c = -log( exp(sim(f_c, F_c) / tau) / sum_{i != c} exp(sim(f_c, F_i) / tau) )

The denominator excludes `i = c`, as the paper writes it (so the loss can be
negative). `F` is a constant for the gradient.

Moving averages in this package (a choice the paper leaves open): they are reset
whenever the network is re-initialised (every outer iteration), because embeddings
of different networks are not comparable, and refilled at once with each class's
mean embedding under the new network (`DistillationEngine.fill_centers`), so every
class has a centre to contrast with from the first step. Within a step, classes
are processed in order: class c's centre is updated with `f_c` (not
differentiated), then `L_c` is computed against the current centres. A centre not
yet filled (`update_class_centers` with `filled` false) takes `f_c` as is.
"""

import tensorflow as tf


def cosine_similarity_matrix(features, centers):
    """Cosine similarity of each feature row with each centre row.

    Args:
        features: float tensor (K, D).
        centers: float tensor (M, D).

    Returns:
        float32 tensor (K, M).
    """
    features = tf.math.l2_normalize(features, axis=-1, epsilon=1e-12)
    centers = tf.math.l2_normalize(centers, axis=-1, epsilon=1e-12)
    return tf.matmul(features, centers, transpose_b=True)


@tf.autograph.experimental.do_not_convert
def cfc_loss(class_features, class_centers, class_ids, temperature=0.7):
    """CFC loss for several classes at once, summed over them.

    Args:
        class_features: float tensor (K, D), `f_c` for the K classes in `class_ids`
            (differentiable).
        class_centers: float tensor (num_classes, D), the moving averages `F`
            (treated as constants).
        class_ids: int tensor (K,), the class of each row of `class_features`.
        temperature: float, tau.

    Returns:
        Scalar float32 tensor, `sum_k L_{class_ids[k]}`.

    Example:
    >>> f = tf.constant([[1.0, 0.0]])
    >>> centers = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(cfc_loss(f, centers, [0], temperature=1.0)), 4)
    -1.0
    """
    centers = tf.stop_gradient(tf.convert_to_tensor(class_centers, tf.float32))
    class_ids = tf.convert_to_tensor(class_ids, tf.int32)
    logits = cosine_similarity_matrix(class_features, centers) / temperature
    own = tf.equal(class_ids[:, None], tf.range(tf.shape(centers)[0])[None, :])
    positive = tf.reduce_sum(tf.where(own, logits, 0.0), axis=-1)
    negatives = tf.where(own, tf.constant(-1e9, logits.dtype), logits)
    return tf.reduce_sum(tf.reduce_logsumexp(negatives, axis=-1) - positive)


@tf.autograph.experimental.do_not_convert
def update_class_centers(class_centers, filled, class_features, class_ids, alpha):
    """Moving-average update of the class centres `F`.

    Args:
        class_centers: float tensor (num_classes, D).
        filled: bool tensor (num_classes,), whether a centre holds a value yet.
        class_features: float tensor (K, D), this step's `f_c` (not differentiated).
        class_ids: int tensor (K,).
        alpha: float, the weight of the old average.

    Returns:
        `(new_centers, new_filled)`: centres of unfilled classes take `f_c` as is.
    """
    class_features = tf.stop_gradient(class_features)
    class_ids = tf.reshape(tf.cast(class_ids, tf.int32), [-1, 1])
    old = tf.gather_nd(class_centers, class_ids)
    was_filled = tf.gather_nd(filled, class_ids)[:, None]
    blended = tf.where(
        was_filled, alpha * old + (1.0 - alpha) * class_features, class_features
    )
    new_centers = tf.tensor_scatter_nd_update(class_centers, class_ids, blended)
    new_filled = tf.tensor_scatter_nd_update(
        filled, class_ids, tf.ones_like(class_ids[:, 0], dtype=tf.bool)
    )
    return new_centers, new_filled
