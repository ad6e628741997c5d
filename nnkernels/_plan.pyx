# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The step plan: a whole training step (gather, forward, loss, backward, optimizer
update) of a stack of Dense layers, over preallocated buffers, run for many steps in
one call without the GIL, inside one parallel region.

A step is a fixed sequence of phases, each cut into blocks (_steps.pyx): a product's
blocks of output columns (single-threaded BLAS on each, with the elementwise pass
that follows fused in), the loss's blocks of rows, the update's blocks of the flat
parameter array. The cut depends on the shapes alone. The threads of the team take
the blocks (src/nk_sync.h): each first its own run of every phase's blocks, then
whatever another has not started, so a thread that the machine took away delays the
others by one block at most, and the bits of every result are the same for any
number of threads. Inference (predict, evaluate) runs the same forward pass.
Data-parallel training (nnkernels.distributed) splits a step in two calls,
`gradient` (one batch, no update) and `update`, so that the gradients can be summed
across processes in between.

Plan checks the sizes of the buffers it is given; plan.py hands it C-contiguous
arrays of the plan's dtype (the model's own buffers and checked inputs).
"""
from libc.stdint cimport int64_t

cimport numpy as cnp

from nnkernels._blas cimport blas_get_threads, blas_set_threads
from nnkernels._common cimport Activation, IDENTITY, RELU, SIGMOID
from nnkernels._losses cimport MSE, SIGMOID_BCE, SOFTMAX_CE
from nnkernels._steps cimport (ADAM, EVALUATE, MAX_LAYERS, PREDICT, RMSPROP, SGD, TRAIN,
                               UPDATE, State, col_blocks, run_team)

cnp.import_array()

cdef extern from "nk_sync.h":
    int NK_HAVE_FTZ
    long long NK_SPIN_NS

#: How long a thread that waits for another spins before it sleeps, unless a call's
#: Plan.spin_us says otherwise (microseconds).
DEFAULT_SPIN_US = NK_SPIN_NS / 1000.0

# Blocks of a product: one per BLOCK_FLOPS of work, at most MAX_COL_BLOCKS. More
# blocks balance a loaded machine better; each costs one more packing of the shared
# operand by BLAS.
BLOCK_FLOPS = 1_000_000
MAX_COL_BLOCKS = 4
# Rows of the gather and of the loss per block, parameters per block of the update.
GATHER_BYTES = 65536
LOSS_ELEMENTS = 16384
UPDATE_ELEMENTS = 32768
MAX_OTHER_BLOCKS = 8
# Inference runs the whole network on each block of a round's rows, and each block
# packs every weight matrix once (BLAS): a round's rows go in INFER_BLOCKS blocks of
# INFER_MIN_ROWS to INFER_MAX_ROWS rows.
INFER_BLOCKS = 4
INFER_MIN_ROWS = 128
INFER_MAX_ROWS = 512


cdef Py_ssize_t _infer_blocks(Py_ssize_t batch):
    cdef Py_ssize_t rows = min(max((batch + INFER_BLOCKS - 1) // INFER_BLOCKS,
                                   INFER_MIN_ROWS), INFER_MAX_ROWS)
    return (batch + rows - 1) // rows


cdef int _count(Py_ssize_t work, Py_ssize_t per_block, Py_ssize_t most):
    cdef Py_ssize_t n = work // per_block
    return <int>(1 if n < 1 else (most if n > most else n))


# Threads of the BLAS library while plans run: each plan thread calls BLAS on its own
# block, so the library must not start threads of its own. Plans of several Python
# threads may run at once; the count is restored when the last one ends. (The GIL
# guards these two variables: they change only while it is held.)
cdef int _plans_running = 0
cdef int _saved_blas_threads = 0


cdef void _enter_threads(int n_threads):
    global _plans_running, _saved_blas_threads
    if n_threads == 1:
        return
    if _plans_running == 0:
        _saved_blas_threads = blas_get_threads()
        if _saved_blas_threads > 1:
            blas_set_threads(1)
    _plans_running += 1


cdef void _leave_threads(int n_threads):
    global _plans_running
    if n_threads == 1:
        return
    _plans_running -= 1
    if _plans_running == 0 and _saved_blas_threads > 1:
        blas_set_threads(_saved_blas_threads)


def plan_threads_can_split():
    """Whether BLAS's own threads can be turned off while a plan runs (OpenBLAS with
    its thread control found); otherwise plans run their products on one thread."""
    return blas_get_threads() > 0


cdef inline void* _data(cnp.ndarray a):
    return cnp.PyArray_DATA(a) if a is not None else NULL


_OPTIMIZERS = {"rmsprop": RMSPROP, "sgd": SGD, "adam": ADAM}
_ACTIVATION_CODES = (IDENTITY, RELU, SIGMOID)
_LOSSES = {"softmax_cross_entropy": SOFTMAX_CE, "mse": MSE,
           "binary_cross_entropy": SIGMOID_BCE}


cdef class Plan:
    """Buffers and description of one network at one batch size and thread count.

    Parameters
    ----------
    dims : list of int, [in_features, out_1, ..., out_L] (L <= 32)
    activations : list of L activation codes (nnkernels.activations: each record's code)
    loss : str or None (a name of nnkernels.losses.LOSSES; None: predict only)
    batch : int, the largest number of rows per step
    n_threads : int >= 1, the most threads a call may use
    params, grads : 1-D arrays (float32 or float64) holding every layer's W (in, out),
        then b, in order; grads may be None for inference
    state1, state2 : 1-D arrays of the optimizer's state (or None)
    """
    cdef State s
    cdef object _arrays
    cdef readonly object dtype
    cdef readonly int n_threads
    cdef readonly Py_ssize_t batch
    cdef public object team   # _team.TeamSize of its calls, kept from call to call

    @property
    def spread(self):
        """Whether a call on as many threads as the process may use CPUs runs each
        thread on a CPU of its own (nnkernels/src/nk_affinity.h). True by default."""
        return bool(self.s.spread)

    @spread.setter
    def spread(self, bint value):
        self.s.spread = value

    @property
    def spin_us(self):
        """How long a thread that waits for another spins before it sleeps (us)."""
        return self.s.spin_ns / 1000.0

    @spin_us.setter
    def spin_us(self, double value):
        if not value >= 0:
            raise ValueError(f"Plan.spin_us must be a number >= 0; got {value}")
        self.s.spin_ns = <long long>(min(value, 1e9) * 1000)

    def __init__(self, dims, activations, loss, Py_ssize_t batch, int n_threads,
                 cnp.ndarray params, cnp.ndarray grads=None, cnp.ndarray state1=None,
                 cnp.ndarray state2=None):
        import numpy as np
        from nnkernels._memory import aligned_empty
        cdef int l, n_layers = len(dims) - 1
        cdef Py_ssize_t offset = 0, width = 0, flops, slots = 0
        if not 1 <= n_layers <= MAX_LAYERS:
            raise ValueError(f"Plan: 1 to {MAX_LAYERS} layers; got {n_layers}")
        if batch < 1 or n_threads < 1:
            raise ValueError(f"Plan: batch and n_threads must be >= 1; got {batch}, "
                             f"{n_threads}")
        self.dtype = params.dtype
        self.n_threads = n_threads
        self.batch = batch
        self.s.n_layers = n_layers
        self.s.batch = batch
        self.s.has_loss = loss is not None
        self.s.loss = _LOSSES[loss] if loss is not None else MSE
        arrays = [params, grads, state1, state2]
        for l in range(n_layers + 1):
            self.s.dims[l] = dims[l]
            width = max(width, dims[l])
        align = 64 // self.dtype.itemsize
        for l in range(n_layers):
            if activations[l] not in _ACTIVATION_CODES:
                raise ValueError(f"Plan: activations[{l}] must be one of the codes "
                                 f"{_ACTIVATION_CODES}; got {activations[l]!r}")
            self.s.act[l] = <Activation><int>activations[l]
            self.s.w_off[l] = offset
            offset += dims[l] * dims[l + 1]
            self.s.b_off[l] = offset
            offset += dims[l + 1]
            flops = 2 * batch * dims[l] * dims[l + 1]
            self.s.nb_out[l] = col_blocks(dims[l + 1], align, flops, BLOCK_FLOPS,
                                          MAX_COL_BLOCKS)
            self.s.nb_in[l] = col_blocks(dims[l], align, flops, BLOCK_FLOPS,
                                         MAX_COL_BLOCKS)
            slots += self.s.nb_out[l] * 2 + self.s.nb_in[l]
        if params.shape[0] != offset:
            raise ValueError(f"Plan: params holds {params.shape[0]} values; the layers "
                             f"need {offset}")
        self.s.nb_gather = _count(batch * dims[0] * self.dtype.itemsize, GATHER_BYTES,
                                  MAX_OTHER_BLOCKS)
        self.s.nb_rows = _count(batch * dims[n_layers], LOSS_ELEMENTS, MAX_OTHER_BLOCKS)
        self.s.nb_update = _count(offset, UPDATE_ELEMENTS, MAX_OTHER_BLOCKS)
        self.s.nb_infer = _infer_blocks(batch)
        slots += (self.s.nb_gather + 2 * self.s.nb_rows + self.s.nb_update + 2
                  + self.s.nb_infer)
        self.s.n_params = offset
        self.s.max_width = width
        self.s.params, self.s.grads = _data(params), _data(grads)
        self.s.state1, self.s.state2 = _data(state1), _data(state2)
        for l in range(n_layers + 1):
            a = aligned_empty((batch, dims[l]), self.dtype)
            arrays.append(a)
            self.s.acts[l] = _data(a)
        for l in range(n_layers):
            a = aligned_empty((batch, dims[l + 1]), self.dtype)
            arrays.append(a)
            self.s.g[l] = _data(a)
        targets = aligned_empty((batch, dims[n_layers]), self.dtype)
        labels = np.empty(batch, np.int64)
        row_loss = aligned_empty(batch, np.float64)
        row_hit = aligned_empty(batch, np.uint8)
        acc = aligned_empty(n_threads * width, np.float64)
        claimed = np.zeros(slots, np.int64)
        arrays += [targets, labels, row_loss, row_hit, acc, claimed]
        self.s.tbuf, self.s.lbuf = _data(targets), <int64_t*>_data(labels)
        self.s.row_loss, self.s.row_hit = <double*>_data(row_loss), <unsigned char*>_data(row_hit)
        self.s.acc = <double*>_data(acc)
        self.s.claimed = <int64_t*>_data(claimed)
        self.s.max_threads = n_threads
        self.s.rounds = 0
        self.s.spin_ns = NK_SPIN_NS
        self.s.spread = 1
        self._arrays = arrays   # kept alive as long as the plan

    def set_optimizer(self, kind, *, double lr, double rho=0, double eps=0,
                      double weight_decay=0, double momentum=0, double beta1=0,
                      double beta2=0, epsilon="outside", bint nesterov=False,
                      bint decoupled_weight_decay=False):
        """Hyperparameters for the next train() calls: `kind` ("rmsprop", "sgd",
        "adam") and the optimizer's own hyperparameters() (nnkernels.optimizers)."""
        self.s.optimizer = _OPTIMIZERS[kind]
        self.s.lr, self.s.rho, self.s.eps, self.s.wd = lr, rho, eps, weight_decay
        self.s.momentum, self.s.beta1, self.s.beta2 = momentum, beta1, beta2
        self.s.eps_inside = epsilon == "inside"
        self.s.nesterov, self.s.decoupled = nesterov, decoupled_weight_decay

    def block_counts(self):
        """{phase: blocks}: how every step is cut, whatever the thread count."""
        L = self.s.n_layers
        return {"forward": [self.s.nb_out[l] for l in range(L)],
                "input_grad": [self.s.nb_in[l] for l in range(1, L)],
                "gather": self.s.nb_gather, "rows": self.s.nb_rows,
                "update": self.s.nb_update, "inference": self.s.nb_infer}

    cdef void _call(self, int threads):
        cdef bint single = self.dtype.itemsize == 4
        if threads < 1 or threads > self.n_threads:
            threads = self.n_threads
        _enter_threads(threads)
        try:
            with nogil:
                if single:
                    run_team(<float*>NULL, &self.s, threads)
                else:
                    run_team(<double*>NULL, &self.s, threads)
        finally:
            _leave_threads(threads)

    cdef void _set_batch_inputs(self, cnp.ndarray x, cnp.ndarray y, cnp.ndarray labels,
                                bint targets_are_inputs):
        self.s.x = _data(x)
        self.s.y, self.s.labels = _data(y), <int64_t*>_data(labels)
        self.s.targets_are_inputs = targets_are_inputs

    def train(self, cnp.ndarray x, cnp.ndarray y, cnp.ndarray labels,
              bint targets_are_inputs, cnp.ndarray order, Py_ssize_t first_step,
              Py_ssize_t n_steps, long adam_step, cnp.ndarray step_loss,
              cnp.ndarray step_hits, int threads=0):
        """Train steps first_step .. first_step + n_steps - 1 of an epoch over x (n, d0).

        y: float targets (n, d_L) or None; labels: int64 (n,) or None; order: int64
        (n,) row order of the epoch, or None for rows in order. Writes each step's mean
        loss (float64) and correct count (int64) to step_loss / step_hits[:n_steps].
        Stops before the update of the first step whose loss is not finite. Returns
        the number of steps whose update was applied. `threads`: how many of the
        plan's threads to use (0: all); the results do not depend on it.
        """
        self.s.kind = TRAIN
        self._set_batch_inputs(x, y, labels, targets_are_inputs)
        self.s.n_rows = x.shape[0]
        self.s.order = <int64_t*>_data(order)
        self.s.first_step, self.s.n_steps, self.s.step = first_step, n_steps, adam_step
        self.s.step_loss = <double*>_data(step_loss)
        self.s.step_hits = <int64_t*>_data(step_hits)
        self.s.apply_update, self.s.loss_rows = 1, 0
        self._call(threads)
        return self.s.steps_done

    def gradient(self, cnp.ndarray x, cnp.ndarray y, cnp.ndarray labels,
                 bint targets_are_inputs, cnp.ndarray rows, Py_ssize_t loss_rows,
                 cnp.ndarray step_loss, cnp.ndarray step_hits, int threads=0):
        """Gradients of one batch, the rows `rows` (int64, 1 to `batch` indices) of x
        and its targets, without an update: grads = d(sum of the rows' losses /
        loss_rows) (MSE: / (loss_rows * d_L)), the mean over a global batch of
        loss_rows rows of which this is a shard. Writes the shard's mean loss and
        correct count to step_loss[0] / step_hits[0]; returns whether that loss is
        finite."""
        self.s.kind = TRAIN
        self._set_batch_inputs(x, y, labels, targets_are_inputs)
        self.s.n_rows = rows.shape[0]
        self.s.order = <int64_t*>_data(rows)
        self.s.first_step, self.s.n_steps, self.s.step = 0, 1, 0
        self.s.step_loss = <double*>_data(step_loss)
        self.s.step_hits = <int64_t*>_data(step_hits)
        self.s.apply_update, self.s.loss_rows = 0, loss_rows
        self._call(threads)
        return self.s.steps_done == 1

    def update(self, long adam_step, int threads=0):
        """One optimizer update of params from grads (Adam's step number adam_step,
        counted from 1), by blocks of the flat arrays."""
        self.s.kind = UPDATE
        self.s.step = adam_step
        self._call(threads)

    def predict(self, cnp.ndarray x, cnp.ndarray out, int threads=0):
        """out (n, d_L) = the network's output transform for x (n, d0), by batches."""
        self.s.kind = PREDICT
        self.s.x, self.s.n_rows, self.s.out = _data(x), x.shape[0], _data(out)
        self._call(threads)

    def evaluate(self, cnp.ndarray x, cnp.ndarray y, cnp.ndarray labels,
                 bint targets_are_inputs, int threads=0):
        """(sum of the per-row losses, correct count) over x (n, d0) and its targets."""
        self.s.kind = EVALUATE
        self._set_batch_inputs(x, y, labels, targets_are_inputs)
        self.s.n_rows = x.shape[0]
        self.s.loss_rows = 0
        self._call(threads)
        return self.s.total_loss, self.s.total_hits


def flushes_denormals():
    """Whether plans flush denormal floats to zero on this platform (x86 SSE)."""
    return bool(NK_HAVE_FTZ)
