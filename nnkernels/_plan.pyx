# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The step plan: a whole training step (gather, forward, loss, backward, optimizer
update) of a stack of Dense layers, over preallocated buffers, run for many steps in
one call without the GIL, inside one parallel region.

Inside the region each thread owns a block of every product's output columns (it
calls single-threaded BLAS on it), the same block of the following elementwise pass,
a block of rows of the loss and a block of the flat parameter array for the update.
Nothing is reduced across threads: bias gradients are column sums each owned by one
thread, losses are summed per row and then in row order. Threads meet at a spinning
barrier (src/nk_sync.h) only between dependent operations. Inference (predict,
evaluate) runs the same forward pass. Data-parallel training (nnkernels.distributed)
splits a step in two calls, `gradient` (one batch, no update) and `update`, so that
the gradients can be summed across processes in between.

The Python side (python/nnkernels/plan.py) checks everything before it calls in: the
arrays handed to Plan are C-contiguous, of the plan's dtype and of the sizes given.
"""
from cython cimport floating
from cython.parallel cimport parallel, threadid
from libc.math cimport isfinite
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

cimport numpy as cnp

from nnkernels._blas cimport blas_get_threads, blas_set_threads, gemm_rows
from nnkernels._common cimport (Activation, IDENTITY, RELU, SIGMOID, block_act_backward,
                                row_bias_act, sigmoid)
from nnkernels._losses cimport Loss, MSE, SIGMOID_BCE, SOFTMAX_CE, loss_sum_rows, softmax_rows
from nnkernels._optim cimport adam_flat, rmsprop_flat, sgd_flat

cnp.import_array()

cdef extern from "nk_sync.h":
    ctypedef struct nk_barrier:
        int n
    void nk_barrier_init(nk_barrier* b, int n) noexcept nogil
    void nk_barrier_wait(nk_barrier* b) noexcept nogil
    unsigned int nk_flush_denormals() noexcept nogil
    void nk_fp_restore(unsigned int old) noexcept nogil
    int NK_HAVE_FTZ

cdef enum:
    MAX_LAYERS = 32
    # Column blocks start at multiples of 64 bytes (OpenBLAS's kernels work on
    # 16 floats / 8 doubles at a time along this dimension).
    ALIGN_BYTES = 64
    PARAM_ALIGN = 64   # elements: blocks of the flat update

cdef enum Kind:
    TRAIN = 0
    PREDICT = 1
    EVALUATE = 2
    UPDATE = 3

cdef enum OptimizerKind:
    RMSPROP = 0
    SGD = 1
    ADAM = 2

cdef struct State:
    int n_layers
    Py_ssize_t dims[MAX_LAYERS + 1]
    Activation act[MAX_LAYERS]
    Py_ssize_t w_off[MAX_LAYERS]
    Py_ssize_t b_off[MAX_LAYERS]
    int has_loss
    Loss loss
    Py_ssize_t batch
    int n_threads
    Py_ssize_t max_width
    Py_ssize_t n_params
    # buffers (owned by the Plan object's arrays)
    void* params
    void* grads
    void* state1
    void* state2
    void* acts[MAX_LAYERS + 1]   # acts[0]: the gathered batch; acts[l + 1]: layer l's output
    void* g[MAX_LAYERS]          # dL/d(output of layer l), then dL/d(pre-activation)
    void* tbuf                   # gathered float targets
    int64_t* lbuf                # gathered labels
    double* row_loss
    unsigned char* row_hit
    double* acc                  # n_threads * max_width: bias-gradient column sums
    nk_barrier* barrier
    # optimizer
    int optimizer
    double lr, rho, eps, wd, momentum, beta1, beta2
    bint eps_inside, nesterov, decoupled
    long step                    # Adam's step count before this call
    # this call
    Kind kind
    const void* x
    Py_ssize_t n_rows
    const void* y
    const int64_t* labels
    bint targets_are_inputs
    const int64_t* order         # NULL: rows in order, read in place
    Py_ssize_t first_step
    Py_ssize_t n_steps
    double* step_loss
    int64_t* step_hits
    void* out
    double total_loss
    int64_t total_hits
    Py_ssize_t steps_done
    int stop
    bint apply_update            # 0: gradients only (a data-parallel step)
    Py_ssize_t loss_rows         # > 0: the gradient is of the loss summed over the
                                 # batch divided by loss_rows (rows of the global batch)


cdef inline void _part(Py_ssize_t n, int tid, int n_threads, Py_ssize_t align,
                       Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """Block tid of n_threads contiguous blocks of [0, n), starting at multiples of
    align, as equal as the alignment allows (a block may be empty)."""
    cdef Py_ssize_t units = (n + align - 1) // align
    lo[0] = (units * tid // n_threads) * align
    hi[0] = (units * (tid + 1) // n_threads) * align
    if lo[0] > n:
        lo[0] = n
    if hi[0] > n:
        hi[0] = n


cdef inline Py_ssize_t _argmax(const floating* z, Py_ssize_t m) noexcept nogil:
    # The first maximum, as np.argmax.
    cdef Py_ssize_t j, best = 0
    for j in range(1, m):
        if z[j] > z[best]:
            best = j
    return best


cdef void _forward(floating* tag, State* p, const floating* xin, Py_ssize_t rows,
                   int tid) noexcept nogil:
    """acts[l + 1] = act(a_in @ W + b) for every layer, each thread on its columns."""
    cdef int l
    cdef Py_ssize_t i, c0, c1, n_in, n_out
    cdef Py_ssize_t align = ALIGN_BYTES // sizeof(floating)
    cdef floating* params = <floating*>p.params
    cdef const floating* a_in = xin
    cdef floating* y
    for l in range(p.n_layers):
        n_in, n_out = p.dims[l], p.dims[l + 1]
        y = <floating*>p.acts[l + 1]
        _part(n_out, tid, p.n_threads, align, &c0, &c1)
        if c1 > c0:
            gemm_rows(False, False, 1, a_in, n_in, params + p.w_off[l] + c0, n_out, 0,
                      y + c0, n_out, rows, c1 - c0, n_in)
            for i in range(rows):
                row_bias_act(y + i * n_out + c0, params + p.b_off[l] + c0,
                             y + i * n_out + c0, c1 - c0, p.act[l])
        nk_barrier_wait(p.barrier)
        a_in = y


cdef void _loss_rows(floating* tag, State* p, const floating* tin, const int64_t* lin,
                     Py_ssize_t rows, int tid) noexcept nogil:
    """Per-row losses (and hits) of the last forward pass into row_loss (row_hit),
    the gradient of the batch's mean loss into g[L - 1]; each thread its rows."""
    cdef int last = p.n_layers - 1
    cdef Py_ssize_t i, r0, r1, m = p.dims[p.n_layers]
    cdef const floating* z = <floating*>p.acts[p.n_layers]
    cdef floating* grad = <floating*>p.g[last]
    cdef Py_ssize_t n = p.loss_rows if p.loss_rows > 0 else rows
    cdef double scale = 1.0 / n if p.loss == SOFTMAX_CE else 1.0 / (n * m)
    _part(rows, tid, p.n_threads, 1, &r0, &r1)
    for i in range(r0, r1):
        p.row_loss[i] = loss_sum_rows(p.loss, z, m, tin, m, lin, grad, m, i, i + 1, m,
                                      scale)
        if p.loss == SOFTMAX_CE:
            p.row_hit[i] = _argmax(z + i * m, m) == lin[i]


