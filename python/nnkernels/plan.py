"""The compiled step: one flat buffer per model, and plans that run many training
steps (or a whole inference pass) in one call without the GIL.

A Sequential keeps its parameters in one flat array (each weight and bias a view of
it), their gradients in another, and each optimizer state likewise, so that the
update is one pass over contiguous memory. Its `Engine` holds those buffers and
builds and caches the `nnkernels._plan.Plan` over them for one batch size, thread
count and purpose; a plan is rebuilt when any of them, the architecture, the loss or
the optimizer changes, or when a parameter's array was replaced (assigning a new
array to ``layer.weight.data`` is noticed here, and the new values are adopted).

Models the plan does not cover (a layer other than Dense, a subclass that redefines
the maths of a layer, loss or optimizer, an optimizer over other parameters) train
layer by layer; ``why_not_compiled(model)`` says which, and why.

`fit`, `predict` and `evaluate` measure their own speed as they go
(`nnkernels._team`): on a busy machine a plan's threads sleep as soon as they wait,
or the calls run on one thread, whichever is faster, until the machine frees up. A
plan's results do not depend on how many threads ran it.
"""
import operator

import numpy as np

import nnkernels._gemm_choice as _gemm_choice
import nnkernels._plan as _plan
import nnkernels.activations as activations
from nnkernels._memory import aligned_empty
from nnkernels._team import measured
from nnkernels._threads import get_num_threads

# Below this many floating-point operations per call of a step's products, the
# plan runs on one thread: a barrier costs ~0.3-1 us, waking the region 15-50 us.
MIN_FLOPS_PER_THREAD = 2_000_000
_MAX_CACHED_PLANS = 6


class FlatBuffer:
    """One contiguous array and the views of it that replaced a list of arrays.

    Parameters
    ----------
    arrays : list of C-contiguous arrays of one dtype (their values are copied in)
    """

    def __init__(self, arrays, dtype):
        sizes = [a.size for a in arrays]
        self.array = aligned_empty(sum(sizes), dtype)
        self.views = []
        offset = 0
        for a, size in zip(arrays, sizes):
            view = self.array[offset:offset + size].reshape(a.shape)
            view[...] = a
            self.views.append(view)
            offset += size

    def holds(self, arrays):
        """Whether `arrays` are still exactly the views handed out (not replaced)."""
        return len(arrays) == len(self.views) and all(map(operator.is_, arrays, self.views))


def _adopt(flat, arrays, dtype, assign):
    """`flat` if it still holds `arrays`, else a new FlatBuffer of their values whose
    views are handed to `assign`."""
    if flat is None or not flat.holds(arrays):
        flat = FlatBuffer(arrays, dtype)
        assign(flat.views)
    return flat


