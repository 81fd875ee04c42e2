"""When the estimators look at the phases: the tau grid and the sample times.

The numbers (tau grid, strides, trajectory) are resolved once by
:func:`simulator.plan.resolve`; this module holds the rules it applies and the
:class:`Schedule` that enumerates the sample times.

For each tau_k the probe phases are sampled on the half-tau grid
t = j * h_k (h_k = tau_k / 2). A window (t0, t0 + tau/2, t0 + tau) starts at
every c_k-th grid point (stride c_k >= 1, so windows start every c_k * tau_k / 2;
c_k = 1 overlaps windows by half). Only grid points with j mod c_k in {0, 1, 2}
are visited. A window completes at j when j >= 2 and (j - 2) mod c_k == 0.

Sample times are ``float(j) * h_k`` computed the same way everywhere, so the set
of sample times is a fixed function of the configuration: chunk boundaries are
always chosen *among* sample times, the bins between consecutive samples never
change, and the result is bit-identical however the run is chunked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kernels.layout import TAG_SENTINEL, TAG_TRAJECTORY

# "auto" t0 spacing: the estimator may use about half the simulation's work (a
# third of the run time). Costs per event, per push (an event's update of one
# coupled probe) and per probe-sample were measured on the benchmark machine
# (about 60 ns, 2.75 ns and 25 ns; docs/performance.md); the budget share is
# folded into the first two.
ESTIMATOR_SHARE = 0.5
COST_EVENT = ESTIMATOR_SHARE * 60.0 / 25.0
COST_PUSH = ESTIMATOR_SHARE * 2.75 / 25.0
COST_SAMPLE = 1.0
MIN_WINDOWS_PER_TAU = 1000


def tau_grid(tmin: float, tmax: float, points: int) -> np.ndarray:
    return np.geomspace(tmin, tmax, points)


def strides_for(h: np.ndarray, spacing: float | np.ndarray) -> np.ndarray:
    """Stride c_k so that windows start every max(h_k, ~spacing_k) (a multiple of h_k).

    ``spacing`` is one number for every tau or one per tau."""
    spacing = np.broadcast_to(np.asarray(spacing, dtype=float), h.shape)
    return np.where(spacing > 0, np.maximum(1, np.rint(spacing / h)), 1).astype(np.int64)


def statistical_spacing(h: np.ndarray, t_max: float, min_windows: float) -> np.ndarray:
    """Per-tau window spacing that gives about ``min_windows`` windows over the run
    (never denser than every tau/2: the densest grid, spacing h_k)."""
    return np.maximum(h, t_max / min_windows)


def sample_rate(h: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Visited grid points per unit time for each tau."""
    return np.where(c <= 2, 1.0 / h, 3.0 / (c * h))


def auto_spacing(h: np.ndarray, n_probes: int, event_rate: float, push_rate: float, t_max: float) -> float:
    """Smallest window spacing for which the estimator's work per unit time
    (probe-samples x COST_SAMPLE) stays below ESTIMATOR_SHARE of the simulation's
    (events x COST_EVENT + pushes x COST_PUSH, shares folded in).

    With few probes this is the densest grid (spacing 0: windows every tau/2);
    with every level a probe the windows thin out so the run stays event-bound.
    """
    budget = (COST_EVENT * event_rate + COST_PUSH * push_rate) / COST_SAMPLE
    if event_rate <= 0 or n_probes * sample_rate(h, strides_for(h, 0.0)).sum() <= budget:
        return 0.0
    lo, hi = 0.0, t_max
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if n_probes * sample_rate(h, strides_for(h, mid)).sum() > budget:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass
class Schedule:
    tau: np.ndarray          # (K,)
    h: np.ndarray            # tau/2
    stride: np.ndarray       # (K,) int64
    t_max: float
    traj_dt: float           # 0 when no trajectory is recorded
    n_traj_times: int

    @property
    def K(self) -> int:
        return self.tau.shape[0]

    def rate(self) -> float:
        """Sample times per unit simulated time (all grids)."""
        r = sample_rate(self.h, self.stride).sum()
        if self.traj_dt > 0:
            r += 1.0 / self.traj_dt
        return float(r)

    @staticmethod
    def _range(h: float, t_a: float, t_b: float):
        """Integers j with t_a < float(j)*h <= t_b."""
        j0 = int(math.floor(t_a / h))
        while float(j0) * h > t_a:
            j0 -= 1
        while float(j0) * h <= t_a:
            j0 += 1
        j1 = int(math.floor(t_b / h))
        while float(j1) * h > t_b:
            j1 -= 1
        while float(j1 + 1) * h <= t_b:
            j1 += 1
        return j0, j1

    def samples(self, t_a: float, t_b: float):
        """All sample times in (t_a, t_b], sorted by (time, tag): (t, k, j) arrays."""
        ts, ks, js = [], [], []
        for k in range(self.K):
            h = float(self.h[k])
            j0, j1 = self._range(h, t_a, t_b)
            if j1 < j0:
                continue
            c = int(self.stride[k])
            if c <= 2:
                j = np.arange(j0, j1 + 1, dtype=np.int64)
            else:   # only the visited points m*c + {0, 1, 2}: never enumerate the whole grid
                m = np.arange((j0 - 2) // c, j1 // c + 1, dtype=np.int64)
                j = (m[:, None] * c + np.arange(3, dtype=np.int64)[None, :]).ravel()
                j = j[(j >= j0) & (j <= j1)]
            ts.append(j.astype(float) * h)
            ks.append(np.full(j.shape, k, dtype=np.int64))
            js.append(j)
        if self.traj_dt > 0:
            m0, m1 = self._range(self.traj_dt, t_a, t_b)
            m1 = min(m1, self.n_traj_times - 1)
            if m1 >= m0:
                m = np.arange(m0, m1 + 1, dtype=np.int64)
                ts.append(m.astype(float) * self.traj_dt)
                ks.append(np.full(m.shape, TAG_TRAJECTORY, dtype=np.int64))
                js.append(m)
        if t_b == self.t_max:
            ts.append(np.array([self.t_max]))
            ks.append(np.array([TAG_SENTINEL], dtype=np.int64))
            js.append(np.array([0], dtype=np.int64))
        t = np.concatenate(ts) if ts else np.zeros(0)
        tag = np.concatenate(ks) if ks else np.zeros(0, dtype=np.int64)
        j = np.concatenate(js) if js else np.zeros(0, dtype=np.int64)
        order = np.lexsort((j, tag, t))
        return t[order], tag[order], j[order]

    def boundary_after(self, target: float) -> float:
        """The first sample time >= target (or t_max): where a chunk may end."""
        if target >= self.t_max:
            return self.t_max
        best = self.t_max
        for k in range(self.K):
            h = float(self.h[k])
            c = int(self.stride[k])
            j = int(math.ceil(target / h))
            while float(j) * h < target:
                j += 1
            if c > 2 and j % c >= 3:
                j += c - j % c
            best = min(best, float(j) * h)
        if self.traj_dt > 0:
            m = int(math.ceil(target / self.traj_dt))
            while float(m) * self.traj_dt < target:
                m += 1
            if m < self.n_traj_times:
                best = min(best, float(m) * self.traj_dt)
        return best
