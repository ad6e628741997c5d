# Marks this folder as the Cython package `nnkernels`, so that
# `from nnkernels._blas cimport gemm` resolves here and in installed copies.
