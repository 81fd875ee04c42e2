"""From accumulated sums to estimates: batch means and linewidths (SPEC §4)."""
from __future__ import annotations

import numpy as np

from .kernel import AE, AR, N2, NBAT, NTOT, QE, QR, SER, SRI, SRR


def batch_means(est: np.ndarray, kstat: np.ndarray) -> dict:
    """Means and standard errors of the echo and Ramsey signals, shape (P, K).

    Windows overlap, so successive windows are correlated; the standard error is
    the weighted batch-means estimate over B batches of equal simulated time:
        var(E) = sum_b (n_b/nbar)^2 (m_b - E)^2 / (B (B - 1)),
    with m_b = s_b / n_b the batch mean and E the grand mean, evaluated from the
    running sums kept by :func:`simulator.kernel.flush_batch`.
    """
    ntot = kstat[NTOT]                      # (K,)
    B = kstat[NBAT]
    n2 = kstat[N2]
    with np.errstate(invalid="ignore", divide="ignore"):
        nbar = ntot / B
        out = {"n_windows": ntot.astype(np.int64), "n_batches": B.astype(np.int64)}
        for name, S, A, Q in (("echo", SER, AE, QE), ("ramsey", SRR, AR, QR)):
            mean = est[S] / ntot[:, None]
            ss = est[A] - 2.0 * mean * est[Q] + mean ** 2 * n2[:, None]
            var = ss / (nbar[:, None] ** 2 * B[:, None] * (B[:, None] - 1.0))
            out[name] = mean.T
            out[name + "_stderr"] = np.sqrt(np.maximum(var, 0.0)).T
        out["ramsey_imag"] = (est[SRI] / ntot[:, None]).T
    return out


def crossing_rate(tau: np.ndarray, signal: np.ndarray, level: float = np.exp(-1.0)) -> np.ndarray:
    """Rate 1/tau_e at the first downward crossing of ``level`` (SPEC §4).

    Linear interpolation of the signal in log tau between the last point above
    and the first point at or below ``level``. NaN where the signal never falls
    to the level inside the grid (or starts below it). Works on (..., n_tau).
    """
    tau = np.asarray(tau, dtype=float)
    s = np.asarray(signal, dtype=float)
    flat = s.reshape(-1, s.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    lt = np.log(tau)
    for i, row in enumerate(flat):
        below = np.nonzero(~(row > level))[0]   # NaN counts as "not above"
        if below.size == 0:
            continue
        k = below[0]
        if k == 0 or not np.isfinite(row[k]):
            continue
        y0, y1 = row[k - 1], row[k]
        x = lt[k - 1] + (y0 - level) / (y0 - y1) * (lt[k] - lt[k - 1])
        out[i] = np.exp(-x)
    return out.reshape(s.shape[:-1])


def crossing_rate_stderr(tau, signal, stderr, level: float = np.exp(-1.0)) -> np.ndarray:
    """Delta-method error of :func:`crossing_rate` from the signal's standard error.

    sigma(Gamma2)/Gamma2 = sigma_E / |dE/dln tau| at the crossing (local slope of
    the two bracketing points).
    """
    tau = np.asarray(tau, dtype=float)
    s = np.asarray(signal, dtype=float).reshape(-1, tau.size)
    e = np.asarray(stderr, dtype=float).reshape(-1, tau.size)
    g = crossing_rate(tau, s, level)
    out = np.full(s.shape[0], np.nan)
    lt = np.log(tau)
    for i in range(s.shape[0]):
        if not np.isfinite(g[i]):
            continue
        k = np.nonzero(~(s[i] > level))[0][0]
        slope = (s[i, k] - s[i, k - 1]) / (lt[k] - lt[k - 1])
        sig = 0.5 * (e[i, k] + e[i, k - 1])
        if slope != 0:
            out[i] = g[i] * sig / abs(slope)
    return out.reshape(np.shape(signal)[:-1])


MIN_WINDOWS = 50


def windows_at_crossing(tau: np.ndarray, n_windows: np.ndarray, gamma2: np.ndarray) -> np.ndarray:
    """Windows averaged at each probe's 1/e crossing tau = 1/Gamma2 (interpolated
    log-log; NaN where Gamma2 is not finite and positive).

    Below ~MIN_WINDOWS the batch-means error of the echo near the crossing is not a
    Gaussian error bar and the first crossing of the noisy echo comes early
    (Gamma2 biased high). Runs with few events get few windows from the 'auto'
    spacing, which budgets the estimator at about half the simulation's work;
    more flips or an explicit run.tau.t0_spacing raise the count.
    """
    g = np.asarray(gamma2, dtype=float)
    out = np.full(g.shape, np.nan)
    ok = np.isfinite(g) & (g > 0)
    logn = np.log(np.maximum(np.asarray(n_windows, dtype=float), 1e-300))   # counts fall like 1/tau
    out[ok] = np.exp(np.interp(np.log(1.0 / g[ok]), np.log(tau), logn))
    return out