cdef void _backward(floating* tag, State* p, const floating* xin, Py_ssize_t rows,
                    int tid) noexcept nogil:
    """Gradients of every parameter from g[L - 1]; one barrier per layer."""
    cdef int l
    cdef Py_ssize_t j, c0, c1, n_in, n_out
    cdef Py_ssize_t align = ALIGN_BYTES // sizeof(floating)
    cdef floating* params = <floating*>p.params
    cdef floating* grads = <floating*>p.grads
    cdef double* acc = p.acc + tid * p.max_width
    cdef const floating* a_in
    cdef floating* g
    cdef floating* y
    for l in range(p.n_layers - 1, -1, -1):
        n_in, n_out = p.dims[l], p.dims[l + 1]
        a_in = xin if l == 0 else <floating*>p.acts[l]
        g, y = <floating*>p.g[l], <floating*>p.acts[l + 1]
        # Own columns: dz = g * act'(y) in place, db = column sums of dz,
        # dW[:, c0:c1] = a_in^T dz[:, c0:c1]. The partition is the one the dX product
        # of the layer above used for these columns: no barrier in between.
        _part(n_out, tid, p.n_threads, align, &c0, &c1)
        if c1 > c0:
            memset(acc, 0, (c1 - c0) * sizeof(double))
            block_act_backward(g + c0, n_out, y + c0, n_out, g + c0, n_out, acc, rows,
                               c1 - c0, p.act[l])
            for j in range(c1 - c0):
                grads[p.b_off[l] + c0 + j] = <floating>acc[j]
            gemm_rows(True, False, 1, a_in, n_in, g + c0, n_out, 0,
                      grads + p.w_off[l] + c0, n_out, n_in, c1 - c0, rows)
        if l > 0:
            nk_barrier_wait(p.barrier)   # dz complete in every column
            _part(n_in, tid, p.n_threads, align, &c0, &c1)
            if c1 > c0:  # dX[:, c0:c1] = dz W[c0:c1, :]^T
                gemm_rows(False, True, 1, g, n_out, params + p.w_off[l] + c0 * n_out,
                          n_out, 0, <floating*>p.g[l - 1] + c0, n_in, rows, c1 - c0,
                          n_out)


