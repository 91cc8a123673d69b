"""Herding selection (Welling, 2009): greedily match the class-mean embedding.

Features are the embeddings (penultimate features) of a ConvNet-3 trained
briefly on the real training set without augmentation. Per class, herding picks
at step k the unpicked example whose embedding brings the running sum of picked
embeddings closest to `k * class_mean`, i.e. the nearest example to
`k * mean - sum(picked)`.
"""

import numpy as np
import tensorflow as tf

from udd_keras.coreset.network import coreset_recipe, train_on_real_data

EMBED_BATCH_SIZE = 500


def herding_order(features, count):
    """Greedy herding order of one class's examples.

    Args:
        features: float array (n, D), the class's embeddings.
        count: int <= n, how many examples to pick.

    Returns:
        int64 array (count,) of row indices into `features`, in picking order.

    Example:
    >>> herding_order(np.array([[0.0], [1.0], [2.0]]), 1)
    array([1])
    """
    features = np.asarray(features, np.float64)
    mean = features.mean(axis=0)
    picked_sum = np.zeros_like(mean)
    available = np.ones(len(features), bool)
    order = []
    for k in range(1, count + 1):
        distances = np.linalg.norm(k * mean - picked_sum - features, axis=1)
        distances[~available] = np.inf
        index = int(np.argmin(distances))
        order.append(index)
        available[index] = False
        picked_sum += features[index]
    return np.asarray(order, np.int64)


def embed(model, images, batch_size=EMBED_BATCH_SIZE):
    """Penultimate embeddings of a ConvNet for all images.

    Args:
        model: a model with `features(x, training=False) -> (maps, embedding)`.
        images: float32 array (N, H, W, C).
        batch_size: int.

    Returns:
        float32 array (N, D).
    """

    @tf.function(reduce_retracing=True)
    def embedding(x):
        return model.features(x, training=False)[1]

    chunks = [
        np.asarray(embedding(tf.convert_to_tensor(images[i : i + batch_size])))
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(chunks).reshape(len(images), -1)


def herding_selection(dataset, ipc, seed=0, recipe=None):
    """Selects `ipc` images per class by herding on trained-network embeddings.

    Args:
        dataset: `ImageDataset`.
        ipc: int, images per class.
        seed: int, seed of the feature network's weights and batch order.
        recipe: `TrainingRecipe` of the feature network, None for
            `coreset_recipe("herding")` (1 epoch, batch 256, no augmentation).

    Returns:
        int64 array (num_classes * ipc,) of training-set indices, class-major.
    """
    recipe = recipe or coreset_recipe("herding")
    model = train_on_real_data(dataset, recipe, seed)
    features = embed(model, dataset.x_train)
    selected = []
    for label in range(dataset.num_classes):
        members = np.flatnonzero(dataset.y_train == label)
        selected.append(members[herding_order(features[members], ipc)])
    return np.concatenate(selected).astype(np.int64)
