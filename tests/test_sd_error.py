"""The error bar of the spectral-diffusion variance for flip dynamics with fixed rates
(simulator.estimators.flip_sd_estimator_variance, docs/model.md §4, Spectral diffusion).

* the lag sum of its Euler-Maclaurin/Gauss-Legendre tail against the term-by-term sum;
* the variance of the estimator (mean of D^2 over a run's windows) against direct
  simulation of independent telegraphs, many histories, for overlapping and sparse
  window grids, slow and fast neighbours, runs longer than the term-by-term lags
  (tolerance: 4 standard errors of the sample variance, from its fourth moment);
* a small dilute log-uniform run (the regime of docs/spectral-diffusion.md §6d, where
  batch means failed: flips caught by few windows, windows longer than a batch):
  z = (measured - exact)/sd_variance_stderr has pooled mean z^2 consistent with 1 at
  every t_w (standard error from the spread of the probes' own mean z^2), max |z| within
  the Chebyshev-Bonferroni bound, and an error bar too small by 2 fails the same
  test (so the test can fail);
* every other array of the run is the batch-means result, and hop keeps batch means.
"""
from __future__ import annotations

import functools
import math
import types

import numpy as np
import pytest

import simulator as S
from analysis.compare import exact_sd_variance
from simulator.dataset import to_dataset
from simulator.engine import Simulation, drive
from simulator.estimators import _sd_lag_nodes, batch_means, flip_sd_estimator_variance, survival_count_variance
from simulator.kernels.layout import window_counts


# ---------------------------------------------------------------------------
# the formula
# ---------------------------------------------------------------------------
def test_lag_sum_matches_the_term_by_term_sum():
    N = np.array([1, 2, 5, 64, 65, 66, 100, 1000, 54321.0])
    lag, w = _sd_lag_nodes(N)
    for beta in (1e-7, 1e-3, 0.02, 0.1, 0.5, 3.0):
        c = lambda l: np.exp(-beta * l) - 0.3 * np.exp(-3.0 * beta * l)    # noqa: E731
        ref = [n * c(0.0) + 2.0 * np.sum((n - np.arange(1, n)) * c(np.arange(1, n))) for n in N.astype(int)]
        np.testing.assert_allclose((w * c(lag)).sum(axis=1), ref, rtol=3e-5)


def _rows(U):
    U = np.asarray(U, dtype=float)
    return types.SimpleNamespace(ptr=np.array([0, U.size]), level=np.arange(U.size), U=U)


def _simulated_estimates(U, g, tau, stride, N, H, rng):
    """Mean of D^2 over N windows (starts m stride tau/2) in H independent histories of
    telegraphs n_j in {0, 1} switching at g_j out of each state, stationary start:
    the state at consecutive sorted times flips with probability (1 - e^{-2 g dt})/2."""
    delta = stride * tau / 2.0
    starts = np.arange(N) * delta
    times, inv = np.unique(np.concatenate((starts, starts + tau)), return_inverse=True)
    eps = np.zeros((H, times.size))
    for u, gj in zip(U, g):
        flip = rng.random((H, times.size)) < 0.5 * -np.expm1(-2.0 * gj * np.diff(times, prepend=times[0]))
        flip[:, 0] = rng.random(H) < 0.5                                     # stationary start
        eps += u * (np.cumsum(flip, axis=1) % 2)
    e = eps[:, inv]
    return ((e[:, N:] - e[:, :N]) ** 2).mean(axis=1)


@pytest.mark.parametrize("U, g, tau, stride, N", [
    ([1.0], [0.3], 1.0, 1, 20),                              # overlapping windows
    ([1.0, -0.7, 2.0], [0.3, 0.05, 2.0], 1.0, 1, 150),       # beyond the term-by-term lags
    ([1.0, -0.7, 2.0], [0.3, 0.002, 2.0], 0.5, 3, 400),      # a neighbour that rarely flips
    ([1.5, 0.4, 0.9], [0.01, 0.5, 1e-4], 0.2, 7, 300),       # sparse windows, rare events
    ([0.8, -1.1], [0.02, 0.05], 30.0, 1, 100),               # windows long against 1/Gamma
    ([0.8, -1.1], [0.002, 5.0], 300.0, 1, 100),              # e^{-2 Gamma tau} underflows
])
def test_variance_matches_simulated_telegraphs(U, g, tau, stride, N):
    rng = np.random.default_rng(17 + N)
    H = 20000
    est = _simulated_estimates(U, g, tau, stride, N, H, rng)
    var = flip_sd_estimator_variance(np.array([tau]), np.array([stride]), np.array([N]), _rows(U),
                                     np.asarray(g, dtype=float))[0, 0]
    v = est.var(ddof=1)
    se = math.sqrt((np.mean((est - est.mean()) ** 4) - v ** 2) / H)
    assert abs(v - var) < 4.0 * se, (v, var, se)


