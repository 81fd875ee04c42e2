"""Resonant dynamics: an exact, deterministic numba engine by thinning in causal order.

The model is that of docs/resonant.md §1: a transition c -> c' of dot I (a flip
of one level, or a hop alpha -> beta) happens at

    W(c -> c') = Gamma1(I) w^2 / (dE^2 + w^2) <= Gamma1(I),

with dE computed from the *current* level energies
eps_l(c) = eps0_l + sum_j U_lj (n_j - nu):

* flip of l: dE = (1 - 2 n_l) eps_l;
* hop alpha -> beta: dE = eps_beta - eps_alpha - U_alpha,beta.

The rates depend on the whole configuration, so the dots are no longer
independent and the dot-by-dot pass of :mod:`simulator.kernels.dots` does not apply.

The scheme (docs/resonant.md §4)
--------------------------------
One Poisson clock proposes transitions at the total bound
R = sum_I n_tr(I) Gamma1(I) (n_tr = M for flip, n(M - n) for hop). A proposal
picks dot I with probability n_tr Gamma1(I) / R (Walker alias table: O(1)),
then one of its n_tr transitions uniformly (flip: a level; hop: an occupied and
an empty level, with the slot layout of :func:`simulator.kernels.dots.init_dots`), and
is accepted with probability w^2/(dE^2 + w^2) from the energies at that instant.
Thinning a Poisson process of rate Gamma1(I) per transition by the acceptance
gives exactly the rate W, because the energies only change at accepted events,
which are processed in time order.

Every level's energy is maintained incrementally: an accepted event that
changes level l by dn adds U_jl dn to eps_j of every neighbour j (CSR table of
*all* levels within the cutoff), O(neighbours) per accepted event. Rounding of
these sums accumulates, so all energies are recomputed from the occupations
after every ``recompute_every`` accepted events, counted globally since t = 0:
a fixed function of the event history, so a run is reproducible whatever its
chunking, and its energies stay accurate to ~1e-15 x |U| x neighbours however
long it runs.

Accepted events are binned on the probes exactly as the fixed-rate dot pass
does (:func:`simulator.kernels.dots.deposit`, into ``dEP``/``dC`` between
consecutive sample times), so :func:`simulator.kernels.estimate.reconstruct_and_estimate`
computes echo and Ramsey unchanged.

Determinism: all random numbers come from one xoroshiro128++ stream whose
state, together with the time of the next proposal (drawn but not yet
processed), the occupations, slot layout, energies and counters, lives in
:class:`ResonantState` and carries over chunk boundaries exactly: a proposal
beyond the chunk end is kept for the next chunk, never redrawn. The result is
therefore bit-identical for any chunking. Draws per proposal, in order: dot
index, alias coin, transition (flip: 1 draw; hop: 2), acceptance, then the
exponential waiting time to the next proposal. Their number is fixed, so the
proposals to come are known before any is accepted or rejected: the kernel
draws them a few proposals ahead, into a small ring, to prefetch the coupling
rows they may need (docs/resonant.md §4.3); the stream state kept at a chunk end
is the one before the draws of the first proposal not processed.

Public functions validate their inputs and take/return plain arrays and
NamedTuples; the jitted kernels behind them are private.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .jit import jit, jit_inline, prefetch
from .kernels.dots import deposit as _deposit
from .kernels.dots import init_dots, pick_hop
from .kernels.state import FLIP, HOP, DotRates, DotState, PushTable
from .kernels.tables import push_table
from .rng import mix64, seed_streams, to_unit, xoro_next

__all__ = ["ResonantTables", "ProbeTables", "ResonantState", "from_model", "probe_tables", "with_touch", "init_state",
           "advance", "recompute_energies", "level_energies", "mean_occupation", "waiting_time_stats",
           "RECOMPUTE_PER_LEVEL"]

# energies are recomputed from the occupations every RECOMPUTE_PER_LEVEL x n_levels
# accepted events: the recomputation costs ~ n_levels x neighbours, so this adds
# ~ neighbours / RECOMPUTE_PER_LEVEL operations per accepted event (a few %), while
# an energy has then seen at most ~ RECOMPUTE_PER_LEVEL x neighbours increments
# since it was exact
RECOMPUTE_PER_LEVEL = 16

# the global proposal stream is seeded from mix64(dynamics key ^ STREAM_TAG), so it
# never coincides with a per-dot stream of simulator.rng.seed_streams
STREAM_TAG = np.uint64(0x5245534F4E414E54)   # "RESONANT"

# counters in ResonantState.counts
C_PROPOSALS, C_ACCEPTED, C_SINCE_RECOMPUTE, C_RECOMPUTES = range(4)

# how many proposals ahead the kernel draws, and prefetches the coupling row an
# accepted event would read (docs/resonant.md §4.3: 4 hides the latency of the
# row, which is mostly outside the CPU caches)
LOOKAHEAD = 4


class ResonantTables(NamedTuple):
    """Static tables of a resonant run (built once by :func:`from_model`).

    kind : FLIP (0) or HOP (1); M : levels per dot; n_part : particles per dot (hop);
    nu : centring of every level; inv_w : 1/w (0 for w = inf: every proposal accepted);
    rate_total : R, the total bound; inv_rate : 1/R (inf when R = 0);
    recompute_every : accepted events between full recomputations of the energies;
    alias_prob, alias_idx : Walker alias table of the dots, weights n_tr Gamma1(I);
    ptr, lev, U : CSR by level of the couplings of every level to every level within
    the cutoff; the first M - 1 entries of the row of level I*M + a are the other
    levels of dot I in increasing order (checked), which gives U_ab of a hop in O(1);
    eps0 : static energy of every level.
    """

    kind: int
    M: int
    n_part: int
    nu: float
    inv_w: float
    rate_total: float
    inv_rate: float
    recompute_every: int
    alias_prob: np.ndarray
    alias_idx: np.ndarray
    ptr: np.ndarray
    lev: np.ndarray
    U: np.ndarray
    eps0: np.ndarray


class ProbeTables(NamedTuple):
    """Which probes an event of level j moves (CSR by level, as the fixed-rate engine's
    ``rev_ptr, rev_probe, rev_U``), the probe index of every level (-1: none), and
    ``touch`` (uint8): 1 where an event of the level moves some probe (a compact
    table that stays in cache, so the rest of an event's probe work is skipped at
    once for most levels)."""

    rev_ptr: np.ndarray
    rev_probe: np.ndarray
    rev_U: np.ndarray
    probe_of: np.ndarray
    touch: np.ndarray


class ResonantState(NamedTuple):
    """Everything that evolves (arrays, modified in place by :func:`advance`).

    occ, perm : (n_levels,) uint8, occupations and the per-dot slot layout of
        :func:`simulator.kernels.dots.init_dots` (hop: slots [0, n) hold the occupied levels);
    eps : (n_levels,) current level energies eps_l(c) (absolute, eps0 included);
    rng : (2,) uint64, the global proposal stream;
    clock : (2,) float64, [time of the next proposal (drawn, not yet processed),
        end of the last advanced chunk];
    counts : (4,) int64, [proposals, accepted events, accepted since the last
        recomputation of the energies, recomputations];
    accepted : (n_dots,) int64, accepted events per dot;
    own : (P,) int64, own transitions of every probe level;
    wt_last, wt_n, wt_sum, wt_sq : (P,), time of the probe's last own transition
        (-1: none yet) and the count, sum and sum of squares of the waiting times
        between its own transitions;
    level_stat : (n_levels, 2) float64, time of the level's last change and the
        integral of its occupation from 0 to then (stationarity diagnostics; side by
        side, so one cache line per event).
    """

    occ: np.ndarray
    perm: np.ndarray
    eps: np.ndarray
    rng: np.ndarray
    clock: np.ndarray
    counts: np.ndarray
    accepted: np.ndarray
    own: np.ndarray
    wt_last: np.ndarray
    wt_n: np.ndarray
    wt_sum: np.ndarray
    wt_sq: np.ndarray
    level_stat: np.ndarray


# ---------------------------------------------------------------------------
# tables (Python)
# ---------------------------------------------------------------------------
def alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table: index k = floor(n u1); keep k if u2 < prob[k], else alias[k].

    Deterministic (plain float64 arithmetic in a fixed order). Entries of zero weight
    are never returned.
    """
    w = np.asarray(weights, dtype=float)
    n = w.size
    total = w.sum()
    if not (n > 0 and total > 0):
        raise ValueError("alias_table needs at least one positive weight")
    scaled = w * (n / total)
    prob = np.ones(n)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s = small.pop()
        g = large[-1]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            large.pop()
            small.append(g)
    # leftovers are 1 up to rounding; a leftover of zero weight must never be kept
    for i in small + large:
        prob[i] = 1.0 if w[i] > 0 else 0.0
        if w[i] == 0:
            alias[i] = int(np.argmax(w))
    return prob, alias


