"""Sequential: a stack of layers with a loss and an optimizer, trained by fit()."""
import numpy as np

from nnkernels import _checks as checks, losses as _losses, optimizers as _optimizers, \
    plan as _plan
from nnkernels._checks import positive_int
from nnkernels.training import fit_loop


class Sequential:
    """Layers applied in order; ``compile`` adds the loss and the optimizer.

    Parameters
    ----------
    layers : list of Dense
        Each layer's in_features must equal the previous out_features, and all share
        one dtype.
    loss : Loss or name, optional ('softmax_cross_entropy', 'mse', 'binary_cross_entropy')
    optimizer : Optimizer or name, optional ('rmsprop', 'sgd', 'adam')

    Examples
    --------
    >>> model = Sequential([Dense(784, 250), Dense(250, 100), Dense(100, 10, None)])
    >>> model.compile(RMSProp(lr=1e-3), "softmax_cross_entropy")
    >>> history = model.fit(x_train, y_train, epochs=10, batch_size=100)
    """

    def __init__(self, layers, loss=None, optimizer=None):
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential: needs at least one layer; got an empty list")
        for i, (a, b) in enumerate(zip(layers, layers[1:])):
            if a.out_features != b.in_features:
                raise ValueError(f"Sequential: layer {i} gives {a.out_features} features but "
                                 f"layer {i + 1} expects {b.in_features}")
            if a.dtype != b.dtype:
                raise ValueError(f"Sequential: layer {i} is {a.dtype} but layer {i + 1} is "
                                 f"{b.dtype}; all layers must share one dtype")
        self.layers = layers
        self.engine = _plan.Engine()
        self.engine.flat(self, "data")  # weights and biases: views of one flat array
        self.engine.flat(self, "grad")
        self.loss = None
        self.optimizer = None
        self.last_output = None
        self.stop_training = False
        self.metadata = {}
        if loss is not None or optimizer is not None:
            self.compile(optimizer or "rmsprop", loss or "mse")

    @property
    def dtype(self):
        return self.layers[0].dtype

    @property
    def in_features(self):
        return self.layers[0].in_features

    @property
    def out_features(self):
        return self.layers[-1].out_features

    def compile(self, optimizer="rmsprop", loss="softmax_cross_entropy"):
        """Attach an optimizer (instance or name) and a loss (instance or name)."""
        self.loss = _losses.get(loss)
        self.optimizer = _optimizers.get(optimizer)
        if not self.optimizer.params:
            self.optimizer.add_params(self.parameters())
        self.engine.optimizer_state(self.optimizer, self.dtype)
        return self

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    # -- the numerical path (inputs already checked) ---------------------------------

    def forward(self, x):
        """Network output for a checked batch x (n, in_features): a reused buffer."""
        for layer in self.layers:
            x = layer.forward(x)
        self.last_output = x
        return x

    __call__ = forward

    def backward(self, grad):
        """Backpropagate dL/d(output), writing every Parameter's .grad."""
        for i in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[i].backward(grad, need_input_grad=i > 0)

    def train_step(self, x, y):
        """forward, loss, backward and one optimizer step on one batch; returns the loss."""
        loss = self.loss.forward(self.forward(x), y)
        self.backward(self.loss.backward())
        self.optimizer.step()
        return loss

    # -- the user-facing API (checks its inputs once) --------------------------------

    def _require_compiled(self, func):
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"Sequential.{func}: call compile(optimizer, loss) first")

    def _check_x(self, func, x):
        return checks.features(func, x, self.in_features, self.dtype)

    def _check_y(self, func, y, n):
        return checks.targets(func, y, n, self.loss.target_kind, self.out_features,
                              self.dtype)

    def fit(self, x, y, epochs=1, batch_size=100, validation_data=None, shuffle=True,
            seed=None, callbacks=(), verbose=1, distributed=False, initial_epoch=0,
            initial_step=0):
        """Train on (x, y) in minibatches.

        Parameters
        ----------
        x : array of shape (n_samples, in_features); converted once to the model dtype
        y : int array (n_samples,) of class labels for softmax_cross_entropy, else an
            array of shape (n_samples, out_features)
        epochs, batch_size : int >= 1
        validation_data : (x_val, y_val), optional; evaluated after each epoch
        shuffle : bool, reshuffle every epoch (seeded by `seed`)
        callbacks : list of Callback
        verbose : 0 silent, 1 a progress line and one line per epoch
        distributed : bool, or a nnkernels.distributed.Communicator or mpi4py communicator
            True: data-parallel training on the ranks of MPI.COMM_WORLD (run the script
            under ``mpiexec -n N``); every rank passes the same x, y and settings, and
            `batch_size` is the global batch, shared among the ranks. See
            nnkernels.distributed and docs/distributed.md.
        initial_epoch, initial_step : int >= 0
            Resume: start at this epoch (counting from 0; `epochs` stays the total) and
            its step, with the row order an uninterrupted fit of the same `seed` would
            use. A model restored from a :class:`~nnkernels.checkpoints.ModelCheckpoint`
            then continues bit for bit (``checkpoints.resume_arguments``).

        Returns
        -------
        History
        """
        self._require_compiled("fit")
        from nnkernels.distributed import communicator
        comm = communicator(distributed)
        epochs = positive_int("fit", "epochs", epochs)
        batch_size = positive_int("fit", "batch_size", batch_size)
        initial_epoch = positive_int("fit", "initial_epoch", initial_epoch, low=0)
        initial_step = positive_int("fit", "initial_step", initial_step, low=0)
        targets_are_inputs = y is x
        x = self._check_x("fit", x)
        # An autoencoder's fit(x, x): check the converted x as targets, so that y stays
        # the very same array (converted once, gathered once per batch).
        y = self._check_y("fit", x if targets_are_inputs else y, x.shape[0])
        if validation_data is not None:
            try:
                x_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ValueError("fit: 'validation_data' must be a pair (x_val, y_val)") \
                    from None
            x_val = self._check_x("fit (validation_data)", x_val)
            validation_data = (x_val, self._check_y("fit (validation_data)", y_val,
                                                    x_val.shape[0]))
        return fit_loop(self, x, y, epochs=epochs, batch_size=batch_size,
                        validation_data=validation_data, shuffle=shuffle, seed=seed,
                        callbacks=callbacks, verbose=verbose, comm=comm,
                        initial_epoch=initial_epoch, initial_step=initial_step)

    def evaluate(self, x, y, batch_size=1000):
        """Mean loss (and accuracy for classifiers) over (x, y).

        Returns
        -------
        dict with 'loss' and, for softmax_cross_entropy, 'accuracy'
        """
        if self.loss is None:
            raise RuntimeError("Sequential.evaluate: call compile(optimizer, loss) first")
        batch_size = positive_int("evaluate", "batch_size", batch_size)
        x = self._check_x("evaluate", x)
        y = self._check_y("evaluate", y, x.shape[0])
        mean, correct = (_plan.evaluate(self, x, y, batch_size)
                         or self._evaluate_layers(x, y, batch_size))
        result = {"loss": mean}
        if self.loss.target_kind == "labels":
            result["accuracy"] = correct / x.shape[0]
        return result

    def _evaluate_layers(self, x, y, batch_size):
        total = 0.0
        correct = 0
        for lo in range(0, x.shape[0], batch_size):
            xb, yb = x[lo:lo + batch_size], y[lo:lo + batch_size]
            out = self.forward(xb)
            total += self.loss.forward(out, yb) * xb.shape[0]
            correct += self.loss.correct(out, yb)
        return total / x.shape[0], correct

    def predict(self, x, batch_size=1000):
        """Outputs for x: class probabilities for softmax_cross_entropy, else the network
        output. Returns a new array of shape (n_samples, out_features)."""
        batch_size = positive_int("predict", "batch_size", batch_size)
        x = self._check_x("predict", x)
        out = _plan.predict(self, x, batch_size)
        if out is not None:
            return out
        out = np.empty((x.shape[0], self.out_features), self.dtype)
        for lo in range(0, x.shape[0], batch_size):
            z = self.forward(x[lo:lo + batch_size])
            if self.loss is None:
                out[lo:lo + batch_size] = z
            else:
                self.loss.output(z, out[lo:lo + batch_size])
        return out

    def predict_classes(self, x, batch_size=1000):
        """argmax of predict(x): int64 array of shape (n_samples,)."""
        return self.predict(x, batch_size).argmax(axis=1)

    # -- weights and description ------------------------------------------------------

    def get_weights(self):
        """Copies of every parameter array, in parameters() order."""
        return [p.data.copy() for p in self.parameters()]

    def set_weights(self, weights):
        params = self.parameters()
        if len(weights) != len(params):
            raise ValueError(f"set_weights: got {len(weights)} arrays; the model has "
                             f"{len(params)} parameters")
        for p, w in zip(params, weights):
            if np.shape(w) != p.shape:
                raise ValueError(f"set_weights: {p.name} needs shape {p.shape}; "
                                 f"got {np.shape(w)}")
        for p, w in zip(params, weights):
            p.data[...] = w

    def get_config(self):
        config = {"type": "Sequential", "layers": [layer.get_config() for layer in self.layers]}
        if self.loss is not None:
            config["loss"] = self.loss.name
        if self.optimizer is not None:
            config["optimizer"] = {"type": type(self.optimizer).__name__,
                                   **self.optimizer.hyperparameters()}
        return config

    def count_params(self):
        return sum(p.data.size for p in self.parameters())

    def summary(self):
        """A table of the layers, their output shapes and parameter counts."""
        lines = [f"{'layer':<40}{'output':>12}{'params':>12}"]
        for i, layer in enumerate(self.layers):
            count = sum(p.data.size for p in layer.parameters())
            lines.append(f"{i}: {layer!r:<37}{layer.out_features:>12}{count:>12,}")
        lines.append(f"total parameters: {self.count_params():,} ({self.dtype.name})")
        if self.loss is not None:
            lines.append(f"loss: {self.loss.name}   optimizer: {self.optimizer!r}")
        return "\n".join(lines)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"
