r"""Exact echo and Ramsey signals of a probe under hop dynamics: Fock-chain machinery.

Every dot is a Markov chain on the ``C(M, n)`` configurations of its ``n``
particles over ``M`` levels; with fixed rates the dots are independent, so the
probe's signals factorise exactly over its neighbouring dots (docs/exact.md,
"hop"). Tractable for ``M <= 8``.

Markov-chain form (Feynman–Kac).  For a finite Markov chain with column
generator ``Q`` (``dp/dt = Q p``), stationary distribution ``pi`` and a shift
``h(c)`` on the probe in configuration ``c`` (``H = diag h``),

    < exp(i int_0^t s(t') h(c(t')) dt') > = 1^T ... exp[(Q + i s_k H) t_k] ... pi,

the factors ordered right to left in time.  The echo has ``s = -1`` on the
first half and ``s = +1`` on the second half, hence
``E = 1^T exp[(Q + iH) tau/2] exp[(Q - iH) tau/2] pi`` and
``R = 1^T exp[(Q + iH) tau] pi``.  (Written with the two factors in the other
order the echo is the complex conjugate, and equal to it because the echo of a
reversible stationary chain is real, see :func:`hop_echo`.)

Conventions as in :mod:`analysis.exact.telegraph` (docs/model.md); all
functions take and return plain numpy arrays and are vectorised over ``tau``.
"""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from ._checks import check_nonneg as _check_nonneg

__all__ = [
    "hop_configurations",
    "hop_generator",
    "hop_dot_factor",
    "hop_echo",
    "hop_ramsey",
    "hop_dot_sd_variance_chain",
]

# Largest condition number of the eigenvector matrix accepted by the
# eigendecomposition method of hop_dot_factor before it falls back to expm.
_EIG_COND_MAX = 1.0e6
_MAX_HOP_CONFIGS = 5000


# ---------------------------------------------------------------------------
# Hop dynamics: Markov chain on the Fock configurations of a dot
# ---------------------------------------------------------------------------

def hop_configurations(M: int, n: int) -> np.ndarray:
    """Occupation table of the C(M, n) configurations of a dot.

    Parameters
    ----------
    M : int
        Number of levels.
    n : int
        Number of particles, ``0 <= n <= M``.

    Returns
    -------
    ndarray of int8, shape (C(M, n), M)
        Row c is the occupation ``n_beta(c)``, in lexicographic order of the
        occupied level indices.
    """
    M = int(M)
    n = int(n)
    if M < 1 or not 0 <= n <= M:
        raise ValueError(f"need M >= 1 and 0 <= n <= M, got M={M}, n={n}")
    if comb(M, n) > _MAX_HOP_CONFIGS:
        raise ValueError(
            f"C(M={M}, n={n}) = {comb(M, n)} configurations is too many for the exact hop "
            f"reference (limit {_MAX_HOP_CONFIGS}; docs/exact.md targets M <= 8)"
        )
    occ = np.zeros((comb(M, n), M), dtype=np.int8)
    for c, sites in enumerate(itertools.combinations(range(M), n)):
        occ[c, list(sites)] = 1
    return occ


def hop_generator(occ: ArrayLike, gamma1: float) -> np.ndarray:
    """Generator of the hop chain (docs/model.md, ``kind = "hop"``).

    Every ordered pair (alpha occupied, beta empty) is a transition of rate
    ``gamma1`` moving the particle alpha -> beta.  Column convention:
    ``dp/dt = Q p``, ``Q[c', c]`` the rate c -> c', ``Q[c, c] = -gamma1 n (M - n)``.
    Q is symmetric (each move has the same rate as its reverse), so the
    stationary distribution is uniform and the chain is reversible.

    Parameters
    ----------
    occ : ndarray, shape (N, M)
        Configurations from :func:`hop_configurations`.
    gamma1 : float
        Rate of each transition.

    Returns
    -------
    ndarray of float, shape (N, N)
    """
    occ = np.asarray(occ)
    N, M = occ.shape
    index = {tuple(row): c for c, row in enumerate(occ.tolist())}
    Q = np.zeros((N, N))
    for c, row in enumerate(occ.tolist()):
        occupied = [a for a in range(M) if row[a]]
        empty = [b for b in range(M) if not row[b]]
        for a in occupied:
            for b in empty:
                new = list(row)
                new[a] = 0
                new[b] = 1
                Q[index[tuple(new)], c] += gamma1
        Q[c, c] -= gamma1 * len(occupied) * len(empty)
    return Q


