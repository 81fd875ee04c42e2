"""The one home of the numba options used by every kernel of the package.

Every compiled function of :mod:`simulator` is decorated with one of

* :func:`jit` -- ``numba.njit(cache=True)``: a serial kernel;
* :func:`jit_parallel` -- ``numba.njit(parallel=True, cache=True)``: a kernel
  whose outer loop is a :data:`prange` over thread blocks;
* :func:`jit_inline` -- ``numba.njit(inline="always", cache=True)``: a helper
  inlined into its callers at the numba IR level, so that a call in an inner
  loop costs nothing (``_deposit``, ``_bin_of``, the random-number steps).

and may call :func:`prefetch`, a cache hint that changes no result.

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

    def prefetch(arr: Any, i: Any) -> None:
        """Cache hint (JIT disabled: nothing to do)."""
        return None
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

    from llvmlite import ir as _ir
    from numba.core import cgutils as _cg
    from numba.core import types as _ty
    from numba.extending import intrinsic as _intrinsic

    @_intrinsic
    def prefetch(typingctx, arr, i):
        """``prefetch(arr, i)`` in a kernel: ask the CPU to bring the cache line of
        ``arr[i]`` (1-D array, integer i) into L1 ahead of use (x86 ``prefetcht0``).

        A hint only: it never faults, reads nothing into the program and changes
        no result, so a kernel can issue it for data it *may* need a few hundred
        nanoseconds later (the resonant kernel: the coupling row of a proposal
        drawn ahead of time, docs/resonant.md §4.3).
        """
        if not (isinstance(arr, _ty.Array) and arr.ndim == 1 and isinstance(i, _ty.Integer)):
            return None
        sig = _ty.void(arr, i)

        def codegen(context, builder, signature, args):
            aryty, ity = signature.args
            ary = context.make_array(aryty)(context, builder, args[0])
            idx = context.cast(builder, args[1], ity, _ty.intp)
            ptr = _cg.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=False, boundscheck=False)
            i8p = _ir.IntType(8).as_pointer()
            i32 = _ir.IntType(32)
            # the intrinsic's name carries its pointer type: "p0i8" for the typed pointers of
            # older LLVM (numba 0.59's LLVM 14), which newer LLVM upgrades to "p0" on parsing
            fn = _cg.get_or_insert_function(builder.module, _ir.FunctionType(_ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch." + i8p.intrinsic_name)
            # (address, read, high temporal locality, data cache)
            builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
            return context.get_dummy_value()

        return sig, codegen


def num_threads() -> int:
    """numba's thread count (NUMBA_NUM_THREADS or the number of cores); 1 without JIT."""
    if DISABLED:
        return 1
    import numba

    return int(numba.get_num_threads())
