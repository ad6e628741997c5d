# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The step plan's work: the phases of a step, the blocks of each phase, and the team
of threads that takes them (see nnkernels/_plan.pyx and src/nk_sync.h).

A call runs rounds (the steps of train, the batches of predict and evaluate, the one
update of update), each the same list of phases. Every thread walks the whole list:
it waits until the phases before are done, claims what it can of the phase's blocks
(its own run first, then the others' from the far end) and runs them. Block b of a
phase covers the same columns or rows whoever runs it.
"""
from cython cimport floating
from cython.parallel cimport parallel
cimport openmp
from libc.math cimport isfinite
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from nnkernels._blas cimport gemm_rows
from nnkernels._common cimport block_act_backward, row_bias_act, sigmoid
from nnkernels._losses cimport SIGMOID_BCE, SOFTMAX_CE, loss_sum_rows, softmax_rows
from nnkernels._optim cimport adam_flat, rmsprop_flat, sgd_flat

cdef extern from "nk_sync.h":
    void nk_team_init(nk_team* t) noexcept nogil
    void nk_team_done(nk_team* t) noexcept nogil
    void nk_team_wait(nk_team* t, int64_t target, int64_t spin_ns) noexcept nogil
    bint nk_claim(int64_t* slots, int b, int64_t round) noexcept nogil
    unsigned int nk_flush_denormals() noexcept nogil
    void nk_fp_restore(unsigned int old) noexcept nogil

cdef extern from "nk_affinity.h":
    ctypedef struct nk_pin:
        pass
    int nk_spread_cpus(int* cpus, int threads) noexcept nogil
    void nk_pin_enter(nk_pin* pin, const int* cpus, int n, int tid) noexcept nogil
    void nk_pin_leave(nk_pin* pin) noexcept nogil

cdef enum:
    # Column blocks start at multiples of 64 bytes (OpenBLAS's kernels work on
    # 16 floats / 8 doubles at a time along this dimension).
    ALIGN_BYTES = 64
    PARAM_ALIGN = 64   # elements: blocks of the flat update


cdef int col_blocks(Py_ssize_t n, Py_ssize_t align, Py_ssize_t flops,
                    Py_ssize_t block_flops, int most) noexcept nogil:
    cdef Py_ssize_t units = (n + align - 1) // align
    cdef Py_ssize_t blocks = flops // block_flops
    if blocks > most:
        blocks = most
    if blocks > units:
        blocks = units
    return <int>(blocks if blocks > 1 else 1)


cdef inline void _part(Py_ssize_t n, Py_ssize_t b, Py_ssize_t blocks, Py_ssize_t align,
                       Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """Block b of `blocks` contiguous blocks of [0, n), starting at multiples of
    align, as equal as the alignment allows (a block may be empty)."""
    cdef Py_ssize_t units = (n + align - 1) // align
    lo[0] = (units * b // blocks) * align
    hi[0] = (units * (b + 1) // blocks) * align
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


cdef struct Round:
    Py_ssize_t index      # step of the epoch (train) or batch (inference)
    Py_ssize_t lo, rows   # its rows of x (or of order)
    const void* xin       # the batch's inputs, targets, labels
    const void* tin
    const int64_t* lin


cdef void _round(floating* tag, State* p, Py_ssize_t r, Round* rd) noexcept nogil:
    cdef Py_ssize_t d0 = p.dims[0], dl = p.dims[p.n_layers]
    cdef const floating* x = <const floating*>p.x
    cdef const floating* y = <const floating*>p.y
    rd.index = p.first_step + r if p.kind == TRAIN else r
    rd.lo = rd.index * p.batch
    rd.rows = p.n_rows - rd.lo if rd.lo + p.batch > p.n_rows else p.batch
    if p.kind == TRAIN and p.order != NULL:
        rd.xin, rd.tin, rd.lin = p.acts[0], p.tbuf, p.lbuf
    else:
        rd.xin = x + rd.lo * d0
        rd.tin = y + rd.lo * dl if y != NULL else NULL
        rd.lin = p.labels + rd.lo if p.labels != NULL else NULL
    if p.targets_are_inputs:
        rd.tin = rd.xin


cdef void _gather(floating* tag, State* p, Round* rd, int b) noexcept nogil:
    cdef Py_ssize_t i, r0, r1, src, d0 = p.dims[0], dl = p.dims[p.n_layers]
    cdef const floating* x = <const floating*>p.x
    cdef const floating* y = <const floating*>p.y
    _part(rd.rows, b, p.nb_gather, 1, &r0, &r1)
    for i in range(r0, r1):
        src = p.order[rd.lo + i]
        memcpy(<floating*>p.acts[0] + i * d0, x + src * d0, d0 * sizeof(floating))
        if y != NULL:
            memcpy(<floating*>p.tbuf + i * dl, y + src * dl, dl * sizeof(floating))
        if p.labels != NULL:
            p.lbuf[i] = p.labels[src]


cdef void _forward(floating* tag, State* p, Round* rd, int l, int b) noexcept nogil:
    """Columns of block b of acts[l + 1] = act(a_in @ W + b)."""
    cdef Py_ssize_t i, c0, c1, n_in = p.dims[l], n_out = p.dims[l + 1]
    cdef floating* params = <floating*>p.params
    cdef const floating* a_in = <const floating*>(rd.xin if l == 0 else p.acts[l])
    cdef floating* y = <floating*>p.acts[l + 1]
    _part(n_out, b, p.nb_out[l], ALIGN_BYTES // sizeof(floating), &c0, &c1)
    if c1 <= c0:
        return
    gemm_rows(False, False, 1, a_in, n_in, params + p.w_off[l] + c0, n_out, 0,
              y + c0, n_out, rd.rows, c1 - c0, n_in)
    for i in range(rd.rows):
        row_bias_act(y + i * n_out + c0, params + p.b_off[l] + c0, y + i * n_out + c0,
                     c1 - c0, p.act[l])


cdef void _loss(floating* tag, State* p, Round* rd, int b) noexcept nogil:
    """Per-row losses (and hits) into row_loss (row_hit), the gradient of the batch's
    mean loss into g[L - 1], for block b's rows."""
    cdef Py_ssize_t r0, r1, m = p.dims[p.n_layers]
    cdef Py_ssize_t n = p.loss_rows if p.loss_rows > 0 else rd.rows
    cdef double scale = 1.0 / n if p.loss == SOFTMAX_CE else 1.0 / (n * m)
    _part(rd.rows, b, p.nb_rows, 1, &r0, &r1)
    _loss_rows(tag, p, rd, r0, r1, scale)


cdef void _loss_rows(floating* tag, State* p, Round* rd, Py_ssize_t r0, Py_ssize_t r1,
                     double scale) noexcept nogil:
    """Rows r0..r1-1: each row's loss into row_loss (its hit into row_hit), the
    gradient rows of the mean loss (times `scale`) into g[L - 1]."""
    cdef Py_ssize_t i, m = p.dims[p.n_layers]
    cdef const floating* z = <floating*>p.acts[p.n_layers]
    for i in range(r0, r1):
        p.row_loss[i] = loss_sum_rows(p.loss, z, m, <const floating*>rd.tin, m, rd.lin,
                                      <floating*>p.g[p.n_layers - 1], m, i, i + 1, m,
                                      scale)
        if p.loss == SOFTMAX_CE:
            p.row_hit[i] = _argmax(z + i * m, m) == rd.lin[i]


cdef void _reduce(State* p, Round* rd) noexcept nogil:
    """The batch's losses and hits summed in row order: the step's mean (train) or
    the running totals (evaluate)."""
    cdef Py_ssize_t i
    cdef double total = 0
    cdef int64_t hits = 0
    for i in range(rd.rows):
        total += p.row_loss[i]
        if p.loss == SOFTMAX_CE:
            hits += p.row_hit[i]
    if p.kind == EVALUATE:
        p.total_loss += total
        p.total_hits += hits
        return
    total = total / rd.rows if p.loss == SOFTMAX_CE else total / (rd.rows * p.dims[p.n_layers])
    p.step_loss[rd.index - p.first_step] = total
    p.step_hits[rd.index - p.first_step] = hits
    if not isfinite(total):
        p.stop = 1


cdef void _backward(floating* tag, State* p, Round* rd, int l, int b, int tid) noexcept nogil:
    """Block b's columns of layer l: dz = g * act'(y) in place, db = column sums of dz,
    dW[:, c0:c1] = a_in^T dz[:, c0:c1]."""
    cdef Py_ssize_t j, c0, c1, n_in = p.dims[l], n_out = p.dims[l + 1]
    cdef floating* grads = <floating*>p.grads
    cdef double* acc = p.acc + tid * p.max_width
    cdef const floating* a_in = <const floating*>(rd.xin if l == 0 else p.acts[l])
    cdef floating* g = <floating*>p.g[l]
    _part(n_out, b, p.nb_out[l], ALIGN_BYTES // sizeof(floating), &c0, &c1)
    if c1 <= c0:
        return
    memset(acc, 0, (c1 - c0) * sizeof(double))
    block_act_backward(g + c0, n_out, <floating*>p.acts[l + 1] + c0, n_out, g + c0, n_out,
                       acc, rd.rows, c1 - c0, p.act[l])
    for j in range(c1 - c0):
        grads[p.b_off[l] + c0 + j] = <floating>acc[j]
    gemm_rows(True, False, 1, a_in, n_in, g + c0, n_out, 0, grads + p.w_off[l] + c0,
              n_out, n_in, c1 - c0, rd.rows)


cdef void _input_grad(floating* tag, State* p, Round* rd, int l, int b) noexcept nogil:
    """Block b's columns of dX = dz W^T, the gradient of layer l's input."""
    cdef Py_ssize_t c0, c1, n_in = p.dims[l], n_out = p.dims[l + 1]
    _part(n_in, b, p.nb_in[l], ALIGN_BYTES // sizeof(floating), &c0, &c1)
    if c1 > c0:
        gemm_rows(False, True, 1, <floating*>p.g[l], n_out,
                  <floating*>p.params + p.w_off[l] + c0 * n_out, n_out, 0,
                  <floating*>p.g[l - 1] + c0, n_in, rd.rows, c1 - c0, n_out)


cdef void _update(floating* tag, State* p, Round* rd, int b) noexcept nogil:
    cdef Py_ssize_t lo, hi
    cdef long step = p.step if p.kind == UPDATE else p.step + (rd.index - p.first_step) + 1
    cdef floating* w = <floating*>p.params
    cdef floating* g = <floating*>p.grads
    cdef floating* s1 = <floating*>p.state1
    cdef floating* s2 = <floating*>p.state2
    _part(p.n_params, b, p.nb_update, PARAM_ALIGN, &lo, &hi)
    if hi <= lo or p.stop:
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


cdef void _infer_rows(floating* tag, State* p, Round* rd, int b) noexcept nogil:
    """Block b's rows through every layer, then their output (predict) or their
    losses and hits (evaluate). Rows do not depend on each other: no waiting between
    layers, and each weight matrix is read by every block (BLAS packs it per block)."""
    cdef Py_ssize_t r0, r1, i, l, n_in, n_out, dl = p.dims[p.n_layers]
    cdef floating* params = <floating*>p.params
    cdef const floating* a_in
    cdef floating* y
    cdef floating* out
    cdef floating* z = <floating*>p.acts[p.n_layers]
    cdef double scale
    _part(rd.rows, b, p.nb_infer, 1, &r0, &r1)
    if r1 <= r0:
        return
    a_in = <const floating*>rd.xin + r0 * p.dims[0]
    for l in range(p.n_layers):
        n_in, n_out = p.dims[l], p.dims[l + 1]
        y = <floating*>p.acts[l + 1] + r0 * n_out
        gemm_rows(False, False, 1, a_in, n_in, params + p.w_off[l], n_out, 0, y, n_out,
                  r1 - r0, n_out, n_in)
        for i in range(r1 - r0):
            row_bias_act(y + i * n_out, params + p.b_off[l], y + i * n_out, n_out,
                         p.act[l])
        a_in = y
    if p.kind == PREDICT:
        out = <floating*>p.out + (rd.lo + r0) * dl
        if p.has_loss and p.loss == SOFTMAX_CE:
            softmax_rows(z + r0 * dl, dl, out, dl, r1 - r0, dl, 1)
        elif p.has_loss and p.loss == SIGMOID_BCE:
            for i in range((r1 - r0) * dl):
                out[i] = sigmoid(z[r0 * dl + i])
        else:
            memcpy(out, z + r0 * dl, (r1 - r0) * dl * sizeof(floating))
        return
    scale = 1.0 / rd.rows if p.loss == SOFTMAX_CE else 1.0 / (rd.rows * dl)
    _loss_rows(tag, p, rd, r0, r1, scale)


cdef void _block(floating* tag, State* p, Round* rd, Phase* ph, int b, int tid) noexcept nogil:
    if ph.kind == GATHER:
        _gather(tag, p, rd, b)
    elif ph.kind == FORWARD:
        _forward(tag, p, rd, ph.layer, b)
    elif ph.kind == LOSS:
        _loss(tag, p, rd, b)
    elif ph.kind == REDUCE or ph.kind == EVAL_REDUCE:
        _reduce(p, rd)
    elif ph.kind == BACKWARD:
        _backward(tag, p, rd, ph.layer, b, tid)
    elif ph.kind == INPUT_GRAD:
        _input_grad(tag, p, rd, ph.layer, b)
    elif ph.kind == UPDATE_PARAMS:
        _update(tag, p, rd, b)
    else:
        _infer_rows(tag, p, rd, b)


cdef void _add(State* p, PhaseKind kind, int layer, int blocks) noexcept nogil:
    cdef Phase* ph = &p.phases[p.n_phases]
    ph.kind, ph.layer, ph.blocks = kind, layer, blocks
    ph.first = 0 if p.n_phases == 0 else p.phases[p.n_phases - 1].first + p.phases[p.n_phases - 1].blocks
    p.n_phases += 1


cdef Py_ssize_t _program(State* p) noexcept nogil:
    """The phases of one round of this call; returns the number of rounds."""
    cdef int l
    p.n_phases = 0
    if p.kind == UPDATE:
        _add(p, UPDATE_PARAMS, 0, p.nb_update)
        return 1
    if p.kind != TRAIN:
        _add(p, INFER_ROWS, 0, p.nb_infer)
        if p.kind == EVALUATE:
            _add(p, EVAL_REDUCE, 0, 1)
        return (p.n_rows + p.batch - 1) // p.batch
    if p.order != NULL:
        _add(p, GATHER, 0, p.nb_gather)
    for l in range(p.n_layers):
        _add(p, FORWARD, l, p.nb_out[l])
    _add(p, LOSS, 0, p.nb_rows)
    _add(p, REDUCE, 0, 1)
    for l in range(p.n_layers - 1, -1, -1):
        _add(p, BACKWARD, l, p.nb_out[l])
        if l > 0:
            _add(p, INPUT_GRAD, l, p.nb_in[l])
    if p.apply_update:
        _add(p, UPDATE_PARAMS, 0, p.nb_update)
    return p.n_steps


cdef void _work(floating* tag, State* p, Py_ssize_t rounds, int tid, int team) noexcept nogil:
    cdef unsigned int fp = nk_flush_denormals()
    cdef nk_pin pin
    cdef Py_ssize_t r
    cdef int k, b, own0, own1
    cdef int64_t target = 0, round_id
    cdef Round rd
    cdef Phase* ph
    nk_pin_enter(&pin, p.cpus, p.n_cpus, tid)
    for r in range(rounds):
        round_id = p.rounds + r + 1
        nk_team_wait(&p.team, target, p.spin_ns)   # the round before is done everywhere
        if p.stop:
            break
        _round(tag, p, r, &rd)
        for k in range(p.n_phases):
            ph = &p.phases[k]
            if k > 0:
                nk_team_wait(&p.team, target, p.spin_ns)
            own0, own1 = ph.blocks * tid // team, ph.blocks * (tid + 1) // team
            for b in range(own0, own1):
                if nk_claim(p.claimed + ph.first, b, round_id):
                    _block(tag, p, &rd, ph, b, tid)
                    nk_team_done(&p.team)
            for b in range(ph.blocks - 1, -1, -1):
                if (b < own0 or b >= own1) and nk_claim(p.claimed + ph.first, b, round_id):
                    _block(tag, p, &rd, ph, b, tid)
                    nk_team_done(&p.team)
            target += ph.blocks
    nk_pin_leave(&pin)
    nk_fp_restore(fp)


cdef void run_team(floating* tag, State* p, int threads) noexcept nogil:
    cdef Py_ssize_t r, rounds = _program(p)
    cdef int k, widest = 1
    nk_team_init(&p.team)
    p.stop = 0
    p.total_loss, p.total_hits = 0, 0
    for k in range(p.n_phases):
        if p.phases[k].blocks > widest:
            widest = p.phases[k].blocks
    # More threads than the widest phase has blocks would only wait (and, on a busy
    # machine, hold the call's end until the operating system runs them).
    if threads > widest:
        threads = widest
    if threads > p.max_threads:
        threads = p.max_threads
    p.n_cpus = nk_spread_cpus(p.cpus, threads) if p.spread and threads > 1 else 0
    if threads <= 1:
        _work(tag, p, rounds, 0, 1)
    else:
        with parallel(num_threads=threads):
            _work(tag, p, rounds, openmp.omp_get_thread_num(),
                  openmp.omp_get_num_threads())
    # A stop ends the call after the round whose loss was not finite: its update was
    # skipped, and no thread starts the next.
    p.steps_done = rounds
    if p.stop and p.kind == TRAIN:
        p.steps_done = 0
        for r in range(rounds):
            if not isfinite(p.step_loss[r]):
                p.steps_done = r
                break
    p.rounds += rounds + 1