class Engine:
    """What the compiled step keeps for one Sequential (its ``engine``): the flat
    buffers of the parameters, of their gradients and of the optimizer's state, and
    the plans built over them. Every method takes the model: the engine holds no
    reference to it.
    """

    def __init__(self):
        self.data = self.grad = None   # FlatBuffer of the parameters' data / grad
        self.optimizer = None          # the optimizer whose state `states` holds
        self.states = []               # FlatBuffer per name of optimizer.state_names
        self.plans = {}                # key -> (Plan, the buffers it was built over)
        self._inference = None         # (Plan, what it was built for): predict's fast path

    def flat(self, model, kind):
        """The FlatBuffer of model's parameters' `kind` ("data" or "grad") arrays,
        adopted anew (values kept) when one of the arrays was replaced."""
        params = model.parameters()
        flat = _adopt(getattr(self, kind), [getattr(p, kind) for p in params],
                      model.dtype,
                      lambda views: [setattr(p, kind, v) for p, v in zip(params, views)])
        setattr(self, kind, flat)
        return flat

    def optimizer_state(self, optimizer, dtype):
        """Each named state of `optimizer` (RMSProp's cache, Adam's m and v, ...) in
        one FlatBuffer; returned in state_names order."""
        if optimizer is not self.optimizer:
            self.optimizer, self.states = optimizer, []
        flats = []
        for i, name in enumerate(optimizer.state_names):
            def assign(views, name=name):
                for state, v in zip(optimizer.state, views):
                    state[name] = v
            old = self.states[i] if i < len(self.states) else None
            flats.append(_adopt(old, [s[name] for s in optimizer.state], dtype, assign))
        self.states = flats
        return flats

    def gradients_with_room(self, model, extra):
        """Move model's flat gradient buffer to the front of a new array with `extra`
        more elements after it, so that one call (a data-parallel step's Allreduce)
        can carry both; returns that whole array. The gradients keep their values."""
        params = model.parameters()
        flat = FlatBuffer([p.grad for p in params] + [np.zeros(extra, model.dtype)],
                          model.dtype)
        whole = flat.array
        flat.array, flat.views = whole[:whole.shape[0] - extra], flat.views[:-1]
        self.grad = flat
        for p, view in zip(params, flat.views):
            p.grad = view
        return whole

    def plan(self, model, batch, training):
        """The cached Plan of model for `batch` rows per step (training or inference)."""
        if model.dtype == np.float32:
            _gemm_choice.ensure()   # the GEMM library is chosen before the first product
        data = self.flat(model, "data")
        if training:
            grads = self.flat(model, "grad")
            states = self.optimizer_state(model.optimizer, model.dtype)
            buffers = (data.array, grads.array, *(s.array for s in states))
        else:
            buffers = (data.array,)
        n_threads = _threads_for(model, batch, training)
        key = (training, batch, n_threads, model.loss and model.loss.name,
               id(model.optimizer) if training else None,
               tuple((id(layer), layer.activation) for layer in model.layers))
        plan, used = self.plans.get(key, (None, ()))
        if plan is None or len(used) != len(buffers) or any(
                a is not b for a, b in zip(used, buffers)):
            if len(self.plans) >= _MAX_CACHED_PLANS:
                self.plans.clear()
            dims = [model.in_features] + [layer.out_features for layer in model.layers]
            arrays = [s.array for s in states] + [None, None] if training else [None, None]
            plan = _plan.Plan(dims, [activations.get(layer.activation).code
                                     for layer in model.layers],
                              model.loss.name if model.loss is not None else None, batch,
                              n_threads, data.array, grads.array if training else None,
                              arrays[0], arrays[1])
            self.plans[key] = (plan, buffers)
        if training:  # every call: a callback may have changed the learning rate
            opt = model.optimizer
            plan.set_optimizer(opt.compiled_kind, **opt.hyperparameters())
        return plan

    def inference_plan(self, model, rows):
        """The Plan that predicts `rows` rows a call, or None when the model does not
        run compiled. The answer is kept, with the objects it depends on: while none
        of them was replaced (a layer, its activation or parameter arrays, the loss,
        the thread count), a call costs a few identity tests."""
        kept = self._inference
        if kept is not None:
            plan, layers, loss, threads = kept
            if (plan.batch == rows and model.loss is loss and threads == get_num_threads()
                    and len(model.layers) == len(layers)
                    and all(map(_same_layer, model.layers, layers))):
                return plan
        if why_not_compiled(model, training=False) is not None:
            return None
        plan = self.plan(model, rows, training=False)
        self._inference = (plan, [(layer, type(layer), layer.activation,
                                   layer.weight.data, layer.bias.data)
                                  for layer in model.layers],
                           model.loss, get_num_threads())
        return plan


def _same_layer(layer, kept):
    return (layer is kept[0] and type(layer) is kept[1] and layer.activation == kept[2]
            and layer.weight.data is kept[3] and layer.bias.data is kept[4])


