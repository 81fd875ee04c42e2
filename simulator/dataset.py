"""The run result as an xarray Dataset (SPEC §8), and its atomic netCDF output."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from .estimators import batch_means, crossing_rate, crossing_rate_stderr

UNITS = "hbar = 1; energies and rates in units of couplings.gamma's unit; times in its inverse"


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("dotkmc")
    except Exception:  # running from a source tree that is not installed
        return "0+unknown"


def to_dataset(sim) -> xr.Dataset:
    """Assemble the Dataset of a finished (or partial) :class:`~simulator.engine.Simulation`."""
    m = sim.model
    sched = sim.schedule
    stats = batch_means(sim.est, sim.kstat)
    tau = sched.tau
    echo, ramsey = stats["echo"], stats["ramsey"]
    g2e = crossing_rate(tau, echo)
    g2r = crossing_rate(tau, ramsey)
    mean_echo = np.nanmean(echo, axis=0)
    mean_ramsey = np.nanmean(ramsey, axis=0)
    coords = m.dot_coords(m.probe_dot)
    traj_time = np.arange(sched.n_traj_times) * sched.traj_dt
    ds = xr.Dataset(
        data_vars={
            "echo": (("probe", "tau"), echo, {"long_name": "Hahn echo Re E_i(tau)", "note": "SPEC §4"}),
            "echo_stderr": (("probe", "tau"), stats["echo_stderr"], {"long_name": "batch-means standard error of echo"}),
            "ramsey": (("probe", "tau"), ramsey, {"long_name": "Ramsey Re R_i(tau), mean frequency removed"}),
            "ramsey_stderr": (("probe", "tau"), stats["ramsey_stderr"], {"long_name": "batch-means standard error of ramsey"}),
            "ramsey_imag": (("probe", "tau"), stats["ramsey_imag"], {"long_name": "Im R_i(tau)"}),
            "n_windows": (("tau",), stats["n_windows"], {"long_name": "windows (t0 samples) averaged per probe"}),
            "n_batches": (("tau",), stats["n_batches"], {"long_name": "batches in the standard error"}),
            "gamma2_echo": (("probe",), g2e, {"long_name": "Gamma2 = 1/tau_e, Re E(tau_e) = 1/e"}),
            "gamma2_echo_stderr": (("probe",), crossing_rate_stderr(tau, echo, stats["echo_stderr"]),
                                   {"long_name": "delta-method error of gamma2_echo"}),
            "gamma2_ramsey": (("probe",), g2r, {"long_name": "Gamma2* = 1/tau_e from Ramsey"}),
            "gamma2_echo_typical": ((), np.nanmedian(g2e) if np.isfinite(g2e).any() else np.nan,
                                    {"long_name": "median of gamma2_echo over probes (typical linewidth)"}),
            "gamma2_echo_of_mean": ((), crossing_rate(tau, mean_echo)[()],
                                    {"long_name": "Gamma2 of the probe-averaged echo"}),
            "gamma2_ramsey_typical": ((), np.nanmedian(g2r) if np.isfinite(g2r).any() else np.nan, {}),
            "gamma2_ramsey_of_mean": ((), crossing_rate(tau, mean_ramsey)[()], {}),
            "energy": (("traj_probe", "time"), sim.energy, {"long_name": "probe level energy epsilon_i(t)"}),
            "gamma1": (("dot",), m.gamma1, {"long_name": "Gamma1 of each dot"}),
            "events_per_dot": (("dot",), sim.events, {"long_name": "events of each dot"}),
            "n_events": ((), np.int64(sim.n_events), {"long_name": "total number of events"}),
            "probe_dot": (("probe",), m.probe_dot),
            "probe_level": (("probe",), m.probe_level),
            "probe_index": (("probe",), m.probes, {"long_name": "global level index I*M + alpha"}),
            "probe_position": (("probe", "axis"), coords),
            "static_energy": (("probe",), sim.eps0, {"long_name": "epsilon^0_i"}),
            "traj_probe_index": (("traj_probe",), sim.traj_p, {"long_name": "probe index of each trajectory"}),
            "t0_stride": (("tau",), sched.stride, {"long_name": "windows start every stride*tau/2"}),
        },
        coords={"probe": np.arange(sim.P), "tau": tau, "time": traj_time,
                "dot": np.arange(m.n_dots), "axis": np.arange(m.d)},
        attrs={
            "title": "dotkmc run",
            "config": sim.config.to_toml(),
            "seed": int(sim.config["run"]["seed"]),
            "version": package_version(),
            "wall_time": float(sim.wall),
            "simulated_time": float(sim.t),
            "finished": int(sim.finished),
            "units": UNITS,
            "kind": m.kind,
            **{f"resolved_{k}": v for k, v in sim.resolved.items()},
        },
    )
    return ds


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
    removed = []
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