def from_model(model, w: float, recompute_every: int | None = None) -> ResonantTables:
    """Build the tables of a resonant run of ``model`` (a :class:`simulator.Model`).

    Parameters
    ----------
    model : the lattice, couplings, static energies and per-dot bounds Gamma1(I).
    w : resonance width, a float > 0 (``inf``: fixed rates, every proposal accepted).
    recompute_every : accepted events between full recomputations of the energies
        (default RECOMPUTE_PER_LEVEL x n_levels).

    Raises
    ------
    ValueError
        w not > 0, a coupling table too large, or no positive rate.
    """
    from .model import build_rows

    w = float(w)
    if not w > 0:   # also refuses nan
        raise ValueError(f"w (the resonance width) must be a number > 0 or inf, got {w!r}")
    n_levels = model.n_levels
    if n_levels >= 2**31:
        raise ValueError(f"{n_levels} levels: the resonant engine indexes levels with int32 (limit 2^31)")
    M = model.M
    kind = FLIP if model.kind == "flip" else HOP
    n_part = int(model.n_particles or 0)
    rows = build_rows(model, np.arange(n_levels, dtype=np.int64))
    ptr = rows.ptr.astype(np.int64)
    lev = rows.level.astype(np.int32)
    # the first M - 1 entries of every row are the other levels of the same dot
    # (offset 0 comes first in model.neighbour_offsets), which hop moves rely on
    if M > 1:
        if np.any(np.diff(ptr) < M - 1):
            raise ValueError("coupling rows shorter than the dot: same-dot pairs missing")
        k = np.arange(M - 1)
        a = np.arange(n_levels)[:, None] % M
        expect = (np.arange(n_levels)[:, None] // M) * M + np.where(k[None, :] < a, k[None, :], k[None, :] + 1)
        got = lev[ptr[:-1, None] + k[None, :]]
        if not np.array_equal(got, expect):
            raise ValueError("coupling rows do not start with the levels of the same dot")
    bounds = model.n_tr * np.asarray(model.gamma1, dtype=float)
    R = float(bounds.sum())
    if R > 0:
        prob, alias = alias_table(bounds)
        inv_rate = 1.0 / R
    else:   # nothing ever moves
        prob, alias = np.ones(model.n_dots), np.arange(model.n_dots, dtype=np.int64)
        inv_rate = math.inf
    if recompute_every is None:
        recompute_every = RECOMPUTE_PER_LEVEL * n_levels
    recompute_every = int(recompute_every)
    if recompute_every < 1:
        raise ValueError(f"recompute_every must be an integer >= 1, got {recompute_every}")
    return ResonantTables(kind=kind, M=int(M), n_part=n_part, nu=float(model.nu),
                          inv_w=0.0 if math.isinf(w) else 1.0 / w, rate_total=R, inv_rate=inv_rate,
                          recompute_every=recompute_every, alias_prob=prob, alias_idx=alias,
                          ptr=ptr, lev=lev, U=rows.U.astype(float),
                          eps0=model.static_energies(np.arange(n_levels, dtype=np.int64)))


def probe_tables(model) -> ProbeTables:
    """The probe tables of ``model``, built exactly as :class:`simulator.engine.Simulation` does."""
    rows = model.coupling_rows()
    return with_touch(push_table(model.n_levels, rows.ptr, rows.level, rows.U, model.probes))


def with_touch(push: PushTable) -> ProbeTables:
    """A run's :class:`PushTable` plus ``touch``: 1 for the levels whose change any probe sees."""
    touch = ((np.diff(push.rev_ptr) > 0) | (push.probe_of >= 0)).astype(np.uint8)
    return ProbeTables(rev_ptr=push.rev_ptr, rev_probe=push.rev_probe, rev_U=push.rev_U, probe_of=push.probe_of,
                       touch=touch)


# ---------------------------------------------------------------------------
# state
# ---------------------------------------------------------------------------
@jit
def _level_energies(tb, occ, out):
    """out_l = eps0_l + sum_j U_lj (n_j - nu), in row order (the reference summation)."""
    lev = tb.lev
    U = tb.U
    nu = tb.nu
    for l in range(out.shape[0]):
        acc = tb.eps0[l]
        for q in range(tb.ptr[l], tb.ptr[l + 1]):
            acc += U[q] * (occ[lev[q]] - nu)
        out[l] = acc


def level_energies(tables: ResonantTables, occ: np.ndarray) -> np.ndarray:
    """Level energies eps_l(c) of every level for occupations ``occ`` (recomputed from scratch)."""
    occ = np.asarray(occ)
    if occ.shape != tables.eps0.shape:
        raise ValueError(f"occ must have shape {tables.eps0.shape}, got {occ.shape}")
    out = np.empty(tables.eps0.shape[0])
    _level_energies(tables, occ.astype(np.uint8), out)
    return out


def init_state(tables: ResonantTables, n_dots: int, n_probes: int, key) -> ResonantState:
    """The stationary initial state and the first proposal time.

    Occupations and slots are drawn by :func:`simulator.kernels.dots.init_dots` from the
    per-dot streams of ``key`` (the same initial state as a fixed-rate run with that
    dynamics key); the global proposal stream is seeded from mix64(key ^ STREAM_TAG).
    The uniform state is stationary for resonant rates too (docs/resonant.md §1), so
    no burn-in is needed.
    """
    n_levels = tables.eps0.shape[0]
    if n_dots * tables.M != n_levels:
        raise ValueError(f"n_dots = {n_dots} x M = {tables.M} does not match the tables' {n_levels} levels")
    if n_probes < 0:
        raise ValueError(f"n_probes must be >= 0, got {n_probes}")
    key = np.uint64(key)
    occ = np.zeros(n_levels, dtype=np.uint8)
    perm = np.zeros(n_levels, dtype=np.uint8)
    scratch_rng = np.zeros((n_dots, 2), dtype=np.uint64)
    scratch_t = np.zeros(n_dots)
    # init_dots also draws a first event time per dot from each dot stream: unused here
    init_dots(DotRates(tables.kind, tables.M, tables.n_part, np.ones(n_dots)), key,
              DotState(scratch_rng, occ, perm, scratch_t, np.zeros(n_dots, dtype=np.int64)))
    eps = np.empty(n_levels)
    _level_energies(tables, occ, eps)
    g = np.zeros((1, 2), dtype=np.uint64)
    seed_streams(np.uint64(mix64(key ^ STREAM_TAG)), 1, g)
    rng = g[0].copy()
    clock = np.zeros(2)
    clock[0] = _first_time(rng, tables.inv_rate)
    return ResonantState(occ=occ, perm=perm, eps=eps, rng=rng, clock=clock, counts=np.zeros(4, dtype=np.int64),
                         accepted=np.zeros(n_dots, dtype=np.int64), own=np.zeros(n_probes, dtype=np.int64),
                         wt_last=np.full(n_probes, -1.0), wt_n=np.zeros(n_probes, dtype=np.int64),
                         wt_sum=np.zeros(n_probes), wt_sq=np.zeros(n_probes),
                         level_stat=np.zeros((n_levels, 2)))


@jit
def _first_time(rng, inv_rate):
    if math.isinf(inv_rate):
        return np.inf
    x, s0, s1 = xoro_next(rng[0], rng[1])
    rng[0] = s0
    rng[1] = s1
    return -math.log1p(-to_unit(x)) * inv_rate


# ---------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------
@jit_inline
def _change(l, dn, t, ptr, lev, U, eps, level_stat, touch, rev_ptr, rev_probe, rev_U, probe_of, own, wt_last,
            wt_n, wt_sum, wt_sq, sample_t, n, t_a, inv_width, buckets, dEP, dC):
    """Level l changes by dn at time t: neighbours' energies, probe bins, diagnostics.

    Plain arrays, not the NamedTuples: every array taken out of a tuple inside the
    event loop costs a reference-count update (measured: ~5x slower per event)."""
    # unsigned indices: numba then emits no negative-index wraparound code, which
    # made this, the innermost loop, ~4x longer in instructions
    for q in range(np.uint64(ptr[l]), np.uint64(ptr[l + 1])):
        eps[np.uint64(lev[q])] += U[q] * dn
    # add the occupied interval if the level was occupied (dn = -1), without a
    # branch: the sign of dn is a coin flip, and a mispredicted branch cost more
    # than the rest of this bookkeeping; x * 1.0 and acc + 0.0 are exact (acc >= 0),
    # so the sums are those of `if dn < 0: acc += t - last`
    level_stat[l, 1] += (t - level_stat[l, 0]) * (0.5 - 0.5 * dn)
    level_stat[l, 0] = t
    if touch[l] == 0:
        return
    # the same binning as the fixed-rate dot pass (shared code, so the same bins)
    _deposit(l, dn, t, 0, dEP.shape[1], rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a, inv_width,
             buckets, dEP, dC)
    p = probe_of[l]
    if p >= 0:
        own[p] += 1
        last = wt_last[p]
        if last >= 0.0:
            d = t - last
            wt_n[p] += 1
            wt_sum[p] += d
            wt_sq[p] += d * d
        wt_last[p] = t


@jit_inline
def _prefetch_level(l, eps, stat_flat, ptr, lev, U):
    """Cache hints for an event of level l: its energy, its occupation integral and
    its whole coupling row (lev: 16 entries a 64-byte line, U: 8)."""
    prefetch(eps, l)
    prefetch(stat_flat, 2 * l)
    q0 = ptr[l]
    q1 = ptr[l + 1]
    for q in range(q0, q1, 16):
        prefetch(lev, q)
    for q in range(q0, q1, 8):
        prefetch(U, q)


@jit_inline
def _draw(r0, r1, nd, alias_prob, alias_idx, kind, npart, M):
    """All draws of one proposal from the stream (r0, r1), in the order of the module
    docstring: (dot, slot a, slot b, acceptance uniform, waiting-time uniform, r0, r1).
    Flip: a is the level's slot (b = 0); hop: a occupied, b empty (:func:`pick_hop`)."""
    x, r0, r1 = xoro_next(r0, r1)
    I = int(to_unit(x) * nd)
    if I >= nd:
        I = nd - 1
    x, r0, r1 = xoro_next(r0, r1)
    if to_unit(x) >= alias_prob[I]:
        I = alias_idx[I]
    if kind == FLIP:
        x, r0, r1 = xoro_next(r0, r1)
        a = int(to_unit(x) * M)
        if a >= M:
            a = M - 1
        b = 0
    else:
        a, b, r0, r1 = pick_hop(r0, r1, npart, M)
    x, r0, r1 = xoro_next(r0, r1)
    u = to_unit(x)
    x, r0, r1 = xoro_next(r0, r1)
    return I, a, b, u, to_unit(x), r0, r1


@jit
def _advance(tb, st, pt, sample_t, n, t_a, buckets, dEP, dC):
    """All proposals before sample_t[n-1], in time order. Returns accepted events.

    The coupling table (n_levels x neighbours entries) is far larger than the
    CPU caches, and each accepted event reads one random row of it. The draws of
    a proposal do not depend on the state, so they are made LOOKAHEAD proposals
    early into a ring (with the stream state before each, which is what a chunk
    end keeps), and the row each may need is prefetched then. The draws and their
    order are those of drawing each proposal when it is processed.
    """
    t_end = sample_t[n - 1]
    inv_width = (buckets.shape[0] - 1) / (t_end - t_a)
    t = st.clock[0]
    M = tb.M
    npart = tb.n_part
    nd = tb.alias_prob.shape[0]
    inv_w = tb.inv_w
    inv_rate = tb.inv_rate
    occ = st.occ
    perm = st.perm
    eps = st.eps
    accepted = st.accepted
    level_stat = st.level_stat
    own = st.own
    wt_last = st.wt_last
    wt_n = st.wt_n
    wt_sum = st.wt_sum
    wt_sq = st.wt_sq
    ptr = tb.ptr
    lev = tb.lev
    U = tb.U
    alias_prob = tb.alias_prob
    alias_idx = tb.alias_idx
    kind = tb.kind
    recompute_every = tb.recompute_every
    touch = pt.touch
    rev_ptr = pt.rev_ptr
    rev_probe = pt.rev_probe
    rev_U = pt.rev_U
    probe_of = pt.probe_of
    n_prop = 0
    n_acc = 0
    since = st.counts[C_SINCE_RECOMPUTE]
    n_rec = 0
    K = LOOKAHEAD
    stat_flat = level_stat.reshape(2 * occ.shape[0])
    ring_dot = np.empty(K, dtype=np.int64)
    ring_a = np.empty(K, dtype=np.int64)
    ring_b = np.empty(K, dtype=np.int64)
    ring_u = np.empty(K)
    ring_w = np.empty(K)
    ring_s0 = np.empty(K, dtype=np.uint64)
    ring_s1 = np.empty(K, dtype=np.uint64)
    r0 = st.rng[0]   # the stream after the draws in the ring
    r1 = st.rng[1]
    for k in range(K):
        ring_s0[k] = r0
        ring_s1[k] = r1
        J, ja, jb, uj, wj, r0, r1 = _draw(r0, r1, nd, alias_prob, alias_idx, kind, npart, M)
        ring_u[k] = uj
        ring_w[k] = wj
        ring_dot[k] = J
        ring_a[k] = ja
        ring_b[k] = jb
    head = 0   # the slot of the proposal at time t
    while t < t_end:
        n_prop += 1
        I = ring_dot[head]
        sa = ring_a[head]
        sb = ring_b[head]
        u = ring_u[head]
        wait_u = ring_w[head]
        # this slot now takes the proposal K ahead; prefetch the row(s) it may change
        # (hop: the levels of the current slot layout, a hint only)
        ring_s0[head] = r0
        ring_s1[head] = r1
        J, ja, jb, uj, wj, r0, r1 = _draw(r0, r1, nd, alias_prob, alias_idx, kind, npart, M)
        ring_u[head] = uj
        ring_w[head] = wj
        ring_dot[head] = J
        ring_a[head] = ja
        ring_b[head] = jb
        head = (head + 1) % K
        if kind == FLIP:
            _prefetch_level(J * M + ja, eps, stat_flat, ptr, lev, U)
        else:
            _prefetch_level(J * M + perm[J * M + ja], eps, stat_flat, ptr, lev, U)
            _prefetch_level(J * M + perm[J * M + jb], eps, stat_flat, ptr, lev, U)
        base = I * M
        if kind == FLIP:
            l = base + sa
            dn = 1.0 - 2.0 * occ[l]
            xe = dn * eps[l] * inv_w
            # accept with probability 1/(1 + xe^2), without a division
            if u * (1.0 + xe * xe) < 1.0:
                occ[l] = 1 - occ[l]
                _change(l, dn, t, ptr, lev, U, eps, level_stat, touch, rev_ptr, rev_probe, rev_U, probe_of, own,
                        wt_last, wt_n, wt_sum, wt_sq, sample_t, n, t_a, inv_width, buckets, dEP, dC)
                accepted[I] += 1
                n_acc += 1
                since += 1
        else:
            la = perm[base + sa]
            lb = perm[base + sb]
            # U_ab: entry lb (skipping la itself) of the same-dot head of row la
            Uab = U[ptr[base + la] + (lb if lb < la else lb - 1)]
            xe = (eps[base + lb] - eps[base + la] - Uab) * inv_w
            if u * (1.0 + xe * xe) < 1.0:
                perm[base + sa] = lb
                perm[base + sb] = la
                occ[base + la] = 0
                occ[base + lb] = 1
                _change(base + la, -1.0, t, ptr, lev, U, eps, level_stat, touch, rev_ptr, rev_probe, rev_U, probe_of,
                        own, wt_last, wt_n, wt_sum, wt_sq, sample_t, n, t_a, inv_width, buckets, dEP, dC)
                _change(base + lb, 1.0, t, ptr, lev, U, eps, level_stat, touch, rev_ptr, rev_probe, rev_U, probe_of,
                        own, wt_last, wt_n, wt_sum, wt_sq, sample_t, n, t_a, inv_width, buckets, dEP, dC)
                accepted[I] += 1
                n_acc += 1
                since += 1
        if since >= recompute_every:
            # drop the rounding accumulated by the increments; counted in accepted
            # events since t = 0, so at the same events however the run is chunked
            _level_energies(tb, occ, eps)
            since = 0
            n_rec += 1
        t += -math.log1p(-wait_u) * inv_rate
    st.clock[0] = t
    st.clock[1] = t_end
    # the stream as it stands before the draws of the first proposal not processed
    st.rng[0] = ring_s0[head]
    st.rng[1] = ring_s1[head]
    st.counts[C_PROPOSALS] += n_prop
    st.counts[C_ACCEPTED] += n_acc
    st.counts[C_SINCE_RECOMPUTE] = since
    st.counts[C_RECOMPUTES] += n_rec
    return n_acc


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------
def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _check_array(a, name: str, dtype, shape) -> None:
    _check(isinstance(a, np.ndarray) and a.dtype == dtype and a.shape == shape and a.flags.c_contiguous,
           f"{name} must be a C-contiguous {np.dtype(dtype).name} array of shape {shape}, got "
           f"{getattr(a, 'dtype', type(a).__name__)} {getattr(a, 'shape', '')}")


def advance(state: ResonantState, tables: ResonantTables, probes: ProbeTables, sample_t: np.ndarray, n: int,
            t_a: float, buckets: np.ndarray, dEP: np.ndarray, dC: np.ndarray) -> int:
    """Advance the resonant dynamics through the chunk (t_a, sample_t[n-1]].

    The call an engine makes once per chunk in place of the fixed-rate dot pass
    (:func:`simulator.kernels.dots.advance_dots`): every proposal before ``sample_t[n-1]``
    is processed in time order, and every accepted event is binned into ``dEP``,
    ``dC`` exactly as the fixed-rate dot pass bins its events, ready for
    :func:`simulator.kernels.estimate.batch_plan` and
    :func:`simulator.kernels.estimate.reconstruct_and_estimate`.

    Parameters
    ----------
    state : modified in place (see :class:`ResonantState`).
    tables, probes : from :func:`from_model` and :func:`probe_tables`.
    sample_t : the chunk's sample times (increasing), n of them used.
    t_a : start of the chunk; must equal the end of the previous chunk (0 at first).
    buckets : from :func:`simulator.kernel.bucket_index` for these samples.
    dEP : (>= n, P, 2) float64, dC : (>= n, P) int32, zero on the bins used.

    Returns
    -------
    int
        Accepted events in this chunk.
    """
    n = int(n)
    P = probes.probe_of.shape[0]
    n_levels = tables.eps0.shape[0]
    _check(isinstance(sample_t, np.ndarray) and sample_t.ndim == 1 and sample_t.dtype == np.float64,
           "sample_t must be a 1-D float64 array")
    _check(1 <= n <= sample_t.shape[0], f"n must lie in [1, len(sample_t) = {sample_t.shape[0]}], got {n}")
    _check(float(sample_t[n - 1]) > float(t_a), f"the chunk end sample_t[n-1] = {sample_t[n - 1]!r} must be after "
           f"t_a = {t_a!r}")
    _check(float(t_a) == float(state.clock[1]), f"t_a = {t_a!r} must equal the end of the previous chunk "
           f"{float(state.clock[1])!r}: chunks must be contiguous")
    _check(isinstance(buckets, np.ndarray) and buckets.ndim == 1 and buckets.dtype == np.int64
           and buckets.shape[0] >= 2, "buckets must be a 1-D int64 array of length >= 2 (kernel.bucket_index)")
    _check(probes.probe_of.shape == (n_levels,) and probes.rev_ptr.shape == (n_levels + 1,)
           and probes.touch.shape == (n_levels,) and probes.touch.dtype == np.uint8,
           f"probe tables must cover the {n_levels} levels of the resonant tables")
    n_probes = state.own.shape[0]
    _check(isinstance(dEP, np.ndarray) and dEP.ndim == 3 and dEP.shape[0] >= n and dEP.shape[1:] == (n_probes, 2)
           and dEP.dtype == np.float64, f"dEP must be float64 of shape (>= {n}, {n_probes}, 2)")
    _check(isinstance(dC, np.ndarray) and dC.ndim == 2 and dC.shape[0] >= n and dC.shape[1] == n_probes
           and dC.dtype == np.int32, f"dC must be int32 of shape (>= {n}, {n_probes})")
    n_dots = state.accepted.shape[0]
    _check(n_dots * tables.M == n_levels, "state and tables describe different lattices")
    for name, dt, shape in (("occ", np.uint8, (n_levels,)), ("perm", np.uint8, (n_levels,)),
                            ("eps", np.float64, (n_levels,)), ("rng", np.uint64, (2,)),
                            ("clock", np.float64, (2,)), ("counts", np.int64, (4,)),
                            ("level_stat", np.float64, (n_levels, 2))):
        _check_array(getattr(state, name), f"state.{name}", dt, shape)
    _check(P == n_levels and int((probes.probe_of >= 0).sum()) == n_probes,
           f"the probe tables have {int((probes.probe_of >= 0).sum())} probes, the state {n_probes}")
    return int(_advance(tables, state, probes, sample_t, n, float(t_a), buckets, dEP, dC))


# ---------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------
def recompute_energies(state: ResonantState, tables: ResonantTables) -> float:
    """Largest |maintained - recomputed| level energy (a check of the incremental updates)."""
    return float(np.max(np.abs(state.eps - level_energies(tables, state.occ)))) if state.eps.size else 0.0


def mean_occupation(state: ResonantState) -> np.ndarray:
    """Time average of every level's occupation over [0, end of the last chunk]."""
    t = float(state.clock[1])
    if not t > 0:
        raise ValueError("mean_occupation needs a state advanced past t = 0")
    return (state.level_stat[:, 1] + state.occ * (t - state.level_stat[:, 0])) / t


def waiting_time_stats(state: ResonantState) -> dict:
    """Per probe: number of waiting times between own transitions, their mean and
    coefficient of variation (1 for Poissonian dynamics; nan with fewer than 2)."""
    k = state.wt_n.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = state.wt_sum / k
        var = (state.wt_sq / k - mean ** 2) * k / (k - 1.0)
        cv = np.sqrt(np.maximum(var, 0.0)) / mean
    cv = np.where(k >= 2, cv, np.nan)
    return {"n": state.wt_n.copy(), "mean": mean, "cv": cv}
