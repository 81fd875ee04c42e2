"""The typed records the kernels take: NamedTuples of arrays and scalars.

numba compiles a NamedTuple argument to a struct whose fields it reads like
local variables, so grouping arrays this way costs nothing in the inner loops
(checked with tests/benchmarks/bench_events.py) and keeps every kernel's
signature short. Arrays inside a record are mutated in place; scalar fields
are fixed for the record's lifetime.

Evolving records (their arrays are the checkpoint, docs/reliability.md):
:class:`DotState` (fixed-rate dynamics), :class:`ProbeState`,
:class:`Accumulators`, :class:`Trajectory` (``energy``). The others are
tables built once per run (:class:`DotRates`, :class:`PushTable`,
:class:`DotBlocks`, :class:`Batching`) or scratch of one chunk
(:class:`SampleGrid`, :class:`Bins`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

FLIP = 0
HOP = 1


class DotRates(NamedTuple):
    """What drives the fixed-rate dots: kind code (FLIP/HOP), levels per dot M,
    particles per dot (hop; 0 for flip) and the total event rate of each dot."""

    kind: int
    M: int
    n_part: int
    rates: np.ndarray          # (n_dots,) n_tr * Gamma1(I)


class DotState(NamedTuple):
    """Evolving state of the fixed-rate dots: one xoroshiro128++ stream per dot,
    occupations and (hop) the permutation whose first n slots are occupied, the
    next event time and the events so far of every dot."""

    rng: np.ndarray            # (n_dots, 2) uint64
    occ: np.ndarray            # (n_levels,) uint8
    perm: np.ndarray           # (n_levels,) uint8
    t_next: np.ndarray         # (n_dots,)
    events: np.ndarray         # (n_dots,) int64


class PushTable(NamedTuple):
    """Which probes an event of level j moves: CSR by level of the probe rows
    (probes ``rev_probe[rev_ptr[j]:rev_ptr[j+1]]`` with couplings ``rev_U``),
    and the probe index of each level (-1 if it is not a probe)."""

    rev_ptr: np.ndarray
    rev_probe: np.ndarray
    rev_U: np.ndarray
    probe_of: np.ndarray


class SampleGrid(NamedTuple):
    """The sample times of one chunk (t_a, t[n-1]], sorted, with their tag k
    (tau index or a TAG_*) and grid index j, and the lookup table ``buckets``
    of :func:`simulator.kernels.tables.bucket_index`."""

    t: np.ndarray
    k: np.ndarray
    j: np.ndarray
    n: int
    t_a: float
    buckets: np.ndarray


class Bins(NamedTuple):
    """Event contributions binned between consecutive sample times:
    dEP[b, p] = (energy change, phase change) and dC[b, p] = own changes of
    probe p before sample b. Zeroed again by the reconstruction."""

    dEP: np.ndarray            # (n, P, 2)
    dC: np.ndarray             # (n, P) int32


class DotBlocks(NamedTuple):
    """Thread blocks of the dot pass: block t owns dots [dot_lo, dot_hi) and
    probes [probe_lo, probe_hi); relevant[t, I] marks the dots it walks."""

    relevant: np.ndarray
    dot_lo: np.ndarray
    dot_hi: np.ndarray
    probe_lo: np.ndarray
    probe_hi: np.ndarray


class ProbeState(NamedTuple):
    """Per probe: phase phi, energy shift eps = eps - eps0, own-change count."""

    phi: np.ndarray
    eps: np.ndarray
    cnt: np.ndarray


class Accumulators(NamedTuple):
    """Estimator sums (layout in :mod:`simulator.kernels.layout`), the own-change
    counts at the last two grid points of every (tau, probe), per-tau counters,
    the current batch index (``batch[0]``) and ``own_at_batch[b, p]``
    (n_batches + 1, P): probe p's own-change count at the start of batch b (row 0
    is 0; a count covers the events up to the last sample before the boundary),
    the row after the current batch holding its count so far."""

    est: np.ndarray
    cnt1: np.ndarray
    cnt2: np.ndarray
    kstat: np.ndarray
    batch: np.ndarray
    own_at_batch: np.ndarray


class Batching(NamedTuple):
    """Windows and batches: window stride per tau, batch length and count, and
    the per-chunk plan ``flush_nb[c, k]`` filled by
    :func:`simulator.kernels.estimate.batch_plan`."""

    stride: np.ndarray
    t_batch: float
    n_batches: int
    flush_nb: np.ndarray


class Trajectory(NamedTuple):
    """Recorded energies: probe indices, their static energies, energy[i, m]."""

    probes: np.ndarray
    eps0: np.ndarray
    energy: np.ndarray


def arrays_of(record: NamedTuple) -> dict[str, np.ndarray]:
    """The array fields of a record, by name (what a checkpoint saves)."""
    return {name: v for name, v in record._asdict().items() if isinstance(v, np.ndarray)}
