"""Pretrained models shipped with the package.

``mnist_classifier()``: the talk's classifier (784 -> 250 ReLU -> 100 ReLU -> 10, softmax),
trained on MNIST by ``python bench/make_pretrained.py`` (``nnkernels.models.train_mnist``
with the default recipe, seed 0, one thread) and stored in float16 (445 KB) in
``nnkernels/_data/mnist-classifier.safetensors``, a plain safetensors state dict in
PyTorch's names and layout (so ``torch.nn.Sequential(...).load_state_dict`` takes it too)
with a content digest. It loads as float32; its test accuracy and the command that made
it are in ``model.metadata``.
"""
from importlib import resources

from nnkernels.formats import safetensors_file, state_dict
from nnkernels.formats.errors import fail

MNIST_CLASSIFIER = "mnist-classifier.safetensors"
ARCH, ACTIVATIONS = "784-250-100-10", "relu,relu,softmax"


def path(name=MNIST_CLASSIFIER):
    """The file of a shipped model (a pathlib.Path or a resources Traversable)."""
    return resources.files("nnkernels") / "_data" / name


def mnist_classifier(dtype="float32"):
    """The pretrained MNIST classifier: a compiled Sequential of `dtype` (float32 or
    float64) taking (n, 784) pixels in [0, 1] and predicting (n, 10) probabilities.

    ``model.metadata`` holds ``test_accuracy`` (on the 10,000 MNIST test images, with the
    float16 weights as shipped), ``dataset``, ``seed`` and ``made_by``.
    """
    with resources.as_file(path()) as file:
        tensors, meta = safetensors_file.read(file)
        if safetensors_file.DIGEST_KEY not in meta:
            raise fail(file, "the shipped model has no content digest")
        model = state_dict.from_state_dict(tensors, ARCH, ACTIVATIONS, dtype=dtype,
                                           path=str(file))
    model.metadata = {"dataset": meta.get("dataset", "mnist"), "seed": meta.get("seed"),
                      "made_by": meta.get("made_by"),
                      "test_accuracy": float(meta.get("test_accuracy", "nan"))}
    return model