cdef void _update(floating* tag, State* p, long step, int tid) noexcept nogil:
    cdef Py_ssize_t lo, hi
    cdef floating* w = <floating*>p.params
    cdef floating* g = <floating*>p.grads
    cdef floating* s1 = <floating*>p.state1
    cdef floating* s2 = <floating*>p.state2
    _part(p.n_params, tid, p.n_threads, PARAM_ALIGN, &lo, &hi)
    if hi <= lo:
        return
    if p.optimizer == RMSPROP:
        rmsprop_flat(w + lo, g + lo, s1 + lo, hi - lo, p.lr, p.rho, p.eps, p.wd,
                     p.eps_inside, 1)
    elif p.optimizer == SGD:
        sgd_flat(w + lo, g + lo, s1 + lo if p.momentum != 0 else NULL, hi - lo, p.lr,
                 p.momentum, p.wd, p.nesterov, 1)
    else:
        adam_flat(w + lo, g + lo, s1 + lo, s2 + lo, hi - lo, p.lr, p.beta1, p.beta2,
                  p.eps, p.wd, p.decoupled, step, 1)


cdef void _train(floating* tag, State* p, int tid) noexcept nogil:
    cdef int T = p.n_threads
    cdef Py_ssize_t s, lo, hi, rows, i, r0, r1, src
    cdef Py_ssize_t d0 = p.dims[0], dl = p.dims[p.n_layers]
    cdef const floating* x = <const floating*>p.x
    cdef const floating* y = <const floating*>p.y
    cdef floating* xbuf = <floating*>p.acts[0]
    cdef floating* tbuf = <floating*>p.tbuf
    cdef const floating* xin
    cdef const floating* tin
    cdef const int64_t* lin
    cdef double total
    cdef int64_t hits
    for s in range(p.first_step, p.first_step + p.n_steps):
        lo = s * p.batch
        hi = lo + p.batch if lo + p.batch < p.n_rows else p.n_rows
        rows = hi - lo
        if p.order == NULL:
            xin = x + lo * d0
            tin = y + lo * dl if y != NULL else NULL
            lin = p.labels + lo if p.labels != NULL else NULL
        else:  # gather this batch's rows, each thread its share
            _part(rows, tid, T, 1, &r0, &r1)
            for i in range(r0, r1):
                src = p.order[lo + i]
                memcpy(xbuf + i * d0, x + src * d0, d0 * sizeof(floating))
                if y != NULL:
                    memcpy(tbuf + i * dl, y + src * dl, dl * sizeof(floating))
                if p.labels != NULL:
                    p.lbuf[i] = p.labels[src]
            xin, tin, lin = xbuf, tbuf, p.lbuf
        if p.targets_are_inputs:
            tin = xin
        # The batch is in place, and the previous update is complete everywhere.
        nk_barrier_wait(p.barrier)
        _forward(tag, p, xin, rows, tid)
        _loss_rows(tag, p, tin, lin, rows, tid)
        nk_barrier_wait(p.barrier)
        if tid == 0:
            total, hits = 0, 0
            for i in range(rows):
                total += p.row_loss[i]
                if p.loss == SOFTMAX_CE:
                    hits += p.row_hit[i]
            total = total / rows if p.loss == SOFTMAX_CE else total / (rows * dl)
            p.step_loss[s - p.first_step] = total
            p.step_hits[s - p.first_step] = hits
            if not isfinite(total):
                p.stop = 1
        _backward(tag, p, xin, rows, tid)
        nk_barrier_wait(p.barrier)  # every gradient written; p.stop seen by all
        if p.stop:
            break
        if p.apply_update:
            _update(tag, p, p.step + (s - p.first_step) + 1, tid)
        if tid == 0:
            p.steps_done += 1


