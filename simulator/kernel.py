"""numba kernels: plain arrays in, plain arrays out.

The scheme (see docs/model.md for the derivation)
-------------------------------------------------
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
between consecutive sample times (dEP = (dE, dP), and dC for the probe's own changes);
:func:`reconstruct_and_estimate` then walks the samples in time order and
rebuilds (phi, eps, own-change count) exactly.

Work per event: O(1) plus one binary search and O(#probes coupled to the
changed level) -- independent of the cutoff when probes are few.
"""
from __future__ import annotations

import math

from .jit import jit, jit_inline, jit_parallel, prange
import numpy as np

from .rng import seed_streams, to_unit, xoro_next

FLIP = 0
HOP = 1

# rows of the per-(tau, probe) estimator array ``est`` (shape (N_EST, K, P)):
# stored phases (PH1, PH2); current-batch sums of echo, Ramsey re/im and survival
# (BER, BRR, BRI, BS); grand sums (SER, SRR, SRI, TS); sums over batches of the
# squared batch sums (AE, AR, ASS), of batch sum x window count (QE, QR) and of the
# cross products with the survival batch sum (AES, ARS), for the error bars of
# simulator.estimators.batch_means
PH1, PH2, BER, BRR, BRI, SER, SRR, SRI, AE, AR, QE, QR, BS, TS, ASS, AES, ARS = range(17)
N_EST = 17
# rows of the per-tau counters ``kstat`` (shape (4, K))
NB_CUR, N2, NTOT, NBAT = range(4)

# phases are rebased to 0 at every REBASE_EVERY-th batch boundary
REBASE_EVERY = 8

TAG_SENTINEL = -1
TAG_TRAJECTORY = -2


# ---------------------------------------------------------------------------
# initial state
# ---------------------------------------------------------------------------
@jit
def init_dots(kind, M, n_part, rates, key, rng, occ, perm, t_next):
    """Draw the stationary initial state of every dot and its first event time.

    flip: each level Bernoulli(1/2). hop: a uniformly random n-subset of the M
    levels (partial Fisher-Yates on ``perm``; slots [0, n) hold the occupied
    levels). Then t_next = Exp(rate). All draws come from the dot's stream.
    """
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


@jit
def initial_energies(ptr, lev, U, occ, nu, out):
    """eps_p(0) - eps0_p = sum_j U_pj (n_j - nu) over the probe rows (SPEC §2)."""
    for p in range(ptr.shape[0] - 1):
        acc = 0.0
        for q in range(ptr[p], ptr[p + 1]):
            acc += U[q] * (occ[lev[q]] - nu)
        out[p] = acc


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


# ---------------------------------------------------------------------------
# the dot pass
# ---------------------------------------------------------------------------
@jit
def bucket_index(sample_t, n, t_a, buckets):
    """Lookup table for :func:`_bin_of`: buckets[g] = first sample index with
    sample_t > t_a + g * width (width = (t_end - t_a) / (len(buckets) - 1))."""
    G = buckets.shape[0]
    width = (sample_t[n - 1] - t_a) / (G - 1)
    b = 0
    for g in range(G):
        edge = t_a + g * width
        while b < n - 1 and sample_t[b] <= edge:
            b += 1
        buckets[g] = b


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
def _deposit(l, dn, t, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a, inv_width, buckets,
             dEP, dC):
    """Bin the effect of level l changing by dn at time t on the probes in [plo, phi)."""
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
def _run_dot(I, kind, M, n_part, R, t, s0, s1, occ, perm, base, plo, phi, rev_ptr, rev_probe, rev_U,
             probe_of, sample_t, n, t_a, inv_width, buckets, dEP, dC):
    """All events of dot I before sample_t[n-1], from state (t, s0, s1) and the dot's
    occupations/permutation stored at occ[base:base+M], perm[base:base+M]."""
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
            _deposit(lev0 + a, dn, t, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a,
                     inv_width, buckets, dEP, dC)
        else:
            x, s0, s1 = xoro_next(s0, s1)
            a = int(to_unit(x) * n_part)
            if a >= n_part:
                a = n_part - 1
            x, s0, s1 = xoro_next(s0, s1)
            b = n_part + int(to_unit(x) * (M - n_part))
            if b >= M:
                b = M - 1
            la = perm[base + a]
            lb = perm[base + b]
            perm[base + a] = lb
            perm[base + b] = la
            occ[base + la] = 0
            occ[base + lb] = 1
            _deposit(lev0 + la, -1.0, t, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a,
                     inv_width, buckets, dEP, dC)
            _deposit(lev0 + lb, 1.0, t, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a,
                     inv_width, buckets, dEP, dC)
        cnt += 1
        x, s0, s1 = xoro_next(s0, s1)
        t += -math.log1p(-to_unit(x)) / R
    return t, s0, s1, cnt


