r"""Exact reference answers for the Hahn echo and the Ramsey signal of a probe level.

This module implements SPEC §5 ("Exact references"): with fixed transition rates
the fluctuators seen by a probe level are independent Markov processes, so the
echo and the Ramsey (free-induction) signal of the probe factorise exactly over
its neighbours (flip dynamics) or over its neighbouring dots (hop dynamics).
These closed forms are the central correctness test of the Monte Carlo
simulator (SPEC §5, last paragraph), and they make the rules of the paper's
Appendix B quantitative:

* rule (1), ``U << Gamma_2``: a neighbour that is not resolved does nothing
  (``v tau << 1`` gives a factor ~ 1);
* rule (2), ``U >> Gamma_1, Gamma_2``: each flip dephases, the neighbour adds
  its flip rate ``Gamma_1`` to the echo decay rate (``v >> lambda``);
* rule (3), ``Gamma_1 >> U >> Gamma_2``: motional narrowing, the neighbour adds
  ``v**2 / (2 lambda) = U**2 / (8 Gamma_1)`` (``lambda >> v``).

Conventions (SPEC §2–§4): hbar = 1, energies and rates share one unit.  The
probe phase is ``phi(t) = int_0^t eps_i dt'``.  Echo and Ramsey signals are

    E(tau) = < S exp(i[phi(t0+tau) - 2 phi(t0+tau/2) + phi(t0)]) >,
    R(tau) = < S exp(i[phi(t0+tau) - phi(t0) - eps0 tau]) >,

with ``S`` the survival indicator of the probe's own occupation and the
average over the stationary (infinite temperature) state.

Markov-chain form (Feynman–Kac).  For a finite Markov chain with column
generator ``Q`` (``dp/dt = Q p``), stationary distribution ``pi`` and a shift
``h(c)`` on the probe in configuration ``c`` (``H = diag h``),

    < exp(i int_0^t s(t') h(c(t')) dt') > = 1^T ... exp[(Q + i s_k H) t_k] ... pi,

the factors ordered right to left in time.  The echo has ``s = -1`` on the
first half and ``s = +1`` on the second half, hence
``E = 1^T exp[(Q + iH) tau/2] exp[(Q - iH) tau/2] pi`` and
``R = 1^T exp[(Q + iH) tau] pi``.  (SPEC §5 writes the echo with the two
factors in the other order; that is the complex conjugate, and equal to it
because the echo of a reversible stationary chain is real, see
:func:`hop_echo`.)

All functions take and return plain numpy arrays and are vectorised over
``tau``.  See ``docs/exact.md`` for the derivations.
"""

from __future__ import annotations

import itertools
from math import comb

import numpy as np

import simulator
import scipy.linalg

__all__ = [
    "telegraph_ramsey_factor",
    "telegraph_echo_factor",
    "flip_echo",
    "flip_ramsey",
    "hop_configurations",
    "hop_generator",
    "hop_dot_factor",
    "hop_echo",
    "hop_ramsey",
    "flip_frequency_autocorrelation",
    "flip_energy_variance",
    "decay_crossing_rate",
]

# Above this value of |mu| tau the real-mu branch combines exponentials
# (e^{(mu-lambda)tau}, e^{-(mu+lambda)tau}) instead of cosh/sinh, which would
# overflow; below it the entire-function forms cosh a, sinh(a)/a are used.
_A_SWITCH = 1.0
# Largest condition number of the eigenvector matrix accepted by the
# eigendecomposition method of hop_dot_factor before it falls back to expm.
_EIG_COND_MAX = 1.0e6
_MAX_HOP_CONFIGS = 5000


# ---------------------------------------------------------------------------
# Telegraph (flip dynamics): closed forms
# ---------------------------------------------------------------------------

def _check_nonneg(name, x):
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    if np.any(x < 0):
        raise ValueError(f"{name} must be >= 0, got a minimum of {x.min()!r}")
    return x


def _combine(E, L, C, S, K):
    """D = e^{-L}(C + L S) and F = e^{-L}(1 + L S + L^2 K) from E = e^{-L}."""
    EL = E * L
    return E * C + EL * S, E + EL * S + EL * (L * K)


