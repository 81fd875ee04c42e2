"""Argument checks shared by the exact references."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def check_nonneg(name: str, x: ArrayLike) -> np.ndarray:
    """``x`` as a float array, or ValueError naming ``name`` if not finite and >= 0."""
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    if np.any(x < 0):
        raise ValueError(f"{name} must be >= 0, got a minimum of {x.min()!r}")
    return x