def why_not_compiled(model, training=True):
    """The one entry that decides how a model runs: None when its fit (training=True)
    or its predict and evaluate run as a compiled plan, else why not (a layer, loss or
    optimizer says so itself; see their ``why_not_compiled``). Those run layer by
    layer, with the same results."""
    for i, layer in enumerate(model.layers):
        ask = getattr(layer, "why_not_compiled", None)
        reason = ask() if ask else f"the layer {type(layer).__name__} has no compiled form"
        if reason:
            return f"layer {i}: {reason}"
    if model.loss is not None and (reason := model.loss.why_not_compiled()):
        return reason
    if not training:
        return None
    opt = model.optimizer
    if model.loss is None or opt is None:
        return "the model is not compiled with a loss and an optimizer"
    if (reason := opt.why_not_compiled()):
        return reason
    params = model.parameters()
    if len(opt.params) != len(params) or not all(map(operator.is_, opt.params, params)):
        return "the optimizer updates other parameters than the model's"
    return None


def uses_plan(model, training=True):
    """Whether model's fit (training=True) or predict/evaluate run as a compiled plan."""
    return why_not_compiled(model, training) is None


def _threads_for(model, rows, training):
    n = get_num_threads()
    if n == 1 or not _plan.plan_threads_can_split():
        return 1
    flops = 2 * rows * sum(layer.in_features * layer.out_features for layer in model.layers)
    if training:
        flops *= 3
    return n if flops >= MIN_FLOPS_PER_THREAD * n else 1


class TrainingRun:
    """Steps of fit over checked (x, y), run by a plan in chunks of steps.

    x : (n, in_features) of the model dtype; y : int64 labels (n,), or targets
    (n, out_features) of the model dtype, or x itself (an autoencoder).
    """

    def __init__(self, model, x, y, batch_size):
        self.model = model
        self.x = x
        self.targets_are_inputs = y is x
        labels = model.loss.target_kind == "labels"
        self.labels = y if labels else None
        self.y = None if labels or self.targets_are_inputs else y
        self.batch = min(batch_size, x.shape[0])
        self.step_loss = np.empty(0)
        self.step_hits = np.empty(0, np.int64)

    def run(self, order, first_step, n_steps):
        """Train steps [first_step, first_step + n_steps) of the epoch whose row order
        is `order` (int64 permutation, or None). Returns (steps applied, their mean
        losses, their correct counts); fewer steps than asked means that the loss of
        the next one was not finite (its loss is the last one returned)."""
        if self.step_loss.shape[0] < n_steps:
            self.step_loss = np.empty(n_steps)
            self.step_hits = np.empty(n_steps, np.int64)
        opt = self.model.optimizer
        # Cached; sees learning-rate changes.
        plan = self.model.engine.plan(self.model, self.batch, training=True)
        done = measured(plan, lambda threads: plan.train(
            self.x, self.y, self.labels, self.targets_are_inputs, order, first_step,
            n_steps, opt.iterations, self.step_loss, self.step_hits, threads))
        opt.iterations += done
        seen = min(done + 1, n_steps)
        return done, self.step_loss[:seen], self.step_hits[:seen]


def predict(model, x, batch_size):
    """model's outputs for checked x (n, in_features): a new (n, out_features) array,
    or None when the model does not run compiled."""
    plan = model.engine.inference_plan(model, min(batch_size, x.shape[0]))
    if plan is None:
        return None
    out = np.empty((x.shape[0], model.out_features), model.dtype)
    measured(plan, lambda threads: plan.predict(x, out, threads), x.shape[0])
    return out


def evaluate(model, x, y, batch_size):
    """(mean loss, correct count) over checked x and y (labels, targets or x itself),
    or None when the model does not run compiled."""
    plan = model.engine.inference_plan(model, min(batch_size, x.shape[0]))
    if plan is None:
        return None
    labels = model.loss.target_kind == "labels"
    total, hits = measured(plan, lambda threads: plan.evaluate(
        x, None if labels or y is x else y, y if labels else None, y is x, threads),
        x.shape[0])
    per = x.shape[0] * (1 if labels else model.out_features)
    return total / per, int(hits)