def _telegraph_terms(tau, v, lam):
    """Return ``(D, F)`` for broadcast arrays; see the two public wrappers.

    Write ``L = lambda tau``, ``z = mu^2 tau^2 = (lambda^2 - v^2) tau^2`` and the
    entire functions of z

        C(z) = cosh(sqrt z),   S(z) = sinh(sqrt z)/sqrt z,
        K(z) = (cosh(sqrt z) - 1)/z = 1/2 [sinh(sqrt z / 2)/(sqrt z / 2)]^2,

    so that ``D = e^{-L} [C + L S]`` and ``F = e^{-L} [1 + L S + L^2 K]`` with no
    division by mu anywhere (the mu = 0 limits are just C = 1, S = 1, K = 1/2).

    * ``v > lambda`` (z < 0, b = sqrt(-z)): C = cos b, S = sin b / b,
      K = (1/2) sinc^2(b/2); everything is bounded, e^{-L} <= 1.
    * ``v <= lambda``, ``a = sqrt z <= 1``: cosh, sinh(a)/a, sinh(a/2)/(a/2) are
      evaluated directly (accurate to rounding, no cancellation).
    * ``v <= lambda``, ``a > 1``: the growing exponential is combined with the
      prefactor, ``ep = e^{(mu - lambda) tau}`` with
      ``(mu - lambda) tau = -v^2 tau / (lambda + mu)`` (no cancellation when
      lambda >> v), ``em = e^{-(mu + lambda) tau}``, ``r = lambda/mu = L/a``:
      ``e^{-L} C = (ep + em)/2``, ``e^{-L} L S = r (ep - em)/2``,
      ``e^{-L} L^2 K = r^2 [(ep + em)/2 - e^{-L}]`` (the bracket loses at most a
      factor cosh(1)/(cosh(1) - 1) ~ 3 to cancellation since a > 1).

    Products with the decaying exponential are formed first so that huge
    ``L`` gives 0, never ``0 * inf``.
    """
    tau, v, lam = np.broadcast_arrays(
        _check_nonneg("tau", tau), _check_nonneg("v", v), _check_nonneg("lam", lam)
    )
    shape = tau.shape
    tau = tau.ravel()
    v = v.ravel()
    lam = lam.ravel()
    L = lam * tau
    mu_abs = np.sqrt(np.abs(lam - v) * (lam + v))  # |mu|, no v^2 - lam^2 cancellation
    a = mu_abs * tau
    osc = v > lam
    big = (~osc) & (a > _A_SWITCH)
    small = (~osc) & ~big

    D = np.empty_like(tau)
    F = np.empty_like(tau)

    # v > lambda: oscillating branch
    if np.any(osc):
        b = a[osc]
        Lo = L[osc]
        E = np.exp(-Lo)
        C = np.cos(b)
        S = np.sinc(b / np.pi)  # sin(b)/b
        K = 0.5 * np.sinc(b / (2.0 * np.pi)) ** 2  # (1 - cos b)/b^2
        D[osc], F[osc] = _combine(E, Lo, C, S, K)

    # v <= lambda, |mu| tau <= 1: direct evaluation of the entire functions
    if np.any(small):
        x = a[small]
        Ls = L[small]
        E = np.exp(-Ls)
        C = np.cosh(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            S = np.where(x > 0, np.sinh(x) / x, 1.0)
            h = 0.5 * x
            K = 0.5 * np.where(h > 0, np.sinh(h) / h, 1.0) ** 2
        D[small], F[small] = _combine(E, Ls, C, S, K)

    # v <= lambda, |mu| tau > 1: combine exponentials stably
    if np.any(big):
        x = a[big]
        Lb = L[big]
        vb = v[big]
        tb = tau[big]
        mb = mu_abs[big]
        lb = lam[big]
        # (mu - lambda) tau = -v^2 tau / (lambda + mu); lambda + mu > 0 here since a > 1
        ep = np.exp(-vb * (vb / (lb + mb)) * tb)
        em = np.exp(-(x + Lb))
        E = np.exp(-Lb)
        r = Lb / x  # lambda / mu
        ch = 0.5 * (ep + em)
        sh = 0.5 * (ep - em)
        D[big] = ch + r * sh
        F[big] = E + r * sh + r * (r * (ch - E))

    return D.reshape(shape), F.reshape(shape)


def telegraph_ramsey_factor(tau, v, lam):
    r"""Ramsey factor of one symmetric random telegraph fluctuator (SPEC §5).

    A neighbour that shifts the probe by ``+v`` or ``-v`` and switches at rate
    ``lam`` out of each state contributes

    .. math::

        D(\tau; v, \lambda) = \langle e^{i\int_0^\tau x\,dt}\rangle
            = e^{-\lambda\tau}\left[\cosh\mu\tau + \frac{\lambda}{\mu}\sinh\mu\tau\right],
        \qquad \mu = \sqrt{\lambda^2 - v^2},

    with ``mu`` imaginary for ``v > lam`` (then ``D = e^{-lam tau}[cos w tau +
    (lam/w) sin w tau]``, ``w = sqrt(v^2 - lam^2)``) and the limit
    ``e^{-lam tau}(1 + lam tau)`` at ``mu = 0``.  Special cases: ``lam = 0``
    gives ``cos(v tau)`` (static shift, a sub-line), ``v = 0`` gives 1.

    Limits (paper, Appendix B rules): ``v >> lam``: envelope ``e^{-lam tau}``
    times ``cos(v tau)``; ``lam >> v``: motional narrowing,
    ``D ~ exp(-v^2 tau / (2 lam))`` for ``tau >> 1/lam``; ``v tau << 1``:
    ``|1 - D| <= (v tau)^2 / 2``.

    Parameters
    ----------
    tau : array_like
        Delays, ``tau >= 0``.
    v : array_like
        Amplitude of the shift, ``v >= 0`` (``|U_ij|/2`` for flip dynamics).
    lam : array_like
        Switching rate out of each state, ``lam >= 0`` (``Gamma_1(J)``).

    Returns
    -------
    ndarray of float
        ``D``, broadcast over the three arguments; real (the telegraph is
        symmetric), in ``[-1, 1]``, never nan or inf for finite non-negative
        input.

    Notes
    -----
    Evaluated without dividing by ``mu``: ``D = e^{-L}[C(z) + L S(z)]`` with
    ``L = lam tau``, ``z = mu^2 tau^2``, ``C = cosh sqrt z``,
    ``S = sinh(sqrt z)/sqrt z`` (entire in z), and for ``mu tau > 1`` as
    ``(ep + em)/2 + (lam/mu)(ep - em)/2`` with ``ep = e^{(mu - lam) tau}``,
    ``(mu - lam) = -v^2/(lam + mu)``, ``em = e^{-(mu + lam) tau}``.
    """
    return _telegraph_terms(tau, v, lam)[0]


def telegraph_echo_factor(tau, v, lam):
    r"""Hahn-echo factor of one symmetric random telegraph fluctuator (SPEC §5).

    .. math::

        F(\tau; v, \lambda) = e^{-\lambda\tau}\left[1 + \frac{\lambda}{\mu}\sinh\mu\tau
            + \frac{\lambda^2}{\mu^2}(\cosh\mu\tau - 1)\right],
        \qquad \mu = \sqrt{\lambda^2 - v^2},

    the average of ``exp(i[int_{tau/2}^{tau} x - int_0^{tau/2} x])`` over the
    stationary telegraph.  At ``mu = 0``: ``e^{-lam tau}(1 + lam tau +
    lam^2 tau^2/2)``.  ``lam = 0`` gives 1 (a static shift is refocused),
    ``v = 0`` gives 1.  Derivation in ``docs/exact.md``.

    Limits (paper, Appendix B rules): ``v >> lam`` and ``tau >> 1/v``:
    ``ln F = -lam tau + O(lam/v)`` (rule 2, each flip dephases);
    ``lam >> v``, ``tau >> 1/lam``: ``F ~ exp(-v^2 tau/(2 lam))`` (rule 3);
    ``v tau << 1``: ``|1 - F| <= (v tau)^2/2`` (rule 1).

    Parameters
    ----------
    tau, v, lam : array_like
        As in :func:`telegraph_ramsey_factor`.

    Returns
    -------
    ndarray of float
        ``F`` broadcast over the arguments, in ``[-1, 1]`` (negative values
        occur for ``v > lam``), never nan or inf for finite non-negative input.
    """
    return _telegraph_terms(tau, v, lam)[1]


def _signed_log_product(tau, v, lam, which, chunk=2048):
    """sign and log|.| of prod_j factor(tau; v_j, lam_j), chunked over j."""
    tau = np.asarray(tau, dtype=float)
    logabs = np.zeros(tau.shape)
    sign = np.ones(tau.shape)
    for s in range(0, v.size, chunk):
        f = _telegraph_terms(tau[None, :], v[s:s + chunk, None], lam[s:s + chunk, None])[which]
        with np.errstate(divide="ignore"):
            logabs += np.log(np.abs(f)).sum(axis=0)
        sign *= np.where(f < 0, -1.0, 1.0).prod(axis=0)
    return sign, logabs


def _flip_product(tau, U, gamma1, gamma1_self, which, return_log):
    tau = _check_nonneg("tau", tau)
    if tau.ndim != 1:
        raise ValueError(f"tau must be 1-D, got shape {tau.shape}")
    U = np.asarray(U, dtype=float)
    gamma1 = _check_nonneg("gamma1", gamma1)
    if U.ndim != 1 or gamma1.ndim != 1 or U.shape != gamma1.shape:
        raise ValueError(
            f"U and gamma1 must be 1-D arrays of equal length, got shapes {U.shape} and {gamma1.shape}"
        )
    if not np.all(np.isfinite(U)):
        raise ValueError("U must be finite")
    g_self = float(_check_nonneg("gamma1_self", gamma1_self))
    sign, logabs = _signed_log_product(tau, 0.5 * np.abs(U), gamma1, which)
    logabs = logabs - g_self * tau
    if return_log:
        return sign, logabs
    return sign * np.exp(logabs)


def flip_echo(tau, U, gamma1, gamma1_self, return_log=False):
    r"""Exact Hahn echo of a probe under flip dynamics (SPEC §5).

    .. math::

        E_i(\tau) = e^{-\Gamma_1(I)\tau}\prod_j F(\tau; |U_{ij}|/2, \Gamma_1(J)).

    Each neighbouring level ``j`` (same-dot levels included, the probe itself
    excluded) is an independent symmetric telegraph of amplitude
    ``v_j = |U_ij|/2`` (the shift ``U_ij (n_j - 1/2)``) switching at rate
    ``lambda_j = gamma1[j]``; the probe's own occupation survives with
    probability ``e^{-gamma1_self tau}`` (the survival indicator S).

    Parameters
    ----------
    tau : array_like, shape (n_tau,)
        Delays, ``>= 0``.
    U : array_like, shape (n_neighbours,)
        Couplings ``U_ij`` from the probe to each neighbouring level (sign
        irrelevant).
    gamma1 : array_like, shape (n_neighbours,)
        Flip rate ``Gamma_1(J)`` of the dot of each neighbouring level.
    gamma1_self : float
        Flip rate ``Gamma_1(I)`` of the probe's own level.
    return_log : bool, optional
        If True return ``(sign, log|E|)`` instead of ``E`` (useful when the
        echo is far below the smallest float).

    Returns
    -------
    ndarray of float, shape (n_tau,)
        The echo, computed as ``sign * exp(sum_j log|F_j| - gamma1_self tau)``
        (the product of the signs of the factors is kept, since ``F`` is
        negative in places for ``v > lambda``; a factor exactly 0 gives 0).
    """
    return _flip_product(tau, U, gamma1, gamma1_self, 1, return_log)


def flip_ramsey(tau, U, gamma1, gamma1_self, return_log=False):
    r"""Exact Ramsey (free-induction) signal of a probe under flip dynamics (SPEC §5).

    .. math::

        R_i(\tau) = e^{-\Gamma_1(I)\tau}\prod_j D(\tau; |U_{ij}|/2, \Gamma_1(J)),

    with the mean frequency ``eps0_i`` removed (the Hartree shifts are centred
    at ``nu = 1/2``, so each telegraph is symmetric and R is real).
    Parameters, return value and the signed-log product are as in
    :func:`flip_echo`.
    """
    return _flip_product(tau, U, gamma1, gamma1_self, 0, return_log)


def flip_frequency_autocorrelation(t, U, gamma1):
    r"""Exact frequency autocorrelation of a probe under flip dynamics (SPEC §4).

    .. math::

        \langle\delta\varepsilon_i(t)\,\delta\varepsilon_i(0)\rangle
            = \sum_j (U_{ij}/2)^2 e^{-2\Gamma_1(J)|t|},

    since ``n_j - 1/2 = +-1/2`` is a telegraph whose autocorrelation decays at
    twice the switching rate.  (The probe's own occupation does not enter its
    energy.)

    Parameters
    ----------
    t : array_like
        Lags (any sign).
    U, gamma1 : array_like, shape (n_neighbours,)
        Couplings and flip rates of the neighbouring levels.

    Returns
    -------
    ndarray of float, shaped like ``t``.
    """
    t = np.asarray(t, dtype=float)
    U = np.asarray(U, dtype=float).ravel()
    g = _check_nonneg("gamma1", gamma1).ravel()
    if U.shape != g.shape:
        raise ValueError(f"U and gamma1 must have equal length, got {U.size} and {g.size}")
    w = 0.25 * U**2
    at = np.abs(t)[..., None]
    return (w * np.exp(-2.0 * g * at)).sum(axis=-1)


def flip_energy_variance(U):
    r"""Static variance of the probe energy under flip dynamics:
    ``<delta eps_i^2> = sum_j U_ij^2 / 4`` (each ``n_j`` is Bernoulli(1/2)).

    Parameters
    ----------
    U : array_like
        Couplings from the probe to its neighbouring levels.

    Returns
    -------
    float
    """
    U = np.asarray(U, dtype=float)
    return float(0.25 * np.sum(U**2))


# ---------------------------------------------------------------------------
# Hop dynamics: Markov chain on the Fock configurations of a dot
# ---------------------------------------------------------------------------

def hop_configurations(M, n):
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
            f"reference (limit {_MAX_HOP_CONFIGS}; SPEC §5 targets M <= 8)"
        )
    occ = np.zeros((comb(M, n), M), dtype=np.int8)
    for c, sites in enumerate(itertools.combinations(range(M), n)):
        occ[c, list(sites)] = 1
    return occ


