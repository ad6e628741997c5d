"""The iris network, 4 -> 32 ReLU -> 3 softmax, on the workshop's split."""
from nnkernels import plots
from nnkernels.datasets import load_iris
from nnkernels.neural_network import MLPClassifier
from nnkernels.workshop._common import (_classification_figures, _finish, _format_matrix,
                                        _loader_kwargs, _out)


class IrisNetwork(MLPClassifier):
    """Dense ReLU hidden layers and a softmax output, trained on the cross-entropy.

    :class:`nnkernels.neural_network.MLPClassifier` with the workshop's parameter names
    and defaults: the iris network, 4 -> 32 ReLU -> 3, trained full batch by Adam
    (lr 0.02, exactly `epochs` epochs, no L2 penalty): He-normal hidden weights,
    Glorot-normal output weights, zero biases. On the workshop's iris split they
    classify all 30 test flowers for seeds 0-19, in about 0.1 s per fit.

    Parameters
    ----------
    hidden : int or tuple of int, default (32,)
        Width of each hidden layer (``hidden_layer_sizes``).
    lr : float > 0, default 0.02 (``learning_rate_init``)
    epochs : int, default 300 (``max_iter``; training never stops earlier)
    batch_size : int or None, default None
        None: full batch (one step per epoch).
    optimizer : {"adam", "rmsprop", "sgd"}, default "adam" (``solver``)
    seed : int, numpy Generator or None (``random_state``)

    Attributes
    ----------
    As :class:`nnkernels.neural_network.MLPClassifier`: classes_, coefs_,
    intercepts_, loss_curve_ (mean training loss per epoch), n_features_in_ and
    model_ (the :class:`nnkernels.Sequential`).
    """

    activation = "relu"
    alpha = 0.0
    shuffle = True
    tol = 0.0
    verbose = False
    warm_start = False
    early_stopping = False
    validation_fraction = 0.1
    momentum, nesterovs_momentum = 0.9, True
    beta_1, beta_2, epsilon = 0.9, 0.999, 1e-8
    _warn_at_max_iter = False  # it trains exactly `epochs` epochs, by design
    hidden_layer_sizes = property(lambda self: self.hidden)
    learning_rate_init = property(lambda self: self.lr)
    max_iter = property(lambda self: self.epochs)
    n_iter_no_change = property(lambda self: self.epochs)
    solver = property(lambda self: self.optimizer)
    random_state = property(lambda self: self.seed)

    def __init__(self, hidden=(32,), lr=0.02, epochs=300, batch_size=None,
                 optimizer="adam", seed=None):
        self.hidden = hidden
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.seed = seed

    def _batch_rows(self, n_samples):
        return n_samples if self.batch_size is None else super()._batch_rows(n_samples)

    def _layer_inits(self, n_layers):
        return ["he_normal"] * (n_layers - 1) + ["glorot_normal"]


# -- the iris network --------------------------------------------------------------

def run_iris(output_dir, *, seed=0, data=None, verbose=True):
    """The iris network (:class:`IrisNetwork` defaults: 4 -> 32 ReLU -> 3 softmax,
    Adam) on the workshop's split.

    Parameters
    ----------
    output_dir : path-like
        Receives ``confusion_matrix.png``, ``loss.png`` (training loss per epoch) and
        ``metrics.json``.
    seed : int or None, default 0
    data : path-like or None
        A folder holding iris_train.csv and iris_test.csv (see the module notes).
    verbose : bool

    Returns
    -------
    dict
        ``{"task", "seed", "n_train", "n_test", "classes", "epochs", "final_loss",
        "accuracy", "precision", "recall", "f1", "confusion_matrix", "files"}``;
        precision, recall and F1 are macro averages over the three classes.
    """
    folder = _out(output_dir)
    (x, y), (x_test, y_test), classes = load_iris(**_loader_kwargs(data))
    model = IrisNetwork(seed=seed).fit(x, y)
    figures = {"task": "iris", "seed": seed, "n_train": len(y), "n_test": len(y_test),
               "classes": list(classes), "epochs": len(model.loss_curve_),
               "final_loss": model.loss_curve_[-1],
               **_classification_figures(y_test, model.predict(x_test),
                                         list(range(len(classes))), "macro")}
    files = {"confusion_matrix": plots.confusion_matrix_image(
                 figures["confusion_matrix"], folder / "confusion_matrix.png",
                 class_names=classes, title="Iris: test set"),
             "loss": plots.line_plot({"training loss": model.loss_curve_},
                                     folder / "loss.png", title="Iris network",
                                     xlabel="epoch", ylabel="loss", logy=True)}
    widths = [layer.out_features for layer in model.model_.layers]
    shape = " -> ".join([str(x.shape[1])] + [f"{w} ReLU" for w in widths[:-1]]
                        + [f"{widths[-1]} softmax"])
    lines = [f"Iris network {shape} ({len(y)} train / {len(y_test)} test rows, seed {seed}, "
             f"final training loss {figures['final_loss']:.4f})",
             "  test: " + "  ".join(f"{k} {figures[k]:.4f}" for k in
                                    ("accuracy", "precision", "recall", "f1")),
             "  confusion matrix:"]
    lines += _format_matrix(figures["confusion_matrix"], list(classes))
    return _finish(figures, folder, files, lines, verbose)

