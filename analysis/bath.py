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
