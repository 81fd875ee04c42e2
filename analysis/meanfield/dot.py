"""Section IV B-D: a quantum dot (AGKL model) coupled to a slowly fluctuating
bath, and the two halves of the paper's self-consistency: the linewidth
Gamma_2 from the decay rate Gamma_1 (Eqs. 11, 12) and Gamma_1 from the bath
linewidth (Eqs. 13-17).

Conventions (hbar = 1; every energy and rate in one unit, e.g. units of gamma):

* ``gamma``   interdot coupling scale / matrix element (energy).
* ``delta_m`` accessible level spacing of the dot (energy).
* ``K``       Fock-space (Cayley-tree) branching number, > 1 (dimensionless).
* ``Xi``      Fock-space localisation length (dimensionless): the amplitude of
  an n-th order rearrangement is ``exp(-n/Xi)``; ``kappa = Xi log K``.
* ``N2``      the paper's ``N^2``: the number of transitions per dot
  (flip dynamics: M; hop dynamics: n(M-n)).  The paper writes N^2 because a
  dot of N levels has ~N^2 particle-hole transitions.
* ``z``       coordination number of the dot lattice (only in the log-free
  version of Eq. 12 and in Eqs. 18, 23).
* ``d``       spatial dimension of the dot lattice.
* ``w``       apparent bath linewidth ``Gamma_2^2/Gamma_1`` (energy), Sec. IV D.

Order-sum conventions (Eqs. 13-15): ``m, n >= 1`` are the orders of the
rearrangement in the system and in the bath; only the total order
``N = m + n`` enters, so it carries multiplicity ``N - 1``.  The detuning at
total order N is ``delta_m K^{-N}``; the bath Lorentzian has half-width ``w``.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from ._common import (as_float, check_greater, check_kappa, check_less,
                      check_positive, log_lambertw0_exp)

__all__ = [
    "gamma_eq10",
    "nc_eq10",
    "nc_eq11",
    "gamma2_eq11",
    "gamma2_eq12",
    "fock_order_Nc",
    "gamma1_eq14_rate",
    "gamma_n_order",
    "gamma1_eq15_rate",
    "gamma1_eq16_rate",
    "gamma1_eq17_rate",
    "gamma1_eq15",
    "gamma1_eq16",
    "gamma1_eq17",
    "eq17_prefactor",
]


def _dim(d):
    d = as_float("d", d)
    if np.any((d < 1) | (d != np.round(d))):
        raise ValueError(f"parameter 'd' (spatial dimension) must be an integer >= 1 (got {d!r})")
    return d


# ---------------------------------------------------------------- Sec. IV B
def nc_eq10(W, delta_m, K):
    r"""Smallest Fock-space order on shell to precision W: ``n_c = log(delta_m/W)/log K``.

    Parameters
    ----------
    W : array_like
        Bath bandwidth (energy), ``0 < W < delta_m``.
    delta_m : array_like
        Accessible level spacing (energy).
    K : array_like
        Fock-space branching number (> 1).

    Returns
    -------
    ndarray
        n_c (dimensionless order).
    """
    W = check_positive("W", W)
    delta_m = check_positive("delta_m", delta_m)
    check_less("W", W, delta_m, what="narrow-band regime W < delta_m")
    K = check_greater("K", K, 1.0)
    return np.log(delta_m / W) / np.log(K)


def gamma_eq10(W, gamma, delta_m, Xi, K, bath="bounded"):
    r"""Golden-rule decay rate of a dot level in a narrow bath, paper Eq. (10).

    .. math:: \Gamma(W) = \frac{\gamma^2}{W}\left(\frac{W}{\delta_m}\right)^{2/(\Xi\log K)}

    Parameters
    ----------
    W : array_like
        Bath bandwidth (energy), ``0 < W < delta_m``.
    gamma : array_like
        System-bath coupling (energy), > 0.
    delta_m : array_like
        Accessible level spacing (energy), > 0.
    Xi : array_like
        Fock-space localisation length (dimensionless), > 0.
    K : array_like
        Fock-space branching number, > 1.
    bath : {"bounded", "lorentzian"}
        For a Lorentzian bath the formula holds only for ``Xi log K > 1``
        (otherwise lowest-order processes in the tails dominate, Eq. 17), and
        a ValueError is raised there.

    Returns
    -------
    ndarray
        Gamma(W) (rate).
    """
    W = check_positive("W", W)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    check_less("W", W, delta_m, what="narrow-band regime W < delta_m")
    if bath == "lorentzian":
        kappa = check_kappa(Xi, K, regime=">1", eq="Eq. (10) with a Lorentzian bath")
    elif bath == "bounded":
        kappa = check_kappa(Xi, K, regime="any", eq="Eq. (10)")
    else:
        raise ValueError(f"parameter 'bath' must be 'bounded' or 'lorentzian' (got {bath!r})")
    return gamma**2 / W * (W / delta_m) ** (2.0 / kappa)


# ---------------------------------------------------------------- Eqs. 11-12
def nc_eq11(gamma1, gamma, N2, d):
    r"""Sensitivity radius n_c of Eq. (11), solved exactly.

    Eq. (11): ``n_c^d N2 Gamma_1 = gamma exp(-n_c)`` (a level is sensitive to
    every transition within the distance n_c at which the interdot coupling
    equals the linewidth).  Exact solution:
    ``n_c = d W_0[(gamma/(N2 Gamma_1))^{1/d}/d]``; Eq. (11)'s leading-order
    answer is ``n_c ~ log(gamma/(N2 Gamma_1))``.

    Parameters
    ----------
    gamma1 : array_like
        Decay rate of a typical level (rate), > 0.
    gamma : array_like
        Nearest-neighbour interdot coupling (energy), > 0; the coupling at
        distance r (in dot units) is ``gamma exp(-r)``.
    N2 : array_like
        Transitions per dot (the paper's N^2), > 0.
    d : int
        Spatial dimension.

    Returns
    -------
    ndarray
        n_c (distance in dot spacings).
    """
    gamma1 = check_positive("gamma1", gamma1)
    gamma = check_positive("gamma", gamma)
    N2 = check_positive("N2", N2)
    d = _dim(d)
    t = np.log(gamma / (N2 * gamma1)) / d - np.log(d)
    return d * np.exp(log_lambertw0_exp(t))


def gamma2_eq11(gamma1, gamma, N2, d):
    """Linewidth from Eq. (11) with the exact n_c: ``Gamma_2 = gamma exp(-n_c)``.

    This is Eq. (12) *including* the log(log) corrections the paper drops.

    Parameters
    ----------
    gamma1 : array_like
        Decay rate of a typical level (rate), > 0.
    gamma : array_like
        Nearest-neighbour interdot coupling (energy), > 0.
    N2 : array_like
        Transitions per dot (the paper's N^2), > 0.
    d : int
        Spatial dimension of the dot lattice, >= 1.

    Returns
    -------
    ndarray
        Gamma_2 (rate).
    """
    return np.asarray(gamma, float) * np.exp(-nc_eq11(gamma1, gamma, N2, d))


def gamma2_eq12(gamma1, gamma, N2, d, log_correction=True, z=None):
    r"""Linewidth Gamma_2 from the decay rate Gamma_1, paper Eq. (12).

    With the log correction:
    :math:`\Gamma_2 = N^2\Gamma_1\log^d[\gamma/(N^2\Gamma_1)]`.
    Without it (the paper's Sec. IV E simplification, "qualitatively similar
    to neglecting the Hartree terms"): ``Gamma_2 = z N2 Gamma_1``, i.e. a level
    feels the transitions of its z neighbouring dots only; this is the
    convention that reproduces Eq. (18) exactly.

    Parameters
    ----------
    gamma1 : array_like
        Decay rate of a typical level (rate), > 0 (0 allowed: gives 0).
    gamma : array_like
        Interdot coupling (energy), > 0.
    N2 : array_like
        Transitions per dot (paper's N^2), > 0.
    d : int
        Spatial dimension.
    log_correction : bool
        Include the ``log^d`` factor (default True).  Requires
        ``N2 gamma1 < gamma`` so that the log is positive.
    z : array_like, optional
        Coordination number; required when ``log_correction=False``.

    Returns
    -------
    ndarray
        Gamma_2 (rate).
    """
    g1 = as_float("gamma1", gamma1)
    if np.any(~(g1 >= 0)):
        raise ValueError(f"parameter 'gamma1' must be >= 0 (got {float(np.min(g1))!r})")
    gamma = check_positive("gamma", gamma)
    N2 = check_positive("N2", N2)
    d = _dim(d)
    if not log_correction:
        if z is None:
            raise ValueError("parameter 'z' (coordination number, > 0) is required when log_correction=False")
        z = check_positive("z", z)
        return z * N2 * g1
    check_less("N2*gamma1", N2 * g1, gamma, what="Eq. (12) needs gamma/(N2 gamma1) > 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        ell = np.log(gamma / (N2 * g1))
        out = N2 * g1 * ell**d
    return np.where(g1 == 0, 0.0, out)


# ---------------------------------------------------------------- Eqs. 13-15
def fock_order_Nc(w, delta_m, K):
    r"""Crossover order of Eq. (15): ``N_c = log(delta_m Gamma_1/Gamma_2^2)/log K``.

    Parameters
    ----------
    w : array_like
        Apparent bath linewidth ``Gamma_2^2/Gamma_1`` (energy), > 0.
    delta_m : array_like
        Accessible level spacing (energy), > 0.
    K : array_like
        Fock-space branching number, > 1.

    Returns
    -------
    ndarray
        N_c (dimensionless; orders below it are off-resonant, in the
        Lorentzian tails).
    """
    w = check_positive("w", w)
    delta_m = check_positive("delta_m", delta_m)
    K = check_greater("K", K, 1.0)
    return np.log(delta_m / w) / np.log(K)


def _log_sum_lin_geom(c, sgn, m, lam):
    """log sum_{k=0}^{m} (c + sgn*k) exp(-lam*k), all terms positive.

    ``lam >= 0``; ``m`` integer-valued (may be inf when lam > 0 and sgn > 0).
    Closed forms with expm1; a Taylor expansion where lam*m is tiny.
    """
    c, m, lam = np.broadcast_arrays(np.asarray(c, float), np.asarray(m, float), np.asarray(lam, float))
    out = np.empty(c.shape)
    inf = np.isinf(m)
    small = ~inf & (lam * m < 1e-4)
    big = ~inf & ~small
    if np.any(inf):
        lm = lam[inf]
        one_m_rho = -np.expm1(-lm)
        rho = np.exp(-lm)
        out[inf] = np.log(c[inf] / one_m_rho + sgn * rho / one_m_rho**2)
    if np.any(small):
        mm, lm, cc = m[small], lam[small], c[small]
        M0 = mm + 1
        M1 = mm * (mm + 1) / 2
        M2 = mm * (mm + 1) * (2 * mm + 1) / 6
        M3 = M1**2
        M4 = mm * (mm + 1) * (2 * mm + 1) * (3 * mm**2 + 3 * mm - 1) / 30
        S0 = M0 - lm * M1 + lm**2 * M2 / 2 - lm**3 * M3 / 6
        S1 = M1 - lm * M2 + lm**2 * M3 / 2 - lm**3 * M4 / 6
        out[small] = np.log(cc * S0 + sgn * S1)
    if np.any(big):
        mm, lm, cc = m[big], lam[big], c[big]
        one_m_rho = -np.expm1(-lm)
        S0 = -np.expm1(-lm * (mm + 1)) / one_m_rho
        A = np.exp(-lm) * (-np.expm1(-lm * mm)) / one_m_rho
        B = mm * np.exp(-lm * (mm + 1))
        S1 = (A - B) / one_m_rho
        out[big] = np.log(cc * S0 + sgn * S1)
    return out


def _log_weighted_sum(logr, a, b):
    """log sum_{N=a}^{b} (N-1) r^N for integers 2 <= a; b may be inf (needs r < 1).

    Returns -inf where a > b.  Vectorised.
    """
    logr, a, b = np.broadcast_arrays(np.asarray(logr, float), np.asarray(a, float), np.asarray(b, float))
    out = np.full(logr.shape, -np.inf)
    ok = b >= a
    dec = ok & (logr <= 0)
    inc = ok & (logr > 0)
    if np.any(dec):
        out[dec] = a[dec] * logr[dec] + _log_sum_lin_geom(a[dec] - 1, +1, b[dec] - a[dec], -logr[dec])
    if np.any(inc):
        out[inc] = b[inc] * logr[inc] + _log_sum_lin_geom(b[inc] - 1, -1, b[inc] - a[inc], logr[inc])
    return out


def _log_rate_eq15(s, lg, ldm, Xi, logK):
    """log of the Eq. (15) rate as a function of s = log w (all in logs)."""
    s, lg, ldm, Xi, logK = np.broadcast_arrays(s, lg, ldm, Xi, logK)
    Nc = (ldm - s) / logK
    M = np.ceil(Nc) - 1.0  # largest integer strictly below N_c
    lo2 = np.maximum(M + 1.0, 2.0)
    first = 2 * lg + s - 2 * ldm + _log_weighted_sum(2 * logK - 2.0 / Xi, 2.0, M)
    second = 2 * lg - s + _log_weighted_sum(-2.0 / Xi, lo2, np.inf)
    return np.logaddexp(first, second)


def gamma1_eq15_rate(w, gamma, delta_m, Xi, K):
    r"""Right-hand side of paper Eq. (15): the decay rate for a bath of linewidth w.

    .. math::
        \Gamma_1 = \frac{\gamma^2 w}{\delta_m^2}\sum_{2\le N<N_c}(N-1)e^{-N(2/\Xi-2\log K)}
                 + \frac{\gamma^2}{w}\sum_{N\ge N_c}(N-1)e^{-2N/\Xi},
        \quad N_c=\frac{\log(\delta_m/w)}{\log K}

    with ``w = Gamma_2^2/Gamma_1``; ``N = m + n`` (m, n >= 1, multiplicity
    N - 1).  Evaluated with exact closed-form partial sums in log space.

    Parameters
    ----------
    w : array_like
        Apparent bath linewidth Gamma_2^2/Gamma_1 (energy), > 0.
    gamma : array_like
        Coupling (energy), > 0.
    delta_m : array_like
        Level spacing (energy), > 0.
    Xi : array_like
        Fock-space localisation length, > 0.
    K : array_like
        Branching number, > 1.

    Returns
    -------
    ndarray
        Gamma_1 (rate) given w.
    """
    w = check_positive("w", w)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    check_kappa(Xi, K, regime="any", eq="Eq. (15)")
    Xi = np.asarray(Xi, float)
    return np.exp(_log_rate_eq15(np.log(w), np.log(gamma), np.log(delta_m), Xi, np.log(np.asarray(K, float))))


def _log_terms_eq14(N, s, lg, ldm, Xi, logK, fock_decay=2.0, multiplicity=True):
    """log of the total-order-N term of Eq. (14) (broadcast N against s)."""
    lor = np.logaddexp(0.0, 2 * (ldm - s) - 2 * N * logK)
    mult = np.log(N - 1.0) if multiplicity else 0.0
    return 2 * lg - s + mult - fock_decay * N / Xi - lor


def gamma_n_order(n, w, gamma, delta_m, Xi, K, multiplicity=True):
    r"""Decay rate from total order n rearrangements (system + bath): Fig. 6's Gamma_n.

    The order-n term of Eq. (14) (with the exponent ``2(n+m)/Xi`` of Eqs. 13
    and 15 and a Lorentzian of half-width w):

    .. math:: \Gamma_n = \frac{\gamma^2}{w}\,(n-1)\,
        \frac{e^{-2n/\Xi}}{1+(\delta_m/w)^2K^{-2n}}

    Parameters
    ----------
    n : array_like
        Total order m + n of the rearrangement (>= 2).
    w : array_like
        Apparent bath linewidth Gamma_2^2/Gamma_1 (energy), > 0.
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    Xi : array_like
        Fock-space localisation length, > 0.
    K : array_like
        Branching number, > 1.
    multiplicity : bool
        Include the factor n - 1 (number of (m, n) splittings).

    Returns
    -------
    ndarray
        Gamma_n (rate), broadcast over n and w.
    """
    n = check_greater("n", n, 1.0, what="total order m+n with m, n >= 1 is >= 2")
    w = check_positive("w", w)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    check_kappa(Xi, K, regime="any", eq="Eq. (14)")
    return np.exp(_log_terms_eq14(n, np.log(w), np.log(gamma), np.log(delta_m), np.asarray(Xi, float),
                                  np.log(np.asarray(K, float)), multiplicity=multiplicity))


def gamma1_eq14_rate(w, gamma, delta_m, Xi, K, fock_decay=2.0, n_max=None):
    r"""Smooth order sum of paper Eqs. (13)/(14): Gamma_1 for a bath of linewidth w.

    .. math:: \Gamma_1 = \frac{\gamma^2}{w}\sum_{m,n\ge1}
        \frac{e^{-c(m+n)/\Xi}}{1+(\delta_m/w)^2 K^{-2(m+n)}}

    with ``c = fock_decay``.  Eq. (13) and Eq. (15) have ``c = 2`` (amplitude
    ``exp(-(n+m)/Xi)`` squared); the printed Eq. (14) has ``c = 1``, a typo
    (it would not lead to Eq. 15).  Eq. (13)'s printed Lorentzian
    ``w/(dE^2 + w)`` must read ``w/(dE^2 + w^2)`` for dimensional consistency.

    Parameters
    ----------
    w : array_like
        Apparent bath linewidth (energy), > 0.
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    Xi : array_like
        Fock-space localisation length, > 0.
    K : array_like
        Branching number, > 1.
    fock_decay : float
        Coefficient c above (2 = consistent with Eqs. 13 and 15).
    n_max : int, optional
        Largest total order kept (default: N_c + enough tail for 1e-16).

    Returns
    -------
    ndarray
        Gamma_1 (rate).
    """
    w = check_positive("w", w)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    check_kappa(Xi, K, regime="any", eq="Eq. (14)")
    Xi = np.asarray(Xi, float)
    logK = np.log(np.asarray(K, float))
    s, lg, ldm, Xi, logK = np.broadcast_arrays(np.log(w), np.log(gamma), np.log(delta_m), Xi, logK)
    if n_max is None:
        Nc = np.max((ldm - s) / logK)
        n_max = int(max(Nc, 2) + 40 * np.max(Xi) / fock_decay + 60)
    N = np.arange(2, n_max + 1, dtype=float)
    terms = _log_terms_eq14(N, s[..., None], lg[..., None], ldm[..., None], Xi[..., None], logK[..., None],
                            fock_decay=fock_decay)
    m = np.max(terms, axis=-1, keepdims=True)
    return np.exp(m[..., 0] + np.log(np.sum(np.exp(terms - m), axis=-1)))


# ---------------------------------------------------------------- Eqs. 16-17
def eq17_prefactor(Xi, K, kind="printed"):
    r"""Prefactor ``c`` of Eq. (17) written as ``Gamma_1 = c (Gamma_2^2/Gamma_1)(gamma/delta_m)^2``.

    ``kind="printed"``: c = 1 (Eq. 17 as printed).  ``kind="lowest_order"``:
    ``c = exp[-4(1/Xi - log K)]``, the lowest-order (m = n = 1) term of
    Eq. (15); this is the version that the printed lower branch of Eq. (19)
    (factor ``exp[2(1 - Xi log K)/(Xi d)]``) actually uses.

    Parameters
    ----------
    Xi : array_like
        Fock-space localisation length, > 0.
    K : array_like
        Branching number, > 1.
    kind : {"printed", "lowest_order"}

    Returns
    -------
    ndarray
        c (dimensionless).
    """
    kappa = check_kappa(Xi, K, regime="any", eq="Eq. (17)")
    if kind == "printed":
        return np.ones_like(kappa)
    if kind == "lowest_order":
        Xi = np.asarray(Xi, float)
        return np.exp(-4.0 * (1.0 / Xi - np.log(np.asarray(K, float))))
    raise ValueError(f"parameter 'kind' must be 'printed' or 'lowest_order' (got {kind!r})")


def gamma1_eq16_rate(w, gamma, delta_m, Xi, K):
    r"""Right-hand side of paper Eq. (16) (collective regime, ``Xi log K > 1``).

    .. math:: \Gamma_1 = \frac{\gamma^2}{w}\left(\frac{w}{\delta_m}\right)^{2/(\Xi\log K)}

    Parameters
    ----------
    w : array_like
        Apparent bath linewidth Gamma_2^2/Gamma_1 (energy), ``0 < w < delta_m``.
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    Xi, K : array_like
        Fock-space localisation length (> 0) and branching number (> 1),
        with ``Xi log K > 1``.

    Returns
    -------
    ndarray
        Gamma_1 (rate).
    """
    w = check_positive("w", w)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    kappa = check_kappa(Xi, K, regime=">1", eq="Eq. (16)")
    return np.exp(2 * np.log(gamma) - np.log(w) + (2.0 / kappa) * (np.log(w) - np.log(delta_m)))


def gamma1_eq17_rate(w, gamma, delta_m, Xi=None, K=None, prefactor="printed"):
    r"""Right-hand side of paper Eq. (17) (lowest-order regime, ``Xi log K < 1``).

    .. math:: \Gamma_1 = c\, w\,(\gamma/\delta_m)^2

    Parameters
    ----------
    w : array_like
        Apparent bath linewidth (energy), > 0.
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    Xi, K : array_like, optional
        Needed for ``prefactor="lowest_order"`` (and then ``Xi log K <= 1``
        is enforced); see :func:`eq17_prefactor`.
    prefactor : {"printed", "lowest_order"}

    Returns
    -------
    ndarray
        Gamma_1 (rate).
    """
    w = check_positive("w", w)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    c = _eq17_c(Xi, K, prefactor)
    return c * w * (gamma / delta_m) ** 2


def _eq17_c(Xi, K, prefactor):
    if prefactor == "printed":
        if Xi is not None and K is not None:
            check_kappa(Xi, K, regime="<=1", eq="Eq. (17)")
        return 1.0
    if Xi is None or K is None:
        raise ValueError("parameters 'Xi' and 'K' are required for prefactor='lowest_order'")
    check_kappa(Xi, K, regime="<=1", eq="Eq. (17)")
    return eq17_prefactor(Xi, K, "lowest_order")


def gamma1_eq16(gamma2, gamma, delta_m, Xi, K):
    r"""Gamma_1 given Gamma_2 from Eq. (16), solved exactly for the implicit w.

    Eq. (16) with ``w = Gamma_2^2/Gamma_1`` is solved by
    :math:`\Gamma_1 = (\gamma^2/\delta_m)\,(\Gamma_2/\gamma)^{2-\Xi\log K}`.

    Parameters
    ----------
    gamma2 : array_like
        Bath linewidth Gamma_2 (rate), > 0.
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    Xi, K : array_like
        Fock-space parameters with ``Xi log K > 1``.

    Returns
    -------
    ndarray
        Gamma_1 (rate).
    """
    gamma2 = check_positive("gamma2", gamma2)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    kappa = check_kappa(Xi, K, regime=">1", eq="Eq. (16)")
    return gamma**2 / delta_m * (gamma2 / gamma) ** (2.0 - kappa)


def gamma1_eq17(gamma2, gamma, delta_m, Xi=None, K=None, prefactor="printed"):
    r"""Gamma_1 given Gamma_2 from Eq. (17), solved exactly: ``Gamma_1 = sqrt(c) Gamma_2 gamma/delta_m``.

    Parameters
    ----------
    gamma2 : array_like
        Bath linewidth Gamma_2 (rate), > 0.
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    Xi, K, prefactor :
        See :func:`gamma1_eq17_rate`.

    Returns
    -------
    ndarray
        Gamma_1 (rate).
    """
    gamma2 = check_positive("gamma2", gamma2)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    c = _eq17_c(Xi, K, prefactor)
    return np.sqrt(c) * gamma2 * gamma / delta_m


def gamma1_eq15(gamma2, gamma, delta_m, Xi, K):
    """Gamma_1 given Gamma_2 from Eq. (15), solving the implicit ``w = Gamma_2^2/Gamma_1``.

    Writing ``s = log w`` and ``rho(s) = log`` of the Eq. (15) rate, the
    equation is ``s + rho(s) = 2 log Gamma_2``; its root is bracketed on a
    grid of s between ``log delta_m - 2 log K`` (N_c = 2) and far below, and
    polished with Brent's method (relative tolerance 1e-13 in s).
    Scalar-or-array; loops over elements.

    Parameters
    ----------
    gamma2 : array_like
        Bath linewidth Gamma_2 (rate), > 0.
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    Xi, K : array_like
        Fock-space localisation length and branching number.

    Returns
    -------
    ndarray
        Gamma_1 (rate); NaN where no root with N_c >= 2 exists.
    """
    gamma2 = check_positive("gamma2", gamma2)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    check_kappa(Xi, K, regime="any", eq="Eq. (15)")
    b = np.broadcast_arrays(gamma2, gamma, delta_m, np.asarray(Xi, float), np.asarray(K, float))
    out = np.empty(b[0].shape)
    for idx in np.ndindex(out.shape):
        g2, g, dm, X, KK = (float(a[idx]) for a in b)
        lg, ldm, lK = np.log(g), np.log(dm), np.log(KK)
        target = 2 * np.log(g2)

        def chi(s):
            return s + float(_log_rate_eq15(np.asarray(s), lg, ldm, X, lK)) - target

        s_hi = ldm - 2 * lK
        grid = s_hi - np.concatenate([[0.0], np.logspace(-3, 5, 400)])
        vals = np.array([chi(s) for s in grid])
        sign = np.nonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))[0]
        if len(sign) == 0:
            out[idx] = np.nan
            continue
        i = sign[0]
        s_root = brentq(chi, grid[i + 1], grid[i], xtol=1e-13, rtol=1e-15, maxiter=200)
        out[idx] = np.exp(2 * np.log(g2) - s_root)
    return out