def _chain_signal(tau, Q, h, p0, kind, method):
    """1^T exp[(Q+iH)tau/2] exp[(Q-iH)tau/2] p0 (echo) or 1^T exp[(Q+iH)tau] p0 (ramsey).

    Q and h are real, so exp[(Q - iH)t] = conj(exp[(Q + iH)t]).
    """
    A = Q + 1j * np.diag(h)
    N = A.shape[0]
    ones = np.ones(N)
    t = 0.5 * tau if kind == "echo" else tau
    use_eig = method in ("auto", "eig")
    if use_eig:
        w, V = np.linalg.eig(A)
        cond = np.linalg.cond(V)
        if not np.isfinite(cond) or cond > _EIG_COND_MAX:
            if method == "eig":
                raise np.linalg.LinAlgError(
                    f"eigenvector matrix is ill-conditioned (cond = {cond:.3g}); "
                    "close to an exceptional point, use method='expm'"
                )
            use_eig = False
    if use_eig:
        a = ones @ V  # 1^T V
        c = np.linalg.solve(V, p0.astype(complex))  # V^{-1} p0
        X = np.exp(np.outer(t, w))  # (n_tau, N), |.| <= 1 since Re w <= 0
        if kind == "ramsey":
            return X @ (a * c)
        # 1^T V e^{Wt} V^{-1} conj(V) e^{conj(W) t} conj(V^{-1} p0)
        G = np.linalg.solve(V, V.conj())
        left = X * a
        right = X.conj() * c.conj()
        return ((left @ G) * right).sum(axis=1)
    out = np.empty(tau.shape, dtype=complex)
    for k, tk in enumerate(t):
        P = scipy.linalg.expm(A * tk)
        if kind == "ramsey":
            out[k] = ones @ (P @ p0)
        else:
            out[k] = (ones @ P) @ (P.conj() @ p0)
    return out


