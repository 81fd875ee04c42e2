"""Slow, obviously correct twin of resonant dynamics on a small cluster (pure Python + numpy).

Rates respond to spectral diffusion: a transition c -> c' (flip of a level, or hop
alpha -> beta on a dot) happens at W = Gamma1(I) w^2/(dE^2 + w^2), dE the change of
the total energy (docs/resonant.md). Two independent ways to simulate it:

* ``simulate_thinning``: every transition is proposed at its bound Gamma1(I) (one
  global Poisson clock of rate sum of bounds), and accepted with probability
  w^2/(dE^2 + w^2) computed from the configuration at that instant; events in time
  order. This is what the fast engine will do.
* ``simulate_gillespie``: rejection-free; at every step all allowed transitions'
  rates are recomputed from the current configuration, the waiting time is
  exponential in their sum and the transition is chosen in proportion to its rate.

Both return a :class:`History` (every accepted event, the energies after it).
``estimate`` turns a history into echo, Ramsey and own-transition rate of a probe
level with batch-means error bars, windows sliding over the run as in docs/model.md
§4 (survival: the probe's own occupation must not change inside the window).

dE is computed from the local formulas here (flip: (1 - 2 n_l) eps_l; hop:
eps_b - eps_a - U_ab); the exact references compute it as E(c') - E(c), and the
tests check that the two agree. Nothing here is shared with analysis/resonant_exact.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class History:
    t_max: float
    eps0: np.ndarray          # (N,)
    eps_init: np.ndarray      # (N,) level energies at t = 0
    times: np.ndarray         # (E,) accepted event times, increasing
    level_from: np.ndarray    # (E,) level that empties (-1: none)
    level_to: np.ndarray      # (E,) level that fills (-1: none)
    eps_after: np.ndarray     # (E, N) level energies just after each event
    n_proposals: int


class _State:
    """Occupations and level energies eps_l = eps0_l + sum_{j != l} U_lj (n_j - nu_J)."""

    def __init__(self, eps0, U, dot, gamma1, w, kind, n_particles, rng):
        self.N = len(eps0)
        self.eps0 = [float(x) for x in eps0]
        self.U = [[float(x) for x in row] for row in np.asarray(U)]
        self.dot = [int(x) for x in dot]
        self.D = max(self.dot) + 1
        self.g1 = [float(x) for x in np.broadcast_to(np.asarray(gamma1, dtype=float), (self.D,))]
        self.w = float(w)
        self.kind = kind
        self.levels_of = [[l for l in range(self.N) if self.dot[l] == J] for J in range(self.D)]
        if kind == "hop":
            n_arr = np.broadcast_to(np.asarray(n_particles), (self.D,))
            self.npart = [int(x) for x in n_arr]
            nu_dot = [self.npart[J] / len(self.levels_of[J]) for J in range(self.D)]
        else:
            self.npart = None
            nu_dot = [0.5] * self.D
        self.nu = [nu_dot[self.dot[l]] for l in range(self.N)]
        # stationary (uniform) initial state: flip, every level Bernoulli(1/2); hop, a
        # uniform n-subset of each dot
        self.n = [0] * self.N
        if kind == "flip":
            for l in range(self.N):
                self.n[l] = int(rng.random() < 0.5)
        else:
            for J in range(self.D):
                lev = self.levels_of[J]
                for l in rng.choice(lev, size=self.npart[J], replace=False):
                    self.n[int(l)] = 1
        self.eps = [self.eps0[l] + sum(self.U[l][j] * (self.n[j] - self.nu[j]) for j in range(self.N) if j != l)
                    for l in range(self.N)]

    def accept(self, dE):
        if math.isinf(self.w):
            return 1.0
        x = dE / self.w
        return 1.0 / (1.0 + x * x)

    def set(self, l, value):
        dn = value - self.n[l]
        self.n[l] = value
        col = self.U[l]
        for j in range(self.N):
            if j != l:
                self.eps[j] += col[j] * dn

    def flip_dE(self, l):
        return (1 - 2 * self.n[l]) * self.eps[l]

    def hop_dE(self, a, b):
        return self.eps[b] - self.eps[a] - self.U[a][b]

    def n_tr(self, J):
        M = len(self.levels_of[J])
        return M if self.kind == "flip" else self.npart[J] * (M - self.npart[J])


def _history(st, t_max, times, lfrom, lto, eps_after, eps_init, n_prop):
    N = st.N
    return History(t_max=float(t_max), eps0=np.array(st.eps0), eps_init=np.array(eps_init),
                   times=np.array(times), level_from=np.array(lfrom, dtype=np.int64),
                   level_to=np.array(lto, dtype=np.int64),
                   eps_after=np.array(eps_after).reshape(-1, N), n_proposals=n_prop)


def simulate_thinning(eps0, U, dot, gamma1, w, kind, n_particles, t_max, seed) -> History:
    """Resonant dynamics by thinning: propose at the bounds, accept w^2/(dE^2 + w^2)."""
    rng = np.random.default_rng(seed)
    st = _State(eps0, U, dot, gamma1, w, kind, n_particles, rng)
    bounds = [st.n_tr(J) * st.g1[J] for J in range(st.D)]
    total = sum(bounds)
    cum = np.cumsum(bounds) / total
    eps_init = list(st.eps)
    times, lfrom, lto, eps_after = [], [], [], []
    t, n_prop = 0.0, 0
    block = 4096
    while True:
        u = rng.random((block, 4))
        for k in range(block):
            t += -math.log1p(-u[k, 0]) / total
            if t >= t_max:
                return _history(st, t_max, times, lfrom, lto, eps_after, eps_init, n_prop)
            n_prop += 1
            J = min(int(np.searchsorted(cum, u[k, 1], side="right")), st.D - 1)
            lev = st.levels_of[J]
            if kind == "flip":
                l = lev[min(int(u[k, 2] * len(lev)), len(lev) - 1)]
                if u[k, 3] < st.accept(st.flip_dE(l)):
                    old = st.n[l]
                    st.set(l, 1 - old)
                    times.append(t)
                    lfrom.append(l if old else -1)
                    lto.append(-1 if old else l)
                    eps_after.extend(st.eps)
            else:
                occupied = [l for l in lev if st.n[l]]
                empty = [l for l in lev if not st.n[l]]
                m = int(u[k, 2] * len(occupied) * len(empty))
                m = min(m, len(occupied) * len(empty) - 1)
                a, b = occupied[m // len(empty)], empty[m % len(empty)]
                if u[k, 3] < st.accept(st.hop_dE(a, b)):
                    st.set(a, 0)
                    st.set(b, 1)
                    times.append(t)
                    lfrom.append(a)
                    lto.append(b)
                    eps_after.extend(st.eps)


def simulate_gillespie(eps0, U, dot, gamma1, w, kind, n_particles, t_max, seed) -> History:
    """Resonant dynamics rejection-free: all rates recomputed at every step."""
    rng = np.random.default_rng(seed)
    st = _State(eps0, U, dot, gamma1, w, kind, n_particles, rng)
    eps_init = list(st.eps)
    times, lfrom, lto, eps_after = [], [], [], []
    t = 0.0
    while True:
        moves, rates = [], []
        for J in range(st.D):
            lev = st.levels_of[J]
            if kind == "flip":
                for l in lev:
                    moves.append((l, -1) if st.n[l] else (-1, l))
                    rates.append(st.g1[J] * st.accept(st.flip_dE(l)))
            else:
                for a in lev:
                    if not st.n[a]:
                        continue
                    for b in lev:
                        if st.n[b]:
                            continue
                        moves.append((a, b))
                        rates.append(st.g1[J] * st.accept(st.hop_dE(a, b)))
        R = sum(rates)
        if R <= 0:
            break
        t += -math.log1p(-rng.random()) / R
        if t >= t_max:
            break
        x = rng.random() * R
        k, acc = 0, rates[0]
        while acc <= x and k < len(rates) - 1:
            k += 1
            acc += rates[k]
        a, b = moves[k]
        if a >= 0:
            st.set(a, 0)
        if b >= 0:
            st.set(b, 1)
        times.append(t)
        lfrom.append(a)
        lto.append(b)
        eps_after.extend(st.eps)
    return _history(st, t_max, times, lfrom, lto, eps_after, eps_init, len(times))


def _batch_means(values, batch, B):
    """Weighted batch-means mean and standard error (docs/model.md §4)."""
    n_b = np.bincount(batch, minlength=B).astype(float)
    s_b = np.bincount(batch, weights=values, minlength=B)
    mean = s_b.sum() / n_b.sum()
    ok = n_b > 0
    m_b = s_b[ok] / n_b[ok]
    nbar = n_b.mean()
    var = np.sum((n_b[ok] / nbar) ** 2 * (m_b - mean) ** 2) / (B * (B - 1))
    return mean, math.sqrt(var)


def estimate(h: History, probe: int, tau, n_batches: int = 20, max_windows: int = 200_000) -> dict:
    """Echo, Ramsey and own-transition rate of ``probe`` from a history.

    For each tau, windows start every max(tau/2, t_max/max_windows); a window
    counts with weight S = 1 if the probe's own occupation did not change in
    [t0, t0 + tau) and 0 otherwise. The phase phi(t) = int_0^t (eps_p - eps0_p) is
    exact (energies piecewise constant between events). Errors by batch means over
    ``n_batches`` equal stretches of time (a window belongs to the batch in which it
    ends).

    Returns dict with arrays over tau: ``echo`` (real part), ``echo_se``,
    ``echo_imag`` (mean of S sin, ~0), ``ramsey`` (complex), ``ramsey_se_re``,
    ``ramsey_se_im``, ``n_windows``; and ``rate``, ``rate_se`` (own transitions per
    unit time).
    """
    tau = np.asarray(tau, dtype=float)
    p = int(probe)
    T = np.concatenate([[0.0], h.times])
    e = np.concatenate([[h.eps_init[p]], h.eps_after[:, p]]) - h.eps0[p]
    Phi = np.concatenate([[0.0], np.cumsum(e[:-1] * np.diff(T))])
    own = h.times[(h.level_from == p) | (h.level_to == p)]

    def phase(t):
        i = np.searchsorted(T, t, side="right") - 1
        return Phi[i] + e[i] * (t - T[i])

    B = n_batches
    L = h.t_max / B
    out = {k: np.zeros(tau.size) for k in ("echo", "echo_se", "echo_imag", "ramsey_se_re", "ramsey_se_im")}
    out["ramsey"] = np.zeros(tau.size, dtype=complex)
    out["n_windows"] = np.zeros(tau.size, dtype=np.int64)
    for k, tk in enumerate(tau):
        step = max(0.5 * tk, h.t_max / max_windows)
        t0 = np.arange(0.0, h.t_max - tk, step)
        t2 = t0 + tk
        f0, f1, f2 = phase(t0), phase(t0 + 0.5 * tk), phase(t2)
        S = (np.searchsorted(own, t2, side="left") == np.searchsorted(own, t0, side="left")).astype(float)
        batch = np.minimum((t2 / L).astype(np.int64), B - 1)
        pe = f2 - 2.0 * f1 + f0
        pr = f2 - f0
        out["echo"][k], out["echo_se"][k] = _batch_means(S * np.cos(pe), batch, B)
        out["echo_imag"][k] = float(np.mean(S * np.sin(pe)))
        re, out["ramsey_se_re"][k] = _batch_means(S * np.cos(pr), batch, B)
        im, out["ramsey_se_im"][k] = _batch_means(S * np.sin(pr), batch, B)
        out["ramsey"][k] = re + 1j * im
        out["n_windows"][k] = t0.size
    counts = np.bincount(np.minimum((own / L).astype(np.int64), B - 1), minlength=B) / L
    out["rate"] = float(counts.mean())
    out["rate_se"] = float(counts.std(ddof=1) / math.sqrt(B))
    return out
