"""The step plan's state and its team of threads (nnkernels/_steps.pyx); the Plan
class (nnkernels/_plan.pyx) fills the state and calls run_team."""
from cython cimport floating
from libc.stdint cimport int64_t

from nnkernels._common cimport Activation
from nnkernels._losses cimport Loss

cdef extern from "nk_sync.h":
    ctypedef struct nk_team:
        pass

cdef extern from "nk_affinity.h":
    enum: NK_MAX_SPREAD

cdef enum:
    MAX_LAYERS = 32
    MAX_PHASES = 3 * MAX_LAYERS + 4

cdef enum Kind:
    TRAIN = 0
    PREDICT = 1
    EVALUATE = 2
    UPDATE = 3

cdef enum PhaseKind:
    GATHER = 0        # copy the batch's rows (in the epoch's order) into acts[0]
    FORWARD = 1       # a layer's output columns: product, bias, activation
    LOSS = 2          # rows of the loss and of its gradient
    REDUCE = 3        # the step's mean loss and correct count, in row order
    BACKWARD = 4      # a layer's columns: activation gradient, bias and weight gradients
    INPUT_GRAD = 5    # columns of the gradient of a layer's input
    UPDATE_PARAMS = 6 # a block of the flat parameters: the optimizer's update
    EVAL_REDUCE = 7   # add the batch's losses and hits to the totals, in row order
    INFER_ROWS = 8    # rows through the whole network, then its output or its loss

cdef enum OptimizerKind:
    RMSPROP = 0
    SGD = 1
    ADAM = 2

cdef struct Phase:
    PhaseKind kind
    int layer
    int blocks
    Py_ssize_t first     # its blocks' claim slots start here

cdef struct State:
    int n_layers
    Py_ssize_t dims[MAX_LAYERS + 1]
    Activation act[MAX_LAYERS]
    Py_ssize_t w_off[MAX_LAYERS]
    Py_ssize_t b_off[MAX_LAYERS]
    int has_loss
    Loss loss
    Py_ssize_t batch
    Py_ssize_t max_width
    Py_ssize_t n_params
    # how every step is cut: fixed by the shapes
    int nb_out[MAX_LAYERS]       # column blocks of layer l's output (forward, backward)
    int nb_in[MAX_LAYERS]        # column blocks of layer l's input (its gradient)
    int nb_gather, nb_rows, nb_update
    int nb_infer                 # row blocks of an inference batch
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
    double* acc                  # max_threads * max_width: bias-gradient column sums
    int64_t* claimed             # per block: the last round it was claimed for
    int64_t rounds               # rounds run by this plan so far (all calls)
    int max_threads
    int64_t spin_ns              # how long a waiting thread spins before it sleeps
    int spread                   # 1: a call on as many threads as CPUs pins each to one
    int cpus[NK_MAX_SPREAD]      # the CPU of each thread of this call (n_cpus of them)
    int n_cpus
    # the team of this call
    nk_team team
    Phase phases[MAX_PHASES]
    int n_phases
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
    int stop                     # the step that set it had a non-finite loss
    bint apply_update            # 0: gradients only (a data-parallel step)
    Py_ssize_t loss_rows         # > 0: the gradient is of the loss summed over the
                                 # batch divided by loss_rows (rows of the global batch)

# Blocks for a product's n columns (aligned to `align`) of `flops` operations.
cdef int col_blocks(Py_ssize_t n, Py_ssize_t align, Py_ssize_t flops,
                    Py_ssize_t block_flops, int most) noexcept nogil

# Run this call (p.kind, its inputs) with `threads` threads (the caller's and
# threads - 1 more of OpenMP), without the GIL.
cdef void run_team(floating* tag, State* p, int threads) noexcept nogil
