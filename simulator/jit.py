"""The one home of the numba options used by every kernel of the package.

Every compiled function of :mod:`simulator` is decorated with one of

* :func:`jit` -- ``numba.njit(cache=True)``: a serial kernel;
* :func:`jit_parallel` -- ``numba.njit(parallel=True, cache=True)``: a kernel
  whose outer loop is a :data:`prange` over thread blocks;
* :func:`jit_inline` -- ``numba.njit(inline="always", cache=True)``: a helper
  inlined into its callers at the numba IR level, so that a call in an inner
  loop costs nothing (``_deposit``, ``_bin_of``, the random-number steps).

The switch
----------
With the environment variable ``DOTKMC_DISABLE_JIT=1`` (read once, at import)
the decorators return the plain Python functions and :data:`prange` is
``range``: every kernel runs as ordinary Python, which coverage tools and
debuggers can follow. The results are the same numbers (the kernels use only
integer and IEEE double arithmetic that Python reproduces), about a thousand
times slower: keep such runs tiny. See docs/architecture.md.
"""
from __future__ import annotations

import os
from typing import Any, Callable, TypeVar, cast

F = TypeVar("F", bound=Callable)

#: True when ``DOTKMC_DISABLE_JIT=1``: every kernel is plain Python.
DISABLED: bool = os.environ.get("DOTKMC_DISABLE_JIT", "").strip() not in ("", "0")

#: ``numba.prange`` (or ``range`` with the JIT disabled).
prange: Any

if DISABLED:
    prange = range

    def jit(func: F) -> F:
        """Serial kernel (JIT disabled: the function itself)."""
        return func

    def jit_parallel(func: F) -> F:
        """Parallel kernel (JIT disabled: the function itself)."""
        return func

    def jit_inline(func: F) -> F:
        """Inlined helper (JIT disabled: the function itself)."""
        return func
else:
    import numba as _nb

    prange = _nb.prange

    def jit(func: F) -> F:
        """Serial kernel: ``numba.njit(cache=True)``."""
        # a numba dispatcher is called exactly like the function it compiles
        return cast(F, _nb.njit(cache=True)(func))

    def jit_parallel(func: F) -> F:
        """Kernel with a ``prange`` outer loop: ``numba.njit(parallel=True, cache=True)``."""
        return cast(F, _nb.njit(parallel=True, cache=True)(func))

    def jit_inline(func: F) -> F:
        """Helper inlined into its callers: ``numba.njit(inline="always", cache=True)``."""
        return cast(F, _nb.njit(inline="always", cache=True)(func))


def num_threads() -> int:
    """numba's thread count (NUMBA_NUM_THREADS or the number of cores); 1 without JIT."""
    if DISABLED:
        return 1
    import numba

    return int(numba.get_num_threads())