cdef void _infer(floating* tag, State* p, int tid) noexcept nogil:
    """PREDICT: out = the loss's output transform of the network output (softmax
    probabilities, sigmoid, or the output itself). EVALUATE: total_loss (the sum of
    the per-row losses, in row order) and total_hits."""
    cdef Py_ssize_t lo, hi, rows, i, j, r0, r1
    cdef Py_ssize_t d0 = p.dims[0], dl = p.dims[p.n_layers]
    cdef const floating* x = <const floating*>p.x
    cdef const floating* y = <const floating*>p.y
    cdef floating* out = <floating*>p.out
    cdef floating* z = <floating*>p.acts[p.n_layers]
    cdef const floating* tin
    lo = 0
    while lo < p.n_rows:
        hi = lo + p.batch if lo + p.batch < p.n_rows else p.n_rows
        rows = hi - lo
        _forward(tag, p, x + lo * d0, rows, tid)
        if p.kind == PREDICT:
            _part(rows, tid, p.n_threads, 1, &r0, &r1)
            if r1 > r0:
                if p.has_loss and p.loss == SOFTMAX_CE:
                    softmax_rows(z + r0 * dl, dl, out + (lo + r0) * dl, dl, r1 - r0, dl, 1)
                elif p.has_loss and p.loss == SIGMOID_BCE:
                    for i in range(r0 * dl, r1 * dl):
                        out[lo * dl + i] = sigmoid(z[i])
                else:
                    memcpy(out + (lo + r0) * dl, z + r0 * dl, (r1 - r0) * dl * sizeof(floating))
        else:
            tin = x + lo * d0 if p.targets_are_inputs else (y + lo * dl if y != NULL else NULL)
            _loss_rows(tag, p, tin, p.labels + lo if p.labels != NULL else NULL, rows, tid)
            nk_barrier_wait(p.barrier)
            if tid == 0:
                for i in range(rows):
                    p.total_loss += p.row_loss[i]
                    if p.loss == SOFTMAX_CE:
                        p.total_hits += p.row_hit[i]
        nk_barrier_wait(p.barrier)  # the next batch overwrites what was read
        lo = hi


cdef void _run(floating* tag, State* p, int tid) noexcept nogil:
    cdef unsigned int fp = nk_flush_denormals()
    if p.kind == TRAIN:
        _train(tag, p, tid)
    elif p.kind == UPDATE:
        _update(tag, p, p.step, tid)
    else:
        _infer(tag, p, tid)
    nk_fp_restore(fp)


cdef void _run_threads(floating* tag, State* p) noexcept nogil:
    nk_barrier_init(p.barrier, p.n_threads)
    if p.n_threads == 1:
        _run(tag, p, 0)
        return
    with parallel(num_threads=p.n_threads):
        _run(tag, p, threadid())


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
_ACTIVATIONS = {None: IDENTITY, "relu": RELU, "sigmoid": SIGMOID}
_LOSSES = {"softmax_cross_entropy": SOFTMAX_CE, "mse": MSE,
           "binary_cross_entropy": SIGMOID_BCE}


