"""A run's measured signals against the exact references of SPEC §5, probe by probe."""
from __future__ import annotations

import numpy as np
import xarray as xr

import simulator

from . import exact


def exact_signals(ds: xr.Dataset, model: simulator.Model | None = None) -> dict:
    """Exact echo and Ramsey (real parts) for every probe of a run, shape (probe, tau).

    The couplings are rebuilt from the dataset's configuration and seed
    (:func:`simulator.model_from_dataset`), so this checks any result file.
    flip: telegraph product; hop: Fock-generator product per dot (M <= 8).
    """
    model = model or simulator.model_from_dataset(ds)
    tau = ds["tau"].values
    P = ds.sizes["probe"]
    echo = np.empty((P, tau.size))
    ramsey = np.empty((P, tau.size))
    ramsey_imag = np.empty((P, tau.size))
    for p in range(P):
        row = model.probe_couplings(p)
        if model.kind == "flip":
            echo[p] = exact.flip_echo(tau, row["U"], row["gamma1"], row["gamma1_self"])
            r = exact.flip_ramsey(tau, row["U"], row["gamma1"], row["gamma1_self"])
            ramsey[p], ramsey_imag[p] = r, 0.0
        else:
            if model.M > 8:
                raise ValueError(f"exact hop reference needs levels <= 8 (got {model.M})")
            dots = np.unique(np.append(row["dot"], row["probe_dot"]))
            u = np.zeros((dots.size, model.M))
            where = np.searchsorted(dots, row["dot"])
            u[where, row["level"] % model.M] = row["U"]
            g1 = model.gamma1[dots]
            own = int(np.searchsorted(dots, row["probe_dot"]))
            echo[p] = np.real(exact.hop_echo(tau, u, model.n_particles, g1, own, row["probe_level"]))
            r = exact.hop_ramsey(tau, u, model.n_particles, g1, own, row["probe_level"])
            ramsey[p], ramsey_imag[p] = np.real(r), np.imag(r)
    return {"echo": echo, "ramsey": ramsey, "ramsey_imag": ramsey_imag}


def own_change_rate(ds: xr.Dataset) -> float:
    """Rate (in units of Gamma1) at which a probe level's occupation changes:
    1 for flip; for hop the slower of M - n (occupied) and n (empty)."""
    if ds.attrs.get("kind") == "flip":
        return 1.0
    model = simulator.model_from_dataset(ds)
    return min(model.n_particles, model.M - model.n_particles)


def zscores(ds: xr.Dataset, ref: dict, name: str = "echo", min_count: float = 0.0) -> np.ndarray:
    """(measured - exact) / stderr for every probe and tau (NaN where stderr is 0).

    The error bars carry the exact noise of the probe's own survival count, so
    they are honest where own transitions are rare too (docs/model.md §4); every
    point is used by default. ``min_count`` > 0 keeps only the points where the
    expected numbers of windows in which the probe's own occupation does, and
    does not, change are both at least ``min_count`` (n_windows * (1 - S) and
    n_windows * S with S = exp(-Gamma1_self tau) for flip, the own-rate analogue
    for hop): the regime in which plain batch means alone is a Gaussian error.
    """
    g_self = ds["gamma1"].values[ds["probe_dot"].values]
    tau = ds["tau"].values
    S = np.exp(-np.outer(g_self * own_change_rate(ds), tau))
    n = ds["n_windows"].values[None, :]
    err = ds[name + "_stderr"].values
    z = (ds[name].values - ref[name]) / np.where(err > 0, err, np.nan)
    z[(n * S < min_count) | (n * (1 - S) < min_count)] = np.nan
    return z
