"""Reference moments of the z-scores that the statistical tests pool.

A batch-means error over B batches makes z = (measured - exact)/error a Student t
variable with B - 1 degrees of freedom (docs/model.md §4), so its square has mean
dof/(dof - 2) and variance 3 dof^2/((dof - 2)(dof - 4)) - mean^2: one home for the
values every test compares its pooled mean z^2 with.
"""
from __future__ import annotations


def t_z2_moments(dof: int) -> tuple[float, float]:
    """(mean, variance) of z^2 for z Student t with ``dof`` > 4 degrees of freedom."""
    mean = dof / (dof - 2)
    return mean, 3 * dof**2 / ((dof - 2) * (dof - 4)) - mean**2