def hop_generator(occ, gamma1):
    """Generator of the hop chain (SPEC §3, ``kind = "hop"``).

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


def hop_dot_factor(tau, u, n, gamma1, kind="echo", fixed_level=None, method="auto"):
    r"""Exact echo or Ramsey factor contributed by one dot under hop dynamics (SPEC §5).

    The dot has ``M = len(u)`` levels and ``n`` particles; every ordered pair
    (alpha occupied, beta empty) hops at rate ``gamma1`` (SPEC §3).  It is a
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
      ignored), still centred by ``nu = n/M`` as in SPEC §2.

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


def hop_echo(tau, u_by_dot, n, gamma1_by_dot, own_dot_index, probe_level, method="auto"):
    r"""Exact Hahn echo of a probe under hop dynamics (SPEC §5).

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


def hop_ramsey(tau, u_by_dot, n, gamma1_by_dot, own_dot_index, probe_level, method="auto"):
    r"""Exact Ramsey signal of a probe under hop dynamics (SPEC §5).

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


# ---------------------------------------------------------------------------
# Linewidth from a decay curve
# ---------------------------------------------------------------------------

def decay_crossing_rate(tau, signal, level=np.exp(-1.0)):
    r"""Decay rate ``1/tau_e`` where the signal first falls through ``level`` (SPEC §4).

    ``tau_e`` is found at the first downward crossing, ``signal[k-1] > level >=
    signal[k]``, by linear interpolation of the signal in ``log tau``:

        log tau_e = log tau_{k-1} + (s_{k-1} - level)/(s_{k-1} - s_k) * (log tau_k - log tau_{k-1}).

    This gives ``Gamma_2 = 1/tau_e`` from ``Re E`` (and ``Gamma_2*`` from
    ``Re R``).  For a smooth signal the error in ``log tau_e`` is at most
    ``(h^2/8) max|s''| / min|s'|`` on the bracketing interval (derivatives with
    respect to ``log tau``, ``h`` the log spacing); for ``exp(-Gamma tau)`` and
    ``level = 1/e`` this is ``O(h^3)``, since ``s''`` vanishes at the crossing.

    Parameters
    ----------
    tau : array_like, shape (n_tau,)
        Strictly increasing, positive delays (typically log-spaced).
    signal : array_like, shape (..., n_tau)
        Real decay curves; leading axes (e.g. probes) are vectorised over.
    level : float, optional
        Crossing level, default ``e^{-1}``.

    Returns
    -------
    ndarray of float, shape ``signal.shape[:-1]``
        ``1/tau_e``; nan where the signal never falls through ``level`` on
        the grid, including where it is already ``<= level`` at ``tau[0]``
        (decay faster than the grid resolves) — a later crossing after a
        revival is not reported then.  a nan reached before the crossing
        makes the result nan (the crossing cannot be located).
    """
    # one implementation for the simulator's dataset and the analysis
    return simulator.crossing_rate(tau, signal, level)
