"""Exact stationary distribution of a probe level's energy shift.

A probe level i has energy eps_i(t) = eps0_i + X(t) with

    X = sum_{j != i} U_ij (n_j - nu_J)                      (docs/model.md, section 1)

At stationarity (infinite temperature) the dots are independent and each is
uniform over its configurations:

* flip: every level is an independent Bernoulli(1/2), nu = 1/2, so level j
  contributes +-U_ij/2 with probability 1/2 each;
* hop: dot J is uniform over its C(M, n) configurations with n particles,
  nu = n/M, and contributes sum_beta u_beta (n_beta - n/M) with u_beta = U_{i,J beta}.
  On the probe's own dot the probe's level has u = 0 (its own occupation does not
  enter its own energy), and the dot is still uniform over all C(M, n)
  configurations: that *is* the average over the probe's own occupation s
  (s = 1 with probability n/M, the other M - 1 levels then holding n - 1
  particles; s = 0 otherwise, and they hold n).

So X is a sum of independent discrete "fluctuators" (a level for flip, a dot for
hop), each with a few atoms. This module gives the exact probability that X falls
in each histogram bin, its exact moments, and its exact integrated correlation time.

Moments (closed forms, :func:`shift_moments`). The mean is 0. Flip:
Var X = sum_j U_ij^2 / 4. Hop: in a uniform n-subset of M levels the occupations
are exchangeable with Var n_beta = p(1 - p), p = n/M, and
Cov(n_beta, n_gamma) = -p(1 - p)/(M - 1) (sampling without replacement), so

    Var X_J = n (M - n) / (M (M - 1)) * sum_beta (u_beta - ubar)^2,   ubar = (1/M) sum_beta u_beta,

summed over dots (the sum over all M levels of the dot, u = 0 for levels not
coupled to the probe, the probe's own level included). M = 2, n = 1 gives
(u_0 - u_1)^2 / 4, the telegraph of docs/exact.md.

Correlation time (:func:`correlation_time`). A centred linear function of the
occupations decays at one rate: 2 Gamma1(J) for a flipping level, and M Gamma1(J)
for a hopping dot (d/dt E[n_beta] = Gamma1 sum_gamma (n_gamma - n_beta) =
Gamma1 (n - M n_beta)). Hence <X(t) X(0)> = sum_J Var X_J exp(-lambda_J |t|) and
the integrated correlation time is sum_J Var X_J / lambda_J / Var X. It is also the
slowest relaxation rate of *any* function of the configuration (the spectral gap
of a flip level is 2 Gamma1, of a hop dot M Gamma1), which bounds how quickly
samples of eps_i become independent.
"""
from __future__ import annotations

from math import comb

import numpy as np
from numpy.typing import ArrayLike
from scipy.signal import fftconvolve

from .exact.fock import hop_configurations

#: configurations of one hop dot that are enumerated (C(M, n) above this is refused)
MAX_DOT_CONFIGS = 2 ** 18
#: below this many atoms in total, X is enumerated exactly (no grid)
MAX_EXACT_ATOMS = 2 ** 20
#: fluctuators are merged into exactly enumerated groups of at most this many atoms
GROUP_ATOMS = 2 ** 12
#: default number of grid cells over the support of X (grid method)
GRID_CELLS = 2 ** 20

__all__ = ["fluctuators", "shift_moments", "correlation_time", "shift_autocorrelation",
           "stationary_distribution", "stationary_bins", "default_edges"]


def _hop_n(M: int, n_part: int | None) -> int:
    if n_part is None or not 0 <= n_part <= M:
        raise ValueError(f"hop needs 0 <= n_part <= M (got n_part={n_part}, M={M})")
    return n_part


def _nu(kind: str, M: int, n_part: int | None) -> float:
    if kind == "flip":
        return 0.5
    if kind == "hop":
        return _hop_n(M, n_part) / M
    raise ValueError(f"kind must be 'flip' or 'hop' (got {kind!r})")


