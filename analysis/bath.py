"""Which dots a configuration couples to the boundary bath, and their rates.

Derived from the configuration (``dynamics.bath.side`` and ``width``) with the
same rule as the simulator's rate profile (docs/model.md, "dynamics"), never
guessed from the rates: a bath whose rate equals ``dynamics.gamma1`` is still a
bath.
"""
from __future__ import annotations

import numpy as np

from simulator.config import Config


def dot_coordinates(config: Config) -> np.ndarray:
    """Lattice coordinates of every dot, shape (L**d, d); axis k of dot I is
    (I // L**k) % L, as :meth:`simulator.Model.dot_coords`."""
    d, L = config["lattice"]["d"], config["lattice"]["L"]
    idx = np.arange(L ** d)
    return np.stack([(idx // L ** k) % L for k in range(d)], axis=-1)


def bath_mask(config: Config) -> np.ndarray:
    """True for the dots coupled to the bath: the ``width`` outermost layers of the
    first axis on the ``left``, ``right`` or ``both`` sides, or of every axis
    (``all``); none for ``side = "none"`` or ``width = 0``.

    Parameters
    ----------
    config : a validated configuration.

    Returns
    -------
    ndarray of bool, shape (L**d,)
    """
    bath = config["dynamics"]["bath"]
    coords = dot_coordinates(config)
    L = config["lattice"]["L"]
    if bath["side"] == "none" or bath["width"] <= 0:
        return np.zeros(coords.shape[0], dtype=bool)
    w = bath["width"]
    left = coords[:, 0] < w
    right = coords[:, 0] >= L - w
    if bath["side"] == "left":
        return left
    if bath["side"] == "right":
        return right
    if bath["side"] == "both":
        return left | right
    return ((coords < w) | (coords >= L - w)).any(axis=1)   # all faces


def configured_gamma1(config: Config) -> np.ndarray:
    """Gamma1 of every dot as configured: ``dynamics.gamma1``, and ``bath.gamma1``
    on the dots of :func:`bath_mask`."""
    n = config["lattice"]["L"] ** config["lattice"]["d"]
    g = np.full(n, config["dynamics"]["gamma1"], dtype=float)
    g[bath_mask(config)] = config["dynamics"]["bath"]["gamma1"]
    return g


def distance_from_bath(config: Config, x: np.ndarray) -> np.ndarray:
    """Distance, in dots along the first axis, of positions ``x`` from the last bath
    layer of a ``left`` bath (1 for the first dot beyond it); for ``right``, from
    the first bath layer; for ``both``/``all``, from the nearer face."""
    bath = config["dynamics"]["bath"]
    L, w = config["lattice"]["L"], bath["width"]
    x = np.asarray(x)
    from_left = x - (w - 1)
    from_right = (L - w) - x
    if bath["side"] == "left":
        return from_left
    if bath["side"] == "right":
        return from_right
    return np.minimum(from_left, from_right)


def position_means(x: np.ndarray, values: np.ndarray, stderr: np.ndarray | None = None,
                   positive: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Means of per-probe ``values`` over the probes at each position ``x`` along
    the bath axis (one dot per position in 1D), and their errors.

    Parameters
    ----------
    x : position of each probe.
    values : one value per probe.
    stderr : its standard error (None: no error returned).
    positive : average only the positive finite values (a censored Gamma2 of 0
        is "below 1/tau_max", not a rate of 0).

    Returns
    -------
    (positions, means, errors) : the sorted distinct positions; the means
    (NaN where nothing is averaged); sqrt(sum of stderr^2)/count over all the
    position's probes (NaN entries count as 0).
    """
    x = np.asarray(x)
    v = np.asarray(values, dtype=float)
    xs = np.unique(x)
    keep = np.isfinite(v) & (v > 0) if positive else np.isfinite(v)
    means = np.full(xs.size, np.nan)
    errs = None if stderr is None else np.empty(xs.size)
    for k, p in enumerate(xs):
        at = x == p
        if (at & keep).any():
            means[k] = v[at & keep].mean()
        if errs is not None:
            errs[k] = np.sqrt(np.nansum(np.asarray(stderr, dtype=float)[at] ** 2)) / at.sum()
    return xs, means, errs
