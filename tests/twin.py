"""Slow, obviously correct twins of the numba kernels (pure Python / numpy).

* ``mix64``, ``xoroshiro``: the generators on Python integers.
* ``pair_amplitude``: the hashed coupling amplitude u_ij.
* ``simulate``: the whole run done the plain way -- every dot's events drawn
  from its own stream in the same order as the kernel, all events merged into one
  time-ordered list, probe phases integrated event by event, and every window of
  the schedule evaluated directly -- returning the echo/Ramsey batch sums.

It shares no code with the kernels except the model (couplings), whose hash it
checks separately against ``pair_amplitude`` here.
"""
from __future__ import annotations

import math

import numpy as np

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB


def mix64(z: int) -> int:
    z &= MASK
    z = ((z ^ (z >> 30)) * M1) & MASK
    z = ((z ^ (z >> 27)) * M2) & MASK
    return z ^ (z >> 31)


def unit(x: int) -> float:
    return (x >> 11) * 2.0 ** -53


def rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK


class Xoroshiro:
    def __init__(self, key: int, dot: int):
        a = mix64(key + mix64(dot + 1))
        self.s0 = mix64(a)
        self.s1 = mix64(a + GOLDEN)

    def next(self) -> int:
        s0, s1 = self.s0, self.s1
        out = (rotl((s0 + s1) & MASK, 17) + s0) & MASK
        s1 ^= s0
        self.s0 = rotl(s0, 49) ^ s1 ^ ((s1 << 21) & MASK)
        self.s1 = rotl(s1, 28)
        return out

    def uniform(self) -> float:
        return unit(self.next())


def pair_amplitude(key: int, a: int, b: int, gauss: bool) -> float:
    lo, hi = min(a, b), max(a, b)

    def h(stream):
        x = mix64(key ^ mix64(lo * GOLDEN + 1))
        return mix64(x ^ mix64(hi + stream * M2))

    h1 = h(0)
    if not gauss:
        return 1.0 if (h1 >> 63) == 1 else -1.0
    u1 = ((h(0) >> 11) + 1) * 2.0 ** -53
    u2 = unit(h(1))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def dot_events(kind, M, n_part, rate, key, dot, t_max):
    """Initial occupations and the time-ordered events (t, level, dn) of one dot."""
    rng = Xoroshiro(key, dot)
    perm = list(range(M))
    occ = [0] * M
    if kind == "flip":
        for a in range(M):
            occ[a] = 1 if rng.uniform() < 0.5 else 0
    else:
        for s in range(n_part):
            r = min(s + int(rng.uniform() * (M - s)), M - 1)
            perm[s], perm[r] = perm[r], perm[s]
        for s in range(n_part):
            occ[perm[s]] = 1
    init = list(occ)
    events = []
    if rate <= 0:
        return init, events
    t = -math.log1p(-rng.uniform()) / rate
    while t < t_max:
        if kind == "flip":
            a = min(int(rng.uniform() * M), M - 1)
            dn = 1 - 2 * occ[a]
            occ[a] ^= 1
            events.append((t, dot * M + a, dn))
        else:
            a = min(int(rng.uniform() * n_part), n_part - 1)
            b = min(n_part + int(rng.uniform() * (M - n_part)), M - 1)
            la, lb = perm[a], perm[b]
            perm[a], perm[b] = perm[b], perm[a]
            occ[la], occ[lb] = 0, 1
            events.append((t, dot * M + la, -1))
            events.append((t, dot * M + lb, +1))
        t += -math.log1p(-rng.uniform()) / rate
    return init, events


def simulate(sim):
    """Re-run ``sim`` (a fresh :class:`simulator.engine.Simulation`) the slow way.

    Returns dict with per-(tau, probe) grand sums of S cos(echo phase), S cos and
    S sin of the Ramsey phase, window counts per tau, and the trajectory.
    """
    m = sim.model
    rows = m.coupling_rows()
    M = m.M
    key = int(m.keys["dynamics"])
    t_max = sim.t_max
    occ0 = np.zeros(m.n_levels)
    all_events = []
    for I in range(m.n_dots):
        init, ev = dot_events(m.kind, M, m.n_particles or 0, float(sim.dynamics.params.rates[I]), key, I, t_max)
        occ0[I * M:(I + 1) * M] = init
        all_events.extend(ev)
    all_events.sort(key=lambda e: e[0])
    n_total = len(all_events) // (2 if m.kind == "hop" else 1)
    sched = sim.schedule
    K, P = sched.K, m.probes.shape[0]
    out = {"echo": np.zeros((K, P)), "ramsey_re": np.zeros((K, P)), "ramsey_im": np.zeros((K, P)),
           "n_windows": np.zeros(K, dtype=int), "n_events": n_total}
    traj = {}
    for p in range(P):
        row = rows.row(p)
        U = dict(zip(row["level"].tolist(), row["U"].tolist()))
        own = int(m.probes[p])
        eps = sum(u * (occ0[j] - m.nu) for j, u in U.items())
        eps_start = eps
        # phase at each coupled event: t_k, phi(t_k), eps after
        times, phis, epss = [0.0], [0.0], [eps]
        own_changes = []
        phi, t_last = 0.0, 0.0
        for (t, j, dn) in all_events:
            if j == own:
                own_changes.append(t)
            if j in U:
                phi += eps * (t - t_last)
                t_last = t
                eps += U[j] * dn
                times.append(t)
                phis.append(phi)
                epss.append(eps)
        times = np.array(times)
        phis = np.array(phis)
        epss = np.array(epss)
        own_changes = np.array(own_changes)

        def phase(t):
            i = np.searchsorted(times, t, side="right") - 1
            return phis[i] + epss[i] * (t - times[i])

        def energy(t):
            i = np.searchsorted(times, t, side="left") - 1   # events strictly before t
            return epss[max(i, 0)] if i >= 0 else eps_start

        for k in range(K):
            h = float(sched.h[k])
            c = int(sched.stride[k])
            mwin = 0
            while True:
                j0 = mwin * c
                if float(j0 + 2) * h > t_max:
                    break
                t0, t1, t2 = float(j0) * h, float(j0 + 1) * h, float(j0 + 2) * h
                if p == 0:
                    out["n_windows"][k] += 1
                changed = np.any((own_changes >= t0) & (own_changes < t2)) if own_changes.size else False
                if not changed:
                    f0, f1, f2 = phase(t0), phase(t1), phase(t2)
                    out["echo"][k, p] += math.cos(f2 - 2 * f1 + f0)
                    out["ramsey_re"][k, p] += math.cos(f2 - f0)
                    out["ramsey_im"][k, p] += math.sin(f2 - f0)
                mwin += 1
        if p in set(sim.traj.probes.tolist()):
            tt = np.arange(sched.n_traj_times) * sched.traj_dt
            traj[p] = np.array([energy(t) for t in tt])
    out["trajectory"] = traj
    return out
