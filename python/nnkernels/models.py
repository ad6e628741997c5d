"""The talk's two MNIST models, built and compiled in one call, and their training
recipe (train_mnist: what ``nnkernels train`` runs).

The public face of :mod:`nnkernels.recipe`, where they are defined: the models in
``recipe.architectures``, the defaults in ``recipe.defaults``, the run resolved once in
``recipe.settings`` and the training in ``recipe.train``.

>>> model = nnkernels.models.mnist_classifier(seed=0)            # untrained
>>> model, history, results = nnkernels.models.train_mnist("classifier", seed=0)
"""
from nnkernels.recipe.architectures import ARCHITECTURES, mnist_autoencoder, mnist_classifier
from nnkernels.recipe.defaults import (COSINE_FINAL_DIVISOR, LR_SCHEDULES, RUN_DEFAULTS,
                                       STEP_EVERY, STEP_FACTOR, TRAIN_DEFAULTS,
                                       VALIDATION_SIZE)
from nnkernels.recipe.settings import RunSettings, lr_scheduler, resolve_run, validation_split
from nnkernels.recipe.train import train, train_mnist

__all__ = ["ARCHITECTURES", "COSINE_FINAL_DIVISOR", "LR_SCHEDULES", "RUN_DEFAULTS",
           "RunSettings", "STEP_EVERY", "STEP_FACTOR", "TRAIN_DEFAULTS", "VALIDATION_SIZE",
           "lr_scheduler", "mnist_autoencoder", "mnist_classifier", "resolve_run", "train",
           "train_mnist", "validation_split"]
