"""Optimizers: RMSProp, SGD (momentum, Nesterov) and Adam/AdamW over Parameters.

Each ``step()`` runs one fused in-place kernel per parameter. Hyperparameters are
checked once, here; a bad one raises ValueError quoting the value. An optimizer is
given its parameters at construction (PyTorch style) or by ``Sequential.compile``
(Keras style).
"""
import numpy as np

import nnkernels.kernels as kernels
from nnkernels._checks import hyperparameter as check_hyperparameter, learning_rate
from nnkernels._compiled import why_not


class Optimizer:
    """Base class: parameters, learning rate, state and its (de)serialisation."""

    state_names = ()
    compiled = False  # True on the optimizers the compiled step runs
    compiled_kind = None  # their name in the step ("rmsprop", "sgd", "adam")

    def __init__(self, params=None, *, lr):
        self.lr = learning_rate(type(self).__name__, lr)
        self.params = []
        self.state = []
        self.iterations = 0
        if params is not None:
            self.add_params(params)

    def add_params(self, params):
        """Attach Parameters (anything with .data and .grad); state starts at zero."""
        for p in params:
            state = {name: np.zeros_like(p.data) for name in self.state_names}
            self.params.append(p)
            self.state.append(state)

    def zero_grad(self):
        for p in self.params:
            p.grad[...] = 0

    def step(self):
        """Update every parameter in place from its .grad (arrays updated in place: a
        Parameter's .data and .grad must not be replaced by new arrays)."""
        if not self.params:
            raise RuntimeError(f"{type(self).__name__}.step: no parameters; pass them to "
                               "the constructor or use Sequential.compile")
        self.iterations += 1
        for p, state in zip(self.params, self.state):
            self._update(p.data, p.grad, state)

    def hyperparameters(self):
        raise NotImplementedError

    def why_not_compiled(self):
        """None when the compiled step runs this optimizer's update; else why not."""
        return why_not(self, ("step", "_update"), "the optimizer")

    def state_dict(self):
        """{'type', 'hyperparameters', 'iterations', 'state': [{name: array}, ...]}."""
        return {"type": type(self).__name__, "hyperparameters": self.hyperparameters(),
                "iterations": self.iterations,
                "state": [{k: v.copy() for k, v in s.items()} for s in self.state]}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters, step count and state (shapes must match)."""
        if state_dict.get("type") != type(self).__name__:
            raise ValueError(f"{type(self).__name__}.load_state_dict: state is for "
                             f"{state_dict.get('type')!r}")
        if len(state_dict["state"]) != len(self.state):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state has "
                             f"{len(state_dict['state'])} parameters; this optimizer has "
                             f"{len(self.state)}")
        checked = type(self)(None, **state_dict["hyperparameters"])  # validates the values
        for ours, theirs in zip(self.state, state_dict["state"]):
            for name in self.state_names:
                if np.shape(theirs[name]) != ours[name].shape:
                    raise ValueError(f"{type(self).__name__}.load_state_dict: '{name}' has "
                                     f"shape {np.shape(theirs[name])}; expected "
                                     f"{ours[name].shape}")
        for ours, theirs in zip(self.state, state_dict["state"]):
            for name in self.state_names:
                ours[name][...] = theirs[name]
        for name in checked.hyperparameters():
            setattr(self, name, getattr(checked, name))
        self.iterations = int(state_dict["iterations"])

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class RMSProp(Optimizer):
    """RMSProp.

    g = grad + weight_decay * w;  cache = rho * cache + (1 - rho) * g**2;
    w -= lr * g / (sqrt(cache) + eps)       epsilon="outside" (PyTorch's form, default)
    w -= lr * g / sqrt(cache + eps)         epsilon="inside"  (Gorgonia's form)

    Defaults lr=1e-3, rho=0.9, eps=1e-8 (Keras's RMSprop; PyTorch uses rho=0.99).
    The talk's Gorgonia solver is ``RMSProp(lr=1e-3, rho=0.999, eps=1e-8,
    epsilon="inside")``, available as :meth:`RMSProp.gorgonia`.
    """

    compiled, compiled_kind = True, "rmsprop"
    state_names = ("cache",)

    def __init__(self, params=None, *, lr=1e-3, rho=0.9, eps=1e-8, weight_decay=0.0,
                 epsilon="outside"):
        super().__init__(params, lr=lr)
        name = "RMSProp"
        self.rho = check_hyperparameter(name, "rho", rho, low=0, high=1, high_open=True)
        self.eps = check_hyperparameter(name, "eps", eps, low=0)
        self.weight_decay = check_hyperparameter(name, "weight_decay", weight_decay, low=0)
        if epsilon not in ("outside", "inside"):
            raise ValueError(f"RMSProp: epsilon must be 'outside' (PyTorch) or 'inside' "
                             f"(Gorgonia); got {epsilon!r}")
        self.epsilon = epsilon

    @classmethod
    def gorgonia(cls, params=None, *, lr=1e-3, weight_decay=0.0):
        """The talk's solver: rho=0.999, eps=1e-8 inside the square root."""
        return cls(params, lr=lr, rho=0.999, eps=1e-8, weight_decay=weight_decay,
                   epsilon="inside")

    def hyperparameters(self):
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps,
                "weight_decay": self.weight_decay, "epsilon": self.epsilon}

    def _update(self, p, g, s):
        kernels.rmsprop_update(p, g, s["cache"], lr=self.lr, rho=self.rho, eps=self.eps,
                               weight_decay=self.weight_decay,
                               eps_inside_sqrt=self.epsilon == "inside")


class SGD(Optimizer):
    """SGD with optional momentum (PyTorch's form) and Nesterov momentum.

    g = grad + weight_decay * w;  v = momentum * v + g;
    w -= lr * (g + momentum * v if nesterov else v)   (w -= lr * g without momentum)
    """

    compiled, compiled_kind = True, "sgd"
    state_names = ("velocity",)

    def __init__(self, params=None, *, lr=0.01, momentum=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, lr=lr)
        self.momentum = check_hyperparameter("SGD", "momentum", momentum, low=0, high=1,
                                             high_open=True)
        self.weight_decay = check_hyperparameter("SGD", "weight_decay", weight_decay, low=0)
        if nesterov and self.momentum == 0:
            raise ValueError(f"SGD: nesterov=True needs momentum > 0; got momentum={momentum}")
        self.nesterov = bool(nesterov)

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay,
                "nesterov": self.nesterov}

    def _update(self, p, g, s):
        kernels.sgd_update(p, g, s["velocity"], lr=self.lr, momentum=self.momentum,
                           weight_decay=self.weight_decay, nesterov=self.nesterov)


