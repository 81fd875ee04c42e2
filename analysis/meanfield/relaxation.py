"""Section II of the paper: an l-bit (fully MBL) system coupled to a slowly
fluctuating external bath of bandwidth W.

Conventions (hbar = 1; energies and rates share one unit):

* ``W``      bath bandwidth (energy), narrow-band regime ``W < Delta``.
* ``Delta``  typical energy change of a single l-bit flip (energy).
* ``gamma``  system-bath coupling (energy).
* ``xi``     real-space localisation length (lattice units).
* ``Xi``     Fock-space localisation length (dimensionless; the matrix element
  of an n^d-spin rearrangement is ``exp(-n^d / Xi)``).
* ``s``      entropy per l-bit s(T), ``0 < s <= log 2``.
* ``d``      spatial dimension.

Golden-rule rates are ``gamma^2 |M|^2 / W`` with ``M`` the *amplitude* of the
rearrangement; hence every localisation length enters the rate twice.  The
printed Eq. (5) has exponent ``1/(Xi s)``; squaring the amplitude stated just
above it gives ``2/(Xi s)`` (the same factor 2 that Eq. (10) carries).  Both
versions are provided (:func:`gamma_b_printed`, :func:`gamma_b_corrected`).
"""
from __future__ import annotations

import numpy as np

from ._common import (as_float, check_less, check_positive, log_lambertw0_exp)

__all__ = [
    "gamma_a",
    "gamma_b_printed",
    "gamma_b_corrected",
    "nhat_d_eq6",
    "gamma_c",
    "linewidth_eq7",
    "linewidth_eq7_selfconsistent",
    "dominant_channel",
]


def _narrow_band(W, Delta):
    W = check_positive("W", W)
    Delta = check_positive("Delta", Delta)
    check_less("W", W, Delta, what="narrow-band regime W < Delta")
    return W, Delta


def _entropy(s):
    s = check_positive("s", s)
    if np.any(s > np.log(2) + 1e-12):
        raise ValueError(f"parameter 's' (entropy per l-bit) must be in (0, log 2] (got {float(np.max(s))!r})")
    return s


def _dimension(d):
    d = as_float("d", d)
    if np.any((d < 1) | (d != np.round(d))):
        raise ValueError(f"parameter 'd' (spatial dimension) must be an integer >= 1 (got {d!r})")
    return d


def gamma_a(W, Delta, gamma, xi, d):
    r"""Long-range single-l-bit hop rate, paper Eq. (4).

    .. math:: \Gamma_a = \frac{\gamma^2}{W}\exp[-2 (\Delta/W)^{1/d}/\xi]

    A hop on shell to precision W must typically go a distance
    ``R = (Delta/W)^(1/d)`` (lattice units); its amplitude is ``exp(-R/xi)``.

    Parameters
    ----------
    W : array_like
        Bath bandwidth (energy), ``0 < W < Delta``.
    Delta : array_like
        Typical energy change of a single l-bit flip (energy), > 0.
    gamma : array_like
        System-bath coupling (energy), > 0.
    xi : array_like
        Real-space localisation length (lattice units), > 0.
    d : int
        Spatial dimension, >= 1.

    Returns
    -------
    ndarray
        Relaxation rate Gamma_a (rate = energy units).
    """
    W, Delta = _narrow_band(W, Delta)
    gamma = check_positive("gamma", gamma)
    xi = check_positive("xi", xi)
    d = _dimension(d)
    return gamma**2 / W * np.exp(-2.0 * (Delta / W) ** (1.0 / d) / xi)


def _Xi_eff(Xi, xi, d):
    """Fock length entering the power law: Xi in d > 1, xi Xi/(xi + Xi) in d = 1."""
    Xi = check_positive("Xi", Xi)
    d = _dimension(d)
    if xi is None:
        return Xi * np.ones_like(d)
    xi = check_positive("xi", xi)
    return np.where(d == 1, xi * Xi / (xi + Xi), Xi)


def gamma_b_printed(W, Delta, gamma, Xi, s, d=2, xi=None):
    r"""Multiple-l-bit rearrangement rate as printed, paper Eq. (5).

    .. math:: \Gamma_b = \frac{\gamma^2}{W}\left(\frac{W}{\Delta}\right)^{1/(\Xi s)}

    In ``d = 1`` the paper replaces ``Xi`` by ``xi Xi/(xi + Xi)`` (pass ``xi``
    to apply that replacement; in ``d > 1`` ``xi`` is ignored).  See
    :func:`gamma_b_corrected` for the exponent ``2/(Xi s)`` that follows from
    squaring the amplitude ``exp(-n^d/Xi)``.

    Parameters
    ----------
    W : array_like
        Bath bandwidth (energy), ``0 < W < Delta``.
    Delta : array_like
        Single l-bit flip energy scale (energy), > 0.
    gamma : array_like
        System-bath coupling (energy), > 0.
    Xi : array_like
        Fock-space localisation length (dimensionless), > 0.
    s : array_like
        Entropy per l-bit s(T) (dimensionless), in (0, log 2].
    d : int, optional
        Spatial dimension (default 2).
    xi : array_like, optional
        Real-space localisation length (lattice units), used only in d = 1.

    Returns
    -------
    ndarray
        Gamma_b (rate).
    """
    return _gamma_b(W, Delta, gamma, Xi, s, d, xi, 1.0)