def hop_dot_factor(tau: ArrayLike, u: ArrayLike, n: int, gamma1: float, kind: str = "echo",
                   fixed_level: int | None = None, method: str = "auto") -> np.ndarray:
    r"""Exact echo or Ramsey factor contributed by one dot under hop dynamics (docs/exact.md).

    The dot has ``M = len(u)`` levels and ``n`` particles; every ordered pair
    (alpha occupied, beta empty) hops at rate ``gamma1`` (docs/model.md).  It is a
    Markov chain on its ``C(M, n)`` configurations with symmetric generator
    ``Q`` (:func:`hop_generator`) and uniform stationary distribution ``pi``.
    In configuration ``c`` it shifts the probe by
    ``h(c) = sum_beta u_beta (n_beta(c) - n/M)``.  With ``H = diag h``:

    * neighbouring dot (``fixed_level=None``)::

          echo:   1^T exp[(Q + iH) tau/2] exp[(Q - iH) tau/2] pi
          ramsey: 1^T exp[(Q + iH) tau] pi

    * the probe's own dot (``fixed_level = alpha``, the probe's level): the
      probe occupation ``s`` is held fixed.  For each ``s`` in {1, 0} the chain
      is restricted to the configurations with ``n_alpha = s``; the moves that
      change ``n_alpha`` are removed from the off-diagonal part but kept in the
      diagonal (escape rate ``gamma1 (M - n)`` if ``s = 1``, ``gamma1 n`` if
      ``s = 0``, the same for every configuration of the subspace), so the
      probability that leaves is dropped: that is the survival indicator S.
      The restricted chain starts uniform on the subspace, and the two results
      are weighted by ``P(s = 1) = n/M`` and ``P(s = 0) = 1 - n/M``.  The shift
      uses the couplings to the other levels of the dot (``u[alpha]`` is
      ignored), still centred by ``nu = n/M`` as in docs/model.md.

    Note: conditioned on ``s``, the other levels of the own dot have mean
    filling ``(n - s)/(M - 1) != n/M``, so the own-dot Ramsey factor carries two
    sub-lines at offsets ``sum_{beta != alpha} u_beta ((n - s)/(M - 1) - n/M)``;
    these average to zero with the weights above but are not removed by the
    ``eps0`` subtraction.  The echo refocuses them.

    Parameters
    ----------
    tau : array_like, shape (n_tau,)
        Delays, ``>= 0``.
    u : array_like, shape (M,)
        Couplings from the probe to the levels of this dot.
    n : int
        Particles on the dot (``round(filling * M)``).
    gamma1 : float
        Hop rate of each transition of this dot.
    kind : {"echo", "ramsey"}
    fixed_level : int or None
        The probe's level index if this is the probe's own dot.
    method : {"auto", "eig", "expm"}
        ``"eig"``: one eigendecomposition ``Q + iH = V W V^{-1}`` per
        (sub)chain, reused for every tau (cost ``n_tau N^2``); since
        ``Re <x|(Q + iH)|x> = <x|Q|x> <= 0`` all eigenvalues have ``Re w <= 0``
        and the rounding error is ~ ``eps * cond(V)``.  Near an exceptional
        point (e.g. the M = 2 telegraph at ``|u0 - u1|/2 = gamma1``) V is
        ill-conditioned; ``"auto"`` (default) then falls back to
        ``"expm"``: ``scipy.linalg.expm`` per tau (robust, ``n_tau`` matrix
        exponentials; ``exp[(Q - iH)t]`` is the complex conjugate of
        ``exp[(Q + iH)t]`` so one per tau suffices).  ``"auto"`` uses eig when
        ``cond(V) <= 1e6``.

    Returns
    -------
    ndarray of complex, shape (n_tau,)
        The factor; the echo is real up to rounding (see :func:`hop_echo`).
        Tractable for ``M <= 8`` (at most 70 configurations).
    """
    if kind not in ("echo", "ramsey"):
        raise ValueError(f"kind must be 'echo' or 'ramsey', got {kind!r}")
    if method not in ("auto", "eig", "expm"):
        raise ValueError(f"method must be 'auto', 'eig' or 'expm', got {method!r}")
    tau = _check_nonneg("tau", tau)
    if tau.ndim != 1:
        raise ValueError(f"tau must be 1-D, got shape {tau.shape}")
    u = np.asarray(u, dtype=float)
    if u.ndim != 1 or not np.all(np.isfinite(u)):
        raise ValueError("u must be a finite 1-D array (one coupling per level of the dot)")
    g = float(_check_nonneg("gamma1", gamma1))
    M = u.size
    n = int(n)
    occ = hop_configurations(M, n)
    Q = hop_generator(occ, g)
    nu = n / M
    if fixed_level is None:
        h = (occ - nu) @ u
        N = occ.shape[0]
        return _chain_signal(tau, Q, h, np.full(N, 1.0 / N), kind, method)
    alpha = int(fixed_level)
    if not 0 <= alpha < M:
        raise ValueError(f"fixed_level must be in [0, {M}), got {fixed_level!r}")
    u_other = u.copy()
    u_other[alpha] = 0.0
    h = (occ - nu) @ u_other
    out = np.zeros(tau.shape, dtype=complex)
    for s, weight in ((1, n / M), (0, 1.0 - n / M)):
        if weight == 0.0:
            continue
        idx = np.flatnonzero(occ[:, alpha] == s)
        Qs = Q[np.ix_(idx, idx)]  # full diagonal kept: escape = loss of survival
        p0 = np.full(idx.size, 1.0 / idx.size)
        out += weight * _chain_signal(tau, Qs, h[idx], p0, kind, method)
    return out


def _hop_product(tau, u_by_dot, n, gamma1_by_dot, own_dot_index, probe_level, kind, method):
    tau = _check_nonneg("tau", tau)
    u_by_dot = np.asarray(u_by_dot, dtype=float)
    if u_by_dot.ndim != 2:
        raise ValueError(f"u_by_dot must be 2-D (n_dots, M), got shape {u_by_dot.shape}")
    n_dots = u_by_dot.shape[0]
    g = np.broadcast_to(_check_nonneg("gamma1_by_dot", gamma1_by_dot), (n_dots,))
    n_arr = np.broadcast_to(np.asarray(n), (n_dots,))
    own = int(own_dot_index)
    if not 0 <= own < n_dots:
        raise ValueError(f"own_dot_index must be in [0, {n_dots}), got {own_dot_index!r}")
    out = np.ones(tau.shape, dtype=complex)
    for J in range(n_dots):
        if J != own and not np.any(u_by_dot[J]):
            continue  # an uncoupled neighbour contributes exactly 1
        out *= hop_dot_factor(
            tau, u_by_dot[J], int(n_arr[J]), g[J], kind=kind,
            fixed_level=probe_level if J == own else None, method=method,
        )
    return out


