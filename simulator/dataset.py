"""The run result as an xarray Dataset (docs/model.md section 5, docs/variables.md), and its atomic netCDF output."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from .estimators import crossing_rate, crossing_rate_stderr
from .lineshape import line_shape

UNITS = ("hbar = 1; energies and rates in units of couplings.gamma's unit (units attribute 'couplings_gamma'); "
         "times in its inverse ('couplings_gamma-1'); see docs/variables.md")


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("dotkmc")
    except Exception:  # running from a source tree that is not installed
        return "0+unknown"


def to_dataset(sim) -> xr.Dataset:
    """Assemble the Dataset of a finished (or partial) :class:`~simulator.engine.Simulation`.

    Every variable and coordinate is built from the registry
    :mod:`simulator.variables` (dims, ``units``, ``long_name``, ``comment``); the
    names written must be exactly the registered ones (docs/variables.md).
    """
    # imported here, not at module level: the package imports this module, and
    # `python -m simulator.variables` must not find itself imported before it runs
    from . import variables as V

    # what the result is made of: the model, the resolved plan, the statistics,
    # the trajectory and the counters of the simulation
    m = sim.model
    plan = sim.plan
    stats = sim.statistics()
    tau = plan.tau
    echo, ramsey = stats["echo"], stats["ramsey"]
    g2e = crossing_rate(tau, echo)      # once per signal
    g2r = crossing_rate(tau, ramsey)
    mean_echo = np.nanmean(echo, axis=0)
    mean_ramsey = np.nanmean(ramsey, axis=0)
    omega = plan.omega
    R = ramsey + 1j * stats["ramsey_imag"]
    line, line_bound, line_cut = line_shape(tau, R, omega, plan.lineshape_tail, stats["ramsey_stderr"])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # a tau where every probe is NaN
        # the mean signal's error: (1/P) sum_p sigma_p bounds its sd for any correlation between probes
        mean_line, mean_bound, mean_cut = line_shape(tau, np.nanmean(R, axis=0), omega, plan.lineshape_tail,
                                                     np.nanmean(stats["ramsey_stderr"], axis=0))
    coords = m.dot_coords(m.probe_dot)
    traj_time = plan.traj_times()
    values = {
        "probe": np.arange(sim.P),
        "tau": tau,
        "time": traj_time,
        "dot": np.arange(m.n_dots),
        "axis": np.arange(m.d),
        "echo": echo,
        "echo_stderr": stats["echo_stderr"],
        "ramsey": ramsey,
        "ramsey_stderr": stats["ramsey_stderr"],
        "ramsey_imag": stats["ramsey_imag"],
        "n_windows": stats["n_windows"],
        "n_batches": stats["n_batches"],
        "gamma2_echo": g2e,
        "gamma2_echo_stderr": crossing_rate_stderr(tau, echo, stats["echo_stderr"], rate=g2e),
        "gamma2_ramsey": g2r,
        "gamma2_echo_typical": np.nanmedian(g2e) if np.isfinite(g2e).any() else np.nan,
        "gamma2_echo_of_mean": crossing_rate(tau, mean_echo)[()],
        "gamma2_ramsey_typical": np.nanmedian(g2r) if np.isfinite(g2r).any() else np.nan,
        "gamma2_ramsey_of_mean": crossing_rate(tau, mean_ramsey)[()],
        **spectral_diffusion_variables(stats),
        "omega": omega,
        "lineshape": line,
        "lineshape_error_bound": line_bound,
        "lineshape_mean": mean_line,
        "lineshape_mean_error_bound": mean_bound,
        "lineshape_tau_cut": np.where(line_cut >= 0, tau[line_cut], np.nan),
        "lineshape_mean_tau_cut": tau[mean_cut] if mean_cut >= 0 else np.nan,
        "energy": sim.traj.energy,
        "gamma1": m.gamma1,
        "events_per_dot": sim.events,
        "n_events": np.int64(sim.n_events),
        "probe_dot": m.probe_dot,
        "probe_level": m.probe_level,
        "probe_index": m.probes,
        "probe_position": coords,
        "static_energy": sim.eps0,
        "traj_probe_index": sim.traj.probes,
        "t0_stride": plan.stride,
        **own_transition_variables(sim),
    }
    # the registry is the whole list: a variable missing from either side is a bug here
    unregistered = set(values) - set(V.RUN)
    unwritten = set(V.RUN) - set(values)
    if unregistered or unwritten:
        raise ValueError(f"to_dataset and the registry simulator/variables.py disagree: not registered "
                         f"{sorted(unregistered)}, registered but not written {sorted(unwritten)}")
    variables = {name: V.run_variable(name, data) for name, data in values.items()}
    attrs = {
        "title": "dotkmc run",
        "config": sim.config.to_toml(),
        "seed": int(sim.config["run"]["seed"]),
        "version": package_version(),
        "wall_time": float(sim.wall),
        "simulated_time": float(sim.t),
        "finished": int(sim.finished),
        "units": UNITS,
        "kind": m.kind,
        **{f"resolved_{k}": v for k, v in plan.resolved.items()},
    }
    # run attributes become variables of a sweep, so they need registry entries too
    missing = [a for a in attrs if a not in V.SWEEP_KEPT_ATTRS and a not in V.MEMBER_ATTRS]
    if missing:
        raise ValueError(f"run attributes {missing} are not in the registry (simulator/variables.py MEMBER_ATTRS)")
    attrs.update(V.provenance_attrs())
    return xr.Dataset(data_vars={n: v for n, v in variables.items() if not V.RUN[n].is_dimension_coordinate},
                      coords={n: v for n, v in variables.items() if V.RUN[n].is_dimension_coordinate},
                      attrs=attrs)


def spectral_diffusion_variables(stats: dict) -> dict[str, np.ndarray]:
    """``sd_variance`` with its error, ``sd_width`` and the probe average
    ``sd_variance_probe_mean`` from :func:`simulator.estimators.batch_means`
    (docs/model.md section 4, Spectral diffusion)."""
    var = stats["sd_variance"]
    return {"sd_variance": var, "sd_variance_stderr": stats["sd_variance_stderr"], "sd_width": np.sqrt(var),
            "sd_variance_probe_mean": np.nanmean(var, axis=0)}


def own_transition_variables(sim) -> dict[str, np.ndarray | np.int64]:
    """``gamma1_measured`` (own transitions of each probe level per unit of simulated
    time) with its batch-means error, ``n_proposals`` and the waiting-time statistics
    of the dynamics (docs/variables.md).

    The error uses the own-change counts stored at every batch boundary
    (``acc.own_at_batch``): batch rates r_b = dc_b / dt_b over the batches reached so
    far (the last one possibly partial), weighted batch means
    var = sum_b w_b^2 (r_b - r)^2 / (B (B - 1)) with w_b = dt_b / mean(dt) and r
    the whole run's rate (for equal batches, the plain batch-means error).
    """
    P = sim.P
    t = float(sim.t)
    cnt = sim.probes.cnt.astype(float)
    rate = cnt / t if t > 0 else np.full(P, np.nan)
    stderr = np.full(P, np.nan)
    nb = int(sim.acc.batch[0]) + 1                      # batches reached (the last running)
    tb = sim.batching.t_batch
    dt = np.append(np.full(nb - 1, tb), t - (nb - 1) * tb)
    dc = np.diff(sim.acc.own_at_batch[:nb + 1].astype(float), axis=0)
    keep = dt > 0
    dt, dc = dt[keep], dc[keep]
    B = dt.size
    if B >= 2:
        r = dc / dt[:, None]
        w = (dt / dt.mean())[:, None]
        stderr = np.sqrt(np.sum(w ** 2 * (r - rate) ** 2, axis=0) / (B * (B - 1)))
    wt_mean, wt_cv = sim.dynamics.waiting_times()
    return {"gamma1_measured": rate, "gamma1_measured_stderr": stderr,
            "n_proposals": np.int64(sim.dynamics.n_proposals()),
            "waiting_time_mean": np.asarray(wt_mean, dtype=float), "waiting_time_cv": np.asarray(wt_cv, dtype=float)}


NONDETERMINISTIC_ATTRS = ("wall_time",)


def temporary_beside(path: Path) -> Path:
    """A hidden temporary name in the same folder (same file system: os.replace is atomic).

    The name ``.NAME.tmpPID`` carries the writer's pid, so that
    :func:`remove_stale_temporaries` can tell an orphan of a killed process
    from a file being written.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporary files ``.NAME.tmpPID`` beside ``path`` whose writer
    (pid) is no longer alive: orphans of a process killed while writing.

    Returns the removed paths.
    """
    path = Path(path)
    prefix = f".{path.name}.tmp"
    removed: list[Path] = []
    try:
        entries = list(path.parent.iterdir()) if path.parent.is_dir() else []
    except OSError:
        return removed
    for entry in entries:
        tail = entry.name[len(prefix):] if entry.name.startswith(prefix) else ""
        if not tail.isdigit() or int(tail) == os.getpid() or _pid_alive(int(tail)):
            continue
        try:
            entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write atomically: to a temporary file in the same folder, then rename.

    The temporary file is removed on every exit Python sees; orphans left by
    killed writers of the same path are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = temporary_beside(path)
    ds = ds.copy()
    ds.encoding = {}  # encodings inherited from files read earlier (e.g. unlimited dims) do not apply
    try:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
