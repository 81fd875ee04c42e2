"""dotkmc simulator: exact kinetic Monte Carlo of a lattice of coupled quantum dots.

Data flow: :mod:`~simulator.config` (validated TOML) -> :mod:`~simulator.model`
(lattice, rates, probes, couplings) -> :mod:`~simulator.kernel` (numba) ->
:mod:`~simulator.engine` (chunks, checkpoints, progress) ->
:mod:`~simulator.estimators` -> :mod:`~simulator.dataset` (xarray / netCDF).

Public API
----------
load_config, Config, ConfigError, build_model, Model, run, resume,
model_from_dataset, write_netcdf, crossing_rate.
"""
from __future__ import annotations

from pathlib import Path

import xarray as xr

from .config import Config, ConfigError, describe_schema, load_config
from .dataset import to_dataset, write_netcdf
from .engine import Simulation, drive
from .estimators import MIN_WINDOWS, crossing_rate, crossing_rate_stderr, windows_at_crossing
from .model import Model, build_model

__all__ = ["Config", "ConfigError", "load_config", "describe_schema", "build_model", "Model", "run",
           "resume", "model_from_dataset", "write_netcdf", "crossing_rate", "crossing_rate_stderr",
           "windows_at_crossing", "MIN_WINDOWS",
           "Simulation"]


def _as_config(config) -> Config:
    return config if isinstance(config, Config) else load_config(config)


def run(config, output: str | Path | None = None, *, gamma1=None, probes=None,
        checkpoint: str | Path | None = None, progress: bool | None = None,
        chunk_time: float | None = None, threads: int | None = None) -> xr.Dataset:
    """Run one simulation and return its Dataset (written to ``output`` if given).

    Parameters
    ----------
    config : Config, dict of tables, or path to a TOML file.
    output : netCDF path to write (atomically).
    gamma1 : optional per-dot Gamma1 array (overrides [dynamics] gamma1 and bath).
    probes : optional explicit probe level indices.
    checkpoint : checkpoint path; default ``<output>.ckpt`` when ``output`` is
        given. Written every run.checkpoint_every wall seconds and removed when
        the run completes.
    threads : blocks of dots advanced in parallel (default: numba's thread
        count). The result is bit-identical for any value.
    """
    config = _as_config(config)
    if checkpoint is None and output is not None:
        checkpoint = Path(str(output) + ".ckpt")
    sim = Simulation(config, gamma1=gamma1, probes=probes, chunk_time=chunk_time, threads=threads)
    drive(sim, checkpoint=checkpoint, output=output, progress=progress)
    return _finish(sim, output, checkpoint)


def resume(checkpoint: str | Path, output: str | Path | None = None, progress: bool | None = None) -> xr.Dataset:
    """Continue a run from its checkpoint; the result is bit-identical to an
    uninterrupted run with the same configuration."""
    sim, saved_output = Simulation.from_checkpoint(checkpoint)
    output = output or (saved_output or None)
    drive(sim, checkpoint=checkpoint, output=output, progress=progress)
    return _finish(sim, output, checkpoint)


def _finish(sim: Simulation, output, checkpoint) -> xr.Dataset:
    ds = to_dataset(sim)
    if output is not None:
        write_netcdf(ds, output)
    if checkpoint is not None and sim.finished:
        Path(checkpoint).unlink(missing_ok=True)
    return ds


def model_from_dataset(ds: xr.Dataset) -> Model:
    """Rebuild the exact model (couplings included) a result was produced with."""
    import tomllib

    config = load_config(tomllib.loads(ds.attrs["config"]))
    return build_model(config, gamma1=ds["gamma1"].values, probes=ds["probe_index"].values)
