r"""Closed forms of one symmetric random telegraph fluctuator (docs/exact.md, "flip").

The Ramsey factor D and echo factor F of a neighbour that shifts a probe by
+v or -v and switches at rate lambda out of each state. They live here, in the
simulator, because the simulator's Ramsey error bar needs D
(:func:`simulator.estimators.slow_neighbour_variance`, docs/model.md §4); the exact
references of :mod:`analysis.exact.telegraph` wrap them with argument checks.
Also the variance of the time average of a telegraph (:func:`telegraph_average_variance`).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# Above this value of |mu| tau the real-mu branch combines exponentials
# (e^{(mu-lambda)tau}, e^{-(mu+lambda)tau}) instead of cosh/sinh, which would
# overflow; below it the entire-function forms cosh a, sinh(a)/a are used.
_A_SWITCH = 1.0


def _combine(E, L, C, S, K):
    """D = e^{-L}(C + L S) and F = e^{-L}(1 + L S + L^2 K) from E = e^{-L}."""
    EL = E * L
    return E * C + EL * S, E + EL * S + EL * (L * K)


def telegraph_terms(tau: ArrayLike, v: ArrayLike, lam: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Ramsey and echo factors ``(D, F)`` of one symmetric telegraph, broadcast over the
    arguments (finite and >= 0; not checked here: the public, checked wrappers are
    ``analysis.exact.telegraph.telegraph_ramsey_factor`` and ``telegraph_echo_factor``).

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
    tau, v, lam = np.broadcast_arrays(np.asarray(tau, dtype=float), np.asarray(v, dtype=float),
                                      np.asarray(lam, dtype=float))
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


def telegraph_average_variance(x: ArrayLike) -> np.ndarray:
    r"""Variance of the time average of a stationary symmetric +-1 telegraph over a span T.

    With ``x = Gamma T`` (Gamma the switching rate out of each state, so the
    correlation is e^{-2 Gamma t}):

    .. math::

        \mathrm{Var}\,\bar m = \frac{2}{T^2}\int_0^T (T - u)\,e^{-2\Gamma u}\,du
            = \frac{1}{x}\Big[1 - \frac{1 - e^{-2x}}{2x}\Big],

    1 - 2x/3 + O(x^2) for a telegraph that rarely switches (x -> 0: a frozen sign,
    variance 1) and 1/x for a fast one. Evaluated by its series below x = 1e-3
    (the bracket cancels there).
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        closed = (1.0 - (-np.expm1(-2.0 * x)) / (2.0 * x)) / x
    series = 1.0 - 2.0 * x / 3.0 + x * x / 3.0
    return np.where(x < 1e-3, series, closed)
