"""dotkmc simulator: exact kinetic Monte Carlo of a lattice of coupled quantum dots.

Data flow: :mod:`~simulator.config` (validated TOML) -> :mod:`~simulator.model`
(lattice, rates, probes, couplings) -> :mod:`~simulator.dynamics` and
:mod:`~simulator.kernels` (numba) ->
:mod:`~simulator.engine` (chunks, checkpoints, progress) ->
:mod:`~simulator.estimators` -> :mod:`~simulator.dataset` (xarray / netCDF).

Public API
----------
load_config, Config, ConfigError, build_model, Model, run, resume,
model_from_dataset, write_netcdf, crossing_rate.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from .config import CheckpointError, Config, ConfigError, Interrupted, RunError, describe_schema, load_config

if TYPE_CHECKING:
    import xarray as xr

    from .engine import Simulation
    from .model import Model

# numba, xarray and the kernels load on first use, so that the command line
# answers bad input at once (docs/reliability.md)
_LAZY = {"to_dataset": "dataset", "write_netcdf": "dataset", "Simulation": "engine", "drive": "engine",
         "claim_outputs": "engine", "MIN_WINDOWS": "estimators", "crossing_rate": "estimators",
         "crossing_rate_stderr": "estimators", "windows_at_crossing": "estimators", "Model": "model",
         "build_model": "model"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Config", "ConfigError", "load_config", "describe_schema", "build_model", "Model", "run",
           "resume", "model_from_dataset", "write_netcdf", "crossing_rate", "crossing_rate_stderr",
           "windows_at_crossing", "MIN_WINDOWS",
           "Simulation", "RunError", "CheckpointError", "Interrupted"]


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

    Raises
    ------
    ConfigError
        A bad configuration.
    RunError
        Before any work: the output or checkpoint cannot be written or is in use
        by another run, or the run exceeds the work limit (docs/reliability.md).
    Interrupted
        SIGINT/SIGTERM arrived; the checkpoint was written (if there is one).
    """
    from .engine import Simulation, claim_outputs, drive

    config = _as_config(config)
    if checkpoint is None and output is not None:
        checkpoint = Path(str(output) + ".ckpt")
    # the simulation is built (config and work limit checked) before the outputs are
    # claimed, so that a refused run creates no folder or lock file
    sim = Simulation(config, gamma1=gamma1, probes=probes, chunk_time=chunk_time, threads=threads)
    with claim_outputs(output=output, checkpoint=checkpoint):
        drive(sim, checkpoint=checkpoint, output=output, progress=progress)
        return _finish(sim, output, checkpoint)


def resume(checkpoint: str | Path, output: str | Path | None = None, progress: bool | None = None, *,
           require_output: bool = False) -> xr.Dataset:
    """Continue a run from its checkpoint; the result is bit-identical to an
    uninterrupted run with the same configuration.

    ``output`` defaults to the path stored in the checkpoint; with
    ``require_output`` a checkpoint with neither is refused (the command line
    would otherwise compute a result and write it nowhere). Raises
    :class:`CheckpointError` for a checkpoint that cannot be trusted (see
    :func:`simulator.engine.read_checkpoint`) and :class:`RunError` as :func:`run`.
    """
    from .engine import Simulation, claim_outputs, drive, read_checkpoint

    config, state = read_checkpoint(checkpoint)
    output = output or str(state["output"]) or None
    if output is None and require_output:
        raise RunError(f"checkpoint {str(checkpoint)!r} stores no output path (its run had none): "
                       f"give one with -o OUT.nc")
    sim = Simulation.from_state(config, state)
    del state
    # claimed after verification: a run still writing this checkpoint refuses us here
    with claim_outputs(output=output, checkpoint=checkpoint):
        drive(sim, checkpoint=checkpoint, output=output, progress=progress)
        return _finish(sim, output, checkpoint)


def _finish(sim: Simulation, output, checkpoint) -> xr.Dataset:
    from .dataset import to_dataset, write_netcdf

    ds = to_dataset(sim)
    if output is not None:
        try:
            write_netcdf(ds, output)
        except OSError as exc:   # e.g. disk full: keep the finished state so that only the write is redone
            kept = ""
            if checkpoint is not None:
                try:
                    sim.save_checkpoint(checkpoint, output)
                    kept = f"; the finished run is in {str(checkpoint)!r}: free space, then dotkmc resume it"
                except OSError:
                    pass
            raise RunError(f"cannot write the result {str(output)!r}: {exc.strerror or exc}{kept}") from None
    if checkpoint is not None and sim.finished:
        Path(checkpoint).unlink(missing_ok=True)
    return ds


def model_from_dataset(ds: xr.Dataset) -> Model:
    """Rebuild the exact model (couplings included) a result was produced with."""
    import tomllib

    from .model import build_model

    config = load_config(tomllib.loads(ds.attrs["config"]))
    return build_model(config, gamma1=ds["gamma1"].values, probes=ds["probe_index"].values)
