"""The fixed-rate dynamics: initial state and the dot pass (docs/model.md §3).

With fixed rates every dot is an independent Markov chain, so the simulation
advances *dot by dot* through a chunk of simulated time (t_a, t_b], each dot
drawing exact exponential waiting times from its own stream. This streams
through memory in lattice order and makes the event history of a dot
independent of how the run is chunked.

A probe p only needs its phase phi_p(t) = int_0^t (eps_p - eps0_p) dt' at the
*sample times* the estimators use. Energies are piecewise constant, so phi is
exact: an event at t_e that changes level j by dn (+-1) shifts eps_p by
w = U_pj dn and adds w (t_s - t_e) to phi_p at the next sample time t_s. The
dot pass therefore only *bins* each event's contribution into the interval
between consecutive sample times (:class:`~simulator.kernels.state.Bins`);
:func:`simulator.kernels.estimate.reconstruct_and_estimate` then walks the
samples in time order and rebuilds (phi, eps, own-change count) exactly.

Work per event: O(1) plus one bucketed search and O(#probes coupled to the
changed level) -- independent of the cutoff when probes are few.

Any other dynamics feeds the estimators the same way: it calls
:func:`deposit` for every level change, in any order within a chunk
(docs/architecture.md, "Adding a dynamics").
"""
from __future__ import annotations

import math

import numpy as np

from ..jit import jit, jit_inline, jit_parallel, prange
from ..rng import seed_streams, to_unit, xoro_next
from .state import FLIP, HOP  # noqa: F401  (re-exported kind codes)


@jit
def init_dots(dyn, key, st):
    """Draw the stationary initial state of every dot and its first event time.

    flip: each level Bernoulli(1/2). hop: a uniformly random n-subset of the M
    levels (partial Fisher-Yates on ``perm``; slots [0, n) hold the occupied
    levels). Then t_next = Exp(rate). All draws come from the dot's stream.
    ``dyn`` is a :class:`DotRates`, ``st`` the :class:`DotState` to fill.
    """
    kind = dyn.kind
    M = dyn.M
    n_part = dyn.n_part
    rates = dyn.rates
    rng = st.rng
    occ = st.occ
    perm = st.perm
    t_next = st.t_next
    n_dots = rates.shape[0]
    seed_streams(key, n_dots, rng)
    for I in range(n_dots):
        s0 = rng[I, 0]
        s1 = rng[I, 1]
        base = I * M
        for a in range(M):
            perm[base + a] = a
            occ[base + a] = 0
        if kind == FLIP:
            for a in range(M):
                x, s0, s1 = xoro_next(s0, s1)
                occ[base + a] = 1 if to_unit(x) < 0.5 else 0
        else:
            for s in range(n_part):
                x, s0, s1 = xoro_next(s0, s1)
                r = s + int(to_unit(x) * (M - s))
                if r >= M:
                    r = M - 1
                tmp = perm[base + s]
                perm[base + s] = perm[base + r]
                perm[base + r] = tmp
            for s in range(n_part):
                occ[base + perm[base + s]] = 1
        R = rates[I]
        if R > 0.0:
            x, s0, s1 = xoro_next(s0, s1)
            t_next[I] = -math.log1p(-to_unit(x)) / R
        else:
            t_next[I] = np.inf
        rng[I, 0] = s0
        rng[I, 1] = s1


@jit_inline
def _bin_of(sample_t, n, t, t_a, inv_width, buckets):
    """First sample index b with sample_t[b] > t (t < sample_t[n-1]).

    O(1) on average: start from the bucket of t and correct by scanning; the
    answer is unique, so the table only affects speed, never the result.
    """
    g = int((t - t_a) * inv_width)
    if g < 0:
        g = 0
    elif g >= buckets.shape[0]:
        g = buckets.shape[0] - 1
    b = buckets[g]
    while b > 0 and sample_t[b - 1] > t:
        b -= 1
    while sample_t[b] <= t:
        b += 1
    return b


@jit_inline
def deposit(l, dn, t, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a, inv_width, buckets,
            dEP, dC):
    """Bin the effect of level l changing by dn at time t on the probes in [plo, phi).

    The arguments are the fields of a :class:`PushTable` (rev_ptr ... probe_of),
    a :class:`SampleGrid` (sample_t, n, t_a, buckets; ``inv_width`` its bucket
    density) and :class:`Bins` (dEP, dC), passed as plain arrays: this runs once
    per event, and reading arrays out of records there costs a reference count
    each time (measured: the dot pass 1.5x slower). Callers unpack their records
    once per chunk or per dot.
    """
    q0 = rev_ptr[l]
    q1 = rev_ptr[l + 1]
    pl = probe_of[l]
    if q0 == q1 and pl < 0:
        return
    b = _bin_of(sample_t, n, t, t_a, inv_width, buckets)
    lead = sample_t[b] - t
    for q in range(q0, q1):
        p = rev_probe[q]
        if p < plo or p >= phi:
            continue
        w = rev_U[q] * dn
        dEP[b, p, 0] += w
        dEP[b, p, 1] += w * lead
    if pl >= plo and pl < phi:
        dC[b, pl] += 1


@jit_inline
def pick_hop(s0, s1, n_part, M):
    """The slots of one hop move, uniformly: an occupied slot a in [0, n_part) and an
    empty slot b in [n_part, M) of a dot's permutation (slots [0, n) hold the
    occupied levels, see :func:`init_dots`). Two draws from the stream (s0, s1);
    returns (a, b, s0, s1). Shared by every dynamics that moves particles."""
    x, s0, s1 = xoro_next(s0, s1)
    a = int(to_unit(x) * n_part)
    if a >= n_part:
        a = n_part - 1
    x, s0, s1 = xoro_next(s0, s1)
    b = n_part + int(to_unit(x) * (M - n_part))
    if b >= M:
        b = M - 1
    return a, b, s0, s1


