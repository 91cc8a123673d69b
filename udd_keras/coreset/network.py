"""The network herding and forgetting train on the real data, and its recipe."""

from udd_keras.training import TrainingRecipe, build_classifier, train_classifier

# Epochs of the feature network per method: herding needs embeddings only,
# forgetting at least two presentations of every example.
DEFAULT_EPOCHS = {"herding": 1, "forgetting": 3}


def coreset_recipe(method):
    """The recipe of `method`'s network: no augmentation, batch 256.

    Args:
        method: `"herding"` or `"forgetting"`.

    Returns:
        `TrainingRecipe` (ConvNet-3, width 128, lr 0.01 with the protocol's
        step decay, `DEFAULT_EPOCHS[method]` epochs).

    Example:
    >>> coreset_recipe("forgetting").epochs
    3
    """
    return TrainingRecipe(
        epochs=DEFAULT_EPOCHS[method],
        batch_size=256,
        augment=False,
        cutmix_probability=0.0,
    )


def train_on_real_data(dataset, recipe, seed, callbacks=None):
    """A fresh network trained on the whole real training set with `recipe`.

    Args:
        dataset: an `ImageDataset`.
        recipe: `TrainingRecipe` (see `coreset_recipe`).
        seed: int, initialisation and shuffling seed.
        callbacks: callbacks of the training loop (`train_classifier`), e.g.
            a `ForgettingTracker`, or None.

    Returns:
        The trained Keras model.
    """
    model = build_classifier(recipe, dataset.image_shape, dataset.num_classes, seed)
    train_classifier(
        model,
        dataset.x_train,
        dataset.y_train,
        dataset.num_classes,
        recipe,
        seed=seed,
        callbacks=callbacks,
    )
    return model