@jit_parallel
def advance_dots(kind, M, n_part, rates, rng, occ, perm, t_next, events, snap_rng, snap_occ, snap_perm,
                 snap_t_next, relevant, dot_lo, dot_hi, probe_lo, probe_hi,
                 rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a, buckets, dEP, dC):
    """Advance every dot through all its events before ``sample_t[n-1]``.

    flip: each event toggles one uniformly chosen level of the dot (rate M*Gamma1).
    hop: each event moves a particle from a uniformly chosen occupied level to a
    uniformly chosen empty one (rate n(M-n)*Gamma1; every ordered pair at Gamma1).
    Event contributions are binned into dEP, dC (see module docstring).

    Threads: block t owns dots [dot_lo[t], dot_hi[t]) and the probes on them,
    [probe_lo[t], probe_hi[t]). It walks, in increasing dot order, every dot that
    is ``relevant[t]`` -- its own dots (advanced in place) and the other dots
    coupled to its probes (re-simulated from the start-of-chunk snapshot in a
    scratch copy, results discarded). Each dot's events come from its own stream,
    so the re-simulation is the same history, and every (bin, probe) cell is
    summed by one thread in dot order: the result is bit-identical for any number
    of blocks. Returns the number of events.
    """
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
            own = I >= dot_lo[blk] and I < dot_hi[blk]
            if own:
                t = t_next[I]
                if t >= t_end:
                    continue
                t, s0, s1, cnt = _run_dot(I, kind, M, n_part, rates[I], t, rng[I, 0], rng[I, 1], occ, perm,
                                          I * M, plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n,
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
                _run_dot(I, kind, M, n_part, rates[I], t, snap_rng[I, 0], snap_rng[I, 1], s_occ, s_perm, 0,
                         plo, phi, rev_ptr, rev_probe, rev_U, probe_of, sample_t, n, t_a, inv_width, buckets,
                         dEP, dC)
    return totals.sum()


@jit
def relevance(n_dots, M, rev_ptr, rev_probe, probe_of, dot_lo, dot_hi, probe_lo, probe_hi, relevant):
    """relevant[t, I] = 1 if dot I is in block t or one of its levels moves a probe of block t."""
    T = relevant.shape[0]
    for t in range(T):
        for I in range(n_dots):
            if I >= dot_lo[t] and I < dot_hi[t]:
                relevant[t, I] = 1
                continue
            hit = 0
            for l in range(I * M, I * M + M):
                for q in range(rev_ptr[l], rev_ptr[l + 1]):
                    p = rev_probe[q]
                    if p >= probe_lo[t] and p < probe_hi[t]:
                        hit = 1
                        break
                if hit:
                    break
            relevant[t, I] = hit


# ---------------------------------------------------------------------------
# exact reconstruction at the sample times + online estimators
# ---------------------------------------------------------------------------
@jit_inline
def _flush_cell(est, k, p, nb_):
    """Fold the batch sums of cell (tau_k, probe p), from a batch of nb_ windows,
    into its running totals: grand sums S, A = sum_b s_b^2, Q = sum_b n_b s_b
    (n_b is the same for every probe), which give the weighted batch-means
    variance, and the survival count's sums, which give the variance of the
    signal net of the survival count (:func:`simulator.estimators.batch_means`)."""
    e = est[BER, k, p]
    r = est[BRR, k, p]
    bs = est[BS, k, p]
    est[TS, k, p] += bs
    est[ASS, k, p] += bs * bs
    est[AES, k, p] += e * bs
    est[ARS, k, p] += r * bs
    est[BS, k, p] = 0.0
    est[SER, k, p] += e
    est[SRR, k, p] += r
    est[SRI, k, p] += est[BRI, k, p]
    est[AE, k, p] += e * e
    est[AR, k, p] += r * r
    est[QE, k, p] += nb_ * e
    est[QR, k, p] += nb_ * r
    est[BER, k, p] = 0.0
    est[BRR, k, p] = 0.0
    est[BRI, k, p] = 0.0


@jit
def flush_batch(est, kstat):
    """Close the current batch of every cell (end of run) and count it per tau."""
    K = est.shape[1]
    for k in range(K):
        nb_ = kstat[NB_CUR, k]
        if nb_ == 0:
            continue
        for p in range(est.shape[2]):
            _flush_cell(est, k, p, nb_)
        kstat[N2, k] += nb_ * nb_
        kstat[NTOT, k] += nb_
        kstat[NBAT, k] += 1.0
        kstat[NB_CUR, k] = 0.0


@jit
def batch_plan(sample_t, sample_k, sample_j, n, stride, kstat, batch, t_batch, n_batches, flush_nb):
    """Serial pre-pass over a chunk's samples: the per-tau bookkeeping that is
    shared by all probes. Advances ``batch[0]`` and the per-tau counters ``kstat``
    exactly as the estimator walks the samples, and records, for the c-th batch
    boundary crossed in this chunk, the number of windows of every tau in the batch
    being closed (``flush_nb[c, k]``), which every probe's batch flush needs.
    Returns the number of boundaries crossed."""
    K = kstat.shape[1]
    nc = 0
    for b in range(n):
        tb = sample_t[b]
        while batch[0] < n_batches - 1 and tb >= (batch[0] + 1) * t_batch:
            for k in range(K):
                nb_ = kstat[NB_CUR, k]
                flush_nb[nc, k] = nb_
                if nb_ > 0:
                    kstat[N2, k] += nb_ * nb_
                    kstat[NTOT, k] += nb_
                    kstat[NBAT, k] += 1.0
                    kstat[NB_CUR, k] = 0.0
            batch[0] += 1
            nc += 1
        k = sample_k[b]
        if k >= 0:
            j = sample_j[b]
            if j >= 2 and (j - 2) % stride[k] == 0:
                kstat[NB_CUR, k] += 1.0
    return nc


@jit_parallel
def reconstruct_and_estimate(sample_t, sample_k, sample_j, n, t_prev, phi, eps, cnt, dEP, dC,
                             stride, est, cnt1, cnt2, batch0, t_batch, n_batches, flush_nb,
                             traj_p, traj_eps0, energy, p_edges):
    """Walk the chunk's samples in time order, for every block of probes in parallel.

    At each sample b: phi += eps*(t_b - t_{b-1}) + dP[b]; eps += dE[b];
    own-change count += dC[b]. Then, if the sample is point j of the half-tau grid
    of tau_k, shift the stored phases and, when a window (t0, t0+tau/2, t0+tau)
    completes, accumulate for every probe
        echo   S exp(i[phi(t0+tau) - 2 phi(t0+tau/2) + phi(t0)])
        ramsey S exp(i[phi(t0+tau) - phi(t0)])
    (the echo is real by time-reversal symmetry of the stationary chains, so only
    its real part is accumulated; the Ramsey signal keeps both parts).
    with S = 1 iff the probe's own occupation did not change in [t0, t0+tau]
    (own-change counts equal). Trajectory samples record eps0 + eps.

    Batches are consecutive stretches of t_batch in simulated time (by window
    completion time); at each boundary every cell's batch sums are folded into
    its totals with the window counts recorded by :func:`batch_plan` (called
    first, with the batch index ``batch0`` of the chunk's start). Probes are
    independent here, so blocks ``p_edges`` run in parallel; every cell sees the
    same operations in the same order, so the result does not depend on the
    blocks. Returns the time of the last sample.
    """
    T = p_edges.shape[0] - 1
    for blk in prange(T):
        p0 = p_edges[blk]
        p1 = p_edges[blk + 1]
        bi = batch0
        nc = 0
        tp = t_prev
        for b in range(n):
            tb = sample_t[b]
            while bi < n_batches - 1 and tb >= (bi + 1) * t_batch:
                for k in range(est.shape[1]):
                    nb_ = flush_nb[nc, k]
                    if nb_ == 0:
                        continue
                    for p in range(p0, p1):
                        _flush_cell(est, k, p, nb_)
                bi += 1
                nc += 1
                if bi % REBASE_EVERY == 0:
                    # rebase the phases to 0 (only differences enter the windows):
                    # bounded magnitudes, so bounded rounding, over arbitrarily long
                    # runs; at fixed times, so independent of chunking
                    for p in range(p0, p1):
                        c0 = phi[p]
                        phi[p] = 0.0
                        for kk in range(est.shape[1]):
                            est[PH1, kk, p] -= c0
                            est[PH2, kk, p] -= c0
            dt = tb - tp
            for p in range(p0, p1):
                phi[p] += eps[p] * dt + dEP[b, p, 1]
                eps[p] += dEP[b, p, 0]
                cnt[p] += dC[b, p]
                dEP[b, p, 0] = 0.0
                dEP[b, p, 1] = 0.0
                dC[b, p] = 0
            tp = tb
            k = sample_k[b]
            if k >= 0:
                j = sample_j[b]
                complete = j >= 2 and (j - 2) % stride[k] == 0
                for p in range(p0, p1):
                    if complete and cnt[p] == cnt2[k, p]:
                        ph = phi[p]
                        pe = ph - 2.0 * est[PH1, k, p] + est[PH2, k, p]
                        pr = ph - est[PH2, k, p]
                        est[BER, k, p] += math.cos(pe)
                        est[BRR, k, p] += math.cos(pr)
                        est[BRI, k, p] += math.sin(pr)
                        est[BS, k, p] += 1.0
                    est[PH2, k, p] = est[PH1, k, p]
                    est[PH1, k, p] = phi[p]
                    cnt2[k, p] = cnt1[k, p]
                    cnt1[k, p] = cnt[p]
            elif k == TAG_TRAJECTORY:
                m = sample_j[b]
                for i in range(traj_p.shape[0]):
                    q = traj_p[i]
                    if q >= p0 and q < p1:
                        energy[i, m] = traj_eps0[i] + eps[q]
    return sample_t[n - 1]
