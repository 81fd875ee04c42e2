"""Exact reconstruction of the probe phases at the sample times, and the online
estimators (docs/model.md §4): batch plan, reconstruction, batch flush.

Nothing here depends on the dynamics: it reads only the binned event
contributions (:class:`~simulator.kernels.state.Bins`) that any dynamics fills.
"""
from __future__ import annotations

import math

from ..jit import jit, jit_inline, jit_parallel, prange
from .layout import (AD2, AE, AES, AR, ARS, ASS, BD2, BER, BRI, BRR, BS, EN1, EN2, N2, NB_CUR, NBAT, NTOT, PH1, PH2,
                     QD2, QE, QR, REBASE_EVERY, SD2, SER, SRI, SRR, TAG_TRAJECTORY, TS)


@jit
def initial_energies(ptr, lev, U, occ, nu, out):
    """eps_p(0) - eps0_p = sum_j U_pj (n_j - nu) over the probe rows (docs/model.md §2)."""
    for p in range(ptr.shape[0] - 1):
        acc = 0.0
        for q in range(ptr[p], ptr[p + 1]):
            acc += U[q] * (occ[lev[q]] - nu)
        out[p] = acc


@jit_inline
def _flush_cell(est, k, p, nb_):
    """Fold the batch sums of cell (tau_k, probe p), from a batch of nb_ windows,
    into its running totals: grand sums S, A = sum_b s_b^2, Q = sum_b n_b s_b
    (n_b is the same for every probe), which give the weighted batch-means
    variance, and the survival count's sums, which give the variance of the
    signal net of the survival count (:func:`simulator.estimators.batch_means`),
    and the same sums of the squared energy change (spectral diffusion)."""
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
    d2 = est[BD2, k, p]
    est[SD2, k, p] += d2
    est[AD2, k, p] += d2 * d2
    est[QD2, k, p] += nb_ * d2
    est[BD2, k, p] = 0.0


@jit
def flush_batch(acc):
    """Close the current batch of every cell (end of run) and count it per tau."""
    est = acc.est
    kstat = acc.kstat
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
def batch_plan(grid, batching, acc):
    """Serial pre-pass over a chunk's samples: the per-tau bookkeeping that is
    shared by all probes. Advances ``acc.batch[0]`` and the per-tau counters
    ``acc.kstat`` exactly as the estimator walks the samples, and records, for
    the c-th batch boundary crossed in this chunk, the number of windows of every
    tau in the batch being closed (``batching.flush_nb[c, k]``), which every
    probe's batch flush needs. Returns the number of boundaries crossed."""
    sample_t = grid.t
    sample_k = grid.k
    sample_j = grid.j
    stride = batching.stride
    t_batch = batching.t_batch
    n_batches = batching.n_batches
    flush_nb = batching.flush_nb
    kstat = acc.kstat
    batch = acc.batch
    K = kstat.shape[1]
    nc = 0
    for b in range(grid.n):
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


@jit
def _reconstruct_block(p0, p1, grid, t_prev, probes, bins, acc, batching, batch0, traj):
    """Probes [p0, p1) of :func:`reconstruct_and_estimate` (serial, not inlined:
    numba's parallel pass does not reliably lower writes through arrays held in
    record fields inside a prange body)."""
    sample_t = grid.t
    sample_k = grid.k
    sample_j = grid.j
    n = grid.n
    phi = probes.phi
    eps = probes.eps
    cnt = probes.cnt
    dEP = bins.dEP
    dC = bins.dC
    est = acc.est
    cnt1 = acc.cnt1
    cnt2 = acc.cnt2
    own_at_batch = acc.own_at_batch
    stride = batching.stride
    t_batch = batching.t_batch
    n_batches = batching.n_batches
    flush_nb = batching.flush_nb
    traj_p = traj.probes
    traj_eps0 = traj.eps0
    energy = traj.energy
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
            # the closed batch's own-change count: events up to the previous sample
            for p in range(p0, p1):
                own_at_batch[bi + 1, p] = cnt[p]
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
                if complete:
                    # spectral diffusion: every window, whatever the probe's own occupation did
                    dd = eps[p] - est[EN2, k, p]
                    est[BD2, k, p] += dd * dd
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
                est[EN2, k, p] = est[EN1, k, p]
                est[EN1, k, p] = eps[p]
                cnt2[k, p] = cnt1[k, p]
                cnt1[k, p] = cnt[p]
        elif k == TAG_TRAJECTORY:
            m = sample_j[b]
            for i in range(traj_p.shape[0]):
                q = traj_p[i]
                if q >= p0 and q < p1:
                    energy[i, m] = traj_eps0[i] + eps[q]
    # the running batch's count so far (its final value once the run ends)
    for p in range(p0, p1):
        own_at_batch[bi + 1, p] = cnt[p]


@jit_parallel
def reconstruct_and_estimate(grid, t_prev, probes, bins, acc, batching, batch0, traj, p_edges):
    """Walk the chunk's samples in time order, for every block of probes in parallel.

    At each sample b: phi += eps*(t_b - t_{b-1}) + dP[b]; eps += dE[b];
    own-change count += dC[b]. Then, if the sample is point j of the half-tau grid
    of tau_k, shift the stored phases and, when a window (t0, t0+tau/2, t0+tau)
    completes, accumulate for every probe
        echo   S exp(i[phi(t0+tau) - 2 phi(t0+tau/2) + phi(t0)])
        ramsey S exp(i[phi(t0+tau) - phi(t0)])
    (the echo is real by time-reversal symmetry of the stationary chains, so only
    its real part is accumulated; the Ramsey signal keeps both parts),
    with S = 1 iff the probe's own occupation did not change in [t0, t0+tau]
    (own-change counts equal), and, for every window whatever S, the squared
    energy change D^2 = (eps(t0+tau) - eps(t0))^2 (spectral diffusion; the
    energies at the last two grid points are kept like the phases).
    Trajectory samples record eps0 + eps.
    Each probe's own-change count is stored at every batch boundary
    (``acc.own_at_batch``, for the batch-means error of ``gamma1_measured``).

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
        _reconstruct_block(p_edges[blk], p_edges[blk + 1], grid, t_prev, probes, bins, acc, batching, batch0, traj)
    return grid.t[grid.n - 1]