cdef class Plan:
    """Buffers and description of one network at one batch size and thread count.

    Parameters
    ----------
    dims : list of int, [in_features, out_1, ..., out_L] (L <= 32)
    activations : list of L of None, "relu", "sigmoid"
    loss : str or None (a name of nnkernels.losses.LOSSES; None: predict only)
    batch : int, the largest number of rows per step
    n_threads : int >= 1
    params, grads : 1-D arrays (float32 or float64) holding every layer's W (in, out),
        then b, in order; grads may be None for inference
    state1, state2 : 1-D arrays of the optimizer's state (or None)
    """
    cdef State s
    cdef nk_barrier barrier
    cdef object _arrays
    cdef readonly object dtype
    cdef readonly int n_threads
    cdef readonly Py_ssize_t batch

    def __cinit__(self):
        self.s.acc = NULL

    def __init__(self, dims, activations, loss, Py_ssize_t batch, int n_threads,
                 cnp.ndarray params, cnp.ndarray grads=None, cnp.ndarray state1=None,
                 cnp.ndarray state2=None):
        import numpy as np
        cdef int l, n_layers = len(dims) - 1
        cdef Py_ssize_t offset = 0, width = 0
        if not 1 <= n_layers <= MAX_LAYERS:
            raise ValueError(f"Plan: 1 to {MAX_LAYERS} layers; got {n_layers}")
        self.dtype = params.dtype
        self.n_threads = n_threads
        self.batch = batch
        self.s.n_layers = n_layers
        self.s.batch = batch
        self.s.n_threads = n_threads
        self.s.has_loss = loss is not None
        self.s.loss = _LOSSES[loss] if loss is not None else MSE
        arrays = [params, grads, state1, state2]
        for l in range(n_layers + 1):
            self.s.dims[l] = dims[l]
            width = max(width, dims[l])
        for l in range(n_layers):
            self.s.act[l] = _ACTIVATIONS[activations[l]]
            self.s.w_off[l] = offset
            offset += dims[l] * dims[l + 1]
            self.s.b_off[l] = offset
            offset += dims[l + 1]
        if params.shape[0] != offset:
            raise ValueError(f"Plan: params holds {params.shape[0]} values; the layers "
                             f"need {offset}")
        self.s.n_params = offset
        self.s.max_width = width
        self.s.params, self.s.grads = _data(params), _data(grads)
        self.s.state1, self.s.state2 = _data(state1), _data(state2)
        for l in range(n_layers + 1):
            a = np.empty((batch, dims[l]), self.dtype)
            arrays.append(a)
            self.s.acts[l] = _data(a)
        for l in range(n_layers):
            a = np.empty((batch, dims[l + 1]), self.dtype)
            arrays.append(a)
            self.s.g[l] = _data(a)
        targets = np.empty((batch, dims[n_layers]), self.dtype)
        labels = np.empty(batch, np.int64)
        row_loss = np.empty(batch, np.float64)
        row_hit = np.empty(batch, np.uint8)
        acc = np.empty(n_threads * width, np.float64)
        arrays += [targets, labels, row_loss, row_hit, acc]
        self.s.tbuf, self.s.lbuf = _data(targets), <int64_t*>_data(labels)
        self.s.row_loss, self.s.row_hit = <double*>_data(row_loss), <unsigned char*>_data(row_hit)
        self.s.acc = <double*>_data(acc)
        self.s.barrier = &self.barrier
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

    cdef void _call(self):
        cdef bint single = self.dtype.itemsize == 4
        _enter_threads(self.s.n_threads)
        try:
            with nogil:
                if single:
                    _run_threads(<float*>NULL, &self.s)
                else:
                    _run_threads(<double*>NULL, &self.s)
        finally:
            _leave_threads(self.s.n_threads)

    def train(self, cnp.ndarray x, cnp.ndarray y, cnp.ndarray labels,
              bint targets_are_inputs, cnp.ndarray order, Py_ssize_t first_step,
              Py_ssize_t n_steps, long adam_step, cnp.ndarray step_loss,
              cnp.ndarray step_hits):
        """Train steps first_step .. first_step + n_steps - 1 of an epoch over x (n, d0).

        y: float targets (n, d_L) or None; labels: int64 (n,) or None; order: int64
        (n,) row order of the epoch, or None for rows in order. Writes each step's mean
        loss (float64) and correct count (int64) to step_loss / step_hits[:n_steps].
        Stops before the update of the first step whose loss is not finite. Returns
        the number of steps whose update was applied.
        """
        self.s.kind = TRAIN
        self.s.x, self.s.n_rows = _data(x), x.shape[0]
        self.s.y, self.s.labels = _data(y), <int64_t*>_data(labels)
        self.s.targets_are_inputs = targets_are_inputs
        self.s.order = <int64_t*>_data(order)
        self.s.first_step, self.s.n_steps, self.s.step = first_step, n_steps, adam_step
        self.s.step_loss = <double*>_data(step_loss)
        self.s.step_hits = <int64_t*>_data(step_hits)
        self.s.steps_done, self.s.stop = 0, 0
        self.s.apply_update, self.s.loss_rows = 1, 0
        self._call()
        return self.s.steps_done

    def gradient(self, cnp.ndarray x, cnp.ndarray y, cnp.ndarray labels,
                 bint targets_are_inputs, cnp.ndarray rows, Py_ssize_t loss_rows,
                 cnp.ndarray step_loss, cnp.ndarray step_hits):
        """Gradients of one batch, the rows `rows` (int64, 1 to `batch` indices) of x
        and its targets, without an update: grads = d(sum of the rows' losses /
        loss_rows) (MSE: / (loss_rows * d_L)), the mean over a global batch of
        loss_rows rows of which this is a shard. Writes the shard's mean loss and
        correct count to step_loss[0] / step_hits[0]; returns whether that loss is
        finite."""
        self.s.kind = TRAIN
        self.s.x, self.s.n_rows = _data(x), rows.shape[0]
        self.s.y, self.s.labels = _data(y), <int64_t*>_data(labels)
        self.s.targets_are_inputs = targets_are_inputs
        self.s.order = <int64_t*>_data(rows)
        self.s.first_step, self.s.n_steps, self.s.step = 0, 1, 0
        self.s.step_loss = <double*>_data(step_loss)
        self.s.step_hits = <int64_t*>_data(step_hits)
        self.s.steps_done, self.s.stop = 0, 0
        self.s.apply_update, self.s.loss_rows = 0, loss_rows
        self._call()
        return self.s.steps_done == 1

    def update(self, long adam_step):
        """One optimizer update of params from grads (Adam's step number adam_step,
        counted from 1), each thread on its block of the flat arrays."""
        self.s.kind = UPDATE
        self.s.step = adam_step
        self._call()

    def predict(self, cnp.ndarray x, cnp.ndarray out):
        """out (n, d_L) = the network's output transform for x (n, d0), by batches."""
        self.s.kind = PREDICT
        self.s.x, self.s.n_rows, self.s.out = _data(x), x.shape[0], _data(out)
        self._call()

    def evaluate(self, cnp.ndarray x, cnp.ndarray y, cnp.ndarray labels,
                 bint targets_are_inputs):
        """(sum of the per-row losses, correct count) over x (n, d0) and its targets."""
        self.s.kind = EVALUATE
        self.s.x, self.s.n_rows = _data(x), x.shape[0]
        self.s.y, self.s.labels = _data(y), <int64_t*>_data(labels)
        self.s.targets_are_inputs = targets_are_inputs
        self.s.loss_rows = 0
        self.s.total_loss, self.s.total_hits = 0, 0
        self._call()
        return self.s.total_loss, self.s.total_hits


def flushes_denormals():
    """Whether plans flush denormal floats to zero on this platform (x86 SSE)."""
    return bool(NK_HAVE_FTZ)
