"""Section IV E: self-consistent homogeneous solutions (Gamma_1, Gamma_2) and
the validity conditions Eqs. (21)-(24).

The self-consistency closes Eq. (12) (Gamma_2 from Gamma_1) with one of the
Gamma_1-from-bath laws, Eq. (15) (explicit order sum), Eq. (16)
(``Xi log K > 1``) or Eq. (17) (``Xi log K < 1``), in which the bath has the
apparent linewidth ``w = Gamma_2^2/Gamma_1``.

Iteration used for stability
----------------------------
One step maps Gamma_1 -> Gamma_2 = G(Gamma_1) (Eq. 12) -> the Gamma_1 that
solves the chosen law for that Gamma_2 (the law is an equation for Gamma_1 at
given Gamma_2, because w contains Gamma_1).  In logs, with
``rho(s) = log(rate)`` at ``s = log w`` and ``v = log Gamma_2``, the step is
``u -> u'`` with ``u' = rho(2v(u) - u')``.  A fixed point is stable when the
multiplier ``lambda = [2 rho'/(1 + rho')] dv/du`` has ``|lambda| < 1``.
For Eq. (16) ``lambda = (2 - Xi log K)(1 - d/ell)`` with
``ell = log[gamma/(N2 Gamma_1)]``; for Eq. (17) ``lambda = 1 - d/ell``.
The zero solution Gamma_1 = Gamma_2 = 0 is stable when the map sends small
Gamma_1 to smaller values, judged from the sign of ``rho(2v - u) - u`` far
below every scale (``ell = ell_max``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from ._common import (as_float, check_greater, check_kappa, check_positive,
                      lambertwm1_negexp, log_lambertw0_exp)
from .dot import _log_rate_eq15, _log_terms_eq14, eq17_prefactor

__all__ = [
    "FixedPoint",
    "solve_selfconsistent",
    "iterate_selfconsistent",
    "gamma2_eq18",
    "gamma2_eq19_printed",
    "ell_eq19_corrected",
    "gamma1_eq19_corrected",
    "gamma2_eq19_corrected",
    "gamma2_eq20_printed",
    "gamma2_eq20_corrected",
    "gamma1_eq20_corrected",
    "validity",
]

LAWS = ("auto", "eq14", "eq15", "eq16", "eq17")


def _dim(d):
    d = as_float("d", d)
    if np.any((d < 1) | (d != np.round(d))):
        raise ValueError(f"parameter 'd' (spatial dimension) must be an integer >= 1 (got {d!r})")
    return d


@dataclass
class FixedPoint:
    """One homogeneous solution of the self-consistency.

    Attributes
    ----------
    gamma1, gamma2 : float
        Decay rate and linewidth (rate units).
    multiplier : float
        d(log Gamma_1')/d(log Gamma_1) of one iteration at the fixed point
        (NaN for the zero solution).
    stable : bool or None
        ``|multiplier| < 1`` (for zero: small perturbations shrink); None if
        marginal.
    note : str
        Remarks, e.g. a root outside the monotone domain ell > d of Eq. (12).
    log_gamma1, log_gamma2 : float
        Natural logs of the rates (exact even where the rates underflow to 0);
        -inf for the zero solution.

    Use ``log_gamma1 > -inf`` (not ``gamma1 > 0``) to select nonzero roots.
    """

    gamma1: float
    gamma2: float
    multiplier: float
    stable: bool | None
    note: str = ""
    log_gamma1: float = -np.inf
    log_gamma2: float = -np.inf

    @property
    def w(self) -> float:
        """Apparent bath linewidth Gamma_2^2/Gamma_1 (energy)."""
        return self.gamma2**2 / self.gamma1 if self.gamma1 > 0 else 0.0


@dataclass
class _Model:
    gamma: float
    delta_m: float
    N2: float
    d: float
    Xi: float
    K: float
    law: str
    log_correction: bool
    z: float | None
    eq17_c: float
    extras: dict = field(default_factory=dict)

    @property
    def kappa(self):
        return self.Xi * np.log(self.K)

    # Eq. (12) in logs -------------------------------------------------
    def v(self, u):
        """log Gamma_2 and d log Gamma_2/d log Gamma_1 at u = log Gamma_1."""
        if self.log_correction:
            ell = np.log(self.gamma / self.N2) - u
            return np.log(self.N2) + u + self.d * np.log(ell), 1.0 - self.d / ell
        assert self.z is not None   # required (and checked) without the log correction
        return np.log(self.z * self.N2) + u, np.ones_like(u)

    # Gamma_1 law in logs ----------------------------------------------
    def rho(self, s):
        lg, ldm = np.log(self.gamma), np.log(self.delta_m)
        if self.law == "eq16":
            return 2 * lg - s + (2.0 / self.kappa) * (s - ldm)
        if self.law == "eq17":
            return 2 * lg + s - 2 * ldm + np.log(self.eq17_c)
        if self.law == "eq15":
            return _log_rate_eq15(s, lg, ldm, self.Xi, np.log(self.K))
        if self.law == "eq14":
            s = np.atleast_1d(np.asarray(s, float))
            Nc = np.max((ldm - s) / np.log(self.K))
            n_max = int(max(Nc, 2) + 20 * self.Xi + 60)
            N = np.arange(2, n_max + 1, dtype=float)
            t = _log_terms_eq14(N, s[:, None], lg, ldm, self.Xi, np.log(self.K))
            m = np.max(t, axis=1)
            return m + np.log(np.sum(np.exp(t - m[:, None]), axis=1))
        raise AssertionError(self.law)

    def rho_prime(self, s, h=1e-5):
        if self.law == "eq16":
            return np.full_like(np.asarray(s, float), 2.0 / self.kappa - 1.0)
        if self.law == "eq17":
            return np.ones_like(np.asarray(s, float))
        return (self.rho(s + h) - self.rho(s - h)) / (2 * h)

    def psi(self, u):
        v, _ = self.v(u)
        return self.rho(2 * v - u) - u

    def multiplier(self, u):
        v, dv = self.v(u)
        rp = self.rho_prime(2 * v - u)
        return 2 * rp / (1 + rp) * dv


def _model(gamma, delta_m, N2, d, Xi, K, law, log_correction, z, eq17_prefactor_kind):
    gamma = float(check_positive("gamma", gamma))
    delta_m = float(check_positive("delta_m", delta_m))
    N2 = float(check_positive("N2", N2))
    d = float(_dim(d))
    kappa = float(check_kappa(Xi, K, regime="any", eq="the self-consistency"))
    if law not in LAWS:
        raise ValueError(f"parameter 'law' must be one of {LAWS} (got {law!r})")
    if law == "auto":
        law = "eq16" if kappa > 1 else "eq17"
    if law == "eq16":
        check_kappa(Xi, K, regime=">1", eq="Eq. (16)")
    if law == "eq17":
        check_kappa(Xi, K, regime="<=1", eq="Eq. (17)")
    if not log_correction:
        if z is None:
            raise ValueError("parameter 'z' (coordination number, > 0) is required when log_correction=False")
        z = float(check_positive("z", z))
    c = float(eq17_prefactor(Xi, K, eq17_prefactor_kind)) if law == "eq17" else 1.0
    return _Model(gamma, delta_m, N2, d, float(Xi), float(K), law, bool(log_correction), z, c)


def solve_selfconsistent(gamma, delta_m, N2, d, Xi, K, law="auto", log_correction=True, z=None,
                         eq17_prefactor_kind="lowest_order", ell_max=None, n_grid=3000):
    r"""All homogeneous solutions of Eq. (12) + Eq. (15)/(16)/(17), with stability.

    Parameters
    ----------
    gamma : float
        Interdot coupling (energy), > 0.
    delta_m : float
        Accessible level spacing (energy), > 0.
    N2 : float
        Transitions per dot (paper's N^2), > 0.
    d : int
        Spatial dimension.
    Xi : float
        Fock-space localisation length (dimensionless), > 0.
    K : float
        Fock-space branching number, > 1.
    law : {"auto", "eq14", "eq15", "eq16", "eq17"}
        Gamma_1-from-bath law.  "auto": Eq. (16) if ``Xi log K > 1`` else
        Eq. (17).  "eq14" is the smooth Lorentzian order sum.
    log_correction : bool
        Eq. (12) with its ``log^d`` factor (True) or ``Gamma_2 = z N2 Gamma_1``.
    z : float, optional
        Coordination number (required without the log correction).
    eq17_prefactor_kind : {"lowest_order", "printed"}
        Prefactor of Eq. (17), see :func:`analysis.meanfield.dot.eq17_prefactor`.
        "lowest_order" (default) is consistent with Eqs. (15) and (19).
    ell_max : float, optional
        Search range: ``ell = log[gamma/(N2 Gamma_1)]`` in (1e-4, ell_max)
        (default 1e9; 1e4 for "eq14", whose order sum is summed term by term)
        with the log correction, ``log(gamma/(z N2 Gamma_1))`` in (-5, ell_max)
        without.  Roots are bracketed on ``n_grid`` log-spaced points and
        polished with Brent's method (absolute tolerance 1e-12 in log Gamma_1).
    n_grid : int
        Number of grid points for bracketing.

    Returns
    -------
    list of FixedPoint
        The zero solution first, then the nonzero roots by decreasing Gamma_1.
    """
    m = _model(gamma, delta_m, N2, d, Xi, K, law, log_correction, z, eq17_prefactor_kind)
    if ell_max is None:
        ell_max = 1e4 if m.law == "eq14" else 1e9
    if m.log_correction:
        u_top = np.log(m.gamma / m.N2)
        ell = np.logspace(-4, np.log10(ell_max), n_grid)
        u = u_top - ell
    else:
        u_top = np.log(m.gamma / (m.z * m.N2))
        x = np.concatenate([-np.logspace(np.log10(5), -4, n_grid // 10), np.logspace(-4, np.log10(ell_max), n_grid)])
        u = u_top - x
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        psi = m.psi(u)
    roots = []
    finite = np.isfinite(psi)
    for i in range(len(u) - 1):
        if not (finite[i] and finite[i + 1]):
            continue
        if psi[i] == 0.0:
            roots.append(u[i])
        elif np.sign(psi[i]) != np.sign(psi[i + 1]) and psi[i + 1] != 0.0:
            roots.append(brentq(lambda x: float(m.psi(np.asarray(x))), u[i + 1], u[i], xtol=1e-12,
                                rtol=1e-15, maxiter=300))
    out = []
    # zero solution: sign of psi far below every scale
    p_low = psi[finite][-1] if np.any(finite) else np.nan
    if abs(p_low) < 1e-9:
        zstable, znote = None, "marginal (map is linear near zero with unit gain)"
    else:
        zstable = bool(p_low < 0)
        znote = "small rates shrink under iteration" if zstable else "small rates grow under iteration"
    out.append(FixedPoint(0.0, 0.0, np.nan, zstable, znote))
    for r in sorted(roots, reverse=True):
        v, _ = m.v(np.asarray(r))
        lam = float(m.multiplier(np.asarray(r)))
        note = ""
        if m.log_correction:
            ell_r = np.log(m.gamma / m.N2) - r
            if ell_r <= m.d:
                note = f"ell = {ell_r:.3g} <= d: outside the monotone domain of Eq. (12)"
        stable = None if abs(abs(lam) - 1) < 1e-9 else bool(abs(lam) < 1)
        if m.law == "eq15":
            s_root = 2 * float(v) - r
            if (np.log(m.delta_m) - s_root) / np.log(m.K) < 2:
                note = ((note + "; " if note else "")
                        + "N_c < 2: Eq. (15) degenerate (all orders in the Lorentzian core)")
        out.append(FixedPoint(float(np.exp(r)), float(np.exp(v)), lam, stable, note, float(r), float(v)))
    return out


def iterate_selfconsistent(gamma1_0, n_iter, gamma, delta_m, N2, d, Xi, K, law="auto", log_correction=True,
                           z=None, eq17_prefactor_kind="lowest_order", damping=1.0):
    """Iterate the self-consistency map (see module docstring) from Gamma_1 = gamma1_0.

    Parameters
    ----------
    gamma1_0 : float
        Starting decay rate (rate), > 0 (and < gamma/N2 with the log correction).
    n_iter : int
        Number of steps.
    damping : float
        Step ``log G1 <- (1-a) log G1 + a log G1'`` with ``a = damping`` in (0, 1].
    Other parameters
        As in :func:`solve_selfconsistent`.

    Returns
    -------
    ndarray, shape (n_iter + 1,)
        The sequence of Gamma_1 values.
    """
    m = _model(gamma, delta_m, N2, d, Xi, K, law, log_correction, z, eq17_prefactor_kind)
    check_positive("gamma1_0", gamma1_0)
    a = float(damping)
    if not 0 < a <= 1:
        raise ValueError(f"parameter 'damping' must be in (0, 1] (got {damping!r})")
    u = float(np.log(gamma1_0))
    seq = [u]
    for _ in range(int(n_iter)):
        v, _ = m.v(np.asarray(u))
        # solve u' = rho(2v - u') by Brent on a wide bracket
        f = lambda x: x - float(m.rho(np.asarray(2 * v - x)))  # noqa: E731
        lo, hi = u - 50.0, u + 50.0
        while f(lo) > 0:
            lo -= 100.0
        while f(hi) < 0:
            hi += 100.0
        u_new = brentq(f, lo, hi, xtol=1e-13)
        u = (1 - a) * u + a * u_new
        seq.append(u)
    return np.exp(np.array(seq))


# ------------------------------------------------------------ closed forms
def gamma2_eq18(gamma, delta_m, N2, z, Xi, K):
    r"""Log-free self-consistent linewidth, paper Eq. (18).

    .. math:: \Gamma_2 = \gamma\,(\gamma z N^2/\delta_m)^{1/(\Xi\log K-1)}
        \ (\Xi\log K>1), \qquad 0\ (\Xi\log K\le1)

    Exact solution of ``Gamma_2 = z N2 Gamma_1`` with Eq. (16); the matching
    ``Gamma_1 = Gamma_2/(z N2)``.  For ``Xi log K <= 1`` (Eq. 17, linear)
    only the zero solution exists (stable for ``gamma z N2 / delta_m < 1``).

    Parameters
    ----------
    gamma : array_like
        Coupling (energy), > 0.
    delta_m : array_like
        Level spacing (energy), > 0.
    N2 : array_like
        Transitions per dot (paper's N^2), > 0.
    z : array_like
        Coordination number, > 0.
    Xi, K : array_like
        Fock-space localisation length (> 0) and branching number (> 1).

    Returns
    -------
    ndarray
        Gamma_2 (rate).
    """
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    N2 = check_positive("N2", N2)
    z = check_positive("z", z)
    kappa = check_kappa(Xi, K, regime="any", eq="Eq. (18)")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        up = gamma * np.exp(np.log(gamma * z * N2 / delta_m) / (kappa - 1.0))
    return np.where(kappa > 1, up, 0.0)


def gamma2_eq19_printed(gamma, delta_m, N2, d, Xi, K):
    r"""Self-consistent linewidth with the log correction, paper Eq. (19) as printed.

    With ``b = (Xi log K - 1)/d``, ``g = N^2 gamma/delta_m``, ``N = sqrt(N2)``:

    * ``Xi log K > 1``: :math:`\gamma[(g^{1/d}/b)\,W_0(b N^{-b} g^{-1/d})]^{1/b}`
    * ``Xi log K <= 1``: :math:`(\gamma/N^2)\exp[-g^{-1/d}\exp(2(1-\Xi\log K)/(\Xi d))]`

    See :func:`gamma2_eq19_corrected` and docs/meanfield.md for why these do
    not solve Eq. (12) with Eq. (16)/(17) exactly.

    Parameters
    ----------
    gamma : array_like
        Coupling (energy), > 0.
    delta_m : array_like
        Level spacing (energy), > 0.
    N2 : array_like
        Transitions per dot (N^2), > 0; the printed formula also uses N = sqrt(N2).
    d : int
        Spatial dimension.
    Xi, K : array_like
        Fock-space localisation length (> 0) and branching number (> 1).

    Returns
    -------
    ndarray
        Gamma_2 (rate).
    """
    from scipy.special import lambertw
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    N2 = check_positive("N2", N2)
    d = _dim(d)
    kappa = check_kappa(Xi, K, regime="any", eq="Eq. (19)")
    Xi = np.asarray(Xi, float)
    g = N2 * gamma / delta_m
    N = np.sqrt(N2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = (kappa - 1.0) / d
        arg = b * N ** (-b) * g ** (-1.0 / d)
        up = gamma * (g ** (1.0 / d) / b * lambertw(arg, 0).real) ** (1.0 / b)
        X = g ** (-1.0 / d) * np.exp(2.0 * (1.0 - kappa) / (Xi * d))
        low = gamma / N2 * np.exp(-X)
    return np.where(kappa > 1, up, low)


def ell_eq19_corrected(gamma, delta_m, N2, d, Xi, K, branch="physical"):
    r"""Exact ``ell = log[gamma/(N2 Gamma_1)]`` of Eq. (12) + Eq. (16)/(17).

    * ``Xi log K > 1`` (Eq. 16): eliminating Gamma_1, Gamma_2 gives
      :math:`\ell^{d(\kappa-2)}e^{-(\kappa-1)\ell} = g`, ``kappa = Xi log K``,
      ``g = N2 gamma/delta_m``, solved by Lambert W: for ``kappa < 2``
      ``ell = (|p|/q) W_0[(q/|p|) g^{-1/|p|}]`` with ``p = d(kappa-2)``,
      ``q = kappa - 1`` (unique root); for ``kappa > 2`` ``ell = (p/q) y`` with
      ``y = -W_{-1}(-(q/p) g^{1/p})`` (the physical root ``ell > p/q``; the
      ``W_0`` root has ``ell < d`` where Eq. 12 is not monotone; no metallic
      root if the argument is below -1/e); ``kappa = 2``: ``ell = -log g``.
    * ``Xi log K <= 1`` (Eq. 17 with its lowest-order prefactor, Eq. 15's
      m = n = 1 term): ``ell = X = [delta_m/(sqrt(c) gamma N2)]^{1/d}``,
      ``sqrt(c) = exp[-2(1 - Xi log K)/Xi]``.

    Parameters
    ----------
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    N2 : array_like
        Transitions per dot, > 0.
    d : int
        Spatial dimension.
    Xi, K : array_like
        Fock-space parameters.
    branch : {"physical", "other"}
        For ``kappa > 2`` select the W_{-1} (physical) or W_0 root.

    Returns
    -------
    ndarray
        ell (dimensionless); NaN where no root exists.
    """
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    N2 = check_positive("N2", N2)
    d = _dim(d)
    kappa = check_kappa(Xi, K, regime="any", eq="Eq. (19)")
    Xi = np.asarray(Xi, float)
    g = N2 * gamma / delta_m
    lg = np.log(g)
    kappa, d, lg, Xi = np.broadcast_arrays(kappa, d, lg, Xi)
    out = np.full(kappa.shape, np.nan)
    p = d * (kappa - 2.0)
    q = kappa - 1.0
    low = kappa <= 1
    # kappa <= 1: ell = X
    out[low] = np.exp((-lg[low] + 2.0 * (1.0 - kappa[low]) / Xi[low]) / d[low])
    mid = (kappa > 1) & (kappa < 2)
    if np.any(mid):
        ap = -p[mid]
        t = -lg[mid] / ap + np.log(q[mid] / ap)  # y + log y = t, y = (q/|p|) ell
        out[mid] = np.exp(log_lambertw0_exp(t) + np.log(ap / q[mid]))
    two = kappa == 2
    out[two] = -lg[two]
    high = kappa > 2
    if np.any(high):
        pp, qq = p[high], q[high]
        # log y - y = log g / p + log(q/p) =: -t
        t = -(lg[high] / pp + np.log(qq / pp))
        if branch == "physical":
            y = lambertwm1_negexp(t)
        elif branch == "other":
            from scipy.special import lambertw
            y = np.where(t >= 1, -lambertw(-np.exp(-np.maximum(t, 1.0)), 0).real, np.nan)
        else:
            raise ValueError(f"parameter 'branch' must be 'physical' or 'other' (got {branch!r})")
        out[high] = y * pp / qq
    return out


def gamma1_eq19_corrected(gamma, delta_m, N2, d, Xi, K, branch="physical"):
    """Exact self-consistent Gamma_1 = (gamma/N2) exp(-ell), ell from :func:`ell_eq19_corrected`.


    Parameters
    ----------
    gamma : array_like
        Interdot coupling (energy), > 0.
    delta_m : array_like
        Accessible level spacing of the dot (energy), > 0.
    N2 : array_like
        Transitions per dot (the paper's N^2), > 0.
    d : int
        Spatial dimension of the dot lattice, >= 1.
    Xi : array_like
        Fock-space localisation length (dimensionless), > 0.
    K : array_like
        Fock-space branching number (dimensionless), > 1.
    branch : {"physical", "other"}
        Root used for Xi log K > 2, see :func:`ell_eq19_corrected`.

    Returns
    -------
    ndarray
        Gamma_1 (rate); NaN where no metallic root exists.
    """
    ell = ell_eq19_corrected(gamma, delta_m, N2, d, Xi, K, branch)
    return np.asarray(gamma, float) / np.asarray(N2, float) * np.exp(-ell)


def gamma2_eq19_corrected(gamma, delta_m, N2, d, Xi, K, branch="physical"):
    r"""Exact self-consistent linewidth replacing Eq. (19): ``Gamma_2 = gamma ell^d exp(-ell)``.

    This is the exact solution of the equations Eq. (19) claims to solve
    (Eq. 12 with Eq. 16 for ``Xi log K > 1``; Eq. 12 with Eq. 17 carrying the
    lowest-order prefactor of Eq. 15 for ``Xi log K <= 1``); see
    :func:`ell_eq19_corrected`.

    Parameters
    ----------
    gamma : array_like
        Interdot coupling (energy), > 0.
    delta_m : array_like
        Accessible level spacing of the dot (energy), > 0.
    N2 : array_like
        Transitions per dot (the paper's N^2), > 0.
    d : int
        Spatial dimension of the dot lattice, >= 1.
    Xi : array_like
        Fock-space localisation length (dimensionless), > 0.
    K : array_like
        Fock-space branching number (dimensionless), > 1.
    branch : {"physical", "other"}
        Root used for Xi log K > 2, see :func:`ell_eq19_corrected`.

    Returns
    -------
    ndarray
        Gamma_2 (rate); NaN where no metallic root exists.
    """
    ell = ell_eq19_corrected(gamma, delta_m, N2, d, Xi, K, branch)
    return np.asarray(gamma, float) * ell ** np.asarray(d, float) * np.exp(-ell)


def gamma2_eq20_printed(gamma, delta_m, N2, d):
    r"""Linewidth at ``Xi log K = 1`` as printed, paper Eq. (20):
    :math:`(\gamma/N^2)\exp[-(\delta_m/(\gamma N^2))^{1/d}]`.

    Parameters
    ----------
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    N2 : array_like
        Transitions per dot (N^2), > 0.
    d : int
        Spatial dimension.

    Returns
    -------
    ndarray
        Gamma_2 as printed (rate).  It equals the exact Gamma_1, see
        :func:`gamma2_eq20_corrected`.
    """
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    N2 = check_positive("N2", N2)
    d = _dim(d)
    return gamma / N2 * np.exp(-(delta_m / (gamma * N2)) ** (1.0 / d))


def gamma1_eq20_corrected(gamma, delta_m, N2, d):
    """Exact Gamma_1 at ``Xi log K = 1``: ``(gamma/N2) exp(-X)``, ``X = (delta_m/(gamma N2))^{1/d}``.


    Parameters
    ----------
    gamma : array_like
        Interdot coupling (energy), > 0.
    delta_m : array_like
        Accessible level spacing of the dot (energy), > 0.
    N2 : array_like
        Transitions per dot (the paper's N^2), > 0.
    d : int
        Spatial dimension of the dot lattice, >= 1.

    Returns
    -------
    ndarray
        Gamma_1 (rate) at Xi log K = 1.
    """
    return gamma2_eq20_printed(gamma, delta_m, N2, d)


def gamma2_eq20_corrected(gamma, delta_m, N2, d):
    r"""Exact Gamma_2 at ``Xi log K = 1``: :math:`\gamma X^d e^{-X}`, ``X = (delta_m/(gamma N2))^{1/d}``.

    At ``Xi log K = 1`` Eqs. (16) and (17) coincide; with Eq. (12),
    ``N2 ell^d = delta_m/gamma`` so ``ell = X``.  The printed Eq. (20) is
    ``Gamma_2/(N2 X^d)`` = the exact Gamma_1.

    Parameters
    ----------
    gamma : array_like
        Interdot coupling (energy), > 0.
    delta_m : array_like
        Accessible level spacing of the dot (energy), > 0.
    N2 : array_like
        Transitions per dot (the paper's N^2), > 0.
    d : int
        Spatial dimension of the dot lattice, >= 1.

    Returns
    -------
    ndarray
        Gamma_2 (rate) at Xi log K = 1.
    """
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    N2 = check_positive("N2", N2)
    d = _dim(d)
    X = (delta_m / (gamma * N2)) ** (1.0 / d)
    return gamma * X**d * np.exp(-X)


# ------------------------------------------------------------ validity
def validity(gamma1, gamma2, gamma, delta_m, N2, d, Xi, K, z, margin=10.0):
    r"""Which of the validity conditions Eqs. (21)-(24) hold.

    "A << B" is tested as ``margin * A <= B``.

    * ``eq21``: golden rule, :math:`\gamma (w/\delta_m)^{\min(1,1/\kappa)} \ll w`,
      ``w = Gamma_2^2/Gamma_1``.
    * ``eq22_left``: :math:`(w/\delta_m)^{\min(1,1/\kappa)} \ll w/\gamma`
      (same as eq21); ``eq22_right``: :math:`w/\gamma \ll 1` (inhomogeneous
      environment, ``gamma Gamma_1 >> Gamma_2^2``).
    * ``eq23``: :math:`\gamma/\delta_m \ll (zN^2)^{-\Xi\log K}` (the printed
      "1/(zN^2)Xi log K" lost its superscript: w/gamma << 1 with Eq. 18 gives
      exactly this exponent).
    * ``eq24``: :math:`N \gg (\delta_m/(\gamma N^2))^{1/d}\exp[2(1-\kappa)/(\Xi d)]`
      with ``N = sqrt(N2)`` (apparent line broadening above the dot's
      many-body level spacing).
    * ``leading_order_in_gamma``: :math:`\ln(\delta_m/\gamma) \gg 1/\Xi`
      (assumption stated below Eq. 13).

    Parameters
    ----------
    gamma1, gamma2 : array_like
        A solution's decay rate and linewidth (rate), > 0.
    gamma, delta_m : array_like
        Coupling and level spacing (energy), > 0.
    N2 : array_like
        Transitions per dot (N^2), > 0.
    d : int
        Spatial dimension.
    Xi, K : array_like
        Fock-space parameters.
    z : array_like
        Coordination number, > 0.
    margin : float
        Factor that "<<" demands (default 10).

    Returns
    -------
    dict
        name -> {"holds": bool array, "lhs": ..., "rhs": ...}, plus
        "all": bool array (every condition holds).
    """
    gamma1 = check_positive("gamma1", gamma1)
    gamma2 = check_positive("gamma2", gamma2)
    gamma = check_positive("gamma", gamma)
    delta_m = check_positive("delta_m", delta_m)
    N2 = check_positive("N2", N2)
    d = _dim(d)
    z = check_positive("z", z)
    kappa = check_kappa(Xi, K, regime="any", eq="Eqs. (21)-(24)")
    Xi = np.asarray(Xi, float)
    margin = float(check_greater("margin", margin, 0.0))
    w = gamma2**2 / gamma1
    ex = np.minimum(1.0, 1.0 / kappa)
    res = {}

    def add(name, lhs, rhs):
        res[name] = {"holds": margin * lhs <= rhs, "lhs": lhs, "rhs": rhs}

    add("eq21", gamma * (w / delta_m) ** ex, w)
    add("eq22_left", (w / delta_m) ** ex, w / gamma)
    add("eq22_right", w / gamma, np.ones_like(w))
    add("eq23", gamma / delta_m, (z * N2) ** (-kappa))
    add("eq24", (delta_m / (gamma * N2)) ** (1.0 / d) * np.exp(2 * (1 - kappa) / (Xi * d)), np.sqrt(N2))
    add("leading_order_in_gamma", 1.0 / Xi, np.log(delta_m / gamma))
    res["all"] = np.logical_and.reduce([v["holds"] for v in res.values()])
    return res