def _dot_couplings(couplings: dict, M: int) -> tuple[np.ndarray, np.ndarray]:
    """Dots of a probe's row and their coupling vectors u (shape (dots, M), 0 where
    the probe is not coupled, in particular at the probe's own level)."""
    dots = np.unique(np.asarray(couplings["dot"], dtype=np.int64))
    u = np.zeros((dots.size, M))
    where = np.searchsorted(dots, couplings["dot"])
    u[where, np.asarray(couplings["level"], dtype=np.int64) % M] = couplings["U"]
    return dots, u


def fluctuators(couplings: dict, kind: str, M: int, n_part: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The independent contributions to X = eps_i - eps0_i, each as (values, probabilities).

    Parameters
    ----------
    couplings : a probe's row, e.g. ``simulator.model_from_dataset(ds).probe_couplings(p)``
        (needs ``level``, ``dot`` and ``U``).
    kind : ``"flip"`` or ``"hop"``.
    M : levels per dot.
    n_part : particles per dot (hop).

    Returns
    -------
    list of (ndarray, ndarray)
        flip: one entry per coupled level, values -|U|/2 and +|U|/2, probability 1/2 each.
        hop: one entry per coupled dot, its C(M, n) configuration values (duplicates
        merged, probabilities counting them). Values are sorted in every entry.
    """
    nu = _nu(kind, M, n_part)
    U = np.asarray(couplings["U"], dtype=float)
    if kind == "flip":
        half = np.array([0.5, 0.5])
        return [(np.array([-0.5 * abs(u), 0.5 * abs(u)]), half) for u in U if u != 0.0]   # sorted atoms
    n_part = _hop_n(M, n_part)
    if comb(M, n_part) > MAX_DOT_CONFIGS:
        raise ValueError(f"C(M={M}, n={n_part}) = {comb(M, n_part)} configurations per dot is too many to "
                         f"enumerate (limit {MAX_DOT_CONFIGS})")
    occ = hop_configurations(M, n_part).astype(float)
    out = []
    for u in _dot_couplings(couplings, M)[1]:
        if not np.any(u):
            continue
        v, cnt = np.unique(occ @ u - nu * u.sum(), return_counts=True)
        out.append((v, cnt / occ.shape[0]))
    return out


def shift_moments(couplings: dict, kind: str, M: int, n_part: int | None = None) -> tuple[float, float]:
    """Exact mean (0) and variance of X (closed forms of the module docstring)."""
    _nu(kind, M, n_part)
    return 0.0, float(np.sum(_dot_variances(couplings, kind, M, n_part)[1]))


def _dot_variances(couplings: dict, kind: str, M: int, n_part: int | None):
    """(rate multiplier of Gamma1, variance) of every independent contribution."""
    U = np.asarray(couplings["U"], dtype=float)
    if kind == "flip":
        return 2.0 * np.ones(U.size), 0.25 * U ** 2
    dots, u = _dot_couplings(couplings, M)
    n_part = _hop_n(M, n_part)
    if M < 2:
        return np.full(dots.size, float(M)), np.zeros(dots.size)
    dev = u - u.mean(axis=1, keepdims=True)
    return np.full(dots.size, float(M)), n_part * (M - n_part) / (M * (M - 1)) * np.sum(dev ** 2, axis=1)


def _contribution_rates(couplings: dict, kind: str, M: int, n_part: int | None):
    """Decay rate and variance of each contribution to <X(t) X(0)>."""
    mult, var = _dot_variances(couplings, kind, M, n_part)
    g1 = np.asarray(couplings["gamma1"], dtype=float)
    if kind == "hop":                               # one rate per dot, in the order of numpy.unique
        g1 = g1[np.unique(np.asarray(couplings["dot"], dtype=np.int64), return_index=True)[1]]
    return mult * g1, var


def shift_autocorrelation(t: ArrayLike, couplings: dict, kind: str, M: int, n_part: int | None = None) -> np.ndarray:
    """Exact <X(t) X(0)> = sum_J Var X_J exp(-lambda_J |t|), lambda = 2 Gamma1 (flip)
    or M Gamma1 (hop); needs ``gamma1`` in ``couplings``."""
    rate, var = _contribution_rates(couplings, kind, M, n_part)
    ta = np.abs(np.asarray(t, dtype=float))
    return np.sum(var[:, None] * np.exp(-np.outer(rate, ta.ravel())), axis=0).reshape(ta.shape)


def correlation_time(couplings: dict, kind: str, M: int, n_part: int | None = None) -> float:
    """Exact integrated correlation time of eps_i, int_0^inf <X(t)X(0)> dt / Var X
    (inf if a coupled dot has Gamma1 = 0, nan if Var X = 0)."""
    rate, var = _contribution_rates(couplings, kind, M, n_part)
    total = var.sum()
    if total <= 0:
        return float("nan")
    used = var > 0
    if np.any(rate[used] <= 0):
        return float("inf")
    return float(np.sum(var[used] / rate[used]) / total)


def _bin_mass(values: np.ndarray, probs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mass of atoms in each bin, with numpy.histogram's convention ([a, b), last bin [a, b])."""
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = edges.size - 2
    ok = (idx >= 0) & (idx < edges.size - 1)
    return np.bincount(idx[ok], weights=probs[ok], minlength=edges.size - 1)


def _product(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]):
    """Distribution of the sum of two independent discrete variables (exact duplicates merged)."""
    v = (a[0][:, None] + b[0][None, :]).ravel()
    p = (a[1][:, None] * b[1][None, :]).ravel()
    u, inv = np.unique(v, return_inverse=True)
    return u, np.bincount(inv.ravel(), weights=p)


