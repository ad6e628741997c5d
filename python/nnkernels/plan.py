"""The compiled step: one flat buffer per model, and plans that run many training
steps (or a whole inference pass) in one call without the GIL.

A Sequential keeps its parameters in one flat array (each weight and bias a view of
it), their gradients in another, and each optimizer state likewise, so that the
update is one pass over contiguous memory. `plan_for` builds, and caches on the
model, a `nnkernels._plan.Plan` over those buffers for one batch size, thread count
and purpose; it is rebuilt when any of them, the architecture, the loss or the
optimizer changes, or when a parameter's array was replaced (assigning a new array
to ``layer.weight.data`` is noticed here, and the new values are adopted).

Models the plan does not cover (a layer other than Dense, a subclass that redefines
the maths of a layer, loss or optimizer, an optimizer over other parameters) train
layer by layer; ``why_not_compiled(model)`` says which, and why.

`fit` measures its own speed as it goes (`TeamSize`): when the machine is busy
enough that the plan's threads run slower than one, it trains on one until the
machine frees up. A plan's results do not depend on how many threads ran it.
"""
import operator
import time

import numpy as np

import nnkernels._gemm_choice as _gemm_choice
import nnkernels._plan as _plan
import nnkernels.activations as activations
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
        self.array = np.empty(sum(sizes), dtype)
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


def _adopt(owner, attr, arrays, dtype, assign):
    flat = owner.__dict__.get(attr)
    if flat is None or not flat.holds(arrays):
        flat = FlatBuffer(arrays, dtype)
        owner.__dict__[attr] = flat
        assign(flat.views)
    return flat


def flatten_parameters(model):
    """Keep model's parameters and their gradients in one flat buffer each."""
    params = model.parameters()
    return _flat(model, params, "data"), _flat(model, params, "grad")


def _flat(model, params, kind):
    """The flat buffer of the params' `kind` ("data" or "grad") arrays, adopted anew
    when one was replaced."""
    return _adopt(model, f"_flat_{kind}", [getattr(p, kind) for p in params], model.dtype,
                  lambda views: [setattr(p, kind, v) for p, v in zip(params, views)])


def gradients_with_room(model, extra):
    """Move model's flat gradient buffer to the front of a new array with `extra` more
    elements after it, so that one call (a data-parallel step's Allreduce) can carry
    both; returns that whole array. The gradients keep their values."""
    params = model.parameters()
    flat = FlatBuffer([p.grad for p in params] + [np.zeros(extra, model.dtype)],
                      model.dtype)
    whole = flat.array
    flat.array, flat.views = whole[:whole.shape[0] - extra], flat.views[:-1]
    model.__dict__["_flat_grad"] = flat
    for p, view in zip(params, flat.views):
        p.grad = view
    return whole


def flatten_optimizer_state(optimizer, dtype):
    """Keep each named state of `optimizer` (RMSProp's cache, Adam's m and v, ...) in
    one flat buffer; returns them in state_names order."""
    flats = []
    for name in optimizer.state_names:
        def assign(views, name=name):
            for state, v in zip(optimizer.state, views):
                state[name] = v
        flats.append(_adopt(optimizer, f"_flat_{name}",
                            [s[name] for s in optimizer.state], dtype, assign))
    return flats


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


def plan_for(model, batch, training):
    """The cached Plan of model for `batch` rows per step (training or inference)."""
    if model.dtype == np.float32:
        _gemm_choice.ensure()   # the GEMM library is chosen before the first product
    params = model.parameters()
    data = _flat(model, params, "data")
    if training:
        grads = _flat(model, params, "grad")
        states = flatten_optimizer_state(model.optimizer, model.dtype)
        buffers = (data.array, grads.array, *(s.array for s in states))
    else:
        buffers = (data.array,)
    n_threads = _threads_for(model, batch, training)
    key = (training, batch, n_threads, model.loss and model.loss.name,
           id(model.optimizer) if training else None,
           tuple((id(layer), layer.activation) for layer in model.layers))
    cache = model.__dict__.setdefault("_plans", {})
    plan, used = cache.get(key, (None, ()))
    if plan is None or len(used) != len(buffers) or any(
            a is not b for a, b in zip(used, buffers)):
        if len(cache) >= _MAX_CACHED_PLANS:
            cache.clear()
        dims = [model.in_features] + [layer.out_features for layer in model.layers]
        arrays = [s.array for s in states] + [None, None] if training else [None, None]
        plan = _plan.Plan(dims, [activations.get(layer.activation).code
                                 for layer in model.layers],
                          model.loss.name if model.loss is not None else None, batch,
                          n_threads, data.array, grads.array if training else None,
                          arrays[0], arrays[1])
        cache[key] = (plan, buffers)
    if training:  # every call: a callback may have changed the learning rate
        opt = model.optimizer
        plan.set_optimizer(opt.compiled_kind, **opt.hyperparameters())
    return plan


class TeamSize:
    """How many of a plan's threads the next call of `fit` uses: all of them or one,
    whichever ran more steps per second when last measured.

    The one in use is measured at every call; the other again every PROBE_SECONDS,
    so that a machine that got busier (or quieter) is noticed within about that
    long. The first call of each is a warm-up and is not counted.
    """

    PROBE_SECONDS = 2.0

    def __init__(self, full):
        self.full = full
        self.rate = {}      # threads -> steps per second, last measured
        self.when = {}      # threads -> time.monotonic() of that measurement
        self.warm = set()   # thread counts that have run their warm-up call

    def choose(self):
        if self.full == 1:
            return 1
        for n in (self.full, 1):
            if n not in self.rate:
                return n
        best = max(self.rate, key=self.rate.get)
        other = 1 if best == self.full else self.full
        if time.monotonic() - self.when[other] > self.PROBE_SECONDS:
            return other
        return best

    def record(self, threads, steps, seconds):
        if threads not in self.warm:
            self.warm.add(threads)
            return
        if steps > 0 and seconds > 0:
            rate = steps / seconds
            old = self.rate.get(threads)
            recent = old is not None and time.monotonic() - self.when[threads] < 0.5
            self.rate[threads] = 0.5 * (old + rate) if recent else rate
            self.when[threads] = time.monotonic()


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
        plan = plan_for(self.model, self.batch, training=True)  # cached; sees lr changes
        if plan.team is None:
            plan.team = TeamSize(plan.n_threads)
        threads = plan.team.choose()
        start = time.perf_counter()
        done = plan.train(self.x, self.y, self.labels, self.targets_are_inputs, order,
                          first_step, n_steps, opt.iterations, self.step_loss,
                          self.step_hits, threads)
        plan.team.record(threads, done, time.perf_counter() - start)
        opt.iterations += done
        seen = min(done + 1, n_steps)
        return done, self.step_loss[:seen], self.step_hits[:seen]


def predict(model, x, batch_size):
    """model's outputs for checked x (n, in_features): a new (n, out_features) array."""
    plan = plan_for(model, min(batch_size, x.shape[0]), training=False)
    out = np.empty((x.shape[0], model.out_features), model.dtype)
    plan.predict(x, out)
    return out


def evaluate(model, x, y, batch_size):
    """(mean loss, correct count) over checked x and y (labels, targets or x itself)."""
    plan = plan_for(model, min(batch_size, x.shape[0]), training=False)
    labels = model.loss.target_kind == "labels"
    total, hits = plan.evaluate(x, None if labels or y is x else y, y if labels else None,
                                y is x)
    per = x.shape[0] * (1 if labels else model.out_features)
    return total / per, int(hits)