class Adam(Optimizer):
    """Adam (PyTorch's formulation); AdamW with decoupled_weight_decay=True.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g**2;  t = step number;
    w -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)
    """

    compiled, compiled_kind = True, "adam"
    state_names = ("m", "v")

    def __init__(self, params=None, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=0.0, decoupled_weight_decay=False):
        super().__init__(params, lr=lr)
        self.beta1 = check_hyperparameter("Adam", "beta1", beta1, low=0, high=1, high_open=True)
        self.beta2 = check_hyperparameter("Adam", "beta2", beta2, low=0, high=1, high_open=True)
        self.eps = check_hyperparameter("Adam", "eps", eps, low=0)
        self.weight_decay = check_hyperparameter("Adam", "weight_decay", weight_decay, low=0)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)

    def hyperparameters(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                "weight_decay": self.weight_decay,
                "decoupled_weight_decay": self.decoupled_weight_decay}

    def _update(self, p, g, s):
        kernels.adam_update(p, g, s["m"], s["v"], lr=self.lr, beta1=self.beta1,
                            beta2=self.beta2, eps=self.eps, weight_decay=self.weight_decay,
                            decoupled_weight_decay=self.decoupled_weight_decay,
                            step=self.iterations)


#: The registry of optimizers, the one table the package reads (Sequential.compile, the
#: recipe and the command line, the model files, the estimators): name -> class.
OPTIMIZERS = {"rmsprop": RMSProp, "sgd": SGD, "adam": Adam}
#: Named settings of a registered class: name -> constructor (the talk's solver).
VARIANTS = {"rmsprop-gorgonia": RMSProp.gorgonia}
#: Every name get() accepts, in the order the command line lists them.
NAMES = ("rmsprop", "rmsprop-gorgonia", "sgd", "adam")


def get(optimizer, **kwargs):
    """An Optimizer from an instance, or from a name of NAMES ('rmsprop',
    'rmsprop-gorgonia', 'sgd', 'adam') and the hyperparameters in `kwargs`."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    key = str(optimizer).lower()
    make = OPTIMIZERS.get(key) or VARIANTS.get(key)
    if make is None:
        raise ValueError(f"optimizer must be an Optimizer or one of {list(NAMES)}; "
                         f"got {optimizer!r}")
    return make(**kwargs)


def from_type(type_name):
    """The registered class whose name a state dict's 'type' holds ('RMSProp', ...; any
    case), or None."""
    return {cls.__name__.lower(): cls for cls in OPTIMIZERS.values()}.get(
        str(type_name).lower())
