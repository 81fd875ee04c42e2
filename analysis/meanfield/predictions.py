"""Per-configuration mean-field predictions of Gamma_2 (docs/meanfield.md, "Per-configuration predictions").

These take the *actual* parameters of a simulated configuration (the real
transition count per dot, the couplings a probe actually saw, the rates of
the neighbouring dots) and return the mean-field estimate of each probe's
linewidth, to be compared with the simulator's measured echo linewidth.
Units: hbar = 1; couplings U and rates share one unit (e.g. gamma).
"""
from __future__ import annotations

import numpy as np

from ._common import as_float, check_positive

__all__ = [
    "transition_count",
    "gamma2_eq12_config",
    "gamma2_rule_sum",
]


def transition_count(kind, levels, n=None):
    """Number of transitions per dot, the paper's N^2.

    Parameters
    ----------
    kind : {"flip", "hop"}
        Dynamics: "flip" toggles each of the M levels (M transitions);
        "hop" moves one of n particles to one of M - n empty levels
        (n (M - n) transitions).
    levels : int or array_like
        M, levels per dot (>= 1).
    n : int or array_like, optional
        Particles per dot (hop dynamics only), 0 <= n <= M.

    Returns
    -------
    ndarray
        n_tr (dimensionless count).
    """
    M = as_float("levels", levels)
    if np.any((M < 1) | (M != np.round(M))):
        raise ValueError(f"parameter 'levels' must be an integer >= 1 (got {levels!r})")
    if kind == "flip":
        return M
    if kind == "hop":
        if n is None:
            raise ValueError("parameter 'n' (particles per dot) is required for kind='hop'")
        nn = as_float("n", n)
        if np.any((nn < 0) | (nn > M) | (nn != np.round(nn))):
            raise ValueError(f"parameter 'n' must be an integer in [0, levels] (got {n!r})")
        return nn * (M - nn)
    raise ValueError(f"parameter 'kind' must be 'flip' or 'hop' (got {kind!r})")


def gamma2_eq12_config(gamma1, n_tr, gamma, d, small_log="clamp"):
    r"""Eq. (12) with the real transition count: :math:`n_{tr}\Gamma_1\log^d[\gamma/(n_{tr}\Gamma_1)]`.

    When ``gamma/(n_tr Gamma_1) < e`` the log is < 1 (and < 0 below 1), i.e.
    the sensitivity radius ``n_c = log[gamma/(n_tr Gamma_1)]`` of Eq. (11) is
    less than one dot spacing: the level then resolves only the transitions
    of its own dot.  With ``small_log="clamp"`` (default) the log is replaced
    by ``max(1, log(...))``, so the prediction becomes ``n_tr Gamma_1`` (every
    transition of the own dot broadens the line, nothing further), continuous
    at the threshold ``gamma/(n_tr Gamma_1) = e``.  ``"nan"`` returns NaN
    there, ``"raise"`` raises ValueError.

    Parameters
    ----------
    gamma1 : array_like
        Transition rate of the dots (rate), >= 0 (scalar or per dot/probe).
    n_tr : array_like
        Transitions per dot (flip: M; hop: n(M-n)), see :func:`transition_count`.
    gamma : array_like
        Coupling scale of the nearest dots (energy), > 0.
    d : int
        Lattice dimension.
    small_log : {"clamp", "nan", "raise"}
        Treatment of ``gamma/(n_tr Gamma_1) < e``.

    Returns
    -------
    ndarray
        Predicted Gamma_2 (rate).
    """
    g1 = as_float("gamma1", gamma1)
    if np.any(g1 < 0):
        raise ValueError(f"parameter 'gamma1' must be >= 0 (got {float(np.min(g1))!r})")
    n_tr = check_positive("n_tr", n_tr)
    gamma = check_positive("gamma", gamma)
    d = as_float("d", d)
    if np.any((d < 1) | (d != np.round(d))):
        raise ValueError(f"parameter 'd' must be an integer >= 1 (got {d!r})")
    rate = n_tr * g1
    with np.errstate(divide="ignore", invalid="ignore"):
        ell = np.log(gamma / rate)
    small = ell < 1
    if small_log == "clamp":
        ell = np.maximum(ell, 1.0)
    elif small_log == "nan":
        ell = np.where(small, np.nan, ell)
    elif small_log == "raise":
        if np.any(small):
            raise ValueError("parameter 'gamma1' too large: gamma/(n_tr*gamma1) must be >= e for Eq. (12) "
                             "(use small_log='clamp')")
    else:
        raise ValueError(f"parameter 'small_log' must be 'clamp', 'nan' or 'raise' (got {small_log!r})")
    with np.errstate(invalid="ignore"):
        return np.where(rate == 0, 0.0, rate * ell**d)


