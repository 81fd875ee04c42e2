"""One home for each derived physical quantity of the model (docs/model.md).

Rates of the fixed-rate dynamics, the paper's Eq. (12) estimate of the
linewidth used by the 'auto' settings, the "needs a positive rate" rule of
those settings, and the exact survival law of a probe level's own occupation.
Everything else in :mod:`simulator` imports these from here; the old names
(``simulator.model.gamma2_estimate``, ``simulator.model.transitions_per_dot``,
``simulator.estimators.SurvivalLaw``) are re-exports.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .config import ConfigError


def hop_particles(n: int | None) -> int:
    """The particles per dot of hop dynamics (``Model.n_particles``, None only for flip)."""
    if n is None:
        raise ValueError("hop dynamics need a particle number per dot (got None)")
    return n


def transitions_per_dot(kind: str, M: int, n: int | None) -> int:
    """n_tr: M for flip dynamics, n(M - n) for hop dynamics (docs/model.md §3)."""
    if kind == "flip":
        return M
    n = hop_particles(n)
    return n * (M - n)


def level_rate(kind: str, M: int, dot_rates: np.ndarray) -> np.ndarray:
    """Rate at which one level of each dot changes, from the dots' total event rates:
    Gamma1 (flip: rate M Gamma1 spread over M levels) or 2 n(M-n) Gamma1 / M (hop:
    every event changes two of the M levels)."""
    return dot_rates * (1.0 / M if kind == "flip" else 2.0 / M)


def smallest_positive(gamma1: np.ndarray) -> float:
    """The smallest positive Gamma1 (0.0 when no dot has a positive rate)."""
    g = np.asarray(gamma1, dtype=float)
    g = g[g > 0]
    return float(g.min()) if g.size else 0.0


def require_positive(value: float, setting: str) -> float:
    """``value`` if it is positive; otherwise the one-line error of an 'auto'
    ``setting`` that is derived from the rates when every rate is 0."""
    if not value > 0:
        raise ConfigError(f"{setting} = 'auto' needs a positive rate somewhere: all dynamics rates are 0; "
                          f"set {setting} to a number")
    return value


def gamma2_estimate(n_tr: int, gamma1: float, gamma: float, d: int) -> float:
    """Rough mean-field linewidth, paper Eq. (12) with the real transition count.

    Gamma2 ~ n_tr Gamma1 log^d[gamma / (n_tr Gamma1)]; the log is floored at 1
    (a level is always broadened at least by its own transitions). Used only to
    choose the "auto" cutoff and tau grid (docs/model.md §1) -- the analysis side
    has the careful versions. 0 when ``gamma1`` <= 0.
    """
    if gamma1 <= 0:
        return 0.0
    x = n_tr * gamma1
    return x * max(1.0, math.log(gamma / x)) ** d


#: Gamma* = DIPOLAR_WIDTH n gamma <|u|>: the statistical-theory width of static dipolar
#: fluctuators at Poisson positions (docs/spectral-diffusion.md §3a)
DIPOLAR_WIDTH = 4.0 * math.pi ** 2 / (9.0 * math.sqrt(3.0))


def gamma2_estimate_random(form: str, n_tr: int, gamma1: float, level_rate: float, gamma: float, d: int,
                           level_density: float, dot_density: float, amplitude: str) -> float:
    """Rough linewidth of a probe among random dots, for the 'auto' cutoff and tau grid.

    ``exp``/``power``: Eq. (12) with the number of dots in the resonance volume scaled
    by the density, ``n_tr Gamma1 max(1, density max(1, log[gamma/(n_tr Gamma1)])^d)``
    (Eq. (12) itself at density 1). ``dipolar``: the static width
    ``Gamma* = 4 pi^2/(9 sqrt 3) n gamma <|u|>`` (n the density of levels) caps the
    spectral-diffusion echo width ``sqrt(Gamma* lambda)`` of fluctuators that change at
    ``level_rate`` = lambda << Gamma* (docs/model.md §1). 0 when ``gamma1`` <= 0.
    """
    if gamma1 <= 0:
        return 0.0
    if form == "dipolar":
        mean_abs_u = math.sqrt(2.0 / math.pi) if amplitude == "gauss" else 1.0
        g_star = DIPOLAR_WIDTH * level_density * gamma * mean_abs_u
        return min(g_star, math.sqrt(g_star * level_rate))
    x = n_tr * gamma1
    return x * max(1.0, dot_density * max(1.0, math.log(gamma / x)) ** d)


class SurvivalLaw(NamedTuple):
    """The exact law of a probe level's own occupation with fixed rates: a two-state
    Markov chain that leaves the occupied state at ``rate_occupied`` and the empty
    one at ``rate_empty``, occupied with stationary probability ``p_occupied``
    (arrays over probes).

    flip: both rates Gamma1(I), p = 1/2. hop: an occupied level empties at
    (M - n) Gamma1(I) (its particle may go to any empty level), an empty level fills
    at n Gamma1(I); p = n/M.
    """

    rate_occupied: np.ndarray
    rate_empty: np.ndarray
    p_occupied: np.ndarray


def survival_law(kind: str, M: int, n: int | None, gamma1: np.ndarray) -> SurvivalLaw:
    """The :class:`SurvivalLaw` of levels on dots with rates ``gamma1`` (docs/model.md §4)."""
    g = np.asarray(gamma1).astype(float)
    if kind == "flip":
        return SurvivalLaw(g, g, np.full(g.shape, 0.5))
    n = hop_particles(n)
    return SurvivalLaw((M - n) * g, n * g, np.full(g.shape, n / M))
