"""Text summary of a run: measured linewidths against exact and mean-field values."""
from __future__ import annotations

import numpy as np
import xarray as xr

import simulator

from .estimates import median_with_error
from .meanfield.predictions import gamma2_eq12_config
from .result import Result, as_result


def summarize(run: xr.Dataset | Result, exact: bool = True) -> str:
    """The table ``dotkmc analyze`` prints for one run.

    Parameters
    ----------
    run : a run result, or its :class:`~analysis.result.Result` (whose model and
        exact references are then reused).
    exact : compare with the exact product (docs/exact.md; flip, or hop with
        M <= 8): typical Gamma2 of the exact echo and z-scores of every point.

    Returns
    -------
    str
        Lines: the model, the typical echo and Ramsey linewidths with bootstrap
        errors (docs/model.md), the Eq. 12 estimate n_tr Gamma1 log^d(gamma/(n_tr
        Gamma1)) and, with ``exact``, the exact comparison.
    """
    res = as_result(run)
    ds, model = res.ds, res.model
    tau = ds["tau"].values
    lines = []
    g1 = ds["gamma1"].values
    lines.append(f"kind={model.kind}  d={model.d}  L={model.L}  M={model.M}  n_tr={model.n_tr}  "
                 f"Gamma1 in [{g1.min():.3g}, {g1.max():.3g}]  cutoff={model.cutoff:.3g}  "
                 f"probes={ds.sizes['probe']}  events={int(ds['n_events'])}")
    med, err = median_with_error(ds["gamma2_echo"].values)
    lines.append(f"{'quantity':44s} {'value':>12s} {'error':>10s}")
    lines.append(f"{'typical Gamma2, echo (median over probes)':44s} {med:12.5g} {err:10.2g}")
    lines.append(f"{'Gamma2 of the probe-averaged echo':44s} {float(ds['gamma2_echo_of_mean']):12.5g}")
    medr, errr = median_with_error(ds["gamma2_ramsey"].values)
    lines.append(f"{'typical Gamma2*, Ramsey':44s} {medr:12.5g} {errr:10.2g}")
    g1_typ = float(np.median(g1[ds["probe_dot"].values]))
    lines.append(f"{'Eq. 12 estimate n_tr G1 log^d(gamma/(n_tr G1))':44s} "
                 f"{float(gamma2_eq12_config(g1_typ, model.n_tr, model.config['couplings']['gamma'], model.d)):12.5g}")
    if exact and res.has_exact:
        ref = res.exact
        lines.append(f"{'typical Gamma2, exact product':44s} {np.nanmedian(res.gamma2_exact):12.5g}")
        lines.append(f"{'Gamma2 of the averaged exact echo':44s} "
                     f"{float(simulator.crossing_rate(tau, np.nanmean(ref['echo'], axis=0))):12.5g}")
        for name in ("echo", "ramsey"):
            z = res.zscores(name)
            zf = z[np.isfinite(z)]
            if zf.size:
                lines.append(f"{name:6s} vs exact: {zf.size} points, mean z^2 = {np.mean(zf**2):.3f}, "
                             f"max |z| = {np.abs(zf).max():.2f}, |z|>3: {np.mean(np.abs(zf) > 3):.2%}")
    return "\n".join(lines)
