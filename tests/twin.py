"""Slow, obviously correct twins of the numba kernels (pure Python / numpy).

* ``mix64``, ``xoroshiro``: the generators on Python integers.
* ``pair_amplitude``: the hashed coupling amplitude u_ij.
* ``simulate``: the whole run done the plain way -- every dot's events drawn
  from its own stream in the same order as the kernel, all events merged into one
  time-ordered list, probe phases integrated event by event, every window of its
  own schedule (``window_schedule``: docs/model.md §4, rebuilt from the
  configuration) evaluated directly and summed per batch -- returning every sum
  of the estimator array (grand sums and batch-means sums) and the final state.

It shares no code with the kernels or simulator/schedule.py except the model
(couplings, whose hash it checks separately against ``pair_amplitude`` here);
for t0_spacing = 'auto' it takes the cost rule's spacing from the run's
recorded ``resolved_t0_spacing`` and applies the statistical floor and the
stride rule itself.
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


# docs/model.md §4: the statistical floor of the 'auto' spacing (windows per tau)
MIN_WINDOWS_PER_TAU = 1000
# phases are rebased at every REBASE_EVERY-th batch boundary (kernels/layout.py)
REBASE_EVERY = 8


def window_schedule(config, cost_spacing=None):
    """The tau grid and window strides of docs/model.md §4, rebuilt from the
    configuration alone (explicit run.tau.min/max only).

    ``t0_spacing`` = s gives c_k = max(1, round(s / h_k)) (1 for s = 0);
    'auto' gives the smaller of the stride of the cost rule's spacing
    ``cost_spacing`` (the run's recorded ``resolved_t0_spacing``) and that of
    the statistical floor max(h_k, t_max / 1000).
    """
    run = config["run"]
    t_max = float(run["t_max"])
    tau = np.geomspace(run["tau"]["min"], run["tau"]["max"], run["tau"]["points"])
    h = tau / 2.0

    def strides(spacing):
        spacing = np.broadcast_to(np.asarray(spacing, dtype=float), h.shape)
        return np.array([max(1, int(round(s / hk))) if s > 0 else 1 for s, hk in zip(spacing, h)])

    if run["tau"]["t0_spacing"] == "auto":
        c = np.minimum(strides(cost_spacing), strides(np.maximum(h, t_max / MIN_WINDOWS_PER_TAU)))
    else:
        c = strides(float(run["tau"]["t0_spacing"]))
    return t_max, tau, h, c


def visited(h: float, c: int, t_max: float) -> np.ndarray:
    """Grid points j >= 1 (j*h <= t_max) the estimator visits: j mod c in {0, 1, 2}."""
    j = np.arange(1, int(t_max / h) + 2)
    j = j[j.astype(float) * h <= t_max]
    return j if c <= 2 else j[j % c <= 2]


def simulate(sim):
    """Re-run ``sim`` (a fresh :class:`simulator.engine.Simulation`) the slow way.

    Its window schedule and batches are rebuilt from the configuration
    (:func:`window_schedule`), not taken from the engine. Returns a dict with
    the schedule (``tau``, ``stride``), per-(tau, probe) grand sums and
    batch-means sums of docs/model.md §4 (``echo``, ``ramsey_re``, ``ramsey_im``,
    ``survival``; ``*_sq`` sums of squared batch sums; ``*_by_count`` sums of
    batch sum x batch window count; ``*_by_survival`` sums of batch sum x survival
    batch sum; ``sd2``, ``sd2_sq``, ``sd2_by_count``: the same sums of the squared
    energy change D^2 = (eps(t0+tau) - eps(t0))^2 of every window), per-tau window counts (``n_windows``, ``n_batches``,
    ``n_windows_sq``), the final state (``phi``, ``eps``, ``cnt``: phases
    rebased at every REBASE_EVERY-th batch boundary as in the kernel; ``ph1``,
    ``ph2``, ``cnt1``, ``cnt2``, ``en1``, ``en2``: (K, P) phases, own-change counts
    and energies eps - eps0 at the last two visited grid points) and the trajectory.
    """
    m = sim.model
    rows = m.coupling_rows()
    M = m.M
    key = int(m.keys["dynamics"])
    t_max, tau, hs, strides = window_schedule(sim.config, sim.resolved["t0_spacing"])
    n_batches = int(sim.config["run"]["batches"])
    t_batch = t_max / n_batches
    occ0 = np.zeros(m.n_levels)
    all_events = []
    for I in range(m.n_dots):
        init, ev = dot_events(m.kind, M, m.n_particles or 0, float(sim.dynamics.params.rates[I]), key, I, t_max)
        occ0[I * M:(I + 1) * M] = init
        all_events.extend(ev)
    all_events.sort(key=lambda e: e[0])
    n_total = len(all_events) // (2 if m.kind == "hop" else 1)
    K, P = tau.shape[0], m.probes.shape[0]

    # trajectory: probes evenly spread over the probe list, every dt up to t_max
    traj_cfg = sim.config["run"]["trajectory"]
    n_traj = min(traj_cfg["probes"], P)
    traj_probes = sorted(set(np.linspace(0, P - 1, n_traj).round().astype(int).tolist())) if n_traj else []
    traj_dt = float(traj_cfg["dt"])
    traj_times = np.arange(int(math.floor(t_max / traj_dt + 1e-9)) + 1) * traj_dt if n_traj else np.zeros(0)

    # every sample time of the run (grid points, trajectory, the end): the phase
    # is rebased at the last sample before every REBASE_EVERY-th batch boundary
    grids = [visited(float(hs[k]), int(strides[k]), t_max) for k in range(K)]
    samples = np.concatenate([g.astype(float) * float(hs[k]) for k, g in enumerate(grids)]
                             + [traj_times[1:], [t_max]])
    rebase_at = [b * t_batch for b in range(REBASE_EVERY, n_batches, REBASE_EVERY)]
    ref_time = max(samples[samples < rebase_at[-1]]) if rebase_at else None

    def batch_of(t):
        """The batch of a window completing at t: the last b < n_batches with t >= b * t_batch."""
        b = 0
        while b < n_batches - 1 and t >= (b + 1) * t_batch:
            b += 1
        return b

    # windows (t0, t1, t2) of each tau, and the batch each completes in
    windows = []
    n_b = np.zeros((K, n_batches))
    for k in range(K):
        h, c = float(hs[k]), int(strides[k])
        j0 = np.arange(0, int(t_max / h) + 1, c)
        j0 = j0[(j0 + 2).astype(float) * h <= t_max]
        t0, t1, t2 = j0.astype(float) * h, (j0 + 1).astype(float) * h, (j0 + 2).astype(float) * h
        batch = np.array([batch_of(t) for t in t2], dtype=int)
        np.add.at(n_b[k], batch, 1.0)
        windows.append((t0, t1, t2, batch))
    closed = n_b > 0    # a batch with no window of tau_k is not a batch of tau_k
    out = {"tau": tau, "stride": strides, "n_events": n_total,
           "n_windows": n_b.sum(axis=1), "n_batches": closed.sum(axis=1).astype(float),
           "n_windows_sq": (n_b ** 2).sum(axis=1)}
    names = ("echo", "ramsey_re", "ramsey_im", "survival")
    for name in names:
        for suffix in ("", "_sq", "_by_count", "_by_survival"):
            out[name + suffix] = np.zeros((K, P))
    for name in ("sd2", "sd2_sq", "sd2_by_count", "ph1", "ph2", "cnt1", "cnt2", "en1", "en2"):
        out[name] = np.zeros((K, P))
    out["phi"], out["eps"], out["cnt"] = np.zeros(P), np.zeros(P), np.zeros(P)
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

        def energies(ts):
            # vectorised energy(); epss[0] is the energy at t = 0
            return epss[np.maximum(np.searchsorted(times, ts, side="left") - 1, 0)]

        def own_count(t):
            return np.searchsorted(own_changes, t, side="right")   # own changes in [0, t]

        ref = phase(ref_time) if ref_time is not None else 0.0
        for k in range(K):
            t0, t1, t2, batch = windows[k]
            f0, f1, f2 = phase(t0), phase(t1), phase(t2)
            # S = 1 iff the probe's own occupation did not change in [t0, t2)
            s = (own_count(t0) == own_count(t2)).astype(float)
            per_window = {"echo": s * np.cos(f2 - 2 * f1 + f0), "ramsey_re": s * np.cos(f2 - f0),
                          "ramsey_im": s * np.sin(f2 - f0), "survival": s}
            sums = {}
            for name, x in per_window.items():
                sums[name] = np.zeros(n_batches)
                np.add.at(sums[name], batch, x)
            for name in names:
                xb = sums[name][closed[k]]
                out[name][k, p] = xb.sum()
                out[name + "_sq"][k, p] = (xb * xb).sum()
                out[name + "_by_count"][k, p] = (n_b[k][closed[k]] * xb).sum()
                out[name + "_by_survival"][k, p] = (xb * sums["survival"][closed[k]]).sum()
            # spectral diffusion: every window, survival or not
            d = energies(t2) - energies(t0)
            db = np.zeros(n_batches)
            np.add.at(db, batch, d * d)
            db = db[closed[k]]
            out["sd2"][k, p] = db.sum()
            out["sd2_sq"][k, p] = (db * db).sum()
            out["sd2_by_count"][k, p] = (n_b[k][closed[k]] * db).sum()
            last = grids[k][-2:].astype(float) * float(hs[k])
            out["ph1"][k, p], out["ph2"][k, p] = phase(last[1]) - ref, phase(last[0]) - ref
            out["cnt1"][k, p], out["cnt2"][k, p] = own_count(last[1]), own_count(last[0])
            out["en1"][k, p], out["en2"][k, p] = energy(last[1]), energy(last[0])
        out["phi"][p] = phase(t_max) - ref
        out["eps"][p] = epss[-1]
        out["cnt"][p] = own_changes.size
        if p in traj_probes:
            traj[p] = np.array([energy(t) for t in traj_times])
    out["trajectory"] = traj
    out["traj_probes"] = np.array(traj_probes, dtype=np.int64)
    return out
