"""The Ramsey error bar's term for quasi-static neighbours (docs/model.md §4, Run length
with a rate distribution; simulator.estimators.slow_neighbour_variance), against direct
simulations of telegraphs:

* Var of a telegraph's time average over a span T, (1/x)[1 - (1 - e^{-2x})/(2x)], x = Gamma T;
* the part of it that batch means misses, (2B/T^2) int min(u, (T-u)/(B-1)) e^{-2 Gamma u} du
  (the quadrature of the simulator against the closed forms, and both against simulation);
* the whole term for several slow neighbours at once (the even subsets of their signs
  under one integral), against the scatter between simulated histories of
  Re prod_j (cos theta_j + i s_j sin theta_j) minus their own batch-means estimate.

The runs' Ramsey z-scores with the term are in tests/test_loguniform.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from simulator.estimators import _slow_quadrature, slow_neighbour_variance
from simulator.model import CouplingRows
from simulator.telegraph import telegraph_average_variance


def telegraph_paths(rng: np.random.Generator, gamma: float, n_hist: int, n_grid: int, T: float) -> np.ndarray:
    """Stationary symmetric +-1 telegraphs (rate gamma out of each state) on the midpoints
    of n_grid equal cells of [0, T], shape (n_hist, n_grid): exact on the grid (a sign
    change between neighbouring points with probability (1 - e^{-2 gamma h})/2)."""
    h = T / n_grid
    p = 0.5 * (-np.expm1(-2.0 * gamma * h))
    start = rng.choice([-1.0, 1.0], size=(n_hist, 1))
    steps = np.where(rng.random((n_hist, n_grid - 1)) < p, -1.0, 1.0)
    return start * np.concatenate([np.ones((n_hist, 1)), np.cumprod(steps, axis=1)], axis=1)


def batch_means_variance(x: np.ndarray, B: int) -> np.ndarray:
    """The plain batch-means variance of the grand mean of each row (equal batches)."""
    m = x.reshape(x.shape[0], B, -1).mean(axis=2)
    return ((m - m.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / (B * (B - 1))


def test_average_variance_closed_form_and_limits():
    x = np.array([1e-6, 1e-4, 2e-3, 0.3, 1.0, 7.0, 300.0])
    u = np.linspace(0.0, 1.0, 200_001)
    for xi, v in zip(x, telegraph_average_variance(x)):
        f = 2.0 * (1.0 - u) * np.exp(-2.0 * xi * u)                    # (2/T^2)(T-u) rho, T = 1
        direct = (f[1:] + f[:-1]).sum() * (u[1] - u[0]) / 2
        assert v == pytest.approx(direct, rel=1e-6)   # the trapezoid's own error at x = 300: ~1e-6
    assert telegraph_average_variance(0.0) == 1.0                      # frozen sign
    assert telegraph_average_variance(1e4) == pytest.approx(1e-4, rel=1e-4)   # 1/x, fast


@pytest.mark.parametrize("B", [8, 32])
def test_missing_kernel_quadrature(B):
    # (2B/T^2) int min(u, (T-u)/(B-1)) rho = V_T - (V_{T/B} - V_T)/(B-1), exactly
    T = 3.0e5
    for gamma in (1e-9, 1e-6, 3e-5, 1e-3, 2e-2):
        u, w = _slow_quadrature(T, B, 2.0 * gamma)
        got = w @ np.exp(-2.0 * gamma * u)
        vt = telegraph_average_variance(gamma * T)
        vb = telegraph_average_variance(gamma * T / B)
        assert got == pytest.approx(vt - (vb - vt) / (B - 1), rel=1e-8, abs=1e-15)


@pytest.mark.parametrize("gammaT", [0.05, 0.5, 2.0, 8.0])
def test_average_variance_and_missing_part_against_simulation(gammaT):
    rng = np.random.default_rng(20261201 + int(100 * gammaT))
    T, B, n_grid, n_hist = 1.0, 16, 4096, 4000
    s = telegraph_paths(rng, gammaT / T, n_hist, n_grid, T)
    mean = s.mean(axis=1)
    # the mean is 0 exactly: var = E[mean^2], its error from the sample of mean^2
    q = mean ** 2
    v = telegraph_average_variance(gammaT)
    assert abs(q.mean() - v) < 4.0 * q.std() / np.sqrt(n_hist)
    # what batch means misses: E[mean^2 - bm], in expectation the kernel's integral
    miss = q - batch_means_variance(s, B)
    u, w = _slow_quadrature(T, B, 2.0 * gammaT / T)
    expect = w @ np.exp(-2.0 * gammaT / T * u)
    assert abs(miss.mean() - expect) < 4.0 * miss.std() / np.sqrt(n_hist)
    # not vacuous: the missed part is a sizeable share of the variance (batch means sees little)
    assert expect > 0.2 * v


def test_several_slow_neighbours_against_simulated_histories():
    """Three slow neighbours (and none fast): the window signal is
    Re prod_j (c_j + i s_j sigma_j) = cos(sum_j theta_j s_j) with theta_j = U_j tau / 2. The
    scatter of its run average between histories, minus what batch means sees, is the term."""
    rng = np.random.default_rng(77)
    T, B, n_grid, n_hist = 1.0e4, 32, 4096, 4000
    U = np.array([1.3, -0.7, 2.2])
    gam = np.array([2e-5, 3e-4, 1.2e-3])                               # 2 Gamma t_b = 0.0125, 0.19, 0.75
    tau = np.array([0.4, 1.0, 2.5])
    rows = CouplingRows(ptr=np.array([0, 3]), level=np.arange(3), dot=np.arange(3), U=U, r=np.ones(3))
    var, applied = slow_neighbour_variance(tau, rows, gam, np.zeros(1), T, B)
    assert applied[0]
    paths = [telegraph_paths(rng, g, n_hist, n_grid, T) for g in gam]
    for k, t in enumerate(tau):
        theta = 0.5 * U * t
        x = np.cos(sum(th * s for th, s in zip(theta, paths)))
        exact_mean = np.prod(np.cos(theta))                            # the stationary product
        miss = (x.mean(axis=1) - exact_mean) ** 2 - batch_means_variance(x, B)
        assert abs(miss.mean() - var[0, k]) < 4.0 * miss.std() / np.sqrt(n_hist)
    assert var[0].max() > 0.05                                          # a large term: the test can fail


def test_no_slow_neighbour_adds_nothing_and_one_adds_nothing_to_re():
    """Fast neighbours only: nothing. One slow neighbour: c + i s sigma moves Im R only (R_fast
    is real for flip), so the Re term is zero; two: their product s_1 s_2 moves Re R."""
    rows = CouplingRows(ptr=np.array([0, 2, 3, 5]), level=np.array([0, 1, 2, 2, 3]), dot=np.array([0, 1, 2, 2, 3]),
                        U=np.array([1.0, 0.5, 0.3, 0.3, 0.8]), r=np.ones(5))
    gam = np.array([1e-2, 1e-2, 1e-7, 2e-7])
    var, applied = slow_neighbour_variance(np.array([1.0, 3.0]), rows, gam, np.zeros(3), 1e5, 32)
    # 2 Gamma t_b = 62.5 for the first two levels (fast), ~1e-5 for the others (slow)
    assert list(applied) == [False, True, True]
    assert np.all(var[0] == 0.0)
    assert np.all(np.abs(var[1]) < 1e-15)
    # two: the one even subset {1, 2}, coefficient sin^2 th_1 sin^2 th_2 (the frozen
    # Var cos(th_1 s_1 + th_2 s_2) = (1 + cos 2th_1 cos 2th_2)/2 - cos^2 th_1 cos^2 th_2), with
    # s_1 s_2 a telegraph at Gamma_1 + Gamma_2: its variance less what batch means sees
    th1, th2 = 0.15 * np.array([1.0, 3.0]), 0.4 * np.array([1.0, 3.0])
    frozen = (1 + np.cos(2 * th1) * np.cos(2 * th2)) / 2 - (np.cos(th1) * np.cos(th2)) ** 2
    assert np.allclose(frozen, (np.sin(th1) * np.sin(th2)) ** 2)
    x = 3e-7 * 1e5
    vt, vb = telegraph_average_variance(x), telegraph_average_variance(x / 32)
    assert np.allclose(var[2], frozen * (vt - (vb - vt) / 31), rtol=1e-8)
