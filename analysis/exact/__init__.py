"""Exact reference answers for the Hahn echo and the Ramsey signal of a probe level.

With fixed transition rates the fluctuators seen by a probe level are
independent Markov processes, so its echo and Ramsey signals factorise exactly
(docs/exact.md):

* :mod:`analysis.exact.telegraph`: flip dynamics, closed forms of the symmetric
  random telegraph (:func:`flip_echo`, :func:`flip_ramsey`, ...);
* :mod:`analysis.exact.fock`: hop dynamics, Markov chains on the Fock
  configurations of each dot (:func:`hop_echo`, :func:`hop_ramsey`, ...);
* :mod:`analysis.exact.diffusion`: the spectral-diffusion variance sigma^2(t_w) of a
  probe, flip and hop (:func:`flip_sd_variance`, :func:`hop_sd_variance`;
  docs/spectral-diffusion.md §2);
* :mod:`analysis.exact.lineshape`: the line shape, the spectrum of the exact Ramsey
  signal (:func:`telegraph_line` closed form, :func:`flip_line`, :func:`run_exact_lines`);
* :func:`decay_crossing_rate`: the linewidth of a decay curve.

The public names of both modules are re-exported here, so that
``from analysis import exact; exact.flip_echo(...)`` works. The resonant
(coherent) references stay in :mod:`analysis.resonant_exact` (docs/resonant.md).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

import simulator

from .diffusion import flip_sd_variance, hop_dot_sd_variance, hop_sd_variance
from .fock import (hop_configurations, hop_dot_factor, hop_dot_sd_variance_chain, hop_echo, hop_generator,
                   hop_ramsey)
from .lineshape import flip_line, run_exact_lines, signal_line, telegraph_line
from .telegraph import (flip_echo, flip_energy_variance, flip_frequency_autocorrelation, flip_ramsey,
                        telegraph_echo_factor, telegraph_ramsey_factor)

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
    "flip_sd_variance",
    "hop_dot_sd_variance",
    "hop_dot_sd_variance_chain",
    "hop_sd_variance",
    "decay_crossing_rate",
    "telegraph_line",
    "signal_line",
    "flip_line",
    "run_exact_lines",
]


# ---------------------------------------------------------------------------
# Linewidth from a decay curve
# ---------------------------------------------------------------------------

def decay_crossing_rate(tau: ArrayLike, signal: ArrayLike, level: float = np.exp(-1.0)) -> np.ndarray:
    r"""Decay rate ``1/tau_e`` where the signal first falls through ``level`` (docs/model.md).

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