@jit_inline
def _run_dot(I, t, s0, s1, occ, perm, base, kind, M, n_part, R, plo, phi, rev_ptr, rev_probe, rev_U, probe_of,
             sample_t, n, t_a, inv_width, buckets, dEP, dC):
    """All events of dot I before sample_t[n-1], from state (t, s0, s1) and the dot's
    occupations/permutation stored at occ[base:base+M], perm[base:base+M].
    Plain arrays for the reason given in :func:`deposit`."""
    t_end = sample_t[n - 1]
    lev0 = I * M
    cnt = 0
    while t < t_end:
        if kind == FLIP:
            x, s0, s1 = xoro_next(s0, s1)
            a = int(to_unit(x) * M)
            if a >= M:
                a = M - 1
            dn = 1.0 - 2.0 * occ[base + a]
            occ[base + a] = 1 - occ[base + a]
            deposit(lev0 + a, dn, t, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a,
                    inv_width, buckets, dEP, dC)
        else:
            a, b, s0, s1 = pick_hop(s0, s1, n_part, M)
            la = perm[base + a]
            lb = perm[base + b]
            perm[base + a] = lb
            perm[base + b] = la
            occ[base + la] = 0
            occ[base + lb] = 1
            deposit(lev0 + la, -1.0, t, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a,
                    inv_width, buckets, dEP, dC)
            deposit(lev0 + lb, 1.0, t, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a,
                    inv_width, buckets, dEP, dC)
        cnt += 1
        x, s0, s1 = xoro_next(s0, s1)
        t += -math.log1p(-to_unit(x)) / R
    return t, s0, s1, cnt


@jit_parallel
def advance_dots(dyn, st, snap, blocks, push, grid, bins):
    """Advance every dot through all its events before the chunk's last sample.

    flip: each event toggles one uniformly chosen level of the dot (rate M*Gamma1).
    hop: each event moves a particle from a uniformly chosen occupied level to a
    uniformly chosen empty one (rate n(M-n)*Gamma1; every ordered pair at Gamma1).
    Event contributions are binned into ``bins`` (see the module docstring).

    Threads: block t owns dots [dot_lo[t], dot_hi[t]) and the probes on them,
    [probe_lo[t], probe_hi[t]) (``blocks``, a :class:`DotBlocks`). It walks, in
    increasing dot order, every dot that is ``relevant[t]`` -- its own dots
    (advanced in place in ``st``) and the other dots coupled to its probes
    (re-simulated from the start-of-chunk snapshot ``snap`` in a scratch copy,
    results discarded). Each dot's events come from its own stream, so the
    re-simulation is the same history, and every (bin, probe) cell is summed by
    one thread in dot order: the result is bit-identical for any number of
    blocks. Returns the number of events.
    """
    # Records are unpacked into plain arrays before the parallel loop: numba's
    # parallel pass does not reliably lower writes through arrays held in record
    # fields inside a prange body, and reading fields per event costs reference
    # counts (see deposit). The prange body itself stays in this function: its
    # compiled form (a gufunc with non-aliasing arrays) measured 2x faster than
    # the same loop moved into a separate serial function.
    kind = dyn.kind
    M = dyn.M
    n_part = dyn.n_part
    rates = dyn.rates
    rng = st.rng
    occ = st.occ
    perm = st.perm
    t_next = st.t_next
    events = st.events
    relevant = blocks.relevant
    dot_lo = blocks.dot_lo
    dot_hi = blocks.dot_hi
    probe_lo = blocks.probe_lo
    probe_hi = blocks.probe_hi
    rev_ptr = push.rev_ptr
    rev_probe = push.rev_probe
    rev_U = push.rev_U
    probe_of = push.probe_of
    sample_t = grid.t
    n = grid.n
    t_a = grid.t_a
    buckets = grid.buckets
    dEP = bins.dEP
    dC = bins.dC
    snap_rng = snap.rng
    snap_occ = snap.occ
    snap_perm = snap.perm
    snap_t_next = snap.t_next
    T = relevant.shape[0]
    totals = np.zeros(T, dtype=np.int64)
    t_end = sample_t[n - 1]
    inv_width = (buckets.shape[0] - 1) / (t_end - t_a)
    for blk in prange(T):
        s_occ = np.empty(M, dtype=occ.dtype)
        s_perm = np.empty(M, dtype=perm.dtype)
        plo = probe_lo[blk]
        phi = probe_hi[blk]
        for I in range(rates.shape[0]):
            if not relevant[blk, I]:
                continue
            if I >= dot_lo[blk] and I < dot_hi[blk]:
                t = t_next[I]
                if t >= t_end:
                    continue
                t, s0, s1, cnt = _run_dot(I, t, rng[I, 0], rng[I, 1], occ, perm, I * M, kind, M, n_part,
                                          rates[I], plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n,
                                          t_a, inv_width, buckets, dEP, dC)
                t_next[I] = t
                rng[I, 0] = s0
                rng[I, 1] = s1
                events[I] += cnt
                totals[blk] += cnt
            else:
                t = snap_t_next[I]
                if t >= t_end:
                    continue
                for a in range(M):
                    s_occ[a] = snap_occ[I * M + a]
                    s_perm[a] = snap_perm[I * M + a]
                _run_dot(I, t, snap_rng[I, 0], snap_rng[I, 1], s_occ, s_perm, 0, kind, M, n_part, rates[I],
                         plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a, inv_width, buckets,
                         dEP, dC)
    return totals.sum()