def hop_echo(tau: ArrayLike, u_by_dot: ArrayLike, n: int | ArrayLike, gamma1_by_dot: float | ArrayLike,
             own_dot_index: int, probe_level: int, method: str = "auto") -> np.ndarray:
    r"""Exact Hahn echo of a probe under hop dynamics (docs/exact.md).

    ``E_i(tau) = prod_J f_J(tau)`` over the dots within the probe's cutoff,
    each ``f_J`` from :func:`hop_dot_factor` (the own dot with the probe
    occupation held fixed: survival).  The dots are independent Markov chains
    with fixed rates, so the average factorises exactly.

    Why the echo is real: every dot chain has a symmetric generator
    ``Q = Q^T`` (equal rates forward and back, uniform ``pi``: a stationary
    reversible chain), and ``H`` is real diagonal, so
    ``A = Q + iH`` is complex symmetric, ``A^T = A`` and ``conj(A) = Q - iH``.
    With ``pi = 1/N``, ``f = (1/N) 1^T e^{A t} e^{conj(A) t} 1``; transposing
    the scalar gives ``(1/N) 1^T e^{conj(A) t} e^{A t} 1 = conj(f)``, hence
    ``f`` is real.  Physically: the time-reversed path has the same
    stationary probability and the echo phase of the reversed path is minus
    the original one.  The same holds for the own-dot restricted chain (the
    restriction of a symmetric matrix is symmetric, the start is uniform on
    the subspace).  The returned array keeps its (rounding-level) imaginary
    part.

    Parameters
    ----------
    tau : array_like, shape (n_tau,)
    u_by_dot : array_like, shape (n_dots, M)
        Couplings from the probe to every level of every dot within its cutoff,
        including its own dot at row ``own_dot_index`` (the entry at
        ``probe_level`` is ignored).
    n : int or array_like of int, shape (n_dots,)
        Particles per dot.
    gamma1_by_dot : float or array_like, shape (n_dots,)
        Hop rate of each dot.
    own_dot_index : int
        Row of ``u_by_dot`` that is the probe's own dot.
    probe_level : int
        The probe's level index on its own dot.
    method : {"auto", "eig", "expm"}
        See :func:`hop_dot_factor`.

    Returns
    -------
    ndarray of complex, shape (n_tau,)
    """
    return _hop_product(tau, u_by_dot, n, gamma1_by_dot, own_dot_index, probe_level, "echo", method)


def hop_ramsey(tau: ArrayLike, u_by_dot: ArrayLike, n: int | ArrayLike, gamma1_by_dot: float | ArrayLike,
               own_dot_index: int, probe_level: int, method: str = "auto") -> np.ndarray:
    r"""Exact Ramsey signal of a probe under hop dynamics (docs/exact.md).

    ``R_i(tau) = prod_J 1^T exp[(Q_J + iH_J) tau] pi_J`` (own dot restricted,
    see :func:`hop_dot_factor`).  Unlike the flip case this is complex in
    general: the shift distribution of a dot is not symmetric about its mean
    (e.g. M = 3, n = 1), and the own-dot factor has sub-lines at offsets that
    depend on the probe's occupation.  At half filling (n = M/2) it is real:
    the particle-hole map c -> complement of c is a symmetry of the chain that
    sends h -> -h (and, on the own dot, exchanges the two equally weighted
    probe occupations).  Arguments as in :func:`hop_echo`.

    Returns
    -------
    ndarray of complex, shape (n_tau,)
    """
    return _hop_product(tau, u_by_dot, n, gamma1_by_dot, own_dot_index, probe_level, "ramsey", method)


def hop_dot_sd_variance_chain(t_w: ArrayLike, u: ArrayLike, n: int, gamma1: float) -> np.ndarray:
    r"""The spectral-diffusion contribution of one dot under hop dynamics
    (:func:`analysis.exact.diffusion.hop_dot_sd_variance`, docs/spectral-diffusion.md
    §2) from the dot's Markov chain:
    ``sum_{c, c'} pi_c P_{c'c}(t_w) (h_{c'} - h_c)^2`` with ``P = expm(Q t_w)``
    (:func:`hop_generator`, uniform ``pi``), ``h = sum_beta u_beta (n_beta - n/M)``.
    One matrix exponential per waiting time; for checks (M <= 8).
    """
    t = np.abs(np.asarray(t_w, dtype=float))
    u = np.asarray(u, dtype=float).ravel()
    occ = hop_configurations(u.size, n)
    Q = hop_generator(occ, float(_check_nonneg("gamma1", gamma1)))
    h = (occ - n / u.size) @ u
    d2 = (h[:, None] - h[None, :]) ** 2      # [c', c]
    N = h.size
    out = np.empty(t.shape)
    for idx, tk in np.ndenumerate(t):
        P = scipy.linalg.expm(Q * tk)
        out[idx] = float(np.sum(P * d2)) / N
    return out
