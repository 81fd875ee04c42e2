"""Shared helpers: parameter validation and robust Lambert-W evaluations.

Every public function of :mod:`analysis.meanfield` validates its physical
parameters through these helpers, so that a bad value raises a
:class:`ValueError` whose message names the parameter and the allowed range.
"""
from __future__ import annotations

import numpy as np
from scipy.special import lambertw

__all__ = [
    "as_float",
    "check_positive",
    "check_nonnegative",
    "check_greater",
    "check_less",
    "check_kappa",
    "lambertw0_exp",
    "lambertwm1_negexp",
]


def _fmt(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.size == 1:
        return repr(float(a.reshape(-1)[0]))
    return f"array with offending value {float(a.reshape(-1)[0])!r}"


def as_float(name: str, x, *, allow_nan: bool = False) -> np.ndarray:
    """Convert ``x`` to a float array; refuse NaN (unless allowed) and non-numbers."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:  # pragma: no cover - message path
        raise ValueError(f"parameter '{name}' must be a real number (got {x!r})") from exc
    if not allow_nan and np.any(np.isnan(a)):
        raise ValueError(f"parameter '{name}' must not be NaN")
    return a


def check_positive(name: str, x, *, allow_inf: bool = False) -> np.ndarray:
    """Return ``x`` as float array; raise ValueError unless every element is > 0."""
    a = as_float(name, x)
    bad = ~(a > 0) | (~np.isfinite(a) if not allow_inf else np.zeros(a.shape, bool))
    if np.any(bad):
        raise ValueError(
            f"parameter '{name}' must be > 0{'' if allow_inf else ' and finite'} "
            f"(got {_fmt(a[bad])})")
    return a


def check_nonnegative(name: str, x) -> np.ndarray:
    """Return ``x`` as float array; raise ValueError unless every element is >= 0 and finite."""
    a = as_float(name, x)
    bad = ~(a >= 0) | ~np.isfinite(a)
    if np.any(bad):
        raise ValueError(f"parameter '{name}' must be >= 0 and finite (got {_fmt(a[bad])})")
    return a


def check_greater(name: str, x, bound: float, *, what: str | None = None) -> np.ndarray:
    """Return ``x``; raise ValueError unless every element is > ``bound``."""
    a = as_float(name, x)
    bad = ~(a > bound)
    if np.any(bad):
        extra = f" ({what})" if what else ""
        raise ValueError(f"parameter '{name}' must be > {bound}{extra} (got {_fmt(a[bad])})")
    return a


def check_less(name: str, x, bound, *, what: str | None = None) -> np.ndarray:
    """Return ``x``; raise ValueError unless every element is < ``bound`` (broadcast)."""
    a = as_float(name, x)
    a_b, b_b = np.broadcast_arrays(a, np.asarray(bound, dtype=float))
    bad = ~(a_b < b_b)
    if np.any(bad):
        extra = f" ({what})" if what else ""
        raise ValueError(f"parameter '{name}' must be < {float(b_b[bad][0])!r}{extra} "
                         f"(got {float(a_b[bad][0])!r})")
    return a


def check_kappa(Xi, K, *, regime: str, eq: str) -> np.ndarray:
    """Validate Fock-space parameters and return ``kappa = Xi * log(K)``.

    Parameters
    ----------
    Xi : array_like
        Fock-space localisation length (dimensionless, in Fock-space hops); > 0.
    K : array_like
        Fock-space branching number (dimensionless); > 1.
    regime : {"any", ">1", "<1", "<=1"}
        Which side of ``Xi log K = 1`` the calling formula needs.
    eq : str
        Equation label used in the error message.
    """
    Xi = check_positive("Xi", Xi)
    K = check_greater("K", K, 1.0, what="Fock-space branching number")
    kappa = Xi * np.log(K)
    if regime == ">1":
        bad = ~(kappa > 1)
        rule = "> 1"
    elif regime == "<1":
        bad = ~(kappa < 1)
        rule = "< 1"
    elif regime == "<=1":
        bad = ~(kappa <= 1)
        rule = "<= 1"
    else:
        return kappa
    if np.any(bad):
        raise ValueError(
            f"parameter 'Xi*log(K)' must be {rule} for {eq} "
            f"(got Xi*log(K) = {_fmt(np.broadcast_to(kappa, bad.shape)[bad])})")
    return kappa


def lambertw0_exp(t) -> np.ndarray:
    """Principal-branch Lambert W of ``exp(t)``, i.e. the y > 0 with y + log y = t.

    Works for any real t (no overflow for t > 709, no underflow for t < -745).
    Returns ``log y`` would be more accurate for t << 0; see :func:`log_lambertw0_exp`.
    """
    return np.exp(log_lambertw0_exp(t))


def log_lambertw0_exp(t) -> np.ndarray:
    """Return ``log W0(exp(t))`` for real ``t`` (vectorised, overflow-free)."""
    t = np.asarray(t, dtype=float)
    out = np.empty_like(t)
    lo = t < -30.0
    hi = t > 500.0
    mid = ~(lo | hi)
    # W0(x) = x - x^2 + ... for tiny x: log W = t - e^t + O(e^{2t})
    out[lo] = t[lo] - np.exp(t[lo])
    out[mid] = np.log(lambertw(np.exp(t[mid]), 0).real)
    if np.any(hi):
        y = t[hi] - np.log(t[hi])
        for _ in range(50):  # Newton on f(y) = y + log y - t
            y_new = y - (y + np.log(y) - t[hi]) / (1.0 + 1.0 / y)
            if np.all(np.abs(y_new - y) <= 1e-15 * np.abs(y)):
                y = y_new
                break
            y = y_new
        out[hi] = np.log(y)
    return out


def lambertwm1_negexp(t) -> np.ndarray:
    """Return y = -W_{-1}(-exp(-t)) >= 1, the larger root of ``y - log y = t`` (t >= 1).

    Elements with t < 1 (argument below -1/e: no real root) give NaN.
    """
    t = np.asarray(t, dtype=float)
    out = np.full_like(t, np.nan)
    ok = t >= 1.0
    hi = ok & (t > 500.0)
    mid = ok & ~hi
    out[mid] = -lambertw(-np.exp(-t[mid]), -1).real
    if np.any(hi):
        y = t[hi] + np.log(t[hi])
        for _ in range(50):  # Newton on y - log y - t
            y_new = y - (y - np.log(y) - t[hi]) / (1.0 - 1.0 / y)
            if np.all(np.abs(y_new - y) <= 1e-15 * np.abs(y)):
                y = y_new
                break
            y = y_new
        out[hi] = y
    return out