def gamma2_rule_sum(U, gamma1, gamma1_self, rtol=1e-12, max_iter=200):
    r"""Appendix-B rule sum solved self-consistently per probe (docs/meanfield.md).

    .. math:: \Gamma_2(i) = \Gamma_1^{self}(i) + \sum_j f(|U_{ij}|;\Gamma_1(j),\Gamma_2(i)),\quad
              f(U;\Gamma_1,\Gamma_2)=\Gamma_1\frac{U^2}{U^2+\Gamma_1^2}\frac{U^2}{U^2+\Gamma_2^2}

    ``h(G) = G - Gamma_1^self - sum_j f(U_j; Gamma_1j, G)`` is strictly
    increasing in G, negative at ``G_lo = Gamma_1^self + sum_j f(U_j; Gamma_1j, G_hi)``
    and non-negative at ``G_hi = Gamma_1^self + sum_j Gamma_1j U_j^2/(U_j^2+Gamma_1j^2)``,
    so the unique root is found by a vectorised bracketing solver
    (safeguarded Newton in log G, falling back to bisection), to relative
    tolerance ``rtol``.

    Parameters
    ----------
    U : array_like, shape (..., n_neighbours)
        Couplings the probe saw, one per neighbouring level (energy); the
        sign is ignored; NaN entries are padding (ragged neighbour lists)
        and contribute nothing.
    gamma1 : array_like, broadcastable to U
        Transition rate of the dot of each neighbouring level (rate), >= 0.
    gamma1_self : array_like, shape (...)
        Rate of the probe's own transitions (its lifetime contribution), >= 0.
    rtol : float
        Relative tolerance on Gamma_2.
    max_iter : int
        Iteration cap of the bracketing solver.

    Returns
    -------
    ndarray, shape (...)
        Gamma_2 of each probe (rate).
    """
    U = as_float("U", U, allow_nan=True)
    if U.ndim == 0:
        U = U[None]
    g1 = as_float("gamma1", gamma1, allow_nan=True)
    g1 = np.broadcast_to(g1, U.shape)
    pad = np.isnan(U) | np.isnan(g1)
    if np.any(g1[~pad] < 0):
        raise ValueError(f"parameter 'gamma1' must be >= 0 (got {float(np.min(g1[~pad]))!r})")
    gs = as_float("gamma1_self", gamma1_self)
    if np.any(gs < 0):
        raise ValueError(f"parameter 'gamma1_self' must be >= 0 (got {float(np.min(gs))!r})")
    gs = np.broadcast_to(gs, U.shape[:-1]).astype(float)
    Ua = np.where(pad, 0.0, np.abs(U))
    g1 = np.where(pad, 0.0, g1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # A_j = Gamma_1j U^2/(U^2+Gamma_1j^2), computed as Gamma_1j/(1+(Gamma_1j/U)^2)
        a = np.where(Ua > 0, g1 / Ua, np.inf)
        A = np.where((Ua > 0) & (g1 > 0), g1 / (1 + a * a), 0.0)

    def S(G):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            b = np.where(Ua > 0, G[..., None] / Ua, np.inf)
            return np.sum(np.where(A > 0, A / (1 + b * b), 0.0), axis=-1)

    def dS(G):  # derivative of S with respect to G
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            b = np.where(Ua > 0, G[..., None] / Ua, np.inf)
            term = np.where((A > 0) & np.isfinite(b), -2 * A * b / (Ua * (1 + b * b) ** 2), 0.0)
            return np.sum(term, axis=-1)

    hi = gs + np.sum(A, axis=-1)
    lo = gs + S(hi)
    out = np.where(hi == 0, 0.0, np.nan)
    act = hi > 0
    G = np.sqrt(np.where(act, lo * hi, 1.0)) if np.all(lo[act] > 0) else 0.5 * (lo + hi)
    lo = lo.copy()
    hi = hi.copy()
    for _ in range(int(max_iter)):
        h = G - gs - S(G)
        lo = np.where(h < 0, G, lo)
        hi = np.where(h > 0, G, hi)
        hp = 1.0 - dS(G)  # >= 1
        G_new = G - h / hp
        bad = (G_new <= lo) | (G_new >= hi) | ~np.isfinite(G_new)
        G_new = np.where(bad, 0.5 * (lo + hi), G_new)
        done = np.abs(G_new - G) <= rtol * np.abs(G_new)
        G = G_new
        if np.all(done | ~act):
            break
    return np.where(act, G, out)
