"""The network herding and forgetting train on the real data."""

from udd_keras.evaluation import build_classifier, train_classifier


def train_on_real_data(dataset, epochs, width, batch_size, lr, seed, on_batch=None):
    """A ConvNet-3 trained on the whole real training set, without augmentation.

    Args:
        dataset: an `ImageDataset`.
        epochs: int, training epochs.
        width: int, the ConvNet's width.
        batch_size: int.
        lr: float.
        seed: int, initialisation and shuffling seed.
        on_batch: optional `fn(indices, correct)` called after each batch.

    Returns:
        The trained Keras model.
    """
    model = build_classifier(
        "convnet3", dataset.image_shape, dataset.num_classes, width, seed
    )
    train_classifier(
        model,
        dataset.x_train,
        dataset.y_train,
        dataset.num_classes,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        dsa_strategy=None,
        cutmix_probability=0.0,
        seed=seed,
        on_batch=on_batch,
    )
    return model
