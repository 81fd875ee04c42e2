r"""Exact spectral-diffusion width of a probe level with fixed rates (docs/spectral-diffusion.md §2).

The spectral-diffusion variance after a waiting time ``t_w`` is

    sigma^2(t_w) = < (eps_i(t + t_w) - eps_i(t))^2 >,

averaged over the stationary state and *not* conditioned on the probe's own
occupation (its own level does not enter its energy). The probe energy is a sum
of independent contributions, one per neighbouring dot, each a linear function
of the dot's occupations; a linear function of the occupations is an
eigenfunction of the dot's generator (eigenvalue ``-2 Gamma1`` per level for
flip, ``-M Gamma1`` for the whole dot for hop), so every dot contributes
``2 Var(h_J) (1 - e^{-lambda_J t_w})``:

* flip: ``sigma^2 = sum_j U_ij^2 * 1/2 * (1 - e^{-2 Gamma1(J) t_w})``;
* hop: ``sigma^2 = sum_J 2 n(M-n)/(M(M-1)) sum_beta (u_Jbeta - mean_beta u_Jbeta)^2
  (1 - e^{-M Gamma1(J) t_w})``, the probe's own dot included with the probe's
  own coupling set to 0.

:func:`analysis.exact.fock.hop_dot_sd_variance_chain` evaluates the same quantity
for one dot from its Markov chain (matrix exponential), the independent check of
the closed form.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._checks import check_nonneg as _check_nonneg

__all__ = [
    "flip_sd_variance",
    "hop_dot_sd_variance",
    "hop_sd_variance",
]


def _waits(t_w: ArrayLike) -> np.ndarray:
    t = np.asarray(t_w, dtype=float)
    if not np.all(np.isfinite(t)):
        raise ValueError("t_w must be finite")
    return np.abs(t)


def flip_sd_variance(t_w: ArrayLike, U: ArrayLike, gamma1: ArrayLike) -> np.ndarray:
    r"""Exact spectral-diffusion variance of a probe under flip dynamics.

    .. math::

        \sigma^2(t_w) = \sum_j U_{ij}^2\, 2\nu(1-\nu)\,(1 - e^{-2\Gamma_1(J) t_w}),\quad \nu = 1/2,

    every neighbouring level a symmetric telegraph flipping at ``Gamma1(J)``
    each way, independent of the others (docs/spectral-diffusion.md §2).

    Parameters
    ----------
    t_w : array_like
        Waiting times (any sign; the variance is even in t_w).
    U, gamma1 : array_like, shape (n_neighbours,)
        Couplings of the probe to its neighbouring levels and their flip rates.

    Returns
    -------
    ndarray of float, shaped like ``t_w``.
    """
    t = _waits(t_w)[..., None]
    U = np.asarray(U, dtype=float).ravel()
    g = _check_nonneg("gamma1", gamma1).ravel()
    if U.shape != g.shape:
        raise ValueError(f"U and gamma1 must have equal length, got {U.size} and {g.size}")
    return (0.5 * U ** 2 * -np.expm1(-2.0 * g * t)).sum(axis=-1)


def hop_dot_sd_variance(t_w: ArrayLike, u: ArrayLike, n: int, gamma1: float) -> np.ndarray:
    r"""Exact contribution of one dot under hop dynamics to the spectral-diffusion variance.

    The dot shifts the probe by ``h = sum_beta u_beta (n_beta - n/M)``. The
    centred occupation ``n_beta - n/M`` is an eigenfunction of the hop generator
    with eigenvalue ``-M Gamma1`` (an occupied beta empties at ``(M-n) Gamma1``,
    an empty one fills at ``n Gamma1``), so ``E[h(t+s) | now] = e^{-M Gamma1 s} h(now)``
    and

    .. math::

        E[(h(t+s) - h(t))^2] = 2\,\mathrm{Var}\,h\,(1 - e^{-M\Gamma_1 s}),\quad
        \mathrm{Var}\,h = \frac{n(M-n)}{M(M-1)} \sum_\beta (u_\beta - \bar u)^2

    (the variance of a sum over a uniformly random n-subset).

    Parameters
    ----------
    t_w : array_like
        Waiting times.
    u : array_like, shape (M,)
        Couplings of the probe to the dot's levels (0 for the probe's own level).
    n : int
        Particles on the dot.
    gamma1 : float
        Rate of every hop of the dot.

    Returns
    -------
    ndarray of float, shaped like ``t_w``.
    """
    t = _waits(t_w)
    u = np.asarray(u, dtype=float).ravel()
    M = u.size
    n = int(n)
    if not 0 <= n <= M:
        raise ValueError(f"need 0 <= n <= M, got n={n}, M={M}")
    g = float(_check_nonneg("gamma1", gamma1))
    if M < 2:
        return np.zeros(t.shape)
    var = n * (M - n) / (M * (M - 1)) * float(np.sum((u - u.mean()) ** 2))
    return 2.0 * var * -np.expm1(-M * g * t)


def hop_sd_variance(t_w: ArrayLike, u_by_dot: ArrayLike, n: int | ArrayLike, gamma1_by_dot: float | ArrayLike,
                    own_dot_index: int, probe_level: int) -> np.ndarray:
    r"""Exact spectral-diffusion variance of a probe under hop dynamics: the sum of
    :func:`hop_dot_sd_variance` over the dots within its cutoff (independent
    chains), the own dot with the probe's own coupling set to 0 (its own level
    does not enter its energy; the other levels of the dot do).

    Parameters
    ----------
    t_w : array_like
    u_by_dot : array_like, shape (n_dots, M)
        Couplings of the probe to every level of every dot within its cutoff,
        its own dot at row ``own_dot_index`` (the entry at ``probe_level`` is ignored).
    n : int or array_like of int, shape (n_dots,)
        Particles per dot.
    gamma1_by_dot : float or array_like, shape (n_dots,)
        Hop rate of each dot.
    own_dot_index, probe_level : int
        Row of the probe's own dot and the probe's level on it.

    Returns
    -------
    ndarray of float, shaped like ``t_w``.
    """
    u_by_dot = np.array(u_by_dot, dtype=float)
    if u_by_dot.ndim != 2:
        raise ValueError(f"u_by_dot must be 2-D (n_dots, M), got shape {u_by_dot.shape}")
    n_dots, M = u_by_dot.shape
    own = int(own_dot_index)
    if not 0 <= own < n_dots:
        raise ValueError(f"own_dot_index must be in [0, {n_dots}), got {own_dot_index!r}")
    if not 0 <= int(probe_level) < M:
        raise ValueError(f"probe_level must be in [0, {M}), got {probe_level!r}")
    u_by_dot[own, int(probe_level)] = 0.0
    g = np.broadcast_to(_check_nonneg("gamma1_by_dot", gamma1_by_dot), (n_dots,))
    n_arr = np.broadcast_to(np.asarray(n), (n_dots,))
    out = np.zeros(_waits(t_w).shape)
    for J in range(n_dots):
        out = out + hop_dot_sd_variance(t_w, u_by_dot[J], int(n_arr[J]), float(g[J]))
    return out