# ---------------------------------------------------------------------------
# a run in the regime where batch means failed
# ---------------------------------------------------------------------------
DILUTE = {"lattice": {"d": 3, "L": 14, "levels": 1, "kind": "random", "density": 0.1},
          "couplings": {"form": "dipolar", "amplitude": "gauss", "cutoff": 6.9},
          "dynamics": {"kind": "flip", "gamma1": 1.0, "gamma1_distribution": "loguniform", "gamma1_min": 1e-4},
          "run": {"t_max": 2e3, "seed": 2032, "probes": 24, "checkpoint_every": 0.0,
                  "tau": {"min": 0.03, "max": 500.0, "points": 14, "t0_spacing": 1.0},
                  "trajectory": {"probes": 0}}}


@functools.lru_cache(maxsize=None)
def _dilute():
    sim = Simulation(S.load_config(DILUTE))
    drive(sim, progress=False, checkpoint_every=0)
    ds = to_dataset(sim)
    # the statistics without the new error bar: batch means with the survival law and the
    # slow-neighbour Ramsey term, as before
    law = sim.survival_law()
    before = batch_means(sim.acc.est, sim.acc.kstat,
                         survival_count_variance(law, sim.plan.tau, sim.plan.stride,
                                                 window_counts(sim.acc.kstat).total))
    sim.add_slow_neighbour_variance(before, sim.dynamics.telegraph_rates())
    return ds, exact_sd_variance(ds), before, sim.statistics()


def _z_checks(z):
    """(pooled mean z^2, its standard error, max |z|, Chebyshev-Bonferroni bound).

    E z^2 = 1 exactly for the exact variance, whatever the law of the estimate. The
    probes are independent, their t_w points are not, so the standard error is that of
    the mean over probes of the probes' own mean z^2: their spread, but at least
    sqrt(2/P), the value for Gaussian z fully correlated within a probe (the spread of a
    few skewed values is itself often far too small). max |z|: P(|z| > k) <= 1/k^2
    (Chebyshev, nothing else assumed), over all points at 1e-3 (Bonferroni)."""
    per_probe = np.mean(z ** 2, axis=1)
    se = max(per_probe.std(ddof=1), math.sqrt(2.0)) / math.sqrt(per_probe.size)
    return float(np.mean(z ** 2)), float(se), float(np.max(np.abs(z))), math.sqrt(z.size / 1e-3)


def test_dilute_run_error_bar_is_honest_at_every_t_w():
    ds, ref, _, _ = _dilute()
    err = ds["sd_variance_stderr"].values
    assert np.all(err > 0)
    z = (ds["sd_variance"].values - ref) / err
    z2, se, zmax, bound = _z_checks(z)
    assert abs(z2 - 1.0) < 4.0 * se, (z2, se)
    assert zmax < bound, zmax
    # and in each regime on its own: the shortest waits (rare events) and windows longer than a batch
    tau = ds["tau"].values
    t_b = ds.attrs["resolved_t_max"] / 32
    for sel in (tau < 0.3, tau > t_b):
        assert sel.sum() >= 2
        zz = z[:, sel]
        z2, se, _, _ = _z_checks(zz)
        assert abs(z2 - 1.0) < 4.0 * se, (z2, se)


def test_an_error_bar_too_small_is_detected():
    """The test can fail: the same run with the error bar halved is outside the band of
    test_dilute_run_error_bar_is_honest_at_every_t_w.
    (Batch means itself, the error bar before, gives mean z^2 ~ 300 here, but dominated by one
    probe, whose spread then widens the band; docs/spectral-diffusion.md §6d.)"""
    ds, ref, _, _ = _dilute()
    z = (ds["sd_variance"].values - ref) / (ds["sd_variance_stderr"].values / 2.0)
    z2, se, _, _ = _z_checks(z)
    assert z2 - 1.0 > 4.0 * se, (z2, se)


def test_only_the_sd_error_changes():
    _, _, before, now = _dilute()
    assert set(now) == set(before)
    for name in now:
        if name != "sd_variance_stderr":
            np.testing.assert_array_equal(now[name], before[name], err_msg=name)
    assert not np.array_equal(now["sd_variance_stderr"], before["sd_variance_stderr"])


def test_hop_keeps_batch_means():
    raw = {"lattice": {"d": 2, "L": 6, "levels": 3}, "couplings": {"cutoff": 2.0},
           "dynamics": {"kind": "hop", "gamma1": 0.05, "filling": 1.0 / 3.0},
           "run": {"t_max": 2e3, "probes": 4, "seed": 5, "checkpoint_every": 0.0,
                   "tau": {"min": 0.5, "max": 50.0, "points": 5}, "trajectory": {"probes": 0}}}
    sim = Simulation(S.load_config(raw))
    drive(sim, progress=False, checkpoint_every=0)
    np.testing.assert_array_equal(sim.statistics()["sd_variance_stderr"],
                                  batch_means(sim.acc.est, sim.acc.kstat)["sd_variance_stderr"])
