r"""Exact line shapes: the spectrum of the exact Ramsey signal (docs/exact.md, Line shape).

    S(omega) = (1/pi) Re int_0^inf R(tau) e^{-i omega tau} d tau

in the convention of the simulator's `lineshape` (docs/model.md §4, Line shape): omega is
measured from the static energy and a level shifted by +Delta has its line at +Delta.

* :func:`telegraph_line`: closed form for one symmetric telegraph (a flip neighbour)
  times the probe's own survival e^{-Gamma_s tau}. With s = i omega + Gamma_s,

      int_0^inf e^{-s tau} D(tau; v, lambda) d tau = (s + 2 lambda) / (s^2 + 2 lambda s + v^2),

  the Kubo--Anderson line: two Lorentzians at +-v of half-width lambda when
  lambda << v (static limit), one Lorentzian at 0 of half-width v^2/(2 lambda) =
  U^2/(8 Gamma1) when lambda >> v (motional narrowing).
* :func:`signal_line`: the line of any exact R(tau) (e.g. a probe's product of telegraph
  factors, or a hop chain product) by the simulator's exact-in-omega Filon rule on fine
  tau blocks, each refined until a Richardson estimate of its error is below its share of
  ``tol``.
* :func:`run_exact_lines`: the exact line of every probe of a run on its stored omega
  axis, normalised on that axis like the measured one, and the exact Ramsey signal on the
  run's own tau grid transformed with the measured line's cut (the reference that differs
  from the measured line only by statistics).
"""
from __future__ import annotations

from typing import Callable, cast

import numpy as np
from numpy.typing import ArrayLike

from simulator.lineshape import area_weights, filon_weights, lines_on_grid

from .telegraph import flip_ramsey

__all__ = ["telegraph_line", "signal_line", "flip_line", "normalise", "run_exact_lines"]


def telegraph_line(omega: ArrayLike, v: float, lam: float, gamma_self: float = 0.0) -> np.ndarray:
    """Closed-form line of one telegraph of amplitude v (= |U|/2) and flip rate lam,
    times the own survival e^{-gamma_self tau}; unit area over the whole real axis."""
    s = 1j * np.asarray(omega, dtype=float) + gamma_self
    return ((s + 2 * lam) / (s * s + 2 * lam * s + v * v)).real / np.pi


def normalise(omega: ArrayLike, line: ArrayLike) -> np.ndarray:
    """``line`` divided by its trapezoid area on ``omega`` (as the simulator stores it)."""
    line = np.asarray(line, dtype=float)
    return line / (line @ area_weights(np.asarray(omega, dtype=float)))


def _filon_block(R: Callable[[np.ndarray], np.ndarray], omega: np.ndarray, a: float, b: float, n: int) -> np.ndarray:
    nodes = np.linspace(a, b, n + 1)
    return (filon_weights(nodes, omega) @ np.asarray(R(nodes), dtype=complex)).real / np.pi


