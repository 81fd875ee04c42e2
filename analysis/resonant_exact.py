r"""Exact references for resonant dynamics: rates that respond to spectral diffusion.

With resonant dynamics a transition c -> c' (a flip of one level, or a hop
alpha -> beta on one dot, as for fixed rates) happens at the rate

    W(c -> c') = Gamma1(I) w^2 / (dE^2 + w^2),   dE = E(c') - E(c),

with the total energy

    E(c) = sum_l eps0_l n_l + sum_{l<j} U_lj (n_l - nu_L)(n_j - nu_J),

``nu_J = 1/2`` (flip) or ``n_J/M_J`` (hop) and ``w > 0`` the resonance width
(``w = inf`` gives the fixed rates of docs/model.md).  The rates depend on the
whole configuration, so the fluctuators are no longer independent and the
factorised products of :mod:`analysis.exact` no longer apply.  This module
gives the two exact references of docs/resonant.md:

* the **joint Markov chain** of a small cluster (all its configurations, up to
  a few thousand states): :func:`cluster_generator`, and the echo and Ramsey
  signal of one probe level from it, :func:`cluster_echo_ramsey`;
* the **mean rate** of a transition over uniformly random configurations,
  exact at any size through the characteristic function of the energy change
  (:func:`lorentzian_expectation`, :func:`flip_mean_rate`,
  :func:`hop_move_mean_rate`), and the mean rate at which a level's own
  occupation changes (:func:`cluster_mean_rate`, :func:`model_mean_rate`).

Conventions are those of :mod:`analysis.exact` (hbar = 1, column generator
``dp/dt = Q p``, the latest time on the left):

    echo:   1^T exp[(Q_i + iH_i) tau/2] exp[(Q_i - iH_i) tau/2] pi
    Ramsey: 1^T exp[(Q_i + iH_i) tau] pi

with ``H_i = diag(eps_i(c) - eps0_i)`` and ``Q_i`` the joint generator in
which every transition that changes the probe's own occupation leads out of
the state space (survival).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence
from math import comb

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import simulator

__all__ = [
    "Cluster",
    "cluster_generator",
    "total_energy",
    "level_energies",
    "probe_generator",
    "cluster_echo_ramsey",
    "cluster_level_rate",
    "lorentzian_expectation",
    "flip_mean_rate",
    "hop_move_mean_rate",
    "cluster_mean_rate",
    "model_level_rows",
    "model_mean_rate",
]

# Largest joint state space accepted (a dense eigendecomposition of ~1500
# states takes seconds; beyond that the sparse Krylov action is used).
MAX_STATES = 20_000
_DENSE_MAX = 1500
_EIG_COND_MAX = 1.0e6
# Integration range of the characteristic-function quadrature in s = w t:
# the neglected tail is at most e^{-S_MAX} = 4e-18.
_S_MAX = 40.0
_GL_ORDER = 20
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_GL_ORDER)


# ---------------------------------------------------------------------------
# The joint chain of a small cluster
# ---------------------------------------------------------------------------

@dataclass
class Cluster:
    """All configurations of a small cluster and its resonant joint generator.

    Attributes
    ----------
    kind : "flip" or "hop".
    eps0 : (N,) static energies.
    U : (N, N) symmetric couplings, zero diagonal.
    dot : (N,) dot of each level (0 .. D-1).
    gamma1 : (D,) rate bound Gamma1 of each dot.
    w : resonance width (``inf``: fixed rates).
    n_particles : (D,) particles per dot (hop), or None (flip).
    nu : (N,) the centring nu of each level's dot.
    occ : (S, N) int8, the occupations of every configuration.
    energy : (S,) total energy E(c).
    src, dst : (T,) int64, every transition c -> c' as state indices.
    level_from, level_to : (T,) int64, the level that empties and the level
        that fills (a flip of l: ``l`` in the one that applies, -1 in the other).
    dE : (T,) the energy change E(c') - E(c).
    rate : (T,) W(c -> c').
    Q : (S, S) scipy.sparse CSR column generator, ``Q[c', c] = W(c -> c')``.
    """

    kind: str
    eps0: np.ndarray
    U: np.ndarray
    dot: np.ndarray
    gamma1: np.ndarray
    w: float
    n_particles: np.ndarray | None
    nu: np.ndarray
    occ: np.ndarray
    energy: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    level_from: np.ndarray
    level_to: np.ndarray
    dE: np.ndarray
    rate: np.ndarray
    Q: scipy.sparse.csr_matrix

    @property
    def n_states(self) -> int:
        return self.occ.shape[0]

    @property
    def n_levels(self) -> int:
        return self.occ.shape[1]


def lorentzian(dE: ArrayLike, w: float) -> np.ndarray:
    """Acceptance w^2/(dE^2 + w^2) (1 exactly for ``w = inf``)."""
    dE = np.asarray(dE, dtype=float)
    if np.isinf(w):
        return np.ones_like(dE)
    x = dE / w
    return 1.0 / (1.0 + x * x)


def total_energy(occ: ArrayLike, eps0: ArrayLike, U: ArrayLike, nu: ArrayLike) -> np.ndarray:
    """E(c) = sum_l eps0_l n_l + sum_{l<j} U_lj (n_l - nu_L)(n_j - nu_J), per row of ``occ``."""
    occ = np.atleast_2d(np.asarray(occ, dtype=float))
    x = occ - nu
    U = np.asarray(U, dtype=float)
    # U has a zero diagonal, so half the full quadratic form is the sum over l < j
    return occ @ eps0 + 0.5 * np.einsum("sl,lj,sj->s", x, U, x)


def level_energies(occ: ArrayLike, eps0: ArrayLike, U: ArrayLike, nu: ArrayLike) -> np.ndarray:
    """eps_l(c) = eps0_l + sum_{j != l} U_lj (n_j - nu_J), shape (S, N)."""
    occ = np.atleast_2d(np.asarray(occ, dtype=float))
    return eps0 + (occ - nu) @ np.asarray(U, dtype=float)


def _validate(eps0, U, dot, gamma1, w, kind, n_particles) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, np.ndarray | None, np.ndarray, np.ndarray]:
    if kind not in ("flip", "hop"):
        raise ValueError(f"kind must be 'flip' or 'hop', got {kind!r}")
    eps0 = np.asarray(eps0, dtype=float)
    if eps0.ndim != 1 or eps0.size == 0 or not np.all(np.isfinite(eps0)):
        raise ValueError("eps0 must be a finite non-empty 1-D array (one static energy per level)")
    N = eps0.size
    U = np.asarray(U, dtype=float)
    if U.shape != (N, N) or not np.all(np.isfinite(U)):
        raise ValueError(f"U must be a finite ({N}, {N}) array, got shape {U.shape}")
    if not np.array_equal(U, U.T):
        raise ValueError("U must be exactly symmetric")
    if np.any(np.diag(U) != 0):
        raise ValueError("U must have a zero diagonal (a level does not couple to itself)")
    dot = np.asarray(dot)
    if dot.shape != (N,) or not np.issubdtype(dot.dtype, np.integer) or dot.min() < 0:
        raise ValueError(f"dot must be ({N},) non-negative integers (the dot of each level)")
    D = int(dot.max()) + 1
    if np.unique(dot).size != D:
        raise ValueError(f"dot must use every index 0..{D - 1} (got {sorted(set(dot.tolist()))})")
    gamma1 = np.broadcast_to(np.asarray(gamma1, dtype=float), (D,)).copy()
    if not np.all(np.isfinite(gamma1)) or np.any(gamma1 < 0):
        raise ValueError("gamma1 must be finite and >= 0 (one rate bound per dot)")
    w = float(w)
    if not w > 0:
        raise ValueError(f"w (the resonance width) must be > 0 or inf, got {w!r}")
    sizes = np.bincount(dot, minlength=D)
    if kind == "hop":
        if n_particles is None:
            raise ValueError("hop dynamics needs n_particles (particles per dot)")
        n_particles = np.broadcast_to(np.asarray(n_particles), (D,)).astype(np.int64)
        if np.any(n_particles < 0) or np.any(n_particles > sizes):
            raise ValueError(f"n_particles must lie in [0, levels of the dot] = [0, {sizes.tolist()}]")
        nu = (n_particles / sizes)[dot]
    else:
        n_particles = None
        nu = np.full(N, 0.5)
    return eps0, U, dot.astype(np.int64), gamma1, w, n_particles, nu, sizes


def _configurations(kind, N, dot, n_particles):
    if kind == "flip":
        S = 1 << N
        if S > MAX_STATES:
            raise ValueError(f"2^{N} = {S} configurations exceeds the limit {MAX_STATES}")
        return ((np.arange(S)[:, None] >> np.arange(N)) & 1).astype(np.int8)
    D = dot.max() + 1
    per_dot = []
    S = 1
    for J in range(D):
        lev = np.flatnonzero(dot == J)
        per_dot.append([lev[list(c)] for c in itertools.combinations(range(lev.size), int(n_particles[J]))])
        S *= len(per_dot[-1])
    if S > MAX_STATES:
        raise ValueError(f"{S} configurations exceeds the limit {MAX_STATES}")
    occ = np.zeros((S, N), dtype=np.int8)
    for s, choice in enumerate(itertools.product(*per_dot)):
        for filled in choice:
            occ[s, filled] = 1
    return occ


def cluster_generator(eps0: ArrayLike, U: ArrayLike, dot: ArrayLike, gamma1: ArrayLike, w: float,
                      kind: str = "flip", n_particles: int | ArrayLike | None = None) -> Cluster:
    """Joint generator of the resonant dynamics on every configuration of a cluster.

    Parameters
    ----------
    eps0 : array_like, shape (N,)
        Static energy of each level.
    U : array_like, shape (N, N)
        Couplings, exactly symmetric with a zero diagonal (same-dot pairs included).
    dot : array_like of int, shape (N,)
        Dot of each level, using every index 0..D-1.
    gamma1 : float or array_like, shape (D,)
        Rate bound Gamma1(I) of each dot.
    w : float
        Resonance width, > 0; ``numpy.inf`` gives the fixed rates.
    kind : {"flip", "hop"}
        flip: every level toggles; hop: every ordered pair (alpha occupied,
        beta empty) of a dot moves the particle.
    n_particles : int or array_like of int, shape (D,)
        Particles per dot (hop only).

    Returns
    -------
    Cluster
        Flip: all 2^N configurations; hop: the product of the dots' Fock
        spaces at fixed particle number.  dE is computed as E(c') - E(c) from
        :func:`total_energy` (the definition), not from the local formulas.
    """
    eps0, U, dot, gamma1, w, n_part, nu, sizes = _validate(eps0, U, dot, gamma1, w, kind, n_particles)
    N = eps0.size
    occ = _configurations(kind, N, dot, n_part)
    S = occ.shape[0]
    keys = occ.astype(np.int64) @ (np.int64(1) << np.arange(N, dtype=np.int64))
    order = np.argsort(keys)
    sorted_keys = keys[order]
    energy = total_energy(occ, eps0, U, nu)
    src_l: list[np.ndarray] = []
    dst_l: list[np.ndarray] = []
    lfrom_l: list[np.ndarray] = []
    lto_l: list[np.ndarray] = []
    states = np.arange(S)
    if kind == "flip":
        for l in range(N):
            new = keys ^ (np.int64(1) << l)
            src_l.append(states)
            dst_l.append(order[np.searchsorted(sorted_keys, new)])
            on = occ[:, l] == 1
            lfrom_l.append(np.where(on, l, -1))
            lto_l.append(np.where(on, -1, l))
    else:
        for J in range(sizes.size):
            lev = np.flatnonzero(dot == J)
            for a in lev:
                for b in lev:
                    if a == b:
                        continue
                    s = np.flatnonzero((occ[:, a] == 1) & (occ[:, b] == 0))
                    new = keys[s] - (np.int64(1) << a) + (np.int64(1) << b)
                    src_l.append(s)
                    dst_l.append(order[np.searchsorted(sorted_keys, new)])
                    lfrom_l.append(np.full(s.size, a))
                    lto_l.append(np.full(s.size, b))
    cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
    src, dst, lfrom, lto = cat(src_l), cat(dst_l), cat(lfrom_l), cat(lto_l)
    dE = energy[dst] - energy[src]
    changed = np.where(lfrom >= 0, lfrom, lto)
    rate = gamma1[dot[changed]] * lorentzian(dE, w)
    out = np.bincount(src, weights=rate, minlength=S)
    Q = scipy.sparse.coo_matrix((np.concatenate([rate, -out]),
                                 (np.concatenate([dst, states]), np.concatenate([src, states]))),
                                shape=(S, S)).tocsr()
    return Cluster(kind=kind, eps0=eps0, U=U, dot=dot, gamma1=gamma1, w=w, n_particles=n_part, nu=nu,
                   occ=occ, energy=energy, src=src, dst=dst, level_from=lfrom, level_to=lto, dE=dE,
                   rate=rate, Q=Q)


def _check_probe(cluster: Cluster, probe: int) -> int:
    p = int(probe)
    if not 0 <= p < cluster.n_levels:
        raise ValueError(f"probe must be a level index in [0, {cluster.n_levels}), got {probe!r}")
    return p


def probe_generator(cluster: Cluster, probe: int) -> tuple:
    """``(Q_i, h_i)``: the generator with the probe's own transitions turned into loss, and
    the probe shift ``h_i(c) = eps_i(c) - eps0_i``.

    The transitions that change ``n_i`` keep their share of the diagonal (the
    escape rate) but lose their off-diagonal entry, so probability that leaves
    through them is dropped: the survival indicator S of docs/model.md §4.
    """
    p = _check_probe(cluster, probe)
    keep = (cluster.level_from != p) & (cluster.level_to != p)
    S = cluster.n_states
    out = np.bincount(cluster.src, weights=cluster.rate, minlength=S)
    states = np.arange(S)
    Qi = scipy.sparse.coo_matrix(
        (np.concatenate([cluster.rate[keep], -out]),
         (np.concatenate([cluster.dst[keep], states]), np.concatenate([cluster.src[keep], states]))),
        shape=(S, S)).tocsr()
    h = (cluster.occ - cluster.nu) @ cluster.U[:, p]  # U_pp = 0: the probe's own n does not enter
    return Qi, h


def cluster_echo_ramsey(cluster: Cluster, probe: int, tau: ArrayLike, method: str = "auto") -> tuple:
    """Exact echo and Ramsey signal of one probe level of a cluster.

    ``E(tau) = 1^T exp[(Q_i + iH_i) tau/2] exp[(Q_i - iH_i) tau/2] pi`` and
    ``R(tau) = 1^T exp[(Q_i + iH_i) tau] pi``, pi uniform over the cluster's
    configurations (the stationary state, docs/resonant.md).  The Ramsey
    signal has the sign of the estimator ``<S exp(i[phi(t0+tau) - phi(t0)])>``
    (docs/model.md §4) and of :mod:`analysis.exact`; ``Q - iH`` would give its
    complex conjugate.

    Parameters
    ----------
    cluster : Cluster from :func:`cluster_generator`.
    probe : int, the probe's level index in the cluster.
    tau : array_like, shape (n_tau,), delays >= 0.
    method : {"auto", "eig", "expm", "krylov"}
        ``"eig"``: one dense eigendecomposition of ``Q_i + iH_i`` reused for
        every tau; ``"expm"``: a dense ``scipy.linalg.expm`` per tau;
        ``"krylov"``: ``scipy.sparse.linalg.expm_multiply`` (the action on
        vectors) per tau.  ``"auto"``: eig when the state space has at most
        1500 states and the eigenvector matrix has cond <= 1e6, else expm
        (dense) or krylov (larger).  Each method works on the two sectors
        n_i = 0 and n_i = 1 separately (Q_i does not connect them).

    Returns
    -------
    (echo, ramsey) : two complex arrays of shape (n_tau,).  The echo is real
    up to rounding (Q_i is symmetric, see docs/resonant.md).
    """
    if method not in ("auto", "eig", "expm", "krylov"):
        raise ValueError(f"method must be 'auto', 'eig', 'expm' or 'krylov', got {method!r}")
    tau = np.asarray(tau, dtype=float)
    if tau.ndim != 1 or not np.all(np.isfinite(tau)) or np.any(tau < 0):
        raise ValueError("tau must be a 1-D array of finite delays >= 0")
    Qi, h = probe_generator(cluster, probe)
    S = cluster.n_states
    p = int(probe)
    echo = np.zeros(tau.shape, dtype=complex)
    ramsey = np.zeros(tau.shape, dtype=complex)
    # Q_i has no entry between n_i = 0 and n_i = 1 (those transitions are loss), so the
    # two sectors are separate chains: half the size each, a quarter of the work
    for s in (0, 1):
        idx = np.flatnonzero(cluster.occ[:, p] == s)
        if idx.size == 0:
            continue
        A = (Qi[idx][:, idx] + 1j * scipy.sparse.diags(h[idx])).tocsr()
        e, r = _block_signals(A, np.full(idx.size, 1.0 / S), tau, method)
        echo += e
        ramsey += r
    return echo, ramsey


def _block_signals(A, pi, tau, method):
    """1^T e^{A tau/2} e^{conj(A) tau/2} pi and 1^T e^{A tau} pi for one sector."""
    S = pi.size
    ones = np.ones(S)
    if method == "auto":
        method = "eig" if S <= _DENSE_MAX else "krylov"
        fallback = "expm"
    else:
        fallback = None
    if method == "eig":
        Ad = A.toarray()
        lam, V = np.linalg.eig(Ad)
        cond = np.linalg.cond(V)
        if np.isfinite(cond) and cond <= _EIG_COND_MAX:
            a = ones @ V
            c = np.linalg.solve(V, pi.astype(complex))
            G = np.linalg.solve(V, V.conj())  # V^{-1} conj(V)
            Xh = np.exp(np.outer(0.5 * tau, lam))
            Xf = np.exp(np.outer(tau, lam))
            ramsey = Xf @ (a * c)
            echo = (((Xh * a) @ G) * (Xh.conj() * c.conj())).sum(axis=1)
            return echo, ramsey
        if fallback is None:
            raise np.linalg.LinAlgError(f"eigenvector matrix is ill-conditioned (cond = {cond:.3g}); "
                                        "use method='expm'")
        method = fallback
    echo = np.empty(tau.shape, dtype=complex)
    ramsey = np.empty(tau.shape, dtype=complex)
    if method == "expm":
        Ad = A.toarray()
        for k, t in enumerate(tau):
            Ph = scipy.linalg.expm(Ad * (0.5 * t))
            Pf = scipy.linalg.expm(Ad * t)
            ramsey[k] = ones @ (Pf @ pi)
            # exp[(Q - iH)t] = conj(exp[(Q + iH)t]) since Q and H are real
            echo[k] = (ones @ Ph) @ (Ph.conj() @ pi)
        return echo, ramsey
    A = A.tocsc()
    At = A.T.tocsc()
    Ac = A.conj().tocsc()
    for k, t in enumerate(tau):
        ramsey[k] = ones @ scipy.sparse.linalg.expm_multiply(A * t, pi.astype(complex))
        left = scipy.sparse.linalg.expm_multiply(At * (0.5 * t), ones.astype(complex))   # (1^T e^{A t/2})^T
        right = scipy.sparse.linalg.expm_multiply(Ac * (0.5 * t), pi.astype(complex))
        echo[k] = left @ right
    return echo, ramsey


def cluster_level_rate(cluster: Cluster, level: int) -> float:
    """Mean rate at which ``level``'s occupation changes, by enumeration of the cluster.

    ``(1/S) sum_c sum_{c -> c' changing n_level} W(c -> c')``: the transitions of the
    level per unit time in the stationary state (uniform over the configurations).
    """
    p = _check_probe(cluster, level)
    sel = (cluster.level_from == p) | (cluster.level_to == p)
    return float(cluster.rate[sel].sum() / cluster.n_states)


# ---------------------------------------------------------------------------
# Mean rates through the characteristic function
# ---------------------------------------------------------------------------

def _integrand(s, w, offset, half_amps, groups):
    """Re[e^{i x0 t} prod_j cos(a_j t) prod_g phi_g(t)] at t = s / w."""
    t = s / w
    val = np.cos(offset * t) + 0j if not groups else np.exp(1j * offset * t)
    if half_amps.size:
        val = val * np.prod(np.cos(np.outer(t, half_amps)), axis=1)
    for g in groups:
        val = val * np.exp(1j * np.outer(t, g)).mean(axis=1)
    return val.real


def _composite_gl(n_panels, w, offset, half_amps, groups, chunk):
    edges = np.linspace(0.0, _S_MAX, n_panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    nodes = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    weights = (half[:, None] * _GL_W[None, :]).ravel() * np.exp(-nodes)
    total = 0.0
    for s in range(0, nodes.size, chunk):
        total += float(weights[s:s + chunk] @ _integrand(nodes[s:s + chunk], w, offset, half_amps, groups))
    return total


def lorentzian_expectation(w: float, offset: float = 0.0, half_amplitudes: ArrayLike | None = None,
                           groups: Sequence = (), tol: float = 1e-10, max_nodes: int = 50_000_000) -> float:
    r"""``E[w^2/(X^2 + w^2)]`` for a sum of independent discrete variables.

    ``X = offset + sum_j a_j s_j + sum_g Y_g`` with ``s_j = +-1`` equally likely
    (``a_j`` = ``half_amplitudes``) and each ``Y_g`` uniform over the values in
    ``groups[g]``.  Since ``w^2/(x^2 + w^2) = int (w/2) e^{-w|t|} e^{ixt} dt``,

    .. math::

        E\left[\frac{w^2}{X^2 + w^2}\right] = \int_0^\infty e^{-s}\,
            \mathrm{Re}\,\phi_X(s/w)\,ds,
        \qquad \phi_X(t) = e^{i x_0 t} \prod_j \cos(a_j t) \prod_g \phi_g(t).

    The integral is cut at ``s = 40`` (tail < 4e-18) and done by composite
    20-point Gauss-Legendre panels, starting from a panel width that resolves
    the Gaussian bandwidth of ``phi_X`` and halving it until two successive
    results differ by less than ``tol``; the answer is the finer one, whose
    error is far below ``tol`` (Gauss-Legendre converges geometrically once
    the panels resolve the oscillation).

    Parameters
    ----------
    w : float, resonance width > 0.
    offset : float, the constant part x0 of X.
    half_amplitudes : array_like, the a_j of the symmetric +-a_j terms.
    groups : sequence of 1-D arrays, equally likely values of each further term.
    tol : float, absolute accuracy target (the result lies in [0, 1]).
    max_nodes : int, refuse (ValueError) rather than use more quadrature nodes.

    Returns
    -------
    float
    """
    w = float(w)
    if not w > 0 or not np.isfinite(w):
        raise ValueError(f"w must be finite and > 0, got {w!r}")
    a = np.abs(np.asarray([] if half_amplitudes is None else half_amplitudes, dtype=float)).ravel()
    a = a[a > 0]
    groups = [np.asarray(g, dtype=float).ravel() for g in groups]
    if any(g.size == 0 for g in groups):
        raise ValueError("every group needs at least one value")
    # a group with a single value is a constant: fold it into the offset
    offset = float(offset) + sum(float(g[0]) for g in groups if np.ptp(g) == 0)
    groups = [g for g in groups if np.ptp(g) > 0]
    if not np.isfinite(offset) or not np.all(np.isfinite(a)):
        raise ValueError("offset and half_amplitudes must be finite")
    if not a.size and not groups:
        return float(lorentzian(offset, w))
    # Gaussian bandwidth of phi_X: 6 sigma plus the offset, in units of s
    var = float(np.sum(a * a)) + sum(float(np.var(g)) for g in groups)
    spread = float(np.sum(a)) + sum(float(np.ptp(g)) for g in groups)
    freq = (abs(offset) + sum(abs(float(np.mean(g))) for g in groups) + min(spread, 6.0 * np.sqrt(var))) / w
    n_panels = max(8, int(np.ceil(_S_MAX * freq / np.pi)))
    width = a.size + sum(g.size for g in groups)
    chunk = max(256, 4_000_000 // max(width, 1))
    prev = _composite_gl(n_panels, w, offset, a, groups, chunk)
    while True:
        n_panels *= 2
        if n_panels * _GL_ORDER > max_nodes:
            raise ValueError(f"characteristic-function quadrature did not converge to {tol:g} within "
                             f"{max_nodes} nodes (w = {w:g} is very small against the couplings)")
        cur = _composite_gl(n_panels, w, offset, a, groups, chunk)
        if abs(cur - prev) <= tol:
            return float(min(1.0, max(0.0, cur)))
        prev = cur


def flip_mean_rate(w: float, gamma1: float, eps0: float, U: ArrayLike, tol: float = 1e-10) -> float:
    """Mean flip rate of a level over uniformly random configurations (flip dynamics).

    ``Gamma1 E_c[w^2/(eps_l(c)^2 + w^2)]`` with ``eps_l = eps0 + sum_j U_lj (n_j - 1/2)``,
    the n_j independent Bernoulli(1/2); ``dE^2 = eps_l^2`` for either direction.
    This is also the level's own transitions per unit time.

    Parameters
    ----------
    w : resonance width (> 0; inf gives ``gamma1``).
    gamma1 : the rate bound Gamma1(I) of the level's dot.
    eps0 : the level's static energy.
    U : array_like, couplings of the level to every other level within the cutoff.
    tol : absolute accuracy of the expectation (see :func:`lorentzian_expectation`).
    """
    if np.isinf(w):
        return float(gamma1)
    return float(gamma1) * lorentzian_expectation(w, eps0, 0.5 * np.asarray(U, dtype=float), tol=tol)


def _dot_groups(coef, dots, own_dot, n_of_dot, M_of_dot, own_removed):
    """Equally likely values of sum_b coef_b (n_b - nu_J) for each dot J.

    The dot's occupations are uniform over its n_J-subsets; on ``own_dot`` the
    ``own_removed`` = (particles, levels) already fixed by the transition are
    taken out.  Levels of a dot that are not listed have coefficient 0.
    """
    groups, offset = [], 0.0
    for J in np.unique(dots):
        c = coef[dots == J]
        M_J, n_J = int(M_of_dot(J)), int(n_of_dot(J))
        nu = n_J / M_J
        m, k = M_J, n_J
        if J == own_dot:
            m, k = M_J - own_removed[1], n_J - own_removed[0]
        if c.size > m:
            raise ValueError(f"dot {J} lists {c.size} levels but has only {m} free levels")
        c = np.concatenate([c, np.zeros(m - c.size)])
        if comb(m, k) > 100_000:
            raise ValueError(f"dot {J}: C({m}, {k}) configurations is too many")
        vals = np.array([c[list(s)].sum() for s in itertools.combinations(range(m), k)]) - nu * c.sum()
        if np.ptp(vals) == 0:
            offset += float(vals[0])
        else:
            groups.append(vals)
    return groups, offset


def hop_move_mean_rate(w: float, gamma1: float, eps0_from: float, eps0_to: float, dU: ArrayLike, dots: ArrayLike,
                       own_dot: int, n_particles: int | ArrayLike, levels_per_dot: int,
                       tol: float = 1e-10) -> float:
    r"""Mean rate of the hop alpha -> beta over the configurations in which it is allowed.

    ``Gamma1 E[w^2/(dE^2 + w^2) | n_alpha = 1, n_beta = 0]`` with
    ``dE = eps_beta - eps_alpha - U_alpha,beta = eps0_beta - eps0_alpha + sum_{j != alpha, beta}
    (U_beta j - U_alpha j)(n_j - nu_J)``.  Each dot's occupations are uniform over its
    n_J-subsets; on the transition's own dot the other M - 2 levels hold n - 1
    particles.  The reverse move beta -> alpha has the same mean (the move is a
    bijection of the allowed configurations that reverses dE).

    Parameters
    ----------
    w, gamma1 : resonance width and the rate bound of the dot.
    eps0_from, eps0_to : static energies of alpha and beta.
    dU : array_like, ``U_beta j - U_alpha j`` for every other level j within the cutoff.
    dots : array_like of int, the dot of each such level (its whole dot must be listed
        or the missing levels have zero coupling).
    own_dot : the dot of alpha and beta.
    n_particles, levels_per_dot : int, or callables dot -> int, or arrays indexed by dot.
    tol : absolute accuracy of the expectation.
    """
    dU = np.asarray(dU, dtype=float).ravel()
    dots = np.asarray(dots).ravel()
    if dU.shape != dots.shape:
        raise ValueError(f"dU and dots must have equal length, got {dU.size} and {dots.size}")
    n_of, M_of = _as_lookup(n_particles), _as_lookup(levels_per_dot)
    if int(n_of(own_dot)) < 1 or int(n_of(own_dot)) >= int(M_of(own_dot)):
        return 0.0  # no allowed move
    if np.isinf(w):
        return float(gamma1)
    groups, off = _dot_groups(dU, dots, own_dot, n_of, M_of, (1, 2))
    return float(gamma1) * lorentzian_expectation(w, eps0_to - eps0_from + off, None, groups, tol=tol)


def _as_lookup(x):
    if callable(x):
        return x
    arr = np.asarray(x)
    if arr.ndim == 0:
        v = int(arr)
        return lambda J: v
    return lambda J: int(arr[J])


def _level_rate(w, kind, level, eps0_of, row_of, dot_of, gamma1_of, n_of, M_of, same_dot_levels, tol):
    """Own-transition rate of ``level`` from its coupling rows (shared by cluster and model)."""
    if kind == "flip":
        lev, U = row_of(level)
        return flip_mean_rate(w, gamma1_of(level), eps0_of(level), U, tol)
    I = dot_of(level)
    n, M = int(n_of(I)), int(M_of(I))
    if n == 0 or n == M:
        return 0.0
    la, Ua = row_of(level)
    total = 0.0
    for b in same_dot_levels(level):
        lb, Ub = row_of(b)
        # align the two rows on the levels other than alpha and beta
        others = np.setdiff1d(np.union1d(la, lb), [level, b])
        ua = np.zeros(others.size)
        ub = np.zeros(others.size)
        ia = np.searchsorted(others, la)
        ok = (ia < others.size) & (others[np.minimum(ia, others.size - 1)] == la)
        ua[ia[ok]] = Ua[ok]
        ib = np.searchsorted(others, lb)
        ok = (ib < others.size) & (others[np.minimum(ib, others.size - 1)] == lb)
        ub[ib[ok]] = Ub[ok]
        total += hop_move_mean_rate(w, gamma1_of(level), eps0_of(level), eps0_of(b), ub - ua,
                                    dot_of(others), I, n_of, M_of, tol)
    # P(n_alpha = 1, n_beta = 0) = P(n_alpha = 0, n_beta = 1) = n(M - n)/(M(M - 1)); both
    # directions have the same conditional mean rate
    return 2.0 * n * (M - n) / (M * (M - 1)) * total


def cluster_mean_rate(cluster: Cluster, level: int, tol: float = 1e-10) -> float:
    """Mean own-transition rate of a cluster level by the characteristic function.

    Flip: the level's mean toggle rate; hop: the mean rate at which its
    occupation changes, ``2 n(M-n)/(M(M-1)) sum_beta <W_{alpha->beta}>``.  Equals
    :func:`cluster_level_rate` (enumeration) but never enumerates the cluster.
    """
    p = _check_probe(cluster, level)
    N = cluster.n_levels
    sizes = np.bincount(cluster.dot)
    allv = np.arange(N)
    return _level_rate(
        cluster.w, cluster.kind, p,
        eps0_of=lambda l: float(cluster.eps0[l]),
        row_of=lambda l: (allv[allv != l], cluster.U[l, allv != l]),
        dot_of=lambda l: cluster.dot[l],
        gamma1_of=lambda l: float(cluster.gamma1[cluster.dot[l]]),
        n_of=lambda J: 0 if cluster.n_particles is None else int(cluster.n_particles[J]),
        M_of=lambda J: int(sizes[J]),
        same_dot_levels=lambda l: [b for b in np.flatnonzero(cluster.dot == cluster.dot[l]) if b != l],
        tol=tol)


def model_level_rows(model: simulator.Model, levels: ArrayLike) -> dict:
    """Coupling rows of arbitrary levels of a :class:`simulator.Model`.

    The model materialises rows for its probes only; :func:`simulator.model.build_rows`
    builds them for any level list from the same hashed couplings (the rows of
    ``model.probe_couplings`` for the probes).  Returns ``{level: (levels, U)}`` with
    each row sorted by level index.
    """
    from simulator.model import build_rows

    levels = np.unique(np.asarray(levels, dtype=np.int64))
    if levels.size == 0 or levels[0] < 0 or levels[-1] >= model.n_levels:
        raise ValueError(f"levels must lie in [0, {model.n_levels})")
    rows = build_rows(model, levels)
    out = {}
    for k, l in enumerate(levels.tolist()):
        r = rows.row(k)
        order = np.argsort(r["level"])
        out[l] = (r["level"][order], r["U"][order])
    return out


def model_mean_rate(model: simulator.Model, level: int, w: float, tol: float = 1e-10) -> float:
    """Exact mean own-transition rate of one level of a lattice model at resonance width ``w``.

    What a measured ``gamma1`` of the level estimates: transitions of the level
    per unit time in the stationary state.  Uses the level's coupling row (and,
    for hop, the rows of the other levels of its dot), the static energies and
    the per-dot rate bounds of ``model``; cost ~ neighbours x quadrature nodes,
    independent of the lattice size.
    """
    level = int(level)
    if not 0 <= level < model.n_levels:
        raise ValueError(f"level must lie in [0, {model.n_levels}), got {level}")
    M = model.M
    I = level // M
    dot_levels = np.arange(I * M, (I + 1) * M)
    rows = model_level_rows(model, dot_levels if model.kind == "hop" else [level])
    eps = dict(zip(dot_levels.tolist(), model.static_energies(dot_levels).tolist()))
    return _level_rate(
        float(w), model.kind, level,
        eps0_of=lambda l: eps[int(l)],
        row_of=lambda l: rows[int(l)],
        dot_of=lambda l: np.asarray(l) // M,
        gamma1_of=lambda l: float(model.gamma1[int(l) // M]),
        n_of=lambda J: model.n_particles or 0,
        M_of=lambda J: M,
        same_dot_levels=lambda l: [b for b in dot_levels.tolist() if b != l],
        tol=tol)
