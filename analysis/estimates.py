"""Estimates drawn from result datasets: censored per-probe linewidths, medians
with bootstrap errors, z-scores against the exact references and the Appendix-B
rule sum per probe.

Every function takes arrays, a result Dataset or a :class:`simulator.Model`;
none builds a model it is not given, except :func:`own_change_rate` and
:func:`zscores` when called without one.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

import simulator
from simulator.physics import hop_particles

from .meanfield.predictions import gamma2_rule_sum


def censored_gamma2(ds: xr.Dataset) -> np.ndarray:
    """Per-probe echo Gamma2 with the two censored cases made explicit.

    Parameters
    ----------
    ds : a run result (``gamma2_echo``, ``echo``, ``tau``; docs/variables.md).

    Returns
    -------
    ndarray, shape (probe,)
        ``gamma2_echo``; where it is NaN, 0 when the echo is still above 1/e at
        tau_max (Gamma2 < 1/tau_max) and 1/tau_min when it is already below at
        tau_min (the 1/e crossing of docs/model.md).
    """
    g = ds["gamma2_echo"].values.copy()
    echo = ds["echo"].values
    e1 = np.exp(-1.0)
    g[np.isnan(g) & (echo[:, -1] > e1)] = 0.0
    g[np.isnan(g) & (echo[:, 0] <= e1)] = 1.0 / float(ds["tau"][0])
    return g


def median_with_error(x: np.ndarray, n_boot: int = 400, seed: int = 0) -> tuple[float, float]:
    """Median over the finite entries and its bootstrap standard error.

    Parameters
    ----------
    x : values (NaN entries are left out).
    n_boot : bootstrap resamples.
    seed : seed of the resampling (fixed, so a report is reproducible).

    Returns
    -------
    (median, error) : NaN, NaN without finite entries; the error is NaN for one entry.
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan
    rng = np.random.default_rng(seed)
    boots = np.median(rng.choice(x, size=(n_boot, x.size), replace=True), axis=1)
    return float(np.median(x)), float(boots.std(ddof=1)) if x.size > 1 else np.nan


def own_change_rate(ds: xr.Dataset, model: simulator.Model | None = None) -> float:
    """Rate, in units of Gamma1, at which a probe level's occupation changes.

    1 for flip; for hop the slower of M - n (occupied) and n (empty)
    (docs/model.md). ``model`` (the run's, :func:`simulator.model_from_dataset`)
    is built from ``ds`` when not given and the dynamics are hop.
    """
    if ds.attrs.get("kind") == "flip":
        return 1.0
    model = model or simulator.model_from_dataset(ds)
    n = hop_particles(model.n_particles)
    return min(n, model.M - n)


def zscores(ds: xr.Dataset, ref: dict, name: str = "echo", min_count: float = 0.0,
            model: simulator.Model | None = None) -> np.ndarray:
    """(measured - exact) / stderr for every probe and tau (NaN where stderr is 0).

    The error bars carry the exact noise of the probe's own survival count, so
    they are honest where own transitions are rare too (docs/model.md, section
    4); every point is used by default. ``min_count`` > 0 keeps only the points
    where the expected numbers of windows in which the probe's own occupation
    does, and does not, change are both at least ``min_count`` (n_windows * (1 - S)
    and n_windows * S with S = exp(-Gamma1_self tau) for flip, the own-rate
    analogue for hop): the regime in which plain batch means alone is a
    Gaussian error.

    Parameters
    ----------
    ds : a run result.
    ref : the exact references (:func:`analysis.compare.exact_signals`).
    name : ``"echo"`` or ``"ramsey"``.
    min_count : see above.
    model : the run's model (hop only; built from ``ds`` if not given).

    Returns
    -------
    ndarray, shape (probe, tau)
    """
    g_self = ds["gamma1"].values[ds["probe_dot"].values]
    tau = ds["tau"].values
    S = np.exp(-np.outer(g_self * own_change_rate(ds, model), tau))
    n = ds["n_windows"].values[None, :]
    err = ds[name + "_stderr"].values
    z = (ds[name].values - ref[name]) / np.where(err > 0, err, np.nan)
    z[(n * S < min_count) | (n * (1 - S) < min_count)] = np.nan
    return z


def level_rates(model: simulator.Model) -> np.ndarray:
    """Mean switching rate of a level on each dot: Gamma1 (flip), 2 n (M - n) Gamma1 / M (hop).

    For hop dynamics each event moves two levels, hence the factor 2 (docs/meanfield.md).
    """
    if model.kind == "flip":
        return model.gamma1
    n, M = hop_particles(model.n_particles), model.M
    return 2.0 * n * (M - n) * model.gamma1 / M


def rule_sum_per_probe(model: simulator.Model) -> np.ndarray:
    """Appendix-B rule sum solved for every probe with the couplings it saw.

    Parameters
    ----------
    model : the run's model; its probes' coupling rows and the level rates of
        :func:`level_rates` (the probe's own term at its own level rate).

    Returns
    -------
    ndarray, shape (probe,)
        Gamma2 of the rule sum (docs/meanfield.md;
        :func:`analysis.meanfield.predictions.gamma2_rule_sum`).
    """
    rows = model.coupling_rows()
    rates = level_rates(model)
    P = model.probes.size
    width = int(np.diff(rows.ptr).max()) if P else 0
    U = np.full((P, width), np.nan)
    g = np.full((P, width), np.nan)
    for p in range(P):
        s = slice(rows.ptr[p], rows.ptr[p + 1])
        k = rows.ptr[p + 1] - rows.ptr[p]
        U[p, :k] = rows.U[s]
        g[p, :k] = rates[rows.dot[s]]
    return gamma2_rule_sum(U, g, rates[model.probe_dot])
