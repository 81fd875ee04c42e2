"""Appendix A: optimal rearrangement order for Gaussian and Lorentzian baths.

Conventions: ``W`` bath width (energy), ``Delta`` level spacing of a single
rearrangement (energy), ``gamma`` coupling (energy), ``Xi`` Fock-space
localisation length (dimensionless), ``s`` entropy per degree of freedom
(dimensionless), ``K`` branching number (> 1), ``d`` dimension.  ``n`` is the
(linear) size of the rearrangement; the Gaussian case involves ``x = n^d``.

The printed Eq. (A2) does not maximise Eq. (A1): setting
``d/dx [-2x/Xi - (Delta/W)^2 e^{-2 s x}] = 0`` gives
``x = log(Delta^2 Xi s / W^2)/(2 s)``, not ``log(Delta^2 Xi s/(2 W^2))/(2 s)``;
both are provided (:func:`nhat_d_a2_printed`, :func:`nhat_d_a2_corrected`).
Eqs. (A4) and (A5) are exact stationarity conditions of Eq. (A3).
"""
from __future__ import annotations

import numpy as np

from ._common import as_float, check_kappa, check_positive, check_less

__all__ = [
    "gamma_n_gaussian",
    "nhat_d_a2_printed",
    "nhat_d_a2_corrected",
    "gamma_n_lorentzian",
    "exp_a4",
    "nhat_a5",
    "argmax_bruteforce",
]


def _entropy(s):
    s = check_positive("s", s)
    if np.any(s > np.log(2) + 1e-12):
        raise ValueError(f"parameter 's' (entropy per degree of freedom) must be in (0, log 2] "
                         f"(got {float(np.max(s))!r})")
    return s


def gamma_n_gaussian(n, W, Delta, gamma, Xi, s, d=1):
    r"""Rate of an n^d-particle rearrangement with a Gaussian bath, Eq. (A1).

    .. math:: \Gamma_n = \frac{\gamma^2}{W}\exp\!\left(-\frac{2n^d}{\Xi}
              - \frac{\Delta^2}{W^2}e^{-2s n^d}\right)

    Parameters
    ----------
    n : array_like
        Linear size of the rearrangement (>= 0).
    W : array_like
        Gaussian bath width (energy), > 0.
    Delta : array_like
        Single-rearrangement energy scale (energy), > 0.
    gamma : array_like
        Coupling (energy), > 0.
    Xi : array_like
        Fock-space localisation length, > 0.
    s : array_like
        Entropy per degree of freedom, in (0, log 2].
    d : int
        Dimension (rearranged volume n^d).

    Returns
    -------
    ndarray
        Gamma_n (rate).
    """
    n = as_float("n", n)
    if np.any(n < 0):
        raise ValueError("parameter 'n' must be >= 0")
    W = check_positive("W", W)
    Delta = check_positive("Delta", Delta)
    gamma = check_positive("gamma", gamma)
    Xi = check_positive("Xi", Xi)
    s = _entropy(s)
    x = n ** float(d)
    return gamma**2 / W * np.exp(-2 * x / Xi - (Delta / W) ** 2 * np.exp(-2 * s * x))


def nhat_d_a2_printed(W, Delta, Xi, s):
    r"""Optimal volume as printed, Eq. (A2).

    :math:`\hat n^d = \frac{1}{2s}\log\!\left(\frac{\Delta^2}{W^2}\frac{\Xi s}{2}\right)`.

    Parameters
    ----------
    W, Delta : array_like
        Bath width and level scale (energy), > 0; the log argument must exceed 1.
    Xi : array_like
        Fock-space localisation length, > 0.
    s : array_like
        Entropy per degree of freedom, in (0, log 2].

    Returns
    -------
    ndarray
        nhat^d (dimensionless).
    """
    W = check_positive("W", W)
    Delta = check_positive("Delta", Delta)
    Xi = check_positive("Xi", Xi)
    s = _entropy(s)
    arg = Delta**2 / W**2 * Xi * s / 2
    check_less("W**2", 1.0, arg, what="log argument Delta^2 Xi s/(2 W^2) must exceed 1")
    return np.log(arg) / (2 * s)


def nhat_d_a2_corrected(W, Delta, Xi, s):
    r"""Exact maximiser of Eq. (A1): :math:`\hat n^d = \frac{1}{2s}\log\!\left(\frac{\Delta^2}{W^2}\Xi s\right)`.

    Derivation: ``f(x) = -2x/Xi - (Delta/W)^2 exp(-2 s x)``,
    ``f'(x) = -2/Xi + 2 s (Delta/W)^2 exp(-2 s x) = 0`` and ``f'' < 0``.
    Valid (maximum at x > 0) when ``Delta^2 Xi s / W^2 > 1``; otherwise the
    optimum is at the boundary n = 0 and ValueError is raised.

    Parameters
    ----------
    W : array_like
        Gaussian bath width (energy), > 0.
    Delta : array_like
        Single-rearrangement energy scale (energy), > 0.
    Xi : array_like
        Fock-space localisation length (dimensionless), > 0.
    s : array_like
        Entropy per degree of freedom, in (0, log 2].

    Returns
    -------
    ndarray
        nhat^d (dimensionless).
    """
    W = check_positive("W", W)
    Delta = check_positive("Delta", Delta)
    Xi = check_positive("Xi", Xi)
    s = _entropy(s)
    arg = Delta**2 / W**2 * Xi * s
    check_less("W**2", 1.0, arg, what="log argument Delta^2 Xi s/W^2 must exceed 1")
    return np.log(arg) / (2 * s)


