"""A run's exact references, probe by probe (docs/exact.md).

The z-scores of the measured signals against them are in
:func:`analysis.estimates.zscores`.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

import simulator
from simulator.dynamics import resonance_width
from simulator.physics import hop_particles

from .exact.diffusion import flip_sd_variance, hop_sd_variance
from .exact.fock import hop_echo, hop_ramsey
from .exact.telegraph import flip_echo, flip_ramsey


def is_resonant(model: simulator.Model) -> bool:
    """Whether a run's rates respond to the configuration (dynamics.resonance_width set)."""
    return resonance_width(model.config) is not None


def exact_signals(ds: xr.Dataset, model: simulator.Model | None = None,
                  probes: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Exact echo and Ramsey (real parts) for the probes of a run, shape (probe, tau).

    Parameters
    ----------
    ds : a run result.
    model : the run's model; rebuilt from the dataset's configuration and seed
        (:func:`simulator.model_from_dataset`) when not given, so this checks
        any result file.
    probes : positions of the probes to evaluate (default: all, in order).

    Returns
    -------
    dict with ``echo``, ``ramsey`` and ``ramsey_imag``, each (len(probes), tau).
    flip: telegraph product; hop: Fock-chain product per dot (M <= 8, else
    ValueError).
    """
    model = model or simulator.model_from_dataset(ds)
    if is_resonant(model):
        raise ValueError("resonant dynamics has no factorised exact reference (its rates depend on the "
                         "configuration); small clusters: analysis.resonant_exact, docs/resonant.md")
    tau = ds["tau"].values
    picks = np.arange(ds.sizes["probe"]) if probes is None else np.asarray(probes, dtype=int)
    P = picks.size
    echo = np.empty((P, tau.size))
    ramsey = np.empty((P, tau.size))
    ramsey_imag = np.empty((P, tau.size))
    for i, p in enumerate(picks):
        row = model.probe_couplings(int(p))
        if model.kind == "flip":
            echo[i] = flip_echo(tau, row["U"], row["gamma1"], row["gamma1_self"])
            r = flip_ramsey(tau, row["U"], row["gamma1"], row["gamma1_self"])
            ramsey[i], ramsey_imag[i] = r, 0.0
        else:
            if model.M > 8:
                raise ValueError(f"exact hop reference needs levels <= 8 (got {model.M})")
            dots = np.unique(np.append(row["dot"], row["probe_dot"]))
            u = np.zeros((dots.size, model.M))
            where = np.searchsorted(dots, row["dot"])
            u[where, row["level"] % model.M] = row["U"]
            g1 = model.gamma1[dots]
            own = int(np.searchsorted(dots, row["probe_dot"]))
            echo[i] = np.real(hop_echo(tau, u, hop_particles(model.n_particles), g1, own, row["probe_level"]))
            r = hop_ramsey(tau, u, hop_particles(model.n_particles), g1, own, row["probe_level"])
            ramsey[i], ramsey_imag[i] = np.real(r), np.imag(r)
    return {"echo": echo, "ramsey": ramsey, "ramsey_imag": ramsey_imag}


def exact_sd_variance(ds: xr.Dataset, model: simulator.Model | None = None,
                      probes: np.ndarray | None = None) -> np.ndarray:
    """Exact spectral-diffusion variance sigma^2(t_w = tau) of the probes of a run,
    shape (probe, tau), the reference of ``sd_variance`` (docs/spectral-diffusion.md §2).

    Arguments as in :func:`exact_signals`. flip: one telegraph per neighbouring
    level; hop: one closed form per neighbouring dot (any M). ValueError for
    resonant dynamics (no closed form: the rates depend on the configuration).
    """
    model = model or simulator.model_from_dataset(ds)
    if is_resonant(model):
        raise ValueError("resonant dynamics has no closed-form spectral-diffusion width (its rates depend on "
                         "the configuration)")
    tau = ds["tau"].values
    picks = np.arange(ds.sizes["probe"]) if probes is None else np.asarray(probes, dtype=int)
    out = np.empty((picks.size, tau.size))
    for i, p in enumerate(picks):
        row = model.probe_couplings(int(p))
        if model.kind == "flip":
            out[i] = flip_sd_variance(tau, row["U"], row["gamma1"])
        else:
            dots = np.unique(np.append(row["dot"], row["probe_dot"]))
            u = np.zeros((dots.size, model.M))
            u[np.searchsorted(dots, row["dot"]), row["level"] % model.M] = row["U"]
            own = int(np.searchsorted(dots, row["probe_dot"]))
            out[i] = hop_sd_variance(tau, u, hop_particles(model.n_particles), model.gamma1[dots], own,
                                     row["probe_level"])
    return out
