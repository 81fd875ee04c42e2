r"""Exact echo and Ramsey signals of a probe under flip dynamics: telegraph closed forms.

With fixed transition rates the fluctuators seen by a probe level are
independent Markov processes, so the echo and the Ramsey (free-induction)
signal of the probe factorise exactly over its neighbours (docs/exact.md,
"flip"). These closed forms are the central correctness test of the Monte
Carlo simulator (docs/exact.md), and they make the rules of the paper's
Appendix B quantitative:

* rule (1), ``U << Gamma_2``: a neighbour that is not resolved does nothing
  (``v tau << 1`` gives a factor ~ 1);
* rule (2), ``U >> Gamma_1, Gamma_2``: each flip dephases, the neighbour adds
  its flip rate ``Gamma_1`` to the echo decay rate (``v >> lambda``);
* rule (3), ``Gamma_1 >> U >> Gamma_2``: motional narrowing, the neighbour adds
  ``v**2 / (2 lambda) = U**2 / (8 Gamma_1)`` (``lambda >> v``).

Conventions (docs/model.md): hbar = 1, energies and rates share one unit.  The
probe phase is ``phi(t) = int_0^t eps_i dt'``.  Echo and Ramsey signals are

    E(tau) = < S exp(i[phi(t0+tau) - 2 phi(t0+tau/2) + phi(t0)]) >,
    R(tau) = < S exp(i[phi(t0+tau) - phi(t0) - eps0 tau]) >,

with ``S`` the survival indicator of the probe's own occupation and the
average over the stationary (infinite temperature) state.  The hop dynamics
(Markov chains on a dot's Fock configurations) are in :mod:`analysis.exact.fock`.

All functions take and return plain numpy arrays and are vectorised over
``tau``.  See ``docs/exact.md`` for the derivations.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from simulator.telegraph import telegraph_terms

from ._checks import check_nonneg as _check_nonneg

__all__ = [
    "telegraph_ramsey_factor",
    "telegraph_echo_factor",
    "flip_echo",
    "flip_ramsey",
    "flip_frequency_autocorrelation",
    "flip_energy_variance",
]

# ---------------------------------------------------------------------------
# Telegraph (flip dynamics): closed forms (simulator.telegraph, which the
# simulator's Ramsey error bar needs; here with argument checks)
# ---------------------------------------------------------------------------

def _telegraph_terms(tau, v, lam):
    """``(D, F)`` of :func:`simulator.telegraph.telegraph_terms`, arguments checked."""
    return telegraph_terms(_check_nonneg("tau", tau), _check_nonneg("v", v), _check_nonneg("lam", lam))


def telegraph_ramsey_factor(tau: ArrayLike, v: ArrayLike, lam: ArrayLike) -> np.ndarray:
    r"""Ramsey factor of one symmetric random telegraph fluctuator (docs/exact.md).

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


def telegraph_echo_factor(tau: ArrayLike, v: ArrayLike, lam: ArrayLike) -> np.ndarray:
    r"""Hahn-echo factor of one symmetric random telegraph fluctuator (docs/exact.md).

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


def flip_echo(tau: ArrayLike, U: ArrayLike, gamma1: ArrayLike, gamma1_self: float,
              return_log: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""Exact Hahn echo of a probe under flip dynamics (docs/exact.md).

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


def flip_ramsey(tau: ArrayLike, U: ArrayLike, gamma1: ArrayLike, gamma1_self: float,
                return_log: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""Exact Ramsey (free-induction) signal of a probe under flip dynamics (docs/exact.md).

    .. math::

        R_i(\tau) = e^{-\Gamma_1(I)\tau}\prod_j D(\tau; |U_{ij}|/2, \Gamma_1(J)),

    with the mean frequency ``eps0_i`` removed (the Hartree shifts are centred
    at ``nu = 1/2``, so each telegraph is symmetric and R is real).
    Parameters, return value and the signed-log product are as in
    :func:`flip_echo`.
    """
    return _flip_product(tau, U, gamma1, gamma1_self, 0, return_log)


def flip_frequency_autocorrelation(t: ArrayLike, U: ArrayLike, gamma1: ArrayLike) -> np.ndarray:
    r"""Exact frequency autocorrelation of a probe under flip dynamics (docs/model.md).

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


def flip_energy_variance(U: ArrayLike) -> float:
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