def _groups(parts, limit: int):
    """Merge fluctuators, in order, into exactly enumerated groups of at most ``limit`` atoms."""
    groups, cur = [], None
    for part in parts:
        if cur is None:
            cur = part
        elif cur[0].size * part[0].size <= limit:
            cur = _product(cur, part)
        else:
            groups.append(cur)
            cur = part
    if cur is not None:
        groups.append(cur)
    return groups


def stationary_bins(couplings: dict, kind: str, M: int, n_part: int | None, edges: ArrayLike,
                    exact_atoms: int = MAX_EXACT_ATOMS, grid: int = GRID_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """Probability that X = eps_i - eps0_i falls in each bin, and a rigorous bound on its error.

    Parameters
    ----------
    couplings, kind, M, n_part : as in :func:`fluctuators`.
    edges : increasing bin edges (bins follow numpy.histogram: [a, b), the last [a, b]).
    exact_atoms : enumerate X exactly when its number of atoms is at most this.
    grid : cells over the support of X for the grid method.

    Returns
    -------
    prob : ndarray, shape (len(edges) - 1,)
        Probability per bin (mass outside [edges[0], edges[-1]] is in no bin).
    error : ndarray, same shape
        Upper bound on |prob - exact|.

    Notes
    -----
    *Exact enumeration* (at most ``exact_atoms`` atoms): the atoms of X are formed by
    successive convolution of the fluctuators' atoms and assigned to bins; the
    result is exact up to floating-point rounding (about 1e-16 per atom), and
    ``error`` is 0.

    *Grid method* (otherwise): the fluctuators are merged into G groups of at most
    ``GROUP_ATOMS`` atoms, each enumerated exactly; each group's atoms are rounded
    to a grid of spacing h (``grid`` cells over the support of X), moving each by
    at most h/2, and the rounded groups are convolved (FFT). The rounded sum X_r
    then satisfies |X - X_r| <= delta = G h / 2 on every configuration, so for
    every edge b

        P(X_r < b - delta) <= P(X < b) <= P(X_r < b + delta).

    The midpoint of this bracket is returned, and half its width at both edges of a
    bin is the bound ``error``: the bound is computed from the distribution itself,
    not assumed. FFT rounding (about 1e-15 per cell, negative values clipped, the
    total renormalised) is far below it. The bound is about 2 f delta per edge
    for a density f: with the defaults about 1e-5 per bin for the quickstart chain
    (about 50 coupled levels, G = 5), and up to ~2e-3 for a 3D lattice with ~2000
    coupled levels (G ~ 170); a larger ``grid`` tightens it in proportion.
    """
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be an increasing array of at least two values")
    parts = fluctuators(couplings, kind, M, n_part)
    if not parts:
        return _bin_mass(np.zeros(1), np.ones(1), edges), np.zeros(edges.size - 1)
    log_atoms = sum(np.log2(v.size) for v, _ in parts)
    if log_atoms <= np.log2(exact_atoms):
        dist = parts[0]
        for part in parts[1:]:
            dist = _product(dist, part)
        return _bin_mass(dist[0], dist[1], edges), np.zeros(edges.size - 1)
    # widest fluctuators first, so that the many weak ones share groups of small range
    parts.sort(key=lambda part: part[0][-1] - part[0][0], reverse=True)
    groups = _groups(parts, GROUP_ATOMS)
    lo = sum(float(v[0]) for v, _ in groups)        # atoms are sorted (numpy.unique)
    hi = sum(float(v[-1]) for v, _ in groups)
    h = (hi - lo) / grid
    rounded = []
    delta = 0.0
    for v, p in groups:
        r = float(v[-1] - v[0])
        if r < h:                                   # collapse onto its midpoint: error <= r/2 < h/2
            k = np.full(v.size, int(np.rint(0.5 * r / h)), dtype=np.int64)
            delta += 0.5 * r
        else:                                       # round to the grid: error <= h/2
            k = np.rint((v - v[0]) / h).astype(np.int64)
            delta += 0.5 * h
        rounded.append(np.bincount(k, weights=p))
    while len(rounded) > 1:                         # pairwise (a tree): ~log2(G) passes over the grid, not G
        nxt = []
        for a, b in zip(rounded[::2], rounded[1::2]):
            c = fftconvolve(a, b) if min(a.size, b.size) > 64 else np.convolve(a, b)
            nxt.append(np.clip(c, 0.0, None))
        if len(rounded) % 2:
            nxt.append(rounded[-1])
        rounded = nxt
    dens = rounded[0] / rounded[0].sum()
    x = lo + h * np.arange(dens.size)               # X_r on the grid
    cum = np.concatenate([[0.0], np.cumsum(dens)])

    def below(b):                                   # P(X_r < b)
        return cum[np.searchsorted(x, b, side="left")]

    low, high = below(edges - delta), below(edges + delta)
    mid, half = 0.5 * (low + high), 0.5 * (high - low)
    prob = np.clip(np.diff(mid), 0.0, None)
    return prob, half[1:] + half[:-1] + 1e-13


def default_edges(couplings: dict, kind: str, M: int, n_part: int | None = None, bins: int = 40,
                  samples: np.ndarray | None = None) -> np.ndarray:
    """``bins`` equal bins over +-4.5 sigma (clipped to the support of X), widened to
    include every value of ``samples``."""
    _, var = shift_moments(couplings, kind, M, n_part)
    parts = fluctuators(couplings, kind, M, n_part)
    lo = sum(float(v.min()) for v, _ in parts)
    hi = sum(float(v.max()) for v, _ in parts)
    s = 4.5 * np.sqrt(var)
    a, b = max(lo, -s), min(hi, s)
    if samples is not None and np.size(samples):
        a, b = min(a, float(np.min(samples))), max(b, float(np.max(samples)))
    if not b > a:
        a, b = a - 0.5, b + 0.5
    pad = 1e-9 * (b - a)                            # extreme atoms fall inside, not on an edge
    return np.linspace(a - pad, b + pad, bins + 1)


def stationary_distribution(couplings: dict, kind: str, M: int, n_part: int | None = None,
                            bins: int | ArrayLike = 40) -> tuple[np.ndarray, np.ndarray]:
    """Exact stationary distribution of eps_i - eps0_i, binned.

    Parameters
    ----------
    couplings : a probe's row, ``simulator.model_from_dataset(ds).probe_couplings(p)``.
    kind : ``"flip"`` or ``"hop"``.
    M : levels per dot.
    n_part : particles per dot (hop; ignored for flip).
    bins : number of equal bins (see :func:`default_edges`) or an array of edges.

    Returns
    -------
    edges : ndarray
    prob : ndarray
        Probability per bin, exact (enumeration) or within the bound of
        :func:`stationary_bins` (grid method).
    """
    edges = (default_edges(couplings, kind, M, n_part, int(np.asarray(bins))) if np.ndim(bins) == 0
             else np.asarray(bins, dtype=float))
    prob, _ = stationary_bins(couplings, kind, M, n_part, edges)
    return edges, prob