def signal_line(R: Callable[[np.ndarray], np.ndarray], omega: ArrayLike, rate: float,
                tol: float = 1e-6, decayed: float = 1e-10, max_nodes: int = 2_000_000) -> tuple[np.ndarray, float]:
    """The line of an exact signal ``R(tau)`` (R(0) = 1), not normalised.

    [0, tau_end] is cut into blocks of doubling length starting at 1/rate; on each
    block the exact-in-omega Filon rule (:func:`simulator.lineshape.filon_weights`,
    O(h^2) in the interpolation of R) is refined by halving its step until the
    Richardson estimate of the block's error is below its share of ``tol``, so a
    slowly varying tail costs few nodes.

    Parameters
    ----------
    R : vectorised callable tau -> complex R(tau).
    omega : frequencies.
    rate : a rate on the scale of R's fastest variation (first block 1/rate).
    tol : wanted absolute accuracy of S.
    decayed : tau_end is doubled until |R| < decayed on the last tenth of [0, tau_end]
        (the part of the integral beyond it is at most about decayed * tau_end / pi).
    max_nodes : refuse (ValueError) more nodes than this.

    Returns
    -------
    line, error_estimate : S(omega) and the sum of the blocks' Richardson estimates.
    """
    omega = np.asarray(omega, dtype=float)
    tau_end = 10.0 / rate
    for _ in range(80):
        t = np.linspace(0.9 * tau_end, tau_end, 64)
        if np.max(np.abs(R(t))) < decayed:
            break
        tau_end *= 2.0
    else:
        raise ValueError("signal_line: R(tau) has not decayed below the threshold; no line")
    edges = [0.0, 1.0 / rate]
    while edges[-1] < tau_end:
        edges.append(min(2.0 * edges[-1], tau_end))
    share = tol / (len(edges) - 1)
    total = np.zeros(omega.size)
    err_total, used = 0.0, 0
    for a, b in zip(edges[:-1], edges[1:]):
        n = 32
        coarse = _filon_block(R, omega, a, b, n)
        while True:
            used += 2 * n
            if used > max_nodes:
                raise ValueError(f"signal_line: more than {max_nodes} tau nodes needed for tol = {tol:g}")
            fine = _filon_block(R, omega, a, b, 2 * n)
            err = float(np.max(np.abs(fine - coarse))) / 3.0
            if err < share:
                break
            coarse, n = fine, 2 * n
        total += fine + (fine - coarse) / 3.0
        err_total += err
    return total, err_total


def flip_line(omega: ArrayLike, U: ArrayLike, gamma1: ArrayLike, gamma1_self: float,
              tol: float = 1e-6) -> tuple[np.ndarray, float]:
    """Exact line of a flip probe (docs/exact.md: R = e^{-Gamma1_self tau} prod_j D(tau; |U_j|/2, Gamma1_j)),
    not normalised; returns (line, error estimate) as :func:`signal_line`."""
    U = np.asarray(U, dtype=float)
    g = np.asarray(gamma1, dtype=float)
    # R varies on the scale of its rms frequency and of the rates it holds
    rate = gamma1_self + np.sqrt(np.sum(U ** 2) / 4.0) + (np.max(g) if g.size else 0.0)
    return signal_line(lambda t: cast(np.ndarray, flip_ramsey(t, U, g, gamma1_self)), omega, max(rate, 1e-300), tol=tol)


def run_exact_lines(ds, model=None, probes: ArrayLike | None = None, tol: float = 1e-6) -> dict[str, np.ndarray]:
    """Exact lines of a flip run's probes on its stored omega axis.

    Returns
    -------
    dict with
      ``line``: the exact line (accurate quadrature, :func:`flip_line`) normalised on `omega`;
      ``on_grid``: the exact Ramsey signal on the run's tau grid through the simulator's own
      rule with the measured line's cut (NaN where the measured line is): it differs from
      the measured `lineshape` by statistics only, and from ``line`` by the tau grid's
      interpolation and truncation error;
      ``quadrature_error``: the error estimate of ``line`` before normalisation.
    """
    import simulator

    from ..compare import exact_signals

    model = model or simulator.model_from_dataset(ds)
    if model.kind != "flip":
        raise ValueError("run_exact_lines: flip dynamics only (hop: signal_line with analysis.exact.hop_ramsey)")
    omega = ds["omega"].values
    picks = np.arange(ds.sizes["probe"]) if probes is None else np.asarray(probes, dtype=int)
    line = np.empty((picks.size, omega.size))
    qerr = np.empty(picks.size)
    for i, p in enumerate(picks):
        row = model.probe_couplings(int(p))
        raw, qerr[i] = flip_line(omega, row["U"], row["gamma1"], row["gamma1_self"], tol=tol)
        line[i] = normalise(omega, raw)
    ex = exact_signals(ds, model, probes=picks)
    on_grid = lines_on_grid(ds, ex["ramsey"] + 1j * ex["ramsey_imag"], picks,
                            float(model.config["run"]["lineshape"]["tail"]))
    return {"line": line, "on_grid": on_grid, "quadrature_error": qerr}