def gamma_b_corrected(W, Delta, gamma, Xi, s, d=2, xi=None):
    r"""Multiple-l-bit rearrangement rate with the squared amplitude, Eq. (5) corrected.

    .. math:: \Gamma_b = \frac{\gamma^2}{W}\left(\frac{W}{\Delta}\right)^{2/(\Xi s)}

    Derivation: the rearranged volume satisfies ``s nhat^d = log(Delta/W)``;
    the golden-rule rate is ``gamma^2/W |exp(-nhat/xi - nhat^d/Xi)|^2``
    ``= gamma^2/W (W/Delta)^{2/(Xi s)}`` to leading order in d > 1 (in d = 1,
    ``Xi -> xi Xi/(xi+Xi)`` exactly).

    Parameters
    ----------
    W : array_like
        Bath bandwidth (energy), ``0 < W < Delta``.
    Delta : array_like
        Single l-bit flip energy scale (energy), > 0.
    gamma : array_like
        System-bath coupling (energy), > 0.
    Xi : array_like
        Fock-space localisation length (dimensionless), > 0.
    s : array_like
        Entropy per l-bit s(T) (dimensionless), in (0, log 2].
    d : int, optional
        Spatial dimension (default 2).
    xi : array_like, optional
        Real-space localisation length (lattice units), used only in d = 1.

    Returns
    -------
    ndarray
        Gamma_b (rate).
    """
    return _gamma_b(W, Delta, gamma, Xi, s, d, xi, 2.0)


def _gamma_b(W, Delta, gamma, Xi, s, d, xi, power):
    """gamma^2/W (W/Delta)^(power/(Xi s)): Eq. (5) as printed (power 1) or corrected (2)."""
    W, Delta = _narrow_band(W, Delta)
    gamma = check_positive("gamma", gamma)
    s = _entropy(s)
    Xe = _Xi_eff(Xi, xi, d)
    return gamma**2 / W * (W / Delta) ** (power / (Xe * s))


def nhat_d_eq6(W, Delta, s, exact=False):
    r"""Rearranged volume ``nhat^d`` of the higher-order channel, paper Eq. (6).

    The paper defines ``n_c`` by ``Delta exp(-s n_c^d) = n_c^d W`` and uses the
    approximate solution ``nhat^d = log(Delta/W)/s``.  With ``exact=True`` the
    defining equation is solved exactly: ``x e^{s x} = Delta/W`` gives
    ``x = W_0(s Delta / W)/s`` (Lambert W).

    Parameters
    ----------
    W : array_like
        Bath bandwidth (energy), ``0 < W < Delta``.
    Delta : array_like
        Single l-bit flip energy scale (energy).
    s : array_like
        Entropy per l-bit (dimensionless), in (0, log 2].
    exact : bool
        Solve the defining equation exactly (Lambert W) instead of the
        leading-order estimate.

    Returns
    -------
    ndarray
        ``nhat^d`` (number of l-bits rearranged; dimensionless).
    """
    W, Delta = _narrow_band(W, Delta)
    s = _entropy(s)
    if exact:
        return np.exp(log_lambertw0_exp(np.log(s * Delta / W))) / s
    return np.log(Delta / W) / s


def gamma_c(W, Delta, gamma, s, form="power"):
    r"""Rate from going to high order in the system-bath coupling, paper Eq. (6).

    ``form="product"``: :math:`\gamma^{2x}/(W\Delta^{2x-2})` with
    ``x = nhat^d = log(Delta/W)/s`` (first expression of Eq. 6; every virtual
    state off shell by Delta).  ``form="power"``: the second expression
    :math:`(\gamma^2/W)(W/\Delta)^{2\log(\Delta/\gamma)/s}`, which equals the
    first one times ``(gamma/Delta)^2`` (the paper drops the "-2" in the
    exponent "for large nhat").

    Parameters
    ----------
    W : array_like
        Bath bandwidth (energy), ``0 < W < Delta``.
    Delta : array_like
        Single l-bit flip energy scale (energy).
    gamma : array_like
        System-bath coupling (energy), ``0 < gamma < Delta``.
    s : array_like
        Entropy per l-bit (dimensionless).
    form : {"power", "product"}
        Which of the two printed expressions.

    Returns
    -------
    ndarray
        Gamma_c (rate).
    """
    W, Delta = _narrow_band(W, Delta)
    gamma = check_positive("gamma", gamma)
    check_less("gamma", gamma, Delta, what="perturbative regime gamma < Delta")
    s = _entropy(s)
    if form == "power":
        return gamma**2 / W * (W / Delta) ** (2.0 * np.log(Delta / gamma) / s)
    if form == "product":
        x = np.log(Delta / W) / s
        return np.exp(2 * x * np.log(gamma) - np.log(W) - (2 * x - 2) * np.log(Delta))
    raise ValueError(f"parameter 'form' must be 'power' or 'product' (got {form!r})")


