"""Test-session settings.

BLAS thread pools are limited to one thread before numpy is imported: the
exact references diagonalise many small matrices, and on a 2-core machine
a multi-threaded BLAS beside numba's threads oversubscribes the cores (a
512 x 512 eigendecomposition measured 15 s instead of 0.75 s).
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
