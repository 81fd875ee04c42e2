"""Appendix B: inhomogeneous mean-field equations for a chain of dots.

Model (documented choices; the paper gives only the three rules)
------------------------------------------------------------------
Dots sit at integer positions x.  The coupling between dots a distance r
apart is ``U(r) = gamma exp(-r/xi)`` (the paper's ``gamma exp(-|I-J|)`` is
``xi = 1``), with ``U(0) = gamma`` for the dot's own other transitions.

* Linewidth (rule sum, the interpolation of docs/meanfield.md, "Appendix B chain"):

  .. math:: \\Gamma_2(i) = n_{tr}\\sum_j f(U(|x_i-x_j|);\\Gamma_1(j),\\Gamma_2(i)),\\qquad
            f(U;\\Gamma_1,\\Gamma_2)=\\Gamma_1\\frac{U^2}{U^2+\\Gamma_1^2}\\frac{U^2}{U^2+\\Gamma_2^2}

  The sum includes ``j = i`` (the level's own dot; for small rates it gives
  ``Gamma_1(i)``, the lifetime contribution).  ``f`` obeys the three rules:
  ``U << Gamma_2``: ~0; ``U >> Gamma_1, Gamma_2``: ``Gamma_1``;
  ``Gamma_1 >> U >> Gamma_2``: ``U^2/Gamma_1`` (motional narrowing).
  ``n_tr`` (default 1) counts transitions per dot.  For each site the equation
  is solved exactly for Gamma_2(i) (monotone in log Gamma_2: safeguarded
  Newton, derivative between 1 and 3).
* Decay rate, Eq. (17) site by site (default, the paper's parameter
  gamma/delta_m): ``Gamma_1(i) = (gamma/delta_m) Gamma_2(i)``;
  or Eq. (16) site by site: ``Gamma_1(i) = gamma (gamma/delta_m) (Gamma_2(i)/gamma)^(2-kappa)``.
* Boundary conditions.  ``"pinned"``: the L free dots are at x = 1..L and the
  boundary dots x = 0 and x = L+1 have Gamma_1 = Gamma_2 = 0 (pinned; they
  contribute nothing, f(U; 0, .) = 0); the interior is seeded with a small
  rate.  ``"bath"``: ``bath_width`` dots at x = 0, -1, ... have a fixed
  Gamma_1 = ``bath_gamma1`` (a strong boundary bath); the L free dots are at
  x = 1..L; the right end is open (equivalently pinned).
* Iteration: ``log Gamma_1 <- (1-a) log Gamma_1 + a log F(Gamma_2[Gamma_1])``
  with damping ``a``; converged when ``max |change of log Gamma_1| < tol``.
  With pinned ends the rates may instead collapse towards zero; when every
  rate is deep in the linear regime (all ``Gamma << U(L)``) the map is
  linear, its growth factor per step is measured once the profile shape has
  converged, and the run is classified as metallic (growth > 1) or
  insulating (growth < 1).  In that regime ``f -> Gamma_1`` for every pair,
  so the growth factor is ``(gamma/delta_m) n_tr L`` and the critical
  coupling is exactly ``1/(n_tr L)``: the paper's 1/L law (Fig. 7).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._common import as_float, check_positive

__all__ = [
    "coupling_profile",
    "rule_f",
    "ChainResult",
    "solve_chain",
    "chain_is_metallic",
    "critical_coupling",
    "fit_power_law",
    "bulk_gamma2",
]


def coupling_profile(r, gamma=1.0, xi=1.0):
    """Interdot coupling ``U(r) = gamma exp(-r/xi)`` (Appendix B, rule (c)).

    Parameters
    ----------
    r : array_like
        Distance between dots (dot spacings), >= 0.
    gamma : float
        Nearest-dot coupling scale (energy), > 0.
    xi : float
        Decay length of the coupling (dot spacings), > 0.

    Returns
    -------
    ndarray
        U(r) (energy).
    """
    r = as_float("r", r)
    if np.any(r < 0):
        raise ValueError("parameter 'r' must be >= 0")
    gamma = check_positive("gamma", gamma)
    xi = check_positive("xi", xi)
    return gamma * np.exp(-r / xi)


def rule_f(U, gamma1, gamma2):
    r"""Smooth interpolation of Appendix B's three rules (docs/meanfield.md).

    .. math:: f(U;\Gamma_1,\Gamma_2) = \Gamma_1\,\frac{U^2}{U^2+\Gamma_1^2}\,\frac{U^2}{U^2+\Gamma_2^2}

    Parameters
    ----------
    U : array_like
        Coupling between the probe level and the fluctuating level (energy);
        its sign is irrelevant (``|U|`` is used).
    gamma1 : array_like
        Transition rate of the fluctuating level (rate), >= 0.
    gamma2 : array_like
        Linewidth of the probe level (rate), >= 0.

    Returns
    -------
    ndarray
        Contribution to the probe's linewidth (rate); 0 where U = 0 or
        gamma1 = 0.
    """
    U = np.abs(as_float("U", U))
    g1 = as_float("gamma1", gamma1)
    g2 = as_float("gamma2", gamma2)
    if np.any(g1 < 0):
        raise ValueError("parameter 'gamma1' must be >= 0")
    if np.any(g2 < 0):
        raise ValueError("parameter 'gamma2' must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = np.where(U > 0, g1 / U, np.inf)
        b = np.where(U > 0, g2 / U, np.inf)
        out = g1 / ((1 + a * a) * (1 + b * b))
    return np.where((U > 0) & (g1 > 0), out, 0.0)


@dataclass
class ChainResult:
    """Solution of the chain equations.

    Attributes
    ----------
    x : ndarray
        Positions of the free dots (dot spacings from the boundary).
    gamma1, gamma2 : ndarray
        Decay rate and linewidth of each free dot (rate units).
    status : str
        "converged" (fixed point within tol), "metal" or "insulator" (linear-
        regime classification, see module docstring), "collapsed" (every rate
        below ``floor``), or "max_iter".
    n_iter : int
        Iterations performed.
    growth : float
        Last measured growth factor per (damped) step, NaN if not measured.
    residual : float
        Last ``max |change of log Gamma_1|``.
    """

    x: np.ndarray
    gamma1: np.ndarray
    gamma2: np.ndarray
    status: str
    n_iter: int
    growth: float
    residual: float

    @property
    def metallic(self) -> bool:
        """True for a nonzero bulk solution (converged with rates above 1e-250, or 'metal')."""
        if self.status == "metal":
            return True
        if self.status == "converged":
            return bool(np.max(self.gamma2) > 1e-250)
        return False


def _logsumexp_rows(t):
    m = np.max(t, axis=-1)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    return m_safe + np.log(np.sum(np.exp(t - m_safe[..., None]), axis=-1))


def _solve_sites(lA, lU, y0):
    """Solve y_i = log sum_k exp(lA[i,k] - log1p(exp(2(y_i - lU[k])))) for every row i.

    lA: (n, m) log of n_tr Gamma_1 U^2/(U^2+Gamma_1^2); lU: (m,) log U per column;
    y0: starting guess.  Safeguarded Newton; returns y (n,).
    """
    y_hi = _logsumexp_rows(lA)  # S at Gamma_2 -> 0: an upper bound of the root
    empty = ~np.isfinite(y_hi)
    y_hi = np.where(empty, 0.0, y_hi)

    def logS(y):
        return _logsumexp_rows(lA - np.logaddexp(0.0, 2 * (y[:, None] - lU[None, :])))

    y_lo = logS(y_hi)  # lower bound (S decreasing)
    y = np.clip(np.where(np.isfinite(y0), y0, y_hi), y_lo, y_hi)
    for _ in range(100):
        t = lA - np.logaddexp(0.0, 2 * (y[:, None] - lU[None, :]))
        ls = _logsumexp_rows(t)
        h = y - ls
        w = np.exp(t - ls[:, None])
        sig = 0.5 * (1 + np.tanh(y[:, None] - lU[None, :]))  # b^2/(1+b^2)
        hp = 1.0 + 2.0 * np.sum(w * sig, axis=1)
        y_lo = np.where(h < 0, y, y_lo)
        y_hi = np.where(h > 0, y, y_hi)
        y_new = y - h / hp
        out = (y_new <= y_lo) | (y_new >= y_hi)
        y_new = np.where(out, 0.5 * (y_lo + y_hi), y_new)
        done = np.max(np.abs(y_new - y)) < 1e-13
        y = y_new
        if done:
            break
    return np.where(empty, -np.inf, y)


def _law(y, law, log_c, lgamma, kappa):
    if law == "eq17":
        return log_c + y
    return lgamma + log_c + (2.0 - kappa) * (y - lgamma)


def solve_chain(L, gamma_over_delta, xi=1.0, gamma=1.0, boundary="pinned", bath_gamma1=1.0, bath_width=1,
                seed=None, gamma1_law="eq17", kappa=None, n_tr=1.0, damping=0.5, tol=1e-9, max_iter=20000,
                floor=1e-280, classify=True, gamma1_init=None, r_cut=None):
    """Solve the Appendix B chain equations by damped iteration.

    Parameters
    ----------
    L : int
        Number of free dots (>= 1).
    gamma_over_delta : float
        The paper's gamma/delta_m (dimensionless), > 0: coefficient of the
        site-resolved Eq. (17) ``Gamma_1(i) = (gamma/delta_m) Gamma_2(i)``.
    xi : float
        Coupling decay length (dot spacings), > 0.
    gamma : float
        Coupling scale (energy), > 0; rates are in the same unit.
    boundary : {"pinned", "bath"}
        Boundary condition, see the module docstring.
    bath_gamma1 : float
        Decay rate of the bath dots (rate), > 0 (``boundary="bath"``).
    bath_width : int
        Number of bath dots (``boundary="bath"``).
    seed : float, optional
        Pinned case: initial Gamma_1 of the central free dot (others start at
        0).  Default: ``1e-12 U(L+1)``, deep in the linear regime (where the
        map is linear and iterated undamped).  Bath case:
        initial Gamma_1 of every free dot (default: ``bath_gamma1``).
    gamma1_law : {"eq17", "eq16"}
        Site-resolved Gamma_1 law.
    kappa : float, optional
        ``Xi log K`` (> 1), required for ``gamma1_law="eq16"``.
    n_tr : float
        Transitions per dot multiplying every rule-sum term (default 1).
    damping : float
        Step weight a in (0, 1] of the log-space update.
    tol : float
        Convergence threshold on ``max |change of log Gamma_1|`` per step.
    max_iter : int
        Iteration limit.
    floor : float
        Pinned case: all rates below this count as collapsed to zero.
    classify : bool
        Pinned case: stop as soon as the linear-regime growth factor decides
        metal vs insulator (set False to iterate a metal to convergence).
    gamma1_init : array_like, optional
        Explicit initial Gamma_1 profile (length L), overrides ``seed``.
    r_cut : int, optional
        Keep only couplings with distance <= r_cut (default: the whole chain,
        which the linear-regime classification needs).  A term with
        ``U << Gamma_2`` contributes at most ``Gamma_2 (U/Gamma_2)^3``, so
        ``r_cut = xi [log(gamma/min Gamma_2) + 20]`` changes nothing visible.

    Returns
    -------
    ChainResult
    """
    L = int(L)
    if L < 1:
        raise ValueError(f"parameter 'L' must be an integer >= 1 (got {L})")
    c = float(check_positive("gamma_over_delta", gamma_over_delta))
    xi = float(check_positive("xi", xi))
    gamma = float(check_positive("gamma", gamma))
    n_tr = float(check_positive("n_tr", n_tr))
    a = float(damping)
    if not 0 < a <= 1:
        raise ValueError(f"parameter 'damping' must be in (0, 1] (got {damping!r})")
    if gamma1_law not in ("eq17", "eq16"):
        raise ValueError(f"parameter 'gamma1_law' must be 'eq17' or 'eq16' (got {gamma1_law!r})")
    if gamma1_law == "eq16":
        if kappa is None or not kappa > 1:
            raise ValueError(f"parameter 'kappa' (Xi log K) must be > 1 for gamma1_law='eq16' (got {kappa!r})")
    if boundary not in ("pinned", "bath"):
        raise ValueError(f"parameter 'boundary' must be 'pinned' or 'bath' (got {boundary!r})")
    lgamma = np.log(gamma)
    log_c = np.log(c)
    x = np.arange(1, L + 1, dtype=float)
    # extended array of Gamma_1: [bath dots][free dots][right padding]
    if boundary == "bath":
        bw = int(bath_width)
        if bw < 1:
            raise ValueError(f"parameter 'bath_width' must be an integer >= 1 (got {bath_width!r})")
        lbath = float(np.log(check_positive("bath_gamma1", bath_gamma1)))
    else:
        bw = 0
        lbath = -np.inf
    # interaction range: whole chain (needed in the linear regime)
    R = L - 1 + bw
    if r_cut is not None:
        if int(r_cut) < 1:
            raise ValueError(f"parameter 'r_cut' must be an integer >= 1 (got {r_cut!r})")
        R = min(R, int(r_cut))
    offsets = np.arange(-R, R + 1)
    lU = lgamma - np.abs(offsets) / xi
    if gamma1_init is not None:
        g0 = check_positive("gamma1_init", gamma1_init) if np.all(np.asarray(gamma1_init) > 0) else as_float(
            "gamma1_init", gamma1_init)
        u = np.log(np.broadcast_to(np.asarray(g0, float), (L,))).copy()
    elif boundary == "pinned":
        s0 = float(seed) if seed is not None else 1e-12 * gamma * np.exp(-(L + 1) / xi)
        if not s0 > 0:
            raise ValueError(f"parameter 'seed' must be > 0 (got {seed!r})")
        u = np.full(L, -np.inf)
        u[(L - 1) // 2] = np.log(s0)
        if L % 2 == 0:
            u[L // 2] = np.log(s0)
    else:
        s0 = float(seed) if seed is not None else float(bath_gamma1)
        if not s0 > 0:
            raise ValueError(f"parameter 'seed' must be > 0 (got {seed!r})")
        u = np.full(L, np.log(s0))
    y = np.full(L, np.nan)
    lin_limit = np.log(1e-6) + lgamma - (L + bw) / xi  # rates below this: linear regime
    fin0 = u[np.isfinite(u)]
    linear = bool(fin0.size and np.max(fin0) < lin_limit)
    growth = np.nan
    prev_delta = None
    residual = np.inf
    lfloor = np.log(floor)
    for it in range(1, int(max_iter) + 1):   # noqa: B007 (`it` is the iteration count returned below)
        ext = np.concatenate([np.full(R, -np.inf), np.full(bw, lbath), u, np.full(R, -np.inf)])
        # window for free dot i (ext index R+bw+i) covers offsets -R..R
        lG1 = sliding_window_view(ext, 2 * R + 1)[bw:bw + L]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            lA = np.log(n_tr) + lG1 - np.logaddexp(0.0, 2 * (lG1 - lU[None, :]))
            y = _solve_sites(lA, lU, y)
            u_new = _law(y, gamma1_law, log_c, lgamma, kappa)
            # deep in the linear regime the map is linear and is iterated undamped
            a_eff = 1.0 if (linear and classify and boundary == "pinned") else a
            u_next = np.where(np.isfinite(u_new), (1 - a_eff) * np.where(np.isfinite(u), u, u_new) + a_eff * u_new,
                              -np.inf)
        fin = np.isfinite(u_next) & np.isfinite(u)
        delta = u_next - u
        residual = float(np.max(np.abs(delta[fin]))) if np.any(fin) else np.inf
        if np.any(np.isfinite(u_next) != np.isfinite(u)):
            residual = np.inf
        u = u_next
        if residual < tol:
            status = "converged"
            break
        if boundary == "pinned":
            finite_u = u[np.isfinite(u)]
            if finite_u.size == 0 or np.max(finite_u) < lfloor:
                status = "collapsed"
                break
            linear = bool(np.max(finite_u) < lin_limit and np.max(y[np.isfinite(y)]) < lin_limit)
            if classify and np.all(np.isfinite(u)) and linear:
                spread = float(np.max(delta) - np.min(delta))
                if prev_delta is not None and spread < 1e-9 and abs(float(np.mean(delta)) - prev_delta) < 1e-9:
                    growth = float(np.exp(np.mean(delta)))
                    status = "metal" if growth > 1 else "insulator"
                    break
                prev_delta = float(np.mean(delta))
    else:
        status = "max_iter"
    g1 = np.exp(u)
    g2 = np.exp(y)
    return ChainResult(x=x, gamma1=g1, gamma2=g2, status=status, n_iter=it, growth=growth, residual=residual)


def chain_is_metallic(L, gamma_over_delta, **kw):
    """True if the pinned chain sustains a nonzero solution (see :func:`solve_chain`).

    Raises RuntimeError if the iteration neither converges nor classifies.
    """
    res = solve_chain(L, gamma_over_delta, boundary="pinned", **kw)
    if res.status == "max_iter":
        raise RuntimeError(f"chain iteration undecided after {res.n_iter} steps (L={L}, "
                           f"gamma/delta_m={gamma_over_delta})")
    return res.metallic


def critical_coupling(L, rtol=1e-7, lo=None, hi=None, **kw):
    """Critical gamma/delta_m of the pinned chain, by bisection in log(gamma/delta_m).

    Parameters
    ----------
    L : int
        Number of free dots.
    rtol : float
        Relative width of the final bracket.
    lo, hi : float, optional
        Initial bracket (insulating, metallic); default 0.1/L and 10/L,
        widened automatically.
    **kw
        Passed to :func:`solve_chain` (xi, gamma, n_tr, seed, ...).

    Returns
    -------
    (float, float)
        Geometric midpoint of the final bracket and its relative half-width.
    """
    lo = 0.1 / L if lo is None else float(lo)
    hi = 10.0 / L if hi is None else float(hi)
    for _ in range(60):
        if not chain_is_metallic(L, lo, **kw):
            break
        lo /= 10
    else:
        raise RuntimeError("no insulating coupling found")
    for _ in range(60):
        if chain_is_metallic(L, hi, **kw):
            break
        hi *= 10
    else:
        raise RuntimeError("no metallic coupling found")
    while hi / lo - 1 > rtol:
        mid = np.sqrt(lo * hi)
        if chain_is_metallic(L, mid, **kw):
            hi = mid
        else:
            lo = mid
    return float(np.sqrt(lo * hi)), float(np.sqrt(hi / lo) - 1)


def bulk_gamma2(gamma_over_delta, xi=1.0, gamma=1.0, n_tr=1.0, r_max=None):
    """Homogeneous (infinite-chain) fixed point of the chain equations with Eq. (17).

    Solves ``Gamma_2 = n_tr sum_{r in Z} f(U(|r|); c Gamma_2, Gamma_2)``,
    ``c = gamma_over_delta``, for Gamma_2 > 0 by Brent's method in log space.

    Parameters
    ----------
    gamma_over_delta : float
        The paper's gamma/delta_m (dimensionless), > 0.
    xi : float
        Coupling decay length (dot spacings), > 0.
    gamma : float
        Coupling scale (energy), > 0.
    n_tr : float
        Transitions per dot multiplying each rule-sum term, > 0.
    r_max : int, optional
        Largest distance kept in the sum (default: where U is 60 e-folds below Gamma_2).

    Returns
    -------
    ndarray
        Bulk Gamma_2 (rate); 0 if only the zero solution exists.
    """
    from scipy.optimize import brentq
    c = float(check_positive("gamma_over_delta", gamma_over_delta))
    xi = float(check_positive("xi", xi))
    gamma = float(check_positive("gamma", gamma))

    def h(y):
        g2 = np.exp(y)
        rm = r_max if r_max is not None else int(xi * (np.log(gamma) - y + 60)) + 2
        r = np.arange(-rm, rm + 1)
        U = gamma * np.exp(-np.abs(r) / xi)
        with np.errstate(divide="ignore"):
            return np.log(n_tr * np.sum(rule_f(U, c * g2, g2))) - y

    ys = np.log(gamma) - np.logspace(-3, 3, 300)
    hv = np.array([h(v) for v in ys])
    idx = np.nonzero(np.sign(hv[:-1]) != np.sign(hv[1:]))[0]
    if len(idx) == 0:
        return 0.0
    i = idx[0]
    return float(np.exp(brentq(h, ys[i + 1], ys[i], xtol=1e-13)))


def fit_power_law(x, y, sigma_log_y=None):
    """Weighted least-squares fit of ``log y = log A + p log x``.

    Parameters
    ----------
    x, y : array_like
        Positive data.
    sigma_log_y : array_like, optional
        Standard errors of ``log y`` (e.g. the relative bisection width).  If
        given, the exponent error uses them (chi-square scaled up when the
        scatter is larger than stated); otherwise it comes from the residuals.

    Returns
    -------
    dict
        ``exponent``, ``exponent_err``, ``prefactor``, ``chi2_dof``.
    """
    x = check_positive("x", x)
    y = check_positive("y", y)
    lx, ly = np.log(x), np.log(y)
    n = len(lx)
    if sigma_log_y is None:
        w = np.ones(n)
    else:
        w = 1.0 / np.asarray(sigma_log_y, float) ** 2
    Aw = np.vstack([np.ones(n), lx]).T * np.sqrt(w)[:, None]
    bw = ly * np.sqrt(w)
    coef, *_ = np.linalg.lstsq(Aw, bw, rcond=None)
    resid = ly - (coef[0] + coef[1] * lx)
    dof = max(n - 2, 1)
    chi2 = float(np.sum(w * resid**2)) / dof
    cov = np.linalg.inv(Aw.T @ Aw)
    scale = chi2 if sigma_log_y is None else max(chi2, 1.0)
    err = float(np.sqrt(cov[1, 1] * scale))
    return {"exponent": float(coef[1]), "exponent_err": err, "prefactor": float(np.exp(coef[0])), "chi2_dof": chi2}
