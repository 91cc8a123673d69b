"""Scoring policies: how underutilized is each candidate region? (paper 2.3)

Every policy computes its response ONCE per image: the whole synthetic image goes
through the network, the response map of one layer (by default the last
convolution block, after its ReLU) is taken, and each candidate window, scaled to
the map, is placed on it (`windows.py`). Lower score = less utilized; the P lowest
regions are trained on.

- `activation`: mean channel-averaged activation inside the window.
- `gradient`: mean channel-averaged |d cross-entropy / d activation| inside the
  window (one forward and one backward pass).
- `jitter` (the paper's default): `sigma_n = |Lambda_n - mean_m Lambda_hat_{n,m}|`,
  the change of the window's activation response under M random jitters of the
  image; 1 + M forward passes, batched into one.
- `vote`: the sum of the three policies' ranks (0 = lowest score).
- `random`: uniform random scores, a control for ablations.
- `uniform`: no scoring; IDC's fixed `factor x factor` tiles are all used.

`forward` below is any callable `images -> (response_map (B, h, w, c), logits)`.
"""

import tensorflow as tf

from udd_keras.choices import POLICIES, SCORED_POLICIES  # noqa: F401 (re-exported)
from udd_keras.errors import UddError
from udd_keras.policies.jitter import jitter_images
from udd_keras.policies.windows import window_means


def activation_scores(forward, images, masks):
    """Mean activation per window; float32 (B, N)."""
    response, _ = forward(images)
    return window_means(_channel_mean(response), masks)


def gradient_scores(forward, images, labels, masks):
    """Mean gradient magnitude of the loss at the response map per window; (B, N)."""
    with tf.GradientTape() as tape:
        tape.watch(images)  # records the path response -> logits
        response, logits = forward(images)
        loss = tf.reduce_sum(
            tf.keras.losses.sparse_categorical_crossentropy(
                labels, logits, from_logits=True
            )
        )
    gradient = tape.gradient(loss, response)
    return window_means(_channel_mean(tf.abs(gradient)), masks)


def _channel_mean(maps):
    """Float32 mean over channels of (B, h, w, c) maps of any float dtype."""
    return tf.reduce_mean(tf.cast(maps, tf.float32), axis=-1)


def jitter_scores(
    forward, images, masks, seed, jitters=2, function="gaussian", amount=0.1
):
    """Jitter sensitivity per window, `|Lambda_n - mean_m Lambda_hat_{n,m}|`; (B, N).

    The clean image and its `jitters` jittered copies go through the network as one
    batch of `B * (1 + M)` images.
    """
    batch = tf.shape(images)[0]
    jittered = [
        jitter_images(images, function, amount, seed + [0, m + 1])
        for m in range(jitters)
    ]
    response, _ = forward(tf.concat([images, *jittered], axis=0))
    means = window_means(_channel_mean(response), masks)
    clean = means[:batch]
    jittered_mean = tf.reduce_mean(
        tf.reshape(means[batch:], [jitters, batch, -1]), axis=0
    )
    return tf.abs(clean - jittered_mean)


def ranks(scores):
    """Rank of each score within its row, 0 for the lowest; float32 (B, N)."""
    order = tf.argsort(scores, axis=-1, stable=True)
    return tf.cast(tf.argsort(order, axis=-1, stable=True), tf.float32)


def region_scores(
    policy,
    forward,
    images,
    labels,
    masks,
    seed,
    jitters=2,
    jitter_function="gaussian",
    jitter_amount=0.1,
):
    """Scores every candidate region of every image with one policy.

    Args:
        policy: one of `SCORED_POLICIES`.
        forward: callable `images -> (response_map (B, h, w, c), logits (B, K))`;
            the response map may be of any float dtype (the network's).
        images: float tensor (B, H, W, C).
        labels: int tensor (B,), used by the gradient policy.
        masks: float tensor (N, h, w) from `window_masks`.
        seed: int tensor (2,), stateless seed for the jitter and random policies.
        jitters: int, M.
        jitter_function: one of `JITTER_FUNCTIONS`.
        jitter_amount: float, the jitter strength.

    Returns:
        float32 tensor (B, N); lower means less utilized.
    """
    images = tf.stop_gradient(images)
    seed = tf.convert_to_tensor(seed, tf.int32)
    if policy == "activation":
        return activation_scores(forward, images, masks)
    if policy == "gradient":
        return gradient_scores(forward, images, labels, masks)
    if policy == "jitter":
        return jitter_scores(
            forward, images, masks, seed, jitters, jitter_function, jitter_amount
        )
    if policy == "vote":
        votes = [
            activation_scores(forward, images, masks),
            gradient_scores(forward, images, labels, masks),
            jitter_scores(
                forward, images, masks, seed, jitters, jitter_function, jitter_amount
            ),
        ]
        return tf.add_n([ranks(v) for v in votes])
    if policy == "random":
        return tf.random.stateless_uniform(
            [tf.shape(images)[0], tf.shape(masks)[0]], seed
        )
    raise UddError(f"scoring policy must be one of {SCORED_POLICIES}, got {policy!r}")


def normalize_by_size(scores, size_groups):
    """Divides each score by the mean score of the same-size windows of its image.

    Windows of different areas average different numbers of response-map cells,
    so their raw scores live on different scales (a larger window's jitter
    response averages out more noise); after this, a window competes with its
    own size only through its rank inside that size, and the sizes with each
    other on one scale (1 = the size's mean).

    Args:
        scores: float tensor (B, N).
        size_groups: int array (N,), the size group of each window.

    Returns:
        float32 tensor (B, N).

    Example:
    >>> scores = tf.constant([[1.0, 3.0, 10.0, 30.0]])
    >>> normalize_by_size(scores, [0, 0, 1, 1]).numpy().tolist()
    [[0.5, 1.5, 0.5, 1.5]]
    """
    scores = tf.convert_to_tensor(scores, tf.float32)
    size_groups = tf.convert_to_tensor(size_groups, tf.int32)
    one_hot = tf.one_hot(size_groups, tf.reduce_max(size_groups) + 1)  # (N, G)
    # Group ids need not be contiguous (tiles+regions has no 1/2 windows).
    group_mean = tf.math.divide_no_nan(
        tf.matmul(scores, one_hot), tf.reduce_sum(one_hot, axis=0)
    )
    per_window = tf.matmul(group_mean, one_hot, transpose_b=True)
    return scores / (tf.abs(per_window) + 1e-12)


def select_lowest(scores, boxes, num_selected):
    """The `num_selected` lowest-scoring boxes of each image.

    Args:
        scores: float tensor (B, N).
        boxes: int tensor (N, 4), the candidate boxes.
        num_selected: int, P <= N.

    Returns:
        int32 tensor (B, P, 4), lowest score first.

    Example:
    >>> boxes = tf.constant([[0, 0, 2, 2], [0, 2, 2, 4], [2, 0, 4, 2]])
    >>> select_lowest(tf.constant([[3.0, 1.0, 2.0]]), boxes, 2).numpy()[0, 0].tolist()
    [0, 2, 2, 4]
    """
    _, indices = tf.math.top_k(-scores, k=num_selected, sorted=True)
    return tf.gather(tf.convert_to_tensor(boxes, tf.int32), indices)
