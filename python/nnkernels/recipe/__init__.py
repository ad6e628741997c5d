"""The talk's recipe: its two MNIST models, their training defaults, the run resolved
once from defaults, options and a checkpoint, and the training itself (what
``nnkernels train`` runs). :mod:`nnkernels.models` is its public face."""
