"""A run result together with everything derived from its model, each computed once.

``dotkmc analyze`` summarises, compares and plots one run in several ways; each
needs the run's model (couplings rebuilt from the stored configuration and seed,
:func:`simulator.model_from_dataset`) and most need the exact references. A
:class:`Result` builds them on first use and keeps them.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import xarray as xr

import simulator

from .compare import exact_signals
from .estimates import censored_gamma2, rule_sum_per_probe, zscores


class Result:
    """One run result (``dotkmc run``, or a member of a sweep) and its derived data.

    Parameters
    ----------
    ds : the result Dataset (docs/variables.md).
    model : its model, if already built (else built on first use).

    Attributes (computed on first use, then kept)
    ---------------------------------------------
    model : :class:`simulator.Model`
    exact : dict of exact ``echo``, ``ramsey``, ``ramsey_imag`` per probe (docs/exact.md)
    gamma2_exact : per-probe Gamma2 of the exact echo
    gamma2_censored : per-probe measured Gamma2, censored values explicit
    rule_sum : per-probe Appendix-B rule sum (docs/meanfield.md)
    """

    def __init__(self, ds: xr.Dataset, model: simulator.Model | None = None) -> None:
        self.ds = ds
        if model is not None:
            self.__dict__["model"] = model

    @cached_property
    def model(self) -> simulator.Model:
        return simulator.model_from_dataset(self.ds)

    @property
    def config(self) -> simulator.Config:
        """The run's resolved configuration."""
        return self.model.config

    @property
    def has_exact(self) -> bool:
        """Whether the exact references exist: fixed rates, flip or hop with at most 8 levels."""
        from .compare import is_resonant

        return not is_resonant(self.model) and (self.model.kind == "flip" or self.model.M <= 8)

    @cached_property
    def exact(self) -> dict[str, np.ndarray]:
        return exact_signals(self.ds, self.model)

    @cached_property
    def gamma2_exact(self) -> np.ndarray:
        return simulator.crossing_rate(self.ds["tau"].values, self.exact["echo"])

    @cached_property
    def gamma2_censored(self) -> np.ndarray:
        return censored_gamma2(self.ds)

    @cached_property
    def rule_sum(self) -> np.ndarray:
        return rule_sum_per_probe(self.model)

    def exact_for(self, probes: np.ndarray) -> dict[str, np.ndarray]:
        """Exact references of some probes only (all of :attr:`exact`'s rows if
        already computed, else just these)."""
        if "exact" in self.__dict__:
            return {k: v[np.asarray(probes, dtype=int)] for k, v in self.exact.items()}
        return exact_signals(self.ds, self.model, probes=probes)

    def zscores(self, name: str = "echo", min_count: float = 0.0) -> np.ndarray:
        """:func:`analysis.estimates.zscores` of the measured ``name`` against :attr:`exact`."""
        return zscores(self.ds, self.exact, name, min_count, self.model)


def as_result(run: xr.Dataset | Result) -> Result:
    """``run`` itself if it is a :class:`Result`, else a new one wrapping the Dataset."""
    return run if isinstance(run, Result) else Result(run)