def linewidth_eq7(gamma_b, U0, s, xi, d):
    r"""Leading-order l-bit linewidth, paper Eq. (7).

    .. math:: \Gamma' = \Gamma_b s \xi^d \ln^d\!\left(\frac{U_0}{\Gamma_b s \xi^d}\right)

    It is the leading-order solution of ``Gamma' = s xi^d Gamma_b ln^d(U0/Gamma')``
    (see :func:`linewidth_eq7_selfconsistent` for the exact solution).

    Parameters
    ----------
    gamma_b : array_like
        Flip rate of a single l-bit (rate), > 0.
    U0 : array_like
        Nearest-neighbour l-bit interaction (energy); must exceed
        ``gamma_b s xi^d`` so the logarithm is positive.
    s : array_like
        Entropy per l-bit (fraction of active l-bits), in (0, log 2].
    xi : array_like
        Localisation length (lattice units), > 0.
    d : int
        Spatial dimension.

    Returns
    -------
    ndarray
        Linewidth Gamma' (rate).
    """
    gamma_b = check_positive("gamma_b", gamma_b)
    U0 = check_positive("U0", U0)
    s = _entropy(s)
    xi = check_positive("xi", xi)
    d = _dimension(d)
    A = gamma_b * s * xi**d
    check_less("gamma_b*s*xi**d", A, U0, what="log argument U0/(gamma_b s xi^d) must exceed 1")
    return A * np.log(U0 / A) ** d


def linewidth_eq7_selfconsistent(gamma_b, U0, s, xi, d):
    r"""Exact solution of the self-consistency behind Eq. (7).

    ``Gamma' = L_c^d s Gamma_b`` with ``L_c = xi log(U0/Gamma')``.  Writing
    ``y = log(U0/Gamma')`` gives ``y^d e^y = U0/A`` (``A = s xi^d Gamma_b``),
    so ``y = d W_0[(U0/A)^{1/d}/d]``.  Eq. (7) is this up to log(log) terms.

    Parameters
    ----------
    gamma_b : array_like
        Flip rate of a single l-bit (rate), > 0.
    U0 : array_like
        Nearest-neighbour l-bit interaction (energy), > 0.
    s : array_like
        Entropy per l-bit (dimensionless), in (0, log 2].
    xi : array_like
        Localisation length (lattice units), > 0.
    d : int
        Spatial dimension.

    Returns
    -------
    ndarray
        Exact linewidth Gamma' (rate).
    """
    gamma_b = check_positive("gamma_b", gamma_b)
    U0 = check_positive("U0", U0)
    s = _entropy(s)
    xi = check_positive("xi", xi)
    d = _dimension(d)
    A = gamma_b * s * xi**d
    y = d * np.exp(log_lambertw0_exp(np.log(U0 / A) / d - np.log(d)))
    return U0 * np.exp(-y)


def dominant_channel(W, Delta, gamma, xi, Xi, s, d, eq5="corrected"):
    """Which Section-II relaxation channel (Eq. 4, 5 or 6) is fastest.

    Parameters
    ----------
    W : array_like
        Bath bandwidth (energy), ``0 < W < Delta``.
    Delta : array_like
        Single l-bit flip energy (energy).
    gamma : array_like
        System-bath coupling (energy), ``0 < gamma < Delta``.
    xi : array_like
        Real-space localisation length (lattice units).
    Xi : array_like
        Fock-space localisation length (dimensionless).
    s : array_like
        Entropy per l-bit, in (0, log 2].
    d : int
        Spatial dimension (d = 1 uses ``xi Xi/(xi+Xi)`` in Eq. 5).
    eq5 : {"corrected", "printed"}
        Which version of Eq. (5) to use.

    Returns
    -------
    dict
        ``{"channel": array of 'a'|'b'|'c', "gamma_a": ..., "gamma_b": ...,
        "gamma_c": ...}`` (rates in energy units), broadcast over the inputs.
    """
    ga = gamma_a(W, Delta, gamma, xi, d)
    if eq5 == "corrected":
        gb = gamma_b_corrected(W, Delta, gamma, Xi, s, d=d, xi=xi)
    elif eq5 == "printed":
        gb = gamma_b_printed(W, Delta, gamma, Xi, s, d=d, xi=xi)
    else:
        raise ValueError(f"parameter 'eq5' must be 'corrected' or 'printed' (got {eq5!r})")
    gc = gamma_c(W, Delta, gamma, s)
    ga, gb, gc = np.broadcast_arrays(ga, gb, gc)
    stack = np.stack([ga, gb, gc])
    names = np.array(["a", "b", "c"])
    return {"channel": names[np.argmax(stack, axis=0)], "gamma_a": ga, "gamma_b": gb, "gamma_c": gc}
