"""Tables built once per run or once per chunk: the push table, the thread
blocks' relevance, the sample-time bucket index (docs/model.md)."""
from __future__ import annotations

import numpy as np

from ..jit import jit
from .state import DotBlocks, PushTable


@jit
def reverse_rows(n_levels, ptr, lev, U, rev_ptr, rev_probe, rev_U):
    """Transpose probe rows (CSR by probe) into CSR by neighbouring level.

    ``rev_ptr`` must have length n_levels + 1 and be zero on entry.
    Within a level the probes stay in increasing order (deterministic sums).
    """
    P = ptr.shape[0] - 1
    for q in range(ptr[P]):
        rev_ptr[lev[q] + 1] += 1
    for j in range(n_levels):
        rev_ptr[j + 1] += rev_ptr[j]
    fill = rev_ptr[:-1].copy()
    for p in range(P):
        for q in range(ptr[p], ptr[p + 1]):
            j = lev[q]
            k = fill[j]
            rev_probe[k] = p
            rev_U[k] = U[q]
            fill[j] = k + 1


def push_table(n_levels: int, ptr: np.ndarray, lev: np.ndarray, U: np.ndarray,
               probes: np.ndarray) -> PushTable:
    """The :class:`PushTable` of probe rows (CSR by probe) over ``n_levels`` levels."""
    rev_ptr = np.zeros(n_levels + 1, dtype=np.int64)
    rev_probe = np.empty(U.shape[0], dtype=np.int64)
    rev_U = np.empty(U.shape[0])
    reverse_rows(n_levels, ptr, lev, U, rev_ptr, rev_probe, rev_U)
    probe_of = np.full(n_levels, -1, dtype=np.int64)
    probe_of[probes] = np.arange(probes.shape[0])
    return PushTable(rev_ptr, rev_probe, rev_U, probe_of)


@jit
def relevance(n_dots, M, push, blocks):
    """relevant[t, I] = 1 if dot I is in block t or one of its levels moves a probe of block t."""
    rev_ptr = push.rev_ptr
    rev_probe = push.rev_probe
    relevant = blocks.relevant
    T = relevant.shape[0]
    for t in range(T):
        for I in range(n_dots):
            if I >= blocks.dot_lo[t] and I < blocks.dot_hi[t]:
                relevant[t, I] = 1
                continue
            hit = 0
            for l in range(I * M, I * M + M):
                for q in range(rev_ptr[l], rev_ptr[l + 1]):
                    p = rev_probe[q]
                    if p >= blocks.probe_lo[t] and p < blocks.probe_hi[t]:
                        hit = 1
                        break
                if hit:
                    break
            relevant[t, I] = hit


def dot_blocks(threads: int, n_dots: int, M: int, probe_dot: np.ndarray, push: PushTable) -> DotBlocks:
    """Partition the dots into ``threads`` contiguous blocks with their probes and relevance."""
    edges = np.linspace(0, n_dots, threads + 1).round().astype(np.int64)
    dot_lo, dot_hi = edges[:-1].copy(), edges[1:].copy()
    blocks = DotBlocks(relevant=np.zeros((threads, n_dots), dtype=np.uint8), dot_lo=dot_lo, dot_hi=dot_hi,
                       probe_lo=np.searchsorted(probe_dot, dot_lo).astype(np.int64),
                       probe_hi=np.searchsorted(probe_dot, dot_hi).astype(np.int64))
    relevance(n_dots, M, push, blocks)
    return blocks


@jit
def bucket_index(sample_t, n, t_a, buckets):
    """Lookup table for :func:`simulator.kernels.dots._bin_of`: buckets[g] = first
    sample index with sample_t > t_a + g * width (width = (t_end - t_a) / (len(buckets) - 1))."""
    G = buckets.shape[0]
    width = (sample_t[n - 1] - t_a) / (G - 1)
    b = 0
    for g in range(G):
        edge = t_a + g * width
        while b < n - 1 and sample_t[b] <= edge:
            b += 1
        buckets[g] = b
