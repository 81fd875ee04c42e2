"""The layout of the estimator arrays, and its only readers.

The kernels accumulate, for every (tau_k, probe p) cell, the sums of
docs/model.md §4 in one float array ``est`` of shape (N_EST, K, P) and, per
tau, four counters in ``kstat`` of shape (N_KSTAT, K). The row numbers below are
used by the kernels only; code outside :mod:`simulator.kernels` reads the sums
by name through :func:`signal_sums`, :func:`survival_sums`,
:func:`ramsey_imag_sum`, :func:`sd_sums` and :func:`window_counts` (and sets the
energies at t = 0 through :func:`start_energies`).

Rows of ``est``
---------------
PH1, PH2   phases stored at the last two half-tau grid points (window state)
BER, BRR, BRI, BS   current-batch sums of echo, Ramsey re/im and survival
SER, SRR, SRI, TS   grand sums of the same
AE, AR, ASS         sums over batches of the squared batch sums
QE, QR              sums over batches of (batch sum x window count)
AES, ARS            sums over batches of (batch sum x survival batch sum)
EN1, EN2            probe energies eps - eps0 at the last two half-tau grid points
BD2                 current-batch sum of D^2, D = eps(t0+tau) - eps(t0) (spectral diffusion)
SD2, AD2, QD2       grand sum of D^2, sum over batches of its squared batch sums and of
                    (batch sum x window count)

The spectral-diffusion rows come last so that every older row keeps its index.

Rows of ``kstat``: NB_CUR windows in the current batch, N2 sum of squared
batch window counts, NTOT windows in closed batches, NBAT closed batches.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

PH1, PH2, BER, BRR, BRI, SER, SRR, SRI, AE, AR, QE, QR, BS, TS, ASS, AES, ARS = range(17)
EN1, EN2, BD2, SD2, AD2, QD2 = range(17, 23)
N_EST = 23
NB_CUR, N2, NTOT, NBAT = range(4)
N_KSTAT = 4

#: phases are rebased to 0 at every REBASE_EVERY-th batch boundary
REBASE_EVERY = 8

#: sample tags (``SampleGrid.k``) that are not a tau index
TAG_SENTINEL = -1
TAG_TRAJECTORY = -2

SIGNALS = ("echo", "ramsey")


class SignalSums(NamedTuple):
    """Running sums of one signal X over windows, each of shape (K, P).

    total: sum of X; sq: sum over batches of (batch sum)^2; by_count: sum over
    batches of (batch sum x batch window count); by_survival: sum over batches
    of (batch sum x survival batch sum).
    """

    total: np.ndarray
    sq: np.ndarray
    by_count: np.ndarray
    by_survival: np.ndarray


class SurvivalSums(NamedTuple):
    """Sums of the survival indicator S: total and sum of squared batch sums, (K, P)."""

    total: np.ndarray
    sq: np.ndarray


class SquareSums(NamedTuple):
    """Running sums of the squared energy change D^2 of every window (spectral
    diffusion), each (K, P): total, sum over batches of (batch sum)^2, and of
    (batch sum x batch window count)."""

    total: np.ndarray
    sq: np.ndarray
    by_count: np.ndarray


class WindowCounts(NamedTuple):
    """Per tau (K,): windows in closed batches, closed batches, sum of squared batch counts."""

    total: np.ndarray
    batches: np.ndarray
    sq: np.ndarray


_SIGNAL_ROWS = {"echo": (SER, AE, QE, AES), "ramsey": (SRR, AR, QR, ARS)}


def new_estimates(K: int, P: int) -> np.ndarray:
    """A zeroed estimator array ``est`` (N_EST, K, P)."""
    return np.zeros((N_EST, K, P))


def new_counters(K: int) -> np.ndarray:
    """Zeroed per-tau counters ``kstat`` (N_KSTAT, K)."""
    return np.zeros((N_KSTAT, K))


def signal_sums(est: np.ndarray, signal: str) -> SignalSums:
    """The running sums of ``signal`` ("echo" or the real part of "ramsey")."""
    return SignalSums(*(est[r] for r in _SIGNAL_ROWS[signal]))


def survival_sums(est: np.ndarray) -> SurvivalSums:
    """The running sums of the survival indicator."""
    return SurvivalSums(est[TS], est[ASS])


def ramsey_imag_sum(est: np.ndarray) -> np.ndarray:
    """Sum of the imaginary part of the Ramsey signal, (K, P)."""
    return est[SRI]


def sd_sums(est: np.ndarray) -> SquareSums:
    """The running sums of D^2, D = eps(t0+tau) - eps(t0), over all windows."""
    return SquareSums(est[SD2], est[AD2], est[QD2])


def start_energies(est: np.ndarray, eps: np.ndarray) -> None:
    """Record the probes' energies at t = 0 (``eps``, (P,)) as the window state of
    every tau: the first window of each tau starts at the grid point t = 0, which is
    not a sample (the phases there are 0 and need no such start)."""
    est[EN1] = eps[None, :]


def window_counts(kstat: np.ndarray) -> WindowCounts:
    """Window and batch counts per tau."""
    return WindowCounts(kstat[NTOT], kstat[NBAT], kstat[N2])
