/* The C loops of the kernels, declared to Cython by nnkernels/_common.pxd.

   Each family's loops are written once, over the element type NK_T:
     nk_activations_t.h  bias + activation rows, their backward, column sums
     nk_losses_t.h       the MSE row, exp(z - max) with its sum (softmax)
     nk_optim_t.h        RMSProp, SGD, Adam over a chunk of flat arrays
   and compiled here for float (names ending in _f) and double (_d). The scalar
   routines that differ between the two types are in nk_math.h. Cython's fused
   wrappers in _common.pxd are the one place that picks a type's version. */
#ifndef NK_LOOPS_H
#define NK_LOOPS_H

#include "nk_base.h"
#include "nk_math.h"

/* What follows the bias add; Activation in Cython (_activations.pxd's contract). */
typedef enum { NK_IDENTITY = 0, NK_RELU = 1, NK_SIGMOID = 2 } nk_activation;

#define NK_T float
#define NK_SUFFIX f
#include "nk_activations_t.h"
#include "nk_losses_t.h"
#include "nk_optim_t.h"
#undef NK_T
#undef NK_SUFFIX

#define NK_T double
#define NK_SUFFIX d
#include "nk_activations_t.h"
#include "nk_losses_t.h"
#include "nk_optim_t.h"
#undef NK_T
#undef NK_SUFFIX

#endif /* NK_LOOPS_H */