def gamma_n_lorentzian(n, W, Delta, gamma, Xi, K):
    r"""Rate of an n-step hop using the Lorentzian tails, Eq. (A3).

    .. math:: \Gamma_n = \frac{\gamma^2}{W}\frac{e^{-2n/\Xi}}{(\Delta/W)^2e^{-2n\log K}+1}

    Parameters
    ----------
    n : array_like
        Order (number of Fock-space steps), >= 0.
    W : array_like
        Lorentzian half-width (energy), > 0.
    Delta : array_like
        Level spacing at first order (energy), > 0.
    gamma : array_like
        Coupling (energy), > 0.
    Xi : array_like
        Fock-space localisation length, > 0.
    K : array_like
        Branching number, > 1.

    Returns
    -------
    ndarray
        Gamma_n (rate).
    """
    n = as_float("n", n)
    if np.any(n < 0):
        raise ValueError("parameter 'n' must be >= 0")
    W = check_positive("W", W)
    Delta = check_positive("Delta", Delta)
    gamma = check_positive("gamma", gamma)
    check_kappa(Xi, K, regime="any", eq="Eq. (A3)")
    Xi = np.asarray(Xi, float)
    logK = np.log(np.asarray(K, float))
    return gamma**2 / W * np.exp(-2 * n / Xi - np.logaddexp(0.0, 2 * np.log(Delta / W) - 2 * n * logK))


def exp_a4(W, Delta, Xi, K):
    r"""Stationarity condition of Eq. (A3), Eq. (A4): the optimal
    :math:`e^{-2n\log K} = \frac{W^2}{\Delta^2}\frac{1/\Xi}{\log K - 1/\Xi}`.

    Requires ``Xi log K > 1`` (else Eq. A3 decreases monotonically in n and
    the optimum is the lowest order).

    Parameters
    ----------
    W : array_like
        Lorentzian half-width (energy), > 0.
    Delta : array_like
        Level spacing at first order (energy), > 0.
    Xi : array_like
        Fock-space localisation length (dimensionless), > 0.
    K : array_like
        Branching number, > 1, with Xi log K > 1.

    Returns
    -------
    ndarray
        The optimal exp(-2 n log K) (dimensionless).
    """
    W = check_positive("W", W)
    Delta = check_positive("Delta", Delta)
    check_kappa(Xi, K, regime=">1", eq="Eq. (A4)")
    Xi = np.asarray(Xi, float)
    logK = np.log(np.asarray(K, float))
    return W**2 / Delta**2 * (1 / Xi) / (logK - 1 / Xi)


def nhat_a5(W, Delta, Xi, K):
    r"""Optimal order for the Lorentzian bath, Eq. (A5):
    :math:`\hat n = \frac{1}{\log K}\left[\log(\Delta/W) + \tfrac12\log(\Xi\log K - 1)\right]`.

    Exact maximiser of Eq. (A3) over real n (Eq. A4 solved for n).
    Requires ``Xi log K > 1``.

    Parameters
    ----------
    W : array_like
        Lorentzian half-width (energy), > 0.
    Delta : array_like
        Level spacing at first order (energy), > 0.
    Xi : array_like
        Fock-space localisation length (dimensionless), > 0.
    K : array_like
        Branching number, > 1, with Xi log K > 1.

    Returns
    -------
    ndarray
        nhat (dimensionless order).
    """
    W = check_positive("W", W)
    Delta = check_positive("Delta", Delta)
    kappa = check_kappa(Xi, K, regime=">1", eq="Eq. (A5)")
    logK = np.log(np.asarray(K, float))
    return (np.log(Delta / W) + 0.5 * np.log(kappa - 1)) / logK


def argmax_bruteforce(func, n_max, n_points=200001, integer=False):
    """Brute-force maximiser of ``func(n)`` over ``[0, n_max]``.

    Parameters
    ----------
    func : callable
        Vectorised function of n (e.g. a ``functools.partial`` of
        :func:`gamma_n_gaussian`); should return log-safe positive values.
    n_max : float
        Upper end of the search interval (same units as n).
    n_points : int
        Grid size for the continuous search (grid spacing n_max/(n_points-1));
        the grid maximum is refined by a parabola through its neighbours.
    integer : bool
        Search integers 0..floor(n_max) only.

    Returns
    -------
    float
        The maximising n.
    """
    if integer:
        n = np.arange(0, int(np.floor(n_max)) + 1, dtype=float)
        with np.errstate(divide="ignore"):
            return float(n[np.argmax(np.log(func(n)))])
    n = np.linspace(0.0, float(n_max), int(n_points))
    with np.errstate(divide="ignore"):
        y = np.log(func(n))
    i = int(np.argmax(y))
    if 0 < i < len(n) - 1:
        h = n[1] - n[0]
        y0, y1, y2 = y[i - 1], y[i], y[i + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            return float(n[i] + 0.5 * h * (y0 - y2) / den)
    return float(n[i])
